"""The verify role's own tasks on the drift since the node's previous report, driven by ansible-playbook: its
report task (cis_report), its summary-and-drift task and verdict.yml under verify_fail_on: drift.
Drift under the same benchmark fails the run naming the control, and after a change of benchmark on a control that
is the same check in both; after a previous report that names no benchmark nothing is compared - the run passes - and
the summary task prints the one line that says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from test_modules_playbook import REPO, ansible_bin

pytestmark = pytest.mark.skipif(ansible_bin("ansible-playbook") is None, reason="ansible-core not installed")

ROLE_TASKS = os.path.join(REPO, "roles", "verify", "tasks", "main.yml")
REPORT_TASK = "JSON, JUnit XML and Markdown reports on the controller"
DRIFT_TASK = "CIS summary and drift since the last report"
MORE_TASK = "The other benchmarks' reports on the controller (verify_report_dir/<benchmark>/)"
DRIFT_LINE_STARTS = ("DRIFT ", "BENCHMARK CHANGED ", "NOT COMPARED ")


def drift_lines(result):
    """The summary task's lines after the section table: the drift's."""
    lines = result["msg"]
    assert lines[0].startswith("section ")
    return [line for line in lines if line.startswith(DRIFT_LINE_STARTS)]


def _report(benchmark, generated_at, status):
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit, reports
    state = {"layout": catalogue.layout_for("kubeadm").as_dict(), "etcd_data_dir": "/var/lib/etcd", "components": {}}
    results = audit.audit(state, ["control_plane"], file_reader=lambda *_: [])
    results[0].update(status=status, found="changed by hand")
    return reports.build("cp1", benchmark, ["control_plane"], "kubeadm", {}, results, audit.summarize(results), generated_at)


def run_verify_tasks(tmp_path, previous, current, fail_on="drift", more=None):
    """The role's report and drift tasks (as main.yml has them) and its verdict.yml, on `current`, with `previous`
    as the node's report in verify_report_dir; (returncode, {task name: localhost's result})."""
    from conftest import _collection_root
    with open(ROLE_TASKS, encoding="utf-8") as handle:
        tasks = {task.get("name"): task for task in yaml.safe_load(handle)}
    report_dir = tmp_path / "reports"
    report_dir.mkdir()
    (report_dir / "cp1.json").write_text(previous if isinstance(previous, str) else json.dumps(previous))
    playbook = tmp_path / "verify.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [tasks[REPORT_TASK], tasks[MORE_TASK], tasks[DRIFT_TASK],
                  {"name": "Verdict", "ansible.builtin.import_role": {"name": "kubeguard.hardening.verify", "tasks_from": "verdict.yml"}}]}]))
    extra = tmp_path / "extra.json"
    # extra vars: the role's vars/main.yml would otherwise take verify_report from the audit task this play has not
    extra.write_text(json.dumps({"verify_report": current, "verify_fail_on": fail_on, "verify_more_reports": more or [],
                                 "verify_report_dir": str(report_dir), "verify_report_formats": ["json", "md"]}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collection_root(), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([ansible_bin("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook), "-e", f"@{extra}"],
                          env=env, capture_output=True, text=True, check=False)
    log = json.loads(proc.stdout)
    results = {task["task"]["name"].rpartition(" : ")[2]: task["hosts"]["localhost"]
               for play in log["plays"] for task in play["tasks"]}
    return proc.returncode, results


def test_drift_under_the_same_benchmark_fails_the_run_naming_the_control(tmp_path):
    current = _report("cis-1.12", "t2", "fail")
    control = current["results"][0]["id"]
    code, results = run_verify_tasks(tmp_path, _report("cis-1.12", "t1", "pass"), current)
    line = f"DRIFT {control}: passed at t1, fails now (changed by hand)"
    assert drift_lines(results[DRIFT_TASK]) == [line]
    verdict = next(result for name, result in results.items() if name.startswith("Fail on CIS failures"))
    assert code != 0 and verdict.get("failed") and line in verdict["msg"] and verdict["msg"].startswith("1 controls of cis-")


def test_after_a_change_of_benchmark_drift_on_the_same_check_fails_the_run(tmp_path):
    """An upgrade moved auto from CIS 1.12 to 2.0.1: the control is the same check in both, so its drift fails the run;
    the line that says the benchmark changed is printed and is no failure."""
    current = _report("cis-2.0", "t2", "fail")
    control = current["results"][0]["id"]
    code, results = run_verify_tasks(tmp_path, _report("cis-1.12", "t1", "pass"), current)
    header, line = drift_lines(results[DRIFT_TASK])
    assert header.startswith("BENCHMARK CHANGED since the previous report (t1): cis-1.12 -> cis-2.0 - ")
    assert line == (f"DRIFT {control}: passed at t1, fails now (changed by hand) - compared across benchmarks:"
                    f" {control} (cis-1.12) -> {control} (cis-2.0)")
    verdict = next(result for name, result in results.items() if name.startswith("Fail on CIS failures"))
    assert code != 0 and verdict.get("failed") and verdict["msg"].startswith("1 controls of cis-")
    assert line in verdict["msg"] and "BENCHMARK CHANGED" not in verdict["msg"]
    saved = json.loads((tmp_path / "reports" / "cp1.json").read_text())
    assert [d["id"] for d in saved["drift"]] == [control] and saved["benchmark_changed"]["compared"] is True


def test_after_a_report_that_names_no_benchmark_the_verdict_passes_and_the_run_says_nothing_was_compared(tmp_path):
    previous = _report("cis-1.12", "t1", "pass")
    del previous["benchmark"]                        # a report written before reports named their benchmark
    code, results = run_verify_tasks(tmp_path, previous, _report("cis-2.0", "t2", "fail"))
    assert code == 0, results
    line, = drift_lines(results[DRIFT_TASK])
    assert line.startswith("NOT COMPARED with the previous report (t1): benchmark benchmark not named -> cis-2.0 - ")
    assert "verify_fail_on: drift does not fail on it" in line
    verdict = next(result for name, result in results.items() if name.startswith("Fail on CIS failures"))
    assert not verdict.get("failed")
    saved = json.loads((tmp_path / "reports" / "cp1.json").read_text())
    assert saved["drift"] == [] and saved["benchmark_changed"]["now"] == "cis-2.0" and saved["benchmark_changed"]["compared"] is False


def test_a_previous_file_that_is_not_a_report_is_nothing_to_compare(tmp_path):
    code, results = run_verify_tasks(tmp_path, "[" * 100_000, _report("cis-1.12", "t2", "fail"))
    assert code == 0 and drift_lines(results[DRIFT_TASK]) == [] and not results[REPORT_TASK].get("failed")


def test_an_expired_waiver_fails_the_run_and_says_it_expired(tmp_path, kubeadm_files):
    """A waiver record past its last day waives nothing: under verify_fail_on: failed the verdict fails the play,
    naming the control and the expired waiver; the day before, the same record keeps the run green."""
    import datetime
    from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit, reports
    root, layout = kubeadm_files[0], kubeadm_files[1]
    state = audit.observe(layout, str(root / "proc"))    # kubeadm's own node: no --profiling=false (1.2.15 fails)
    record = {"1.2.15": {"reason": "perf team", "owner": "ops@example.com", "expires": "2026-12-05"}}

    def report(day):
        results = [r for r in audit.audit(state, ["control_plane"], record, today=day) if r["status"] != "fail" or r["id"] == "1.2.15"]
        return reports.build("cp1", "cis-1.12", ["control_plane"], "kubeadm", {}, results, audit.summarize(results), "t")
    (tmp_path / "held").mkdir()
    (tmp_path / "gone").mkdir()
    code, results = run_verify_tasks(tmp_path / "held", "{}", report(datetime.date(2026, 12, 5)), fail_on="failed")
    assert code == 0, results
    code, results = run_verify_tasks(tmp_path / "gone", "{}", report(datetime.date(2026, 12, 6)), fail_on="failed")
    verdict = next(result for name, result in results.items() if name.startswith("Fail on CIS failures"))
    assert code != 0 and verdict.get("failed") and verdict["msg"].startswith("1 controls of cis-")
    assert "1.2.15" in verdict["msg"] and "waiver expired 2026-12-05 (owner ops@example.com): perf team" in verdict["msg"]


def test_several_benchmarks_each_report_in_its_directory_and_each_fails_the_run(tmp_path):
    """kubeguard_benchmark [auto, stig-v2r6]: the main report where it always is, the STIG's under stig-v2r6/, and a
    failure of the second fails the run under verify_fail_on: failed, named by its benchmark."""
    current = _report("cis-1.12", "t2", "pass")
    stig = _report("stig-v2r6", "t2", "fail")
    for result in current["results"] + stig["results"][1:]:
        result.update(status="pass")   # the empty state fails most: only the one failure under test is left
    stig["results"][0].update(id="V-242390", automated=True)
    code, results = run_verify_tasks(tmp_path, _report("cis-1.12", "t1", "pass"), current, fail_on="failed", more=[stig])
    written = json.loads((tmp_path / "reports" / "stig-v2r6" / "cp1.json").read_text())
    assert written["benchmark"] == "stig-v2r6" and (tmp_path / "reports" / "stig-v2r6" / "cp1.md").exists()
    assert json.loads((tmp_path / "reports" / "cp1.json").read_text())["benchmark"] == "cis-1.12"
    verdict = next(result for name, result in results.items() if name.startswith("Fail on CIS failures"))
    assert code != 0 and verdict.get("failed")
    assert verdict["msg"].startswith("1 controls of the other benchmarks fail on localhost: ") and "stig-v2r6: V-242390 " in verdict["msg"]
    # the second report passing, the run passes
    stig["results"][0].update(status="pass")
    (tmp_path / "again").mkdir()
    code, _results = run_verify_tasks(tmp_path / "again", _report("cis-1.12", "t1", "pass"), current, fail_on="failed", more=[stig])
    assert code == 0


def test_each_other_benchmark_gets_its_fleet_report_in_its_directory_and_a_forged_name_none(tmp_path):
    """fleet.yml: the main fleet report, and one in verify_report_dir/<benchmark>/ for each other benchmark whose reports
    this run wrote there - named by the collection's benchmarks, never by a name a node's answer carried."""
    from conftest import _collection_root
    report_dir = tmp_path / "reports"
    (report_dir / "stig-v2r6").mkdir(parents=True)
    main, stig = _report("cis-1.12", "t1", "pass"), _report("stig-v2r6", "t1", "pass")
    for one in (main, stig):
        one["node"] = "localhost"
    (report_dir / "localhost.json").write_text(json.dumps(main))
    (report_dir / "stig-v2r6" / "localhost.json").write_text(json.dumps(stig))
    written = {"results": [{"item": {"benchmark": "stig-v2r6"}, "files": ["x"]}, {"item": {"benchmark": "../../escape"}, "files": ["y"]}]}
    playbook = tmp_path / "fleet.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "As the report task left it", "ansible.builtin.set_fact": {"verify_more_written": written}},
                  {"name": "Fleet", "ansible.builtin.import_role": {"name": "kubeguard.hardening.verify", "tasks_from": "fleet.yml"}}]}]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collection_root(), ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([ansible_bin("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
                           "-e", f"verify_report_dir={report_dir}"], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert (report_dir / "fleet.json").exists() and (report_dir / "stig-v2r6" / "fleet.html").exists()
    assert json.loads((report_dir / "stig-v2r6" / "fleet.json").read_text())["benchmark"] == "stig-v2r6"
    assert not (tmp_path / "escape").exists() and "stig-v2r6/fleet.html" in proc.stdout
