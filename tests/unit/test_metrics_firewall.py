"""The metrics ports firewall: which listeners are beyond loopback, the rules and unit it writes, and
where the node plan adds it."""

from __future__ import annotations

from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import metrics_firewall as mf

SETTINGS = {"metrics_firewall_dir": "/etc/kubeguard",
            "metrics_firewall_unit_file": "/etc/systemd/system/kubeguard-metrics-firewall.service"}


def test_only_listeners_beyond_loopback_are_firewalled():
    flags = {"kube-controller-manager": {"bind-address": "0.0.0.0"},
             "kube-scheduler": {"bind-address": "127.0.0.1"},
             "etcd": {"listen-metrics-urls": "http://127.0.0.1:2381,http://10.0.0.5:2381"}}
    assert mf.exposed_ports(flags) == [("kube-controller-manager", 10257, 4), ("etcd", 2381, 4)]
    # no --bind-address: the component binds every address
    assert mf.exposed_ports({"kube-scheduler": {}}) == [("kube-scheduler", 10259, 4)]
    assert mf.exposed_ports({"kube-scheduler": {"bind-address": "::", "secure-port": "11259"}}) == [("kube-scheduler", 11259, 0)]
    assert mf.exposed_ports({"kube-scheduler": {"bind-address": "::1"}, "etcd": {"listen-metrics-urls": "http://localhost:2381"}}) == []
    assert mf.files({"kube-scheduler": {"bind-address": "127.0.0.1"}}, ["10.0.0.0/8"], SETTINGS) is None


def test_rules_let_loopback_and_the_declared_sources_through_and_drop_the_rest_on_those_ports_only():
    text = mf.rules([10259, 10257, 10257], ["10.233.64.0/18", "10.89.0.2", "fd00::/64"], 4)
    assert text.splitlines()[1:] == [
        "*mangle", ":KUBEGUARD-METRICS - [0:0]",
        "-A KUBEGUARD-METRICS -p tcp -m multiport ! --dports 10257,10259 -j RETURN",
        "-A KUBEGUARD-METRICS -i lo -j RETURN",
        "-A KUBEGUARD-METRICS -s 10.233.64.0/18 -j RETURN", "-A KUBEGUARD-METRICS -s 10.89.0.2/32 -j RETURN",
        "-A KUBEGUARD-METRICS -j DROP", "COMMIT"]
    assert "-s fd00::/64 -j RETURN" in mf.rules([10257], ["10.0.0.0/8", "fd00::/64"], 6)


def test_the_unit_loads_both_families_hooks_input_once_and_unhooks_on_stop():
    found = mf.files({"kube-controller-manager": {"bind-address": "0.0.0.0"}}, ["10.0.0.0/8"], SETTINGS)
    paths = [f["path"] for f in found["files"]]
    assert paths == ["/etc/kubeguard/metrics-firewall.rules", "/etc/kubeguard/metrics-firewall6.rules",
                     "/etc/systemd/system/kubeguard-metrics-firewall.service"]
    unit = found["files"][2]["content"]
    assert "ExecStart=iptables-restore --noflush /etc/kubeguard/metrics-firewall.rules" in unit
    # hooked into mangle INPUT, walked before filter INPUT, where a network plugin's ACCEPT would come first
    assert ("iptables -t mangle -C INPUT -p tcp -j KUBEGUARD-METRICS 2>/dev/null || iptables -t mangle -I INPUT 1 -p tcp -j KUBEGUARD-METRICS"
            in unit)
    assert "ExecStart=-ip6tables-restore --noflush /etc/kubeguard/metrics-firewall6.rules" in unit
    assert "ExecStop=/bin/sh -c 'iptables -t mangle -D INPUT -p tcp -j KUBEGUARD-METRICS" in unit
    # the filter table's chain of earlier versions is taken out before loading, and on stop
    starts = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert starts[0].startswith("ExecStart=/bin/sh -c 'iptables -t filter -D INPUT -p tcp -j KUBEGUARD-METRICS")
    assert "ExecStop=/bin/sh -c 'iptables -t filter -D INPUT -p tcp -j KUBEGUARD-METRICS" in unit
    assert found["exposed"] == ["kube-controller-manager 10257"]
    assert [f["mode"] for f in found["files"]] == ["0600", "0600", "0644"]


def test_default_sources_are_the_pod_networks_and_the_nodes_once_each():
    assert mf.default_sources(["10.233.64.0/18", "fd85::/112"], ["10.89.0.2", "10.89.0.2", "10.233.64.0/18"]) == [
        "10.233.64.0/18", "fd85::/112", "10.89.0.2/32"]


def test_the_node_plan_adds_it_where_the_flags_expose_metrics():
    from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars
    from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_operations
    values = hardening_vars.defaults()
    ops = {"kube-controller-manager": {"static_pod": {"flags": {"bind-address": "0.0.0.0"}}},
           "kube-scheduler": {"static_pod": {"flags": {"bind-address": "127.0.0.1"}}},
           "etcd": {"env_file": {"variables": {"ETCD_LISTEN_METRICS_URLS": "http://0.0.0.0:2381"}}}}
    firewall = node_operations.metrics_firewall_operations(values, ops, {"node_addresses": ["10.89.0.7"]}, SETTINGS)
    assert firewall["exposed"] == ["kube-controller-manager 10257", "etcd 2381"]
    assert "-s 10.233.64.0/18 -j RETURN" in firewall["config_files"]["files"][0]["content"]
    assert "-s 10.89.0.7/32 -j RETURN" in firewall["config_files"]["files"][0]["content"]
    values["kubeguard_metrics_allowed_sources"] = ["192.0.2.10/32"]
    rules = node_operations.metrics_firewall_operations(values, ops, {"node_addresses": ["10.89.0.7"]}, SETTINGS)
    assert "-s 10.89.0.7/32" not in rules["config_files"]["files"][0]["content"]
    ops["kube-controller-manager"]["static_pod"]["flags"]["bind-address"] = "127.0.0.1"
    ops["etcd"]["env_file"]["variables"]["ETCD_LISTEN_METRICS_URLS"] = "http://127.0.0.1:2381"
    assert node_operations.metrics_firewall_operations(values, ops, {}, SETTINGS) is None
