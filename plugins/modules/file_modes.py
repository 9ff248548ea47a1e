#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: file_modes
short_description: Enforce CIS file permission ceilings and ownership on many paths in one call
version_added: "0.1.0"
description:
  - For each entry (a path or glob, optionally recursive) make the mode at most C(mode) (bits are
    only removed, never added) and set owner/group. Symbolic links are skipped.
  - One call covers manifests, kubeconfigs, PKI and kubelet files (CIS 1.1 and 4.1), so a no-op run
    is one task. Supports check mode; the output lists every path that changes (or would).
options:
  entries:
    description: Paths and the ceiling/ownership they must have. Missing paths are skipped.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Path or glob.
        type: str
        required: true
      mode:
        description: Highest permissions allowed for files, for example C('0600').
        type: str
      dir_mode:
        description: Highest permissions for directories (with C(recurse)); default C(mode).
        type: str
      owner:
        description: Owner user name.
        type: str
      group:
        description: Group name.
        type: str
      recurse:
        description: Include everything below a directory.
        type: bool
        default: false
      exclude:
        description:
          - Base-name patterns left out of this entry, for example key material another entry owns.
        type: list
        elements: str
        default: []
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: CIS 1.1 - manifests and kubeconfigs
  kubeguard.hardening.file_modes:
    entries:
      - {path: /etc/kubernetes/manifests/*.yaml, mode: "0600", owner: root, group: root}
      - {path: /etc/kubernetes/pki, recurse: true, mode: "0600", dir_mode: "0755", owner: root, group: root}
"""

RETURN = r"""
changes:
  description: One line per path that changed.
  returned: always
  type: list
  elements: str
  sample: ["/etc/kubernetes/pki/ca.crt: mode 0644 -> 0600"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import permissions


def main():
    module = AnsibleModule(
        argument_spec=dict(entries=dict(type="list", elements="dict", required=True, options=dict(
            path=dict(type="str", required=True),
            mode=dict(type="str"),
            dir_mode=dict(type="str"),
            owner=dict(type="str"),
            group=dict(type="str"),
            recurse=dict(type="bool", default=False),
            exclude=dict(type="list", elements="str", default=[]),
        ))),
        supports_check_mode=True,
    )
    try:
        changes = permissions.plan(module.params["entries"], allow_unknown=module.check_mode)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if changes and not module.check_mode:
        permissions.apply(changes)
    lines = [permissions.describe(c) for c in changes]
    result = {"changed": bool(changes), "changes": lines}
    if module._diff and lines:
        result["diff"] = {"before": "", "after": "\n".join(lines) + "\n", "after_header": "file modes and owners"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
