"""CIS audit of one node from its real state, driven by the control catalogue (the verify path).

State is read, never assumed: the running processes' arguments from /proc (falling back to the
static pod manifest, etcd's /etc/etcd.env or the kubelet's env files when a component does not
run), the kubelet config file the kubelet was started with, the encryption config the apiserver
points at, and the modes and owners of files. `observe` collects it; `audit` is pure and judges it.
"""

from __future__ import annotations

import datetime
import grp
import os
import pwd
import re
import shlex
import stat as stat_module
from typing import Any, Dict, List, Mapping, Optional, Sequence


from ..base.component_names import APISERVER, ETCD, KUBELET, KUBE_PROXY
from . import reports
from . import waivers as waivers_model
from ..formats import kube_proxy, permissions
from ..platform import component_registry
from ..catalogue import catalogue, checks, expressions
from ..observe import containerd, exposure, integrity, node_audit, release_support, services, stale_images
from ..catalogue.catalogue import Platform
from ..model.hardening_vars import APPROVED_PORTS_DEFAULT
from ..observe.health import Proc, agree, component_processes, journal_running_args
from ..formats.k3s_config import K3sConfigError, arg_text, component_args
from ..formats.k3s_effective import merge, sources
from ..formats.kubelet_config import KubeletConfigError, load_dropins, merge_dropin
from ..formats.manifest import ManifestError, load_manifest, load_yaml, parse_flags, running_command
from ..observe.node_facts import BIN_DIRS, run_tool, untrusted
from .reports import STATUSES
from ..base.rooted import RootedReadError, read_in_root, stat_in_root
from ..base.yaml_support import yaml

FLAG_COMPONENTS = component_registry.OBSERVED
# not_applicable: the control is for a role this node does not have (every report lists every control).
# Which sections a node is audited for, by its roles (kube-bench's master / etcd / node targets).
ROLE_SECTIONS = {component_registry.CONTROL_PLANE_ROLE: ("1", "3"), component_registry.ETCD_ROLE: ("2",), component_registry.WORKER_ROLE: ("4",)}
ROLE_NAMES = {component_registry.CONTROL_PLANE_ROLE: "control plane", component_registry.ETCD_ROLE: "etcd member",
              component_registry.WORKER_ROLE: "worker"}


def _not_a(role: str) -> str:
    return f"this node is not {'an' if role[:1] in 'aeiou' else 'a'} {role}"


# Section K (our own checks beyond CIS) applies by component, not by section.
COMPONENT_ROLES = {**component_registry.ROLES, "node": "worker"}
# Controls about the cluster's API objects and users, not a node's files: until they are evaluated
# from the API they are reported manual on every node, never left out.
CLUSTER_SCOPE_FOUND = ("cluster scope: decided by the cluster's API objects and users, not by this node's"
                       " files or processes; not evaluated automatically yet - review as the remediation says")


# --- observing the node -------------------------------------------------------------------------

def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def _env_file_flags(text: str) -> Dict[str, Optional[str]]:
    """Flags inside VAR="--a=b --c" lines of a systemd environment file (kubeadm-flags.env, kubelet.env);
    a line ending in a backslash continues on the next, as systemd reads it (kubespray's KUBELET_ARGS)."""
    args: List[str] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        _ignored, _ignored, value = line.partition("=")
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        for word in words:
            args.extend(shlex.split(word) if " " in word else [word])
    return parse_flags([a for a in args if a.startswith("--")])


def _etcd_env_flags(text: str) -> Dict[str, Optional[str]]:
    """kubespray's /etc/etcd.env: ETCD_CLIENT_CERT_AUTH=true -> client-cert-auth=true."""
    flags: Dict[str, Optional[str]] = {}
    for line in text.splitlines():
        match = re.match(r"^\s*ETCD_([A-Z0-9_]+)=(.*)$", line)
        if match:
            flags[match.group(1).lower().replace("_", "-")] = match.group(2).strip().strip('"').strip("'")
    return flags


# etcd's YAML config file: its TLS sections hold flags (client-transport-security.cert-file is --cert-file,
# peer-transport-security.cert-file is --peer-cert-file).
ETCD_TLS_SECTIONS = {"client-transport-security": "", "peer-transport-security": "peer-"}


def etcd_config_flags(doc: Mapping[str, Any]) -> Dict[str, Optional[str]]:
    """etcd's settings as flags, from the YAML config file etcd reads (--config-file)."""
    flags: Dict[str, Optional[str]] = {}
    for key, value in doc.items():
        prefix = ETCD_TLS_SECTIONS.get(str(key))
        if prefix is None:
            flags[str(key)] = None if value is None else arg_text(value)
        elif isinstance(value, Mapping):
            flags.update({prefix + str(inner): None if v is None else arg_text(v) for inner, v in value.items()})
    return flags


def platform_component_flags(component: str, layout: Platform, journal: Mapping[str, List[str]]) -> Dict[str, Any]:
    """A platform whose one process runs every component (k3s): the arguments its current run logged
    for the component, else what its config file gives the component (not running); embedded etcd
    from the config file the platform writes for it at each start."""
    if component in journal:
        flags = parse_flags(journal[component][1:])
        if component == KUBE_PROXY:   # its defaults where k3s passes no flag (config files: not k3s' way)
            seen = kube_proxy.effective(flags, _read_on_host, load_yaml)
            flags = {**seen["flags"], **({UNREADABLE: seen["unreadable"]} if "unreadable" in seen else {})}
        return {"source": "process log", "flags": flags}
    etcd_config = layout.components.get("etcd_config")
    if component == ETCD and etcd_config:
        text = _read(str(etcd_config))
        try:
            doc = load_yaml(text) if text else None
        except yaml.YAMLError:
            return {"source": "config file", "flags": {}}
        if isinstance(doc, dict):
            return {"source": "config file", "flags": etcd_config_flags(doc)}
        return {"source": "absent", "flags": {}}
    list_key = (layout.components.get("arg_lists") or {}).get(component)
    config = str(layout.components.get("config", ""))
    if list_key and os.path.exists(config):
        # what it will start with: config.yaml, its drop-ins, the unit's command line (k3s_effective)
        units = [path for path in (layout.components.get("unit_files") or {}).values() if os.path.exists(path)]
        try:
            options, _ignored = merge(sources(config, None, units[0] if units else None))
            return {"source": "config file", "flags": component_args(options, list_key)}
        except K3sConfigError:
            return {"source": "config file", "flags": {}}
    return {"source": "absent", "flags": {}}


UNREADABLE = "(unreadable config)"   # a "flag" saying the file the process reads its settings from could not be judged


