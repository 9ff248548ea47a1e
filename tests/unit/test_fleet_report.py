"""The fleet report: one JSON and one HTML page from every node's report, with the change since the
previous fleet report; and a node's report in kube-bench's --json shape."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.kubeguard.hardening.plugins.action.cis_report import ActionModule as CisReport
from ansible_collections.kubeguard.hardening.plugins.action.fleet_report import ActionModule as FleetReport
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit, fleet_report, reports
from test_cis_report_action import RENUMBERED, run as run_action  # pylint: disable=import-error

KUBE_BENCH_CHECK_KEYS = {"test_number", "test_desc", "audit", "AuditEnv", "AuditConfig", "type", "remediation", "test_info",
                         "status", "actual_value", "scored", "IsMultiple", "expected_result"}


TITLES = {"cis-1.12": "CIS Kubernetes Benchmark v1.12.0", "cis-2.0": "CIS Kubernetes Benchmark v2.0.1"}


def node_report(node, roles, failing=(), waivers=None, benchmark="cis-1.12", kubernetes=None):
    """A node's real audit (of an empty node), with chosen controls failing and the rest of its sections passing."""
    state = {"layout": catalogue.layout_for("kubeadm").as_dict(), "etcd_data_dir": "/var/lib/etcd", "components": {}}
    results = audit.audit(state, roles, file_reader=lambda *_ignored: [], waivers=waivers or {})
    for result in results:
        if result["status"] in ("fail", "pass"):
            result["status"] = "fail" if result["id"] in failing else "pass"
    return reports.build(node, benchmark, roles, "kubeadm", {}, results, audit.summarize(results), "2026-11-23T10:00:00Z",
                         kubernetes=kubernetes)


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
                               "fixed": [{"id": "1.2.15", "node": "cp1"}], "nodes_added": ["w2"], "nodes_gone": ["old"],
                               "benchmark_changed": [], "not_compared": []}


def release(version, source="the running kube-apiserver (pid 1: kube-apiserver --version)"):
    return {"version": version, "source": source, "running": version, "running_source": source}


def test_each_node_names_its_benchmark_and_release_in_the_json_the_page_and_the_summary():
    fleet = fleet_report.build([node_report("cp1", ["control_plane"], failing={"1.2.15"}, kubernetes=release("v1.34.4")),
                                node_report("w1", ["worker"], kubernetes=release("v1.34.2", "documented default"))],
                               None, "now", TITLES)
    assert [(n["node"], n["benchmark"], n["benchmark_title"], n["kubernetes"], n["kubernetes_source"]) for n in fleet["nodes"]] == [
        ("cp1", "cis-1.12", "CIS Kubernetes Benchmark v1.12.0", "v1.34.4", "the running kube-apiserver (pid 1: kube-apiserver --version)"),
        ("w1", "cis-1.12", "CIS Kubernetes Benchmark v1.12.0", "v1.34.2", "documented default")]
    assert fleet["benchmark"] == "cis-1.12" and fleet["mixed_benchmarks"] is False
    assert fleet["benchmarks"] == [{"id": "cis-1.12", "title": "CIS Kubernetes Benchmark v1.12.0", "nodes": ["cp1", "w1"]}]
    assert fleet["failing"][0]["benchmark"] == "cis-1.12"
    assert json.loads(fleet_report.to_json(fleet))["nodes"][0]["benchmark_title"] == "CIS Kubernetes Benchmark v1.12.0"
    page = fleet_report.to_html(fleet)
    assert '<td class="benchmark">cis-1.12<div class="meta">CIS Kubernetes Benchmark v1.12.0</div></td>' in page
    assert '<td class="kubernetes">v1.34.4</td>' in page
    assert '<td class="kubernetes">v1.34.2<div class="meta">the documented default: not read from the node</div></td>' in page
    assert '<p id="benchmarks">Benchmark cis-1.12 (CIS Kubernetes Benchmark v1.12.0).</p>' in page and 'class="mixed"' not in page
    lines = fleet_report.summary(fleet)
    assert lines[0] == "2 reports, judged with cis-1.12 (CIS Kubernetes Benchmark v1.12.0)"
    assert lines[1] == "Kubernetes: v1.34.4 on cp1; v1.34.2 (the documented default: not read from the node) on w1"
    assert lines[2].endswith("; 1 controls fail somewhere")


