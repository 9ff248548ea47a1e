"""Go's duration syntax ("5m", "5m0s", "1h30m", "300ms"), as the components' flags and config files take it.
A leaf: validation, checks and the kubelet config writer all read durations with it."""

from __future__ import annotations

import re
from typing import Any, Optional

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(value: Any) -> Optional[float]:
    """A Go duration ("5m", "5m0s", "1h30m") in seconds; None when value is not one."""
    if not isinstance(value, str) or not value:
        return None
    parts = _DURATION_PART.findall(value)
    if "".join(number + unit for number, unit in parts) != value:
        return None
    return sum(float(number) * _DURATION_UNIT[unit] for number, unit in parts)
