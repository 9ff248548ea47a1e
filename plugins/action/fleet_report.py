# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the fleet report (fleet.json + fleet.html) on the controller from the per-node reports that
cis_report wrote in the same directory, with the change since the previous fleet.json there (a node judged with
another benchmark than then: compared on the controls that are the same check in both, catalogue.benchmark_checks)."""

from __future__ import annotations

import datetime
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.kubeguard.hardening.plugins.action.cis_report import load_json, report_path, write_atomically
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import fleet_report, reports

ARGUMENT_SPEC = fleet_report.FLEET_REPORT_ARGUMENT_SPEC


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        directory = args["report_dir"]
        names = list(dict.fromkeys(args["nodes"] + (["cluster"] if args["include_cluster"] else [])))
        found, missing = [], []
        for name in names:
            report = load_json(report_path(directory, name, "nodes:"))
            if isinstance(report, dict) and report.get("schema") == reports.SCHEMA:   # any other JSON is no report of ours
                found.append(report)
            elif name != "cluster":
                missing.append(name)
        if not found:
            raise AnsibleActionFail(f"no CIS reports in {directory} for {', '.join(names)}")
        previous = load_json(os.path.join(directory, "fleet.json"))
        previous = previous if isinstance(previous, dict) else None     # a list or a number: nothing to compare with
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        data = catalogue.load()
        fleet = fleet_report.build(found, previous, now, benchmark_titles(data), catalogue.benchmark_checks(data))
        fleet["missing"] = missing
        written = [write_atomically(os.path.join(directory, "fleet.json"), fleet_report.to_json(fleet)),
                   write_atomically(os.path.join(directory, "fleet.html"), fleet_report.to_html(fleet))]
        # a report describes the cluster; writing it is not a change to it
        result.update(changed=False, files=written, totals=fleet["totals"], failing=len(fleet["failing"]),
                      change=fleet["change"], missing=missing, benchmark=fleet["benchmark"], benchmarks=fleet["benchmarks"],
                      mixed_benchmarks=fleet["mixed_benchmarks"], summary=fleet_report.summary(fleet))
        return result


def benchmark_titles(data):
    """benchmark id -> title, of the benchmarks the catalogue knows (a report names one of them)."""
    entries = (data.get("benchmarks") or {}).get("entries") or {}
    return {str(name): str((entry or {}).get("title") or name) for name, entry in entries.items()}
