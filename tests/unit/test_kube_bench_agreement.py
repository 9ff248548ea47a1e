"""The comparison with kube-bench: same verdicts agree, explained ones are allowed, others fail."""

from __future__ import annotations

import importlib.util
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("kube_bench_agreement", os.path.join(ROOT, "tools", "kube_bench_agreement.py"))
agreement = importlib.util.module_from_spec(spec)
spec.loader.exec_module(agreement)

KUBE_BENCH = {"Controls": [
    {"id": "1", "tests": [{"section": "1.2", "results": [
        {"test_number": "1.2.15", "status": "FAIL"}, {"test_number": "1.2.16", "status": "PASS"},
        {"test_number": "1.2.1", "status": "WARN"}]}]},
    {"id": "4", "tests": [{"section": "4.3", "results": [{"test_number": "4.3.1", "status": "FAIL"}]}]}]}


def result(cid, passed, automated=True):
    return {"id": cid, "automated": automated, "check_passed": passed, "found": "x",
            "status": ("pass" if passed else "fail") if automated else "manual"}


def test_statuses_from_kube_bench_json():
    assert agreement.kube_bench_statuses(KUBE_BENCH) == {"1.2.15": "FAIL", "1.2.16": "PASS", "1.2.1": "WARN", "4.3.1": "FAIL"}


def test_compare_counts_agreement_and_explanations():
    ours = [result("1.2.15", False), result("1.2.16", True), result("1.2.1", True, automated=False), result("4.3.1", True)]
    statuses = agreement.kube_bench_statuses(KUBE_BENCH)
    agree, known, unknown = agreement.compare(statuses, ours, {})
    assert len(agree) == 2 and known == [] and [line.split()[0] for line in unknown] == ["4.3.1"]
    explained = agreement.explained_ids("| control | why |\n|---|---|\n| 4.3.1 | kube-proxy absent |\n")
    agree, known, unknown = agreement.compare(statuses, ours, explained)
    assert unknown == [] and "kube-proxy absent" in known[0]


def test_main_exit_code(tmp_path):
    (tmp_path / "kb.json").write_text(json.dumps(KUBE_BENCH))
    (tmp_path / "ours.json").write_text(json.dumps({"results": [result("1.2.15", True)]}))
    assert agreement.main([str(tmp_path / "kb.json"), str(tmp_path / "ours.json")]) == 1
    (tmp_path / "ours.json").write_text(json.dumps({"results": [result("1.2.15", False)]}))
    assert agreement.main([str(tmp_path / "kb.json"), str(tmp_path / "ours.json")]) == 0


def test_side_by_side_records_every_kube_bench_control_beside_ours(tmp_path):
    policies = {"Controls": [{"id": "5", "tests": [{"section": "5.1", "results": [
        {"test_number": "5.1.2", "status": "WARN"}, {"test_number": "5.1.10", "status": "WARN"},
        {"test_number": "5.1.1", "status": "PASS"}]}]}]}
    ours = [dict(result(cid, None, automated=False), found="cluster scope") for cid in ("5.1.1", "5.1.2", "5.1.10")]
    lines, missing = agreement.side_by_side(agreement.kube_bench_statuses(policies), ours)
    assert missing == [] and [line.split()[0] for line in lines] == ["5.1.1", "5.1.2", "5.1.10"]
    assert lines[0].split()[:5] == ["5.1.1", "kube-bench", "PASS", "ours", "manual"]
    (tmp_path / "kb.json").write_text(json.dumps(policies))
    (tmp_path / "ours.json").write_text(json.dumps({"results": ours[:2]}))
    assert agreement.main(["--side-by-side", str(tmp_path / "kb.json"), str(tmp_path / "ours.json")]) == 1   # 5.1.10 left out
    (tmp_path / "ours.json").write_text(json.dumps({"results": ours}))
    assert agreement.main(["--side-by-side", str(tmp_path / "kb.json"), str(tmp_path / "ours.json")]) == 0


def test_not_applicable_results_are_not_compared():
    ours = [dict(result("1.2.15", None), status="not_applicable")]
    agree, known, unknown = agreement.compare({"1.2.15": "FAIL"}, ours, {})
    assert agree == known == unknown == []


def test_side_by_side_shows_our_cluster_scope_verdicts(tmp_path):
    policies = {"Controls": [{"id": "5", "tests": [{"section": "5.2", "results": [
        {"test_number": "5.2.5", "status": "WARN"}, {"test_number": "5.2.7", "status": "WARN"}]}]}]}
    ours = [dict(result(cid, None, automated=False), found="cluster scope") for cid in ("5.2.5", "5.2.7")]
    cluster = [{"id": "5.2.5", "check_passed": False, "found": "kube-system/kube-apiserver-cp1: hostNetwork"}]
    (tmp_path / "kb.json").write_text(json.dumps(policies))
    (tmp_path / "ours.json").write_text(json.dumps({"results": ours}))
    (tmp_path / "cluster.json").write_text(json.dumps({"namespaces": {}, "results": cluster}))
    lines, _ = agreement.side_by_side(agreement.kube_bench_statuses(policies), ours, cluster)
    assert lines[0].split()[:5] == ["5.2.5", "kube-bench", "WARN", "ours", "manual:fail"] and "hostNetwork" in lines[0]
    assert lines[1].split()[4] == "manual"
    assert agreement.main(["--side-by-side", str(tmp_path / "kb.json"), str(tmp_path / "ours.json"),
                           "--cluster", str(tmp_path / "cluster.json")]) == 0
