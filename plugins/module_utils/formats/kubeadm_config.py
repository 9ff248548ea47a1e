"""Carry the hardening into kubeadm's own records, so `kubeadm upgrade` regenerates it: the
ClusterConfiguration in the kube-system/kubeadm-config ConfigMap (apiServer, controllerManager,
scheduler extraArgs and extraVolumes, etcd.local.extraArgs) and the KubeletConfiguration in the
kube-system/kubelet-config ConfigMap. Pure functions over the ConfigMaps' data; the kubeadm_config
module reads and writes them through the API.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple


from .kubelet_config import merge_fields
from ..base.component_names import APISERVER, CONTROLLER_MANAGER, ETCD, SCHEDULER
from ..base.yaml_support import safe_load, yaml

# ClusterConfiguration section of each static-pod component (kubeadm's own keys: its etcd section is named etcd)
ETCD_SECTION = ("etcd", "local")
SECTIONS = {APISERVER: ("apiServer",), CONTROLLER_MANAGER: ("controllerManager",),
            SCHEDULER: ("scheduler",), ETCD: ETCD_SECTION}


class KubeadmConfigError(ValueError):
    pass


def _section(config: Dict[str, Any], path: Tuple[str, ...]) -> Dict[str, Any]:
    node = config
    for key in path:
        if node.get(key) is None:
            node[key] = {}
        node = node[key]
        if not isinstance(node, dict):
            raise KubeadmConfigError(f"ClusterConfiguration {'.'.join(path)} is not a mapping")
    return node


def _set_args(section: Dict[str, Any], flags: Mapping[str, Optional[str]], where: str, list_form: bool) -> List[str]:
    """extraArgs in either form: v1beta4's list of {name, value} or v1beta3's map (kept in its form)."""
    changes: List[str] = []
    found = section.get("extraArgs")
    as_map = isinstance(found, dict) or (found is None and not list_form)
    args = [{"name": k, "value": v} for k, v in found.items()] if isinstance(found, dict) else list(found or [])
    for name, value in flags.items():
        present = [a for a in args if isinstance(a, dict) and a.get("name") == name]
        others = [a for a in args if a not in present]
        if value is None:
            if present:
                args = others
                changes.append(f"{where}: - {name}")
        elif [str(a.get("value")) for a in present] != [str(value)]:
            changes.append(f"{where}: {name}={present[0].get('value')} -> {value}" if present else f"{where}: + {name}={value}")
            args = others + [{"name": name, "value": str(value)}]
    if changes or found is not None:
        section["extraArgs"] = {a["name"]: a["value"] for a in args} if as_map else args
    return changes


def _normal_volume(volume: Mapping[str, Any]) -> Dict[str, Any]:
    """kubeadm leaves out readOnly: false when it stores the configuration again (kubeadm upgrade)."""
    return dict(volume, readOnly=bool(volume.get("readOnly", False)))


def _covered(path: str, mounts: Sequence[str]) -> bool:
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)


def _set_volumes(section: Dict[str, Any], host_paths: List[Mapping[str, Any]], where: str,
                 generated_mounts: Sequence[str] = ()) -> List[str]:
    changes: List[str] = []
    volumes = list(section.get("extraVolumes") or [])
    # kubeadm mounts these itself: a second mount of the same path makes the pod it regenerates invalid
    duplicates = [v for v in volumes if _covered(str(v.get("mountPath", "")), generated_mounts)]
    if duplicates:
        volumes = [v for v in volumes if v not in duplicates]
        changes += [f"{where}: - volume {v.get('name')} ({v.get('mountPath')}: kubeadm mounts it itself)" for v in duplicates]
    for mount in [m for m in host_paths if not _covered(m["path"], generated_mounts)]:
        wanted = {"name": mount["name"], "hostPath": mount["path"], "mountPath": mount["path"],
                  "readOnly": bool(mount.get("read_only")), "pathType": mount.get("type", "DirectoryOrCreate")}
        same = [v for v in volumes if v.get("mountPath") == wanted["mountPath"] or v.get("name") == wanted["name"]]
        if len(same) == 1 and _normal_volume(same[0]) == _normal_volume(wanted):
            continue
        volumes = [v for v in volumes if v not in same] + [wanted]
        changes.append(f"{where}: volume {wanted['name']} -> {wanted['hostPath']}")
    if changes:
        section["extraVolumes"] = volumes
    return changes


def merge_cluster_configuration(text: str, flags: Mapping[str, Mapping[str, Optional[str]]],
                                host_paths: List[Mapping[str, Any]],
                                generated_mounts: Sequence[str] = ()) -> Tuple[str, List[str]]:
    """(new ClusterConfiguration text, changes). flags: component -> flags the hardening sets
    (None removes); host_paths: the apiserver's extra mounts; generated_mounts: paths kubeadm mounts
    into the apiserver itself (never added as extraVolumes, removed where found)."""
    try:
        config = safe_load(text)
    except yaml.YAMLError as exc:
        raise KubeadmConfigError(f"ClusterConfiguration is not valid YAML: {exc}") from None
    if not isinstance(config, dict) or config.get("kind") != "ClusterConfiguration":
        raise KubeadmConfigError("kubeadm-config holds no ClusterConfiguration")
    updated = copy.deepcopy(config)
    changes: List[str] = []
    for component, component_flags in flags.items():
        if component == ETCD and "external" in (updated.get(ETCD_SECTION[0]) or {}):
            continue            # etcd outside kubeadm: its flags are not kubeadm's to keep
        section = _section(updated, SECTIONS[component])
        changes += _set_args(section, component_flags, ".".join(SECTIONS[component]),
                             list_form=str(updated.get("apiVersion", "")).endswith("v1beta4"))
    if host_paths or generated_mounts:
        changes += _set_volumes(_section(updated, ("apiServer",)), host_paths, "apiServer", generated_mounts)
    if not changes:
        return text, []
    return yaml.safe_dump(updated, default_flow_style=False, sort_keys=False), changes


def merge_kubelet_configuration(text: str, fields: Mapping[str, Any]) -> Tuple[str, List[str]]:
    try:
        config = safe_load(text)
    except yaml.YAMLError as exc:
        raise KubeadmConfigError(f"kubelet-config is not valid YAML: {exc}") from None
    if not isinstance(config, dict):
        raise KubeadmConfigError("kubelet-config holds no KubeletConfiguration")
    merged, changes = merge_fields(config, fields)
    if not changes:
        return text, []
    return yaml.safe_dump(merged, default_flow_style=False, sort_keys=False), [f"kubelet-config: {c}" for c in changes]


def _extra_arg(config: Any, name: str) -> Optional[str]:
    args = ((config or {}).get("apiServer") or {}).get("extraArgs") if isinstance(config, dict) else None
    if isinstance(args, dict):
        return args.get(name)
    for arg in args or []:
        if isinstance(arg, dict) and arg.get("name") == name:
            return arg.get("value")
    return None


def keep_encryption_arg(saved_text: str, current_text: str) -> Optional[str]:
    """A ClusterConfiguration put back from before encryption at rest was on: the same, keeping the apiserver's
    encryption-provider-config extra arg kubeadm has now (the next `kubeadm upgrade` regenerates the apiserver
    from it: without the flag, every Secret stored encrypted would be unreadable). None: nothing to keep."""
    try:
        saved, current = safe_load(saved_text), safe_load(current_text)
    except yaml.YAMLError:
        return None
    path = _extra_arg(current, "encryption-provider-config")
    if not path or _extra_arg(saved, "encryption-provider-config") is not None:
        return None
    try:
        text, changes = merge_cluster_configuration(saved_text, {APISERVER: {"encryption-provider-config": path}}, [])
    except KubeadmConfigError:
        return None
    return text if changes else None
