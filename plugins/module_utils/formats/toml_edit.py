"""Set keys of a TOML file in place: the file keeps its comments, order and formatting; only the lines of the
keys we set change (or are added under their table). Enough TOML for the files container runtimes write
(`containerd config default`, kubespray's template): [table] headers with bare or quoted keys, `key = value`
lines. The result is parsed again (tomllib where Python has it) and every key must read back as set;
anything this editor cannot place with certainty is refused, never guessed."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

TablePath = Tuple[str, ...]
Setting = Tuple[TablePath, str, Any]       # (table, key, value)

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_HEADER = re.compile(r"^\s*\[(?!\[)(?P<name>[^#]*?)\]\s*(?:#.*)?$")
_ARRAY_HEADER = re.compile(r"^\s*\[\[")


def _split_keys(text: str) -> TablePath:
    """'plugins."io.containerd.grpc.v1.cri".cni' -> ('plugins', 'io.containerd.grpc.v1.cri', 'cni')."""
    keys: List[str] = []
    i, text = 0, text.strip()
    while i < len(text):
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] in "\"'":
            quote = text[i]
            end = text.index(quote, i + 1)
            keys.append(text[i + 1:end])
            i = end + 1
        else:
            match = _BARE.match(text, i)
            if not match:
                raise ValueError(f"cannot read the TOML key {text!r}")
            keys.append(match.group(0))
            i = match.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text):
            if text[i] != ".":
                raise ValueError(f"cannot read the TOML key {text!r}")
            i += 1
    return tuple(keys)


def render_key(key: str) -> str:
    return key if _BARE.fullmatch(key) else json.dumps(key)


def render_table(table: TablePath) -> str:
    return ".".join(render_key(k) if _BARE.fullmatch(k) else "'" + k + "'" if "'" not in k else json.dumps(k)
                    for k in table)


def render_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)        # a TOML basic string is a JSON string for what we write
    raise ValueError(f"cannot write {value!r} as a TOML value (strings, integers and booleans only)")


class _Line:
    __slots__ = ("text", "table", "key")

    def __init__(self, text: str, table: Optional[TablePath], key: Optional[TablePath]):
        self.text, self.table, self.key = text, table, key


def _scan(text: str) -> List[_Line]:
    """Each line with the table it is in and the key it sets (None for others). Multi-line strings and arrays
    are followed so that their lines are never mistaken for keys or headers."""
    lines: List[_Line] = []
    table: Optional[TablePath] = ()
    depth, in_multiline = 0, None
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        if in_multiline:
            if in_multiline in line:
                in_multiline = None
            lines.append(_Line(raw, table, None))
            continue
        if depth > 0:
            depth += _bracket_balance(line)
            lines.append(_Line(raw, table, None))
            continue
        stripped = line.strip()
        if _ARRAY_HEADER.match(line):
            table = None        # inside an array of tables: nothing we set lives there
            lines.append(_Line(raw, None, None))
            continue
        header = _HEADER.match(line)
        if header:
            table = _split_keys(header.group("name"))
            lines.append(_Line(raw, table, None))
            continue
        key = None
        if stripped and not stripped.startswith("#") and "=" in stripped:
            name, _eq, value = _split_assignment(stripped)
            key = _split_keys(name)
            value = value.strip()
            for quote in ('"""', "'''"):
                if value.startswith(quote) and value.count(quote) == 1:
                    in_multiline = quote
            depth = _bracket_balance(value) if not in_multiline else 0
        lines.append(_Line(raw, table, key))
    return lines


def _split_assignment(stripped: str) -> Tuple[str, str, str]:
    """'key = value' where the key may be quoted and hold '='."""
    i = 0
    while i < len(stripped):
        char = stripped[i]
        if char in "\"'":
            i = stripped.index(char, i + 1) + 1
            continue
        if char == "=":
            return stripped[:i], "=", stripped[i + 1:]
        i += 1
    raise ValueError(f"cannot read the TOML line {stripped!r}")


def _bracket_balance(value: str) -> int:
    balance, quote = 0, None
    for char in value:
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char in "[{":
            balance += 1
        elif char in "]}":
            balance -= 1
    return balance


def parse(text: str) -> Dict[str, Any]:
    """The whole document (tomllib, or tomli where that is what Python has). ValueError if it is not TOML."""
    try:
        import tomllib as toml_reader   # Python 3.11+
    except ImportError:
        try:
            import tomli as toml_reader  # type: ignore[no-redef]
        except ImportError:
            return {}
    try:
        return toml_reader.loads(text)
    except toml_reader.TOMLDecodeError as err:
        raise ValueError(f"not valid TOML: {err}") from None


