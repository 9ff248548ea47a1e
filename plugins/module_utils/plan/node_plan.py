"""Evaluate a node's hardening operations (node_operations.operations) without writing: what each
writer module would change, with the same functions those modules use. Runs on the node."""

from __future__ import annotations

import hashlib
import ipaddress
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..base import releases
from ..base.component_names import KUBELET
from . import desired, never_weaker, node_operations, writers
from ..platform import component_registry
from ..catalogue import catalogue, checks
from ..formats import k3s_config, k3s_effective, kube_proxy
from ..observe import containerd, health
from ..report import audit, reports
from ..report import waivers as waivers_model
from .desired import encryption_config
from ..formats.fileops import read_text as _read
from ..model.hardening_vars import DEFAULT_KUBE_VERSION, VARIABLES_BY_NAME, HardeningVarsError, at_version, benchmarks_of, overridden
from ..formats.kubelet_config import KubeletConfigError, dropin_overrides, load_dropins
from ..formats.manifest import ManifestError, load_manifest, load_yaml, running_command
from ..observe.exposure import too_wide
from ..observe.node_facts import kube_version, kubeconfig_servers, own_addresses, read_sysctl
from ..base.yaml_support import error_summary, yaml


def _mode_change(path: str, mode: Any) -> List[str]:
    if mode is None:
        return []
    wanted = int(str(mode), 8)
    current = os.stat(path).st_mode & 0o7777
    return [f"{path}: mode {current:04o} -> {wanted:04o}"] if current != wanted else []


def encryption_state(args: Mapping[str, Any]) -> Tuple[List[str], Optional[Dict[str, Any]], Optional[str]]:
    """(changes, parsed config when it is already what the run would write, fingerprint of the file)."""

    text = _read(args["path"])
    if text is None:
        return [f"{args['path']}: created"], None, None
    fingerprint = hashlib.sha256(text.encode()).hexdigest()
    try:
        existing = load_yaml(text)
    except yaml.YAMLError as exc:       # the line, never its text: it may hold a key
        raise ValueError(f"{args['path']}: not valid YAML: {error_summary(exc)}") from None
    # With a key for the algorithm on the node the run keeps it; without one it would generate one.
    wanted = encryption_config(existing, args["algorithm"], list(args["resources"]), lambda n: b"\0" * n)
    changes = [] if wanted == existing else [f"{args['path']}: providers or resources differ (keys not shown)"]
    changes += _mode_change(args["path"], "0600")   # its owner is file_permissions' (root:root)
    return changes, (existing if not changes else None), fingerprint


def evaluate(operations: Mapping[str, Mapping[str, Any]]) -> Tuple[Dict[str, List[str]], Optional[str]]:
    """({component: [changes]}, encryption config fingerprint). Each kind is planned by its row of
    writers.WRITERS, the encryption config first (its state feeds the static pod's config-hash)."""

    changes: Dict[str, List[str]] = {}
    fingerprint = None
    for component, ops in operations.items():
        found: List[str] = []
        encryption = None
        if "encryption" in ops:
            enc_changes, encryption, fingerprint = encryption_state(ops["encryption"])
            found += enc_changes
        for kind, args in ops.items():
            if kind in writers.APART:
                continue
            writer = writers.WRITERS.get(kind)
            if writer is None:
                raise ValueError(f"unknown operation {kind!r} for {component}")
            found += writer.plan(args, writers.Context(ops, tuple(found), encryption))
        changes[component] = found
    return changes, fingerprint


def _first_executable(name: str) -> Optional[str]:
    return next((os.path.join(d, name) for d in ("/usr/sbin", "/sbin", "/usr/bin", "/bin")
                 if os.access(os.path.join(d, name), os.X_OK)), None)


def _iptables_problem(run_command) -> Optional[str]:
    """Why the metrics firewall cannot be loaded here (None: iptables answers).

    Asked the way the firewall's unit will run: as a systemd service, with the capabilities the service
    manager has. A session (an nsenter or privileged shell) may have more than the services it starts,
    and then iptables would answer here and fail in the unit. The probe is a transient service removed
    when it ends (--collect): nothing is written to the node's configuration, also under --check.
    """
    binary = _first_executable("iptables")
    if binary is None:
        return "no iptables"
    probe = [binary, "-t", "mangle", "-S", "INPUT"]   # the table the firewall's chain hangs off
    systemd_run = _first_executable("systemd-run")
    if systemd_run and os.path.isdir("/run/systemd/system"):   # systemd is the service manager here
        probe = [systemd_run, "--wait", "--pipe", "--quiet", "--collect", "--unit", f"kubeguard-iptables-probe-{os.getpid()}",
                 "--description", "kubeguard.hardening: can a service use iptables here"] + probe
    rc, _ignored, err = run_command(probe)
    return None if rc == 0 else (err.strip().splitlines() or [f"exit code {rc}"])[-1][:200]