def _in_process_root(proc_root: str, pid: str) -> Any:
    """A reader of files as the process sees them (a static pod's or DaemonSet pod's own filesystem), never
    beyond its root, never a FIFO or a device, never more than rooted.LIMIT bytes (base/rooted)."""
    def read(path: str) -> Optional[str]:
        try:
            cwd = os.readlink(os.path.join(proc_root, pid, "cwd"))
        except OSError:
            cwd = "/"
        try:
            return read_in_root(os.path.join(proc_root, pid, "root"), path, cwd if cwd.startswith("/") else "/")
        except RootedReadError:
            return None
    return read


def _read_on_host(path: str) -> Optional[str]:
    try:
        return read_in_root("/", path)
    except RootedReadError:
        return None


def _process_flags(component: str, proc: Proc, proc_root: str = "/proc") -> Dict[str, Optional[str]]:
    flags = parse_flags(proc.args[1:])
    if component == KUBE_PROXY:   # with --config, the file decides and the other flags are ignored
        seen = kube_proxy.effective(flags, _in_process_root(proc_root, proc.pid), load_yaml)
        return {**seen["flags"], **({UNREADABLE: seen["unreadable"]} if "unreadable" in seen else {})}
    if component == ETCD:   # etcd on the host (kubespray) reads ETCD_* variables; the command line wins
        env_text = "\n".join(f"{k}={v}" for k, v in proc.environ.items())
        flags = {**_etcd_env_flags(env_text), **flags}
    return flags


_ABSENT = object()


def _running_flags(component: str, procs: Sequence[Proc], proc_root: str = "/proc") -> Dict[str, Any]:
    """What the running processes say. One process, or several with the same arguments (a parent and its
    child): its flags. Several that differ: only the flags they all agree on are judged; the others are
    'disputed' ({flag: {pid: value}}, a pid missing: not set there), and no process is picked."""
    per = [(proc.pid, _process_flags(component, proc, proc_root)) for proc in procs]
    if len(procs) == 1 or (agree(procs) and all(flags == per[0][1] for _pid, flags in per)):
        return {"source": "process", "flags": per[0][1]}
    agreed: Dict[str, Optional[str]] = {}
    disputed: Dict[str, Dict[str, Optional[str]]] = {}
    for key in sorted({key for _pid, flags in per for key in flags}):
        values = [flags.get(key, _ABSENT) for _pid, flags in per]
        if any(value != values[0] for value in values):
            disputed[key] = {pid: flags[key] for pid, flags in per if key in flags}
        elif values[0] is not _ABSENT:
            agreed[key] = values[0]
    return {"source": "process", "flags": agreed, "pids": [proc.pid for proc in procs], "disputed": disputed}


def component_flags(component: str, layout: Platform, proc_root: str = "/proc",
                    etcd_env: str = "/etc/etcd.env", running: Optional[Sequence[Proc]] = None) -> Dict[str, Any]:
    """{'source': process|manifest|env file|absent, 'flags': {...}} for one component. Several processes
    that are the component (health.component_processes) and disagree add 'pids' and 'disputed'. running: those
    processes when the caller has already looked for them (else they are looked for here)."""
    if running is None:
        running = component_processes(component, proc_root)
    if running:
        return _running_flags(component, running, proc_root)
    text = _read(os.path.join(layout.manifests_dir, f"{component}.yaml"))
    if text:
        try:
            _ignored, flags = running_command(load_manifest(text))
            return {"source": "manifest", "flags": flags}
        except (ManifestError, ValueError):
            pass
    if component == ETCD and os.path.exists(etcd_env):
        return {"source": "env file", "flags": _etcd_env_flags(_read(etcd_env) or "")}
    if component == KUBELET:
        flags: Dict[str, Optional[str]] = {}
        for path in (layout.kubelet_env, layout.kubelet_service):
            text = _read(path) if path else None
            if text:
                flags.update(_env_file_flags(text))
        if flags or os.path.exists(layout.kubelet_config):
            return {"source": "env file", "flags": flags}
    return {"source": "absent", "flags": {}}


def _as_listening(observed: Dict[str, Any], listeners: Optional[List[Dict[str, Any]]], procs: Sequence[Proc]) -> Dict[str, Any]:
    """kube-proxy reads its file at start only: what its sockets show on the configured metrics port wins over
    the file (a pod started before its ConfigMap changed still serves the old address; a file changed since says
    an address the process does not serve). What it serves there (`serves`: its pids and the addresses) and what
    its file says (`configured`) are kept for the plan (kube_proxy_behind). procs: the kube-proxy processes
    `observed` was read from."""
    flags = observed.get("flags") or {}
    if observed.get("source") != "process" or listeners is None or UNREADABLE in flags or observed.get("disputed"):
        return observed
    configured = flags.get("metrics-bind-address")
    port = kube_proxy.port_of(configured)
    pids = {proc.pid for proc in procs}
    own = [entry for entry in listeners if str(entry.get("pid")) in pids and entry.get("port") == port]
    if port is None or not own:
        said = (f"its file says metricsBindAddress {configured}, but kube-proxy (pid {', '.join(sorted(pids))}) listens on no"
                " such port: it started before the file changed - roll its pods")
        return dict(observed, flags=dict(flags, **{UNREADABLE: said}))
    served = sorted({kube_proxy.with_port(entry["address"], port) for entry in own})
    serves = {"pids": sorted(pids), "addresses": served}
    wide = [address for address in served if not kube_proxy.is_loopback(address)]
    if wide:   # the socket's address, said as such (never read as loopback: it is not one)
        return dict(observed, flags=dict(flags, **{"metrics-bind-address": f"{wide[0]} (its socket; its file says {configured})"}),
                    serves=serves, configured=configured)
    if kube_proxy.is_loopback(configured):
        return dict(observed, serves=serves, configured=configured)
    # its file says beyond loopback, it serves on loopback only: what it serves is judged
    return dict(observed, flags=dict(flags, **{"metrics-bind-address": served[0]}), serves=serves, configured=configured)


