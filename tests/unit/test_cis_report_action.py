"""The cis_report action plugin writes a node's three report files on the controller in one step,
refuses reports that are not cis_audit's and node names that are not file names."""

from __future__ import annotations

import json
import os
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


def report(node="cp1"):
    state = {"layout": catalogue.layout_for("kubeadm").as_dict(), "etcd_data_dir": "/var/lib/etcd", "components": {}}
    results = audit.audit(state, ["control_plane"], file_reader=lambda *_: [])
    return reports.build(node, "cis-1.12", ["control_plane"], "kubeadm", {}, results, audit.summarize(results), "t")


def test_writes_json_junit_and_markdown(tmp_path):
    result = run({"report": report(), "dest_dir": str(tmp_path / "out")})
    assert result["changed"] is False and sorted(os.listdir(tmp_path / "out")) == ["cp1.json", "cp1.md", "cp1.xml"]
    every = len(catalogue.controls())
    assert len(json.loads((tmp_path / "out" / "cp1.json").read_text())["results"]) == every
    assert len(ET.parse(tmp_path / "out" / "cp1.xml").getroot().findall(".//testcase")) == every
    assert (tmp_path / "out" / "cp1.md").read_text().startswith("# CIS cis-1.12 report: cp1")
    assert oct(os.stat(tmp_path / "out" / "cp1.json").st_mode & 0o777) == "0o644"


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
    saved = json.loads((tmp_path / "cp1.json").read_text())
    assert saved["drift"][0]["found"] == "changed by hand"
    assert any(line.startswith(f"DRIFT {passing['id']}") for line in reports.summary_table(saved))
    assert [r["id"] for r in reports.failures(saved, "drift")] == [passing["id"]]
    # the next report compares with this one: nothing new
    assert run({"report": later, "dest_dir": str(tmp_path)})["drift"] == []
    # another node's report or schema is never compared
    assert reports.drift(dict(saved, node="cp2"), later) == [] and reports.drift({"schema": "x"}, later) == []