def opted_out(values: Mapping[str, Any]) -> Dict[str, str]:
    """Controls of section K the user's own variables turn off or weaken: waived, naming them."""
    waived: Dict[str, str] = {}
    if not values["kubeguard_node_audit_rules"]:
        waived.update(dict.fromkeys(("K.21", "K.22"), "kubeguard_node_audit_rules: false (no audit rules written or loaded by this run)"))
    if not values["kubeguard_container_runtime_hardening"]:
        waived.update(dict.fromkeys(("K.23", "K.24", "K.25"), "kubeguard_container_runtime_hardening: false (containerd's config left as it is)"))
        return waived
    unprivileged = [name for name in ("containerd_enable_unprivileged_ports", "containerd_enable_unprivileged_icmp") if values[name]]
    if unprivileged:
        waived["K.24"] = "your variables " + ", ".join(f"{name}=true" for name in unprivileged)
    if values["containerd_metrics_address"] and not containerd.is_loopback(values["containerd_metrics_address"]):
        waived["K.23"] = f"your variable containerd_metrics_address={values['containerd_metrics_address']} (unauthenticated metrics)"
    return waived


def _k3s_setting(layout: Any, option: str, flag: Optional[str]) -> Optional[Tuple[str, str]]:
    """(component, setting key) a config.yaml option (and flag in it) stands for, as
    kubeguard_allow_override names it; None for what no setting decides."""
    spec = layout.components
    if flag is not None:
        component = {key: name for name, key in spec["arg_lists"].items()}.get(option)
        if component == KUBELET:
            fields = {flag_name: name for name, flag_name in catalogue.load()["kubelet_flags"].items()}
            return component, fields.get(flag, flag)
        return (component, flag) if component else None
    for setting, top_option in (spec.get("top_level") or {}).items():
        if top_option == option:
            return tuple(setting.split(".", 1))   # type: ignore[return-value]
    setting = ((spec.get("server_options") or {}).get(option) or {}).get("setting")
    return tuple(setting.split(".", 1)) if setting else None   # type: ignore[return-value]


def refuse_or_waive(found: List[Tuple[Optional[Tuple[str, str]], str]], values: Mapping[str, Any],
                    plan: Dict[str, Any], intro: str, advice: str) -> List[Tuple[str, str]]:
    """found: (setting as (component, key) or None, what undoes it). A setting kubeguard_allow_override
    names is waived (its controls, the summary); the rest raise ValueError before any change, each with
    the way to keep it deliberately. Returns the waived settings."""

    refused, waived = [], []
    for setting, described in found:
        reason = overridden(values, *setting) if setting else None
        if not reason:
            allow = f"; to keep it deliberately: kubeguard_allow_override: {{{setting[0]}.{setting[1]}: <your reason>}}" if setting else ""
            refused.append(described + allow)
            continue
        why = f"{described} (kubeguard_allow_override: {reason})"
        plan["summary"].append(f"waived: {why}")
        controls = [cid for row in catalogue.settings() if (row.component, row.key) == setting for cid in row.controls]
        # a flag no catalogue setting writes (k3s' kube-proxy-arg): the controls whose check reads it
        controls = controls or [str(c["id"]) for c in catalogue.controls() if c["component"] == setting[0] and c.get("check")
                                and setting[1] in [leaf.get("flag") for leaf in checks.leaves(c["check"])]]
        plan["waived"].update(dict.fromkeys(controls, why))
        waived.append(setting)
    if refused:
        raise ValueError(f"{intro}: " + "; ".join(refused) + f". {advice}")
    return waived


