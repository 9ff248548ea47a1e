"""tools/compare_reports.py: a control whose check passed before and fails after is worse, whatever
its status; the user's own waived weakenings pass only with --allow-waived."""

from __future__ import annotations

import importlib.util
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("compare_reports", os.path.join(ROOT, "tools", "compare_reports.py"))
compare_reports = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_reports)


def write(directory, node, statuses):
    directory.mkdir(exist_ok=True)
    results = [{"id": cid, "status": status, "check_passed": passed, "found": "x", "waiver": "w" if status == "waived" else None}
               for cid, (status, passed) in statuses.items()]
    (directory / f"{node}.json").write_text(json.dumps({"node": node, "results": results}))


def test_better_worse_and_waived(tmp_path):
    write(tmp_path / "a", "cp1", {"1.3.7": ("pass", True), "1.2.15": ("fail", False), "4.2.11": ("manual", True),
                                  "1.2.1": ("pass", True)})
    write(tmp_path / "b", "cp1", {"1.3.7": ("pass", True), "1.2.15": ("pass", True), "4.2.11": ("manual", False),
                                  "1.2.1": ("waived", False)})
    worse, better, waived = compare_reports.compare(compare_reports.load(str(tmp_path / "a")), compare_reports.load(str(tmp_path / "b")))
    assert [line.split()[1].rstrip(":") for line in worse] == ["4.2.11", "1.2.1"]
    assert [line.split()[1].rstrip(":") for line in better] == ["1.2.15"] and [line.split()[1].rstrip(":") for line in waived] == ["1.2.1"]
    assert compare_reports.main([str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    worse, _ignored, _ignored = compare_reports.compare(compare_reports.load(str(tmp_path / "a")),
                                                        compare_reports.load(str(tmp_path / "b")), allow_waived=True)
    assert [line.split()[1].rstrip(":") for line in worse] == ["4.2.11"]


def test_a_missing_node_or_control_is_worse(tmp_path):
    write(tmp_path / "a", "cp1", {"1.3.7": ("pass", True)})
    write(tmp_path / "a", "w1", {"4.2.1": ("pass", True)})
    write(tmp_path / "b", "cp1", {})
    worse, _ignored, _ignored = compare_reports.compare(compare_reports.load(str(tmp_path / "a")), compare_reports.load(str(tmp_path / "b")))
    assert worse == ["cp1 1.3.7: missing from the report after", "w1: no report after"]
    write(tmp_path / "c", "cp1", {"1.3.7": ("pass", True)})
    write(tmp_path / "c", "w1", {"4.2.1": ("pass", True)})
    assert compare_reports.main([str(tmp_path / "a"), str(tmp_path / "c")]) == 0
