"""Report formats: the JSON schema fields, JUnit XML that parses with failures where the audit
failed, Markdown with the failed controls, and verify_fail_on."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit, reports


@pytest.fixture
def report():
    state = {"layout": catalogue.layout_for("kubeadm").as_dict(), "etcd_data_dir": "/var/lib/etcd",
             "components": {"kube-apiserver": {"source": "process", "flags": {"profiling": "true", "anonymous-auth": "false"}},
                            "kubelet": {"source": "process", "flags": {}}},
             "kubelet_config": {"authentication": {"anonymous": {"enabled": False}}, "readOnlyPort": 0}}
    files = {"/etc/kubernetes/manifests/kube-apiserver.yaml": [
        {"path": "/etc/kubernetes/manifests/kube-apiserver.yaml", "mode": 0o644, "owner": "root:root", "dir": False}]}
    results = audit.audit(state, ["control_plane", "worker"], {"4.2.2": "webhook authz by the platform team"},
                          file_reader=lambda path, recurse: files.get(path, []) if isinstance(path, str) else [])
    return reports.build("cp1", "cis-1.12", ["control_plane", "worker"], "kubeadm", {"kube-apiserver": "process"},
                         results, audit.summarize(results), "2026-11-22T00:00:00Z")


def test_json_has_the_documented_fields(report):
    data = json.loads(reports.to_json(report))
    assert data["schema"] == reports.SCHEMA and data["node"] == "cp1"
    assert set(data["summary"]) >= {"1", "4", "total"}
    one = next(r for r in data["results"] if r["id"] == "1.2.15")
    assert one["status"] == "fail" and one["found"] == "--profiling=true" and one["remediation"]
    assert set(one) >= {"id", "section", "title", "level", "automated", "status", "found", "expected", "remediation", "waiver"}


def test_junit_parses_and_counts(report):
    root = ET.fromstring(reports.junit(report))
    cases = root.findall(".//testcase")
    assert len(cases) == len(report["results"])
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert any(name.startswith("1.2.15 ") for name in failed)
    assert any(name.startswith("1.1.1 ") for name in failed)             # 644 apiserver manifest
    assert int(root.get("failures")) == report["summary"]["total"]["fail"] == len(failed)
    waived = [c for c in cases if c.get("name").startswith("4.2.2 ")][0]
    assert "webhook authz" in waived.find("skipped").get("message")


def test_markdown_lists_failures_and_table(report):
    text = reports.markdown(report)
    assert "| 1.2.15 Ensure that the --profiling argument is set to false | --profiling=true |" in text
    assert text.count("\n| 1.") >= 30


def test_fail_on(report):
    assert reports.failures(report, "never") == []
    failed = reports.failures(report, "failed")
    assert {r["id"] for r in failed} >= {"1.2.15", "1.1.1"} and all(r["status"] == "fail" for r in failed)
    assert all(r["level"] == 1 for r in reports.failures(report, "level1"))
    with pytest.raises(ValueError, match="verify_fail_on"):
        reports.failures(report, "sometimes")


def test_console_table_totals(report):
    lines = reports.summary_table(report)
    total = report["summary"]["total"]
    row = next(line for line in lines if line.startswith("total"))
    assert row.split() == ["total", str(total["pass"]), str(total["fail"]), str(total["manual"]), str(total["waived"]),
                           str(total["not_applicable"])]
    waived = [r for r in report["results"] if r["status"] == "waived"]
    assert lines[-len(waived):] == [f"waived {r['id']}: {r['waiver']}" for r in waived] if waived else lines[-1] == row


@pytest.mark.parametrize("roles", [["control_plane"], ["worker"], ["etcd"], ["control_plane", "etcd", "worker"]])
def test_every_control_of_the_benchmark_is_in_every_report(roles):
    """Cluster-scope controls (3.1.x, section 5) as manual, another role's controls as not_applicable:
    whatever the node, no control id is left out of the JSON, JUnit or Markdown report."""
    state = {"layout": catalogue.layout_for("kubeadm").as_dict(), "etcd_data_dir": "/var/lib/etcd", "components": {}}
    results = audit.audit(state, roles, file_reader=lambda *_: [])
    report = reports.build("n1", "cis-1.12", roles, "kubeadm", {}, results, audit.summarize(results), "2026-11-22T00:00:00Z")
    ids = [str(c["id"]) for c in catalogue.controls()]
    assert len([i for i in ids if not i.startswith("K.")]) == 131          # CIS v1.12, as kube-bench ships it
    assert [r["id"] for r in json.loads(reports.to_json(report))["results"]] == ids
    junit_names = [c.get("name").split(" ", 1)[0] for c in ET.fromstring(reports.junit(report)).findall(".//testcase")]
    assert junit_names == ids
    markdown = reports.markdown(report)
    assert all(f"\n| {cid} " in markdown for cid in ids)
    by_id = {r["id"]: r for r in results}
    assert all(by_id[c]["status"] == "manual" for c in ids if c.startswith(("5.", "3.1.")))
    assert ("5" in report["summary"]) and report["summary"]["total"]["manual"] >= 37
    if roles == ["worker"]:
        assert by_id["1.2.15"]["status"] == "not_applicable" and by_id["1.2.15"]["expected"] is None


RUNNING = "the running kube-apiserver (pid 4242: /usr/local/bin/kube-apiserver --version)"


@pytest.mark.parametrize("info, field", [
    ({"version": "v1.34.4", "source": RUNNING, "given": None, "used": "v1.34.4"},
     {"version": "v1.34.4", "source": RUNNING, "running": "v1.34.4", "running_source": RUNNING}),
    ({"version": "v1.31.4", "source": RUNNING, "given": "v1.34.4", "used": "v1.34.4"},
     {"version": "v1.34.4", "source": "kube_version", "running": "v1.31.4", "running_source": RUNNING}),
    ({"version": None, "source": "nothing here runs or holds a Kubernetes binary that tells its version", "given": None, "used": "v1.34.4"},
     {"version": "v1.34.4", "source": "documented default", "running": None,
      "running_source": "nothing here runs or holds a Kubernetes binary that tells its version"}),
])
def test_the_kubernetes_field_says_the_release_and_why_that_one(info, field):
    """node_plan.node_version's {version, source, given, used} -> the report's `kubernetes` field."""
    assert reports.kubernetes_field(info) == field


def test_the_release_is_in_the_json_the_junit_properties_and_the_markdown_header(report):
    from ansible_collections.kubeguard.hardening.plugins.module_utils.report import fleet_report
    field = reports.kubernetes_field({"version": "v1.34.4", "source": RUNNING, "given": None, "used": "v1.34.4"})
    with_release = reports.build("cp1", "cis-1.12", report["roles"], "kubeadm", report["sources"], report["results"],
                                 report["summary"], report["generated_at"], kubernetes=field)
    assert json.loads(reports.to_json(with_release))["kubernetes"] == field
    root = ET.fromstring(reports.junit(with_release))
    for suite in root.findall("testsuite"):
        assert {p.get("name"): p.get("value") for p in suite.findall("properties/property")} == {
            "kubernetes_version": "v1.34.4", "kubernetes_version_source": RUNNING, "kubernetes_running": "v1.34.4"}
        assert list(suite)[0].tag == "properties"       # JUnit's place for them: before the testcases
    header = reports.markdown(with_release).split("```", 1)[0]
    assert f"\nKubernetes v1.34.4, read from {RUNNING}.\n" in header
    default = dict(with_release, kubernetes=reports.kubernetes_field({"version": None, "source": "nothing told", "used": "v1.34.4"}))
    assert "Kubernetes v1.34.4, the documented default: no release could be read (nothing told); set kube_version." in reports.markdown(default)
    # the fleet shows each node's release; kube-bench's shape has it as detected_version
    fleet = fleet_report.build([with_release], None, "now")
    assert fleet["nodes"][0]["kubernetes"] == "v1.34.4"
    assert '<td class="kubernetes">v1.34.4</td>' in fleet_report.to_html(fleet)
    assert {t["detected_version"] for t in fleet_report.kube_bench(with_release, catalogue.load()["kube_bench"])["Controls"]} == {"1.34"}


def test_a_report_from_before_the_field_still_renders(report):
    """Reports written by older runs have no `kubernetes`: JSON, JUnit, Markdown, the fleet and kube-bench's shape
    render them as before, saying nothing about a release."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.report import fleet_report
    assert "kubernetes" not in report
    assert ET.fromstring(reports.junit(report)).find(".//properties") is None
    text = reports.markdown(report)
    assert "Kubernetes v" not in text and text.startswith("# CIS cis-1.12 report: cp1\n\nGenerated 2026-11-22T00:00:00Z")
    fleet = fleet_report.build([report, dict(report, node="cp2", kubernetes={"version": "v1.34.4"})], None, "now")
    assert [n["kubernetes"] for n in fleet["nodes"]] == [None, "v1.34.4"]
    assert '<td class="kubernetes">-</td>' in fleet_report.to_html(fleet)
    assert {t["detected_version"] for t in fleet_report.kube_bench(report, catalogue.load()["kube_bench"])["Controls"]} == {""}
    # a malformed field (not an object) is treated as absent, not a crash
    odd = dict(report, kubernetes="v1.34.4")
    assert "Kubernetes v" not in reports.markdown(odd) and ET.fromstring(reports.junit(odd)).find(".//properties") is None
    assert fleet_report.build([odd], None, "now")["nodes"][0]["kubernetes"] is None


def test_the_cluster_report_carries_the_servers_release_when_it_answers():
    from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import cluster_audit
    said = "the API server's /version (kubectl version)"
    report = cluster_audit.report([], [], "cis-1.12", "now", {}, kubernetes=cluster_audit.release_field("v1.34.4"))
    assert report["kubernetes"] == {"version": "v1.34.4", "source": said, "running": "v1.34.4", "running_source": said}
    assert f"Kubernetes v1.34.4, read from {said}." in reports.markdown(report)
    assert cluster_audit.release_field(None) is None
    assert "kubernetes" not in cluster_audit.report([], [], "cis-1.12", "now", {}, kubernetes=cluster_audit.release_field(None))
