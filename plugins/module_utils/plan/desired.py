"""Desired state per component, computed from validated hardening variables and a node layout:
flag maps and kubelet fields (from the catalogue), the configuration files the apiserver needs
(audit policy, admission config with EventRateLimit / PodSecurity / PodNodeSelector, structured
authentication config, encryption config) and the hostPath mounts that make them visible.
"""

from __future__ import annotations

import ipaddress
import os
import posixpath
from typing import Any, Callable, Dict, List, Mapping, Optional


from ..base.component_names import KUBELET
from ..platform import component_registry
from ..catalogue import catalogue
from ..catalogue.catalogue import Platform
from ..model.hardening_vars import parse_secure_addresses
from ..formats.key_rotation import new_key
from ..base.yaml_support import safe_load, yaml

FLAG_COMPONENTS = component_registry.FLAG_COMPONENTS
EXTRA_ARGS_VARIABLE = {name: component_registry.EXTRA_ARGS_VARIABLE[name] for name in FLAG_COMPONENTS}
# Kernel parameters the kubelet checks with protectKernelDefaults (kubelet's defaults).
KUBELET_SYSCTLS = {
    "vm.overcommit_memory": "1",
    "vm.panic_on_oom": "0",
    "kernel.panic": "10",
    "kernel.panic_on_oops": "1",
    "kernel.keys.root_maxkeys": "1000000",
    "kernel.keys.root_maxbytes": "25000000",
}


def _flag_text(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def component_flags(values: Mapping[str, Any], layout: Platform, component: str) -> Dict[str, Optional[str]]:
    """Flags to set (str) or remove (None) for a static-pod / host component. Extra args win last,
    as they do in kubespray."""
    if component not in FLAG_COMPONENTS:
        raise ValueError(f"component: {component!r} must be one of: {', '.join(FLAG_COMPONENTS)}")
    flags = {k: _flag_text(v) for k, v in catalogue.desired_settings(values, layout, component).items()}
    for name, value in (values.get(EXTRA_ARGS_VARIABLE[component]) or {}).items():
        flags[name] = _flag_text(value)
    return flags


def kubelet_fields(values: Mapping[str, Any], layout: Platform) -> Dict[str, Any]:
    """KubeletConfiguration fields to set; kubelet_config_extra_args win last, as in kubespray."""
    fields = catalogue.desired_settings(values, layout, KUBELET)
    fields.update(values.get("kubelet_config_extra_args") or {})
    return fields


def etcd_env(flags: Mapping[str, Optional[str]]) -> Dict[str, Optional[str]]:
    """etcd flags as the variables of kubespray's /etc/etcd.env (ETCD_CLIENT_CERT_AUTH=true, ...)."""
    return {"ETCD_" + name.upper().replace("-", "_"): value for name, value in flags.items()}


def dump(data: Any) -> str:
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False)


# --- apiserver configuration files ---------------------------------------------------------------------

def default_audit_rules() -> List[Dict[str, Any]]:
    """A policy that records who did what without leaking secrets or drowning in system reads."""
    core = ""
    return [
        # Health checks and discovery carry no security signal.
        {"level": "None", "nonResourceURLs": ["/healthz*", "/livez*", "/readyz*", "/version", "/metrics", "/openapi*"]},
        # Frequent reads of system components.
        {"level": "None", "users": ["system:kube-proxy"], "verbs": ["watch"],
         "resources": [{"group": core, "resources": ["endpoints", "services", "services/status"]},
                       {"group": "discovery.k8s.io", "resources": ["endpointslices"]}]},
        {"level": "None", "userGroups": ["system:nodes"], "verbs": ["get"],
         "resources": [{"group": core, "resources": ["nodes", "nodes/status"]}]},
        {"level": "None", "users": ["system:kube-controller-manager", "system:kube-scheduler"],
         "verbs": ["get", "update"], "namespaces": ["kube-system"],
         "resources": [{"group": "coordination.k8s.io", "resources": ["leases"]},
                       {"group": core, "resources": ["endpoints", "configmaps"]}]},
        {"level": "None", "verbs": ["get", "list", "watch"], "resources": [{"group": core, "resources": ["events"]},
                                                                           {"group": "events.k8s.io", "resources": ["events"]}]},
        # Never record bodies that hold credentials or configuration data.
        {"level": "Metadata", "resources": [
            {"group": core, "resources": ["secrets", "configmaps", "serviceaccounts/token"]},
            {"group": "authentication.k8s.io", "resources": ["tokenreviews"]},
            {"group": "certificates.k8s.io", "resources": ["certificatesigningrequests"]}]},
        # Reads: who looked, not what they saw.
        {"level": "Metadata", "verbs": ["get", "list", "watch"]},
        # Changes to RBAC, admission and workloads: the request that made them.
        {"level": "Request", "resources": [
            {"group": "rbac.authorization.k8s.io"}, {"group": "admissionregistration.k8s.io"},
            {"group": core}, {"group": "apps"}, {"group": "batch"}, {"group": "networking.k8s.io"},
            {"group": "policy"}]},
        {"level": "Metadata"},
    ]


