"""The fleet report: one JSON and one HTML page from every node's report, with the change since the
previous fleet report; and a node's report in kube-bench's --json shape."""

from __future__ import annotations

import json
import os
import re

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.kubeguard.hardening.plugins.action.cis_report import ActionModule as CisReport
from ansible_collections.kubeguard.hardening.plugins.action.fleet_report import ActionModule as FleetReport
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit, fleet_report, reports
from test_cis_report_action import run as run_action  # pylint: disable=import-error

KUBE_BENCH_CHECK_KEYS = {"test_number", "test_desc", "audit", "AuditEnv", "AuditConfig", "type", "remediation", "test_info",
                         "status", "actual_value", "scored", "IsMultiple", "expected_result"}


def node_report(node, roles, failing=(), waivers=None):
    """A node's real audit (of an empty node), with chosen controls failing and the rest of its sections passing."""
    state = {"layout": catalogue.layout_for("kubeadm").as_dict(), "etcd_data_dir": "/var/lib/etcd", "components": {}}
    results = audit.audit(state, roles, file_reader=lambda *_ignored: [], waivers=waivers or {})
    for result in results:
        if result["status"] in ("fail", "pass"):
            result["status"] = "fail" if result["id"] in failing else "pass"
    return reports.build(node, "cis-1.12", roles, "kubeadm", {}, results, audit.summarize(results), "2026-11-23T10:00:00Z")


def test_counts_per_node_and_section_equal_the_node_reports():
    cp = node_report("cp1", ["control_plane"], failing={"1.2.15", "1.1.1"})
    worker = node_report("w1", ["worker"], failing={"4.2.1"})
    fleet = fleet_report.build([worker, cp], None, "now")
    assert [n["node"] for n in fleet["nodes"]] == ["cp1", "w1"]
    for report, node in ((cp, fleet["nodes"][0]), (worker, fleet["nodes"][1])):
        for section, counts in node["sections"].items():
            for status in fleet_report.BAR_STATUSES:
                assert counts[status] == report["summary"][section].get(status, 0), (report["node"], section, status)
    assert [f["id"] for f in fleet["failing"]] == ["1.1.1", "1.2.15", "4.2.1"]
    assert fleet["failing"][2]["nodes"] == ["w1"] and fleet["failing"][1]["remediation"]
    assert fleet["totals"]["fail"] == 3 and fleet["change"] == {"since": None}


def test_the_change_since_the_previous_report():
    before = fleet_report.build([node_report("cp1", ["control_plane"], failing={"1.2.15"}),
                                 node_report("old", ["worker"], failing={"4.2.1"})], None, "t1")
    after = fleet_report.build([node_report("cp1", ["control_plane"], failing={"1.2.10", "1.2.2"}),
                                node_report("w2", ["worker"])], before, "t2")
    assert after["change"] == {"since": "t1", "newly_failing": [{"id": "1.2.2", "node": "cp1"}, {"id": "1.2.10", "node": "cp1"}],
                               "fixed": [{"id": "1.2.15", "node": "cp1"}], "nodes_added": ["w2"], "nodes_gone": ["old"]}


def test_the_html_page_is_self_contained_and_escapes_what_nodes_report():
    evil = node_report("<script>alert(1)</script>", ["worker"], failing={"4.2.1"})
    page = fleet_report.to_html(fleet_report.build([evil], None, "now"))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page) and "@import" not in page


def test_kube_bench_shape_and_verdicts():
    report = node_report("cp1", ["control_plane", "etcd"], failing={"1.2.15"}, waivers={"1.2.16": "central audit"})
    data = fleet_report.kube_bench(report, catalogue.load()["kube_bench"])
    assert set(data) == {"Controls", "Totals"}
    assert [(c["id"], c["node_type"]) for c in data["Controls"]] == [("1", "master"), ("2", "etcd"), ("3", "controlplane")]
    master = data["Controls"][0]
    assert [g["section"] for g in master["tests"]] == ["1.1", "1.2", "1.3", "1.4"]
    assert master["tests"][1]["desc"] == "API Server"
    checks = {c["test_number"]: c for g in master["tests"] for c in g["results"]}
    assert checks["1.2.15"]["status"] == "FAIL" and checks["1.2.16"]["status"] == "INFO"
    assert checks["1.2.16"]["reason"] == "waived: central audit"
    assert all(KUBE_BENCH_CHECK_KEYS <= set(c) for c in checks.values())
    for target in data["Controls"]:
        for key in ("pass", "fail", "warn", "info"):
            assert target[f"total_{key}"] == sum(g[key] for g in target["tests"])
            assert target[f"total_{key}"] == sum(1 for g in target["tests"] for c in g["results"] if c["status"] == key.upper())
    assert data["Totals"]["total_fail"] == 1
    assert not any(c["test_number"].startswith("K") for t in data["Controls"] for g in t["tests"] for c in g["results"])


