#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kubelet_config
short_description: Merge fields into a KubeletConfiguration file
version_added: "0.1.0"
description:
  - Sets dotted fields (for example C(authentication.anonymous.enabled)) in a KubeletConfiguration
    YAML file in one call; everything else is kept. C(featureGates) are merged gate by gate.
  - Refuses values of the wrong type for fields the kubelet checks strictly (a kubelet given a
    string C(readOnlyPort) does not start).
  - Rewrites the file only when its parsed content changes; supports check mode and diff mode.
options:
  path:
    description: Path of the kubelet config file (C(/var/lib/kubelet/config.yaml) for kubeadm,
      C(/etc/kubernetes/kubelet-config.yaml) for kubespray).
    type: path
    required: true
  fields:
    description: Dotted field path to value. A null value removes the field.
    type: dict
    required: true
  mode:
    description: File mode to enforce, for example C('0600').
    type: raw
extends_documentation_fragment:
  - kubeguard.hardening.backup
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Harden the kubelet
  kubeguard.hardening.kubelet_config:
    path: /var/lib/kubelet/config.yaml
    fields:
      authentication.anonymous.enabled: false
      readOnlyPort: 0
      protectKernelDefaults: true
      featureGates: {RotateKubeletServerCertificate: true}
"""

RETURN = r"""
changes:
  description: Human-readable list of what changed.
  returned: always
  type: list
  elements: str
  sample: ["~ readOnlyPort: 10255 -> 0", "+ protectKernelDefaults: true"]
backup_file:
  description: Where the previous file was copied.
  returned: when changed and backup is true, outside check mode
  type: str
path:
  description: The config file path.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import require_yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.fileops import BACKUP_OPTIONS, edit_yaml_file
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.kubelet_config import merge_fields
from ansible_collections.kubeguard.hardening.plugins.module_utils.base.modes import parse_mode


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            fields=dict(type="dict", required=True),
            mode=dict(type="raw"),
            **BACKUP_OPTIONS,
        ),
        supports_check_mode=True,
    )
    require_yaml(module)
    params = module.params
    edit_yaml_file(
        module, params["path"], lambda config: merge_fields(config, params["fields"]), parse_mode(module, params["mode"]))


if __name__ == "__main__":
    main()
