"""Merge fields into a KubeletConfiguration document (kubeadm's /var/lib/kubelet/config.yaml or
kubespray's /etc/kubernetes/kubelet-config.yaml). Pure functions; the kubelet_config module does I/O."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping, Tuple


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
            if old != value or leaf not in parent:
                parent[leaf] = value
                changes.append(f"~ {path}: {old!r} -> {value!r}" if leaf in original_keys(original, parts) else f"+ {path}: {value!r}")
    return config, changes


def original_keys(original: Mapping[str, Any], parts: List[str]) -> set:
    node: Any = original
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, Mapping) else None
    return set(node.keys()) if isinstance(node, Mapping) else set()
