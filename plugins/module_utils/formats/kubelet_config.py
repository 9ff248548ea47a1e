"""Merge fields into a KubeletConfiguration document (kubeadm's /var/lib/kubelet/config.yaml or
kubespray's /etc/kubernetes/kubelet-config.yaml). Pure functions; the kubelet_config module does I/O."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping, Tuple

from ..base.durations import duration_seconds
from .fileops import dropin_files as files_in


class KubeletConfigError(ValueError):
    pass


# Fields whose type the kubelet checks strictly; a wrong type makes it refuse to start.
FIELD_TYPES: Dict[str, type] = {
    "readOnlyPort": int, "eventRecordQPS": int, "podPidsLimit": int,
    "protectKernelDefaults": bool, "rotateCertificates": bool, "serverTLSBootstrap": bool,
    "makeIPTablesUtilChains": bool, "seccompDefault": bool,
    "authentication.anonymous.enabled": bool, "authentication.webhook.enabled": bool,
    "streamingConnectionIdleTimeout": str, "tlsMinVersion": str, "authorization.mode": str,
    "tlsCipherSuites": list, "featureGates": dict,
}


# What the kubelet takes for a field its config file leaves out (KubeletConfiguration v1beta1), where
# kubeadm drops the field when it equals that (kubeadm upgrade rewrites readOnlyPort: 0 as nothing).
FILE_DEFAULTS: Dict[str, Any] = {"readOnlyPort": 0}


def same_setting(path: str, present: bool, old: Any, new: Any) -> bool:
    """The kubelet reads old as new: equal, the same duration written differently (kubeadm writes 5m as
    5m0s), or a field left out whose kubelet default is the value."""
    if not present:
        return path in FILE_DEFAULTS and FILE_DEFAULTS[path] == new and not isinstance(new, bool)
    if old == new:
        return True
    seconds = duration_seconds(old), duration_seconds(new)
    return None not in seconds and seconds[0] == seconds[1]


def check_types(fields: Mapping[str, Any]) -> None:
    for path, value in fields.items():
        wanted = FIELD_TYPES.get(path)
        if value is None or wanted is None:
            continue
        if wanted is int and isinstance(value, bool) or not isinstance(value, wanted):
            raise KubeletConfigError(f"field {path}: {value!r} must be of type {wanted.__name__}")


def get_field(config: Mapping[str, Any], path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def merge_fields(original: Mapping[str, Any], fields: Mapping[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
    """Set dotted fields (None removes one). featureGates merge gate by gate. Returns (new, changes)."""
    if original.get("kind") not in (None, "KubeletConfiguration"):
        raise KubeletConfigError(f"not a KubeletConfiguration (kind: {original.get('kind')!r})")
    check_types(fields)
    config = copy.deepcopy(dict(original))
    changes: List[str] = []
    for path, value in fields.items():
        parts = path.split(".")
        parent = config
        for part in parts[:-1]:
            child = parent.get(part)
            if not isinstance(child, dict):
                if value is None:
                    break
                child = parent[part] = {}
            parent = child
        else:
            leaf = parts[-1]
            old = parent.get(leaf)
            if value is None:
                if leaf in parent:
                    del parent[leaf]
                    changes.append(f"- {path}")
                continue
            if isinstance(value, dict) and isinstance(old, dict):
                merged = dict(old)
                merged.update(value)
                value = merged
            if not same_setting(path, leaf in parent, old, value):
                parent[leaf] = value
                changes.append(f"~ {path}: {old!r} -> {value!r}" if leaf in original_keys(original, parts) else f"+ {path}: {value!r}")
    return config, changes


def original_keys(original: Mapping[str, Any], parts: List[str]) -> set:
    node: Any = original
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, Mapping) else None
    return set(node.keys()) if isinstance(node, Mapping) else set()


# --- the kubelet's drop-in directory (--config-dir) ----------------------------------------------------
# The kubelet reads --config, then every *.conf file of --config-dir in name order: maps merge key by key,
# anything else (scalars, lists) is replaced; its command-line flags still win over both.
DROPIN_SUFFIX = ".conf"


def dropin_files(directory: str) -> List[str]:
    return files_in(directory, (DROPIN_SUFFIX,))


def load_dropins(directory: str) -> List[Tuple[str, Dict[str, Any]]]:
    """(path, document) of each drop-in; KubeletConfigError naming a file the kubelet would refuse."""
    from ..base.yaml_support import SAFE_LOADER, yaml  # late: PyYAML is optional where this module is imported (only this path parses YAML)
    found = []
    for path in dropin_files(directory):
        with open(path, encoding="utf-8") as handle:
            try:
                doc = yaml.load(handle, Loader=SAFE_LOADER)
            except yaml.YAMLError as exc:
                raise KubeletConfigError(f"{path}: not valid YAML: {exc}") from None
        if doc is None:
            continue
        if not isinstance(doc, dict) or doc.get("kind") not in (None, "KubeletConfiguration"):
            raise KubeletConfigError(f"{path}: not a KubeletConfiguration")
        found.append((path, doc))
    return found


def merge_dropin(base: Mapping[str, Any], dropin: Mapping[str, Any]) -> Dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in dropin.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_dropin(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _leaf(doc: Mapping[str, Any], path: str) -> Tuple[bool, Any]:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def dropin_overrides(fields: Mapping[str, Any],
                     dropins: List[Tuple[str, Mapping[str, Any]]]) -> List[Tuple[str, str, Any, Any]]:
    """(field, drop-in, its value, ours) for each of our fields (None: removed) a drop-in sets otherwise;
    featureGates gate by gate. The last drop-in that sets a field decides it."""
    found = []
    for path, wanted in fields.items():
        leaves = {f"{path}.{gate}": value for gate, value in wanted.items()} if isinstance(wanted, Mapping) else {path: wanted}
        for leaf, value in leaves.items():
            setters = [(name, got) for name, doc in dropins for present, got in [_leaf(doc, leaf)] if present]
            if not setters:
                continue
            name, got = setters[-1]
            if value is None or not same_setting(leaf, True, got, value):
                found.append((leaf, name, got, value))
    return found