def test_mixed_benchmarks_are_said_and_a_control_fails_once_per_benchmark():
    """An upgrade half done: cp1 at 1.35 judged with CIS 2.0.1, cp2 and w1 still with 1.12; a failing control of
    the same id is one entry per benchmark (their remediations may differ)."""
    fleet = fleet_report.build([node_report("cp1", ["control_plane"], failing={"1.2.10"}, benchmark="cis-2.0", kubernetes=release("v1.35.0")),
                                node_report("cp2", ["control_plane"], failing={"1.2.10"}, kubernetes=release("v1.34.4")),
                                node_report("w1", ["worker"], kubernetes=release("v1.34.4"))], None, "now", TITLES)
    assert fleet["mixed_benchmarks"] is True and fleet["benchmark"] is None
    assert [(b["id"], b["title"], b["nodes"]) for b in fleet["benchmarks"]] == [
        ("cis-1.12", "CIS Kubernetes Benchmark v1.12.0", ["cp2", "w1"]), ("cis-2.0", "CIS Kubernetes Benchmark v2.0.1", ["cp1"])]
    assert [(f["id"], f["benchmark"], f["nodes"]) for f in fleet["failing"]] == [("1.2.10", "cis-1.12", ["cp2"]), ("1.2.10", "cis-2.0", ["cp1"])]
    page = fleet_report.to_html(fleet)
    assert '<div id="benchmarks" class="mixed"><p><b>The 3 reports were judged with different benchmarks</b>' in page
    assert '<li data-benchmark="cis-2.0">cis-2.0 (CIS Kubernetes Benchmark v2.0.1): cp1</li>' in page
    assert "<title>CIS fleet report - different benchmarks</title>" in page
    assert fleet_report.summary(fleet)[:2] == [
        "3 reports, judged with different benchmarks - their counts are not of the same controls: "
        "cis-1.12 (CIS Kubernetes Benchmark v1.12.0) on cp2, w1; cis-2.0 (CIS Kubernetes Benchmark v2.0.1) on cp1",
        "Kubernetes: v1.35.0 on cp1; v1.34.4 on cp2, w1"]


CHECKS = catalogue.benchmark_checks()


