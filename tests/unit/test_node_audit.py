"""Node audit rules: the file is built from the platform's paths that exist on the node, exclusions never hide
a watched path, and the audit tells present (any rules file) from loaded (auditctl -l), from what is there."""

from __future__ import annotations

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import node_audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_operations
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv

KUBEADM = catalogue.layout_for("kubeadm")


def _watch_everything(monkeypatch, missing=()):
    monkeypatch.setattr(node_audit.os.path, "exists", lambda p: p not in missing)
    monkeypatch.setattr(node_audit.os.path, "isdir", lambda p: p not in missing)
    monkeypatch.setattr(node_audit.integrity, "locate", lambda b: None if b in missing else f"/usr/bin/{b}")


def test_only_paths_whose_directory_exists_are_watched_narrowest_key_first():
    present = {"/etc/kubernetes/pki", "/etc/kubernetes", "/etc/kubernetes/manifests", "/var/lib/kubelet"}
    found = node_audit.watches(KUBEADM.audit_rules, KUBEADM.as_dict(), exists=present.__contains__,
                               locate=lambda b: "/usr/bin/kubelet" if b == "kubelet" else None)
    assert found == [("/etc/kubernetes/pki", "kubernetes-pki"), ("/etc/kubernetes/manifests", "kubernetes-manifests"),
                     ("/etc/kubernetes", "kubernetes-config"), ("/var/lib/kubelet/config.yaml", "kubelet-config"),
                     ("/var/lib/kubelet/kubeadm-flags.env", "kubelet-config"), ("/var/lib/kubelet/pki", "kubelet-pki"),
                     ("/usr/bin/kubelet", "kubernetes-binaries")]


def test_the_rules_file_excludes_runtime_state_before_any_watch(monkeypatch):
    _watch_everything(monkeypatch, missing={"/var/log/containers"})
    text = node_audit.build(KUBEADM.audit_rules, KUBEADM.as_dict(), ["/srv/scratch"], 8192)
    lines = text.splitlines()
    assert "-b 8192" in lines
    never = [i for i, line in enumerate(lines) if line.startswith("-a never,exit")]
    watch = [i for i, line in enumerate(lines) if line.startswith("-w ")]
    assert max(never) < min(watch)
    assert "-a never,exit -F dir=/var/lib/containerd" in lines and "-a never,exit -F dir=/srv/scratch" in lines
    assert not any("/var/log/containers" in line for line in lines)      # missing here: the kernel would refuse it
    assert "-w /usr/bin/runc -p wa -k kubernetes-binaries" in lines
    no_backlog = node_audit.build(KUBEADM.audit_rules, KUBEADM.as_dict(), [], 0)
    assert not any(line.startswith("-b ") for line in no_backlog.splitlines())


@pytest.mark.parametrize("directory", ["/etc/kubernetes", "/etc", "/usr/bin"])
def test_an_exclusion_that_would_hide_a_watched_path_is_refused(monkeypatch, directory):
    _watch_everything(monkeypatch)
    with pytest.raises(ValueError, match=f"kubeguard_node_audit_exclude_dirs: '{directory}' would hide"):
        node_audit.build(KUBEADM.audit_rules, KUBEADM.as_dict(), [directory], 8192)


@pytest.mark.parametrize("value", ["/srv/x\n-e 0", "/srv/x y", "relative", "/srv/../etc", "/", "/etc", "/srv/\x7f"])
def test_exclusion_dirs_are_validated_before_anything(value):
    with pytest.raises(ValueError, match="kubeguard_node_audit_exclude_dirs"):
        hv.validate({"kubeguard_node_audit_exclude_dirs": [value]})


def test_a_watched_path_with_a_newline_never_becomes_a_rule():
    with pytest.raises(ValueError, match="control characters"):
        node_audit.rules_text([("/usr/bin/kube\nlet", "k")], [], 0)


@pytest.mark.parametrize("value", ["yes", 1.5, -1, 2_000_000, None])
def test_backlog_is_a_bounded_integer(value):
    with pytest.raises(ValueError, match="kubeguard_node_audit_backlog"):
        hv.validate({"kubeguard_node_audit_backlog": value})


def _runner(status: str, listing: str = "", rc: int = 0):
    def run(argv):
        if argv[:2] == ["auditctl", "-s"]:
            return rc, status
        return 0, listing
    return run


