"""The CIS audit from real state: a fake /proc and a copy of kubeadm's files on disk, judged by the
same catalogue the apply path uses."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.manifest import edit_manifest

SEED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "molecule", "shared",
                    "vars", "hardening-seed.yml")


def start(proc, pid, args, environ=None, exe=None, uid=0):
    """A process as /proc shows it: by default root running the binary its argv[0] names."""
    os.makedirs(proc / str(pid))
    (proc / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in args) + b"\0")
    (proc / str(pid) / "environ").write_bytes(b"\0".join(f"{k}={v}".encode() for k, v in (environ or {}).items()))
    (proc / str(pid) / "status").write_text(f"Name:\t{os.path.basename(args[0])[:15]}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n")
    os.symlink(exe or os.path.join("/usr/local/bin", args[0]), proc / str(pid) / "exe")


@pytest.fixture
def node(kubeadm_files):
    """kubeadm's files under tmp_path, a layout pointing at them, and an empty /proc."""
    return kubeadm_files


def manifest_command(layout, component):
    with open(os.path.join(layout.manifests_dir, f"{component}.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["spec"]["containers"][0]["command"]


def by_id(results):
    return {r["id"]: r for r in results}


def test_running_process_is_the_truth_not_the_manifest(node):
    root, layout = node
    command = manifest_command(layout, "kube-apiserver")
    start(root / "proc", 100, command + ["--profiling=false"])
    state = audit.observe(layout, str(root / "proc"))
    assert state["components"]["kube-apiserver"]["source"] == "process"
    assert state["components"]["kube-scheduler"]["source"] == "manifest"      # not running: its manifest
    results = by_id(audit.audit(state, ["control_plane"]))
    assert results["1.2.15"]["status"] == "pass" and results["1.2.15"]["found"] == "--profiling=false"
    assert results["1.4.1"]["status"] == "fail"                                 # scheduler manifest: no --profiling
    # every control is listed; another role's sections say so instead of being judged
    assert results["4.2.1"]["status"] == "not_applicable" and "not a worker" in results["4.2.1"]["found"]
    assert results["2.1"]["status"] == "not_applicable" and results["2.1"]["check_passed"] is None
    assert results["5.1.1"]["status"] == "manual" and results["3.1.1"]["found"].startswith("cluster scope")
    assert set(results) == {str(c["id"]) for c in catalogue.controls()}


def test_seed_hardening_turns_failures_into_passes(node):
    root, layout = node
    values = hv.validate(yaml.safe_load(open(SEED, encoding="utf-8")))
    before = by_id(audit.audit(audit.observe(layout, str(root / "proc")), ["control_plane"]))
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        path = os.path.join(layout.manifests_dir, f"{component}.yaml")
        with open(path, encoding="utf-8") as handle:
            pod = yaml.safe_load(handle)
        pod, _ignored = edit_manifest(pod, desired.component_flags(values, layout, component))
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(pod, handle)
    after = by_id(audit.audit(audit.observe(layout, str(root / "proc")), ["control_plane"]))
    fixed = [cid for cid in after if before[cid]["status"] == "fail" and after[cid]["status"] == "pass"]
    for cid in ("1.2.15", "1.2.16", "1.2.17", "1.3.2", "1.4.1", "1.2.27"):
        assert before[cid]["status"] in ("fail", "manual") and after[cid]["check_passed"], cid
    assert len(fixed) >= 7


def test_kubelet_flag_wins_over_its_config_file(node):
    root, layout = node
    start(root / "proc", 200, ["/usr/bin/kubelet", f"--config={layout.kubelet_config}", "--anonymous-auth=true"])
    results = by_id(audit.audit(audit.observe(layout, str(root / "proc")), ["worker"]))
    assert results["4.2.1"]["status"] == "fail" and results["4.2.1"]["found"] == "authentication.anonymous.enabled=true"
    (root / "proc" / "200" / "cmdline").write_bytes(f"/usr/bin/kubelet\0--config={layout.kubelet_config}\0".encode())
    results = by_id(audit.audit(audit.observe(layout, str(root / "proc")), ["worker"]))
    assert results["4.2.1"]["status"] == "pass"           # kubeadm's config: anonymous.enabled false


def test_host_etcd_flags_come_from_its_environment(node):
    root, layout = node
    os.unlink(os.path.join(layout.manifests_dir, "etcd.yaml"))
    start(root / "proc", 300, ["/usr/local/bin/etcd"], {"ETCD_CLIENT_CERT_AUTH": "true", "ETCD_AUTO_TLS": "false",
                                                        "ETCD_DATA_DIR": "/srv/etcd"})
    state = audit.observe(layout, str(root / "proc"))
    assert state["etcd_data_dir"] == "/srv/etcd"
    results = by_id(audit.audit(state, ["etcd"]))
    assert results["2.2"]["status"] == "pass" and results["2.3"]["status"] == "pass"


def test_file_modes_and_owners_are_read_from_disk(node):
    root, layout = node
    config = os.path.join(layout.manifests_dir, "kube-apiserver.yaml")
    os.chmod(config, 0o644)
    results = by_id(audit.audit(audit.observe(layout, str(root / "proc")), ["control_plane"]))
    assert results["1.1.1"]["status"] == "fail" and "mode 644" in results["1.1.1"]["found"]
    os.chmod(config, 0o400)
    results = by_id(audit.audit(audit.observe(layout, str(root / "proc")), ["control_plane"]))
    assert results["1.1.1"]["status"] == "pass"


def test_waivers_are_reported_not_passed(node):
    root, layout = node
    results = by_id(audit.audit(audit.observe(layout, str(root / "proc")), ["control_plane"],
                                waivers={"1.2.15": "profiling kept for the perf team"}))
    assert results["1.2.15"]["status"] == "waived" and results["1.2.15"]["check_passed"] is False
    assert results["1.2.15"]["waiver"] == "profiling kept for the perf team"
    summary = audit.summarize(results.values())
    assert summary["1"]["waived"] == 1
    assert summary["total"] == {s: sum(summary[k][s] for k in summary if k != "total") for s in audit.STATUSES}


def test_manual_controls_say_manual():
    results = audit.audit({"layout": catalogue.layout_for("kubeadm").as_dict(), "components": {},
                           "etcd_data_dir": "/var/lib/etcd"}, ["control_plane"], file_reader=lambda *_ignored: [])
    manual = [r for r in results if not r["automated"] and r["status"] != "not_applicable"]
    assert manual and all(r["status"] == "manual" for r in manual)
    assert {r["section"] for r in results if r["status"] == "not_applicable"} == {"2", "4", "K"}   # K: the kubelet's


def test_section_k_applies_by_component():
    state = {"layout": catalogue.layout_for("kubeadm").as_dict(), "etcd_data_dir": "/var/lib/etcd",
             "components": {"kubelet": {"source": "process", "flags": {}}},
             "kubelet_config": {"tlsMinVersion": "VersionTLS10", "authentication": {"webhook": {"enabled": True}}}}
    results = {r["id"]: r for r in audit.audit(state, ["worker"], file_reader=lambda *_ignored: [])}
    assert results["K.4"]["status"] == "fail" and results["K.4"]["found"] == "tlsMinVersion=VersionTLS10"
    assert results["K.8"]["status"] == "pass"
    assert results["K.1"]["status"] == "not_applicable" and "not a control plane" in results["K.1"]["found"]
    assert [r["section"] for r in audit.audit(state, ["worker"], file_reader=lambda *_ignored: [])][-1] == "K"


def test_a_symlinked_kubeconfig_is_judged_by_its_target(tmp_path):
    """admin.conf -> a 0666 file: 1.1.13 fails, naming both; a dangling link is not a pass."""
    real = tmp_path / "elsewhere.conf"
    real.write_text("kubeconfig")
    os.chmod(real, 0o666)
    link = tmp_path / "admin.conf"
    link.symlink_to(real)
    facts = audit.file_facts(str(link))
    assert facts == [{"path": f"{link} -> {real}", "mode": 0o666, "owner": "root:root", "dir": False}]
    outcome = audit._file_check({"file": str(link), "mode": "0600", "owner": "root:root"}, facts)
    assert outcome.passed is False and "mode 666" in outcome.found
    os.chmod(real, 0o600)
    assert audit._file_check({"file": str(link), "mode": "0600"}, audit.file_facts(str(link))).passed is True
    real.unlink()
    dangling = audit.file_facts(str(link))
    assert audit._file_check({"file": str(link), "mode": "0600"}, dangling).passed is False