def audit_policy(values: Mapping[str, Any]) -> Dict[str, Any]:
    rules = values.get("audit_policy_custom_rules") or default_audit_rules()
    return {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"], "rules": rules}


def event_rate_limit_config(values: Mapping[str, Any]) -> Dict[str, Any]:
    limits = []
    for limit in values["kube_apiserver_admission_event_rate_limits"].values():
        entry = {"type": limit["type"], "qps": limit["qps"], "burst": limit["burst"]}
        if "cache_size" in limit:
            entry["cacheSize"] = limit["cache_size"]
        limits.append(entry)
    return {"apiVersion": "eventratelimit.admission.k8s.io/v1alpha1", "kind": "Configuration", "limits": limits}


def pod_security_config(values: Mapping[str, Any]) -> Dict[str, Any]:
    defaults = {}
    for mode in ("enforce", "audit", "warn"):
        defaults[mode] = values[f"kube_pod_security_default_{mode}"]
        defaults[f"{mode}-version"] = values[f"kube_pod_security_default_{mode}_version"]
    return {
        "apiVersion": "pod-security.admission.config.k8s.io/v1", "kind": "PodSecurityConfiguration",
        "defaults": defaults,
        "exemptions": {"usernames": list(values["kube_pod_security_exemptions_usernames"]),
                       "runtimeClasses": list(values["kube_pod_security_exemptions_runtime_class_names"]),
                       "namespaces": list(values["kube_pod_security_exemptions_namespaces"])},
    }


def pod_node_selector_config(values: Mapping[str, Any]) -> Dict[str, Any]:
    return {"podNodeSelectorPluginConfig": {
        "clusterDefaultNodeSelector": values["kube_apiserver_admission_plugins_podnodeselector_default_node_selector"]}}


def configured_admission_plugins(values: Mapping[str, Any]) -> List[str]:
    """Plugins that get a section in the admission config file. PodSecurity is on by default in
    Kubernetes, so its defaults apply whenever kube_pod_security_use_default is set."""
    enabled = set(values["kube_apiserver_enable_admission_plugins"])
    wanted = values["kube_apiserver_admission_plugins_needs_configuration"]
    plugins = []
    for plugin in wanted:
        if plugin == "ImagePolicyWebhook":
            continue   # its config names the user's webhook: theirs to supply (validation says so)
        if plugin == "PodSecurity":
            if values["kube_pod_security_use_default"]:
                plugins.append(plugin)
        elif plugin in enabled and values["kube_apiserver_admission_control_config_file"]:
            plugins.append(plugin)
    return plugins


def authentication_config() -> Dict[str, Any]:
    """Anonymous requests allowed only on the health endpoints the kubelet probes (GA in v1.34)."""
    return {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AuthenticationConfiguration",
            "anonymous": {"enabled": True,
                          "conditions": [{"path": "/livez"}, {"path": "/readyz"}, {"path": "/healthz"}]}}


def resource_quota_config(values: Mapping[str, Any]) -> Dict[str, Any]:
    config: Dict[str, Any] = {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "ResourceQuotaConfiguration"}
    if values["kube_resource_quota_limited_resources"]:
        config["limitedResources"] = list(values["kube_resource_quota_limited_resources"])
    return config


def apiserver_files(values: Mapping[str, Any], layout: Platform) -> List[Dict[str, Any]]:
    """Files (path, content, mode) the apiserver needs, except the encryption config (key material:
    written by the encryption_config module on the node)."""
    paths = catalogue.hardening_paths(values, layout)
    files: List[Dict[str, Any]] = []
    if values["kubernetes_audit"]:
        files.append({"path": paths["audit_policy_file"], "content": dump(audit_policy(values)), "mode": "0600"})
    plugin_files = {"EventRateLimit": ("eventratelimit_config", event_rate_limit_config),
                    "PodSecurity": ("podsecurity_config", pod_security_config),
                    "PodNodeSelector": ("podnodeselector_config", pod_node_selector_config),
                    "ResourceQuota": ("resourcequota_config", resource_quota_config)}
    plugins = configured_admission_plugins(values)
    if plugins:
        sections = []
        for plugin in plugins:
            key, build = plugin_files[plugin]
            files.append({"path": paths[key], "content": dump(build(values)), "mode": "0600"})
            sections.append({"name": plugin, "path": paths[key]})
        admission = {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration", "plugins": sections}
        files.append({"path": paths["admission_config"], "content": dump(admission), "mode": "0600"})
    if not values["kube_api_anonymous_auth"] and "kube-apiserver.authentication-config" not in layout.skip:
        files.append({"path": paths["authentication_config"], "content": dump(authentication_config()), "mode": "0600"})
    return files


def apiserver_host_paths(values: Mapping[str, Any], layout: Platform) -> List[Dict[str, Any]]:
    """hostPath mounts the apiserver needs for the files above (an existing mount covering a path
    is reused by the static_pod module)."""
    paths = catalogue.hardening_paths(values, layout)
    mounts: List[Dict[str, Any]] = []
    if values["kubernetes_audit"]:
        mounts.append({"name": "audit-policy", "path": posixpath.dirname(paths["audit_policy_file"]),
                       "type": "DirectoryOrCreate", "read_only": True})
        mounts.append({"name": "audit-logs", "path": posixpath.dirname(paths["audit_log_path"]),
                       "type": "DirectoryOrCreate", "read_only": False})
    if configured_admission_plugins(values):
        mounts.append({"name": "admission-controls", "path": paths["admission_dir"],
                       "type": "DirectoryOrCreate", "read_only": True})
    if not values["kube_api_anonymous_auth"]:
        mounts.append({"name": "authentication-config", "path": paths["authentication_dir"],
                       "type": "DirectoryOrCreate", "read_only": True})
    if values["kube_encrypt_secret_data"]:
        mounts.append({"name": "encryption-config", "path": posixpath.dirname(paths["encryption_config"]),
                       "type": "DirectoryOrCreate", "read_only": True})
    return mounts


# --- encryption at rest ----------------------------------------------------------------------------------


def _provider_keys(config: Mapping[str, Any], algorithm: str) -> List[Dict[str, str]]:
    for resource in config.get("resources") or []:
        for provider in resource.get("providers") or []:
            if algorithm in provider:
                return list((provider[algorithm] or {}).get("keys") or [])
    return []


def _all_providers(config: Mapping[str, Any]) -> List[Dict[str, Any]]:
    found: List[Dict[str, Any]] = []
    for resource in config.get("resources") or []:
        for provider in resource.get("providers") or []:
            if "identity" not in provider and provider not in found:
                found.append(provider)
    return found


def encryption_config(existing: Optional[Mapping[str, Any]], algorithm: str, resources: List[str],
                      random_bytes: Callable[[int], bytes] = os.urandom) -> Dict[str, Any]:
    """EncryptionConfiguration for the wanted algorithm and resources.

    The key on the node is the source of truth: an existing key for the algorithm is kept, never
    regenerated. Providers of other algorithms already in the file stay after the primary one, so
    data written with them can still be read (until a rotation rewrites it). identity comes last so
    data written before encryption was enabled stays readable.
    """
    existing = existing or {}
    keys = _provider_keys(existing, algorithm)
    if not keys:
        keys = [{"name": "key1", "secret": new_key(algorithm, random_bytes)}]
    primary = {algorithm: {"keys": keys}}
    older = [p for p in _all_providers(existing) if algorithm not in p]
    providers = [primary] + older + [{"identity": {}}]
    return {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
            "resources": [{"resources": list(resources), "providers": providers}]}


def merge_node_encryption_configs(existing_texts: List[Optional[str]], algorithm: str, resources: List[str],
                                  random_bytes: Callable[[int], bytes] = os.urandom) -> Dict[str, Any]:
    """One config for every control plane, from what the nodes already have.

    Nodes with no file yet take the others' key. Nodes whose files disagree on the primary key are
    refused: picking one would leave secrets written with the other unreadable.
    """
    parsed = [safe_load(text) for text in existing_texts if text]
    node_providers = [_node_providers(text) for text in existing_texts if text]
    primaries = []
    for providers in node_providers:
        if providers and providers[0] not in primaries:
            primaries.append(providers[0])
    # Different primaries are the middle of a staged key change (every node can read every primary);
    # a primary some node cannot read means the nodes disagree on the key.
    unreadable = [p for p in primaries if "identity" not in p and any(p not in providers for providers in node_providers)]
    if len(primaries) > 1 and unreadable:
        raise ValueError(
            "control-plane nodes have different encryption configs (different primary provider or key); "
            "make them identical by hand (copy one node's file to the others) before hardening; if a key "
            "rotation stopped half-way, run kubeguard.hardening.rotate_keys again to finish it")
    with_key = [config for config in parsed if _provider_keys(config, algorithm)]
    return encryption_config((with_key or parsed or [None])[0], algorithm, resources, random_bytes)


def _node_providers(text: Optional[str]) -> List[Dict[str, Any]]:
    config = safe_load(text) if text else None
    return [p for r in (config or {}).get("resources") or [] for p in r.get("providers") or []]


def staged_encryption_config(target: Mapping[str, Any], node_texts: List[Optional[str]]) -> Dict[str, Any]:
    """The first of two steps when several control planes get a key not all of them have yet.

    Every apiserver must be able to read with a key before any writes with it, or a Secret written
    through the first updated node is unreadable through the others. node_texts has one entry per
    control plane (empty: no file). While some node lacks the new key, it is placed behind the
    provider the nodes write with now (identity when nothing is encrypted yet); once every node has
    it, the target (new key primary) is returned and the normal pass applies it.
    """
    import copy
    target_providers = target["resources"][0]["providers"]
    new_primary = target_providers[0]
    nodes = [_node_providers(text) for text in node_texts]
    if all(new_primary in providers for providers in nodes):
        return copy.deepcopy(dict(target))
    writers = [providers[0] for providers in nodes if providers and providers[0] != new_primary]
    current = writers[0] if writers else {"identity": {}}
    staged = copy.deepcopy(dict(target))
    staged["resources"][0]["providers"] = [current, new_primary] + [p for p in target_providers[1:] if p != current]
    return staged


# --- kubelet firewall --------------------------------------------------------------------------------------

def kubelet_secure_addresses(values: Mapping[str, Any], node_addresses: List[str],
                             control_plane_endpoints: List[str]) -> List[str]:
    """Who may reach the kubelet when kubelet_systemd_hardening is on.

    Always: localhost, link-local, the pod subnet (kube-proxy, metrics scrapers in pods), every
    node's address, and the control-plane endpoints / load balancer (the field notes list each of
    these as a breakage users hit). A user list is added to that, never replaces the safe base.
    """
    base = ["localhost", "link-local"] + pod_subnets(values)
    user = parse_secure_addresses(values["kubelet_secure_addresses"] or "")
    result: List[str] = []
    for address in base + list(node_addresses) + list(control_plane_endpoints) + user:
        if address and address not in result and _is_address(address):
            result.append(address)
    # A node's own address inside a network already listed (the CNI bridge in the pod subnet, which
    # appears once the first pod runs) adds nothing: left out, so the list does not churn.
    networks = [ipaddress.ip_network(a, strict=False) for a in result if "/" in a and _is_address(a)]
    return [a for a in result if "/" in a or not _is_ip_literal(a)
            or not any(ipaddress.ip_address(a) in n for n in networks if n.version == ipaddress.ip_address(a).version)]


def _is_ip_literal(token: str) -> bool:
    try:
        ipaddress.ip_address(token)
    except ValueError:
        return False
    return True


def pod_subnets(values: Mapping[str, Any]) -> List[str]:
    """Every pod network: kubespray's kube_pods_subnets (dual stack, comma-separated), else
    kube_pods_subnet and kube_pods_subnet_ipv6."""
    if values.get("kube_pods_subnets"):
        return [part.strip() for part in values["kube_pods_subnets"].split(",") if part.strip()]
    return [values["kube_pods_subnet"]] + ([values["kube_pods_subnet_ipv6"]] if values.get("kube_pods_subnet_ipv6") else [])


def _is_address(token: str) -> bool:
    """IPs, CIDRs and systemd keywords only: IPAddressAllow takes no host names."""
    try:
        parse_secure_addresses(token)
        return True
    except ValueError:
        return False