def kube_proxy_behind(state: Mapping[str, Any], wanted: str) -> Optional[str]:
    """Why this node's kube-proxy must start again, though its ConfigMap may be right: it serves its metrics beyond
    loopback while loopback is wanted (kube_proxy_metrics_bind_address) and its file says loopback - it started
    from an older copy (it reads the file at start only; a kubelet may hand a new pod a stale copy of the ConfigMap
    right after the apiserver restarted), so starting it again fixes it. Not for a kube-proxy listening on no
    such port (another process may hold the port: rolling would not help, and anyone could make every run roll),
    nor for one whose file says beyond loopback (its ConfigMap's writer rolls for that). None: nothing to do."""
    seen = (state.get("components") or {}).get(KUBE_PROXY) or {}
    serves, configured = seen.get("serves"), seen.get("configured")
    if not serves or not kube_proxy.is_loopback(wanted) or not kube_proxy.is_loopback(configured):
        return None
    wide = [address for address in serves["addresses"] if not kube_proxy.is_loopback(address)]
    if not wide:
        return None
    return (f"kube-proxy (pid {', '.join(serves['pids'])}) serves its metrics on {wide[0]} though its file says {configured}:"
            " it started from an older copy")


def _encryption_config(path: Optional[str]) -> Optional[Any]:
    """The apiserver's encryption config as parsed YAML (None: no file; '(unreadable)' when it does not parse)."""
    text = _read(path) if path else None
    if not text:
        return None
    try:
        return load_yaml(text) or {}
    except yaml.YAMLError:
        return "(unreadable)"


def _encryption_providers(config: Optional[Any]) -> List[str]:
    """Provider names, in order, kube-apiserver encrypts secrets with (only entries that really cover
    secrets count: 'secret' or 'Secrets' do not, '*.' and '*.*' do)."""
    if config == "(unreadable)":
        return ["(unreadable)"]
    return checks.encryption_providers_for(config)


def _encryption_resources(config: Optional[Any]) -> List[str]:
    """Every resource name the encryption config lists, in order (for the report when none covers secrets)."""
    entries = config.get("resources") if isinstance(config, dict) else None
    return [str(name) for entry in entries if isinstance(entry, dict) and isinstance(entry.get("resources"), list)
            for name in entry["resources"]] if isinstance(entries, list) else []


def expectations(approved_ports: Optional[Mapping[str, Any]] = None, release_floor: Optional[Sequence[str]] = None,
                 stale_image_days: Optional[int] = None) -> Dict[str, Any]:
    """What your organisation approves that no node can tell (the STIG's PPSM, patch and old-component rules):
    approved_ports (kubeguard_approved_ports over Kubernetes' documented ports), release_floor (kubeguard_release_floor),
    stale_image_days (kubeguard_stale_image_days)."""
    return {"approved_ports": {**APPROVED_PORTS_DEFAULT, **dict(approved_ports or {})}, "release_floor": list(release_floor or []),
            "stale_image_days": stale_images.DEFAULT_DAYS if stale_image_days is None else int(stale_image_days)}


def observe(layout: Platform, proc_root: str = "/proc", journal_reader=None,
            checksums: Optional[Mapping[str, Any]] = None, audit_runner=None,
            expected: Optional[Mapping[str, Any]] = None, tool_runner=None) -> Dict[str, Any]:
    """Everything the checks read, from the node itself. checksums: integrity.expected's digests (the binaries
    are hashed only when some are given). audit_runner(argv) -> (rc, output): auditctl; tool_runner likewise for
    `kubectl version` (tests pass their own). expected: `expectations` (None: Kubernetes' documented ports)."""
    running: Dict[str, List[Proc]] = {}   # the components' processes, looked for once: their flags, kube-proxy's sockets
    if layout.components.get("units"):
        journal = journal_running_args(list(layout.components["units"].values()), run=journal_reader)
        components = {name: platform_component_flags(name, layout, journal) for name in FLAG_COMPONENTS}
        running = {"k3s": component_processes("k3s", proc_root)}
    else:
        running = {name: component_processes(name, proc_root) for name in FLAG_COMPONENTS}
        components = {name: component_flags(name, layout, proc_root, running=running[name]) for name in FLAG_COMPONENTS}
    kubelet_flags = components[KUBELET]["flags"]
    config_path = kubelet_flags.get("config") or layout.kubelet_config
    config_text = _read(config_path)
    try:
        kubelet_config = load_yaml(config_text) if config_text else None
    except yaml.YAMLError:
        kubelet_config = None
    # the kubelet merges its --config-dir drop-ins over --config: judge what it runs with
    dropins = []
    config_file = kubelet_config if isinstance(kubelet_config, dict) else None
    if kubelet_flags.get("config-dir"):
        try:
            dropins = load_dropins(str(kubelet_flags["config-dir"]))
        except (OSError, KubeletConfigError):
            dropins = []
        for _path, doc in dropins:
            kubelet_config = merge_dropin(kubelet_config if isinstance(kubelet_config, dict) else {}, doc)
    api_flags = components[APISERVER]["flags"]
    encryption = _encryption_config(api_flags.get("encryption-provider-config"))
    listeners = exposure.listeners(proc_root)
    told = exposure.mark_components(listeners, {name: [proc.pid for proc in procs] for name, procs in running.items()}, proc_root)
    components[KUBE_PROXY] = _as_listening(components[KUBE_PROXY], listeners, running.get(KUBE_PROXY, []))
    return {
        "layout": layout.as_dict(),
        "components": components,
        "kubelet_config_path": config_path,
        "kubelet_config_dropins": [path for path, _doc in dropins],
        "kubelet_config": kubelet_config if isinstance(kubelet_config, dict) else None,
        # what never-weaker needs to merge the drop-ins again over the config file a run writes
        "kubelet_config_layers": {"file": config_file, "dropins": [doc for _path, doc in dropins]} if dropins else None,
        "kubelet_unit": exposure.unit_files(layout.kubelet_service) if layout.kubelet_service else None,
        "encryption_providers": _encryption_providers(encryption),
        "encryption_resources": _encryption_resources(encryption),
        "etcd_data_dir": components[ETCD]["flags"].get("data-dir") or "/var/lib/etcd",
        "listeners": listeners,
        "listeners_told": told,   # the components whose listeners are known (process identified, sockets read)
        "integrity": _integrity(layout, checksums or {}, proc_root),
        "node_audit": node_audit.observe(layout.audit_rules, layout.as_dict(), run=audit_runner) if layout.audit_rules else None,
        "container_runtime": containerd.observe(layout.container_runtime) if layout.container_runtime else None,
        "services": services.observe(proc_root),
        "kubectl": release_support.kubectl(tool_runner or run_tool, BIN_DIRS, untrusted),
        "stale_images": stale_images.observe(layout.container_runtime, tool_runner or run_tool),
        # where each component's files are, as it opens them: its real process's root (one that agrees with any other)
        "process_roots": {name: {"root": os.path.join(proc_root, procs[0].pid, "root"), "pid": procs[0].pid}
                          for name, procs in running.items() if procs and agree(procs)},
        "expectations": dict(expected) if expected is not None else expectations(),
    }


