"""Edit K3s' /etc/rancher/k3s/config.yaml in place: the `flag=value` lists of each component
(kube-apiserver-arg, kubelet-arg, ...) and k3s' own top-level keys, keeping every other key, the
user's other list items, their order, quoting and comments. Pure functions; the k3s_config module
does I/O.

Only the lines that must change are touched. The result is parsed again and must equal what was
meant; otherwise nothing is written (K3sConfigError).
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .yaml_support import SAFE_LOADER, yaml


_LOADER = SAFE_LOADER
_TOP_KEY = re.compile(r"""^(?P<key>"[^"]*"|'[^']*'|[^\s#'"][^:#]*?)\s*:(?:\s|$)""")
_ITEM = re.compile(r"^(?P<indent>\s*)-(?:\s+(?P<value>.*))?$")
# Keys whose values are credentials: never shown in a diff or a change list.
SENSITIVE_KEY = re.compile(r"(^|-)(token|password|secret-key|access-key|vpn-auth)$|^datastore-endpoint$", re.IGNORECASE)


class K3sConfigError(ValueError):
    pass


def _load(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_LOADER) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise K3sConfigError(f"not valid YAML: {exc}") from None


def split_arg(item: Any) -> Tuple[str, Optional[str]]:
    """'flag=value' (k3s also accepts a leading '--') -> (flag, value); a bare flag has value None."""
    text = str(item).strip()
    text = text[2:] if text.startswith("--") else text
    flag, sep, value = text.partition("=")
    return flag.strip(), (value if sep else None)


def arg_text(value: Any) -> str:
    """A setting's value as k3s passes it on: booleans lower case, lists comma-joined, maps k=v."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(arg_text(v) for v in value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={arg_text(v)}" for k, v in value.items())
    return str(value)


def merged_args(current: List[Any], wanted: Mapping[str, Optional[str]]) -> List[str]:
    """The list after our flags: each managed flag once, in the place it had (new ones appended);
    None removes it. The user's other items stay as they are, in their order."""
    result: List[str] = []
    done = set()
    for item in current:
        flag, _ignored = split_arg(item)
        if flag not in wanted:
            result.append(str(item))
        elif flag not in done:
            done.add(flag)
            if wanted[flag] is not None:
                result.append(f"{flag}={wanted[flag]}")
    result += [f"{flag}={value}" for flag, value in wanted.items() if flag not in done and value is not None]
    return result


def _as_list(value: Any, key: str) -> List[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, (str, int, float, bool)):
        return [value]
    raise K3sConfigError(f"{key}: expected a list of flag=value strings, found {type(value).__name__}")


def _quote(text: str) -> str:
    """One YAML scalar: single-quoted like K3s' documentation, double-quoted (escaped) when the text
    holds characters a single-quoted scalar cannot."""
    if any(ord(c) < 32 or c == "\x7f" for c in text):
        return json.dumps(text)
    return "'" + text.replace("'", "''") + "'"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return _quote(str(value))


def _blocks(lines: List[str]) -> Dict[str, Tuple[int, int]]:
    """Top-level key -> (first line, end line exclusive) of its block; comments and blank lines
    after a block belong to what follows."""
    starts: List[Tuple[str, int]] = []
    for number, line in enumerate(lines):
        match = _TOP_KEY.match(line)
        if match and not line.startswith(("-", "#")):
            key = match.group("key")
            key = key[1:-1] if key[:1] in "'\"" else key
            if any(key == k for k, _ignored in starts):
                raise K3sConfigError(f"key {key!r} appears twice (YAML keeps only the last)")
            starts.append((key, number))
        elif line.startswith(("---", "...")) and number > 0 and starts:
            raise K3sConfigError("more than one YAML document")
    blocks: Dict[str, Tuple[int, int]] = {}
    for index, (key, start) in enumerate(starts):
        end = starts[index + 1][1] if index + 1 < len(starts) else len(lines)
        while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
            end -= 1
        blocks[key] = (start, end)
    return blocks


def _edit_list_block(lines: List[str], start: int, end: int, key: str, current: List[Any],
                     wanted: List[str]) -> Optional[List[str]]:
    """The block's lines with only the changed items touched; None when the block is not a plain
    block sequence (then it is written anew)."""
    header = lines[start]
    if header.split(":", 1)[1].split("#", 1)[0].strip():
        return None                           # flow style or a scalar on the key's line
    items: List[Tuple[int, Any]] = []
    for number in range(start + 1, end):
        line = lines[number]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ITEM.match(line)
        if not match or match.group("value") is None:
            return None
        try:
            items.append((number, yaml.load(match.group("value"), Loader=_LOADER)))
        except yaml.YAMLError:
            return None
    if [value for _ignored, value in items] != current:
        return None
    indent = _ITEM.match(lines[items[0][0]]).group("indent") if items else "  "
    remaining = list(wanted)
    out = [header]
    item_lines = dict(items)
    last_item = max(item_lines) if item_lines else start
    for number in range(start + 1, end):
        if number not in item_lines:
            out.append(lines[number])
        else:
            value = str(item_lines[number])
            flag = split_arg(value)[0]
            # kept as written when unchanged; replaced in place when its managed value changed
            if remaining and remaining[0] == value and isinstance(item_lines[number], str):
                out.append(lines[number])
                remaining.pop(0)
            elif remaining and (remaining[0] == value or split_arg(remaining[0])[0] == flag):
                out.append(f"{indent}- {_quote(remaining.pop(0))}")
            # else: removed (a duplicate, or a flag we remove)
        if number == last_item:
            out += [f"{indent}- {_quote(item)}" for item in remaining]
            remaining = []
    return out


def edit(text: str, lists: Mapping[str, Mapping[str, Any]],
         top: Mapping[str, Any]) -> Tuple[str, List[str]]:
    """(new text, changes). lists: {list key: {flag: value or None}}; top: {key: value or None}."""
    doc = _load(text)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise K3sConfigError("the file must hold a YAML mapping of k3s options")
    lines = text.splitlines()
    changes: List[str] = []
    expected = dict(doc)
    replacements: Dict[str, Optional[List[str]]] = {}   # key -> its new block (None: remove)
    appended: List[str] = []
    for key, flags in lists.items():
        current = _as_list(doc.get(key), key)
        wanted_values = {flag: None if value is None else arg_text(value) for flag, value in flags.items()}
        wanted = merged_args(current, wanted_values)
        if [str(item) for item in current] == wanted and all(isinstance(i, str) for i in current):
            continue
        before = {split_arg(i)[0]: split_arg(i)[1] for i in current}
        for flag, value in wanted_values.items():
            if value is None and flag in before:
                changes.append(f"{key}: - {flag}")
            elif value is not None and flag not in before:
                changes.append(f"{key}: + {flag}={value}")
            elif value is not None and before[flag] != value:
                changes.append(f"{key}: {flag}={before[flag]} -> {value}")
        changes += [f"{key}: duplicate {flag} removed" for flag in before
                    if flag in wanted_values and sum(split_arg(i)[0] == flag for i in current) > 1]
        expected[key] = wanted
        blocks = _blocks(lines)
        if key in blocks:
            start, end = blocks[key]
            new_block = _edit_list_block(lines, start, end, key, current, wanted) if wanted else [f"{key}: []"]
            if new_block is None:
                new_block = [f"{key}:"] + [f"  - {_quote(item)}" for item in wanted]
            replacements[key] = new_block
        else:
            appended += [f"{key}:"] + [f"  - {_quote(item)}" for item in wanted]
    for key, value in top.items():
        has = key in doc
        if value is None:
            if has:
                changes.append(f"{key}: removed")
                expected.pop(key)
                replacements[key] = None
            continue
        if has and doc[key] == value:
            continue
        shown = "(hidden)" if SENSITIVE_KEY.search(key) else _scalar(value)
        changes.append(f"{key}: {'(hidden)' if SENSITIVE_KEY.search(key) else _scalar(doc[key])} -> {shown}"
                       if has else f"{key}: {shown}")
        expected[key] = value
        if has:
            replacements[key] = [f"{key}: {_scalar(value)}"]
        else:
            appended.append(f"{key}: {_scalar(value)}")
    if not changes:
        return text, []
    blocks = _blocks(lines)
    out: List[str] = []
    number = 0
    by_start = {blocks[k][0]: k for k in replacements if k in blocks}
    while number < len(lines):
        if number in by_start:
            key = by_start[number]
            if replacements[key] is not None:
                out += replacements[key]
            number = blocks[key][1]
            continue
        out.append(lines[number])
        number += 1
    if appended:
        if out and out[-1].strip() in ("...",):
            raise K3sConfigError("the file ends with a YAML document end marker")
        out += appended
    new_text = "\n".join(out) + "\n"
    if _load(new_text) != expected:
        raise K3sConfigError("an in-place edit would not give the intended options; nothing was written")
    return new_text, changes


def component_args(doc: Mapping[str, Any], list_key: str) -> Dict[str, Optional[str]]:
    """The flags a config gives one component (later items win, as on k3s' command line)."""
    return dict(split_arg(item) for item in _as_list(doc.get(list_key), list_key))


def masked(text: str) -> str:
    """The file for a diff: values of credential keys (token, datastore-endpoint, ...) hidden."""
    out = []
    for line in text.splitlines():
        match = _TOP_KEY.match(line)
        if match and SENSITIVE_KEY.search(match.group("key").strip("'\"")) and line.split(":", 1)[1].strip():
            out.append(f"{line.split(':', 1)[0]}: (hidden)")
        else:
            out.append(line)
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def plan(path: str, lists: Mapping[str, Mapping[str, Any]], top: Mapping[str, Any],
         mode: Optional[int] = 0o600) -> Dict[str, Any]:
    """What the k3s_config module would do to path, without writing (node_plan asks the same):
    {'before', 'after', 'changes', 'changed', 'exists'}. A missing file is created (k3s runs
    without one). Raises K3sConfigError naming the path."""
    import os

    exists = os.path.exists(path)
    before = ""
    if exists:
        with open(path, encoding="utf-8") as handle:
            before = handle.read()
    try:
        after, changes = edit(before, lists, top)
    except K3sConfigError as exc:
        raise K3sConfigError(f"{path}: {exc}") from None
    if not exists:
        changes = [f"{path}: created"] + changes
    elif mode is not None and os.stat(path).st_mode & 0o7777 != mode:
        changes.append(f"mode: {os.stat(path).st_mode & 0o7777:04o} -> {mode:04o}")
    return {"before": before, "after": after, "changes": changes, "changed": bool(changes), "exists": exists}
