"""Every write a hardening run would make on one node, as data: the single source of the writer
modules' arguments. The roles pass these arguments to their writer modules; the node_plan module
evaluates all of them on the node in one call, without writing, so a run can skip nodes whose plan is
empty. Controller side (the settings come from the catalogue through never_weaker.plan).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from typing import Any, Dict, List, Mapping

from . import catalogue, desired
from .catalogue import Layout

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


def file_mode_entries(paths: Mapping[str, Any], pki_owner: Any, pki_group: Any) -> List[Dict[str, Any]]:
    """CIS 1.1 and 4.1: modes (ceilings) and owners of everything the kubelet and control plane read."""
    root = {"owner": "root", "group": "root"}
    return [
        {"path": f"{paths['manifests_dir']}/*.yaml", "mode": "0600", **root},
        {"path": f"{paths['config_dir']}/*.conf", "mode": "0600", **root},
        # The encryption key is read by the root apiserver only: root:root whatever kube_owner says.
        {"path": paths["pki_dir"], "recurse": True, "mode": "0600", "dir_mode": "0755",
         "owner": pki_owner, "group": pki_group, "exclude": ["secrets_encryption.yaml"]},
        {"path": f"{paths['pki_dir']}/secrets_encryption.yaml", "mode": "0600", **root},
        {"path": paths["kubelet_config"], "mode": "0600", **root},
        {"path": paths["kubelet_service"], "mode": "0600", **root},
        # CIS 4.1.1/4.1.2 mean the unit and every drop-in, wherever the package put them.
        {"path": "/etc/systemd/system/kubelet.service", "mode": "0600", **root},
        {"path": "/usr/lib/systemd/system/kubelet.service", "mode": "0600", **root},
        {"path": "/etc/systemd/system/kubelet.service.d/*.conf", "mode": "0600", **root},
        {"path": "/usr/lib/systemd/system/kubelet.service.d/*.conf", "mode": "0600", **root},
        {"path": paths["kubelet_env"], "mode": "0600", **root},
        {"path": paths["proxy_kubeconfig"], "mode": "0600", **root},
        {"path": f"{paths['cni_conf_dir']}/*", "mode": "0600", **root},
    ]


def operations(values: Mapping[str, Any], layout: Layout, plan: Mapping[str, Any], node: Mapping[str, Any],
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
    etcd_static = values["etcd_deployment_type"] == "kubeadm"
    if (etcd_static and node["control_plane"]) or (not etcd_static and node["etcd_host"]):
        etcd_flags = plan["settings"]["etcd"]
        ops["etcd"] = {"user": {"name": settings["etcd_user"]},
                       "file_modes": {"entries": [{"path": values["etcd_data_dir"], "mode": "0700",
                                                   "owner": settings["etcd_user"], "group": settings["etcd_user"]}]}}
        if etcd_static:
            ops["etcd"]["static_pod"] = {"path": f"{paths['manifests_dir']}/etcd.yaml", "flags": etcd_flags,
                                         "mode": MANIFEST_MODE}
        else:
            ops["etcd"]["env_file"] = {"path": settings["etcd_env_file"], "variables": desired.etcd_env(etcd_flags)}
    if node["control_plane"]:
        files = desired.apiserver_files(values, layout)
        if values["kubernetes_audit"]:
            log_dir = posixpath.dirname(values["audit_log_path"])
            ops["audit"] = {
                "config_files": {"files": [f for f in files if f["path"] == values["audit_policy_file"]]},
                "directory": {"path": log_dir, "owner": "root", "group": "root",
                              "mode": "0755" if log_dir in settings["audit_shared_log_dirs"] else "0700"}}
        ops["kube-apiserver"] = {
            "config_files": {"files": [f for f in files if f["path"] != values["audit_policy_file"]]},
            "static_pod": {"path": f"{paths['manifests_dir']}/kube-apiserver.yaml",
                           "flags": plan["settings"]["kube-apiserver"],
                           "host_paths": desired.apiserver_host_paths(values, layout), "mode": MANIFEST_MODE},
            # the restart annotation hashes these files and the encryption config (read on the node)
            "config_hash_files": files,
        }
        if values["kube_encrypt_secret_data"]:
            ops["kube-apiserver"]["encryption"] = {"path": paths["encryption_config"],
                                                   "algorithm": values["kube_encryption_algorithm"],
                                                   "resources": list(values["kube_encryption_resources"])}
        for component, variable in (("kube-controller-manager", "kube_controller_manager_bind_address"),
                                    ("kube-scheduler", "kube_scheduler_bind_address")):
            ops[component] = {"static_pod": {"path": f"{paths['manifests_dir']}/{component}.yaml",
                                             "flags": plan["settings"][component],
                                             "probe_host": probe_host(values[variable]), "mode": MANIFEST_MODE}}
    ops["kubelet"] = {"kubelet_config": {"path": paths["kubelet_config"], "fields": plan["settings"]["kubelet"],
                                         "mode": "0600"}}
    dropin = settings["kubelet_firewall_dropin"]
    if values["kubelet_systemd_hardening"]:
        ops["kubelet"]["config_files"] = {"files": [{"path": dropin, "mode": "0600",
                                                     "content": firewall_dropin_content(node["kubelet_allowed"])}]}
    else:
        ops["kubelet"]["absent"] = {"path": dropin}
    if values["kubelet_rotate_server_certificates"] and node.get("kubelet_running"):
        ops["kubelet"]["exists"] = {"path": settings["kubelet_serving_cert"]}
    ops["file_permissions"] = {"file_modes": {"entries": file_mode_entries(paths, plan["pki_owner"], plan["pki_group"])}}
    return ops


def probe_host(bind_address: Any) -> Any:
    """The address to probe a component bound to bind_address (None: keep kubeadm's 127.0.0.1)."""
    return None if bind_address in ("0.0.0.0", "::", "127.0.0.1", "::1", "", None) else bind_address
