#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kubelet_serving_csr
short_description: Approve a node's own kubelet serving certificate requests (serverTLSBootstrap)
version_added: "0.1.0"
description:
  - With C(serverTLSBootstrap) (kubespray's C(kubelet_rotate_server_certificates)) the kubelet asks for
    its serving certificate by CertificateSigningRequest and nothing approves it by default, so port
    10250 serves no TLS and C(kubectl logs/exec) fail.
  - Runs C(kubectl) on a control plane. Finds the node registered with one of I(node_addresses) and
    approves its pending C(kubernetes.io/kubelet-serving) requests that pass every check - requested by
    C(system:node:<name>) in group C(system:nodes), subject matching, serving usages only, and every DNS
    name and IP address registered for that node. Other requests are reported, never approved.
  - In check mode reports what it would approve.
options:
  node_addresses:
    description: Addresses of the node whose requests to approve (its own IPs).
    type: list
    elements: str
    required: true
  kubeconfig:
    description: Admin kubeconfig on the host the module runs on.
    type: path
    default: /etc/kubernetes/admin.conf
  kubectl:
    description: kubectl executable.
    type: str
    default: kubectl
  wait:
    description: Seconds to wait for a request from the node when none is pending yet (just after a kubelet restart).
    type: int
    default: 0
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Approve this node's kubelet serving certificate
  kubeguard.hardening.kubelet_serving_csr:
    node_addresses: "{{ ansible_all_ipv4_addresses }}"
    wait: 60
  delegate_to: "{{ groups['kube_control_plane'][0] }}"
"""

RETURN = r"""
node:
  description: Name of the node found for I(node_addresses) (null when none is registered).
  returned: always
  type: str
approved:
  description: Names of the requests approved (or that would be, in check mode).
  returned: always
  type: list
  elements: str
refused:
  description: Pending requests of the node left alone, with the reason.
  returned: always
  type: list
  elements: dict
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils import serving_csr


def kubectl_json(module, *args):
    p = module.params
    rc, out, err = module.run_command([p["kubectl"], "--kubeconfig", p["kubeconfig"], *args, "-o", "json"])
    if rc != 0:
        module.fail_json(msg=f"kubectl {' '.join(args)} failed: {err.strip()}")
    return json.loads(out)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            node_addresses=dict(type="list", elements="str", required=True),
            kubeconfig=dict(type="path", default="/etc/kubernetes/admin.conf"),
            kubectl=dict(type="str", default="kubectl"),
            wait=dict(type="int", default=0),
        ),
        supports_check_mode=True,
    )
    p = module.params
    identities = serving_csr.node_identities(kubectl_json(module, "get", "nodes"))
    node = serving_csr.node_of_address(identities, p["node_addresses"])
    if node is None:
        module.exit_json(changed=False, node=None, approved=[], refused=[],
                         msg=f"no registered node has one of the addresses {p['node_addresses']}")
    deadline = time.monotonic() + p["wait"]
    while True:
        approve, refused = [], []
        for csr in kubectl_json(module, "get", "csr").get("items", []):
            if not serving_csr.is_pending(csr) or csr["spec"].get("username") != f"system:node:{node}":
                continue
            _ignored, reason = serving_csr.judge(csr, identities)
            if reason:
                refused.append({"name": csr["metadata"]["name"], "reason": reason})
            else:
                approve.append(csr["metadata"]["name"])
        if approve or refused or time.monotonic() >= deadline:
            break
        time.sleep(2)
    if approve and not module.check_mode:
        rc, _ignored, err = module.run_command([p["kubectl"], "--kubeconfig", p["kubeconfig"], "certificate", "approve", *approve])
        if rc != 0:
            module.fail_json(msg=f"kubectl certificate approve failed: {err.strip()}", node=node, approved=[], refused=refused)
    module.exit_json(changed=bool(approve), node=node, approved=approve, refused=refused)


if __name__ == "__main__":
    main()