def test_a_node_judged_with_another_benchmark_is_compared_on_the_same_checks():
    """cp1 moved from CIS 1.12 to 2.0.1 between the runs (the two share their checks): what newly fails and what was
    fixed on it counts, each entry saying it was compared across benchmarks; w1 kept its benchmark and its change
    counts as ever; a new node's failures are new."""
    before = fleet_report.build([node_report("cp1", ["control_plane"], failing={"1.2.15"}),
                                 node_report("w1", ["worker"], failing={"4.2.1"})], None, "t1", TITLES, CHECKS)
    after = fleet_report.build([node_report("cp1", ["control_plane"], failing={"1.2.10"}, benchmark="cis-2.0"),
                                node_report("w1", ["worker"], failing={"4.2.2"}),
                                node_report("w2", ["worker"], failing={"4.2.3"}, benchmark="cis-2.0")], before, "t2", TITLES, CHECKS)
    across = {"was_benchmark": "cis-1.12", "now_benchmark": "cis-2.0"}
    assert after["change"] == {
        "since": "t1", "newly_failing": [{"id": "1.2.10", "node": "cp1", "was_id": "1.2.10", **across},
                                         {"id": "4.2.2", "node": "w1"}, {"id": "4.2.3", "node": "w2"}],
        "fixed": [{"id": "1.2.15", "node": "cp1", "was_id": "1.2.15", **across}, {"id": "4.2.1", "node": "w1"}],
        "nodes_added": ["w2"], "nodes_gone": [],
        "benchmark_changed": [{"node": "cp1", "was": "cis-1.12", "now": "cis-2.0", "compared": True, "why": None}],
        "not_compared": []}
    page = fleet_report.to_html(after)
    assert ('<tr data-node="cp1"><td>cp1</td><td>cis-1.12</td><td>cis-2.0</td><td class="compared">the same checks</td>'
            '<td>none</td><td>none</td></tr>') in page
    assert ('<span id="newly-failing">1.2.10 on cp1 (compared across benchmarks: 1.2.10 (cis-1.12) -&gt; 1.2.10 (cis-2.0)),'
            ' 4.2.2 on w1, 4.2.3 on w2</span>') in page
    assert '<span id="fixed">1.2.15 on cp1 (compared across benchmarks: 1.2.15 (cis-1.12) -&gt; 1.2.15 (cis-2.0)), 4.2.1 on w1</span>' in page
    summary = fleet_report.summary(after)
    assert ("newly failing 1.2.10 on cp1 (compared across benchmarks: 1.2.10 (cis-1.12) -> 1.2.10 (cis-2.0)), 4.2.2 on w1,"
            " 4.2.3 on w2; fixed 1.2.15 on cp1 (compared across benchmarks: 1.2.15 (cis-1.12) -> 1.2.15 (cis-2.0)), 4.2.1 on w1") in summary[3]
    assert summary[4] == ("Compared across benchmarks - judged with another benchmark than in the previous run: cp1 (cis-1.12 ->"
                          " cis-2.0); the controls that are the same check in both are in newly failing and fixed, saying so; 0"
                          " failing in one run whose check the other benchmark does not have are not compared (change.not_compared)")
    # the next run, with cp1 on 2.0.1 both times, compares it as ever
    again = fleet_report.build([node_report("cp1", ["control_plane"], benchmark="cis-2.0"), node_report("w1", ["worker"])],
                               after, "t3", TITLES, CHECKS)
    assert again["change"]["fixed"] == [{"id": "1.2.10", "node": "cp1"}, {"id": "4.2.2", "node": "w1"}]
    assert again["change"]["benchmark_changed"] == [] and again["change"]["not_compared"] == []
    # without the catalogue's checks (a caller that gives none) nothing on cp1 is compared
    blind = fleet_report.build([node_report("cp1", ["control_plane"], failing={"1.2.10"}, benchmark="cis-2.0")], before, "t2", TITLES)
    assert blind["change"]["newly_failing"] == [] and blind["change"]["benchmark_changed"][0]["compared"] is False


def test_across_benchmarks_a_nodes_controls_are_matched_by_their_check_never_by_their_id():
    """A benchmark that numbers the checks its own way (RENUMBERED: cis-x's 1.1.90 is 1.1.1's check, its 1.1.2 is
    1.1.3's; it has no 1.1.2 check, and 1.1.4's, which cis-1.12 there has not): a renumbered check is newly failing or
    fixed naming both ids, a check one benchmark does not have is not compared, saying why."""
    checks = catalogue.benchmark_checks(RENUMBERED)
    previous = {"schema": fleet_report.SCHEMA, "generated_at": "t1", "nodes": [{"node": "cp1", "benchmark": "cis-1.12"}],
                "failing": [{"id": c, "benchmark": "cis-1.12", "nodes": ["cp1"]} for c in ("1.1.1", "1.1.2", "1.1.5")]}
    nodes = [{"node": "cp1", "benchmark": "cis-x"}]
    failing = [{"id": c, "benchmark": "cis-x", "nodes": ["cp1"]} for c in ("1.1.2", "1.1.4", "1.1.5")]
    across = {"was_benchmark": "cis-1.12", "now_benchmark": "cis-x"}
    found = fleet_report.change(previous, nodes, failing, checks)
    assert found["newly_failing"] == [{"id": "1.1.2", "node": "cp1", "was_id": "1.1.3", **across}]      # 1.1.3 did not fail
    assert found["fixed"] == [{"id": "1.1.90", "node": "cp1", "was_id": "1.1.1", **across}]
    assert found["not_compared"] == [
        {"id": "1.1.2", "node": "cp1", "benchmark": "cis-1.12", "why": "cis-x's 1.1.2 is another check", "was_failing": True,
         "now_failing": False},
        {"id": "1.1.4", "node": "cp1", "benchmark": "cis-x", "why": "cis-1.12 has no control of its check", "was_failing": False,
         "now_failing": True}]
    assert found["benchmark_changed"] == [{"node": "cp1", "was": "cis-1.12", "now": "cis-x", "compared": True, "why": None}]
    # a benchmark the catalogue does not have: nothing compared on the node, every difference listed, and why
    odd = fleet_report.change(dict(previous, nodes=[{"node": "cp1", "benchmark": "cis-9.9"}]), nodes, failing, checks)
    why = "cis-9.9 is not a benchmark of this collection's catalogue"
    assert odd["newly_failing"] == odd["fixed"] == []
    assert odd["benchmark_changed"] == [{"node": "cp1", "was": "cis-9.9", "now": "cis-x", "compared": False, "why": why}]
    assert [(d["id"], d["benchmark"], d["why"], d["was_failing"]) for d in odd["not_compared"]] == [
        ("1.1.1", "cis-9.9", why, True), ("1.1.4", "cis-x", why, False)]


