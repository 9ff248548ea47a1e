#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller; this file documents it.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cis_report
short_description: Write a node's CIS report as JSON, JUnit XML and Markdown files on the controller
version_added: "0.2.0"
description:
  - Runs on the controller (an action plugin), in one step for all formats. The files are named after the
    report's node, C(<node>.json), C(<node>.xml), C(<node>.md), and replaced atomically.
  - Writes the controller's report files in C(--check) runs too, nothing on the nodes, and reports
    C(changed=false) - a report describes the cluster, it does not change it.
options:
  report:
    description: The report returned by M(kubeguard.hardening.cis_audit).
    type: dict
    required: true
  dest_dir:
    description: Directory on the controller (created with mode 0755).
    type: path
    required: true
  benchmark_subdir:
    description:
      - Write into O(dest_dir)/<the report's benchmark>/ (the other benchmarks of C(kubeguard_benchmark) as a list). The
        benchmark must be one of this collection's, so that the directory is never a name a node's answer chose.
    type: bool
    default: false
  formats:
    description:
      - Which files to write.
      - C(kube-bench) writes C(<node>.kube-bench.json) in the shape of C(kube-bench --json) (Controls per target,
        tests per group, Totals) for tools that ingest kube-bench's output. Manual controls are kube-bench's WARN,
        waived ones its INFO with the reason; section K is left out.
      - The evidence assessors take, from the same results (docs/stig.md) - C(ckl) and C(cklb) (DISA STIG Viewer 2 and 3
        checklists, C(<node>.ckl) and C(<node>.cklb)), C(xccdf) (an XCCDF 1.2 benchmark with the node's TestResult,
        C(<node>.xccdf.xml)), C(arf) (ARF 1.1, C(<node>.arf.xml)), C(oscal) (OSCAL Assessment Results, C(<node>.oscal-ar.json)),
        C(sarif) (SARIF 2.1.0, C(<node>.sarif)). A waived control stays a finding in each, with its waiver (owner, expiry,
        ticket, reason) in the checklist's comments, the XCCDF message, the OSCAL risk (deviation-approved until the expiry)
        and the SARIF suppression.
    type: list
    elements: str
    choices: [json, xml, md, kube-bench, ckl, cklb, xccdf, arf, oscal, sarif]
    default: [json, xml, md]
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Write the reports
  kubeguard.hardening.cis_report:
    report: "{{ cis.report }}"
    dest_dir: "{{ playbook_dir }}/cis-reports"
"""

RETURN = r"""
files:
  description: The paths written.
  returned: always
  type: list
  elements: str
drift:
  description:
    - Controls that passed in the node's previous report in O(dest_dir) and fail now - id, title, was, now, found, since.
    - When the previous report was judged with another benchmark, the controls that are the same check in both (the
      catalogue's benchmarks reference one set of checks) are compared, each entry adding was_id (the previous report's
      id of it), was_benchmark and now_benchmark.
    - Empty without a previous report, and after a change of benchmark when either report names none or one the
      catalogue does not have (see RV(benchmark_changed)).
  returned: always
  type: list
  elements: dict
benchmark_changed:
  description:
    - When the previous report was judged with another benchmark (or either names none) - was, now (null for none),
      since (the previous report's time), compared (whether the same checks were compared), why (why not), matched (how
      many controls were) and not_compared (id, benchmark, why, status - controls whose check the other benchmark does
      not have). Null otherwise.
  returned: always
  type: dict
table:
  description: The console summary verify prints - pass / fail / manual / waived / n/a per section.
  returned: always
  type: list
  elements: str
drift_lines:
  description:
    - What verify prints - after a change of benchmark first a C(BENCHMARK CHANGED) line (what was compared) or the one
      C(NOT COMPARED) line (nothing was, and why); a C(DRIFT) line per control in RV(drift); a C(NOT COMPARED) line per
      control that could not be matched. Strings from the previous report cut to length, control and format characters
      as escapes.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.report.reports import CIS_REPORT_ARGUMENT_SPEC


def main():
    # Only reached when the action plugin is bypassed: the work happens on the controller.
    AnsibleModule(argument_spec=CIS_REPORT_ARGUMENT_SPEC).fail_json(msg="cis_report runs on the controller (action plugin)")


if __name__ == "__main__":
    main()
