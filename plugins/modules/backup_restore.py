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
  - The set is named, never chosen by time here (the rollback playbook picks one run for every node).
    A set that root alone could not have written (another owner, group or world write, symlinks) is refused.
  - Each file lands in a temp file created 0600 that gets its final owner and mode before the content,
    never through a symlink, never over a file of a login user (module_utils/formats/write_policy.py).
  - Key material is never lost - an encryption config is kept as the node has it (C(encryption=keep)),
    or merged (C(encryption=merge) - the set's writing key first, every key present now kept to read),
    never deleted; a kube-apiserver manifest put back keeps its C(--encryption-provider-config).
  - With C(forget_keys_not_in), nothing is restored - every set's copy of that encryption config loses
    the keys the node's file no longer has (after a rotation retired them).
  - Supports check mode.
options:
  backup_root:
    description: Directory holding backup sets.
    type: path
    default: /var/lib/kubeguard/backups
  backup_set:
    description: Set name (letters, digits, C(.), C(_), C(-)).
    type: str
  paths:
    description: Only restore these original paths (default - every file in the set).
    type: list
    elements: path
  remove_created:
    description: Remove the files this backup set records as created by the run (they had no
      previous version). Only files among C(paths), when C(paths) is given. Never an encryption config.
    type: bool
    default: true
  encryption:
    description: What becomes of an encryption config the set holds (or whose creation it records).
    type: str
    choices: [keep, merge]
    default: keep
  forget_keys_not_in:
    description: An encryption config path; remove the keys it no longer holds from every set's copy of it.
    type: path
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
removed:
  description: Files the run had created, removed.
  returned: when a set is restored
  type: list
  elements: str
kept:
  description: Files left as they are, and why (an encryption config whose keys stored objects may need).
  returned: when a set is restored
  type: list
  elements: str
sets:
  description: With forget_keys_not_in, the sets whose copy lost retired keys.
  returned: with forget_keys_not_in
  type: list
  elements: str
backup_set:
  description: The set used.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import require_yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import backup_sets
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.manifest import ManifestError, load_manifest, running_command
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.write_policy import UnsafeTarget


def static_pod_commands(texts):
    """Process name -> flags for each restored text that is a static pod manifest."""
    commands = {}
    for path, data in texts:
        if not path.endswith((".yaml", ".yml", ".json")):
            continue
        try:
            pod = load_manifest(data.decode("utf-8"))
            if pod.get("kind") == "Pod":
                process, flags = running_command(pod)
                commands[process] = flags
        except (ValueError, ManifestError, UnicodeDecodeError):
            continue
    return commands


def main():
    module = AnsibleModule(
        argument_spec=dict(
            backup_root=dict(type="path", default="/var/lib/kubeguard/backups"),
            backup_set=dict(type="str"),
            paths=dict(type="list", elements="path"),
            remove_created=dict(type="bool", default=True),
            encryption=dict(type="str", choices=["keep", "merge"], default="keep"),
            forget_keys_not_in=dict(type="path"),
        ),
        required_one_of=[("backup_set", "forget_keys_not_in")],
        mutually_exclusive=[("backup_set", "forget_keys_not_in")],
        supports_check_mode=True,
    )
    require_yaml(module)
    p = module.params
    try:
        if p["forget_keys_not_in"]:
            if module.check_mode:
                module.exit_json(changed=False, sets=[])
            changed_sets = backup_sets.forget_retired_keys(p["backup_root"], p["forget_keys_not_in"])
            module.exit_json(changed=bool(changed_sets), sets=changed_sets)
        plan = backup_sets.plan_restore(p["backup_root"], p["backup_set"], p["paths"], p["remove_created"], p["encryption"])
        if not module.check_mode:
            backup_sets.apply_restore(plan)
    except (backup_sets.UnsafeBackupSet, UnsafeTarget, OSError) as exc:
        module.fail_json(msg=f"nothing was restored: {exc}", backup_set=p["backup_set"])
    restored = [write[0] for write in plan["writes"]]
    module.exit_json(changed=bool(restored or plan["removes"]), restored=restored, removed=plan["removes"],
                     kept=[f"{path}: {why}" for path, why in plan["kept"]], backup_set=p["backup_set"],
                     static_pods=static_pod_commands([(write[0], write[1]) for write in plan["writes"]]))


if __name__ == "__main__":
    main()
