"""The node as a run would leave it: the state `audit.observe` returns, with the run's writes applied -
component flags (manifests, env files, k3s' config), the kubelet's config file under its drop-ins, the
encryption providers, the listeners those flags and fields open, the kubelet unit's IP firewall,
containerd's config, the node audit rules, and the modes and owners of files. Never-weaker judges it with
the audit's own checks (`audit.judge_control`), so it reads exactly what verify reads, and compares it
with the node as it is.

Runs on the node (inside node_plan): it reads the files the writes would change, never writes.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import ipaddress
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from ..base.component_names import APISERVER, CONTROLLER_MANAGER, ETCD, KUBELET, SCHEDULER
from ..catalogue import catalogue, checks
from ..formats import permissions
from ..observe import containerd, exposure, node_audit
from ..report import audit
from ..formats.kubelet_config import KubeletConfigError, merge_dropin, merge_fields

# The encryption check reads the providers of the file --encryption-provider-config names.
ENCRYPTION_KEY = "encryption-provider-config"
FileReader = Callable[[Any, bool], List[Dict[str, Any]]]

# Where each component listens when its flags say nothing (the components' own defaults): the listeners a
# changed flag opens or closes are derived from these, the sockets the node has now are the rest.
_FLAG_LISTENERS = {APISERVER: ("bind-address", "0.0.0.0", "secure-port", 6443),
                   CONTROLLER_MANAGER: ("bind-address", "0.0.0.0", "secure-port", 10257),
                   SCHEDULER: ("bind-address", "0.0.0.0", "secure-port", 10259)}
_ETCD_URLS = {"listen-client-urls": "http://localhost:2379", "listen-peer-urls": "http://localhost:2380", "listen-metrics-urls": ""}
# kubelet: (config field, flag, default) of each address and port; readOnlyPort is 0 in a config file
_KUBELET_LISTENERS = ((("address", "address", "0.0.0.0"), ("port", "port", 10250)),
                      (("address", "address", "0.0.0.0"), ("readOnlyPort", "read-only-port", 0)),
                      (("healthzBindAddress", "healthz-bind-address", "127.0.0.1"), ("healthzPort", "healthz-port", 10248)))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- component flags, kubelet config, encryption ----------------------------------------------------------

def overlay(state: Mapping[str, Any], component: str, settings: Mapping[str, Any],
            values: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The node's state as it would be with these settings applied to one component (and the listeners
    its changed flags open or close). A new state: what changes is copied, the rest shared, never changed."""
    after = dict(state)
    after["components"] = dict(state["components"])
    observed = after["components"][component] = copy.deepcopy(dict(state["components"].get(component) or {"source": "absent", "flags": {}}))
    k3s = catalogue.one_process_serves_all(after.get("layout"))
    if component == KUBELET and k3s:
        # k3s configures the kubelet by flags (kubelet-arg), and a flag wins over any config file
        table = catalogue.load()["kubelet_flags"]
        flags = dict(observed["flags"])
        for field, value in settings.items():
            if field in table:
                if value is None:
                    flags.pop(table[field], None)
                else:
                    flags[table[field]] = _text(value)
        observed["flags"] = flags
    elif component == KUBELET:
        layers = after.get("kubelet_config_layers")
        try:
            if layers:   # the drop-ins are merged over the file we write, as the kubelet merges them
                written, _ignored = merge_fields(layers.get("file") or {}, settings)
                config = written
                for doc in layers.get("dropins") or []:
                    config = merge_dropin(config, doc)
                after["kubelet_config_layers"] = dict(layers, file=written)
                after["kubelet_config"] = config
            else:
                after["kubelet_config"], _ignored = merge_fields(after.get("kubelet_config") or {}, settings)
        except KubeletConfigError:
            pass   # the kubelet_config module refuses such a value before writing anything
    else:
        flags = dict(observed["flags"])
        for key, value in settings.items():
            if value is None:
                flags.pop(key, None)
            else:
                flags[key] = value
        observed["flags"] = flags
    if component == APISERVER and values is not None:
        _encryption(after, settings, values)
    move_listeners(state, after, component)
    return after


