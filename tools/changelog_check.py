"""Every change to what users run comes with a changelog fragment.

Walks the commits since the changelog was set up (the commit that added changelogs/config.yaml) and the
uncommitted work: one that touches plugins/, roles/ or playbooks/ must add or edit a fragment in
changelogs/fragments/ (a ``trivial`` one for changes users do not see) or record a release in
changelogs/changelog.yaml. Exit 1 naming each commit that does not.

    python tools/changelog_check.py [REPO]
"""

from __future__ import annotations

import subprocess
import sys
from typing import List, Sequence

SHIPPED = ("plugins/", "roles/", "playbooks/")
CHANGELOG = ("changelogs/fragments/", "changelogs/changelog.yaml")
CONFIG = "changelogs/config.yaml"


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def needs_fragment(paths: Sequence[str]) -> bool:
    """Shipped content changed and no fragment (or release) came with it."""
    return any(p.startswith(SHIPPED) for p in paths) and not any(p.startswith(CHANGELOG) for p in paths)


def missing(repo: str) -> List[str]:
    added = git(repo, "log", "--diff-filter=A", "--format=%H", "--", CONFIG).split()
    if not added:
        return [f"{CONFIG} is not committed: run antsibull-changelog init"]
    start = added[-1]
    commits = git(repo, "rev-list", "--reverse", f"{start}..HEAD").split()
    problems = []
    for commit in commits:
        paths = git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", commit).split("\n")
        if needs_fragment(paths):
            subject = git(repo, "log", "-1", "--format=%h %s", commit).strip()
            problems.append(f"commit {subject[:100]}: changes {', '.join(sorted({p.split('/')[0] for p in paths if p.startswith(SHIPPED)}))}/"
                            " without a fragment in changelogs/fragments/")
    pending = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    if needs_fragment([line[3:].split(" -> ")[-1] for line in pending]):
        problems.append("uncommitted changes to plugins/, roles/ or playbooks/ without a fragment in changelogs/fragments/")
    return problems


def main(argv: Sequence[str]) -> int:
    problems = missing(argv[1] if len(argv) > 1 else ".")
    for problem in problems:
        print(problem)
    if problems:
        print("add changelogs/fragments/<topic>.yml (see changelogs/config.yaml for the sections; `trivial` for"
              " changes users do not see)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
