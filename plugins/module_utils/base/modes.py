"""File mode option parsing shared by our modules."""

from __future__ import annotations

from typing import Any, Optional


def parse_mode(module, value: Any) -> Optional[int]:
    """'0600', '600' or 384 -> 0o600; None stays None. Fails the module on anything else."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value), 8)
    except ValueError:
        module.fail_json(msg=f"mode: {value!r} must be an octal string such as '0600'")
        return None
