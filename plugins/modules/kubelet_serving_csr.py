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
  - Runs C(kubectl) on a control plane and looks at the pending C(kubernetes.io/kubelet-serving) requests
    of the node I(node_name), by requester (C(system:node:<node_name>)). A request is approved only when
    it passes every check; the others are returned in C(refused) with the reason, never approved.
  - The node is identified by the requester's name alone, never by address (a Node's C(status.addresses)
    are written by that node's own kubelet). Exactly one registered Node must have that name, and exactly
    one host of I(inventory_hosts) must register as it; otherwise nothing is approved.
  - Requested by C(system:node:<name>) in group C(system:nodes), subject matching, serving usages only.
  - Names - the stricter rule, the inventory and the Node must agree. A DNS name is the node's name, or
    a host name the inventory declares for that host (its inventory name, C(ansible_host), C(ip),
    C(access_ip)) that the Node also registers (C(Hostname), C(InternalDNS), C(ExternalDNS)). An IP address
    is one the inventory declares for that host (C(ansible_host), C(ip), C(access_ip)) and the Node
    registers (C(InternalIP), C(ExternalIP)), and that no other inventory host declares. Declare the
    node's address in C(ip) (as kubespray does) or C(ansible_host) where it is not there yet.
  - Never approved, whatever the inventory or the Node say - an IP inside I(service_cidrs) or that is a
    Service's cluster IP, link-local (C(169.254.0.0/16) where node-local DNS listens, C(fe80::/10)), loopback,
    unspecified, multicast or reserved; a DNS name C(kubernetes), C(kubernetes.default),
    C(kubernetes.default.svc), C(*.svc), C(*.svc.<cluster_domain>), C(*.<cluster_domain>),
    C(*.cluster.local), C(localhost), C(*.localhost) or any wildcard. A node that registered
    C(10.96.0.1) or C(kubernetes.default.svc) gets no certificate for the API server's names.
  - In check mode reports what it would approve.
options:
  node_name:
    description:
      - Name of the node whose requests to look at (kubespray - C(kube_override_hostname), else the
        inventory hostname). Compared in lower case, as the kubelet registers it.
    type: str
    required: true
  inventory_hosts:
    description:
      - "Every inventory host that may run a kubelet - C({inventory host: [addresses]}) (the node is named as
        the host) or C({inventory host: {node_name: name, addresses: [addresses]}}). Addresses are what the
        inventory declares - C(ansible_host), C(ip), C(access_ip) - IP addresses or host names."
    type: dict
    required: true
  service_cidrs:
    description:
      - The cluster's service networks (kubespray - C(kube_service_addresses), C(kube_service_addresses_ipv6)).
        No IP in them is ever approved.
    type: list
    elements: str
    default: [10.96.0.0/12]
  cluster_domain:
    description: The cluster's DNS domain (kubespray - C(dns_domain)). No name in it is ever approved.
    type: str
    default: cluster.local
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
    node_name: "{{ inventory_hostname }}"
    inventory_hosts:
      node1: [10.0.0.11]
      node2: {node_name: node2, addresses: [10.0.0.12, 203.0.113.12]}
    service_cidrs: [10.233.0.0/18]
    wait: 60
  delegate_to: "{{ groups['kube_control_plane'][0] }}"
"""

RETURN = r"""
node:
  description: I(node_name) as the requests name it.
  returned: always
  type: str
approved:
  description: Names of the requests approved (or that would be, in check mode).
  returned: always
  type: list
  elements: str
refused:
  description: Pending requests of the node left alone, with the reason (name, reason).
  returned: always
  type: list
  elements: dict
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import serving_csr


def kubectl_json(module, *args, required=True):
    p = module.params
    rc, out, err = module.run_command([p["kubectl"], "--kubeconfig", p["kubeconfig"], *args, "-o", "json"])
    if rc != 0:
        if not required:
            return None
        module.fail_json(msg=f"kubectl {' '.join(args)} failed: {err.strip()}")
    return json.loads(out)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            node_name=dict(type="str", required=True),
            inventory_hosts=dict(type="dict", required=True),
            service_cidrs=dict(type="list", elements="str", default=list(serving_csr.DEFAULT_SERVICE_CIDRS)),
            cluster_domain=dict(type="str", default=serving_csr.DEFAULT_CLUSTER_DOMAIN),
            kubeconfig=dict(type="path", default="/etc/kubernetes/admin.conf"),
            kubectl=dict(type="str", default="kubectl"),
            wait=dict(type="int", default=0),
        ),
        supports_check_mode=True,
    )
    p = module.params
    node = p["node_name"].strip().lower()
    try:
        serving_csr.service_networks(p["service_cidrs"])
    except ValueError as exc:
        module.fail_json(msg=f"service_cidrs: {exc}")
    nodes = kubectl_json(module, "get", "nodes")
    # defense in depth beside service_cidrs: no existing Service's cluster IP either
    service_ips = serving_csr.cluster_ips(kubectl_json(module, "get", "services", "--all-namespaces", required=False))
    allowed, why_none = serving_csr.allowed_names(node, nodes, p["inventory_hosts"])
    # a node that cannot be approved is not waited for; its pending requests are still reported
    deadline = time.monotonic() + (p["wait"] if allowed is not None else 0)
    while True:
        approve, refused = [], []
        for csr in kubectl_json(module, "get", "csr").get("items", []):
            if not serving_csr.is_pending(csr) or (csr.get("spec") or {}).get("username") != f"system:node:{node}":
                continue
            _ignored, reason = serving_csr.judge(csr, nodes, p["inventory_hosts"], p["service_cidrs"],
                                                 p["cluster_domain"], service_ips)
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
    extra = {"msg": f"nothing of node {node} can be approved: {why_none}"} if allowed is None else {}
    module.exit_json(changed=bool(approve), node=node, approved=approve, refused=refused, **extra)


if __name__ == "__main__":
    main()
