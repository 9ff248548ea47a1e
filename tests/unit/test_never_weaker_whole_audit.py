"""Never weaker judges the node a run would leave with the whole audit - every CIS and section-K check,
exposure (listeners, the kubelet's unit firewall) and files included, as verify runs them - against the node
as it is. Hostile and careless inputs through every door, on kubeadm's fixture node through node_plan (the
one call a run makes per node): each is refused before any change, naming the variable, the value and what
is allowed; or applied and waived naming the variable, in the plan's summary and in the report; never
silently weaker (every control that would go from pass to fail is waived)."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils import (
    audit, catalogue, exposure, hardening_vars as hv, health, node_plan, predicted)

from test_node_plan import fixture_platform

STRONG = ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
RC4 = "TLS_RSA_WITH_RC4_128_SHA"
DES3 = "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
RS = "system:serviceaccount:kube-system:replicaset-controller"
OVERRIDE = {"kubeguard_allow_override": {"kube-apiserver.pod-security-exemptions": "privileged CNI pods, reviewed"}}
ROLES = ["control_plane", "etcd", "worker"]


# --- the node as it is: kubeadm's files, with some controls made to pass first ------------------------------

def _manifest_flags(layout, component: str, *flags: str) -> None:
    path = os.path.join(layout.manifests_dir, f"{component}.yaml")
    with open(path, encoding="utf-8") as handle:
        pod = yaml.safe_load(handle)
    pod["spec"]["containers"][0]["command"] += list(flags)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(pod, handle)


def _kubelet_fields(layout, **fields: Any) -> None:
    with open(layout.kubelet_config, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    config.update(fields)
    with open(layout.kubelet_config, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle)


def firewall(root, layout) -> None:
    """A kubelet firewall the node has (K.28 passes), where systemd reads the kubelet's drop-ins."""
    (root / "kubelet" / "90-kubeguard-firewall.conf").write_text("[Service]\nIPAddressDeny=any\nIPAddressAllow=localhost 10.89.0.0/16\n")


def strong_ciphers(root, layout) -> None:
    """1.2.29, K.5, K.6 and 4.2.12 pass: every component has a strong cipher list."""
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        _manifest_flags(layout, component, f"--tls-cipher-suites={','.join(STRONG)}")
    _kubelet_fields(layout, tlsCipherSuites=STRONG)


def audit_maxage(root, layout) -> None:
    """1.2.17 passes: the apiserver keeps its audit log 30 days."""
    _manifest_flags(layout, "kube-apiserver", "--audit-log-maxage=30")


def dropin_read_only_port(root, layout) -> None:
    """A kubelet --config-dir drop-in that opens the read-only port (merged over the config file we write)."""
    confd = root / "kubelet.conf.d"
    confd.mkdir()
    (confd / "50-debug.conf").write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\n")
    env = root / "kubelet" / "kubeadm-flags.env"
    env.write_text(env.read_text().rstrip().rstrip('"') + f' --config-dir={confd}"\n')