def _integrity(layout: Platform, checksums: Mapping[str, Any], proc_root: str = "/proc") -> Dict[str, Any]:
    """Binary verdicts, and the static pods' images where digests are given (K.27)."""
    found = integrity.verify(checksums, proc_root=proc_root) if checksums else {}
    if checksums.get(integrity.IMAGES):
        socket = (layout.container_runtime or {}).get("socket", "/run/containerd/containerd.sock")
        images = integrity.verify_images(checksums[integrity.IMAGES], layout.manifests_dir, socket, run_tool)
        if images is not None:
            found[integrity.IMAGES] = images
    return found


def _owner_names(stat: os.stat_result) -> str:
    try:
        user = pwd.getpwuid(stat.st_uid).pw_name
    except KeyError:
        user = str(stat.st_uid)
    try:
        group = grp.getgrgid(stat.st_gid).gr_name
    except KeyError:
        group = str(stat.st_gid)
    return f"{user}:{group}"


def file_facts(pattern: Any, recurse: bool = False) -> List[Dict[str, Any]]:
    """Mode and owner of every path a file check names (globs, optionally everything below): the
    same paths the file_modes module tightens, each file once. A symlink is judged by its target (what
    its readers open) and shown as "link -> target"; a dangling one is shown with no mode (it fails)."""
    patterns = pattern if isinstance(pattern, list) else [pattern]
    found: List[Dict[str, Any]] = []
    seen = set()
    for one in patterns:
        for path in permissions.expand({"path": one, "recurse": recurse}):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            shown = f"{path} -> {real}" if os.path.islink(path) else path
            try:
                stat = os.stat(path)
            except OSError:
                found.append({"path": f"{path} -> {os.readlink(path)} (dangling)", "mode": None, "owner": None, "dir": False})
                continue
            found.append({"path": shown, "mode": stat.st_mode & 0o7777, "owner": _owner_names(stat),
                          "dir": os.path.isdir(path)})
    return found


def _facts_in_root(where: Mapping[str, str], paths: Sequence[str], component: str) -> List[Dict[str, Any]]:
    """file_facts of files as a process opens them: resolved inside its root (base/rooted), never beyond it."""
    found = []
    for path in paths:
        try:
            info = stat_in_root(where["root"], str(path))
        except RootedReadError:
            continue
        found.append({"path": f"{path} (as {component}, pid {where['pid']}, opens it)", "mode": info.st_mode & 0o7777,
                      "owner": _owner_names(info), "dir": stat_module.S_ISDIR(info.st_mode)})
    return found


# --- judging ------------------------------------------------------------------------------------

def section(control_id: str) -> str:
    return control_id.split(".", 1)[0]


def applies(control: Mapping[str, Any], roles: Sequence[str]) -> bool:
    """Is the control judged from this node's state (its section, or for section K its component,
    belongs to one of the node's roles; a rule's control: one of its parts)?"""
    if catalogue.is_rule(control):
        return any(part_applies(part, roles) for part in control["parts"])
    if section(str(control["id"])) == "K":
        return COMPONENT_ROLES.get(control.get("component")) in roles
    wanted = {s for role in roles for s in ROLE_SECTIONS.get(role, ())}
    return control.get("component") != "cluster" and section(str(control["id"])) in wanted


def part_applies(part: Mapping[str, Any], roles: Sequence[str]) -> bool:
    """A part of a rule (catalogue.rule_controls): a catalogue check where its control applies, an own check
    where its role (or its component's) is one of the node's, unless the node also has unless_role."""
    if part.get("unless_role") in roles:
        return False
    if part.get("cis"):
        return applies({"id": part["cis"], "component": part["component"]}, roles)
    return (part.get("role") or COMPONENT_ROLES.get(part["component"])) in roles


def role_of(control: Mapping[str, Any]) -> str:
    """Which kind of node a control is for, as a reader would say it."""
    if catalogue.is_rule(control):
        names = [role_of({"id": p["cis"], "component": p["component"]}) if p.get("cis")
                 else ROLE_NAMES.get(p.get("role") or COMPONENT_ROLES.get(p["component"], ""), "node of this kind")
                 for p in control["parts"]]
        return " or ".join(dict.fromkeys(names)) or "node of this kind"
    cid = str(control["id"])
    if section(cid) == "K":
        return ROLE_NAMES.get(COMPONENT_ROLES.get(control.get("component"), ""), "node of this kind")
    roles = [role for role, sections in ROLE_SECTIONS.items() if section(cid) in sections]
    return ROLE_NAMES[roles[0]] if roles else "node of this section"


