"""K3s as a platform data file: config.yaml edited in place, component arguments read from what k3s
logs, the hardening files where seed 004 puts them."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import health
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired, never_weaker, node_operations, node_plan
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.k3s_config import K3sConfigError, arg_text, edit, masked, merged_args, plan

K3S = catalogue.layout_for("k3s")
USER_FILE = """# written by our provisioning
token: K10abc::server:s3cret   # join token
write-kubeconfig-mode: "0644"
kube-apiserver-arg:
  # keep these
  - 'audit-log-maxage=7'   # a week
  - "enable-admission-plugins=NodeRestriction"
  - 'audit-log-maxage=9'

node-label: [zone=a]
kubelet-arg: [max-pods=200]
"""


def test_edit_touches_only_the_lines_that_change():
    new, changes = edit(USER_FILE, {"kube-apiserver-arg": {"audit-log-maxage": "30", "profiling": "false"},
                                    "kubelet-arg": {"read-only-port": 0}},
                        {"protect-kernel-defaults": True})
    lines = new.splitlines()
    # comments, other keys and the user's own items stay, byte for byte
    for kept in ("# written by our provisioning", "token: K10abc::server:s3cret   # join token", "  # keep these",
                 '  - "enable-admission-plugins=NodeRestriction"', "node-label: [zone=a]", 'write-kubeconfig-mode: "0644"'):
        assert kept in lines
    doc = yaml.safe_load(new)
    assert doc["kube-apiserver-arg"] == ["audit-log-maxage=30", "enable-admission-plugins=NodeRestriction", "profiling=false"]
    assert doc["kubelet-arg"] == ["max-pods=200", "read-only-port=0"]
    assert doc["protect-kernel-defaults"] is True and doc["token"] == "K10abc::server:s3cret"
    assert "kube-apiserver-arg: audit-log-maxage=9 -> 30" in changes
    assert "kube-apiserver-arg: duplicate audit-log-maxage removed" in changes
    # idempotent: the same edit again changes nothing, and the text is identical
    again, none = edit(new, {"kube-apiserver-arg": {"audit-log-maxage": "30", "profiling": "false"},
                             "kubelet-arg": {"read-only-port": 0}}, {"protect-kernel-defaults": True})
    assert none == [] and again == new


def test_edit_removes_and_creates():
    new, changes = edit("", {"kube-scheduler-arg": {"bind-address": "127.0.0.1", "profiling": None}},
                        {"secrets-encryption": True})
    assert yaml.safe_load(new) == {"kube-scheduler-arg": ["bind-address=127.0.0.1"], "secrets-encryption": True}
    removed, changes = edit(new, {"kube-scheduler-arg": {"bind-address": None}}, {"secrets-encryption": None})
    assert yaml.safe_load(removed) == {"kube-scheduler-arg": []}
    assert changes == ["kube-scheduler-arg: - bind-address", "secrets-encryption: removed"]


@pytest.mark.parametrize("text, message", [
    ("- a\n- b\n", "mapping"),
    ("kubelet-arg: {a: b}\n", "expected a list"),
    ("a: 1\na: 2\n", "appears twice"),
    ("a: [unclosed\n", "not valid YAML"),
])
def test_edit_refuses_what_it_cannot_edit_faithfully(text, message):
    with pytest.raises(K3sConfigError, match=message):
        edit(text, {"kubelet-arg": {"read-only-port": "0"}}, {})


def test_values_with_control_characters_cannot_add_lines():
    """A newline in a value stays inside one list item (double-quoted, escaped)."""
    new, _ignored = edit("kubelet-arg:\n  - 'max-pods=10'\n", {"kubelet-arg": {"node-labels": "a=b\nprotect-kernel-defaults: false"}}, {})
    doc = yaml.safe_load(new)
    assert set(doc) == {"kubelet-arg"} and doc["kubelet-arg"][1] == "node-labels=a=b\nprotect-kernel-defaults: false"


def test_flow_style_lists_and_quotes_are_rewritten_as_block_lists():
    new, _ignored = edit("kube-apiserver-arg: ['it''s=1', b=2]\n", {"kube-apiserver-arg": {"b": "3"}}, {})
    assert yaml.safe_load(new) == {"kube-apiserver-arg": ["it's=1", "b=3"]}


def test_credentials_never_in_the_diff():
    shown = masked(USER_FILE + "datastore-endpoint: postgres://u:pw@db/k3s\nagent-token: xyz\n")
    assert "s3cret" not in shown and "pw@db" not in shown and "xyz" not in shown
    assert "token: (hidden)" in shown and "write-kubeconfig-mode" in shown


def test_arg_text_and_merge():
    assert arg_text(True) == "true" and arg_text(["A", "B"]) == "A,B" and arg_text({"G": True}) == "G=true"
    assert merged_args(["--a=1", "b=2", "a=3"], {"a": "9", "c": "1"}) == ["a=9", "b=2", "c=1"]


def test_plan_creates_a_missing_file_and_checks_its_mode(tmp_path):
    path = tmp_path / "config.yaml"
    found = plan(str(path), {"kubelet-arg": {"read-only-port": "0"}}, {})
    assert found["changed"] and found["changes"][0].endswith("created") and not path.exists()
    path.write_text(found["after"])
    os.chmod(path, 0o644)
    assert plan(str(path), {"kubelet-arg": {"read-only-port": "0"}}, {})["changes"] == ["mode: 0644 -> 0600"]


LOG = "\n".join([  # as k3s logs them, one line per component
    'time="2026-11-23T10:00:00Z" level=info msg="Starting k3s v1.33.5+k3s1"',
    'time="2026-11-23T10:00:01Z" level=info msg="Running kube-apiserver --advertise-port=6443 --anonymous-auth=false'
    ' --enable-admission-plugins=NodeRestriction --profiling=false"',
    'time="2026-11-23T10:00:02Z" level=info msg="Running kubelet --address=0.0.0.0'
    ' --eviction-hard=imagefs.available<5%,nodefs.available<5% --read-only-port=0"',
]) + "\n"


def test_running_lines_are_read_from_the_units_current_run():
    calls = []

    def run(argv):
        calls.append(argv)
        if argv[0] == "systemctl":
            return "" if argv[-1] == "k3s" else "0123abcd\n"
        return LOG
    found = health.journal_running_args(["k3s", "k3s-agent"], run=run)
    assert found["kube-apiserver"][1:] == ["--advertise-port=6443", "--anonymous-auth=false",
                                           "--enable-admission-plugins=NodeRestriction", "--profiling=false"]
    assert found["kubelet"][2] == "--eviction-hard=imagefs.available<5%,nodefs.available<5%"
    assert ["journalctl", "_SYSTEMD_INVOCATION_ID=0123abcd", "-o", "cat", "--no-pager"] in calls
    assert health.journal_running_args(["k3s"], run=lambda argv: "") == {}


def _seed004_values():
    """Seed 004's settings, said in kubespray's variables."""
    return hardening_vars.validate({
        "kubernetes_audit": True, "audit_log_maxage": 30, "audit_log_maxbackups": 10, "audit_log_maxsize": 100,
        "kube_apiserver_request_timeout": "300s", "kube_apiserver_service_account_lookup": True,
        "kube_controller_terminated_pod_gc_threshold": 10, "kubelet_streaming_connection_idle_timeout": "5m",
        "kubelet_make_iptables_util_chains": True, "kubelet_protect_kernel_defaults": True,
        "kube_encrypt_secret_data": True, "kube_encryption_algorithm": "aescbc",
        "kube_pod_security_use_default": True, "kube_pod_security_default_enforce": "restricted",
        "kube_apiserver_enable_admission_plugins": ["NodeRestriction", "PodSecurity"]})


def _state(journal):
    return audit.observe(K3S, journal_reader=lambda argv: "0123\n" if argv[0] == "systemctl" else journal)


def test_operations_put_seed_004_in_config_yaml():
    values = _seed004_values()
    state = _state(LOG)
    result = never_weaker.plan(values, K3S, state)
    node = {"control_plane": True, "etcd_host": False, "kubelet_allowed": [], "kubelet_running": True}
    settings = {"node_audit_rules_file": "/etc/audit/rules.d/20-kubeguard-kubernetes.rules",
                "sysctl_file": "/etc/sysctl.d/90-kubelet.conf", "audit_shared_log_dirs": ["/var/log"],
                "etcd_user": "etcd", "etcd_env_file": "/etc/etcd.env", "kubelet_firewall_dropin": "/x",
                "metrics_firewall_dir": "/nonexistent/kubeguard", "metrics_firewall_unit_file": "/nonexistent/kubeguard-metrics-firewall.service",
                "kubelet_serving_cert": "/y"}
    ops = node_operations.operations(values, K3S, result, node, settings)
    assert set(ops) == {"sysctl", "node_audit", "k3s", "file_permissions"}
    k3s = ops["k3s"]["k3s_config"]
    api = k3s["lists"]["kube-apiserver-arg"]
    assert api["admission-control-config-file"] == "/var/lib/rancher/k3s/server/psa.yaml"
    assert api["audit-policy-file"] == "/var/lib/rancher/k3s/server/audit.yaml"
    assert api["audit-log-path"] == "/var/lib/rancher/k3s/server/logs/audit.log"
    assert (api["audit-log-maxage"], api["audit-log-maxbackup"], api["audit-log-maxsize"]) == ("30", "10", "100")
    assert api["request-timeout"] == "300s" and api["service-account-lookup"] == "true"
    assert k3s["lists"]["kube-controller-manager-arg"]["terminated-pod-gc-threshold"] == "10"
    assert k3s["lists"]["kube-controller-manager-arg"]["use-service-account-credentials"] == "true"
    kubelet = k3s["lists"]["kubelet-arg"]
    assert kubelet["streaming-connection-idle-timeout"] == "5m" and kubelet["make-iptables-util-chains"] is True
    # kube-proxy runs inside k3s: its metrics on loopback (CIS 4.3.1), from kube_proxy_metrics_bind_address
    assert k3s["lists"]["kube-proxy-arg"] == {"metrics-bind-address": "127.0.0.1:10249"}
    assert k3s["top"] == {"protect-kernel-defaults": True, "secrets-encryption": "true"} or \
        k3s["top"] == {"protect-kernel-defaults": True, "secrets-encryption": True}
    # what k3s does its own way is not written
    for skipped in ("authentication-config", "anonymous-auth", "encryption-provider-config", "kubelet-certificate-authority"):
        assert skipped not in api
    assert "rotate-server-certificates" not in kubelet and "protect-kernel-defaults" not in kubelet
    files = {f["path"] for f in ops["k3s"]["config_files"]["files"]}
    assert {"/var/lib/rancher/k3s/server/psa.yaml", "/var/lib/rancher/k3s/server/audit.yaml"} <= files
    assert not any("authentication" in f for f in files)
    assert ops["k3s"]["directory"] == {"path": "/var/lib/rancher/k3s/server/logs", "owner": "root", "group": "root",
                                       "mode": "0700"}
    modes = {e["path"]: e for e in ops["file_permissions"]["file_modes"]["entries"]}
    assert modes["/var/lib/rancher/k3s/server/tls"]["recurse"] and modes["/etc/rancher/k3s/config.yaml"]["mode"] == "0600"


def test_agents_get_only_the_kubelet_and_unsupported_choices_are_refused():
    values = _seed004_values()
    result = never_weaker.plan(values, K3S, _state(LOG))
    node = {"control_plane": False, "etcd_host": False, "kubelet_allowed": [], "kubelet_running": True}
    settings = {"node_audit_rules_file": "/etc/audit/rules.d/20-kubeguard-kubernetes.rules",
                "sysctl_file": "/s", "audit_shared_log_dirs": [], "etcd_user": "etcd", "etcd_env_file": "/e",
                "kubelet_firewall_dropin": "/x",
                "metrics_firewall_dir": "/nonexistent/kubeguard",
                "metrics_firewall_unit_file": "/nonexistent/kubeguard-metrics-firewall.service", "kubelet_serving_cert": "/y"}
    ops = node_operations.operations(values, K3S, result, node, settings)
    assert set(ops["k3s"]) == {"k3s_config", "service"} and set(ops["k3s"]["k3s_config"]["lists"]) == {"kubelet-arg", "kube-proxy-arg"}
    # the health gate expects what the kubelet is started with: its list and the top-level key
    assert ops["k3s"]["service"] == {"unit": "k3s-agent", "url": "http://127.0.0.1:10248/healthz", "components": {
        "kubelet": {"anonymous-auth": "false", "authentication-token-webhook": "true", "authorization-mode": "Webhook",
                    "read-only-port": "0",
                    "event-qps": "50", "streaming-connection-idle-timeout": "5m", "make-iptables-util-chains": "true",
                    "seccomp-default": "false", "tls-min-version": "VersionTLS12", "protect-kernel-defaults": "true"},
        "kube-proxy": {"metrics-bind-address": "127.0.0.1:10249"}}}
    assert ops["k3s"]["k3s_config"]["top"] == {"protect-kernel-defaults": True}
    aesgcm = dict(values, kube_encryption_algorithm="aesgcm")
    with pytest.raises(ValueError, match="kube_encryption_algorithm: 'aesgcm' is not supported on k3s; allowed: aescbc, secretbox"):
        node_operations.operations(aesgcm, K3S, result, node, settings)
    extra = dict(values, kubelet_config_extra_args={"maxPods": 10})
    extra_plan = never_weaker.plan(extra, K3S, _state(LOG))
    with pytest.raises(ValueError, match="kubelet_config_extra_args: maxPods cannot be set on this platform"):
        node_operations.operations(extra, K3S, extra_plan, node, settings)


def test_secretbox_sets_k3s_provider_option():
    values = dict(_seed004_values(), kube_encryption_algorithm="secretbox")
    result = never_weaker.plan(values, K3S, _state(LOG))
    node = {"control_plane": True, "etcd_host": False, "kubelet_allowed": [], "kubelet_running": True}
    settings = {"node_audit_rules_file": "/etc/audit/rules.d/20-kubeguard-kubernetes.rules",
                "sysctl_file": "/s", "audit_shared_log_dirs": [], "etcd_user": "etcd", "etcd_env_file": "/e",
                "kubelet_firewall_dropin": "/x",
                "metrics_firewall_dir": "/nonexistent/kubeguard",
                "metrics_firewall_unit_file": "/nonexistent/kubeguard-metrics-firewall.service", "kubelet_serving_cert": "/y"}
    top = node_operations.operations(values, K3S, result, node, settings)["k3s"]["k3s_config"]["top"]
    assert top["secrets-encryption-provider"] == "secretbox"


def test_audit_reads_k3s_components_from_their_logged_arguments():
    state = _state(LOG)
    assert state["components"]["kube-apiserver"] == {
        "source": "process log", "flags": {"advertise-port": "6443", "anonymous-auth": "false",
                                           "enable-admission-plugins": "NodeRestriction", "profiling": "false"}}
    assert state["components"]["kubelet"]["flags"]["read-only-port"] == "0"
    results = {r["id"]: r for r in audit.audit(state, ["control_plane", "worker"])}
    assert results["1.2.1"]["check_passed"] and results["1.2.15"]["check_passed"]
    assert results["1.2.16"]["status"] == "fail"          # audit-log-path: not logged yet
    not_running = _state("")
    assert not_running["components"]["kube-apiserver"]["source"] in ("absent", "config file")


def test_user_choices_stay_theirs_on_k3s():
    """never weaker works on k3s too: a user's weaker flag is applied and waived."""
    values = hardening_vars.validate({"kube_profiling": True})
    result = never_weaker.plan(values, K3S, _state(LOG))
    assert result["settings"]["kube-apiserver"]["profiling"] == "true"
    assert "1.2.15" in result["waived"]