def test_a_report_that_names_no_benchmark_is_said_and_never_compared():
    """A node's report left from an older run (or written by hand) without `benchmark`, or with "unknown": the
    fleet says the benchmark is not named, counts as mixed, and compares none of its controls."""
    old = node_report("old1", ["worker"], failing={"4.2.1"})
    del old["benchmark"]
    odd = dict(node_report("odd1", ["worker"]), benchmark="unknown")
    fleet = fleet_report.build([old, odd, node_report("cp1", ["control_plane"])], None, "t1", TITLES)
    assert [(n["node"], n["benchmark"], n["benchmark_title"]) for n in fleet["nodes"]] == [
        ("cp1", "cis-1.12", TITLES["cis-1.12"]), ("odd1", None, None), ("old1", None, None)]
    assert fleet["mixed_benchmarks"] is True and fleet["benchmark"] is None
    assert fleet["benchmarks"][-1] == {"id": None, "title": None, "nodes": ["odd1", "old1"]}
    assert fleet["failing"] == [dict(fleet["failing"][0], id="4.2.1", benchmark=None, nodes=["old1"])]
    page = fleet_report.to_html(fleet)
    assert page.count('<td class="benchmark none">benchmark not named</td>') == 2
    assert '<li data-benchmark="">benchmark not named: odd1, old1</li>' in page
    assert "benchmark not named on odd1, old1" in fleet_report.summary(fleet)[0]
    # the same report again: no benchmark on either side is no evidence of the same one
    again = fleet_report.build([old, odd, node_report("cp1", ["control_plane"])], fleet, "t2", TITLES, CHECKS)
    why = "the previous run names no benchmark"
    assert again["change"]["benchmark_changed"] == [{"node": "odd1", "was": None, "now": None, "compared": False, "why": why},
                                                    {"node": "old1", "was": None, "now": None, "compared": False, "why": why}]
    assert again["change"]["newly_failing"] == [] and again["change"]["not_compared"] == []