def can_parse() -> bool:
    try:
        import tomllib  # noqa: F401  pylint: disable=unused-import
        return True
    except ImportError:
        try:
            import tomli  # noqa: F401  pylint: disable=unused-import
            return True
        except ImportError:
            return False


def lookup(document: Mapping[str, Any], table: TablePath, key: str, default: Any = None) -> Any:
    node: Any = document
    for part in table:
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node.get(key, default) if isinstance(node, Mapping) else default


def read_value(text: str, table: TablePath, key: str) -> Any:
    """A key's value as our own scanner finds it (for Pythons without a TOML reader): the JSON-compatible
    scalars we write, else the raw text."""
    for line in _scan(text):
        if line.table == table and line.key == (key,):
            raw = _split_assignment(line.text.strip())[2].split("#")[0].strip()
            try:
                return json.loads(raw)
            except ValueError:
                return raw.strip("'")
    return None


def set_keys(text: str, settings: Sequence[Setting]) -> Tuple[str, List[str]]:
    """(new text, ['table.key: old -> new']) with every (table, key, value) set."""
    lines = _scan(text)
    changes: List[str] = []
    appended: Dict[TablePath, List[str]] = {}
    for table, key, value in settings:
        rendered = render_value(value)
        place = [i for i, line in enumerate(lines) if line.table == table and line.key == (key,)]
        dotted = [line for line in lines if line.key and line.table is not None and len(line.key) > 1
                  and line.table + line.key[:-1] == table and line.key[-1] == key]
        if dotted or len(place) > 1:
            raise ValueError(f"{render_table(table)}.{key} is set in a form this editor does not change "
                             "(a dotted key or twice); set it by hand")
        label = f"{render_table(table)}.{key}"
        if place:
            line = lines[place[0]]
            indent = line.text[:len(line.text) - len(line.text.lstrip())]
            old_value = _split_assignment(line.text.strip())[2].strip()
            if old_value.split("#")[0].strip() == rendered:
                continue
            ending = "\n" if line.text.endswith("\n") else ""
            line.text = f"{indent}{render_key(key)} = {rendered}{ending}"
            changes.append(f"{label}: {old_value.split('#')[0].strip()} -> {rendered}")
            continue
        headers = [i for i, line in enumerate(lines) if line.table == table and line.key is None
                   and _HEADER.match(line.text.rstrip("\r\n"))]
        if headers:
            section_end = headers[0] + 1
            while section_end < len(lines) and lines[section_end].table == table:
                section_end += 1
            keys = [i for i in range(headers[0] + 1, section_end) if lines[i].key]
            anchor = keys[-1] if keys else headers[0]
            sibling = lines[keys[-1]].text if keys else lines[headers[0]].text + "  "
            indent = sibling[:len(sibling) - len(sibling.lstrip())]
            if not lines[anchor].text.endswith("\n"):
                lines[anchor].text += "\n"
            lines.insert(anchor + 1, _Line(f"{indent}{render_key(key)} = {rendered}\n", table, (key,)))
        elif table == ():
            first_header = next((i for i, line in enumerate(lines) if line.table != ()), len(lines))
            lines.insert(first_header, _Line(f"{render_key(key)} = {rendered}\n", (), (key,)))
        else:
            appended.setdefault(table, []).append(f"  {render_key(key)} = {rendered}\n")
        changes.append(f"{label}: (unset) -> {rendered}")
    result = "".join(line.text for line in lines)
    for table, keys in appended.items():
        if result and not result.endswith("\n"):
            result += "\n"
        result += f"\n[{render_table(table)}]\n" + "".join(keys)
    _verify(result, settings)
    return result, changes


def _verify(text: str, settings: Sequence[Setting]) -> None:
    try:
        document = parse(text)
    except ValueError as err:
        raise ValueError(f"the edited file would not be valid TOML ({err}): a table is defined in a form this editor "
                         "does not change (an inline table or dotted keys); set it by hand") from None
    for table, key, value in settings:
        found = lookup(document, table, key, default=KeyError) if can_parse() else read_value(text, table, key)
        if found != value:
            raise ValueError(f"{render_table(table)}.{key}: could not be set with certainty (the file defines that "
                             "table in a form this editor does not change - an inline table or dotted keys); set it by hand")
