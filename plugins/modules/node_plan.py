#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: node_plan
short_description: A node's whole hardening run in one call - observe, judge, plan, evaluate, audit - without writing
version_added: "0.2.0"
description:
  - Looks at the node once (platform, the Kubernetes release it runs, running components and their flags, config
    files, kernel parameters, own addresses), judges the hardening settings against what runs (a default never
    weakens a passing control; the user's own weakening is waived), builds every write of the run -
    the arguments the roles pass to C(static_pod), C(kubelet_config), C(env_file), C(config_files),
    C(file_modes), C(k3s_config) and the encryption config - and evaluates each with the code those
    writer modules use. Writes nothing.
  - C(harden.yml) runs it on every node in parallel first; the serial, health-gated rollout then runs
    only on nodes whose plan is not empty, and a node left untouched is reported from this same look
    (C(audit_roles)) instead of a second audit.
  - The encryption config's keys are never returned; only a fingerprint of the file.
  - Its action plugin (on the controller) validates the hardening variables in scope first and fills in C(values),
    C(catalogue), C(platforms) and C(checksums); a task gives none of them.
options:
  values:
    description: The validated hardening variables (filled in by the action).
    type: dict
    required: true
  catalogue:
    description: The whole control catalogue (filled in by the action); only Python files travel to nodes.
    type: dict
    required: true
  node:
    description: C(name), C(control_plane) and C(etcd_host) (bools) from the inventory.
    type: dict
    required: true
  peer_addresses:
    description: Addresses of the cluster's nodes (allowed through the kubelet firewall).
    type: list
    elements: str
    default: []
  control_plane_endpoints:
    description: Load balancer addresses the kubelet must reach.
    type: list
    elements: str
    default: []
  settings:
    description: The collection's own settings (file locations, etcd user, audit shared dirs, sysctl apply).
    type: dict
    required: true
  reencrypt_marker:
    description: File whose existence means a secret rewrite is still pending (returned in C(node_paths)).
    type: path
  backup_root:
    description: Where this run backs up what it changes (returned in C(node_paths), for plays without the role defaults).
    type: path
  audit_roles:
    description: Roles to audit the node for (C(control_plane), C(etcd), C(worker)); omitted - no report.
    type: list
    elements: str
  waivers:
    description: >-
      Control id to the reason it is waived, or to a record {reason, owner, expires, ticket} that waives until its
      expires day (verify_waivers).
    type: dict
    default: {}
  judge_run:
    description:
      - Judge the node as this run's writes would leave it with the whole audit, against the node now, and fail
        before anything is written when a control would go from pass to fail that no variable of the user's explains.
      - C(harden.yml)'s plan sets it; a read-only run (C(verify.yml), C(rotate_keys.yml)'s look, a rollback) writes
        none of the planned operations and passes C(false).
    type: bool
    default: true
extends_documentation_fragment:
  - kubeguard.hardening.platform
  - kubeguard.hardening.integrity
  - kubeguard.hardening.controller_day
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Plan this node (the hardening variables in scope are validated and passed on by the action)
  kubeguard.hardening.node_plan:
    node: {name: "{{ inventory_hostname }}", control_plane: true, etcd_host: false}
    settings: {sysctl_file: /etc/sysctl.d/90-kubelet.conf, sysctl_apply: true,
               node_audit_rules_file: /etc/audit/rules.d/20-kubeguard-kubernetes.rules, etcd_env_file: /etc/etcd.env,
               etcd_user: etcd, audit_shared_log_dirs: [/var/log], kubelet_firewall_dropin: /x.conf,
               kubelet_serving_cert: /var/lib/kubelet/pki/kubelet-server-current.pem,
               metrics_firewall_dir: /etc/kubeguard, metrics_firewall_unit_file: /etc/systemd/system/kubeguard-metrics-firewall.service}
  register: plan
"""

RETURN = r"""
changes:
  description: Component to the list of changes it would get (empty list - nothing to do).
  returned: always
  type: dict
pending:
  description: Components with at least one change.
  returned: always
  type: list
  elements: str
