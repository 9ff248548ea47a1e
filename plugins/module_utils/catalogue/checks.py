"""Evaluate the catalogue's control checks against observed state (verify side).

A check reads like a kube-bench test item: {flag, op, value} on a component's arguments, or
{kubelet: field, flag, ...} where a command-line flag wins over the config file (as the kubelet
resolves them), combined with {all: [...]} / {any: [...]}. Observed state is passed in, so this
module stays pure; collecting it from /proc and files is the caller's job.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from ..base.component_names import KUBELET
from ..formats.kube_proxy import is_loopback


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


# Go's time.ParseDuration units, in seconds (a kubelet config holds durations as text: 4h0m0s).
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_RE = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)", re.ASCII)


def blank(found: Optional[str]) -> bool:
    """A value the components read as "not given": absent, empty or only blanks ('--client-ca-file=',
    'clientCAFile: ""', or a quoted empty string left in a manifest)."""
    if found is None:
        return True
    text = str(found).strip()
    return text in ("", '""', "''")


def number(found: Optional[str]) -> Optional[float]:
    """A flag's value as a number: plain (4096, -1, 0.5) or a Go duration in seconds (5m, 4h0m0s, -1s).
    None when it is neither (never raises: the audit must judge whatever a node holds)."""
    if found is None:
        return None
    text = str(found).strip()
    try:
        value = float(text)
        return value if math.isfinite(value) else None
    except ValueError:
        pass
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    parts = _DURATION_RE.findall(body)
    if not body or "".join(n + u for n, u in parts) != body:
        return None
    return sign * sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


# what Go's strconv.ParseBool reads as true (the components parse --feature-gates values with it)
GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")


def gate_on(found: Optional[str], gate: str) -> bool:
    """Does a --feature-gates value (or a kubelet config's `Gate=value`) turn `gate` on? As the components read it:
    comma-separated pairs, each trimmed, the value by ParseBool - AllAlpha=True and AllAlpha=1 turn it on too."""
    for item in _as_list(found) if found is not None else []:
        name, _sep, value = item.partition("=")
        if name.strip() == gate and value.strip() in GO_TRUE:
            return True
    return False


def compare(op: str, found: Optional[str], expected: Any) -> bool:
    """kube-bench's comparison operators over a flag's text value (None: flag absent), and two that judge
    meaning where kube-bench looks at presence only: nonempty (a blank path turns the feature off, e.g.
    clientCAFile: "" disables x509 client authentication) and gt (limits where 0 or -1 mean unlimited)."""
    if op == "set":
        return found is not None
    if op == "nonempty":
        return not blank(found)
    if op == "unset":
        return found is None
    if op == "gate_off":
        return not gate_on(found, str(expected))
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
    if op == "gt":
        value = number(found)
        return value is not None and value > float(expected)
    if op == "loopback":   # an address (host:port, [v6]:port or an IP) on the loopback network only
        return is_loopback(found)
    if op == "valid_elements":
        allowed = set(_as_list(expected))
        return all(item in allowed for item in _as_list(found))
    raise ValueError(f"unknown check op {op!r}")


def group_resource(name: Any) -> Tuple[str, str]:
    """(group, resource) of an EncryptionConfiguration resources entry, as kube-apiserver parses it
    (schema.ParseGroupResource: 'secrets' and 'secrets.' are core, '*.' every core resource, '*.*' all)."""
    resource, _dot, group = str(name).partition(".")
    return group, resource


def encryption_providers_for(config: Any, resource: str = "secrets", group: str = "") -> List[str]:
    """Provider names, in order, kube-apiserver encrypts group/resource with under this EncryptionConfiguration;
    [] when no entry covers it (then it is stored in plain text). The apiserver looks up the exact resource,
    then '*.<group>', then '*.*', and appends the providers of every entry naming the same one in file order.
    A singular ('secret'), capitalised ('Secrets') or other group's name ('secrets.apps') covers nothing."""
    entries = config.get("resources") if isinstance(config, Mapping) else None
    if not isinstance(entries, list):
        return []
    for wanted in ((group, resource), (group, "*"), ("*", "*")):
        providers: List[str] = []
        matched = False
        for entry in entries:
            names = entry.get("resources") if isinstance(entry, Mapping) else None
            if not isinstance(names, list) or wanted not in [group_resource(n) for n in names]:
                continue
            matched = True
            providers += [str(next(iter(p))) for p in entry.get("providers") or [] if isinstance(p, Mapping) and p]
        if matched:
            return providers
    return []


def covers(names: Sequence[Any], resource: str = "secrets", group: str = "") -> bool:
    """Does a resources list of an encryption config entry cover group/resource (wildcards included)?"""
    found = {group_resource(n) for n in names}
    return bool(found & {(group, resource), (group, "*"), ("*", "*")})


def kubelet_value(check: Mapping[str, Any], state: Mapping[str, Any]) -> Optional[str]:
    """A kubelet setting as the kubelet runs with it: its flag (check["flag"]) when given, else its config field
    (check["kubelet"], dotted), else the check's default. state: {flags, config}."""
    flags = state.get("flags") or {}
    if check.get("flag") in flags:
        return flags[check["flag"]]
    config = state.get("config") or {}
    node: Any = config
    for part in check[KUBELET].split("."):
        if not isinstance(node, Mapping) or part not in node:
            node = None
            break
        node = node[part]
    if node is None:
        default = check.get("default")
        return None if default is None else str(default)
    if check[KUBELET].startswith("featureGates.") and isinstance(node, bool):
        return f"{check[KUBELET].split('.', 1)[1]}={_text(node)}"
    return _text(node)


def evaluate(check: Mapping[str, Any], state: Mapping[str, Any]) -> Outcome:
    """state: {'flags': {name: value}} for a process, {'config': {...}} for the kubelet and
    {'encryption_providers': [names in order for secrets], 'encryption_resources': [every resource name listed]}
    read from the apiserver's encryption config."""
    if "all" in check or "any" in check:
        parts = [evaluate(part, state) for part in (check.get("all") or check.get("any"))]
        combine = all if "all" in check else any
        # parts that read the same value say it once
        return Outcome(combine(p.passed for p in parts), "; ".join(dict.fromkeys(p.found for p in parts)))
    if "encryption_providers" in check:
        # The first provider encrypts new writes; it must be one of the strong ones. encryption_providers are
        # those that cover secrets (encryption_providers_for); encryption_resources every name the config lists.
        providers = state.get("encryption_providers") or []
        primary = providers[0] if providers else None
        listed = [str(n) for n in state.get("encryption_resources") or []]
        if providers:
            found = f"providers={','.join(providers)}"
        elif listed:
            found = f"the encryption config covers {', '.join(listed)}, not secrets: Secrets are stored in plain text"
        else:
            found = "no encryption config"
        return Outcome(primary in check["encryption_providers"], found)
    if KUBELET in check:
        found = kubelet_value(check, state)
        label = f"{check[KUBELET]}"
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
