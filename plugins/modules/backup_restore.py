#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_restore
short_description: Restore files from a kubeguard backup set
version_added: "0.1.0"
description:
  - Copies files of a backup set (taken by this collection's modules before they changed them)
    back to their places, with their modes and owners. Files a run created (no backup) can be
    removed with C(remove_created).
  - With C(backup_set=latest) the newest set is used. Supports check mode.
options:
  backup_root:
    description: Directory holding backup sets.
    type: path
    default: /var/lib/kubeguard/backups
  backup_set:
    description: Set name, or C(latest).
    type: str
    required: true
  paths:
    description: Only restore these original paths (default - every file in the set).
    type: list
    elements: path
  remove_created:
    description: Remove the files this backup set records as created by the run (they had no
      previous version). Only files among C(paths), when C(paths) is given.
    type: bool
    default: true
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Put the apiserver manifest back as it was before this run
  kubeguard.hardening.backup_restore:
    backup_set: "{{ kubeguard_backup_set }}"
    paths: [/etc/kubernetes/manifests/kube-apiserver.yaml]
"""

RETURN = r"""
static_pods:
  description: For each restored static pod manifest, its process name and the flags it will run with.
  returned: always
  type: dict
  sample: {"kube-apiserver": {"audit-log-maxsize": "100"}}
restored:
  description: Original paths written back.
  returned: always
  type: list
  elements: str
backup_set:
  description: The set used.
  returned: always
  type: str
"""

import filecmp
import os
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.yaml_support import require_yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils.fileops import CLUSTER_OBJECTS_DIR, CREATED_LIST, created_in_set, latest_set
from ansible_collections.kubeguard.hardening.plugins.module_utils.manifest import ManifestError, load_manifest, running_command


def static_pod_commands(paths):
    """Process name -> flags for each restored file that is a static pod manifest."""
    commands = {}
    for path in paths:
        if not path.endswith((".yaml", ".yml", ".json")):
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                pod = load_manifest(handle.read())
            if pod.get("kind") == "Pod":
                process, flags = running_command(pod)
                commands[process] = flags
        except (OSError, ValueError, ManifestError):
            continue
    return commands


def main():
    module = AnsibleModule(
        argument_spec=dict(
            backup_root=dict(type="path", default="/var/lib/kubeguard/backups"),
            backup_set=dict(type="str", required=True),
            paths=dict(type="list", elements="path"),
            remove_created=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    require_yaml(module)
    p = module.params
    set_name = p["backup_set"]
    if set_name == "latest":
        set_name = latest_set(p["backup_root"])
        if set_name is None:
            module.fail_json(msg=f"no backup sets in {p['backup_root']}")
    base = os.path.join(p["backup_root"], set_name)
    available = []
    for dirpath, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if not (dirpath == base and d == CLUSTER_OBJECTS_DIR)]
        available.extend("/" + os.path.relpath(os.path.join(dirpath, f), base) for f in files if f != CREATED_LIST)
    created = created_in_set(p["backup_root"], set_name) if p["remove_created"] else []
    wanted = p["paths"] if p["paths"] is not None else sorted(set(available) | set(created))
    restored, removed = [], []
    for original in wanted:
        copy = os.path.join(base, original.lstrip("/"))
        if not os.path.exists(copy):
            if original in created and os.path.exists(original):
                removed.append(original)
                if not module.check_mode:
                    os.unlink(original)
            continue
        if os.path.exists(original) and filecmp.cmp(copy, original, shallow=False) and \
                os.stat(copy).st_mode == os.stat(original).st_mode:
            continue
        restored.append(original)
        if not module.check_mode:
            # hidden name: the kubelet ignores dot files in the manifests directory
            tmp = os.path.join(os.path.dirname(original), ".kubeguard-restore-" + os.path.basename(original))
            shutil.copy2(copy, tmp)
            stat = os.stat(copy)
            os.chown(tmp, stat.st_uid, stat.st_gid)
            os.replace(tmp, original)
    pods = static_pod_commands([os.path.join(base, r.lstrip("/")) if module.check_mode else r for r in restored])
    module.exit_json(changed=bool(restored or removed), restored=restored, removed=removed, backup_set=set_name,
                     static_pods=pods)


if __name__ == "__main__":
    main()
