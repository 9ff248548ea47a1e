#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k3s_config
short_description: Set component arguments and top-level options in K3s' config.yaml, in place
version_added: "0.2.0"
description:
  - Edits C(/etc/rancher/k3s/config.yaml) the way an operator would by hand - each component's
    C(flag=value) list (C(kube-apiserver-arg), C(kube-controller-manager-arg), C(kube-scheduler-arg),
    C(kubelet-arg)) and k3s' own top-level keys - touching only the lines that change. Every other
    key, the user's other list items, their order, quoting and comments stay as they were.
  - A managed flag appears once (duplicates are removed); a null value removes it.
  - The edited text is parsed again and must give exactly the intended options, else nothing is
    written. Credentials in the file (C(token), C(datastore-endpoint), ...) never appear in the diff.
  - Creates the file (mode 0600) when the node has none. Supports check mode and diff mode.
options:
  path:
    description: The K3s config file.
    type: path
    default: /etc/rancher/k3s/config.yaml
  lists:
    description: List key (for example C(kube-apiserver-arg)) to a dict of flag to value (null removes the flag).
    type: dict
    default: {}
  top:
    description: Top-level k3s option to value (for example C(protect-kernel-defaults) C(true)); null removes it.
    type: dict
    default: {}
  mode:
    description: File mode to enforce.
    type: raw
    default: "0600"
extends_documentation_fragment:
  - kubeguard.hardening.backup
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Seed 004's component settings
  kubeguard.hardening.k3s_config:
    lists:
      kube-apiserver-arg: {audit-log-maxage: "30", service-account-lookup: "true"}
      kubelet-arg: {streaming-connection-idle-timeout: 5m}
    top: {protect-kernel-defaults: true, secrets-encryption: true}
"""

RETURN = r"""
changes:
  description: What changed, one line per flag or option (credentials hidden).
  returned: always
  type: list
  elements: str
  sample: ["kube-apiserver-arg: + audit-log-maxage=30", "protect-kernel-defaults: true"]
backup_file:
  description: Where the previous file was copied.
  returned: when changed and backup is true, outside check mode
  type: str
path:
  description: The config file.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import require_yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.fileops import BACKUP_OPTIONS, finish_edit
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.k3s_config import K3sConfigError, masked, plan
from ansible_collections.kubeguard.hardening.plugins.module_utils.base.modes import parse_mode


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/rancher/k3s/config.yaml"),
            lists=dict(type="dict", default={}),
            top=dict(type="dict", default={}),
            mode=dict(type="raw", default="0600"),
            **BACKUP_OPTIONS,
        ),
        supports_check_mode=True,
    )
    require_yaml(module)
    p = module.params
    mode = parse_mode(module, p["mode"])
    try:
        found = plan(p["path"], p["lists"], p["top"], mode)
    except K3sConfigError as exc:
        module.fail_json(msg=str(exc))
    finish_edit(module, p["path"], found, mode, show=masked)


if __name__ == "__main__":
    main()