def test_the_actions_write_the_kube_bench_file_and_the_fleet_files(tmp_path):
    for node, roles in (("cp1", ["control_plane"]), ("w1", ["worker"])):
        run_action({"report": node_report(node, roles, failing={"4.2.1"}), "dest_dir": str(tmp_path),
                    "formats": ["json", "kube-bench"]}, CisReport)
    assert sorted(os.listdir(tmp_path)) == ["cp1.json", "cp1.kube-bench.json", "w1.json", "w1.kube-bench.json"]
    first = run_action({"report_dir": str(tmp_path), "nodes": ["cp1", "w1", "gone"]}, FleetReport)
    assert first["missing"] == ["gone"] and first["change"] == {"since": None} and first["changed"] is False
    fleet = json.loads((tmp_path / "fleet.json").read_text())
    assert [n["node"] for n in fleet["nodes"]] == ["cp1", "w1"] and (tmp_path / "fleet.html").stat().st_size > 1000
    second = run_action({"report_dir": str(tmp_path), "nodes": ["cp1", "w1"]}, FleetReport)
    assert second["change"]["since"] == fleet["generated_at"] and second["change"]["newly_failing"] == []


@pytest.mark.parametrize("nodes", [["../x"], [""]])
def test_the_fleet_action_refuses_names_that_are_not_file_names(tmp_path, nodes):
    with pytest.raises(AnsibleActionFail, match="file name"):
        run_action({"report_dir": str(tmp_path), "nodes": nodes}, FleetReport)


def test_no_reports_at_all_is_an_error_naming_the_directory(tmp_path):
    with pytest.raises(AnsibleActionFail, match=str(tmp_path)):
        run_action({"report_dir": str(tmp_path), "nodes": ["cp1"]}, FleetReport)


def test_our_kube_bench_file_has_kube_benchs_shape_and_a_difference_is_named():
    """tools/kube_bench_agreement.py --shape (the live scenario runs it against the node's real kube-bench --json)."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools"))
    import kube_bench_agreement  # pylint: disable=import-error
    ours = fleet_report.kube_bench(node_report("cp1", ["control_plane"], failing={"1.2.15"}), catalogue.load()["kube_bench"])
    ours["Controls"] = ours["Controls"][:1]   # the master target
    # kube-bench's own output as its Go types marshal it (check/controls.go, check/check.go)
    check = {k: "" for k in KUBE_BENCH_CHECK_KEYS}
    real = {"Controls": [{"id": "1", "version": "cis-1.12", "detected_version": "1.34", "text": "x", "node_type": "master",
                          "tests": [{"section": "1.1", "type": "", "pass": 0, "fail": 0, "warn": 0, "info": 0, "desc": "x",
                                     "results": [dict(check, test_number=c["test_number"]) for g in ours["Controls"][0]["tests"]
                                                 for c in g["results"]]}],
                          "total_pass": 0, "total_fail": 0, "total_warn": 0, "total_info": 0}],
            "Totals": {"total_pass": 0, "total_fail": 0, "total_warn": 0, "total_info": 0}}
    assert kube_bench_agreement.shape_differences(real, ours) == []
    del ours["Controls"][0]["tests"][0]["results"][0]["AuditEnv"]
    real["Controls"][0]["tests"][0]["results"].pop()
    problems = kube_bench_agreement.shape_differences(real, ours)
    assert "check of master: missing ['AuditEnv'], extra []" in problems and "kube-bench does not have" in problems[-1]