# --- the table ------------------------------------------------------------------------------------------------
# (id, variables, node, expected): expected is ("refused", variable, [what the message must also say]) or
# ("waived", {control: variable}) or ("applied", {}) - accepted, and nothing passing now fails after the run.
ALLOWED = "allowed"
ROWS: List[tuple] = [
    # the issue's doors: exposure checks never-weaker did not read
    ("etcd plain-text clients on every interface", {"etcd_extra_vars": {"listen-client-urls": "http://0.0.0.0:2379"}}, [],
     ("waived", {"K.12": "etcd_extra_vars", "K.13": "etcd_extra_vars"})),
    ("etcd plain-text clients on its own address", {"etcd_extra_vars": {"listen-client-urls": "https://127.0.0.1:2379,http://10.89.0.10:2379"}},
     [], ("waived", {"K.12": "etcd_extra_vars"})),
    ("etcd plain-text clients on ::", {"etcd_extra_vars": {"listen-client-urls": "http://[::]:2379"}}, [],
     ("waived", {"K.12": "etcd_extra_vars", "K.13": "etcd_extra_vars"})),
    ("etcd TLS clients on every interface", {"etcd_extra_vars": {"listen-client-urls": "https://0.0.0.0:2379"}}, [],
     ("waived", {"K.13": "etcd_extra_vars"})),
    ("etcd plain-text on loopback only", {"etcd_extra_vars": {"listen-client-urls": "http://127.0.0.1:2379"}}, [], ("applied", {})),
    ("etcd metrics on every interface", {"etcd_extra_vars": {"listen-metrics-urls": "http://0.0.0.0:2381"}}, [],
     ("waived", {"K.13": "etcd_extra_vars"})),
    # the issue's doors: insecure cipher suites through extra args
    ("RC4 through the apiserver's extra args", {"kube_kubeadm_apiserver_extra_args": {"tls-cipher-suites": f"{STRONG[1]},{RC4}"}}, [],
     ("refused", "kube_kubeadm_apiserver_extra_args", [RC4, "insecure", ALLOWED, "kube-apiserver.tls-cipher-suites"])),
    ("3DES through the controller-manager's extra args", {"kube_kubeadm_controller_extra_args": {"tls-cipher-suites": f"{STRONG[0]},{DES3}"}},
     [], ("refused", "kube_kubeadm_controller_extra_args", [DES3, "insecure", ALLOWED])),
    ("RC4 through the scheduler's extra args", {"kube_kubeadm_scheduler_extra_args": {"tls-cipher-suites": f"{RC4},{STRONG[0]}"}}, [],
     ("refused", "kube_kubeadm_scheduler_extra_args", [RC4, ALLOWED])),
    ("RC4 through the kubelet's extra config", {"kubelet_config_extra_args": {"tlsCipherSuites": [STRONG[0], RC4]}}, [],
     ("refused", "kubelet_config_extra_args", [RC4, ALLOWED, "kubelet.tlsCipherSuites"])),
    ("RC4 kept deliberately on a node with strong ciphers",
     {"kube_kubeadm_apiserver_extra_args": {"tls-cipher-suites": f"{STRONG[1]},{RC4}"},
      "kubeguard_allow_override": {"kube-apiserver.tls-cipher-suites": "legacy client until Q3"}}, [strong_ciphers],
     ("waived", {"1.2.29": "kube_kubeadm_apiserver_extra_args"})),
    ("RC4 kept deliberately on a node without a cipher list",
     {"kube_kubeadm_apiserver_extra_args": {"tls-cipher-suites": f"{STRONG[1]},{RC4}"},
      "kubeguard_allow_override": {"kube-apiserver.tls-cipher-suites": "legacy client until Q3"}}, [],
     ("waived", {"1.2.29": "kube_kubeadm_apiserver_extra_args"})),
    ("3DES kept deliberately by the kubelet", {"kubelet_config_extra_args": {"tlsCipherSuites": [STRONG[0], DES3]},
                                               "kubeguard_allow_override": {"kubelet.tlsCipherSuites": "old scraper"}}, [strong_ciphers],
     ("waived", {"4.2.12": "kubelet_config_extra_args"})),
    ("3DES kept deliberately by the controller-manager", {"kube_kubeadm_controller_extra_args": {"tls-cipher-suites": f"{DES3},{STRONG[1]}"},
                                                          "kubeguard_allow_override": {"kube-controller-manager.tls-cipher-suites": "lab"}},
     [], ("waived", {"K.5": "kube_kubeadm_controller_extra_args"})),
    ("a strong list through the kubelet's extra config", {"kubelet_config_extra_args": {"tlsCipherSuites": STRONG}}, [], ("applied", {})),
    # the issue's doors: pod networks the kubelet firewall lets through
    ("a /0 pod network", {"kube_pods_subnet": "0.0.0.0/0", "kubelet_systemd_hardening": True}, [],
     ("refused", "kube_pods_subnet", ["'0.0.0.0/0'", "everyone", ALLOWED, "/8"])),
    ("a /0 pod network without the kubelet firewall (the metrics firewall uses it too)", {"kube_pods_subnet": "0.0.0.0/0"}, [],
     ("refused", "kube_pods_subnet", ["'0.0.0.0/0'", ALLOWED])),
    ("::/0 in kubespray's dual-stack list", {"kube_pods_subnets": "10.233.64.0/18,::/0"}, [],
     ("refused", "kube_pods_subnets", ["'::/0'", "everyone", ALLOWED])),
    ("half the internet as the pod network", {"kube_pods_subnet": "0.0.0.0/1"}, [],
     ("refused", "kube_pods_subnet", ["'0.0.0.0/1'", "a large part of the internet", ALLOWED])),
    ("an IPv6 pod network wider than /16", {"kube_pods_subnet_ipv6": "fd00::/7"}, [],
     ("refused", "kube_pods_subnet_ipv6", ["'fd00::/7'", ALLOWED])),
    ("a /8 pod network is narrow enough", {"kube_pods_subnet": "10.0.0.0/8", "kubelet_systemd_hardening": True}, [firewall], ("applied", {})),
    ("everyone in kubelet_secure_addresses", {"kubelet_secure_addresses": "10.0.0.0/8 0.0.0.0/0", "kubelet_systemd_hardening": True}, [],
     ("refused", "kubelet_secure_addresses", ["'0.0.0.0/0'", "everyone", "list the networks that must reach the kubelet"])),
    ("'any' in kubelet_secure_addresses", {"kubelet_secure_addresses": "any", "kubelet_systemd_hardening": True}, [],
     ("refused", "kubelet_secure_addresses", ["'any'", "kubelet_systemd_hardening: false"])),
    # the kubelet firewall the node has
    ("the firewall turned off by the user", {"kubelet_systemd_hardening": False}, [firewall],
     ("waived", {"K.28": "kubelet_systemd_hardening"})),
    ("the firewall removed by a default", {}, [firewall],
     ("refused", "kubelet_systemd_hardening",
      ["K.28", "kubelet_systemd_hardening=false (the default)", "set kubelet_systemd_hardening: true"])),
    ("the firewall kept", {"kubelet_systemd_hardening": True, "kubelet_secure_addresses": "10.89.0.0/16"}, [firewall], ("applied", {})),
    # the issue's doors: a YAML 1.1 octal
    ("audit_log_maxage: 030 (YAML 1.1 reads 24)", {"kubernetes_audit": True, "audit_log_maxage": yaml.safe_load("030")}, [audit_maxage],
     ("waived", {"1.2.17": "audit_log_maxage=24"})),
    ("audit_log_maxage: 030 on a node without audit", {"kubernetes_audit": True, "audit_log_maxage": yaml.safe_load("030")}, [],
     ("waived", {"1.2.17": "audit_log_maxage=24"})),
    # the issue's doors: Pod Security exemptions of controllers that create every workload's pods
    ("exempt the ReplicaSet controller", {"kube_pod_security_exemptions_usernames": [RS]}, [],
     ("refused", "kube_pod_security_exemptions_usernames", [RS, "Deployment", ALLOWED, "kube-apiserver.pod-security-exemptions"])),
    ("exempt the Job controller", {"kube_pod_security_exemptions_usernames": ["system:serviceaccount:kube-system:job-controller"]}, [],
     ("refused", "kube_pod_security_exemptions_usernames", ["job-controller", ALLOWED])),
    ("exempt the DaemonSet controller", {"kube_pod_security_exemptions_usernames": ["system:serviceaccount:kube-system:daemon-set-controller"]},
     [], ("refused", "kube_pod_security_exemptions_usernames", ["daemon-set-controller", ALLOWED])),
    ("exempt the StatefulSet controller", {"kube_pod_security_exemptions_usernames": ["ci-bot", "system:serviceaccount:kube-system:statefulset-controller"]},
     [], ("refused", "kube_pod_security_exemptions_usernames", ["statefulset-controller", ALLOWED])),
    ("exempt the ReplicationController controller",
     {"kube_pod_security_exemptions_usernames": ["system:serviceaccount:kube-system:replication-controller"]}, [],
     ("refused", "kube_pod_security_exemptions_usernames", ["replication-controller", ALLOWED])),
    ("exempt the controller-manager itself", {"kube_pod_security_exemptions_usernames": ["system:kube-controller-manager"]}, [],
     ("refused", "kube_pod_security_exemptions_usernames", ["system:kube-controller-manager", ALLOWED])),
    ("exempt the ReplicaSet controller deliberately", dict(OVERRIDE, kube_pod_security_exemptions_usernames=[RS]), [],
     ("waived", {"5.2.1": "kube_pod_security_exemptions_usernames"})),
    ("exempt a CI runner", {"kube_pod_security_exemptions_usernames": ["system:serviceaccount:ci:runner"]}, [], ("applied", {})),
    # the kubelet merges its drop-ins over the file we write: judged merged
    ("a drop-in that re-opens the read-only port", {}, [dropin_read_only_port],
     ("refused", "50-debug.conf", ["readOnlyPort: 10255 (this run sets 0)", "kubeguard_allow_override: {kubelet.readOnlyPort: <your reason>}"])),
    ("a drop-in that re-opens the read-only port, kept deliberately", {"kubeguard_allow_override": {"kubelet.readOnlyPort": "old agent"}},
     [dropin_read_only_port], ("waived", {"4.2.4": "kubeguard_allow_override"})),
    # more doors: listeners, extra args, switches
    ("controller-manager on every interface", {"kube_controller_manager_bind_address": "0.0.0.0"}, [],
     ("waived", {"1.3.7": "kube_controller_manager_bind_address", "K.13": "kube_controller_manager_bind_address"})),
    ("scheduler on every interface", {"kube_scheduler_bind_address": "0.0.0.0"}, [],
     ("waived", {"1.4.2": "kube_scheduler_bind_address", "K.13": "kube_scheduler_bind_address"})),
    ("the kubelet's read-only port", {"kube_read_only_port": 10255}, [], ("waived", {"4.2.4": "kube_read_only_port"})),
    ("the read-only port through extra config, deliberately",
     {"kubelet_config_extra_args": {"readOnlyPort": 10255}, "kubeguard_allow_override": {"kubelet.readOnlyPort": "old agent"}}, [],
     ("waived", {"4.2.4": "kubelet_config_extra_args"})),
    ("the read-only port through extra config", {"kubelet_config_extra_args": {"readOnlyPort": 10255}}, [],
     ("refused", "kubelet_config_extra_args", ["readOnlyPort", "kube_read_only_port"])),
    ("the kubelet's health port on every interface", {"kubelet_config_extra_args": {"healthzBindAddress": "0.0.0.0"}}, [],
     ("waived", {"K.13": "kubelet_config_extra_args"})),
    ("a token file through extra args", {"kube_kubeadm_apiserver_extra_args": {"token-auth-file": "/etc/tokens.csv"}}, [],
     ("waived", {"1.2.2": "kube_kubeadm_apiserver_extra_args"})),
    ("TLS 1.0 through extra args", {"kube_kubeadm_apiserver_extra_args": {"tls-min-version": "VersionTLS10"}}, [],
     ("refused", "kube_kubeadm_apiserver_extra_args", ["VersionTLS10", "tls_min_version"])),
    ("etcd without client certificates", {"etcd_extra_vars": {"client-cert-auth": "false"}}, [],
     ("refused", "etcd_extra_vars", ["client-cert-auth", "etcd.client-cert-auth"])),
    ("RC4 in tls_cipher_suites", {"tls_cipher_suites": [RC4]}, [], ("refused", "tls_cipher_suites", [RC4, "insecure", "use e.g. TLS_ECDHE"])),
    ("profiling on", {"kube_profiling": True}, [],
     ("waived", {"1.2.15": "kube_profiling", "1.3.2": "kube_profiling", "1.4.1": "kube_profiling"})),
    ("NodeRestriction dropped by the user's list", {"kube_apiserver_enable_admission_plugins": ["AlwaysPullImages"]}, [],
     ("waived", {"1.2.14": "kube_apiserver_enable_admission_plugins"})),
    ("ABAC kept deliberately", {"authorization_modes": ["Node", "RBAC", "ABAC"],
                                "kube_kubeadm_apiserver_extra_args": {"authorization-policy-file": "/etc/kubernetes/abac.jsonl"},
                                "kubeguard_allow_override": {"kube-apiserver.authorization-mode": "legacy policy until 2027"}}, [],
     ("waived", {"K.9": "authorization_modes"})),
    ("AlwaysAllow", {"authorization_modes": ["AlwaysAllow"]}, [], ("refused", "authorization_modes", ["AlwaysAllow", ALLOWED])),
    ("kubelet client certificates not rotated", {"kubelet_rotate_certificates": False}, [], ("waived", {"4.2.10": "kubelet_rotate_certificates"})),
    ("the serving-certificate gate off", {"kube_controller_feature_gates": ["RotateKubeletServerCertificate=false"]}, [],
     ("waived", {"1.3.6": "kube_controller_feature_gates"})),
    ("node audit rules off", {"kubeguard_node_audit_rules": False}, [], ("waived", {"K.21": "kubeguard_node_audit_rules"})),
]