def test_node_plan_sees_the_k3s_config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("kubelet-arg:\n  - 'read-only-port=0'\n")
    os.chmod(path, 0o600)
    ops = {"k3s": {"k3s_config": {"path": str(path), "lists": {"kubelet-arg": {"read-only-port": 0}}, "top": {}, "mode": "0600"}}}
    assert node_plan.evaluate(ops)[0] == {"k3s": []}
    ops["k3s"]["k3s_config"]["top"] = {"protect-kernel-defaults": True}
    assert node_plan.evaluate(ops)[0] == {"k3s": [f"{path}: protect-kernel-defaults: true"]}


def test_k3s_hardening_files_follow_seed_004():
    values = _seed004_values()
    files = {f["path"]: yaml.safe_load(f["content"]) for f in desired.apiserver_files(values, K3S)}
    psa = files["/var/lib/rancher/k3s/server/psa.yaml"]
    assert psa["kind"] == "AdmissionConfiguration" and psa["plugins"][0]["name"] == "PodSecurity"
    podsecurity = files[psa["plugins"][0]["path"]]
    assert podsecurity["defaults"]["enforce"] == "restricted"
    assert files["/var/lib/rancher/k3s/server/audit.yaml"]["kind"] == "Policy"
    # the user's own audit path wins over the platform's
    mine = hardening_vars.validate({"audit_log_path": "/var/log/k3s-audit/audit.log"})
    assert catalogue.hardening_paths(mine, K3S)["audit_log_path"] == "/var/log/k3s-audit/audit.log"


def test_kubelet_settings_are_judged_as_the_flags_k3s_passes():
    """k3s sets kubelet fields as kubelet-arg flags, and a flag wins over any config file: the plan's
    prediction must move the flag, not a config field the running flag would override."""
    state = _state(LOG)
    state["components"]["kubelet"]["flags"]["read-only-port"] = "10255"   # the operator's kubelet-arg
    state["kubelet_config"] = {}
    values = hardening_vars.validate({"kube_read_only_port": 0})
    control = next(c for c in catalogue.controls() if str(c["id"]) == "4.2.4")
    assert not never_weaker._judge(control, state)
    after = never_weaker.overlay(state, "kubelet", {"readOnlyPort": 0, "notAFlagField": 1}, values)
    assert after["components"]["kubelet"]["flags"]["read-only-port"] == "0"
    assert after["kubelet_config"] == {}
    assert never_weaker._judge(control, after)