def test_a_previous_fleet_report_without_each_nodes_benchmark_is_not_compared_on_trust():
    """A fleet.json written before fleet reports kept each node's benchmark (its one `benchmark` was the first
    report's): the first run after it compares no node of both runs - it lists what differs as not compared."""
    previous = fleet_report.build([node_report("cp1", ["control_plane"], failing={"1.2.15"})], None, "t1", TITLES)
    for node in previous["nodes"]:
        for key in ("benchmark", "benchmark_title", "kubernetes_source"):
            del node[key]
    for key in ("benchmarks", "mixed_benchmarks"):
        del previous[key]
    for entry in previous["failing"]:
        del entry["benchmark"]
    after = fleet_report.build([node_report("cp1", ["control_plane"], failing={"1.2.16"}), node_report("w1", ["worker"], failing={"4.2.1"})],
                               json.loads(fleet_report.to_json(previous)), "t2", TITLES, CHECKS)
    why = "the previous run names no benchmark"
    assert after["change"]["benchmark_changed"] == [{"node": "cp1", "was": None, "now": "cis-1.12", "compared": False, "why": why}]
    assert after["change"]["newly_failing"] == [{"id": "4.2.1", "node": "w1"}] and after["change"]["fixed"] == []
    assert after["change"]["not_compared"] == [
        {"id": "1.2.15", "node": "cp1", "benchmark": None, "why": why, "was_failing": True, "now_failing": False},
        {"id": "1.2.16", "node": "cp1", "benchmark": "cis-1.12", "why": why, "was_failing": False, "now_failing": True}]
    assert ('<tr data-node="cp1"><td>cp1</td><td>benchmark not named</td><td>cis-1.12</td><td class="compared">not compared:'
            ' the previous run names no benchmark</td><td>1.2.16</td><td>1.2.15</td></tr>') in fleet_report.to_html(after)
    assert ("Not compared - a run does not record the benchmark, or names one this collection's catalogue does not have:"
            " cp1 (benchmark not named -> cis-1.12); 2 controls there fail in one run and not the other (change.not_compared),"
            " not counted as newly failing or fixed") in fleet_report.summary(after)


def test_a_benchmark_this_catalogue_does_not_have_is_named_without_a_title():
    fleet = fleet_report.build([node_report("cp1", ["control_plane"], benchmark="cis-9.9")], None, "now", TITLES)
    assert fleet["nodes"][0]["benchmark_title"] is None and fleet["benchmarks"][0]["title"] is None
    assert "cis-9.9<div class=\"meta\">not a benchmark of this collection&#x27;s catalogue</div>" in fleet_report.to_html(fleet)
    assert fleet_report.summary(fleet)[0] == "1 reports, judged with cis-9.9 (not a benchmark of this collection's catalogue)"