def _run(root, layout, settings, variables: Mapping[str, Any], monkeypatch) -> Dict[str, Any]:
    """hv.validate (the controller), then node_plan.plan_node (the node): HardeningVarsError / ValueError when refused."""
    values = _values(root, variables)
    os.makedirs(values["etcd_data_dir"], exist_ok=True)
    platform = fixture_platform(layout)
    params = {"values": values, "catalogue": catalogue.load(), "platforms": {"fixture": platform},
              "config_dir": str(root / "etc"), "layout": "auto", "node": {"name": "cp1", "control_plane": True, "etcd_host": False},
              "peer_addresses": [], "control_plane_endpoints": [], "settings": settings, "reencrypt_marker": str(root / "m"),
              "audit_roles": ROLES, "proc_root": str(root / "proc")}
    return node_plan.plan_node(params, lambda argv: (0, "2: eth0    inet 10.89.0.10/24 brd 10.89.0.255 scope global eth0\n", ""))


@pytest.fixture
def node(kubeadm_node, monkeypatch):
    root, layout, settings = kubeadm_node
    settings = dict(settings, kubelet_firewall_dropin=str(root / "kubelet" / "90-kubeguard-firewall.conf"))
    # no process, no socket: the fixture node's, not this host's (node_plan reads /proc)
    monkeypatch.setattr(exposure, "listeners", lambda proc_root="/proc": [])
    monkeypatch.setattr(audit, "component_processes", lambda name, proc_root="/proc": [])
    monkeypatch.setattr(health, "process_args", lambda name, proc_root="/proc": [])
    return root, layout, settings


