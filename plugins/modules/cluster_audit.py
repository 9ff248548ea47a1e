#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_audit
short_description: CIS section 5 and the Pod Security advice, from the API's real state
version_added: "0.3.0"
description:
  - Reads every namespace, pod and workload (Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs,
    ReplicationControllers - also those scaled to zero or not run yet) with C(kubectl), and judges each pod and pod
    template against the Pod Security Standards the way the apiserver's PodSecurity admission does
    (module_utils/cluster/pod_security.py, proven against the live apiserver by the test bed).
  - Per namespace - the strictest level everything passes, what blocks the next level (workload, container, field,
    value, check), the namespace's current C(pod-security.kubernetes.io) labels and a finding (compared with
    I(default_enforce) where the namespace has no enforce label).
  - Each workload is told once, under its topmost controller; a Deployment's ReplicaSet or a CronJob's running Job
    whose template differs from its owner's (the target of C(kubectl rollout undo), a Job from an older jobTemplate)
    and each running pod are judged under the owner's name, and said in C(notes). Pods that ended and Jobs that
    finished do not count.
  - C(no_enforce) says why enforce should not be written - no workloads, pods made by a controller of a kind it does
    not read (an operator's custom resource), sidecar injection asked for (istio, linkerd).
  - CIS section 5 (module_utils/cluster/cluster_audit.py) - RBAC (cluster-admin bindings, wildcards, what system:authenticated
    may do as the apiserver answers C(kubectl auth can-i)), ServiceAccount tokens, Pod Security from the running
    pods, NetworkPolicies per namespace, secrets in environment variables, seccomp, the default namespace.
  - Reads only; supports check mode.
options:
  kubeconfig:
    description: Admin kubeconfig on the node the module runs on.
    type: path
    required: true
  version:
    description:
      - Pod Security policy version to judge at (C(latest) or C(v1.<minor>), v1.25 or later). Never later than the
        server's release (C(/version)) - kube-apiserver evaluates a later version as its own, so C(latest) is the server's.
    type: str
    default: latest
  cluster_version:
    description:
      - The cluster's release as the nodes' plans read it (the lowest control plane's, C(kubeguard_cluster_version));
        during an upgrade the policy is judged no later than it.
    type: str
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
    description: The CIS catalogue's controls (for the titles of the section 5 results).
    type: list
    elements: dict
    default: []
  benchmark:
    description: The catalogue's benchmark name, for the report.
    type: str
    default: cis-1.12
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Audit the cluster's objects
  kubeguard.hardening.cluster_audit:
    kubeconfig: /etc/kubernetes/admin.conf
  register: advice
"""

RETURN = r"""
namespaces:
  description: Namespace to C(level), C(workloads) (name to level), C(blocking) (violations; C(from) the copy or pod that shows
    one), C(notes), C(no_enforce) (why enforce should not be written), C(labels), C(exempt), C(cluster_default), C(finding).
  returned: always
  type: dict
version:
  description: The Pod Security policy version judged at and why (C(v1.31 (the server's release ...))).
  returned: unless skipped
  type: str
summary:
  description: The version judged at, then one line per namespace.
  returned: always
  type: list
  elements: str
results:
  description: CIS 5.x judged from the API's objects (C(id), C(title), C(status) manual, C(check_passed), C(found)).
  returned: always
  type: list
  elements: dict
report:
  description:
    - Section 5 as a CIS report of the node reports' schema (node C(cluster)), for C(cis_report).
    - Its C(kubernetes) field is the server's release as C(/version) answers it (left out when it does not answer).
  returned: unless skipped
  type: dict
markdown:
  description: The advice and the section 5 results as a Markdown report.
  returned: always
  type: str
skipped_reason:
  description: Why nothing was judged (no kubectl, the API did not answer).
  returned: when skipped
  type: str
"""

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import cluster_audit, pod_security
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster.kube_api import WORKLOADS, Kubectl, KubectlError

KINDS = f"namespaces,{WORKLOADS},serviceaccounts,networkpolicies,services,roles,rolebindings,clusterroles,clusterrolebindings"
# what system:authenticated may do, asked as kube-bench asks (5.1.2, 5.1.4)
CAN_I = {"secrets": ["get,list,watch", "secrets"], "pods": ["create", "pods"]}


def _skip(module, reason):
    module.exit_json(changed=False, namespaces={}, summary=[], markdown="", results=[], skipped_reason=reason)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubeconfig=dict(type="path", required=True),
            version=dict(type="str", default="latest"),
            cluster_version=dict(type="str"),
            exempt_namespaces=dict(type="list", elements="str", default=[]),
            default_enforce=dict(type="str", default="privileged", choices=list(pod_security.LEVELS)),
            controls=dict(type="list", elements="dict", default=[]),
            benchmark=dict(type="str", default="cis-1.12"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        pod_security.parse_version(p["version"])
    except ValueError as exc:
        # (the version follows the cluster's: an old cluster is reported as not judged, not a failed audit)
        _skip(module, str(exc))
    binary = module.get_bin_path("kubectl")
    if binary is None:
        _skip(module, "no kubectl on this node")
    kubectl = Kubectl(module.run_command, binary, p["kubeconfig"])
    try:
        objects = kubectl.get(KINDS)
    except KubectlError as exc:
        # reported, not fatal: a node audit must not fail because the API cannot be asked
        _skip(module, str(exc))
    try:
        # the server's own release: a pod it refuses must not "pass restricted" here (the policy role judges alike)
        server = kubectl.server_version()
        version, version_text = pod_security.judged_version(p["version"], server, p["cluster_version"])
    except ValueError as exc:
        _skip(module, str(exc))
    can_i = {key: kubectl.can_i(verbs, resource, "system:authenticated") for key, (verbs, resource) in CAN_I.items()}
    advice = pod_security.with_labels(pod_security.advise(objects, version),
                                      [o for o in objects if o.get("kind") == "Namespace"], p["exempt_namespaces"],
                                      cluster_default=p["default_enforce"])
    results = cluster_audit.section_5(objects, advice, p["controls"], p["default_enforce"], can_i)
    generated_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    module.exit_json(changed=False, namespaces=advice, results=results, version=version_text,
                     report=cluster_audit.report(results, p["controls"], p["benchmark"], generated_at,
                                                 {"pod-security": f"policy {version_text}"}, kubernetes=cluster_audit.release_field(server)),
                     summary=[f"Pod Security judged at policy {version_text}"] + pod_security.summary_lines(advice)
                     + cluster_audit.summary_lines(results),
                     markdown=pod_security.markdown(advice, version_text) + cluster_audit.markdown(results))


if __name__ == "__main__":
    main()
