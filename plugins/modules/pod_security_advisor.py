#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pod_security_advisor
short_description: The strictest Pod Security Standard each namespace's workloads pass
version_added: "0.3.0"
description:
  - Reads every namespace, pod and workload (Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs,
    ReplicationControllers - also those scaled to zero or not run yet) with C(kubectl), and judges each pod and pod
    template against the Pod Security Standards the way the apiserver's PodSecurity admission does
    (module_utils/pod_security.py, proven against the live apiserver by the test bed).
  - Per namespace - the strictest level everything passes, what blocks the next level (workload, container, field,
    value, check), the namespace's current C(pod-security.kubernetes.io) labels and a finding.
  - Reads only; supports check mode.
options:
  kubeconfig:
    description: Admin kubeconfig on the node the module runs on.
    type: path
    required: true
  version:
    description: Pod Security policy version to judge at (C(latest) or C(v1.<minor>), v1.25 or later).
    type: str
    default: latest
  exempt_namespaces:
    description: Namespaces exempt from Pod Security (reported as exempt).
    type: list
    elements: str
    default: []
  default_enforce:
    description: The level the cluster's admission configuration enforces where a namespace has no label (CIS 5.2.1).
    type: str
    choices: [privileged, baseline, restricted]
    default: privileged
  controls:
    description: The CIS catalogue's controls (for the titles of the section 5.2 results).
    type: list
    elements: dict
    default: []
author:
  - kubeguard.hardening developers
"""

EXAMPLES = r"""
- name: Advise Pod Security levels
  kubeguard.hardening.pod_security_advisor:
    kubeconfig: /etc/kubernetes/admin.conf
  register: advice
"""

RETURN = r"""
namespaces:
  description: Namespace to C(level), C(workloads) (name to level), C(blocking) (violations), C(labels), C(exempt), C(finding).
  returned: always
  type: dict
summary:
  description: One line per namespace.
  returned: always
  type: list
  elements: str
results:
  description: CIS 5.2.x judged from the running pods and the namespaces' labels (C(id), C(title), C(status) manual,
    C(check_passed), C(found)).
  returned: always
  type: list
  elements: dict
markdown:
  description: The advice and the 5.2 results as a Markdown report.
  returned: always
  type: str
skipped_reason:
  description: Why nothing was judged (no kubectl, the API did not answer).
  returned: when skipped
  type: str
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils import cluster_audit, pod_security

KINDS = "namespaces,pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs,replicationcontrollers"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubeconfig=dict(type="path", required=True),
            version=dict(type="str", default="latest"),
            exempt_namespaces=dict(type="list", elements="str", default=[]),
            default_enforce=dict(type="str", default="privileged", choices=list(pod_security.LEVELS)),
            controls=dict(type="list", elements="dict", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        version = pod_security.parse_version(p["version"])
    except ValueError as exc:
        # (the version follows the cluster's: an old cluster is reported as not judged, not a failed audit)
        module.exit_json(changed=False, namespaces={}, summary=[], markdown="", results=[], skipped_reason=str(exc))
    kubectl = module.get_bin_path("kubectl")
    if kubectl is None:
        module.exit_json(changed=False, namespaces={}, summary=[], markdown="", results=[],
                         skipped_reason="no kubectl on this node")
    rc, out, err = module.run_command([kubectl, "--kubeconfig", p["kubeconfig"], "get", KINDS, "--all-namespaces",
                                       "-o", "json"])
    if rc != 0:
        # reported, not fatal: a node audit must not fail because the API cannot be asked
        module.exit_json(changed=False, namespaces={}, summary=[], markdown="", results=[],
                         skipped_reason=f"kubectl get {KINDS}: {(err.strip() or out.strip())[:500]}")
    try:
        objects = json.loads(out).get("items") or []
    except ValueError as exc:
        module.fail_json(msg=f"kubectl returned no JSON: {exc}")
    advice = pod_security.with_labels(pod_security.advise(objects, version),
                                      [o for o in objects if o.get("kind") == "Namespace"], p["exempt_namespaces"])
    results = cluster_audit.section_5_2(objects, advice, p["controls"], p["default_enforce"])
    module.exit_json(changed=False, namespaces=advice, results=results,
                     summary=pod_security.summary_lines(advice) + cluster_audit.summary_lines(results),
                     markdown=pod_security.markdown(advice, p["version"]) + cluster_audit.markdown(results))


if __name__ == "__main__":
    main()