variables:
  description: The validated hardening variables (added by the action; C(_checksums) the digests the binaries must have).
  returned: success
  type: dict
operations:
  description: Every write of the run, by component (the writer modules' arguments; the roles pass them on).
  returned: always
  type: dict
rollout:
  description: >-
    Phase (C(node), C(etcd_host)) to the roles harden.yml includes on this node, in order (each C(role) and its C(tags)),
    from the component registry's rollout rows where the operations have the step's key. Added by the action, on the
    controller, from the operations.
  returned: success
  type: dict
plan:
  description: Settings per component, what was kept (defaults that would weaken) and waived, and the summary lines.
  returned: always
  type: dict
layout:
  description: The platform the node was detected as (or the one given).
  returned: always
  type: str
running:
  description: Component to whether it runs.
  returned: always
  type: dict
sysctls:
  description: Kernel parameters the kubelet protects, as they are.
  returned: always
  type: dict
addresses:
  description: The node's own addresses.
  returned: always
  type: list
  elements: str
apiserver_endpoints:
  description: Hosts of the apiserver URLs in the kubelet's kubeconfig.
  returned: always
  type: list
  elements: str
reencrypt_pending:
  description: Whether the secret rewrite marker exists.
  returned: always
  type: bool
node_paths:
  description: The node's paths (layout and hardening files), with C(backup_root) and C(reencrypt_marker) as given.
  returned: always
  type: dict
encryption_fingerprint:
  description: SHA-256 of the encryption config file as it is (compared across control planes), or null.
  returned: always
  type: str
version:
  description:
    - The release this node runs and where it was read (C(version), C(source)), C(given) (kube_version, when set)
      and C(used) (what the node was judged at). Not set, the node's own release (else the documented default) is
      used and the summary says which; set and different from what runs, the summary warns.
  returned: always
  type: dict
kube_proxy_behind:
  description:
    - "C(<node>: why) when this node's kube-proxy serves its metrics beyond loopback while loopback is wanted
      (kube_proxy_metrics_bind_address), or on no port its file names - it started from an older copy of its
      ConfigMap (it reads the file at start only) - else null. The kube_proxy role rolls the pods for it."
  returned: always
  type: str
report:
  description:
    - The node's CIS report as it is now (docs/cis-report.md), when I(audit_roles) is given.
    - The action returns it as JSON text, C(report_json), instead (a string costs the controller's main process
      nothing per host; C(cis_report) takes either).
    - Its C(kubernetes) field is the release the node is judged at (from C(version) above) - C(version) (C(used)),
      C(source) (C(kube_version) when given, else where it was read, else C(documented default)), C(running) (the
      release read from the node, null when nothing told) and C(running_source).
  returned: when audit_roles is given
  type: dict
more_reports:
  description:
    - The node's report by each further benchmark when C(kubeguard_benchmark) is a list (the first is I(report)), in
      its order; a benchmark that C(auto) already chose is not repeated. The action returns them as JSON text,
      C(more_reports_json).
  returned: when audit_roles is given and kubeguard_benchmark names several benchmarks
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import require_yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_plan


def main():
    module = AnsibleModule(
        argument_spec=dict(
            values=dict(type="dict", required=True),
            catalogue=dict(type="dict", required=True),
            node=dict(type="dict", required=True),
            peer_addresses=dict(type="list", elements="str", default=[]),
            control_plane_endpoints=dict(type="list", elements="str", default=[]),
            settings=dict(type="dict", required=True),
            reencrypt_marker=dict(type="path"),
            backup_root=dict(type="path"),
            audit_roles=dict(type="list", elements="str"),
            waivers=dict(type="dict", default={}),
            config_dir=dict(type="path", default="/etc/kubernetes"),
            layout=dict(type="str", default="auto"),
            platforms=dict(type="dict"),
            checksums=dict(type="dict", default={}),
            today=dict(type="str"),
            judge_run=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    require_yaml(module)

    def run(argv):
        # errors are the caller's (a process that exited between the look and its --version is not a failed plan)
        return module.run_command(argv, handle_exceptions=False)

    try:
        result = node_plan.plan_node(module.params, run)
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"planning failed: {exc}")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