_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def _native(value: Any, context: Mapping[str, Any]) -> Any:
    """Fill a check's '{{ expression }}' placeholders (the catalogue's expression language); a value
    that is one placeholder keeps its type."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value.strip())
        if whole:
            return expressions.evaluate(whole.group(1), context)
        return _PLACEHOLDER.sub(lambda m: str(expressions.evaluate(m.group(1), context)), value)
    if isinstance(value, list):
        return [_native(v, context) for v in value]
    if isinstance(value, dict):
        return {k: _native(v, context) for k, v in value.items()}
    return value


def _file_check(check: Mapping[str, Any], facts: List[Dict[str, Any]]) -> checks.Outcome:
    names = [str(n) for n in (check["file"] if isinstance(check["file"], list) else [check["file"]])]
    if not facts:
        if check.get("must_exist") or not any(names):
            # a rule about the file a component reads: not on this filesystem (a pod's own, or none named) is not judged
            shown = ", ".join(n for n in names if n) or "no file named by the component"
            return checks.Outcome(None, f"{shown}: not on this node's filesystem - not judged")
        return checks.Outcome(True, f"{', '.join(names)} does not exist")
    bad = []
    for fact in facts:
        if fact["mode"] is None:
            bad.append(f"{fact['path']}: nothing to judge")
            continue
        if "mode" in check and not fact["dir"]:
            ceiling = int(str(check["mode"]), 8)
            if fact["mode"] & ~ceiling:
                bad.append(f"{fact['path']} mode {fact['mode']:o}")
        if "owner" in check and fact["owner"] != check["owner"]:
            bad.append(f"{fact['path']} owner {fact['owner']}")
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        return checks.Outcome(False, shown)
    first = facts[0]
    summary = f"{first['path']} mode {first['mode']:o} owner {first['owner']}"
    return checks.Outcome(True, summary + (f" (+{len(facts) - 1} more)" if len(facts) > 1 else ""))


EXPOSURE_EXPECTED = {"kubectl_proxy": "no kubectl proxy listening beyond loopback",
                     "kubelet_read_only": "nothing listening on the kubelet's read-only port",
                     "etcd_insecure_clients": "https:// client URLs (http:// only on loopback)",
                     "every_interface": "no Kubernetes process on 0.0.0.0 / :: that should not be",
                     "kubelet_firewall": "IPAddressDeny=any on the kubelet's unit, no IPAddressAllow= entry wider than /8 (IPv6 /16)"}
NODE_AUDIT_EXPECTED = {"present": f"a rules file in {node_audit.RULES_DIR} watches each of the platform's Kubernetes paths (-p wa)",
                       "loaded": "the kernel watches each of them (auditctl -l)"}
RUNTIME_EXPECTED = {"listeners": "grpc.tcp_address empty, stream server and metrics on loopback (or off)",
                    "unprivileged": "enable_unprivileged_ports and enable_unprivileged_icmp false",
                    "socket": "the CRI socket root:root, nothing for others; its directory root's, others may not list or write it",
                    "seccomp": "Seccomp in the kernel and in runc (runc features)"}


def expected_text(check: Mapping[str, Any]) -> str:
    """What a check wants, as a reader would say it."""
    if "all" in check or "any" in check:
        joiner = " and " if "all" in check else " or "
        return joiner.join(expected_text(part) for part in (check.get("all") or check.get("any")))
    if "file" in check:
        wants = []
        if "mode" in check:
            wants.append(f"mode {check['mode']} or stricter")
        if "owner" in check:
            wants.append(f"owner {check['owner']}")
        names = check["file"] if isinstance(check["file"], list) else [check["file"]]
        return f"{', '.join(names)}: " + ", ".join(wants)
    if "exposure" in check:
        return EXPOSURE_EXPECTED.get(check["exposure"], check["exposure"])
    if "integrity" in check:
        if check["integrity"] == integrity.IMAGES:
            return "each static pod image's digest equal to the one given in kubeguard_image_digests"
        return f"{check['integrity']}'s digest equal to a given checksum"
    if "node_audit" in check:
        return NODE_AUDIT_EXPECTED[check["node_audit"]]
    if "container_runtime" in check:
        return RUNTIME_EXPECTED[check["container_runtime"]]
    if "service" in check:
        return f"{check['service']} {'not running' if check['op'] == 'not_running' else 'not enabled at boot'}"
    if "listeners" in check:
        return f"{check['listeners']} beyond loopback only on the ports kubeguard_approved_ports approves"
    if "images" in check:
        return "no image that no container uses on the node longer than kubeguard_stale_image_days"
    if "release" in check:
        if check.get("at_least"):
            return f"{check['release']} at {check['at_least']} or newer"
        return f"{check['release']} on a minor upstream supports, at or above kubeguard_release_floor"
    if "encryption_providers" in check:
        return f"first provider one of {check['encryption_providers']}"
    label = check.get(KUBELET) or f"--{check.get('flag')}"
    op = check.get("op")
    if op == "loopback":
        return f"{label} on a loopback address (127.0.0.0/8 or ::1)"
    if op in ("set", "unset"):
        return f"{label} {'set' if op == 'set' else 'not set'}"
    if op == "nonempty":
        return f"{label} set to a non-empty value"
    if op == "gate_off":
        return f"{label} does not turn {check.get('value')} on"
    if op == "gt":
        return f"{label} greater than {checks._text(check.get('value'))}"
    return f"{label} {op} {checks._text(check.get('value'))}"


def rendered_check(control: Mapping[str, Any], state: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    """The control's check with this node's paths and the CIS cipher lists filled in."""
    check = control.get("check")
    if not check:
        return None
    proxy_flags = ((state.get("components") or {}).get(KUBE_PROXY) or {}).get("flags") or {}
    context = {"layout": state["layout"], "etcd_data_dir": state["etcd_data_dir"],
               "tls": catalogue.expression_context_tls(), KUBELET: {"client_ca_file": _kubelet_client_ca(state)},
               # the kubeconfig kube-proxy runs with ('' when its flags cannot be told: not judged)
               "kube_proxy": {"kubeconfig": "" if UNREADABLE in proxy_flags else str(proxy_flags.get("kubeconfig") or "")}}
    return _native(check, context)


def _kubelet_client_ca(state: Mapping[str, Any]) -> str:
    """The CA file the running kubelet authenticates clients with (its flag wins over its config), '' when none."""
    view = {"flags": ((state.get("components") or {}).get(KUBELET) or {}).get("flags") or {}, "config": state.get("kubelet_config") or {}}
    return checks.kubelet_value({KUBELET: "authentication.x509.clientCAFile", "flag": "client-ca-file"}, view) or ""


def judge_control(control: Mapping[str, Any], state: Mapping[str, Any],
                  file_reader=file_facts) -> Optional[checks.Outcome]:
    """Outcome of a control's check against the observed state (None when it has no check)."""
    check = rendered_check(control, state)
    return None if check is None else _evaluate(check, control["component"], state, file_reader)


