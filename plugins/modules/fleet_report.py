#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller; this file documents it.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_report
short_description: Write the whole inventory's CIS standing as one HTML page and one JSON file on the controller
version_added: "0.2.0"
description:
  - Reads the per-node reports M(kubeguard.hardening.cis_report) wrote in O(report_dir) (C(<node>.json), and
    C(cluster.json) for section 5) and writes C(fleet.json) and C(fleet.html) there.
  - The HTML page is self-contained (no scripts, styles or images from elsewhere) - pass, fail, manual and waived
    bars per section and node, the failing controls with the nodes and the remediation (the variable to set),
    and the change since the previous C(fleet.json) in the same directory (newly failing, fixed, nodes added and gone).
  - Per node, C(fleet.json) and the page name the benchmark its report was judged with (C(benchmark), the id, and
    C(benchmark_title), the catalogue's title with the benchmark's version) and the Kubernetes release it was judged at
    (C(kubernetes), C(kubernetes_source)). A report that names no benchmark (left from an older run, or written by hand)
    has C(benchmark=null).
  - When the reports name different benchmarks (during an upgrade C(kubeguard_benchmark=auto) follows each node's release;
    or a node's report is from an older run), their counts are not of the same controls - C(fleet.json) has
    C(mixed_benchmarks=true) and C(benchmark=null), the page and the summary say which nodes were judged with which,
    and a control failing under two benchmarks is one C(failing) entry per benchmark.
  - The change since the previous run compares a node judged with another benchmark than then on the controls that are
    the same check in both (the catalogue's benchmarks reference one set of checks; a control id need not be the same
    requirement in another benchmark) - in C(newly_failing) and C(fixed), each entry adding C(was_id), C(was_benchmark)
    and C(now_benchmark). Such a node is listed in C(change.benchmark_changed) (C(compared)); a control failing in one
    run whose check the other benchmark does not have is in C(change.not_compared). A node that either run does not
    record a benchmark of the catalogue for (no record is not evidence of the same benchmark, so the first run after a
    C(fleet.json) of an earlier release compares none of them) is not compared at all - C(compared=false), C(why) - and
    what differs on it is in C(change.not_compared), never in C(newly_failing) or C(fixed).
  - Every string from a report is HTML-escaped on the page; there and in the summary it is also cut to length and its
    control and format characters (terminal escapes, bidirectional overrides) are shown as escapes. C(fleet.json) keeps
    every string whole. See docs/cis-report.md.
  - Runs on the controller (an action plugin) in C(--check) runs too, and reports C(changed=false).
options:
  report_dir:
    description: The directory of the per-node reports (verify_report_dir).
    type: path
    required: true
  nodes:
    description: The report names (inventory hostnames) of this run. Nodes without a report are listed as missing.
    type: list
    elements: str
    required: true
  include_cluster:
    description: Include C(cluster.json) (CIS section 5 from the API) when it is there.
    type: bool
    default: true
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Fleet report
  kubeguard.hardening.fleet_report:
    report_dir: "{{ verify_report_dir }}"
    nodes: "{{ ansible_play_hosts_all }}"
  run_once: true
"""

RETURN = r"""
files:
  description: The paths written.
  returned: always
  type: list
  elements: str
totals:
  description: Results per status over every report.
  returned: always
  type: dict
failing:
  description: How many controls fail somewhere (a control failing under two benchmarks counts once per benchmark).
  returned: always
  type: int
change:
  description:
    - Since the previous fleet report - since, newly_failing and fixed (id, node; across a change of benchmark also
      was_id, was_benchmark, now_benchmark), nodes_added, nodes_gone, benchmark_changed (node, was, now, compared - the
      same checks were compared - and why, when not) and not_compared (id, node, benchmark, why, was_failing,
      now_failing - what could not be matched on those nodes). Only C(since=null) without a previous report.
  returned: always
  type: dict
benchmark:
  description: The benchmark every report names; null when they differ or one names none.
  returned: always
  type: str
benchmarks:
  description: Per benchmark the reports name - id (null for reports that name none), title, nodes.
  returned: always
  type: list
  elements: dict
mixed_benchmarks:
  description: Whether the reports were judged with different benchmarks (or one names none).
  returned: always
  type: bool
summary:
  description:
    - The fleet in a few lines of text (verify prints them) - the benchmarks (saying so when they differ), each node's
      release, the totals, the change (and what was not compared) and the nodes without a report.
  returned: always
  type: list
  elements: str
missing:
  description: Nodes of this run without a report in report_dir.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.report.fleet_report import FLEET_REPORT_ARGUMENT_SPEC


def main():
    # Only reached when the action plugin is bypassed: the work happens on the controller.
    AnsibleModule(argument_spec=FLEET_REPORT_ARGUMENT_SPEC).fail_json(msg="fleet_report runs on the controller (action plugin)")


if __name__ == "__main__":
    main()
