#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kubeadm_config
short_description: Keep the hardening in kubeadm's records so that kubeadm upgrade regenerates it
version_added: "0.2.0"
description:
  - C(kubeadm upgrade) rewrites the static pod manifests from the ClusterConfiguration in the
    C(kube-system/kubeadm-config) ConfigMap and the kubelet config from C(kube-system/kubelet-config) -
    flags set only in the manifests would be lost. This module writes the same flags, mounts and kubelet
    fields into those ConfigMaps (C(extraArgs), C(extraVolumes), C(etcd.local.extraArgs), the
    KubeletConfiguration), keeping everything else.
  - Uses C(kubectl) with the given kubeconfig; each ConfigMap is saved in the backup set before it is
    replaced (the replace carries its resourceVersion, so a concurrent change makes it fail, not vanish).
  - Supports check mode and diff mode. Returns C(skipped_reason) when the cluster has no kubeadm-config.
options:
  kubeconfig:
    description: Admin kubeconfig on the node the module runs on.
    type: path
    required: true
  flags:
    description: Component (C(kube-apiserver), C(kube-controller-manager), C(kube-scheduler), C(etcd)) to flag to value (null removes).
    type: dict
    default: {}
  host_paths:
    description: The apiserver's extra mounts (C(name), C(path), C(type), C(read_only)).
    type: list
    elements: dict
    default: []
  generated_mounts:
    description: Paths kubeadm mounts into kube-apiserver itself (its certificates directory, the CA bundles); never
      added as extraVolumes, and an extraVolume at one of them is removed (it would make the pod kubeadm regenerates
      invalid).
    type: list
    elements: str
    default: []
  kubelet_fields:
    description: Dotted KubeletConfiguration fields for the kubelet-config ConfigMap.
    type: dict
    default: {}
extends_documentation_fragment:
  - kubeguard.hardening.backup
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Keep the hardening across kubeadm upgrade
  kubeguard.hardening.kubeadm_config:
    kubeconfig: /etc/kubernetes/admin.conf
    flags: {kube-apiserver: {profiling: "false"}}
    kubelet_fields: {readOnlyPort: 0}
"""

RETURN = r"""
changes:
  description: What changed in each ConfigMap.
  returned: always
  type: list
  elements: str
skipped_reason:
  description: Why nothing was done (no kubeadm-config in the cluster).
  returned: when skipped
  type: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import require_yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.backup_sets import CLUSTER_OBJECTS_DIR
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.fileops import BACKUP_OPTIONS
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster.kube_api import record_left
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.kubeadm_config import (
    KubeadmConfigError, merge_cluster_configuration, merge_kubelet_configuration)

MAPS = (("kubeadm-config", "ClusterConfiguration"), ("kubelet-config", "kubelet"))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubeconfig=dict(type="path", required=True),
            flags=dict(type="dict", default={}),
            host_paths=dict(type="list", elements="dict", default=[]),
            generated_mounts=dict(type="list", elements="str", default=[]),
            kubelet_fields=dict(type="dict", default={}),
            **BACKUP_OPTIONS,
        ),
        supports_check_mode=True,
    )
    require_yaml(module)
    p = module.params
    kubectl = ["kubectl", "--kubeconfig", p["kubeconfig"], "-n", "kube-system"]
    changes, diffs = [], []
    for name, key in MAPS:
        rc, out, err = module.run_command(kubectl + ["get", "configmap", name, "-o", "json", "--ignore-not-found"])
        if rc != 0:
            module.fail_json(msg=f"reading kube-system/{name}: {err.strip()}")
        if not out.strip():
            if name == "kubeadm-config":
                module.exit_json(changed=False, changes=[], skipped_reason="no kube-system/kubeadm-config: not a kubeadm cluster")
            continue
        configmap = json.loads(out)
        before = (configmap.get("data") or {}).get(key, "")
        try:
            if name == "kubeadm-config":
                after, found = merge_cluster_configuration(before, p["flags"], p["host_paths"], p["generated_mounts"])
            else:
                after, found = merge_kubelet_configuration(before, p["kubelet_fields"])
        except KubeadmConfigError as exc:
            module.fail_json(msg=f"kube-system/{name}: {exc}")
        if not found:
            continue
        changes += found
        diffs.append({"before_header": f"kube-system/{name}", "after_header": f"kube-system/{name}", "before": before, "after": after})
        if module.check_mode:
            continue
        if p["backup"]:
            directory = os.path.join(p["backup_root"], p["backup_set"], CLUSTER_OBJECTS_DIR)
            os.makedirs(directory, mode=0o700, exist_ok=True)
            path = os.path.join(directory, f"kube-system.configmap.{name}.json")
            if not os.path.exists(path):     # the first copy of a run is the one to restore
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(out)
        configmap["data"][key] = after
        rc, written, err = module.run_command(kubectl + ["replace", "-f", "-", "-o", "json"], data=json.dumps(configmap))
        if rc != 0:
            module.fail_json(msg=f"writing kube-system/{name}: {err.strip()}", changes=changes)
        if p["backup"]:   # what the run left it as: a rollback restores it only while nobody changed it since
            try:
                record_left(directory, f"kube-system.configmap.{name}.json", json.loads(written))
            except ValueError:
                pass
    result = {"changed": bool(changes), "changes": changes}
    if module._diff and diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
