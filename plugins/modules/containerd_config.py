#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: containerd_config
short_description: Harden containerd's config.toml in place
version_added: "0.2.0"
description:
  - Sets the keys that keep containerd's listeners and pods locked down in C(/etc/containerd/config.toml), for
    config version 2 (containerd 1.x) or 3 (containerd 2.x) as the file says; every other line, comment and its
    order stay as they are. Version 1 files are refused (C(containerd config migrate) converts them).
  - C(grpc.tcp_address) empty (containerd's API never on TCP), C(grpc.uid)/C(grpc.gid) 0 (the CRI socket is
    root's), the CRI streaming server on 127.0.0.1, C(disable_tcp_service) (version 2), unprivileged ports and
    ICMP as asked (off by default), C(metrics.address) as asked (off by default), plus the user's own settings.
  - The result is parsed again and every key must read back as set; anything it cannot place with certainty
    (an inline table, dotted keys) is refused, naming the key. Check mode and diff mode; credentials in the file
    (registry auth) are hidden in the diff.
options:
  path:
    description: The config file.
    type: path
    default: /etc/containerd/config.toml
  variables:
    description: The validated hardening variables (C(containerd_metrics_address),
      C(containerd_enable_unprivileged_ports), C(containerd_enable_unprivileged_icmp),
      C(kubeguard_containerd_settings)), from the node's plan.
    type: dict
    required: true
  mode:
    description: File mode to enforce.
    type: raw
extends_documentation_fragment:
  - kubeguard.hardening.backup
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Harden containerd's config
  kubeguard.hardening.containerd_config:
    variables: "{{ kubeguard_node_plan.operations.container_runtime.containerd_config.variables }}"
    backup_set: "{{ kubeguard_backup_set }}"
"""

RETURN = r"""
changes:
  description: Each key set, with its old and new value.
  returned: always
  type: list
  elements: str
  sample: ['plugins."io.containerd.grpc.v1.cri".stream_server_address: "" -> "127.0.0.1"']
backup_file:
  description: Where the previous file was copied.
  returned: when changed and backup is true, outside check mode
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import containerd
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.fileops import BACKUP_OPTIONS, finish_edit
from ansible_collections.kubeguard.hardening.plugins.module_utils.base.modes import parse_mode


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type="path", default="/etc/containerd/config.toml"),
                           variables=dict(type="dict", required=True), mode=dict(type="raw"), **BACKUP_OPTIONS),
        supports_check_mode=True,
    )
    path = module.params["path"]
    try:
        found = containerd.plan_edit(path, module.params["variables"])
    except ValueError as err:
        module.fail_json(msg=str(err))
    mode = parse_mode(module, module.params["mode"])
    mode_changed = mode is not None and os.stat(path).st_mode & 0o7777 != mode
    finish_edit(module, path, dict(found, changed=found["changed"] or mode_changed), mode, show=containerd.mask_secrets)


if __name__ == "__main__":
    main()
