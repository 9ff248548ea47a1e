"""Components as platform data: each component's health endpoint reaches the roles through the node's
operations, and a rollback knows which endpoints and units a platform has."""

from __future__ import annotations

from ansible_collections.kubeguard.hardening.plugins.filter.hardening import kubeguard_health_urls
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import never_weaker, node_operations

SETTINGS = {"node_audit_rules_file": "/etc/audit/rules.d/20-kubeguard-kubernetes.rules",
            "sysctl_file": "/s", "sysctl_apply": False, "etcd_env_file": "/etc/etcd.env", "etcd_user": "etcd",
            "audit_shared_log_dirs": ["/var/log"], "kubelet_firewall_dropin": "/x",
            "metrics_firewall_dir": "/nonexistent/kubeguard",
            "metrics_firewall_unit_file": "/nonexistent/kubeguard-metrics-firewall.service", "kubelet_serving_cert": "/y",
            "apiserver_port": 7443}


def _ops(layout_name, values):
    layout = catalogue.layout_for(layout_name)
    state = {"layout": layout.as_dict(), "components": {}, "etcd_data_dir": "/var/lib/etcd", "kubelet_config": None,
             "encryption_providers": []}
    plan = never_weaker.plan(values, layout, state)
    node = {"control_plane": True, "etcd_host": False, "kubelet_running": False, "kubelet_allowed": []}
    return node_operations.operations(values, layout, plan, node, SETTINGS)


def test_health_endpoints_come_from_the_platform_and_the_bind_address():
    values = hv.validate({"kube_scheduler_bind_address": "10.0.0.5"})
    for layout in ("kubeadm", "kubespray"):
        ops = _ops(layout, values)
        assert ops["kube-apiserver"]["health"] == {"url": "https://127.0.0.1:7443/readyz"}
        assert ops["kube-controller-manager"]["health"] == {"url": "https://127.0.0.1:10257/healthz"}
        assert ops["kube-scheduler"]["health"] == {"url": "https://10.0.0.5:10259/healthz"}
        assert ops["kubelet"]["health"] == {"url": "http://127.0.0.1:10248/healthz"}


def test_rollback_probes_only_loopback_endpoints_without_credentials():
    platforms = catalogue.load_platforms()
    assert kubeguard_health_urls(platforms["kubeadm"]["components"], 7443) == {
        "kube-apiserver": "https://127.0.0.1:7443/readyz", "kubelet": "http://127.0.0.1:10248/healthz"}
    assert kubeguard_health_urls(platforms["k3s"]["components"]) == {"agent": "http://127.0.0.1:10248/healthz"}
    units = {u["unit"] for p in platforms.values() for u in p["components"]["restore_units"]}
    assert units == {"kubelet", "etcd", "k3s", "k3s-agent"}


def test_every_platform_says_how_its_components_come_back():
    for name, data in catalogue.load_platforms().items():
        components = data["components"]
        assert components.get("health") and components.get("restore_units"), name
        assert all(u["match"] for u in components["restore_units"]), name
