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
  description: How many controls fail somewhere.
  returned: always
  type: int
change:
  description: Since the previous fleet report - since, newly_failing, fixed, nodes_added, nodes_gone.
  returned: always
  type: dict
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
