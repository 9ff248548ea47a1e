"""Every write a hardening run would make on one node, as data: the single source of the writer
modules' arguments. The roles pass these arguments to their writer modules; the node_plan module
evaluates all of them on the node in one call, without writing, so a run can skip nodes whose plan is
empty. It runs on the node, inside node_plan (the settings come from the catalogue through never_weaker.plan).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..base.component_names import APISERVER, CONTROLLER_MANAGER, ETCD, KUBELET, SCHEDULER
from . import desired, metrics_firewall
from ..platform import component_registry
from ..catalogue import catalogue
from ..observe import node_audit
from ..catalogue.catalogue import Platform
from ..formats.k3s_config import arg_text

MANIFEST_MODE = "0600"


def config_hash(data: Any) -> str:
    """Short stable hash of the files a static pod reads (its restart annotation)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def sysctl_file_content() -> str:
    lines = ["# Managed by kubeguard.hardening: values kubelet's protectKernelDefaults expects."]
    lines += [f"{key}={value}" for key, value in desired.KUBELET_SYSCTLS.items()]
    return "\n".join(lines) + "\n"


def firewall_dropin_content(allowed: List[str]) -> str:
    return ("# Managed by kubeguard.hardening (kubelet_systemd_hardening): only these may reach the kubelet.\n"
            "[Service]\nIPAddressDeny=any\n"
            f"IPAddressAllow={' '.join(allowed)}\n")


def file_mode_entries(paths: Mapping[str, Any], pki_owner: Any, pki_group: Any, layout: Platform) -> List[Dict[str, Any]]:
    """CIS 1.1 and 4.1: the platform's permission targets (platform data `file_modes`) with this
    node's paths filled in. {pki_owner}/{pki_group} stay None (owner untouched) unless the user set them."""
    owners = {"{pki_owner}": pki_owner, "{pki_group}": pki_group}
    entries = []
    for raw in layout.file_modes:
        entry = {}
        for key, value in raw.items():
            if isinstance(value, str) and value in owners:
                entry[key] = owners[value]
            elif isinstance(value, str):
                entry[key] = value.format(**paths)
            else:
                entry[key] = value
        entries.append(entry)
    return entries


def etcd_written(values: Mapping[str, Any], node: Mapping[str, Any]) -> Tuple[bool, bool]:
    """(etcd is written as a static pod, etcd is written at all) on this node: a static pod where the node has one
    (node_plan looks: etcd_static_pod), else as etcd_deployment_type says; kubespray's host etcd on etcd hosts."""
    static = bool(node.get("etcd_static_pod")) or (values["etcd_deployment_type"] == "kubeadm" and bool(node.get("control_plane")))
    return static, static or (values["etcd_deployment_type"] == "host" and bool(node.get("etcd_host")))


def written_components(values: Mapping[str, Any], layout: Platform, node: Mapping[str, Any]) -> Optional[List[str]]:
    """The components whose settings this node's run writes, by its role (what operations below writes); None
    on k3s, where one config file carries every component of the node."""
    if layout.config_kind == "k3s_config":
        return None
    found = [KUBELET] + (list(component_registry.CONTROL_PLANE) if node.get("control_plane") else [])
    return found + [ETCD] if etcd_written(values, node)[1] else found


