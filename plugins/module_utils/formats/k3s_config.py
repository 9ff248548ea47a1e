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

from ..base.yaml_support import SAFE_LOADER, error_summary, yaml


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
        raise K3sConfigError(f"not valid YAML: {error_summary(exc)}") from None


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


# Line breaks as YAML counts them (PyYAML's marks), so that a node's line numbers are the text's.
_YAML_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
# A value that holds credentials whatever its key: a URL with user information (scheme://user:pass@host).
_URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s@]+@")
# Words that may start a credential in a file that is not YAML (then no structure can be trusted).
_CREDENTIAL_WORD = re.compile(r"token|passw|secret|access-key|auth|datastore|credential|[&*!?\\]|://[^/\s]*@",
                              re.IGNORECASE)
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.-]+")


def _commented_credential(line: str) -> str:
    """A comment line that holds a commented-out credential (`# token: K10...`) with its value hidden."""
    found = re.match(r"(?P<head>\s*#+\s*)(?P<rest>.*?)(?P<end>[\r\n\x85\u2028\u2029]*)$", line, re.DOTALL)
    key = _TOP_KEY.match(found.group("rest")) if found else None
    name = key.group("key").strip("'\"").strip().lower() if key else ""
    if key and (SENSITIVE_KEY.search(name) or name.startswith("datastore")) \
            and found.group("rest")[key.end():].strip():
        return f"{found.group('head')}{found.group('rest')[:key.end()].rstrip()} (hidden){found.group('end')}"
    return line


def masked(text: str) -> str:
    """The file for a diff: the whole value of every credential key (token, agent-token,
    datastore-endpoint, etcd-s3-secret-key, ...; SENSITIVE_KEY, and any datastore-* key) hidden, whatever
    its YAML form - plain, quoted, a block scalar, on the following lines, a list or a mapping.

    Structure, not lines: the text is composed (PyYAML nodes with their line marks) and each
    top-level entry whose key is a credential key, whose value holds a nested credential key, a
    URL with user information or a flag=value item of a credential flag, or that defines an anchor
    such an entry uses, has its lines - from its key to the end of its value - replaced by
    `key: (hidden)`. Comments and every other entry stay byte for byte, but for the value of a
    commented-out credential (`# token: K10...`). Text that is not one YAML
    mapping is shown up to the first line that could hold a credential (one naming a credential, an
    anchor, alias, tag or escape, or a top-level line that is not `key: ...`), and not beyond."""
    pieces = _YAML_BREAK.split(text)
    breaks = _YAML_BREAK.findall(text)
    if pieces and pieces[-1] == "" and breaks:     # the text ends with a line break
        pieces.pop()
    lines = [piece + (breaks[number] if number < len(breaks) else "") for number, piece in enumerate(pieces)]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader) if text.strip() else None
    except (yaml.YAMLError, ValueError, RecursionError):
        root = False
    if root is None:
        return "".join(_commented_credential(line) for line in lines)
    if not isinstance(root, yaml.MappingNode):
        kept = []
        for line in lines:
            stripped = line.strip()
            if stripped and not stripped.startswith("#") and (
                    _CREDENTIAL_WORD.search(line) or (line[:1].strip() and not _TOP_KEY.match(line))):
                kept.append("# (the rest is hidden: not a YAML mapping, it may hold credentials)\n")
                break
            kept.append(_commented_credential(line))
        return "".join(kept)

    def subtree(node, seen):
        todo = [node]
        while todo:
            node = todo.pop()
            if id(node) in seen:
                continue
            seen[id(node)] = node
            if isinstance(node, yaml.MappingNode):
                todo += [part for pair in node.value for part in pair]
            elif isinstance(node, yaml.SequenceNode):
                todo += node.value

    def key_text(node) -> str:
        return str(node.value) if isinstance(node, yaml.ScalarNode) else ""

    def credential_key(name: str) -> bool:
        name = name.strip().lower()
        return bool(SENSITIVE_KEY.search(name) or name.startswith("datastore-") or name == "datastore")

    def holds_credentials(key, value) -> bool:
        if not isinstance(key, yaml.ScalarNode) or credential_key(key.value):
            return True
        seen: Dict[int, Any] = {}
        subtree(value, seen)
        for node in seen.values():
            if isinstance(node, yaml.MappingNode):
                if any(not isinstance(k, yaml.ScalarNode) or credential_key(k.value) for k, _v in node.value):
                    return True
            elif isinstance(node, yaml.ScalarNode):
                flag = str(node.value).strip().lstrip("-").split("=", 1)
                if _URL_CREDENTIALS.search(str(node.value)) or (len(flag) == 2 and credential_key(flag[0])):
                    return True
        return False

    def end_of(node):
        """Where a value's own text ends: a block collection's end mark lies at the next key, after
        the comments between them, so its last item's end is taken (its own end for an alias)."""
        while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
            last = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
            if (last.start_mark.line, last.start_mark.column) <= (node.start_mark.line, node.start_mark.column):
                break
            node = last
        return node.end_mark

    entries = []                                # (first line, last line, key text, hide, nodes)
    for key, value in root.value:
        end = end_of(value)
        last = end.line - 1 if end.column == 0 and end.line > key.start_mark.line else end.line
        seen: Dict[int, Any] = {}
        subtree(value, seen)
        entries.append([key.start_mark.line, max(last, key.end_mark.line), key_text(key),
                        holds_credentials(key, value), seen])
    # an entry that defines (an anchor) or uses (an alias) a node of a hidden entry is hidden too
    changed = True
    while changed:
        changed = False
        hidden_nodes = set()
        for entry in entries:
            if entry[3]:
                hidden_nodes.update(entry[4])
        for entry in entries:
            if not entry[3] and hidden_nodes.intersection(entry[4]):
                entry[3] = changed = True
    hidden: Dict[int, List[str]] = {}           # first line of a hidden run -> its keys
    covered = set()
    for first, last, name, hide, _nodes in entries:
        if hide:
            covered.update(range(first, last + 1))
    for first, _last, name, _hide, _nodes in entries:
        if first in covered:
            shown = name if _PLAIN_KEY.fullmatch(name) and not name.startswith(("-", ".")) else json.dumps(name)
            hidden.setdefault(first, []).append(f"{shown}: (hidden)" if name else "? (hidden)")
    out = []
    number = 0
    while number < len(lines):
        if number not in covered:
            out.append(_commented_credential(lines[number]))
            number += 1
            continue
        start = number
        while number < len(lines) and number in covered:
            number += 1
        ending = _YAML_BREAK.search(lines[number - 1])
        ending = lines[number - 1][ending.start():] if ending else ""
        keys = [k for line in range(start, number) for k in hidden.get(line, [])] or ["(hidden)"]
        out.append("\n".join(keys) + ending)
    return "".join(out)


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
