#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_policy
short_description: Pod Security labels, NetworkPolicies and default ServiceAccounts, per namespace, from what runs
version_added: "0.3.0"
description:
  - Reads the cluster once with C(kubectl) (namespaces, pods, workloads, NetworkPolicies, ServiceAccounts, nodes) and
    plans each namespace's changes (module_utils/cluster/cluster_policy.py) - Pod Security labels at the level everything that
    runs there passes (the advisor's), never stricter unless I(namespace_levels) says so, never weaker than what is
    there; default-deny ingress with allowances (same namespace, nodes, declared namespaces), egress open but for the
    cloud metadata address; the default ServiceAccount's token automount off where no pod or template uses it.
  - The advisor counts a Deployment's older ReplicaSets (what C(kubectl rollout undo) brings back) and a CronJob's
    running Jobs from another template under their owner, and running pods, not pods that ended. Enforce is not
    written where there are no workloads, where pods are made by a controller of a kind it does not read (an
    operator's custom resource), or where sidecar injection is asked for (istio, linkerd) - said in C(notes); audit
    and warn still are. A namespace without an enforce label whose workloads pass less than the cluster default
    (I(cluster_defaults)) is said.
  - Applies one namespace at a time - saves each object in the backup set's C(.cluster-objects) (one it creates is
    recorded as absent, so rollback.yml deletes it), applies server-side with its own field manager, then checks that
    no pod of the namespace restarted or went away; if one did, puts the namespace's objects back and fails.
  - Check mode plans only; with diff, each object before and after.
options:
  kubeconfig:
    description: Admin kubeconfig on the node the module runs on.
    type: path
    required: true
  pod_security_labels:
    description: C(soak) sets audit and warn, C(enforce) also enforce, C(off) leaves the labels alone.
    type: str
    choices: ["off", soak, enforce]
    default: soak
  version:
    description:
      - Pod Security policy version judged and pinned in the C(-version) labels; C(latest) is the server's release
        (C(/version)). Never later than it - kube-apiserver evaluates a later version as its own.
    type: str
    default: latest
  cluster_version:
    description:
      - The cluster's release as the nodes' plans read it (the lowest control plane's, C(kubeguard_cluster_version));
        during an upgrade the labels are pinned no later than it.
    type: str
  namespace_levels:
    description: Your own level per namespace (may be stricter than what runs).
    type: dict
    default: {}
  exempt_namespaces:
    description: Namespaces exempt from Pod Security (never labeled).
    type: list
    elements: str
    default: []
  cluster_defaults:
    description: The admission configuration's default level per mode (C(enforce), C(audit), C(warn)), if it has one.
    type: dict
    default: {}
  network_policies:
    description: Manage the NetworkPolicies.
    type: bool
    default: false
  network_policy_exempt_namespaces:
    description: Namespaces that get no NetworkPolicies.
    type: list
    elements: str
    default: []
  ingress_from_namespaces:
    description: Namespaces whose pods may reach every pod (scrapers, ingress controllers).
    type: list
    elements: str
    default: []
  ingress_from_nodes:
    description: Allow ingress from the nodes' internal addresses (kubelet probes, the apiserver calling webhooks).
    type: bool
    default: true
  metadata_addresses:
    description: Addresses pods may not reach (cloud metadata); empty - no egress policy.
    type: list
    elements: str
    default: []
  nodelocaldns_ip:
    description: NodeLocal DNS address allowed for DNS egress (host network); empty when it is not deployed.
    type: str
  default_service_account_automount:
    description: C(false) turns the default ServiceAccount's token automount off where nothing uses its token.
    type: bool
    default: true
  settle_seconds:
    description: How long the pods of a namespace are watched after its NetworkPolicies change (liveness probes fail late).
    type: int
    default: 30
extends_documentation_fragment:
  - kubeguard.hardening.backup
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Label namespaces (soak) and add default-deny NetworkPolicies
  kubeguard.hardening.cluster_policy:
    kubeconfig: /etc/kubernetes/admin.conf
    network_policies: true
    metadata_addresses: [169.254.169.254/32]
"""

RETURN = r"""
changes:
  description: Each change (C(object), C(why)), applied or - in check mode - planned.
  returned: always
  type: list
  elements: dict
notes:
  description: What was kept and why (stricter labels left alone, enforce not written and why, namespaces weaker than the
    cluster default, older revisions counted, ServiceAccounts whose token is used).
  returned: always
  type: list
  elements: str
version:
  description: The Pod Security policy version judged and pinned (C(v1.31)).
  returned: unless skipped
  type: str
version_source:
  description: Why that version (C(v1.31 (the server's release ...))); also the first note.
  returned: unless skipped
  type: str
skipped_reason:
  description: Why nothing was done (no kubectl, the API did not answer).
  returned: when skipped
  type: str
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import cluster_policy, pod_security
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.backup_sets import CLUSTER_OBJECTS_DIR
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.fileops import BACKUP_OPTIONS
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster.kube_api import WORKLOADS, Kubectl, KubectlError, record_left, save_object

KINDS = f"namespaces,nodes,{WORKLOADS},networkpolicies,serviceaccounts"


def _apply_namespace(module, kubectl, namespace, changes, directory, settle):
    """Save, apply, watch the pods; on trouble put the namespace back and fail."""
    before = cluster_policy.pod_restarts(kubectl.get("pods", namespace))
    for change in changes:
        if module.params["backup"]:
            save_object(directory, cluster_policy.saved_name(change), cluster_policy.saved_content(change))
    try:
        kubectl.apply([c.apply for c in changes])
        if any(c.kind == "NetworkPolicy" for c in changes) and before:
            time.sleep(settle)
        problems = cluster_policy.health_problems(before, kubectl.get("pods", namespace))
    except KubectlError as exc:
        problems = [str(exc)]
    if not problems and module.params["backup"]:
        # what this run left each object as: a rollback restores it only while nobody changed it since
        for change in changes:
            own_namespace = (change.apply.get("metadata") or {}).get("namespace")   # none for a Namespace itself
            record_left(directory, cluster_policy.saved_name(change), kubectl.get_one(change.kind, own_namespace, change.name))
    if problems:
        restored = [cluster_policy.restore(kubectl, cluster_policy.saved_content(change)) for change in changes]
        module.fail_json(msg=f"namespace {namespace}: pods suffered after our change - {'; '.join(problems)}. "
                             f"Put back: {', '.join(restored)}", problems=problems, restored=restored)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubeconfig=dict(type="path", required=True),
            pod_security_labels=dict(type="str", default="soak", choices=["off", "soak", "enforce"]),
            version=dict(type="str", default="latest"),
            cluster_version=dict(type="str"),
            namespace_levels=dict(type="dict", default={}),
            exempt_namespaces=dict(type="list", elements="str", default=[]),
            cluster_defaults=dict(type="dict", default={}),
            network_policies=dict(type="bool", default=False),
            network_policy_exempt_namespaces=dict(type="list", elements="str", default=[]),
            ingress_from_namespaces=dict(type="list", elements="str", default=[]),
            ingress_from_nodes=dict(type="bool", default=True),
            metadata_addresses=dict(type="list", elements="str", default=[]),
            nodelocaldns_ip=dict(type="str"),
            default_service_account_automount=dict(type="bool", default=True),
            settle_seconds=dict(type="int", default=30),
            **BACKUP_OPTIONS,
        ),
        supports_check_mode=True,
    )
    p = module.params
    binary = module.get_bin_path("kubectl")
    if binary is None:
        module.exit_json(changed=False, changes=[], notes=[], skipped_reason="no kubectl on this node")
    kubectl = Kubectl(module.run_command, binary, p["kubeconfig"])
    try:
        objects = kubectl.get(KINDS)
    except KubectlError as exc:
        # nothing changed yet, so nothing is at risk: said loudly, the verify report shows the cluster unjudged
        module.warn(f"cluster objects not hardened: {exc}")
        module.exit_json(changed=False, changes=[], notes=[], skipped_reason=str(exc))
    try:
        # the server's own release (cluster_audit judges alike): labels never pin a version it does not enforce
        version, version_text = pod_security.judged_version(p["version"], kubectl.server_version(), p["cluster_version"])
        settings = cluster_policy.Settings(
            pod_security_labels=p["pod_security_labels"], version=f"v{version[0]}.{version[1]}",
            namespace_levels=p["namespace_levels"], exempt_namespaces=p["exempt_namespaces"],
            cluster_defaults={k: v for k, v in p["cluster_defaults"].items() if v},
            network_policies=p["network_policies"],
            network_policy_exempt_namespaces=p["network_policy_exempt_namespaces"],
            ingress_from_namespaces=p["ingress_from_namespaces"], ingress_from_nodes=p["ingress_from_nodes"],
            metadata_addresses=p["metadata_addresses"], nodelocaldns_ip=p["nodelocaldns_ip"] or None,
            default_service_account_token=p["default_service_account_automount"])
        result = cluster_policy.plan(objects, settings)
    except (KubectlError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    changes = result["changes"]
    result["notes"].insert(0, f"Pod Security judged and pinned at policy {version_text}")
    report = [{"object": c.key, "why": c.why} for c in changes]
    diff = [cluster_policy.diff(c) for c in changes] if module._diff else None
    if module.check_mode or not changes:
        module.exit_json(changed=bool(changes), changes=report, notes=result["notes"], version=settings.version, version_source=version_text,
                         **({"diff": diff} if diff else {}))
    directory = os.path.join(p["backup_root"], p["backup_set"], CLUSTER_OBJECTS_DIR)
    try:
        for namespace, namespace_changes in cluster_policy.by_namespace(changes).items():
            _apply_namespace(module, kubectl, namespace, namespace_changes, directory, p["settle_seconds"])
    except KubectlError as exc:
        module.fail_json(msg=f"{exc} (objects saved in {directory})", changes=report)
    module.exit_json(changed=True, changes=report, notes=result["notes"], version=settings.version, version_source=version_text,
                     **({"diff": diff} if diff else {}))


if __name__ == "__main__":
    main()