def _encryption(after: Dict[str, Any], settings: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    if settings.get(ENCRYPTION_KEY) and values.get("kube_encrypt_secret_data"):
        # desired.encryption_config: one entry for kube_encryption_resources, the chosen algorithm first,
        # older providers after it. Secrets get them only if that list really covers secrets.
        resources = [str(name) for name in values.get("kube_encryption_resources") or []]
        kept = [p for p in after.get("encryption_providers") or [] if p != values["kube_encryption_algorithm"]]
        after["encryption_resources"] = resources
        after["encryption_providers"] = ([values["kube_encryption_algorithm"]] + [p for p in kept if p != "identity"] + ["identity"]
                                         if checks.covers(resources) else [])
    elif ENCRYPTION_KEY in settings and settings[ENCRYPTION_KEY] is None:
        after["encryption_providers"] = []
        after["encryption_resources"] = []


def components(state: Mapping[str, Any], settings: Mapping[str, Mapping[str, Any]],
               values: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """overlay() for several components at once: {component: settings}."""
    after: Dict[str, Any] = dict(state)
    for component, one in settings.items():
        after = overlay(after, component, one, values)
    return after


# --- listeners derivable from flags ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=512)
def _address(host: Any) -> Optional[str]:
    """An address as /proc/net/tcp shows it (every interface: 0.0.0.0 or ::); None for a host name."""
    text = str(host).strip().strip("[]")
    if text in ("", "0.0.0.0"):
        return "0.0.0.0"
    if text == "localhost":
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _port(value: Any) -> Optional[int]:
    try:
        port = int(str(value))
    except ValueError:
        return None
    return port if 0 < port < 65536 else None


def _url_listener(url: str) -> Optional[Tuple[str, int]]:
    _scheme, _sep, rest = url.strip().partition("://")
    host, _colon, port = rest.split("/", 1)[0].rpartition(":")
    address, number = _address(host), _port(port)
    return (address, number) if address and number else None


def derived_listeners(component: str, state: Mapping[str, Any]) -> Set[Tuple[str, int]]:
    """(address, port) the component listens on according to its flags (and the kubelet's config)."""
    flags = ((state.get("components") or {}).get(component) or {}).get("flags") or {}
    found: Set[Tuple[str, int]] = set()
    if component in _FLAG_LISTENERS:
        address_flag, address_default, port_flag, port_default = _FLAG_LISTENERS[component]
        address, port = _address(flags.get(address_flag) or address_default), _port(flags.get(port_flag) or port_default)
        if address and port:
            found.add((address, port))
    elif component == ETCD:
        for flag, default in _ETCD_URLS.items():
            for url in str(flags.get(flag) or default).split(","):
                listener = _url_listener(url) if url.strip() else None
                if listener:
                    found.add(listener)
    elif component == KUBELET:
        config = state.get("kubelet_config") or {}
        for (address_field, address_flag, address_default), (port_field, port_flag, port_default) in _KUBELET_LISTENERS:
            address = flags.get(address_flag) or config.get(address_field) or address_default
            port = flags.get(port_flag) if port_flag in flags else config.get(port_field, port_default)
            if _address(address) and _port(port):
                found.add((_address(address), _port(port)))   # type: ignore[arg-type]
    return found


def move_listeners(before: Mapping[str, Any], after: Dict[str, Any], component: str) -> None:
    """Where the component's flags change where it listens, its sockets on those ports move as the flags say;
    every other socket of the node stays as observed."""
    if ((before.get("components") or {}).get(component) or {}).get("source", "absent") == "absent":
        return   # not on this node: nothing of it listens, before or after
    old, new = derived_listeners(component, before), derived_listeners(component, after)
    sockets = after.get("listeners")
    if old == new or sockets is None:
        return
    k3s = catalogue.one_process_serves_all(after.get("layout"))
    process = "k3s" if k3s else component
    ports = {port for _a, port in old | new if {a for a, p in old if p == port} != {a for a, p in new if p == port}}
    kept = [entry for entry in sockets if not (entry["port"] in ports and entry.get("process") in (process, "?"))]
    added = [{"address": address, "port": port, "pid": None, "process": process, "component": process, "argv": [], "predicted": True}
             for address, port in sorted(new) if port in ports]
    after["listeners"] = sorted(kept + added, key=lambda e: (e["port"], e["address"]))


# --- the rest of a run's writes (node_operations.operations) ----------------------------------------------------

def _written(ops: Mapping[str, Mapping[str, Any]]) -> Dict[str, Optional[int]]:
    """{path: mode} of every file the operations write (None: a file removed)."""
    found: Dict[str, Optional[int]] = {}
    for one in ops.values():
        for kind, args in one.items():
            if kind in ("static_pod", "kubelet_config", "k3s_config") and args.get("mode") is not None:
                found[args["path"]] = int(str(args["mode"]), 8)
            elif kind == "config_files":
                found.update({spec["path"]: int(str(spec.get("mode") or "0600"), 8) for spec in args["files"]})
            elif kind == "encryption":
                found[args["path"]] = 0o600
            elif kind == "absent":
                found[args["path"]] = None
    return found


def file_reader(ops: Mapping[str, Mapping[str, Any]], read: FileReader = audit.file_facts) -> FileReader:
    """audit.file_facts as the files would be after the run: the writers' modes (exact), files they create
    (root's), then the file_modes ceilings and owners."""
    written = _written(ops)
    entries = [entry for one in ops.values() for entry in (one.get("file_modes") or {}).get("entries") or []]
    expanded: Dict[int, Set[str]] = {}   # each entry's paths, globbed (and walked) once per run

    def listed_by(index: int, entry: Mapping[str, Any]) -> Set[str]:
        if index not in expanded:
            expanded[index] = {os.path.realpath(p) for p in permissions.expand(entry)}
        return expanded[index]

    def matches(pattern: str, path: str, recurse: bool) -> bool:
        return fnmatch.fnmatch(path, pattern) or (recurse and path.startswith(pattern.rstrip("/") + "/"))

    def reader(pattern: Any, recurse: bool = False) -> List[Dict[str, Any]]:
        facts = [dict(fact) for fact in read(pattern, recurse)]
        patterns = pattern if isinstance(pattern, list) else [pattern]
        real = {os.path.realpath(str(f["path"]).split(" -> ", 1)[0]): f for f in facts if f["mode"] is not None}
        for path, mode in written.items():
            fact = real.get(os.path.realpath(path))
            if mode is None and fact is not None:
                facts.remove(fact)
            elif fact is not None:
                fact["mode"] = mode
            elif mode is not None and any(matches(p, path, recurse) for p in patterns):
                created = {"path": path, "mode": mode, "owner": "root:root", "dir": False}
                facts.append(created)
                real[path] = created
        for index, entry in enumerate(entries):
            ceiling = int(str(entry["mode"]), 8) if entry.get("mode") else None
            dir_ceiling = int(str(entry.get("dir_mode") or entry.get("mode") or "0"), 8) or None
            listed = set(listed_by(index, entry))
            listed |= {p for p in real if p not in listed and matches(str(entry["path"]), p, bool(entry.get("recurse")))}
            for path in listed & set(real):
                fact = real[path]
                limit = dir_ceiling if fact["dir"] else ceiling
                if limit is not None:
                    fact["mode"] &= limit
                if entry.get("owner") or entry.get("group"):
                    user, _colon, group = str(fact["owner"]).partition(":")
                    fact["owner"] = f"{entry.get('owner') or user}:{entry.get('group') or group}"
        return facts
    return reader


def after_operations(state: Mapping[str, Any], settings: Mapping[str, Mapping[str, Any]], ops: Mapping[str, Mapping[str, Any]],
                     values: Mapping[str, Any]) -> Dict[str, Any]:
    """The node's state after every operation of the run: the guarded settings of the components the run
    writes, the kubelet unit's drop-ins, containerd's config and the audit rules."""
    k3s = "k3s" in ops
    writers = ("static_pod", "env_file", "kubelet_config")
    written = {component: one for component, one in settings.items()
               if k3s or any(kind in (ops.get(component) or {}) for kind in writers)}
    after = components(state, written, values)
    unit = after.get("kubelet_unit")
    if unit is not None:
        files = dict(unit.get("files") or {})
        kubelet = ops.get(KUBELET) or {}
        for spec in (kubelet.get("config_files") or {}).get("files") or []:
            files[spec["path"]] = exposure.ip_assignments(spec["content"])
        if "absent" in kubelet:
            files.pop(kubelet["absent"]["path"], None)
        after["kubelet_unit"] = dict(unit, files=files)
    runtime = (ops.get("container_runtime") or {}).get("containerd_config")
    seen = after.get("container_runtime")
    if runtime and seen and seen.get("config_found"):
        try:
            with open(runtime["path"], encoding="utf-8", errors="replace") as handle:
                text = containerd.edit(handle.read(), runtime["variables"])[0]
            after["container_runtime"] = {key: value for key, value in dict(seen, **containerd.effective(text)).items() if key != "error"}
        except (OSError, ValueError) as exc:
            after["container_runtime"] = dict(seen, error=str(exc))
    rules = ops.get("node_audit")
    if rules and after.get("node_audit"):
        covered = node_audit.covered_paths("".join(spec["content"] for spec in rules["config_files"]["files"]))
        seen = dict(after["node_audit"])
        seen["missing_in_files"] = [p for p in seen["missing_in_files"] if not node_audit.is_covered(p, covered)]
        if seen.get("not_loaded") is not None and rules["audit_rules"]["load"]:
            seen["not_loaded"] = [p for p in seen["not_loaded"] if not node_audit.is_covered(p, covered)]
        after["node_audit"] = seen
    return after


def judge(controls: Sequence[Mapping[str, Any]], state: Mapping[str, Any], read: FileReader) -> Dict[str, Optional[bool]]:
    """{control id: passed} for every control with a check (None: not judged), as audit.judge_control says."""
    found: Dict[str, Optional[bool]] = {}
    for control in controls:
        if control.get("check"):
            outcome = audit.judge_control(control, state, read)
            found[str(control["id"])] = outcome.passed if outcome else None
    return found