def k3s_overrides(ops: Dict[str, Any], layout: Any, values: Mapping[str, Any], node: Mapping[str, Any],
                  plan: Dict[str, Any]) -> None:
    """Refuse a k3s node whose config.yaml.d drop-ins or unit command line undo what this run puts in
    config.yaml (k3s reads them after it), unless kubeguard_allow_override names the setting: then
    it is waived (reports, summary) and the restart gate no longer expects our value. Raises
    ValueError naming every drop-in, option and value."""

    k3s = ops["k3s"]
    config = k3s["k3s_config"]
    role = "server" if node.get("control_plane") else "agent"
    after = k3s_config.plan(config["path"], config.get("lists") or {}, config.get("top") or {}, None)["after"]
    try:
        found = k3s_effective.overrides(
            k3s_effective.sources(config["path"], after, (layout.components.get("unit_files") or {}).get(role)),
            config.get("lists") or {}, config.get("top") or {})
    except k3s_config.K3sConfigError as exc:
        raise ValueError(str(exc)) from None
    settings = {item: _k3s_setting(layout, item.option, item.flag) for item in found}
    waived = refuse_or_waive([(settings[item], item.describe()) for item in found], values, plan,
                             f"k3s reads more than {config['path']}, and it undoes this run's hardening",
                             "Remove those values (or append with `<option>+:` and the hardened value), then run again")
    for item in found:
        setting = settings[item]
        if setting not in waived:
            continue
        expected = k3s["service"]["components"].get(setting[0]) or {}
        flag = item.flag or (catalogue.load()["kubelet_flags"].get(setting[1], setting[1]) if setting[0] == KUBELET else setting[1])
        expected.pop(flag, None)


def kubelet_dropin_overrides(ops: Mapping[str, Any], state: Mapping[str, Any], values: Mapping[str, Any],
                             plan: Dict[str, Any]) -> None:
    """Refuse (or waive) a node whose kubelet reads a --config-dir drop-in that sets one of the fields this
    run writes into its config file to another value: the drop-in would win, silently."""

    directory = ((state.get("components") or {}).get(KUBELET) or {}).get("flags", {}).get("config-dir")
    fields = ((ops.get(KUBELET) or {}).get("kubelet_config") or {}).get("fields")
    if not directory or not fields:
        return
    try:
        found = dropin_overrides(fields, load_dropins(str(directory)))
    except (OSError, KubeletConfigError) as exc:
        raise ValueError(f"the kubelet's --config-dir {directory}: {exc}") from None
    refuse_or_waive(   # a featureGates.<gate> leaf belongs to the featureGates setting
        [((KUBELET, path if path in fields else path.rsplit(".", 1)[0]),
          f"{name} sets {path}: {got!r} (this run sets {'nothing' if ours is None else repr(ours)})")
         for path, name, got, ours in found], values, plan,
        f"the kubelet merges {directory} over the config file this run writes, and it undoes its hardening",
        "Remove those fields from the drop-ins (or give them the hardened value), then run again")


def _same_release(given: str, running: str) -> bool:
    """v1.34 (no patch) names every v1.34.x; v1.34.4 only itself (a build such as +k3s1 is that release, a
    release candidate such as -rc.1 is not). What names no release is the same only as the same text."""
    wanted, runs = releases.parse(given), releases.parse(running)
    if wanted is None or runs is None:
        return given.lstrip("v") == running.lstrip("v")
    if wanted.patch is None:
        return (wanted.major, wanted.minor) == (runs.major, runs.minor)
    return wanted[:4] == runs[:4]


def node_version(values: Mapping[str, Any], layout: Any, run_command, proc_root: str = "/proc") \
        -> Tuple[Mapping[str, Any], Dict[str, Any], List[str]]:
    """(values for the release this node is judged at, {version, source, given, used}, summary lines).
    kube_version given: it is used, and a node that runs another release is said (a warning, not a failure).
    Not given: the release the node runs (node_facts.kube_version), else the documented default - either way
    said, with where it came from. Raises ValueError when the variables are wrong at that release."""

    read = kube_version(layout, run_command, proc_root)
    given = values["kube_version"] if "kube_version" in (values.get("_given") or ()) else None
    info: Dict[str, Any] = {"version": read["version"], "release": read.get("release"), "source": read["source"], "given": given,
                            "used": given}
    if given:
        runs = read.get("release") or read["version"]   # a release candidate is not its release
        if runs and not _same_release(given, runs):
            return values, info, [f"kube_version is {given}, but this node runs {runs} ({read['source']}): judged at {given}"
                                  " as you set it (feature gates, Pod Security default versions); set kube_version to what runs,"
                                  " or leave it out to have it read"]
        return values, info, []
    info["used"] = read["version"] or DEFAULT_KUBE_VERSION
    try:
        values, notes = at_version(values, info["used"])
    except HardeningVarsError as exc:
        raise ValueError(f"kube_version is not set and this node is judged at {info['used']} ({read['source']}): {exc}") from None
    if read["version"]:
        said = f"kube_version not set: judged at {info['used']}, read from {read['source']}"
    else:
        said = (f"kube_version not set and no version could be read ({read['source']}): judged at the documented default"
                f" {info['used']}; set kube_version")
    return values, info, [said + " (feature gates, Pod Security default versions)"] + notes


