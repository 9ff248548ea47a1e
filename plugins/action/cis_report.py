# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a node's CIS report files on the controller, in-process (no module round trip per file),
with the drift since the node's previous report in the same directory (controls that passed then
and fail now). When the previous report was judged with another benchmark, the controls that are the same check
in both are compared (the catalogue's benchmarks say which: catalogue.benchmark_checks) and benchmark_changed
says what was not."""

from __future__ import annotations

import json
import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import (
    checklist, fleet_report, oscal, reports, sarif, xccdf)


def _kube_bench(report, _meta):
    return json.dumps(fleet_report.kube_bench(report, catalogue.load()["kube_bench"]), indent=2) + "\n"


def _plain_format(writer):
    return lambda report, _meta: writer(report)


# every writer reads the one report (and the benchmark's metadata of its controls: catalogue.benchmark_meta)
WRITERS = {"json": _plain_format(reports.to_json), "xml": _plain_format(reports.junit), "md": _plain_format(reports.markdown),
           "kube-bench": _kube_bench, "ckl": checklist.ckl, "cklb": checklist.cklb, "xccdf": xccdf.xccdf, "arf": xccdf.arf,
           "oscal": oscal.oscal, "sarif": sarif.sarif}


def write_atomically(path, text):
    """Readers (a dashboard, the next run) see the old file or the new one, never half of one."""
    handle, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=f".{os.path.basename(path)}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(temp, 0o644)
    os.replace(temp, path)
    return path


def report_path(directory, name, what, suffix=".json"):
    """directory/<name><suffix>, for a node name that is a plain file name (AnsibleActionFail naming `what` else)."""
    name = str(name)
    if "/" in name or name in ("", ".", ".."):
        raise AnsibleActionFail(f"{what} {name!r} cannot be a report file name")
    return os.path.join(directory, f"{name}{suffix}")


def load_json(path):
    """A report written earlier, or None (none yet, or unreadable: then there is nothing to compare with).
    Any JSON value comes back: its readers check what they use."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError, RecursionError):   # RecursionError: JSON nested deeper than Python's parser goes
        return None


def _plain(data):
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, (int, float)):
        return data
    return str(data)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(reports.CIS_REPORT_ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=reports.CIS_REPORT_ARGUMENT_SPEC)
        report, dest_dir, formats = _plain(args["report"]), args["dest_dir"], args["formats"]
        if not isinstance(report, dict) or "node" not in report or "results" not in report:
            raise AnsibleActionFail("report: must be the report returned by kubeguard.hardening.cis_audit")
        if not dest_dir:
            raise AnsibleActionFail("dest_dir: required (a directory on the controller)")
        if args["benchmark_subdir"]:
            benchmark = str(report.get("benchmark"))
            if benchmark not in catalogue.benchmark_names(catalogue.load()):
                raise AnsibleActionFail(f"report benchmark {benchmark!r} is not a benchmark of this collection: no directory is named after it")
            dest_dir = os.path.join(dest_dir, benchmark)
        node = str(report["node"])
        previous_path = report_path(dest_dir, node, "report node name")
        os.makedirs(dest_dir, mode=0o755, exist_ok=True)
        previous = load_json(previous_path)
        checks = catalogue.benchmark_checks(catalogue.load())
        report["drift"] = reports.drift(previous, report, checks)
        report["benchmark_changed"] = reports.benchmark_changed(previous, report, checks)
        meta = catalogue.benchmark_meta(catalogue.load(), str(report.get("benchmark") or ""))
        written = []
        for fmt in formats:
            written.append(write_atomically(os.path.join(dest_dir, reports.FILE_NAMES[fmt].format(node=node)), WRITERS[fmt](report, meta)))
        # Reports describe the cluster; writing them is not a change to it.
        result.update(changed=False, files=written, drift=report["drift"], benchmark_changed=report["benchmark_changed"],
                      drift_lines=reports.drift_lines(report), table=reports.summary_table(report))
        return result
