#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: config_files
short_description: Write the whole set of configuration files a Kubernetes component reads, in one call
version_added: "0.1.0"
description:
  - Writes each file (audit policy, admission configuration, authentication configuration, ...)
    with its mode and owner, creating parent directories (mode 0700).
  - One call for all files keeps a no-op run to a single task. Supports check mode and diff mode
    (one diff per changed file). Backups go to the run's backup set.
options:
  files:
    description: Files to write.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      content:
        description: Whole file content.
        type: str
        required: true
      mode:
        description: File mode.
        type: str
        default: "0600"
      owner:
        description: Owner user name.
        type: str
      group:
        description: Owner group name.
        type: str
extends_documentation_fragment:
  - kubeguard.hardening.backup
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Write the apiserver's admission and audit files
  kubeguard.hardening.config_files:
    files: "{{ kg_values | kubeguard.hardening.kubeguard_apiserver_files('kubeadm') }}"
"""

RETURN = r"""
files:
  description: Per file, its path and what changed.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/etc/kubernetes/admission-controls/podsecurity.yaml", "changes": ["+ created"]}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.fileops import BACKUP_OPTIONS

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.multifile import apply_files


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True, options=dict(
                path=dict(type="path", required=True),
                content=dict(type="str", required=True),
                mode=dict(type="str", default="0600"),
                owner=dict(type="str"),
                group=dict(type="str"),
            )),
            **BACKUP_OPTIONS,
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        results = apply_files(p["files"], module.check_mode, p["backup"], p["backup_root"], p["backup_set"])
    except (OSError, KeyError, ValueError) as exc:
        module.fail_json(msg=f"writing configuration files failed: {exc}")
    contents = {f["path"]: f["content"] for f in p["files"]}
    changed = [r for r in results if r["changes"]]
    out = {"changed": bool(changed), "files": [{"path": r["path"], "changes": r["changes"]} for r in results]}
    if module._diff:
        out["diff"] = [{"before_header": r["path"], "after_header": r["path"], "before": r["before"],
                        "after": contents[r["path"]]} for r in changed]
    module.exit_json(**out)


if __name__ == "__main__":
    main()
