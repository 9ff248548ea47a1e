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


def test_not_applicable_results_are_not_compared():
    ours = [dict(result("1.2.15", None), status="not_applicable")]
    agree, known, unknown = agreement.compare({"1.2.15": "FAIL"}, ours, {})
    assert agree == known == unknown == []


def test_section_5_agreement_on_the_controls_kube_bench_audits(tmp_path):
    audited = agreement.POLICIES_AUDITED
    verdicts = {cid: "WARN" if cid in ("5.1.1", "5.2.5") else "PASS" for cid in audited}
    policies = {"Controls": [{"id": "5", "tests": [{"section": "5", "results": [
        {"test_number": cid, "status": status} for cid, status in dict(verdicts, **{"5.1.10": "WARN"}).items()]}]}]}
    cluster = [{"id": cid, "check_passed": cid not in ("5.1.1", "5.2.5"), "found": "x"} for cid in audited]
    (tmp_path / "kb.json").write_text(json.dumps(policies))
    (tmp_path / "cluster.json").write_text(json.dumps({"results": cluster, "summary": {}}))
    agree, known, unknown = agreement.compare_policies(agreement.kube_bench_statuses(policies), cluster, {})
    assert len(agree) == len(audited) == 11 and known == unknown == []   # 5.1.10: manual in kube-bench, not compared
    cluster[0]["check_passed"] = True    # we pass 5.1.1, kube-bench warns
    (tmp_path / "cluster.json").write_text(json.dumps({"results": cluster}))
    assert agreement.main(["--policies", str(tmp_path / "kb.json"), str(tmp_path / "cluster.json")]) == 1
    (tmp_path / "why.md").write_text("| 5.1.1 | kube-bench counts kubeadm's own binding |\n")
    assert agreement.main(["--policies", str(tmp_path / "kb.json"), str(tmp_path / "cluster.json"),
                           "--explained", str(tmp_path / "why.md")]) == 0
    _ignored, _ignored, unknown = agreement.compare_policies(agreement.kube_bench_statuses(policies), cluster[1:], {})
    assert unknown == ["5.1.1    kube-bench WARN ours missing"]


def test_an_explanation_marked_for_one_stage_holds_only_there():
    text = "| control | why |\n|---|---|\n| 4.3.1 (before) | kube-bench reads no config |\n| 1.1.12 | etcd user |\n"
    assert agreement.explained_ids(text, "before") == {"4.3.1": "kube-bench reads no config", "1.1.12": "etcd user"}
    assert agreement.explained_ids(text, "after") == {"1.1.12": "etcd user"}
    assert agreement.explained_ids(text) == {"1.1.12": "etcd user"}
    # the live document: after hardening nothing automated needs explaining
    with open(os.path.join(ROOT, "docs", "kube-bench-agreement.md"), encoding="utf-8") as handle:
        assert agreement.explained_ids(handle.read(), "after") == {}
