"""The cis_report action plugin writes a node's three report files on the controller in one step,
refuses reports that are not cis_audit's and node names that are not file names."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.kubeguard.hardening.plugins.action.cis_report import ActionModule
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit, reports


def run(args, action_class=ActionModule):
    """An action plugin's run() with these task arguments, outside a play."""
    task = mock.MagicMock()
    task.args = args
    task.check_mode = False
    task.async_val = 0
    action = action_class(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    with mock.patch("ansible.plugins.action.ActionBase.run", return_value={}):
        return action.run(task_vars={})


def report(node="cp1", benchmark="cis-1.12", generated_at="t"):
    state = {"layout": catalogue.layout_for("kubeadm").as_dict(), "etcd_data_dir": "/var/lib/etcd", "components": {}}
    results = audit.audit(state, ["control_plane"], file_reader=lambda *_: [])
    return reports.build(node, benchmark, ["control_plane"], "kubeadm", {}, results, audit.summarize(results), generated_at)


def test_writes_json_junit_and_markdown(tmp_path):
    result = run({"report": report(), "dest_dir": str(tmp_path / "out")})
    assert result["changed"] is False and sorted(os.listdir(tmp_path / "out")) == ["cp1.json", "cp1.md", "cp1.xml"]
    every = len(catalogue.controls())
    assert len(json.loads((tmp_path / "out" / "cp1.json").read_text())["results"]) == every
    assert len(ET.parse(tmp_path / "out" / "cp1.xml").getroot().findall(".//testcase")) == every
    assert (tmp_path / "out" / "cp1.md").read_text().startswith("# CIS cis-1.12 report: cp1")
    assert oct(os.stat(tmp_path / "out" / "cp1.json").st_mode & 0o777) == "0o644"


def test_another_benchmarks_report_goes_to_its_own_directory_named_by_the_collection_never_by_the_node(tmp_path):
    run({"report": report(benchmark="stig-v2r6"), "dest_dir": str(tmp_path / "out"), "benchmark_subdir": True, "formats": ["json"]})
    assert os.listdir(tmp_path / "out") == ["stig-v2r6"] and os.listdir(tmp_path / "out" / "stig-v2r6") == ["cp1.json"]
    for forged in ("../../escape", "", "unknown"):
        with pytest.raises(AnsibleActionFail, match="not a benchmark of this collection"):
            run({"report": report(benchmark=forged), "dest_dir": str(tmp_path / "out"), "benchmark_subdir": True})
    assert not os.path.exists(tmp_path / "escape")


@pytest.mark.parametrize("args, message", [
    ({"report": {"node": "x"}, "dest_dir": "/tmp"}, "report"),
    ({"report": report("../etc/passwd"), "dest_dir": "/tmp"}, "file name"),
    ({"report": report(), "dest_dir": ""}, "dest_dir"),
    ({"report": report(), "dest_dir": "/tmp", "formats": ["pdf"]}, "formats"),
])
def test_refuses_bad_arguments(args, message):
    with pytest.raises(AnsibleActionFail, match=message):
        run(args)


def test_drift_since_the_previous_report_is_reported(tmp_path):
    """A control that passed in the node's last report and fails now is drift: in the report, on the
    console and for verify_fail_on: drift."""
    first = report()
    passing = next(r for r in first["results"] if r["status"] == "pass") if any(
        r["status"] == "pass" for r in first["results"]) else None
    if passing is None:                       # make one pass in the earlier report
        first["results"][0]["status"] = "pass"
        passing = first["results"][0]
    run({"report": first, "dest_dir": str(tmp_path)})
    later = report()
    now = next(r for r in later["results"] if r["id"] == passing["id"])
    now["status"], now["found"] = "fail", "changed by hand"
    result = run({"report": later, "dest_dir": str(tmp_path)})
    assert [d["id"] for d in result["drift"]] == [passing["id"]]
    assert result["benchmark_changed"] is None
    assert result["drift_lines"] == [f"DRIFT {passing['id']}: passed at t, fails now (changed by hand)"]
    saved = json.loads((tmp_path / "cp1.json").read_text())
    assert saved["drift"][0]["found"] == "changed by hand" and saved["benchmark_changed"] is None
    assert any(line.startswith(f"DRIFT {passing['id']}") for line in reports.summary_table(saved))
    assert [r["id"] for r in reports.failures(saved, "drift")] == [passing["id"]]
    # the next report compares with this one: nothing new
    assert run({"report": later, "dest_dir": str(tmp_path)})["drift"] == []
    # another node's report or schema is never compared
    assert reports.drift(dict(saved, node="cp2"), later) == [] and reports.drift({"schema": "x"}, later) == []


def first_and_drifted(tmp_path, before="cis-1.12", now="cis-1.12"):
    """The node's previous report (benchmark `before`, one control passing, written at "t1") in tmp_path, and a
    report judged with `now` in which that control fails; the control's id."""
    first = report(benchmark=before, generated_at="t1")
    first["results"][0]["status"] = "pass"
    run({"report": first, "dest_dir": str(tmp_path)})
    later = report(benchmark=now, generated_at="t2")
    later["results"][0].update(status="fail", found="changed by hand")
    return later, first["results"][0]["id"]


def test_after_a_change_of_benchmark_the_same_checks_are_compared_and_the_run_says_so(tmp_path):
    """The node moved from CIS 1.12 to 2.0.1 (an upgrade that moves kubeguard_benchmark auto, or set by hand): the two
    share their checks, so a control that passed under 1.12 and fails under 2.0.1 is drift - verify_fail_on: drift
    fails on it - said compared across the benchmarks; one line first says the benchmark changed and what was compared."""
    later, control = first_and_drifted(tmp_path, now="cis-2.0")
    fixed = later["results"][1]["id"]
    previous = json.loads((tmp_path / "cp1.json").read_text())
    previous["results"][1]["status"] = "fail"                 # failed under 1.12, passes under 2.0.1: fixed, no drift
    (tmp_path / "cp1.json").write_text(json.dumps(previous))
    later["results"][1]["status"] = "pass"
    result = run({"report": later, "dest_dir": str(tmp_path)})
    assert result["drift"] == [{"id": control, "title": later["results"][0]["title"], "was": "pass", "now": "fail",
                                "found": "changed by hand", "since": "t1", "was_id": control, "was_benchmark": "cis-1.12",
                                "now_benchmark": "cis-2.0"}]
    assert fixed not in {d["id"] for d in result["drift"]}
    every = len(catalogue.controls())
    assert result["benchmark_changed"] == {"was": "cis-1.12", "now": "cis-2.0", "since": "t1", "compared": True, "why": None,
                                           "matched": every, "not_compared": []}
    header, line = result["drift_lines"]
    assert header == (f"BENCHMARK CHANGED since the previous report (t1): cis-1.12 -> cis-2.0 - the {every} controls that are"
                      " the same check in both were compared (a DRIFT line each that passed then and fails now; verify_fail_on:"
                      " drift fails on it), 0 not compared (a NOT COMPARED line each)")
    assert line == (f"DRIFT {control}: passed at t1, fails now (changed by hand) - compared across benchmarks:"
                    f" {control} (cis-1.12) -> {control} (cis-2.0)")
    saved = json.loads((tmp_path / "cp1.json").read_text())
    assert saved["drift"] == result["drift"] and saved["benchmark_changed"] == result["benchmark_changed"]
    assert [r["id"] for r in reports.failures(saved, "drift")] == [control]
    assert reports.summary_table(saved)[-2:] == [header, line]
    assert (tmp_path / "cp1.md").read_text().count("compared across benchmarks") == 1
    # the next run, judged with 2.0.1 again, compares with this report as ever: the control that fails still fails
    again = run({"report": later, "dest_dir": str(tmp_path)})
    assert again["benchmark_changed"] is None and again["drift"] == [] and again["drift_lines"] == []


# a benchmark that numbers the checks its own way: 1.1.1's check is its 1.1.90, 1.1.3's its 1.1.2; it has no 1.1.2
# check (its 1.1.2 is another check), and has 1.1.4's, which cis-1.12 (here) does not
RENUMBERED = dict(catalogue.load(), benchmarks={"default": "cis-1.12", "entries": {
    "cis-1.12": {"title": "v1.12", "kubernetes": ["1.34"], "removed": ["1.1.4"]},
    "cis-x": {"title": "x", "kubernetes": ["1.35"], "changes": {"1.1.1": {"id": "1.1.90"}, "1.1.3": {"id": "1.1.2"}},
              "removed": ["1.1.2"]}}})


def _results(statuses):
    return [{"id": cid, "title": f"title {cid}", "status": status, "found": f"found {cid}"} for cid, status in statuses.items()]


def test_across_benchmarks_controls_are_matched_by_their_check_never_by_their_id():
    """Drift compares a control with the previous report's control of the same check, whatever each benchmark numbers
    it: a renumbered check is compared (the line names both ids), an id that is another check in the other benchmark is
    not the same control, and a check only one benchmark has is listed as not compared."""
    checks = catalogue.benchmark_checks(RENUMBERED)
    assert checks["cis-x"]["1.1.90"] == "1.1.1" and checks["cis-x"]["1.1.2"] == "1.1.3" and "1.1.4" not in checks["cis-1.12"]
    previous = {"schema": reports.SCHEMA, "node": "cp1", "benchmark": "cis-1.12", "generated_at": "t1",
                "results": _results({"1.1.1": "pass", "1.1.2": "pass", "1.1.3": "fail", "1.1.5": "fail", "1.1.6": "pass"})}
    current = {"schema": reports.SCHEMA, "node": "cp1", "benchmark": "cis-x", "generated_at": "t2",
               "results": _results({"1.1.90": "fail", "1.1.2": "fail", "1.1.4": "fail", "1.1.5": "pass", "1.1.6": "pass"})}
    found = reports.drift(previous, current, checks)
    # 1.1.90 is 1.1.1 (passed then); cis-x's 1.1.2 is 1.1.3, which failed then too; 1.1.5 is fixed; 1.1.4 has no past
    assert [(d["id"], d["was_id"], d["was_benchmark"], d["now_benchmark"]) for d in found] == [("1.1.90", "1.1.1", "cis-1.12", "cis-x")]
    moved = reports.benchmark_changed(previous, current, checks)
    assert moved == {"was": "cis-1.12", "now": "cis-x", "since": "t1", "compared": True, "why": None, "matched": 4, "not_compared": [
        {"id": "1.1.2", "benchmark": "cis-1.12", "why": "cis-x's 1.1.2 is another check", "status": "pass"},
        {"id": "1.1.4", "benchmark": "cis-x", "why": "cis-1.12 has no control of its check", "status": "fail"}]}
    report = dict(current, drift=found, benchmark_changed=moved)
    assert reports.drift_lines(report)[1:] == [
        "DRIFT 1.1.90: passed at t1, fails now (found 1.1.90) - compared across benchmarks: 1.1.1 (cis-1.12) -> 1.1.90 (cis-x)",
        "NOT COMPARED 1.1.2 (cis-1.12, pass): cis-x's 1.1.2 is another check",
        "NOT COMPARED 1.1.4 (cis-x, fail): cis-1.12 has no control of its check"]
    assert "the 4 controls that are the same check in both were compared" in reports.drift_lines(report)[0]
    assert "2 not compared" in reports.drift_lines(report)[0]
    assert [r["id"] for r in reports.failures(report, "drift")] == ["1.1.90"]
    # and back: the previous report's 1.1.90 is this one's 1.1.1
    back = reports.drift(dict(current, results=_results({"1.1.90": "pass", "1.1.2": "pass"})),
                         dict(previous, results=_results({"1.1.1": "fail", "1.1.2": "fail", "1.1.3": "fail"})), checks)
    assert [(d["id"], d["was_id"]) for d in back] == [("1.1.1", "1.1.90"), ("1.1.3", "1.1.2")]
    # a benchmark the catalogue does not have, or none: nothing compared, and why
    for was, why in (("cis-9.9", "cis-9.9 is not a benchmark of this collection's catalogue"), (None, "the previous run names no benchmark")):
        odd = dict(previous, benchmark=was)
        assert reports.drift(odd, current, checks) == []
        assert reports.benchmark_changed(odd, current, checks) == {"was": was, "now": "cis-x", "since": "t1", "compared": False,
                                                                   "why": why, "matched": 0, "not_compared": []}
    # without the catalogue's checks nothing can be matched
    assert reports.drift(previous, current) == [] and reports.benchmark_changed(previous, current)["compared"] is False


def test_the_same_benchmark_is_compared_as_before(tmp_path):
    later, control = first_and_drifted(tmp_path, before="cis-2.0", now="cis-2.0")
    result = run({"report": later, "dest_dir": str(tmp_path)})
    assert [(d["id"], d["since"]) for d in result["drift"]] == [(control, "t1")] and result["benchmark_changed"] is None
    assert result["drift_lines"] == [f"DRIFT {control}: passed at t1, fails now (changed by hand)"]


@pytest.mark.parametrize("edit, was", [
    (lambda previous: previous.pop("benchmark"), None),                # written before reports named it
    (lambda previous: previous.update(benchmark="unknown"), None),      # judged without a benchmark registry
    (lambda previous: previous.update(benchmark=""), None),
    (lambda previous: previous.update(benchmark=["cis-1.12"]), None),   # not a string: not a benchmark named
])
def test_a_previous_report_that_names_no_benchmark_is_not_compared_said_once(tmp_path, edit, was):
    """No record is not evidence of the same benchmark (as the fleet report): nothing compared, one line naming
    "benchmark not named"; this run's report names its benchmark, so the next run compares again."""
    later, control = first_and_drifted(tmp_path)
    previous = json.loads((tmp_path / "cp1.json").read_text())
    edit(previous)
    (tmp_path / "cp1.json").write_text(json.dumps(previous))
    result = run({"report": later, "dest_dir": str(tmp_path)})
    assert result["drift"] == [] and result["benchmark_changed"] == {
        "was": was, "now": "cis-1.12", "since": "t1", "compared": False, "why": "the previous run names no benchmark",
        "matched": 0, "not_compared": []}
    assert result["drift_lines"] == [
        "NOT COMPARED with the previous report (t1): benchmark benchmark not named -> cis-1.12 - the previous run names no"
        " benchmark: the control ids cannot be matched to their checks, so no drift is counted and verify_fail_on: drift"
        " does not fail on it; the next report is compared with this one"]
    assert reports.failures(json.loads((tmp_path / "cp1.json").read_text()), "drift") == []
    assert run({"report": later, "dest_dir": str(tmp_path)})["drift_lines"] == []


def test_a_report_that_names_no_benchmark_now_is_never_compared(tmp_path):
    later, _control = first_and_drifted(tmp_path, now="unknown")
    result = run({"report": later, "dest_dir": str(tmp_path)})
    assert result["drift"] == [] and result["benchmark_changed"] == {
        "was": "cis-1.12", "now": None, "since": "t1", "compared": False, "why": "this run names no benchmark", "matched": 0,
        "not_compared": []}
    assert "benchmark cis-1.12 -> benchmark not named - this run names no benchmark" in result["drift_lines"][0]
    assert run({"report": later, "dest_dir": str(tmp_path)})["benchmark_changed"] == {
        "was": None, "now": None, "since": "t2", "compared": False, "why": "the previous run names no benchmark", "matched": 0,
        "not_compared": []}


# a terminal or a page must not get these as themselves: C0/C1 controls (ESC starts a terminal escape sequence),
# bidirectional overrides, zero-width characters, line and paragraph separators, lone surrogates
HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
EVIL = ["esc\x1b[31mred\x1b[0m\x07", "line\nDRIFT 9.9.9: forged\r", "admin\u202egpj.exe", "lone\ud800", "```\n# heading",
        "A" * 100_000]


def _previous(**fields):
    """The node's previous report, as its file could hold it: cis_report's schema and node, a passing control."""
    base = {"schema": reports.SCHEMA, "node": "cp1", "benchmark": "cis-1.12", "generated_at": "t1",
            "results": [{"id": report()["results"][0]["id"], "status": "pass"}]}
    base.update(fields)
    return base


HOSTILE_FILES = {
    "list": "[1, 2]", "string": '"cp1"', "number": "42", "null": "null", "true": "true", "empty object": "{}",
    "not json": "{", "not utf-8": b"\xff\xfe{}", "nested too deep": "[" * 200_000, "nan": "NaN",
    "results a string": _previous(results="pass"), "results an object": _previous(results={"1.1.1": "pass"}),
    "results a number": _previous(results=7),
    "entries not objects": _previous(results=[1, "1.1.1", None, ["1.1.1", "pass"], True]),
    "ids and statuses of wrong types": _previous(results=[{"id": ["1.1.1"], "status": "pass"}, {"id": {"a": 1}, "status": "pass"},
                                                          {"id": None, "status": "pass"}, {"id": 1.5, "status": ["pass"]},
                                                          {"status": "pass"}, {"id": report()["results"][0]["id"], "status": {"x": 1}}]),
    "generated_at an object": _previous(generated_at={"evil": True}),
    "generated_at a list": _previous(generated_at=[1, 2]),
    "node a list": _previous(node=["cp1"]), "schema a list": _previous(schema=[reports.SCHEMA]),
    "benchmark an object": _previous(benchmark={"id": "cis-1.12"}),
    "another benchmark, ids of no control": _previous(benchmark="cis-2.0", results=[
        {"id": report()["results"][0]["id"], "status": "pass"}, *({"id": f"9.{i}", "status": "pass"} for i in range(10_000))]),
    **{f"evil generated_at {i}": _previous(generated_at=evil) for i, evil in enumerate(EVIL)},
    **{f"evil benchmark {i}": _previous(benchmark=evil, generated_at=evil) for i, evil in enumerate(EVIL)},
    **{f"evil result {i}": _previous(results=[{"id": evil, "status": "pass", "title": evil, "found": evil}]) for i, evil in enumerate(EVIL)},
}


@pytest.mark.parametrize("content", HOSTILE_FILES.values(), ids=HOSTILE_FILES.keys())
def test_whatever_the_previous_report_file_holds_the_action_writes_and_says_nothing_forged(tmp_path, content):
    """The previous report is a file anyone with the directory can write: whatever it holds, the action writes this
    run's reports; the lines the run prints and the Markdown hold none of its characters as themselves (no terminal
    escape, no forged line, no bidirectional override), each cut to length; the JSON stays readable."""
    if isinstance(content, bytes):
        (tmp_path / "cp1.json").write_bytes(content)
    else:
        (tmp_path / "cp1.json").write_text(content if isinstance(content, str) else json.dumps(content))
    current = report(generated_at="t2")
    current["results"][0].update(status="fail", found="changed by hand")
    result = run({"report": current, "dest_dir": str(tmp_path)})
    assert sorted(os.listdir(tmp_path)) == ["cp1.json", "cp1.md", "cp1.xml"]
    assert isinstance(result["drift"], list) and len(result["drift"]) <= 1
    moved = result["benchmark_changed"]
    assert moved is None or set(moved) == {"was", "now", "since", "compared", "why", "matched", "not_compared"}
    # drift after a change of benchmark only when the controls were matched by their check (a benchmark of the catalogue)
    assert not (result["drift"] and moved and not moved["compared"])
    assert not moved or moved["compared"] is (moved["was"] in catalogue.benchmark_names() and moved["now"] in catalogue.benchmark_names())
    assert len(moved["not_compared"] if moved else []) <= len(catalogue.controls())
    # each says itself in a line: the change of benchmark, each drift, each control not compared
    assert len(result["drift_lines"]) == len(result["drift"]) + (moved is not None) + len(moved["not_compared"] if moved else [])
    for line in result["drift_lines"]:
        assert not HIDDEN.search(line) and "\n" not in line and len(line) < 4 * reports.TEXT_LIMIT
    for entry in result["drift"]:
        assert entry["since"] is None or isinstance(entry["since"], str)
    markdown = (tmp_path / "cp1.md").read_text()
    assert not HIDDEN.search(markdown.replace("\n", "")) and len(markdown) < 200_000
    assert not any(line.startswith(("DRIFT 9.9.9", "# heading")) for line in markdown.splitlines())
    saved = json.loads((tmp_path / "cp1.json").read_text())
    assert saved["drift"] == result["drift"] and saved["benchmark_changed"] == result["benchmark_changed"]
    assert len(reports.failures(saved, "drift")) == len(result["drift"])


def test_a_drift_on_an_evil_previous_time_is_still_drift_shown_inert():
    """Same benchmark, same node, a passing control that fails now: drift, whatever the previous time says."""
    now = report(generated_at="t2")
    now["results"][0].update(status="fail", found="x")
    for evil in EVIL:
        found = reports.drift(_previous(generated_at=evil), now)
        assert [d["id"] for d in found] == [now["results"][0]["id"]] and found[0]["since"] == evil
        line, = reports.drift_lines(dict(now, drift=found))
        assert not HIDDEN.search(line) and len(line) < 2 * reports.NAME_LIMIT + 100
