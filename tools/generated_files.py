"""Files the tools generate from the collection's data: write them, or with --check say which are out of date
(the tests run --check: a checked-in file always matches its source)."""

from __future__ import annotations

import os
from typing import Mapping

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_or_check(files: Mapping[str, str], check: bool, command: str) -> int:
    """files: {path: text}. check: exit status 1 (and the stale paths) when a file differs; else write the
    files that differ. command: what regenerates them, for the message."""
    stale = []
    for path, text in files.items():
        try:
            with open(path, encoding="utf-8") as handle:
                current = handle.read()
        except OSError:
            current = None
        if current == text:
            continue
        stale.append(os.path.relpath(path, ROOT))
        if not check:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
    if check:
        if stale:
            print(f"out of date (run {command}): {', '.join(stale)}")
            return 1
        print(f"up to date: {len(files)} file(s)")
        return 0
    print(("wrote " + ", ".join(stale)) if stale else "nothing to write: every file is up to date")
    return 0