POD_NETWORK_VARIABLES = ("kube_pods_subnet", "kube_pods_subnets", "kube_pods_subnet_ipv6")


def node_pod_networks(values: Mapping[str, Any], layout: Any) -> Tuple[Mapping[str, Any], List[str]]:
    """The pod networks the kubelet's and the metrics firewall let through: yours when you set them (other than
    kubespray's default, which the roles' defaults carry whether you set it or not), else the one the control plane's
    controller-manager static pod is given (--cluster-cidr: a kubeadm cluster's podSubnet is rarely kubespray's
    default), else kubespray's default - said either way. Only root's own file tells it, never a process (a pod
    named like the controller-manager, or kube-proxy's ConfigMap, would choose what the firewalls admit), so it is
    the same on every run. A network that is not a CIDR, or wider than /8 (IPv6 /16), is not taken."""
    given = values.get("_given") or ()
    if any(name in given for name in POD_NETWORK_VARIABLES[1:]) or values.get("kube_pods_subnet") != VARIABLES_BY_NAME["kube_pods_subnet"].default:
        return values, []
    manifest = os.path.join(layout.manifests_dir, "kube-controller-manager.yaml")
    text = _read(manifest) if layout.config_kind == "static_pods" and not os.path.islink(manifest) else None
    try:
        told = str(running_command(load_manifest(text))[1].get("cluster-cidr") or "") if text else ""
    except (ManifestError, yaml.YAMLError, ValueError, TypeError, AttributeError):
        told = ""
    parts = [part.strip() for part in told.split(",") if part.strip()]
    if not parts:
        return values, [f"kube_pods_subnet not set and no controller-manager manifest here tells the pod network:"
                        f" {values['kube_pods_subnet']} (kubespray's default) is let through the firewalls - set it if yours differs"]
    if any(not _is_network(part) or too_wide(part) for part in parts):
        return values, [f"kube_pods_subnet not set, and {manifest} gives --cluster-cidr={told!r}, not one to open the"
                        f" firewalls to: {values['kube_pods_subnet']} (kubespray's default) is used - set kube_pods_subnet"]
    return dict(values, kube_pods_subnets=",".join(parts)), [
        f"kube_pods_subnet not set (or at kubespray's default): the pod network {','.join(parts)} read from {manifest} (--cluster-cidr)"]


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return "/" in text


