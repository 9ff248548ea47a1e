"""Evaluate the catalogue's control checks against observed state (verify side).

A check reads like a kube-bench test item: {flag, op, value} on a component's arguments, or
{kubelet: field, flag, ...} where a command-line flag wins over the config file (as the kubelet
resolves them), combined with {all: [...]} / {any: [...]}. Observed state is passed in, so this
module stays pure; collecting it from /proc and files is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence


@dataclass
class Outcome:
    passed: Optional[bool]   # None: seen, but nothing here to judge (reported as manual, with what was found)
    found: str          # what was observed, for the report


def _as_list(value: Any) -> List[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [v for v in str(value).split(",") if v]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}={_text(v)}" for k, v in value.items())
    return str(value)


def compare(op: str, found: Optional[str], expected: Any) -> bool:
    """kube-bench's comparison operators over a flag's text value (None: flag absent)."""
    if op == "set":
        return found is not None
    if op == "unset":
        return found is None
    if found is None:
        return False
    if op == "eq":
        return found.lower() == _text(expected).lower()
    if op == "noteq":
        return found.lower() != _text(expected).lower()
    if op == "has":
        return _text(expected) in _as_list(found)
    if op == "nothave":
        return _text(expected) not in _as_list(found)
    if op == "gte":
        try:
            return float(found) >= float(expected)
        except ValueError:
            return False
    if op == "valid_elements":
        allowed = set(_as_list(expected))
        return all(item in allowed for item in _as_list(found))
    raise ValueError(f"unknown check op {op!r}")


def _kubelet_value(check: Mapping[str, Any], state: Mapping[str, Any]) -> Optional[str]:
    flags = state.get("flags") or {}
    if check.get("flag") in flags:
        return flags[check["flag"]]
    config = state.get("config") or {}
    node: Any = config
    for part in check["kubelet"].split("."):
        if not isinstance(node, Mapping) or part not in node:
            node = None
            break
        node = node[part]
    if node is None:
        default = check.get("default")
        return None if default is None else str(default)
    if check["kubelet"].startswith("featureGates.") and isinstance(node, bool):
        return f"{check['kubelet'].split('.', 1)[1]}={_text(node)}"
    return _text(node)


def evaluate(check: Mapping[str, Any], state: Mapping[str, Any]) -> Outcome:
    """state: {'flags': {name: value}} for a process, {'config': {...}} for the kubelet and
    {'encryption_providers': [names in order]} read from the apiserver's encryption config."""
    if "all" in check or "any" in check:
        parts = [evaluate(part, state) for part in (check.get("all") or check.get("any"))]
        combine = all if "all" in check else any
        return Outcome(combine(p.passed for p in parts), "; ".join(p.found for p in parts))
    if "encryption_providers" in check:
        # The first provider encrypts new writes; it must be one of the strong ones.
        providers = state.get("encryption_providers") or []
        primary = providers[0] if providers else None
        return Outcome(primary in check["encryption_providers"],
                       f"providers={','.join(providers)}" if providers else "no encryption config")
    if "kubelet" in check:
        found = _kubelet_value(check, state)
        label = f"{check['kubelet']}"
    elif "flag" in check:
        found = (state.get("flags") or {}).get(check["flag"])
        label = f"--{check['flag']}"
    else:
        raise ValueError(f"check {check!r} is not a flag or kubelet check")
    passed = compare(check["op"], found, check.get("value"))
    return Outcome(passed, f"{label}={found}" if found is not None else f"{label} not set")


def leaves(check: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    """Every leaf of a check, however nested in all/any."""
    if "all" in check or "any" in check:
        return [leaf for part in (check.get("all") or check.get("any")) for leaf in leaves(part)]
    return [check] if check else []


def flag_checks(control: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    """The leaf flag/kubelet checks of a control (for tests and reports)."""
    return [leaf for leaf in leaves(control.get("check") or {}) if "flag" in leaf or "kubelet" in leaf]


def control_index(controls: Sequence[Mapping[str, Any]]) -> Dict[str, Mapping[str, Any]]:
    return {str(c["id"]): c for c in controls}
