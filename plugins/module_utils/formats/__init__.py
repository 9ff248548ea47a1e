"""The files a run edits (pure edits) and how it writes them: write policy, backups, atomic writes, modes."""
