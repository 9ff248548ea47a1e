#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cis_audit
short_description: Audit a node against the CIS Kubernetes Benchmark from its real state
version_added: "0.1.0"
description:
  - Evaluates every control of the collection's catalogue (CIS Kubernetes Benchmark v1.12 numbering)
    that applies to the node - section 1 and 3 on control planes, 2 where etcd runs, 4 where a
    kubelet runs - from real state - the running processes' arguments in C(/proc) (falling back to
    static pod manifests, C(/etc/etcd.env) or the kubelet's environment files when a component is
    not running), the kubelet config file it was started with, the apiserver's encryption config and
    the modes and owners of files. A kubelet flag wins over its config file, as in the kubelet.
  - Manual controls are reported as C(manual) with their guidance; waived controls as C(waived) with
    the reason (and still evaluated, so the report shows what was found).
  - Read-only; the same in check mode.
options:
  roles:
    description:
      - The node's roles from the inventory - C(control_plane), C(worker), C(etcd). Where etcd or a
        kubelet is found on the node, C(etcd) / C(worker) are added.
    type: list
    elements: str
    default: []
  waivers:
    description: >-
      Control id to the reason it is waived, or to a record {reason, owner, expires, ticket} that waives until its
      expires day (verify_waivers).
    type: dict
    default: {}
  plan_waivers:
    description: >-
      The collection's own waivers, from the node plan (plan.waived - a hardened setting your variables turn off,
      with the reason); a control also in O(waivers) keeps that record (its owner and expiry decide) with both
      reasons, so the override is never hidden.
    type: dict
    default: {}
  node_name:
    description: Name used in the report.
    type: str
    required: true
  catalogue:
    description:
      - The control catalogue (C(benchmark), C(controls), C(benchmarks), C(kubernetes_support)); its action plugin fills it in on the controller
        when not given (only Python files travel to the node), and the platform data likewise.
    type: dict
    required: true
  approved_ports:
    description:
      - The TCP ports each component may listen on beyond loopback (C(kubeguard_approved_ports), your PPSM CAL
        registration), component to a list of ports or C(low-high) ranges; a component not named keeps the ports
        Kubernetes documents. The STIG's PPSM rules (V-242410 to V-242413) judge the listeners by it.
    type: dict
    default: {}
  release_floor:
    description:
      - The oldest patch of each Kubernetes minor your organisation allows (C(kubeguard_release_floor)), e.g.
        C([v1.35.4, v1.36.3]); the STIG's V-242443 judges the node's release and its kubectl by it and by upstream's
        end-of-life dates.
    type: list
    elements: str
    default: []
  stale_image_days:
    description:
      - How many days an image no container uses may stay on the node (C(kubeguard_stale_image_days)); the STIG's
        V-242442 fails on one that has been here longer (an old component left behind after an update).
    type: int
    default: 30
  kube_version:
    description:
      - The Kubernetes release you set (C(kube_version)), reported as the one the node is judged at. Omitted, the
        release the node runs is read as the node plan reads it (the running kube-apiserver, k3s or kubelet asked
        C(--version), else the apiserver's static pod image tag or the binary on disk, else the documented default).
      - Either way the report's C(kubernetes) field says which release, where it came from and what runs.
    type: str
  benchmark:
    description:
      - The benchmark the report judges by (C(kubeguard_benchmark)); C(auto) takes the one the catalogue maps to the
        release the node is judged at (C(benchmarks) in the catalogue).
    type: str
    default: auto
  more_benchmarks:
    description:
      - Further benchmarks to judge the same observed state by (C(kubeguard_benchmark) as a list, after its first),
        each returned in I(more_reports); one that I(benchmark) already chose is not repeated.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - kubeguard.hardening.platform
  - kubeguard.hardening.integrity
  - kubeguard.hardening.controller_day
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Audit the node
  kubeguard.hardening.cis_audit:
    node_name: "{{ inventory_hostname }}"
    roles: [control_plane]
    waivers:
      "1.3.7": "controller-manager metrics scraped by Prometheus from the node network"
  register: cis
"""

RETURN = r"""
report:
  description:
    - The report, in the schema described in the collection's docs/cis-report.md.
    - Its C(kubernetes) field is the release the node is judged at - C(version), C(source) (C(kube_version), where it
      was read, or C(documented default)), C(running) (the release read from the node, null when nothing told) and
      C(running_source).
  returned: always
  type: dict
more_reports:
  description: The report by each of I(more_benchmarks) not already judged, in their order.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import require_yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit, reports, waivers
from ansible_collections.kubeguard.hardening.plugins.module_utils.model.hardening_vars import DEFAULT_KUBE_VERSION
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe.node_facts import kube_version


def main():
    module = AnsibleModule(
        argument_spec=dict(
            roles=dict(type="list", elements="str", default=[]),
            config_dir=dict(type="path", default="/etc/kubernetes"),
            layout=dict(type="str", default="auto"),
            platforms=dict(type="dict"),
            waivers=dict(type="dict", default={}),
            plan_waivers=dict(type="dict", default={}),
            node_name=dict(type="str", required=True),
            catalogue=dict(type="dict", required=True),
            checksums=dict(type="dict", default={}),
            today=dict(type="str"),
            approved_ports=dict(type="dict", default={}),
            release_floor=dict(type="list", elements="str", default=[]),
            stale_image_days=dict(type="int", default=30),
            kube_version=dict(type="str"),
            benchmark=dict(type="str", default="auto"),
            more_benchmarks=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    require_yaml(module)
    p = module.params
    try:
        layout_name = p["layout"]
        if layout_name == "auto":
            layout_name = catalogue.detect_layout(p["config_dir"], p["platforms"])
        layout = catalogue.layout_for(layout_name, p["config_dir"], p["platforms"])
        # the release, as node_plan.node_version has it: yours when set, else what the node runs, else the default
        read = kube_version(layout, lambda argv: module.run_command(argv, handle_exceptions=False))
        given = f"v{p['kube_version'].strip().lstrip('v')}" if (p["kube_version"] or "").strip() else None
        info = dict(read, given=given, used=given or read["version"] or DEFAULT_KUBE_VERSION)
        today = audit.controller_day(p["today"]) if p["today"] else None   # ValueError: failed, naming it
        expected = audit.expectations(p["approved_ports"], p["release_floor"], p["stale_image_days"])
        state = audit.observe(layout, checksums=p["checksums"], expected=expected)
        accepted = waivers.beside_overrides(p["plan_waivers"], p["waivers"])   # ValueError: failed, naming the entry
        report, *more = audit.node_reports(state, p["roles"], accepted, p["catalogue"], p["node_name"], layout_name,
                                           kubernetes=reports.kubernetes_field(info), benchmarks=[p["benchmark"]] + p["more_benchmarks"],
                                           today=today)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, report=report, more_reports=more)


if __name__ == "__main__":
    main()
