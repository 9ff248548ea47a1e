"""PyYAML on the node, and what a module says where it is missing.

Kubernetes' own files (manifests, kubelet and kubeadm configuration, the catalogue) are YAML, so the
node-side code needs PyYAML. It is imported here once, guarded, so that a node without it gets one clear
message naming the package instead of a traceback from whichever file imported it first.
"""

from __future__ import annotations

import re
import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import yaml
    # libyaml's loader where the node has it: several times faster on the manifests and the catalogue
    SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    YAML_IMPORT_ERROR = None
except ImportError:
    yaml = None
    SAFE_LOADER = None
    YAML_IMPORT_ERROR = traceback.format_exc()


# Deeper flow nesting than any Kubernetes file has: libyaml's loader crashes the process (SIGSEGV) on some
# 30000 nested brackets and PyYAML's own recurses past Python's limit; a file someone planted at one of our
# paths must be refused as not YAML, never take the module down.
MAX_FLOW_DEPTH = 100


def flow_depth(text: str, stop_above: int = MAX_FLOW_DEPTH) -> int:
    """How deep [ and { nest in text (brackets in quoted strings count too: conservative), counted up to
    just past stop_above."""
    openers = text.count("[") + text.count("{")
    if openers <= stop_above:       # cannot nest deeper than it opens (most files: no scan)
        return openers
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", text):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        if depth > deepest:
            deepest = depth
            if deepest > stop_above:
                break
    return deepest


def safe_load(text):
    """yaml.safe_load with libyaml's loader where the node has it (the same safe constructors). Raises
    yaml.YAMLError, as for any malformed YAML, for nesting no configuration file has (MAX_FLOW_DEPTH)."""
    if hasattr(text, "read"):
        text = text.read()
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if isinstance(text, str) and flow_depth(text) > MAX_FLOW_DEPTH:
        raise yaml.YAMLError(f"nested deeper than {MAX_FLOW_DEPTH} levels: not a configuration file")
    try:
        return yaml.load(text, Loader=SAFE_LOADER)
    except RecursionError:
        raise yaml.YAMLError("nested too deeply: not a configuration file") from None


def require_yaml(module) -> None:
    """Fail the module, naming the package to install, where the node's Python has no PyYAML."""
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML (Debian/Ubuntu: python3-yaml, RHEL: python3-pyyaml)",
                                                  reason="to read Kubernetes' configuration files"),
                         exception=YAML_IMPORT_ERROR)


def error_summary(exc) -> str:
    """A YAML error as the problem and where it is (line, column), never the text around it:
    PyYAML's str() quotes the offending line, and in an encryption config or k3s' config.yaml that
    line may hold a key or a token. Quoted fragments longer than an escaped character are left out."""
    import re

    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or "syntax error"
    problem = re.sub(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\"""",
                     lambda found: found.group(0) if len(found.group(0)) <= 6 else "(text not shown)",
                     str(problem).splitlines()[0] if str(problem).strip() else "syntax error")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None and getattr(mark, "line", None) is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    position = getattr(exc, "position", None)
    return f"{problem} at character {position + 1}" if isinstance(position, int) else problem


def load_unique_keys(text: str):
    """One YAML document as Kubernetes' strict decoding reads it: a key given twice in one mapping is an error
    (a lenient reader takes the last, an edit of the first would change nothing). Needs PyYAML."""

    class _UniqueKeyLoader(yaml.SafeLoader):   # pylint: disable=too-many-ancestors
        pass

    def mapping(loader, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice", key_node.start_mark)
            seen.add(key)
        return loader.construct_mapping(node, deep)

    _UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return yaml.load(text, Loader=_UniqueKeyLoader)   # nosec B506 - a SafeLoader subclass
