#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_restore
short_description: Put back the cluster objects a hardening run saved in its backup set
version_added: "0.3.0"
description:
  - Each object saved in C(<backup_root>/<backup_set>/.cluster-objects) (JSON or YAML) is put back exactly as it was -
    replaced when it exists (labels we added go with it), created when it was deleted, deleted when the run created it
    (saved as absent).
  - Check mode says what would be done.
options:
  kubeconfig:
    description: Admin kubeconfig on the node the module runs on.
    type: path
    required: true
  directory:
    description: The backup set's C(.cluster-objects) directory.
    type: path
    required: true
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Restore the cluster objects of a backup set
  kubeguard.hardening.cluster_restore:
    kubeconfig: /etc/kubernetes/admin.conf
    directory: /var/lib/kubeguard/backups/20261123T101500Z/.cluster-objects
"""

RETURN = r"""
restored:
  description: Each object and what was done (C(replace), C(create), C(delete)).
  returned: always
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.yaml_support import require_yaml, yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils import cluster_policy
from ansible_collections.kubeguard.hardening.plugins.module_utils.kube_api import Kubectl, KubectlError


def _load(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return json.loads(text) if path.endswith(".json") else yaml.safe_load(text)


def main():
    module = AnsibleModule(
        argument_spec=dict(kubeconfig=dict(type="path", required=True), directory=dict(type="path", required=True)),
        supports_check_mode=True,
    )
    require_yaml(module)
    directory = module.params["directory"]
    if not os.path.isdir(directory):
        module.exit_json(changed=False, restored=[])
    kubectl = Kubectl(module.run_command, module.get_bin_path("kubectl", required=True), module.params["kubeconfig"])
    done = []
    try:
        for filename in sorted(os.listdir(directory)):
            if not filename.endswith((".json", ".yaml")):
                continue
            saved = _load(os.path.join(directory, filename))
            if module.check_mode:
                meta = saved.get("metadata") or {}
                done.append(f"would restore {saved.get('kind')}/{meta.get('namespace') + '/' if meta.get('namespace') else ''}{meta.get('name')}")
                continue
            done.append(cluster_policy.restore(kubectl, saved))
    except (KubectlError, ValueError, yaml.YAMLError) as exc:
        module.fail_json(msg=str(exc), restored=done)
    module.exit_json(changed=bool(done), restored=done)


if __name__ == "__main__":
    main()
