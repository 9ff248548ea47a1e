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
  backup:
    description: Copy the file to the backup set before changing it.
    type: bool
    default: true
  backup_root:
    description: Directory that holds backup sets.
    type: path
    default: /var/lib/kubeguard/backups
  backup_set:
    description: Name of the backup set.
    type: str
    default: manual
author:
  - kubeguard.hardening developers
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

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.fileops import backup_file, write_atomically

LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def edit(text, variables):
    lines = text.splitlines()
    seen, changes, out = set(), [], []
    for line in lines:
        match = LINE.match(line)
        name = match.group(1) if match else None
        if name in variables:
            value = variables[name]
            if value is None or name in seen:
                changes.append(f"- {name}")
                continue
            seen.add(name)
            old = match.group(2).strip().strip('"')
            if old != str(value):
                changes.append(f"~ {name}: {old} -> {value}")
                line = f"{name}={value}"
        out.append(line)
    for name, value in variables.items():
        if value is not None and name not in seen:
            out.append(f"{name}={value}")
            changes.append(f"+ {name}={value}")
    return "\n".join(out) + "\n", changes


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            variables=dict(type="dict", required=True),
            backup=dict(type="bool", default=True),
            backup_root=dict(type="path", default="/var/lib/kubeguard/backups"),
            backup_set=dict(type="str", default="manual"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not os.path.exists(p["path"]):
        module.fail_json(msg=f"{p['path']}: file not found")
    with open(p["path"], encoding="utf-8") as handle:
        before = handle.read()
    variables = {k: (None if v is None else str(v)) for k, v in p["variables"].items()}
    after, changes = edit(before, variables)
    result = {"changed": bool(changes), "changes": changes, "path": p["path"]}
    if module._diff:
        result["diff"] = {"before_header": p["path"], "after_header": p["path"], "before": before, "after": after}
    if changes and not module.check_mode:
        if p["backup"]:
            result["backup_file"] = backup_file(p["path"], p["backup_root"], p["backup_set"])
        write_atomically(p["path"], after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