def operations(values: Mapping[str, Any], layout: Platform, plan: Mapping[str, Any], node: Mapping[str, Any],
               settings: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
    """{component: {operation: writer arguments}} for one node.

    node: {control_plane, etcd_host (bool), kubelet_allowed (firewall allow list), sysctls (current)}.
    settings: the collection's own settings (file locations, etcd user, audit shared dirs, sysctl apply).
    """
    paths = catalogue.node_paths(values, layout)
    ops: Dict[str, Dict[str, Any]] = {}
    ops["sysctl"] = {"config_files": {"files": [{"path": settings["sysctl_file"], "mode": "0644",
                                                 "content": sysctl_file_content()}]}}
    if settings.get("sysctl_apply"):
        ops["sysctl"]["sysctls"] = dict(desired.KUBELET_SYSCTLS)
    if values["kubeguard_node_audit_rules"] and layout.audit_rules:
        ops["node_audit"] = node_audit_operations(values, layout, node, settings)
    runtime = layout.container_runtime
    if values["kubeguard_container_runtime_hardening"] and runtime.get("unit") and (node.get("container_runtime") or {}).get("config_found"):
        ops["container_runtime"] = {
            "containerd_config": {"path": runtime["config"], "variables": {
                name: values[name] for name in ("containerd_metrics_address", "containerd_enable_unprivileged_ports",
                                                "containerd_enable_unprivileged_icmp", "kubeguard_containerd_settings")}},
            "service": {"unit": runtime["unit"], "socket": runtime["socket"]}}
    if layout.config_kind == "k3s_config":
        ops["k3s"] = k3s_operations(values, layout, plan, node, settings)
        ops["file_permissions"] = {"file_modes": {"entries": file_mode_entries(paths, plan["pki_owner"], plan["pki_group"], layout)}}
        return ops
    etcd_static, etcd_here = etcd_written(values, node)
    if etcd_here:
        etcd_flags = plan["settings"][ETCD]
        ops[ETCD] = {"user": {"name": settings["etcd_user"]},
                     "file_modes": {"entries": [{"path": values["etcd_data_dir"], "mode": "0700",
                                                 "owner": settings["etcd_user"], "group": settings["etcd_user"]}]}}
        if etcd_static:
            ops[ETCD]["static_pod"] = {"path": f"{paths['manifests_dir']}/etcd.yaml", "flags": etcd_flags,
                                       "mode": MANIFEST_MODE}
        else:
            ops[ETCD]["env_file"] = {"path": settings["etcd_env_file"], "variables": desired.etcd_env(etcd_flags)}
    if node["control_plane"]:
        files = desired.apiserver_files(values, layout)
        if values["kubernetes_audit"]:
            ops["audit"] = {
                "config_files": {"files": [f for f in files if f["path"] == paths["audit_policy_file"]]},
                "directory": audit_log_directory(paths, settings)}
        ops[APISERVER] = {
            "config_files": {"files": [f for f in files if f["path"] != paths["audit_policy_file"]]},
            "static_pod": {"path": f"{paths['manifests_dir']}/kube-apiserver.yaml",
                           "flags": plan["settings"][APISERVER],
                           "host_paths": desired.apiserver_host_paths(values, layout), "mode": MANIFEST_MODE},
            # the restart annotation hashes these files and the encryption config (read on the node)
            "config_hash_files": files,
        }
        if values["kube_encrypt_secret_data"]:
            ops[APISERVER]["encryption"] = {"path": paths["encryption_config"],
                                            "algorithm": values["kube_encryption_algorithm"],
                                            "resources": list(values["kube_encryption_resources"])}
        for component, variable in ((CONTROLLER_MANAGER, "kube_controller_manager_bind_address"),
                                    (SCHEDULER, "kube_scheduler_bind_address")):
            ops[component] = {"static_pod": {"path": f"{paths['manifests_dir']}/{component}.yaml",
                                             "flags": plan["settings"][component],
                                             "probe_host": probe_host(values[variable]), "mode": MANIFEST_MODE}}
    ops[KUBELET] = {"kubelet_config": {"path": paths["kubelet_config"], "fields": plan["settings"][KUBELET],
                                       "mode": "0600"}}
    if node["control_plane"]:
        # what kubeadm upgrade must regenerate: the same flags, mounts and kubelet fields (kubeadm_config module)
        ops[APISERVER]["kubeadm_records"] = {
            "flags": {c: ops[c]["static_pod"]["flags"] for c in component_registry.FLAG_COMPONENTS if "static_pod" in ops.get(c, {})},
            "host_paths": ops[APISERVER]["static_pod"]["host_paths"],
            "generated_mounts": [str(m).format(pki_dir=layout.pki_dir) for m in layout.components.get("kubeadm_mounts") or []],
            "kubelet_fields": plan["settings"][KUBELET]}
    for component, one in ops.items():
        if component in (layout.components.get("health") or {}):
            one["health"] = health_of(layout, component, one, settings)
    dropin = settings["kubelet_firewall_dropin"]
    if values["kubelet_systemd_hardening"]:
        ops[KUBELET]["config_files"] = {"files": [{"path": dropin, "mode": "0600",
                                                   "content": firewall_dropin_content(node["kubelet_allowed"])}]}
    else:
        ops[KUBELET]["absent"] = {"path": dropin}
    if values["kubelet_rotate_server_certificates"] and node.get("kubelet_running"):
        ops[KUBELET]["exists"] = {"path": settings["kubelet_serving_cert"]}
    ops["file_permissions"] = {"file_modes": {"entries": file_mode_entries(paths, plan["pki_owner"], plan["pki_group"], layout)}}
    firewall = metrics_firewall_operations(values, ops, node, settings)
    if firewall:
        ops["metrics_firewall"] = firewall
    return ops


def rollout(ops: Mapping[str, Any]) -> Dict[str, List[Dict[str, Any]]]:
    """{phase: [{role, tags}]}: the roles harden.yml includes on this node, in the registry's order (ROLLOUT), where
    the node's operations have the step's key (and writer). Which nodes run a phase is the play's choice (harden.yml:
    the etcd group runs the etcd host phase, whatever its etcd is: a host only in that group gets its audit rules
    there). node_plan's action computes it on the controller from the operations the node returned: which of our
    roles run is never a name the node chose."""
    steps: Dict[str, List[Dict[str, Any]]] = {}
    for step in component_registry.ROLLOUT:
        found = ops.get(step.operations)
        if found is not None and (step.writer is None or step.writer in found):
            steps.setdefault(step.phase, []).append({"role": step.role, "tags": list(step.tags)})
    return steps


def node_audit_operations(values: Mapping[str, Any], layout: Platform, node: Mapping[str, Any],
                          settings: Mapping[str, Any]) -> Dict[str, Any]:
    """The node's audit rules file, and whether the run loads it (auditd runs, rules not immutable): node
    carries what node_plan saw of the audit system (node_audit.observe)."""
    seen = node.get("node_audit") or {}
    content = node_audit.build(layout.audit_rules, layout.as_dict(), values["kubeguard_node_audit_exclude_dirs"],
                               values["kubeguard_node_audit_backlog"])
    loadable = bool(seen.get("auditd_running")) and not seen.get("immutable")
    return {"config_files": {"files": [{"path": settings["node_audit_rules_file"], "mode": "0640", "content": content}]},
            "audit_rules": {"load": loadable, "not_loaded": list(seen.get("not_loaded") or []) if loadable else []}}


def metrics_firewall_operations(values: Mapping[str, Any], ops: Mapping[str, Any], node: Mapping[str, Any],
                                settings: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The metrics ports firewall where this node's controller-manager, scheduler or etcd serve metrics beyond
    loopback (the flags this run leaves them with)."""
    flags = {component: (ops[component].get("static_pod") or {}).get("flags") or {}
             for component in (CONTROLLER_MANAGER, SCHEDULER) if component in ops}
    if ETCD in ops:
        etcd = ops[ETCD]
        flags[ETCD] = (etcd.get("static_pod") or {}).get("flags") or {
            key[5:].lower().replace("_", "-"): value for key, value in ((etcd.get("env_file") or {}).get("variables") or {}).items()}
    sources = values["kubeguard_metrics_allowed_sources"] or metrics_firewall.default_sources(
        desired.pod_subnets(values), node.get("node_addresses") or [])
    found = metrics_firewall.files(flags, sources, settings)
    if found is None:
        return None
    return {"config_files": {"files": found["files"]}, "exposed": found["exposed"],
            "service": {"name": posixpath.basename(settings["metrics_firewall_unit_file"])}}


def health_of(layout: Platform, component: str, ops: Mapping[str, Any], settings: Mapping[str, Any]) -> Dict[str, Any]:
    """How the component shows it is back (platform data components.health), for this node."""
    host = (ops.get("static_pod") or {}).get("probe_host") or "127.0.0.1"
    spec = layout.components["health"][component]
    return {key: str(value).format(host=host, apiserver_port=settings.get("apiserver_port", 6443))
            for key, value in spec.items()}


def audit_log_directory(paths: Mapping[str, Any], settings: Mapping[str, Any]) -> Dict[str, Any]:
    """The audit log's directory: root's alone (0700) unless other software shares it."""
    log_dir = posixpath.dirname(paths["audit_log_path"])
    return {"path": log_dir, "owner": "root", "group": "root",
            "mode": "0755" if log_dir in settings["audit_shared_log_dirs"] else "0700"}


def kubelet_flags(fields: Mapping[str, Any]) -> Dict[str, Any]:
    """KubeletConfiguration fields as kubelet flags (catalogue kubelet_flags), for platforms that
    configure the kubelet by flags. A field without a flag is refused, naming it."""
    table = catalogue.load()["kubelet_flags"]
    unknown = [name for name in fields if name not in table]
    if unknown:
        raise ValueError(f"kubelet_config_extra_args: {', '.join(unknown)} cannot be set on this platform (it configures"
                         f" the kubelet by flags; known fields: {', '.join(sorted(table))}); use the platform's kubelet-arg")
    return {table[name]: value for name, value in fields.items()}


def k3s_operations(values: Mapping[str, Any], layout: Platform, plan: Mapping[str, Any], node: Mapping[str, Any],
                   settings: Mapping[str, Any]) -> Dict[str, Any]:
    """K3s: every component's flags in config.yaml (one writer), plus the hardening files on servers."""
    spec = layout.components
    for variable, allowed in (spec.get("allowed") or {}).items():
        if values.get(variable) not in allowed:
            raise ValueError(f"{variable}: {values.get(variable)!r} is not supported on {layout.name};"
                             f" allowed: {', '.join(map(str, allowed))}")
    components = [KUBELET] + (list(component_registry.CONTROL_PLANE) if node["control_plane"] else [])
    top: Dict[str, Any] = {}
    lists: Dict[str, Dict[str, Any]] = {}
    for component in components:
        wanted = dict(plan["settings"][component])
        for setting, option in (spec.get("top_level") or {}).items():
            owner, _ignored, key = setting.partition(".")
            if owner == component and key in wanted:
                top[option] = wanted.pop(key)
        lists[spec["arg_lists"][component]] = kubelet_flags(wanted) if component == KUBELET else wanted
    for component, flags in (spec.get("arg_values") or {}).items():
        lists[spec["arg_lists"][component]] = {flag: values[variable] for flag, variable in flags.items()}
    result: Dict[str, Any] = {}
    if node["control_plane"]:
        context = catalogue.expression_context(values, layout)
        for option, rule in (spec.get("server_options") or {}).items():
            if catalogue.evaluate(rule.get("when", "true"), context):
                top[option] = catalogue.evaluate(rule["value"], context)
        result["config_files"] = {"files": desired.apiserver_files(values, layout)}
        if values["kubernetes_audit"]:
            result["directory"] = audit_log_directory(catalogue.node_paths(values, layout), settings)
    result["k3s_config"] = {"path": spec["config"], "lists": lists, "top": top, "mode": "0600"}
    # How the rollout restarts and judges this node: the unit, the flags its components must be
    # started with (as k3s logs them; removals are not expected: k3s may pass its own default),
    # and the health endpoint (with client credentials where anonymous access is off).
    role = "server" if node["control_plane"] else "agent"
    by_list = {list_key: component for component, list_key in spec["arg_lists"].items()}
    expected = {by_list[key]: {flag: arg_text(value) for flag, value in flags.items() if value is not None}
                for key, flags in lists.items()}
    for setting, option in (spec.get("top_level") or {}).items():
        component, _ignored, key = setting.partition(".")
        if option in top and component in expected:
            flag = catalogue.load()["kubelet_flags"].get(key, key) if component == KUBELET else key
            expected[component][flag] = arg_text(top[option])
    result["service"] = {"unit": spec["units"][role], "components": expected, **spec["health"][role]}
    return result


def probe_host(bind_address: Any) -> Any:
    """The address to probe a component bound to bind_address (None: keep kubeadm's 127.0.0.1)."""
    return None if bind_address in ("0.0.0.0", "::", "127.0.0.1", "::1", "", None) else bind_address
