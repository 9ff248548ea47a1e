#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: node_plan
short_description: Everything a hardening run would change on a node, in one call, without writing
version_added: "0.2.0"
description:
  - Evaluates every write of the node's hardening run - the arguments the roles pass to C(static_pod),
    C(kubelet_config), C(env_file), C(config_files), C(file_modes) and the encryption config - with the
    same code those writer modules use, and reports per component what would change. Writes nothing.
  - C(harden.yml) runs it on every node in parallel first; the serial, health-gated rollout then runs
    only on nodes whose plan is not empty.
  - The encryption config's keys are never returned; only a fingerprint of the file.
options:
  operations:
    description:
      - Component to operations, as built by the C(kubeguard_node_operations) filter.
      - Operations C(static_pod), C(kubelet_config), C(env_file), C(config_files), C(file_modes) take their
        writer module's arguments; C(encryption) takes C(path), C(algorithm), C(resources); C(absent) and
        C(exists) take a C(path); C(directory) takes C(path), C(mode), C(owner), C(group); C(user) a C(name);
        C(sysctls) maps kernel parameters to wanted values; C(config_hash_files) the files the apiserver's
        restart annotation covers.
    type: dict
    required: true
author:
  - kubeguard.hardening developers
"""

EXAMPLES = r"""
- name: Plan this node
  kubeguard.hardening.node_plan:
    operations: "{{ kubeguard_ops }}"
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
encryption_fingerprint:
  description: SHA-256 of the encryption config file as it is (compared across control planes), or null.
  returned: always
  type: str
"""

import hashlib
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils import node_plan


def main():
    module = AnsibleModule(argument_spec=dict(operations=dict(type="dict", required=True)), supports_check_mode=True)
    try:
        changes, fingerprint = node_plan.evaluate(module.params["operations"])
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"planning failed: {exc}")
    module.exit_json(changed=False, changes=changes, pending=sorted(c for c, found in changes.items() if found),
                     encryption_fingerprint=fingerprint)


if __name__ == "__main__":
    main()