class Tags(HTMLParser):
    """The elements of a page and every attribute value, as a browser's parser reads them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes, self.text = set(), [], []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes += attrs

    def handle_data(self, data):
        self.text.append(data)


PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "b", "div", "ul", "li", "table", "thead",
             "tbody", "tr", "th", "td", "span"}
# what a terminal or a page must not get as itself: C0 and C1 controls (ESC starts a terminal escape sequence),
# bidirectional overrides and isolates, zero-width characters, line and paragraph separators, lone surrogates
HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "'onmouseover='alert(1)", "</td></tr></table><h1>x",
           "esc\x1b[31mred\x1b[0m\x07bell", "nul\x00cr\rlf\nend", "admin\u202egpj.exe", "zero\u200bwidth\u2028line",
           "lone\ud800surrogate", "c1\x85\x9bcontrol", "&lt;already&gt; &amp;", "A" * 100_000]


@pytest.mark.parametrize("evil", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_strings_from_reports_are_inert_on_the_page_and_in_the_summary(evil):
    """A node name, benchmark id and title, release, roles, layout, level, remediation and the previous report's
    time, all hostile: the page has only its own elements, none of these characters as themselves, one string
    at most NAME_LIMIT or TEXT_LIMIT long (saying how long it was), and encodes as UTF-8; the JSON keeps them whole."""
    report = node_report(evil, ["worker"], failing={"4.2.1"}, benchmark=evil, kubernetes=release(evil, evil))
    report.update(roles=[evil, "worker"], layout=evil)
    for result in report["results"]:
        if result["status"] == "fail":
            result.update(level=evil, title=evil, remediation=evil, id=evil)
    other = node_report("cp1", ["control_plane"], failing={"1.2.15"})
    previous = fleet_report.build([node_report(evil, ["worker"]), other], None, evil, {evil: evil}, CHECKS)
    fleet = fleet_report.build([report, other], previous, "now", {evil: evil, **TITLES}, CHECKS)
    fleet["missing"] = [evil]
    page = fleet_report.to_html(fleet)
    page.encode("utf-8")                                     # a lone surrogate would not encode
    parsed = Tags()
    parsed.feed(page)
    assert parsed.tags == PAGE_TAGS
    assert not any(name.startswith("on") or name in ("src", "href") for name, _value in parsed.attributes)
    assert not HIDDEN.search(page) and "\r" not in page
    assert len(page) < 60_000 + 20 * fleet_report.TEXT_LIMIT
    shown = fleet_report.shown(evil)
    assert ("data-node", shown) in parsed.attributes       # what the page names the node is shown(name), as parsed
    assert shown in "".join(parsed.text)
    if len(evil) > fleet_report.NAME_LIMIT:
        assert shown.endswith(f"... ({len(evil)} characters)") and len(shown) < fleet_report.NAME_LIMIT + 30
    lines = fleet_report.summary(fleet)
    assert not any(HIDDEN.search(line) for line in lines) and all(len(line) < 8 * fleet_report.TEXT_LIMIT for line in lines)
    assert any(shown in line for line in lines)
    assert fleet["change"]["benchmark_changed"] == [{"node": evil, "was": "cis-1.12", "now": evil, "compared": False,
                                                     "why": f"{evil} is not a benchmark of this collection's catalogue"}]
    # the JSON is data: every string whole, as JSON escapes it
    back = json.loads(fleet_report.to_json(fleet))
    node = next(n for n in back["nodes"] if n["node"] != "cp1")
    assert node["node"] == evil and node["benchmark_title"] == evil and back["missing"] == [evil]


def test_shown_escapes_what_is_not_what_it_looks_like_and_keeps_the_rest():
    assert fleet_report.shown("cp-1.example.org") == "cp-1.example.org"
    assert fleet_report.shown("Zürich 控制 🙂") == "Zürich 控制 🙂"
    assert fleet_report.shown("a\x1b[31mb\u202ec\ud800\U000e0001") == "a\\x1b[31mb\\u202ec\\ud800\\U000e0001"
    assert fleet_report.shown(None) == "" and fleet_report.shown(7) == "7"
    assert fleet_report.shown("x" * 10, limit=4) == "xxxx... (10 characters)"


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


def test_the_action_names_the_catalogues_benchmark_titles_and_says_when_nodes_differ(tmp_path):
    run_action({"report": node_report("cp1", ["control_plane"], benchmark="cis-2.0"), "dest_dir": str(tmp_path)}, CisReport)
    run_action({"report": node_report("w1", ["worker"]), "dest_dir": str(tmp_path)}, CisReport)
    result = run_action({"report_dir": str(tmp_path), "nodes": ["cp1", "w1"]}, FleetReport)
    entries = catalogue.load()["benchmarks"]["entries"]
    assert result["mixed_benchmarks"] is True and result["benchmark"] is None
    assert [(b["id"], b["title"], b["nodes"]) for b in result["benchmarks"]] == [
        ("cis-1.12", entries["cis-1.12"]["title"], ["w1"]), ("cis-2.0", entries["cis-2.0"]["title"], ["cp1"])]
    assert result["summary"][0].startswith("2 reports, judged with different benchmarks")
    fleet = json.loads((tmp_path / "fleet.json").read_text())
    assert {n["node"]: n["benchmark_title"] for n in fleet["nodes"]} == {"cp1": "CIS Kubernetes Benchmark v2.0.1",
                                                                         "w1": "CIS Kubernetes Benchmark v1.12.0"}
    assert 'class="mixed"' in (tmp_path / "fleet.html").read_text()


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


@pytest.mark.parametrize("planted", ["[1, 2]", "42", "\"text\"", "null"])
def test_json_that_is_no_report_is_neither_a_node_nor_a_previous_fleet(tmp_path, planted):
    """A node's .json or fleet.json holding a list, a number or a string (someone else's file) is no report of ours:
    the node is missing, the change has nothing to compare with, nothing crashes."""
    (tmp_path / "cp1.json").write_text(json.dumps(node_report("cp1", ["control_plane"])))
    (tmp_path / "w1.json").write_text(planted)
    (tmp_path / "fleet.json").write_text(planted)
    result = run_action({"report_dir": str(tmp_path), "nodes": ["cp1", "w1"]}, FleetReport)
    assert result["missing"] == ["w1"]
    assert json.loads((tmp_path / "fleet.json").read_text())["nodes"][0]["node"] == "cp1"