def _evaluate(check: Mapping[str, Any], component: str, state: Mapping[str, Any], file_reader) -> Optional[checks.Outcome]:
    component = check.get("component", component)   # a rule's parts each name their component
    if "all" in check or "any" in check:
        parts = [_evaluate(part, component, state, file_reader) or checks.Outcome(None, "not judged")
                 for part in (check.get("all") or check.get("any"))]
        return checks.Outcome(_combine("all" in check, [p.passed for p in parts]), "; ".join(dict.fromkeys(p.found for p in parts)))
    if "file" in check:
        named = [n for n in check["file"] if n] if isinstance(check["file"], list) else check["file"]
        where = (state.get("process_roots") or {}).get(check.get("in_process") or "")
        if where and named:   # the file as the component opens it, inside its own root (a pod's ConfigMap)
            return _file_check(check, _facts_in_root(where, named if isinstance(named, list) else [named], check["in_process"]))
        return _file_check(check, file_reader(named, bool(check.get("recurse"))) if named else [])
    if "exposure" in check:
        if check["exposure"] == "etcd_insecure_clients":   # reads etcd's --listen-client-urls
            disputed = _disputed({"flag": "listen-client-urls"}, ETCD, (state.get("components") or {}).get(ETCD) or {})
            if disputed:
                return checks.Outcome(None, disputed)
        return exposure.evaluate(check["exposure"], state)
    if "integrity" in check:   # no checksum given for the binary: not judged (manual, the remediation says how)
        verdict = (state.get("integrity") or {}).get(check["integrity"])
        return None if verdict is None else checks.Outcome(verdict["passed"], verdict["found"])
    if "node_audit" in check:
        return node_audit.evaluate(check["node_audit"], state)
    if "container_runtime" in check:
        return containerd.evaluate(check["container_runtime"], state)
    if "service" in check:
        return services.evaluate(check, state)
    if "listeners" in check:
        name = check["listeners"]
        k3s = catalogue.one_process_serves_all(state.get("layout"))
        if state.get("listeners") is None:
            return checks.Outcome(None, "listening sockets could not be read on this node")
        source = ((state.get("components") or {}).get(name) or {}).get("source", "absent")
        return exposure.approved_listeners(state["listeners"], name, (state.get("expectations") or {}).get("approved_ports") or {},
                                           source, k3s, state.get("listeners_told") or [])
    if "release" in check:
        return release_support.evaluate(check, state)
    if "images" in check:
        return stale_images.evaluate(state)
    observed = state["components"].get(component) or {"source": "absent", "flags": {}}
    if observed["source"] == "absent" and component == KUBE_PROXY:
        # No kube-proxy here (a CNI replaces it, or it is not deployed): nothing serves its metrics.
        return checks.Outcome(True, "kube-proxy does not run on this node")
    if observed["source"] == "absent" and "encryption_providers" not in check:
        return checks.Outcome(False, f"{component} not found (no process, manifest or unit)")
    disputed = _disputed(check, component, observed)
    if disputed:
        return checks.Outcome(None, disputed)
    if UNREADABLE in (observed.get("flags") or {}):
        return checks.Outcome(None, f"{component}: {observed['flags'][UNREADABLE]}; not judged")
    if KUBELET in check:
        view = {"flags": observed["flags"], "config": state.get("kubelet_config") or {}}
    else:
        view = {"flags": observed["flags"], "encryption_providers": state.get("encryption_providers"),
                "encryption_resources": state.get("encryption_resources")}
    return checks.evaluate(check, view)


def _combine(every: bool, passed: Sequence[Optional[bool]]) -> Optional[bool]:
    """all / any over outcomes where None is "not judged": decided only when the judged parts decide it."""
    decisive = False if every else True
    if decisive in passed:
        return decisive
    return None if None in passed else not decisive


def _disputed(check: Mapping[str, Any], component: str, observed: Mapping[str, Any]) -> Optional[str]:
    """Why a check is not judged: it reads a flag on which the processes that are the component disagree
    (component_flags' 'disputed'); a flag set since (never_weaker's overlay) is decided again. None: judge it."""
    disputed = observed.get("disputed") or {}
    flags = observed.get("flags") or {}
    if not disputed:
        return None

    def still(key: Optional[str]) -> bool:
        return bool(key) and key in disputed and key not in flags

    if "encryption_providers" in check:
        reads = ["encryption-provider-config"]
    elif KUBELET in check:
        # a flag wins over the config file; without it, the file --config (and --config-dir) names decides
        flag = check.get("flag")
        reads = [flag] if still(flag) or flag in flags else ["config", "config-dir"]
    else:
        reads = [check.get("flag")]
    keys = [key for key in reads if still(key)]
    if not keys:
        return None
    pids = [str(pid) for pid in observed.get("pids") or []]
    seen = ", ".join(f"--{key}={disputed[key][pid]} in pid {pid}" if pid in disputed[key] else f"--{key} not set in pid {pid}"
                     for key in keys for pid in pids)
    return (f"{len(pids)} processes are {component} (pids {', '.join(pids)}) and disagree: {seen}; not judged from"
            f" any of them - find out which one is the real {component} and stop the others")


def audit(state: Mapping[str, Any], roles: Sequence[str], waivers: Optional[Mapping[str, Any]] = None,
          controls: Optional[Sequence[Mapping[str, Any]]] = None, file_reader=file_facts,
          today: Optional[datetime.date] = None) -> List[Dict[str, Any]]:
    """One result per control of the benchmark: judged where it applies to a node with these roles,
    manual for cluster-scope controls, not_applicable (saying why) for another role's controls. A waiver
    (waivers.parse: a reason or a record) waives until it expires; past it, the control is judged as if it had
    none and its result says so (`waiver_expired`)."""
    # the day the run judges by: the controller's (node_report puts it in the state), never a node's own clock
    today = today or (datetime.date.fromisoformat(state["today"]) if state.get("today") else None) or waivers_model.today_utc()
    parsed = waivers_model.parse(waivers)
    expired = {cid: w for cid, w in parsed.items() if w.expired(today)}
    active = {cid: w for cid, w in parsed.items() if cid not in expired}
    waivers = {cid: w.text() for cid, w in active.items()}
    platform_exempt = dict((state.get("layout") or {}).get("not_applicable") or {})
    results = []
    for control in controls if controls is not None else catalogue.controls():
        if catalogue.is_rule(control):
            results.append(_judge_rule(control, state, roles, active, expired, platform_exempt, file_reader))
            continue
        cid = str(control["id"])
        component = control["component"]
        automated = bool(control.get("automated"))
        judged = applies(control, roles) and cid not in platform_exempt
        outcome = judge_control(control, state, file_reader) if judged else None
        if cid in platform_exempt:
            status, found = "not_applicable", platform_exempt[cid]
        elif component == "cluster":
            status, found = ("waived" if cid in waivers else "manual"), CLUSTER_SCOPE_FOUND
        elif not judged:
            status = "not_applicable"
            found = f"{_not_a(role_of(control))} (roles: {', '.join(roles) or 'none'})"
        elif cid in waivers:
            status, found = "waived", outcome.found if outcome else None
        elif not automated or outcome is None or outcome.passed is None:
            status, found = "manual", outcome.found if outcome else None
        else:
            status, found = ("pass" if outcome.passed else "fail"), outcome.found
        results.append(_result(control, state, status, found, outcome, judged, waivers.get(cid),
                               active.get(cid), expired.get(cid)))
    return results


def _result(control: Mapping[str, Any], state: Mapping[str, Any], status: str, found: Optional[str],
            outcome: Optional[checks.Outcome], judged: bool, waiver: Optional[str],
            record: Optional[waivers_model.Waiver], gone: Optional[waivers_model.Waiver]) -> Dict[str, Any]:
    cid = str(control["id"])
    component = control["component"]
    return {
        "id": cid, "section": control.get("section") or section(cid), "title": control["title"], "level": control.get("level", 1),
        "automated": bool(control.get("automated")), "component": component, "status": status,
        "found": found,
        "check_passed": outcome.passed if outcome else None,
        "expected": expected_text(rendered_check(control, state)) if control.get("check") and judged else None,
        "source": (state["components"].get(component) or {}).get("source") if component in FLAG_COMPONENTS else "files",
        "remediation": control.get("remediation"),
        "waiver": waiver,
        "waiver_record": record.as_dict() if record else None,
        "waiver_expired": gone.as_dict() if gone else None,
        "locations": _locations(rendered_check(control, state), component, state) if control.get("check") and judged else [],
    }


