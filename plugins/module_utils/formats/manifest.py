"""Edit a static pod manifest: set/remove command-line flags of one container, add hostPath volumes
and their mounts. Everything else, and the order of fields and flags, is kept.

Pure functions over parsed YAML; the static_pod module does the file I/O.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..base.yaml_support import SAFE_LOADER, yaml


class ManifestError(ValueError):
    pass


def flag_value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _split_flag(arg: str) -> Tuple[Optional[str], Optional[str]]:
    """'--name=value' -> ('name', 'value'); '--name' -> ('name', None); other -> (None, None)."""
    if not isinstance(arg, str) or not arg.startswith("--"):
        return None, None
    name, sep, value = arg[2:].partition("=")
    return name, (value if sep else None)


def parse_flags(args: Sequence[str]) -> Dict[str, Optional[str]]:
    """Flags from a command list, the last occurrence winning (as the Go flag package does)."""
    flags: Dict[str, Optional[str]] = {}
    for arg in args:
        name, value = _split_flag(arg)
        if name is not None:
            flags[name] = value if value is not None else "true"
    return flags


def find_container(pod: Mapping[str, Any], name: Optional[str]) -> Dict[str, Any]:
    containers = ((pod.get("spec") or {}).get("containers")) or []
    if not containers:
        raise ManifestError("manifest has no spec.containers")
    if name is None:
        return containers[0]
    for container in containers:
        if container.get("name") == name:
            return container
    raise ManifestError(f"container {name!r} not found; containers: {[c.get('name') for c in containers]}")


def _flag_list(container: Dict[str, Any]) -> List[str]:
    """The list that holds the flags: 'command' (kubeadm, kubespray) unless only 'args' has them."""
    command = container.get("command")
    args = container.get("args")
    if isinstance(args, list) and any(_split_flag(a)[0] for a in args):
        return args
    if isinstance(command, list):
        return command
    raise ManifestError("container has neither a command nor args list")


def set_flags(args: List[str], flags: Mapping[str, Any]) -> List[str]:
    """Apply {name: value} (None removes) to an argument list in place; return human-readable changes."""
    changes: List[str] = []
    for name, value in flags.items():
        positions = [i for i, arg in enumerate(args) if _split_flag(arg)[0] == name]
        if value is None:
            for i in reversed(positions):
                changes.append(f"- --{name}" + (f"={_split_flag(args[i])[1]}" if _split_flag(args[i])[1] is not None else ""))
                del args[i]
            continue
        wanted = f"--{name}={flag_value_text(value)}"
        if positions:
            first = positions[0]
            old = args[first]
            for i in reversed(positions[1:]):  # duplicates: keep one, in the first place
                del args[i]
            if old != wanted:
                args[first] = wanted
                changes.append(f"~ --{name}: {_split_flag(old)[1]} -> {flag_value_text(value)}")
            elif len(positions) > 1:
                changes.append(f"~ --{name}: duplicate removed")
            continue
        args.insert(_sorted_insert_position(args, name), wanted)
        changes.append(f"+ {wanted}")
    return changes


def _sorted_insert_position(args: List[str], name: str) -> int:
    """kubeadm writes flags sorted; keep them so. Otherwise append."""
    names = [(i, _split_flag(a)[0]) for i, a in enumerate(args)]
    names = [(i, n) for i, n in names if n is not None]
    if [n for _ignored, n in names] != sorted(n for _ignored, n in names):
        return len(args)
    for i, existing in names:
        if existing > name:
            return i
    return len(args)


def _upsert_by_name(items: List[Dict[str, Any]], wanted: Dict[str, Any], what: str, changes: List[str],
                    same: Any = None) -> None:
    for i, item in enumerate(items):
        if item.get("name") == wanted["name"]:
            if item != wanted:
                items[i] = wanted
                changes.append(f"~ {what} {wanted['name']}")
            return
    if same is not None:
        return
    position = len(items)
    names = [it.get("name", "") for it in items]
    if names == sorted(names):
        position = next((i for i, n in enumerate(names) if n > wanted["name"]), len(items))
    items.insert(position, wanted)
    changes.append(f"+ {what} {wanted['name']}")


def _covered_by(path: str, mounts: Sequence[Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    for mount in mounts:
        mount_path = str(mount.get("mountPath", "")).rstrip("/")
        if mount_path and (path == mount_path or path.startswith(mount_path + "/")):
            return mount
    return None


def ensure_host_paths(pod: Dict[str, Any], container: Dict[str, Any], host_paths: Sequence[Mapping[str, Any]]) -> List[str]:
    """Make each {name, path, type, read_only} reachable inside the container at the same path.

    A path already inside an existing mount is left alone (kubeadm mounts /etc/kubernetes/pki, say),
    unless that mount is read-only and the path must be writable.
    """
    changes: List[str] = []
    spec = pod.setdefault("spec", {})
    volumes = spec.setdefault("volumes", [])
    mounts = container.setdefault("volumeMounts", [])
    for host_path in host_paths:
        read_only = bool(host_path.get("read_only", True))
        existing = _covered_by(host_path["path"], mounts)
        if existing is not None and existing.get("name") != host_path["name"]:
            if read_only or not existing.get("readOnly", False):
                continue
        volume = {"hostPath": {"path": host_path["path"], "type": host_path.get("type", "DirectoryOrCreate")},
                  "name": host_path["name"]}
        mount = {"mountPath": host_path["path"], "name": host_path["name"]}
        if read_only:
            mount["readOnly"] = True
        _upsert_by_name(volumes, volume, "volume", changes)
        _upsert_by_name(mounts, mount, "volumeMount", changes)
    return changes


def set_annotations(pod: Dict[str, Any], annotations: Mapping[str, Any]) -> List[str]:
    """Pod annotations (None removes). A changed annotation changes the manifest, so the kubelet
    restarts the static pod: we use one holding a hash of the config files the pod reads."""
    changes: List[str] = []
    if not annotations:
        return changes
    metadata = pod.setdefault("metadata", {})
    current = metadata.get("annotations") or {}
    for key, value in annotations.items():
        if value is None:
            if key in current:
                del current[key]
                changes.append(f"- annotation {key}")
        elif current.get(key) != str(value):
            changes.append(f"~ annotation {key}: {current.get(key)} -> {value}")
            current[key] = str(value)
    if current:
        metadata["annotations"] = current
    else:
        metadata.pop("annotations", None)
    return changes


def set_probe_host(container: Dict[str, Any], host: Optional[str]) -> List[str]:
    """Point httpGet probes at the address the component binds to (kubeadm writes 127.0.0.1)."""
    changes: List[str] = []
    if not host:
        return changes
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        get = ((container.get(probe) or {}).get("httpGet"))
        if isinstance(get, dict) and "host" in get and get["host"] != host:
            changes.append(f"~ {probe}.httpGet.host: {get['host']} -> {host}")
            get["host"] = host
    return changes


def edit_manifest(original: Mapping[str, Any], flags: Mapping[str, Any], host_paths: Sequence[Mapping[str, Any]] = (),
                  container_name: Optional[str] = None,
                  annotations: Optional[Mapping[str, Any]] = None,
                  probe_host: Optional[str] = None,
                  restart_required: bool = True) -> Tuple[Dict[str, Any], List[str]]:
    """Return (new manifest, list of changes). The input is not modified.

    restart_required=False: an annotation the manifest does not have is added only together with
    another change. kubeadm upgrade rewrites the manifest without our restart annotation while the pod
    it restarts reads the current files: adding it back alone would restart the pod for nothing."""
    pod = copy.deepcopy(dict(original))
    if pod.get("kind") != "Pod":
        raise ManifestError(f"not a Pod manifest (kind: {pod.get('kind')!r})")
    container = find_container(pod, container_name)
    changes = set_flags(_flag_list(container), flags)
    changes += ensure_host_paths(pod, container, host_paths)
    changes += set_probe_host(container, probe_host)
    present = (pod.get("metadata") or {}).get("annotations") or {}
    wanted = {k: v for k, v in (annotations or {}).items() if restart_required or changes or k in present}
    changes += set_annotations(pod, wanted)
    return pod, changes


def static_pod_edit(args: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], Tuple[Dict[str, Any], List[str]]]:
    """The edit the static_pod module makes with these arguments (its defaults for those left out), as
    fileops.plan_yaml_edit takes it: the module and the node's plan (plan/writers.py) edit alike."""
    return lambda pod: edit_manifest(pod, args.get("flags") or {}, args.get("host_paths") or [], args.get("container"),
                                     args.get("annotations") or {}, args.get("probe_host"),
                                     args.get("restart_required", True))


# libyaml's loader when PyYAML has it (Debian's python3-yaml does): parsing manifests is most of a
# node's plan time. Dumping keeps the pure emitter (the bytes we write must not change).
_LOADER = SAFE_LOADER


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)


def load_manifest(text: str) -> Dict[str, Any]:
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise ManifestError("manifest is not a YAML mapping")
    return data


def running_command(pod: Mapping[str, Any]) -> Tuple[str, Dict[str, Optional[str]]]:
    """(executable base name, flags) the first container of a static pod runs: what a health check
    expects to find in /proc once the kubelet has restarted the pod from this manifest."""
    container = find_container(pod, None)
    command = list(container.get("command") or []) + list(container.get("args") or [])
    if not command:
        raise ManifestError("container has neither a command nor args list")
    return command[0].rsplit("/", 1)[-1], parse_flags(command[1:])


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False, width=1000)
