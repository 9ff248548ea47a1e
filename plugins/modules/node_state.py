#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: node_state
short_description: Observe a Kubernetes node in one call - layout, running components, kernel parameters
version_added: "0.1.0"
description:
  - Detects whether the node is laid out by kubespray (kubelet config in the config directory) or
    kubeadm, which components run (from C(/proc), by executable name, so long names such as
    C(kube-controller-manager) are found), and the current values of kernel parameters.
  - Read-only; runs in check mode too.
options:
  processes:
    description: Executable names to look for.
    type: list
    elements: str
    default: [kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kubelet]
  sysctls:
    description: Kernel parameters to read.
    type: list
    elements: str
    default: []
  kubeconfigs:
    description: Kubeconfig files whose server addresses are reported (the kubelet's first).
    type: list
    elements: path
    default: [/etc/kubernetes/kubelet.conf]
  files:
    description: Paths whose existence is reported (markers such as a pending secret rewrite).
    type: list
    elements: path
    default: []
extends_documentation_fragment:
  - kubeguard.hardening.platform
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Observe the node
  kubeguard.hardening.node_state:
    sysctls: [vm.overcommit_memory, kernel.panic]
  register: state
"""

RETURN = r"""
layout:
  description: C(kubespray) or C(kubeadm).
  returned: always
  type: str
running:
  description: Process name to whether it runs (on k3s - whether the running k3s started it).
  returned: always
  type: dict
sysctls:
  description: Kernel parameter to current value (null when it cannot be read).
  returned: always
  type: dict
addresses:
  description: The node's own IP addresses (loopback excluded), from C(ip -o addr).
  returned: always
  type: list
  elements: str
apiserver_endpoints:
  description: Host part of the server URLs in the kubeconfigs (what the kubelet must still reach).
  returned: always
  type: list
  elements: str
files_exist:
  description: Path to whether it exists, for each of I(files).
  returned: always
  type: dict
cis_state:
  description:
    - What the CIS checks read, as the verify audit reads it - each component's flags (running process,
      else manifest or env file), the kubelet config, the encryption providers' names (never keys).
    - The controller judges the hardening plan against it (a run never weakens a passing control).
  returned: always
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import require_yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe.node_facts import kubeconfig_servers, own_addresses, read_sysctl

from ansible_collections.kubeguard.hardening.plugins.module_utils.platform import component_registry
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe.health import process_args


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type="path", default="/etc/kubernetes"),
            processes=dict(type="list", elements="str",
                           default=list(component_registry.WRITTEN)),
            sysctls=dict(type="list", elements="str", default=[]),
            kubeconfigs=dict(type="list", elements="path", default=["/etc/kubernetes/kubelet.conf"]),
            files=dict(type="list", elements="path", default=[]),
            layout=dict(type="str", default="auto"),
            platforms=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    require_yaml(module)
    p = module.params
    try:
        layout = catalogue.detect_layout(p["config_dir"], p["platforms"])
        state = audit.observe(catalogue.layout_for(layout if p["layout"] == "auto" else p["layout"], p["config_dir"],
                                                   p["platforms"]))
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, layout=layout,
                     running={name: bool(process_args(name)) or (state["components"].get(name) or {}).get("source") == "process log"
                              for name in p["processes"]},
                     sysctls={name: read_sysctl(name) for name in p["sysctls"]},
                     addresses=own_addresses(module.run_command), apiserver_endpoints=kubeconfig_servers(p["kubeconfigs"]),
                     files_exist={path: os.path.exists(path) for path in p["files"]}, cis_state=state)


if __name__ == "__main__":
    main()