# a static pod's manifest is where kubeadm and kubespray configure these (etcd: when not on the host)
STATIC_POD_COMPONENTS = component_registry.CONTROL_PLANE + (ETCD,)


def _locations(check: Optional[Mapping[str, Any]], component: str, state: Mapping[str, Any]) -> List[Dict[str, str]]:
    """Where what a check reads is set: files, and flags or kubelet fields with the file that sets them when it
    is known (a static pod's manifest, the kubelet's config file). The evidence formats point at these."""
    if not check:
        return []
    component = check.get("component", component)
    if "all" in check or "any" in check:
        found = [loc for part in (check.get("all") or check.get("any")) for loc in _locations(part, component, state)]
        return [dict(t) for t in dict.fromkeys(tuple(sorted(loc.items())) for loc in found)]
    if "file" in check:
        return [{"file": str(name)} for name in (check["file"] if isinstance(check["file"], list) else [check["file"]])]
    layout = state.get("layout") or {}
    source = ((state.get("components") or {}).get(component) or {}).get("source")
    manifest = (f"{layout.get('manifests_dir')}/{component}.yaml" if component in STATIC_POD_COMPONENTS
                and source in ("manifest", "process") and (layout.get("components") or {}).get("kind", "static_pods") == "static_pods" else None)
    found = []
    if KUBELET in check:
        found.append({"component": component, "field": str(check[KUBELET]), "file": str(state.get("kubelet_config_path") or "")})
    if "flag" in check:
        found.append({"component": component, "flag": f"--{check['flag']}", **({"file": manifest} if manifest else {})})
    if not found:
        kind = next((key for key in ("exposure", "integrity", "node_audit", "container_runtime", "service", "listeners", "release",
                                     "images", "encryption_providers") if key in check), "check")
        found.append({"component": component, "check": f"{kind}: {check.get(kind, '')}".strip()})
    return [{k: v for k, v in loc.items() if v} for loc in found]


def _judge_rule(control: Mapping[str, Any], state: Mapping[str, Any], roles: Sequence[str],
                active: Mapping[str, waivers_model.Waiver], expired: Mapping[str, waivers_model.Waiver],
                platform_exempt: Mapping[str, str], file_reader) -> Dict[str, Any]:
    """A benchmark rule (catalogue.rule_controls): its parts that apply to this node's roles, less those of a
    catalogue check the platform exempts or a waiver covers (the rule is then waived only if the rest passes),
    judged together; manual and cluster rules report what decides them."""
    cid = str(control["id"])
    layout_name = str((state.get("layout") or {}).get("name") or "")
    exempt = catalogue.rule_exemption(control.get("not_applicable"), control.get("cis") or [],
                                      any(not p.get("cis") for p in control["parts"]), layout_name, platform_exempt)
    parts = [part for part in control["parts"] if part_applies(part, roles)]
    kept, notes, waived_parts, expired_parts = [], [], {}, {}
    for part in parts:
        cis = part.get("cis")
        if cis and cis in platform_exempt:
            notes.append(f"CIS {cis} does not apply on {layout_name}: {platform_exempt[cis]}")
        elif cis and cis in active:
            waived_parts[cis] = active[cis]
        else:
            if cis and cis in expired:
                expired_parts[cis] = expired[cis]
            kept.append(part)
    effective = {**control, "check": {"all": [dict(part["check"], component=part["component"]) for part in kept]} if kept else None}
    judged = bool(kept) and not exempt
    outcome = judge_control(effective, state, file_reader) if judged else None
    said = [text for text in (outcome.found if outcome else None, *notes) if text]
    manual = control.get("manual")
    own = active.get(cid)
    if own:
        waiver = own.text()
    elif waived_parts:
        waiver = "; ".join(f"CIS {cis}: {w.text()}" for cis, w in waived_parts.items())
    else:
        waiver = None
    if exempt:
        status, found = "not_applicable", str(exempt)
    elif control["component"] == "cluster":
        status, found = ("waived" if own else "manual"), f"cluster scope: {manual}"
    elif control["parts"] and not parts:
        status, found = "not_applicable", f"{_not_a(role_of(control))} (roles: {', '.join(roles) or 'none'})"
        unless = [ROLE_NAMES.get(p["unless_role"], p["unless_role"]) for p in control["parts"] if p.get("unless_role") in roles]
        if unless:
            found = f"not judged on a {unless[0]}: the rule is for the other nodes (roles: {', '.join(roles)})"
    elif own:
        status, found = "waived", "; ".join(said) or None
    elif manual:
        status, found = "manual", "; ".join([*said, f"decided by: {manual}"])
    elif not kept:
        status, found = ("waived" if waived_parts else "not_applicable"), "; ".join(said) or None
    elif outcome is None or outcome.passed is None:
        status, found = "manual", "; ".join(said) or None
    elif outcome.passed and control.get("cluster"):
        # a rule with a side in the API (V-242442): this node passing is half of it - the cluster report has the rest
        status, found = "manual", f"this node's side passes ({'; '.join(said)}); the rest: {control['cluster']}"
    elif outcome.passed:
        status, found = ("waived" if waived_parts else "pass"), "; ".join(said)
    else:
        status, found = "fail", "; ".join(said)
    record = own or next(iter(waived_parts.values()), None)
    gone = expired.get(cid) or next(iter(expired_parts.values()), None)
    result = _result(effective, state, status, found, outcome, judged, waiver if status == "waived" else None, record, gone)
    # every waiver the rule's verdict rests on, and every one that expired (the evidence formats show them all)
    records = {cid: own} if own else {f"CIS {c}": w for c, w in waived_parts.items()}
    result["waiver_records"] = {k: w.as_dict() for k, w in records.items()} if status == "waived" else {}
    lapsed = {**({cid: expired[cid]} if cid in expired else {}), **{f"CIS {c}": w for c, w in expired_parts.items()}}
    result["waivers_expired"] = {k: w.as_dict() for k, w in lapsed.items()}
    return result