def _values(root, variables: Mapping[str, Any]) -> Dict[str, Any]:
    values = hv.validate(dict(variables))
    return dict(values, etcd_data_dir=str(root / "etcd-data"), audit_log_path=str(root / "audit" / "audit.log"),
                audit_policy_file=str(root / "etc" / "audit-policy.yaml"))


def _after(result: Mapping[str, Any], root, layout, values: Mapping[str, Any]):
    """(the node as the planned operations would leave it, the node now): what verify would observe."""
    state = audit.observe(catalogue.layout_for(result["layout"], str(root / "etc"), {"fixture": fixture_platform(layout)}))
    return predicted.after_operations(state, result["plan"]["settings"], result["operations"], values), state


@pytest.mark.parametrize("variables, tweaks, expected", [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_hostile_input_is_refused_or_waived_never_silently_weaker(node, monkeypatch, variables, tweaks, expected):
    root, layout, settings = node
    for tweak in tweaks:
        tweak(root, layout)
    if expected[0] == "refused":
        _kind, variable, says = expected
        with pytest.raises((hv.HardeningVarsError, ValueError)) as refused:
            _run(root, layout, settings, variables, monkeypatch)
        message = str(refused.value)
        mine = [line for line in message.split("\n") if variable in line] or [message]
        assert any(all(part in line for part in says) for line in mine), message
        return
    result = _run(root, layout, settings, variables, monkeypatch)
    plan = result["plan"]
    after, before = _after(result, root, layout, _values(root, variables))
    reader = predicted.file_reader(result["operations"])
    controls = catalogue.controls()
    was, will = predicted.judge(controls, before, audit.file_facts), predicted.judge(controls, after, reader)
    # never silently weaker: whatever passes now and would not after is waived, naming a variable
    lost = sorted(cid for cid in was if was[cid] is True and will[cid] is not True)
    assert set(lost) <= set(plan["waived"]), (lost, plan["waived"])
    report = {r["id"]: r for r in audit.audit(after, ROLES, plan["waived"], file_reader=reader)}
    for cid, variable in expected[1].items():
        assert variable in plan["waived"].get(cid, ""), (cid, plan["waived"])
        assert any(line.startswith("waived") and plan["waived"][cid] in line for line in plan["summary"]), plan["summary"]
        assert report[cid]["status"] == "waived" and variable in report[cid]["waiver"], report[cid]
    if expected[0] == "applied":
        assert not lost and not [cid for cid in plan["waived"] if cid in was and was[cid] is True]


def test_the_table_covers_every_door_of_the_issue():
    assert len(ROWS) >= 30
    kinds = {row[3][0] for row in ROWS}
    assert kinds == {"refused", "waived", "applied"}


# --- the pieces the predicted node is made of ---------------------------------------------------------------

def test_the_kubelet_firewall_is_read_as_systemd_merges_the_unit():
    """Drop-ins by name, a later empty assignment empties the list, the same name in /etc masks /usr/lib."""
    unit = {"unit": "kubelet.service", "files": {
        "/usr/lib/systemd/system/kubelet.service": [["IPAddressAllow", ["any"]]],
        "/usr/lib/systemd/system/kubelet.service.d/90-fw.conf": [["IPAddressDeny", ["any"]], ["IPAddressAllow", ["0.0.0.0/0"]]],
        "/etc/systemd/system/kubelet.service.d/90-fw.conf": exposure.ip_assignments(
            "[Service]\nIPAddressDeny=any\nIPAddressAllow=\nIPAddressAllow=localhost \\\n 10.0.0.0/8\n[Install]\nIPAddressAllow=any\n"),
    }}
    assert exposure.ip_firewall(unit) == {"allow": ["localhost", "10.0.0.0/8"], "deny": ["any"]}
    assert exposure.kubelet_firewall(unit).passed is True
    del unit["files"]["/etc/systemd/system/kubelet.service.d/90-fw.conf"]      # the /usr/lib one counts again
    outcome = exposure.kubelet_firewall(unit)
    assert outcome.passed is False and "0.0.0.0/0 (everyone)" in outcome.found and "any (any)" in outcome.found
    assert exposure.kubelet_firewall({"unit": "kubelet.service", "files": {}}).passed is None   # no firewall: manual
    assert [exposure.too_wide(t) for t in ("multicast", "10.0.0.0/8", "10.0.0.0/7", "fd00::/16", "fd00::/15", "::/0")] == [
        None, None, "a large part of the internet", None, "a large part of the internet", "everyone"]


def test_listeners_move_as_the_flags_say_and_the_rest_stay():
    state = {"layout": {"components": {}}, "kubelet_config": {"readOnlyPort": 10255},
             "components": {"kubelet": {"source": "process", "flags": {}},
                            "etcd": {"source": "process", "flags": {"listen-client-urls": "https://10.0.0.5:2379"}}},
             "listeners": [{"address": "::", "port": 10255, "pid": 7, "process": "kubelet", "argv": []},
                           {"address": "10.0.0.5", "port": 2379, "pid": 8, "process": "etcd", "argv": []},
                           {"address": "0.0.0.0", "port": 22, "pid": 1, "process": "sshd", "argv": []}]}
    closed = predicted.overlay(state, "kubelet", {"readOnlyPort": 0})
    assert [(e["port"], e["process"]) for e in closed["listeners"]] == [(22, "sshd"), (2379, "etcd")]
    assert state["listeners"][0]["port"] == 10255 and state["kubelet_config"] == {"readOnlyPort": 10255}   # unchanged
    opened = predicted.overlay(state, "etcd", {"listen-client-urls": "http://0.0.0.0:2379,https://10.0.0.5:2379"})
    assert {(e["address"], e["port"]) for e in opened["listeners"] if e["process"] == "etcd"} == {("0.0.0.0", 2379), ("10.0.0.5", 2379)}
    assert exposure.every_interface(opened["listeners"]).passed is False
    assert exposure.etcd_insecure_clients(opened["components"]["etcd"]["flags"]).passed is False


def test_file_facts_after_the_writers_and_the_ceilings(tmp_path):
    loose = tmp_path / "a.conf"
    loose.write_text("x")
    os.chmod(loose, 0o644)
    ops = {"one": {"config_files": {"files": [{"path": str(tmp_path / "new.conf"), "mode": "0640", "content": "y"}]}},
           "two": {"file_modes": {"entries": [{"path": str(tmp_path / "*.conf"), "mode": "0600"}]}}}
    facts = {os.path.basename(f["path"]): (f["mode"], f["owner"].split(":")[0])
             for f in predicted.file_reader(ops)(str(tmp_path / "*.conf"), False)}
    assert facts["a.conf"][0] == 0o600 and facts["new.conf"] == (0o600, "root")


def test_a_loss_no_variable_explains_is_refused_before_any_change(kubeadm_files):
    """judge_run with operations that would loosen a manifest (a writer bug, say): refused, naming the control."""
    root, layout = kubeadm_files
    state = audit.observe(layout, str(root / "proc"))
    manifest = os.path.join(layout.manifests_dir, "kube-scheduler.yaml")
    os.chmod(manifest, 0o600)
    values = hv.validate({})
    result = {"settings": {}, "waived": {}, "kept": []}
    ops = {"kube-scheduler": {"config_files": {"files": [{"path": manifest, "mode": "0666", "content": ""}]}}}
    with pytest.raises(ValueError, match=r"1\.1\.5 .* passes on this node now and would fail after this run: .*kube-scheduler.yaml mode 666"):
        from ansible_collections.kubeguard.hardening.plugins.module_utils import never_weaker
        never_weaker.judge_run(values, state, result, ops, lambda other: (result, ops))


def test_only_a_run_that_writes_is_judged(node, monkeypatch):
    """verify.yml, rotate_keys.yml and the audit after a rollout plan the node without applying the plan's writes:
    variables that would weaken it (the kubelet firewall's switch left at its default) refuse harden.yml only."""
    root, layout, settings = node
    firewall(root, layout)
    with pytest.raises(ValueError, match="K.28"):
        _run(root, layout, settings, {}, monkeypatch)
    values = _values(root, {})
    platform = fixture_platform(layout)
    params = {"values": values, "catalogue": catalogue.load(), "platforms": {"fixture": platform},
              "config_dir": str(root / "etc"), "layout": "auto", "node": {"name": "cp1", "control_plane": True, "etcd_host": False},
              "peer_addresses": [], "control_plane_endpoints": [], "settings": settings, "reencrypt_marker": str(root / "m"),
              "audit_roles": ROLES, "proc_root": str(root / "proc"), "judge_run": False}
    read_only = node_plan.plan_node(params, lambda argv: (0, "2: eth0    inet 10.89.0.10/24 brd 10.89.0.255 scope global eth0\n", ""))
    # the node as it is: its firewall passes K.28 in the report
    assert {r["id"]: r["status"] for r in read_only["report"]["results"]}["K.28"] == "pass"


def test_a_component_the_node_does_not_have_gets_no_waiver(node, monkeypatch):
    """A worker runs no etcd: etcd_extra_vars opens no port there, so K.13 is neither failed nor waived on it."""
    root, layout, settings = node
    variables = {"etcd_extra_vars": {"listen-metrics-urls": "http://0.0.0.0:2381"}}
    with_etcd = _run(root, layout, settings, variables, monkeypatch)
    assert "K.13" in with_etcd["plan"]["waived"]          # the control plane's etcd listens beyond loopback
    os.remove(root / "etc" / "manifests" / "etcd.yaml")
    without = _run(root, layout, settings, variables, monkeypatch)
    assert "K.13" not in without["plan"]["waived"], without["plan"]["waived"]


def test_a_node_that_does_not_run_etcd_gets_no_etcd_waiver(node, monkeypatch):
    """A worker with a leftover etcd file (kubespray's workers keep /etc/etcd.env, here a manifest) runs no etcd
    and the run writes none there: etcd_extra_vars is no cause of anything on it, K.13 is not waived."""
    root, layout, settings = node
    variables = {"etcd_extra_vars": {"listen-metrics-urls": "http://0.0.0.0:2381"}}
    values = _values(root, variables)
    os.makedirs(values["etcd_data_dir"], exist_ok=True)
    base = {"values": values, "catalogue": catalogue.load(), "platforms": {"fixture": fixture_platform(layout)},
            "config_dir": str(root / "etc"), "layout": "auto", "peer_addresses": [], "control_plane_endpoints": [],
            "settings": settings, "reencrypt_marker": str(root / "m"), "audit_roles": ROLES, "proc_root": str(root / "proc")}

    def answer(argv):
        return 0, "2: eth0    inet 10.89.0.10/24 brd 10.89.0.255 scope global eth0\n", ""
    control_plane = node_plan.plan_node(dict(base, node={"name": "cp1", "control_plane": True, "etcd_host": False}), answer)
    assert "K.13" in control_plane["plan"]["waived"]
    worker = node_plan.plan_node(dict(base, node={"name": "w1", "control_plane": False, "etcd_host": False}), answer)
    assert "K.13" not in worker["plan"]["waived"], worker["plan"]["waived"]
    assert "etcd" not in worker["operations"]
