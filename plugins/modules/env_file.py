#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: env_file
short_description: Set or remove variables in a systemd EnvironmentFile (such as kubespray's /etc/etcd.env)
version_added: "0.1.0"
description:
  - Sets each C(NAME=value) line in place (keeping comments, order and other variables), appends
    new ones, and removes those given as null - all in one call. Supports check mode and diff mode.
options:
  path:
    description: The environment file.
    type: path
    required: true
  variables:
    description: Variable name to value; null removes the variable.
    type: dict
    required: true
extends_documentation_fragment:
  - kubeguard.hardening.backup
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: etcd client certificate authentication (host deployment)
  kubeguard.hardening.env_file:
    path: /etc/etcd.env
    variables: {ETCD_CLIENT_CERT_AUTH: "true", ETCD_AUTO_TLS: null}
"""

RETURN = r"""
changes:
  description: One line per variable that changed.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.envfile import plan_edit
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.fileops import BACKUP_OPTIONS, finish_edit


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            variables=dict(type="dict", required=True),
            **BACKUP_OPTIONS,
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        found = plan_edit(p["path"], p["variables"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    finish_edit(module, p["path"], found)


if __name__ == "__main__":
    main()
