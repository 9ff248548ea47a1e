"""Edit a systemd EnvironmentFile (kubespray's /etc/etcd.env) line by line. Pure; the env_file module
and node_plan do the I/O."""

from __future__ import annotations

import re
from typing import List, Mapping, Optional, Tuple

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