def summarize(results: Sequence[Mapping[str, Any]]) -> Dict[str, Dict[str, int]]:
    """Counts per section and in total: {'1': {'pass': n, ...}, 'total': {...}}."""
    summary: Dict[str, Dict[str, int]] = {}
    for result in results:
        for key in (result["section"], "total"):
            bucket = summary.setdefault(key, {s: 0 for s in STATUSES})
            bucket[result["status"]] += 1
    return summary


def check_waivers(waivers: Mapping[str, Any], controls: Sequence[Mapping[str, Any]], benchmark: str) -> Dict[str, waivers_model.Waiver]:
    """Waivers name real controls and are a reason or a complete record (ValueError naming the variable,
    the entry and what is allowed otherwise: waivers.parse); returned parsed (audit takes them as they are)."""
    known = {str(c["id"]) for c in controls}
    unknown = sorted(str(k) for k in waivers if str(k) not in known)
    if unknown:
        raise ValueError(f"verify_waivers: {unknown} are not control ids of {benchmark} or of the catalogue's checks")
    return waivers_model.parse(waivers)


def node_report(state: Mapping[str, Any], roles: Sequence[str], waivers: Mapping[str, Any],
                catalogue_data: Mapping[str, Any], node_name: str, layout_name: str,
                kubernetes: Optional[Mapping[str, Any]] = None, benchmark: str = "auto", today: Optional[str] = None) -> Dict[str, Any]:
    """The node's CIS report from its observed state: the roles it has (etcd and worker also when it
    runs them), every control judged or said why not. kubernetes: the release it was judged at
    (reports.kubernetes_field), the report's `kubernetes` field. benchmark: kubeguard_benchmark (auto: the
    benchmark of that release, catalogue.choose_benchmark). today: the controller's day (YYYY-MM-DD) that waivers
    expire and releases end by; None: this machine's (UTC)."""

    unknown_roles = sorted(set(roles) - set(ROLE_SECTIONS))
    if unknown_roles:
        raise ValueError(f"roles: {unknown_roles} must be among: {', '.join(ROLE_SECTIONS)}")
    base_support = catalogue_data.get("kubernetes_support") or {}
    if catalogue_data.get("benchmarks"):
        # waivers come keyed by the catalogue's ids (the plan's) or the benchmark's (the user's, as reports show them)
        base = catalogue_data
        catalogue_data = catalogue.benchmark_view(base, benchmark, (kubernetes or {}).get("version"))
        # The one check on this path: a waiver it lets through names a catalogue id (translated below to the
        # benchmark's id of that control, or dropped when the benchmark has none) or one of the benchmark's own ids
        # (kept as it is), so every waiver left names a control of the benchmark, with its reason.
        parsed = check_waivers(waivers, list(base.get("controls") or []) + catalogue_data["controls"], catalogue_data["benchmark"])
        if catalogue_data.get("kind") != "rules":
            ids = catalogue_data["ids"]
            parsed = {ids.get(cid, cid): waiver for cid, waiver in parsed.items() if ids.get(cid, cid) is not None}
        # (a rule's waivers stay as given: one of a catalogue check waives that part of each rule it is in)
    else:
        parsed = check_waivers(waivers, catalogue_data.get("controls") or [], catalogue_data.get("benchmark", "unknown"))
    controls = catalogue_data.get("controls") or []
    benchmark = catalogue_data.get("benchmark", "unknown")
    chosen = {"benchmark_title": catalogue_data.get("title"), "benchmark_choice": catalogue_data.get("why")}
    roles = list(dict.fromkeys(roles))
    if state["components"][ETCD]["source"] != "absent" and component_registry.ETCD_ROLE not in roles:
        roles.append(component_registry.ETCD_ROLE)
    if state["components"][KUBELET]["source"] != "absent" and component_registry.WORKER_ROLE not in roles:
        roles.append(component_registry.WORKER_ROLE)
    # what the release rules read beside the node's state: the release it runs, and upstream's support of each minor
    state = {**state, "kubernetes": dict(kubernetes or {}), "kubernetes_support": dict(base_support), **({"today": today} if today else {})}
    results = audit(state, roles, parsed, controls=controls)
    return reports.build(
        node=node_name, benchmark=benchmark, roles=roles, layout=layout_name,
        sources={name: c["source"] for name, c in state["components"].items()},
        results=results, summary=summarize(results),
        generated_at=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), kubernetes=kubernetes,
        **chosen)


def controller_day(text: Any) -> str:
    """The `today` option as a day (YYYY-MM-DD); ValueError naming it otherwise."""
    try:
        return datetime.date.fromisoformat(str(text)).isoformat()
    except ValueError:
        raise ValueError(f"today: {str(text)[:40]!r} is not a day (YYYY-MM-DD)") from None


def node_reports(state: Mapping[str, Any], roles: Sequence[str], waivers: Mapping[str, Any], catalogue_data: Mapping[str, Any],
                 node_name: str, layout_name: str, kubernetes: Optional[Mapping[str, Any]] = None,
                 benchmarks: Sequence[str] = ("auto",), today: Optional[str] = None) -> List[Dict[str, Any]]:
    """node_report by each benchmark (kubeguard_benchmark as a list), the main one first; a benchmark that `auto`
    already chose is judged once. A waiver names a control of any of them (or a catalogue check): each report takes
    the ones it knows; one that none knows is refused."""
    benchmarks = list(benchmarks or ("auto",))
    own: Dict[str, Dict[str, Any]] = {}
    if len(benchmarks) > 1 and catalogue_data.get("benchmarks"):
        version = (kubernetes or {}).get("version")
        checks_ids = {str(c["id"]) for c in catalogue_data.get("controls") or []}
        views = {name: catalogue.benchmark_view(catalogue_data, name, version) for name in benchmarks}
        known = {name: checks_ids | {str(c["id"]) for c in view["controls"]} for name, view in views.items()}
        unknown = sorted(str(k) for k in waivers if not any(str(k) in ids for ids in known.values()))
        if unknown:
            named = ", ".join(dict.fromkeys(view["benchmark"] for view in views.values()))
            raise ValueError(f"verify_waivers: {unknown} are not control ids of {named} or of the catalogue's checks")
        own = {name: {k: v for k, v in waivers.items() if str(k) in known[name]} for name in benchmarks}
    found: List[Dict[str, Any]] = []
    for benchmark in benchmarks:
        report = node_report(state, roles, own.get(benchmark, waivers), catalogue_data, node_name, layout_name,
                             kubernetes=kubernetes, benchmark=benchmark, today=today)
        if all(other.get("benchmark") != report.get("benchmark") for other in found):
            found.append(report)
    return found
