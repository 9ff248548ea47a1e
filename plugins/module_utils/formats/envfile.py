"""Edit a systemd EnvironmentFile (kubespray's /etc/etcd.env) line by line: edit is pure, plan_edit reads the
file for the env_file module and the node's plan (plan/writers.py) alike."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .fileops import read_text

LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def edit(text: str, variables: Mapping[str, Optional[str]]) -> Tuple[str, List[str]]:
    """Set NAME=value lines (None removes NAME), keeping every other line and comment."""
    lines = text.splitlines()
    seen, changes, out = set(), [], []
    for line in lines:
        match = LINE.match(line)
        name = match.group(1) if match else None
        if name in variables:
            value = variables[name]
            if value is None or name in seen:
                changes.append(f"- {name}")
                continue
            seen.add(name)
            old = match.group(2).strip().strip('"')
            if old != str(value):
                changes.append(f"~ {name}: {old} -> {value}")
                line = f"{name}={value}"
        out.append(line)
    for name, value in variables.items():
        if value is not None and name not in seen:
            out.append(f"{name}={value}")
            changes.append(f"+ {name}={value}")
    return "\n".join(out) + "\n", changes


def plan_edit(path: str, variables: Mapping[str, Any]) -> Dict[str, Any]:
    """What the env_file module does to path, without writing: {'before', 'after', 'changes', 'changed'}
    (values as text, None removes). Raises ValueError when there is no such file: it is edited, never created."""
    before = read_text(path)
    if before is None:
        raise ValueError(f"{path}: file not found")
    after, changes = edit(before, {k: (None if v is None else str(v)) for k, v in variables.items()})
    return {"before": before, "after": after, "changes": changes, "changed": bool(changes)}
