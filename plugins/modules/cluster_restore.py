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
  - An object is put back only while it is what the run left it as (its uid and resourceVersion, recorded by the run
    beside the saved copy, C(<file>.left.json)); one changed, deleted or re-created since is listed in C(not_restored) and
    left alone, unless named in C(force).
  - A DaemonSet put back rolls its pods again (within 35 seconds of an apiserver start, once every kubelet can watch
    again); the module waits for that rollout (every pod on the
    saved template, available, none restarting for C(settle) seconds) and fails, naming it, when it does not finish
    within C(timeout) - the next step (a harden run, the next node) must not start on pods still being replaced.
  - Check mode says what would be done.
options:
  force:
    description: Objects to put back even though they changed since the run, as C(Kind/namespace/name) or C(Kind/name).
    type: list
    elements: str
    default: []
  kubeconfig:
    description: Admin kubeconfig on the node the module runs on.
    type: path
    required: true
  directory:
    description: The backup set's C(.cluster-objects) directory.
    type: path
    required: true
extends_documentation_fragment:
  - kubeguard.hardening.rollout
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
not_restored:
  description: Objects left as they are, and why (changed since the run).
  returned: always
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import error_summary, require_yaml, safe_load, yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import backup_sets
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import cluster_policy, rollouts
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster.kube_api import LEFT_SUFFIX, Kubectl, KubectlError
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.kubeadm_config import keep_encryption_arg


def _load(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return json.loads(text) if path.endswith(".json") else safe_load(text)


def main():
    module = AnsibleModule(
        argument_spec=dict(kubeconfig=dict(type="path", required=True), directory=dict(type="path", required=True),
                           force=dict(type="list", elements="str", default=[]),
                           **rollouts.ROLLOUT_OPTIONS),
        supports_check_mode=True,
    )
    require_yaml(module)
    waits = rollouts.options_problem(module.params)
    if waits:
        module.fail_json(msg=waits)
    directory = module.params["directory"]
    if not os.path.isdir(directory) or os.path.islink(directory):
        module.exit_json(changed=False, restored=[], not_restored=[])
    try:   # applied with admin.conf: only what root alone could have saved (the set, and this directory in it)
        backup_sets.check_set(os.path.dirname(os.path.dirname(directory)), os.path.basename(os.path.dirname(directory)))
    except backup_sets.UnsafeBackupSet as exc:
        module.fail_json(msg=f"nothing was restored: {exc}", restored=[], not_restored=[])
    kubectl = Kubectl(module.run_command, module.get_bin_path("kubectl", required=True), module.params["kubeconfig"])
    forced = set(module.params["force"])
    done, skipped, rolling = [], [], []
    try:
        for filename in sorted(os.listdir(directory)):
            if not filename.endswith((".json", ".yaml")) or filename.endswith(LEFT_SUFFIX):
                continue
            path = os.path.join(directory, filename)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            saved = _load(path)
            if not isinstance(saved, dict) or not saved.get("kind") or not (saved.get("metadata") or {}).get("name"):
                skipped.append(f"{filename}: not one saved object (kind and metadata.name needed); left alone")
                continue
            left = _load(path + LEFT_SUFFIX) if os.path.isfile(path + LEFT_SUFFIX) else None
            left = left if isinstance(left, dict) else None
            name = cluster_policy.object_name(saved)
            meta = saved.get("metadata") or {}
            current = kubectl.get_one(saved.get("kind"), meta.get("namespace"), meta.get("name"))
            action, obj, why = cluster_policy.guarded_restore_action(saved, left, current, name in forced)
            if action == "skip":
                skipped.append(f"{name}: {why}")
                continue
            note = ""
            if action == "replace" and name == "ConfigMap/kube-system/kubeadm-config" and current is not None:
                kept = keep_encryption_arg((obj.get("data") or {}).get("ClusterConfiguration", ""),
                                           (current.get("data") or {}).get("ClusterConfiguration", ""))
                if kept is not None:
                    obj["data"]["ClusterConfiguration"] = kept
                    note = " (keeping encryption-provider-config: kubeadm upgrade must keep reading stored Secrets)"
            if module.check_mode:
                done.append(f"would {action} {name}{note}")
                continue
            if action != "delete" and saved.get("kind") in rollouts.WORKLOAD_KINDS:   # its pods roll: restarts from here on count
                rolling.append((meta.get("namespace"), meta["name"], name, rollouts.baseline(kubectl, meta.get("namespace"), meta["name"])))
                # the rollback restarted the apiserver just before: new pods must read the ConfigMaps put back
                rollouts.until_watches_are_back(kubectl)
            if action == "delete":
                kubectl.delete(saved.get("kind"), meta.get("namespace"), meta.get("name"))
            elif action == "replace":
                kubectl.replace(obj)
            else:
                kubectl.create(obj)
            done.append(f"{action} {name}{note}")
        for namespace, object_name, name, restarted in rolling:
            healthy, seen = rollouts.wait(kubectl, namespace, object_name, module.params["timeout"], module.params["settle"], before=restarted)
            if not healthy:
                module.fail_json(msg=f"{name} was put back but its pods did not come back healthy: {seen}",
                                 restored=done, not_restored=skipped)
            done.append(f"{name} rolled out ({seen})")
    except yaml.YAMLError as exc:   # a saved object's text never goes into output, only where it broke
        module.fail_json(msg=f"a saved object does not parse: {error_summary(exc)}", restored=done, not_restored=skipped)
    except (KubectlError, ValueError) as exc:
        module.fail_json(msg=str(exc), restored=done, not_restored=skipped)
    module.exit_json(changed=bool(done), restored=done, not_restored=skipped)


if __name__ == "__main__":
    main()