def _state(tmp_path, run, files=None):
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    spec = {"watch": [{"path": "/etc/kubernetes", "key": "k8s"}, {"binary": "kubelet", "key": "bin"}]}
    seen = node_audit.observe(spec, {}, run=run, rules_dir=str(tmp_path), locate=lambda b: "/usr/bin/kubelet")
    return {"node_audit": seen}


def test_present_is_any_rules_file_that_watches_writes_and_attributes(tmp_path, monkeypatch):
    monkeypatch.setattr(node_audit.os.path, "exists", lambda p: True)
    not_running = _runner("auditctl: not installed", rc=127)
    mine = "-w /etc/kubernetes/ -p rwa -k mine\n-a always,exit -F path=/usr/bin/kubelet -F perm=wa\n"
    state = _state(tmp_path, not_running, {"50-mine.rules": mine})
    assert node_audit.evaluate("present", state).passed is True
    state = _state(tmp_path, not_running, {"50-mine.rules": "-w /etc/kubernetes -p r\n",
                                           "60-other.txt": "-w /usr/bin/kubelet -p wa\n"})
    outcome = node_audit.evaluate("present", state)
    assert outcome.passed is False and "/etc/kubernetes" in outcome.found and "/usr/bin/kubelet" in outcome.found


def test_loaded_is_judged_only_where_auditd_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(node_audit.os.path, "exists", lambda p: True)
    outcome = node_audit.evaluate("loaded", _state(tmp_path, _runner("auditctl: not installed", rc=127)))
    assert outcome.passed is None and "not installed" in outcome.found
    outcome = node_audit.evaluate("loaded", _state(tmp_path, _runner("enabled 1\npid 0\n")))
    assert outcome.passed is False and "auditd is not running" in outcome.found
    running = "enabled 1\nfailure 1\npid 412\nbacklog_limit 8192\n"
    outcome = node_audit.evaluate("loaded", _state(tmp_path, _runner(running, "-w /etc/kubernetes/ -p wa -k k8s\n")))
    assert outcome.passed is False and "/usr/bin/kubelet" in outcome.found
    listing = "-w /etc/kubernetes/ -p wa -k k8s\n-w /usr/bin/kubelet -p wa -k bin\n"
    assert node_audit.evaluate("loaded", _state(tmp_path, _runner(running, listing))).passed is True
    immutable = "enabled 2\npid 412\n"
    outcome = node_audit.evaluate("loaded", _state(tmp_path, _runner(immutable, "-w /etc/kubernetes -p wa\n")))
    assert outcome.passed is False and "immutable" in outcome.found


def test_a_control_that_cannot_be_judged_here_is_manual_with_what_was_seen(tmp_path, monkeypatch):
    monkeypatch.setattr(node_audit.os.path, "exists", lambda p: True)
    state = {**_state(tmp_path, _runner("auditctl: not installed", rc=127)), "components": {}, "layout": {},
             "etcd_data_dir": "/var/lib/etcd"}
    controls = [c for c in catalogue.controls() if str(c["id"]) in ("K.21", "K.22")]
    results = {r["id"]: r for r in audit.audit(state, ["worker"], controls=controls)}
    assert results["K.21"]["status"] == "fail"
    assert results["K.22"]["status"] == "manual" and "not installed" in results["K.22"]["found"]


def test_operations_load_only_where_auditd_runs_and_rules_are_mutable(monkeypatch):
    _watch_everything(monkeypatch)
    values = hv.validate({})
    settings = {"node_audit_rules_file": "/etc/audit/rules.d/20-kubeguard-kubernetes.rules"}
    for seen, load in (({"auditd_running": True, "immutable": False, "not_loaded": ["/etc/kubernetes"]}, True),
                       ({"auditd_running": True, "immutable": True, "not_loaded": ["/etc/kubernetes"]}, False),
                       ({"auditd_running": False, "not_loaded": None}, False)):
        ops = node_operations.node_audit_operations(values, KUBEADM, {"node_audit": seen}, settings)
        assert ops["audit_rules"] == {"load": load, "not_loaded": ["/etc/kubernetes"] if load else []}
        assert ops["config_files"]["files"][0]["mode"] == "0640"


def test_every_platform_has_audit_rules_and_kubespray_inherits_them():
    for name in ("kubeadm", "kubespray", "k3s"):
        assert catalogue.layout_for(name).audit_rules["watch"], name
    assert catalogue.layout_for("kubespray").audit_rules == KUBEADM.audit_rules