def plan_node(p: Mapping[str, Any], run_command) -> Dict[str, Any]:
    """The whole run of one node from one look at it: observe (layout, components, kernel, addresses),
    judge the settings against what runs (never weaker), build every write (node_operations),
    evaluate what each would change, and audit the node as it is. p: the node_plan module's options.
    Nothing is written."""

    catalogue.install(p["catalogue"])
    values = p["values"]
    today = audit.controller_day(p["today"]) if p.get("today") else None   # ValueError: planning failed, naming it
    layout_name = catalogue.detect_layout(p["config_dir"], p["platforms"]) if p["layout"] == "auto" else p["layout"]
    layout = catalogue.layout_for(layout_name, p["config_dir"], p["platforms"])
    proc_root = p.get("proc_root") or "/proc"   # every process fact from one place (tests give a tree of their own)
    state = audit.observe(layout, proc_root, checksums=p.get("checksums"),
                          expected=audit.expectations(values.get("kubeguard_approved_ports"), values.get("kubeguard_release_floor"),
                                                      values.get("kubeguard_stale_image_days")))
    running = {name: bool(health.process_args(name, proc_root)) or (state["components"].get(name) or {}).get("source") == "process log"
               for name in component_registry.WRITTEN}
    addresses = own_addresses(run_command)
    endpoints = kubeconfig_servers([layout.kubelet_kubeconfig])
    # the release this node runs, read before anything is judged: gates and Pod Security versions follow it
    values, version, version_lines = node_version(values, layout, run_command, proc_root)
    values, network_lines = node_pod_networks(values, layout)
    version_lines += network_lines
    node = dict(p["node"])
    node["kubelet_running"] = running[KUBELET]
    node["node_audit"] = state.get("node_audit")
    node["container_runtime"] = state.get("container_runtime")
    # how etcd runs here is what the node shows, whatever etcd_deployment_type says (kubespray's
    # current guide says host; on a kubeadm cluster its static pod must still be hardened)
    node["etcd_static_pod"] = bool(node.get("control_plane")) and os.path.exists(f"{layout.manifests_dir}/etcd.yaml")
    writes = node_operations.written_components(values, layout, node)
    plan = never_weaker.plan(values, layout, state, writes=writes)
    plan["waived"].update(opted_out(values))
    plan["summary"] = version_lines + never_weaker.summary(plan)
    if node["etcd_static_pod"] and values["etcd_deployment_type"] == "host" and layout.config_kind == "static_pods":
        plan["summary"].append(f"etcd_deployment_type is host, but etcd runs here as a static pod "
                               f"({layout.manifests_dir}/etcd.yaml): hardened as the static pod it is")
    node["node_addresses"] = addresses + list(p["peer_addresses"])
    node["kubelet_allowed"] = desired.kubelet_secure_addresses(
        values, addresses + list(p["peer_addresses"]), endpoints + list(p["control_plane_endpoints"]))
    ops = node_operations.operations(values, layout, plan, node, p["settings"])
    if "k3s" in ops:
        k3s_overrides(ops, layout, values, node, plan)
    kubelet_dropin_overrides(ops, state, values, plan)

    def rebuild(other: Mapping[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """The plan and operations with other variables (never-weaker tries the user's choices one by one)."""
        one = never_weaker.plan(other, layout, state, writes=writes)
        allowed = desired.kubelet_secure_addresses(other, node["node_addresses"], endpoints + list(p["control_plane_endpoints"]))
        return one, node_operations.operations(other, layout, one, dict(node, kubelet_allowed=allowed), p["settings"])
    # the whole audit, as verify runs it, of the node these operations leave against the node now - when they
    # are going to be applied (harden.yml's plan); a read-only run (verify, rotate_keys, rollback) applies none
    if p.get("judge_run", True):
        never_weaker.judge_run(values, state, plan, ops, rebuild)
    if "metrics_firewall" in ops:
        # said, not failed: the rest of the hardening still applies (iptables works on kubespray's nodes)
        problem = _iptables_problem(run_command)
        if problem:
            plan["summary"].append(f"metrics served beyond loopback ({', '.join(ops.pop('metrics_firewall')['exposed'])}) "
                                   f"are NOT firewalled: iptables does not work on this node ({problem}) - protect them another way")
    if "node_audit" in ops and not ops["node_audit"]["audit_rules"]["load"]:
        seen = state.get("node_audit") or {}
        plan["summary"].append(f"audit rules written to {p['settings']['node_audit_rules_file']}, not loaded: "
                               + ("they are immutable (-e 2) until the next boot" if seen.get("immutable")
                                  else seen.get("not_loaded_reason") or "auditd does not run here"))
    changes, fingerprint = evaluate(ops)
    behind = audit.kube_proxy_behind(state, values.get("kube_proxy_metrics_bind_address") or kube_proxy.DEFAULT_METRICS)
    result = {
        "layout": layout_name, "running": running,
        "sysctls": {name: read_sysctl(name) for name in desired.KUBELET_SYSCTLS},
        "addresses": addresses, "apiserver_endpoints": endpoints,
        # a marker is a regular file of ours (never a directory or a link someone put there: the rewrite removes it)
        "reencrypt_pending": bool(p.get("reencrypt_marker")) and os.path.isfile(p["reencrypt_marker"])
        and not os.path.islink(p["reencrypt_marker"]),
        "node_paths": {**catalogue.node_paths(values, layout), "backup_root": p.get("backup_root"),
                       "reencrypt_marker": p.get("reencrypt_marker")}, "plan": plan, "operations": ops,
        "changes": changes, "pending": sorted(c for c, found in changes.items() if found),
        "encryption_fingerprint": fingerprint, "version": version,
        # the kube_proxy role rolls kube-proxy's pods when one serves other than wanted (the ConfigMap may be right)
        "kube_proxy_behind": behind and f"{p['node']['name']}: {behind}"}
    if p.get("audit_roles") is not None:
        # the node as it is now: the verify report of a node the run leaves untouched
        waivers = waivers_model.beside_overrides(plan["waived"], p.get("waivers"))
        # with the release it was judged at and where that came from (reports.kubernetes_field)
        # one report per benchmark asked for (kubeguard_benchmark may be a list): the main one, then the others
        result["report"], *more = audit.node_reports(state, p["audit_roles"], waivers, p["catalogue"], p["node"]["name"], layout_name,
                                                     kubernetes=reports.kubernetes_field(version),
                                                     benchmarks=benchmarks_of(values.get("kubeguard_benchmark")), today=today)
        if more:
            result["more_reports"] = more
    return result
