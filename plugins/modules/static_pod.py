#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: static_pod
short_description: Set or remove flags and add hostPath mounts in a Kubernetes static pod manifest
version_added: "0.1.0"
description:
  - Edits one static pod manifest (for example C(/etc/kubernetes/manifests/kube-apiserver.yaml))
    in a single call - every flag, volume and mount at once - so a no-op run costs one task.
  - Keeps everything else in the manifest and the order of its fields and flags; new flags are
    inserted in sorted position when the existing flags are sorted (as kubeadm writes them).
  - The file is rewritten only when its parsed content changes, so a second run reports no change.
  - Supports check mode and diff mode; the diff shows the manifest before and after, normalised,
    so only the changed flags and volumes differ.
  - Backups are written outside the manifests directory (a copy left there would be started by
    the kubelet as a second pod).
options:
  path:
    description: Path of the static pod manifest.
    type: path
    required: true
  container:
    description: Name of the container to edit. Default is the first container.
    type: str
  flags:
    description:
      - Flags to set, name (without leading dashes) to value. A null value removes the flag.
      - Booleans are written as C(true)/C(false).
    type: dict
    default: {}
  host_paths:
    description:
      - Host directories or files the container must see at the same path. Each becomes a
        hostPath volume plus a volumeMount, unless an existing mount already covers the path.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Volume name.
        type: str
        required: true
      path:
        description: Host path, mounted at the same path in the container.
        type: str
        required: true
      type:
        description: hostPath type.
        type: str
        default: DirectoryOrCreate
        choices: [Directory, DirectoryOrCreate, File, FileOrCreate]
      read_only:
        description: Mount read-only.
        type: bool
        default: true
  annotations:
    description:
      - Pod annotations to set (null removes). Put a hash of the config files the pod reads here
        so that a changed file restarts the static pod.
    type: dict
    default: {}
  restart_required:
    description:
      - false - an annotation the manifest lacks is added only along with another change (the files the pod
        reads did not change in this run, so a pod kubeadm upgrade regenerated already reads them).
    type: bool
    default: true
  probe_host:
    description:
      - Address the liveness/readiness/startup probes call. kubeadm writes C(127.0.0.1); a component
        bound to one specific address must be probed there or the kubelet restarts it in a loop.
    type: str
  mode:
    description: File mode to enforce, for example C('0600').
    type: raw
extends_documentation_fragment:
  - kubeguard.hardening.backup
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Harden kube-apiserver flags and mount the audit log directory
  kubeguard.hardening.static_pod:
    path: /etc/kubernetes/manifests/kube-apiserver.yaml
    flags:
      profiling: false
      audit-log-path: /var/log/kube-apiserver-log.json
      insecure-port: null          # removed
    host_paths:
      - {name: audit-log, path: /var/log, read_only: false}
    backup_set: "{{ kubeguard_backup_set }}"
"""

RETURN = r"""
changes:
  description: Human-readable list of what changed (C(+) added, C(~) changed, C(-) removed).
  returned: always
  type: list
  elements: str
  sample: ["+ --profiling=false", "~ --bind-address: 0.0.0.0 -> 127.0.0.1", "+ volume audit-log"]
backup_file:
  description: Where the previous file was copied.
  returned: when changed and backup is true, outside check mode
  type: str
path:
  description: The manifest path.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import require_yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.fileops import BACKUP_OPTIONS, edit_yaml_file
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.manifest import static_pod_edit
from ansible_collections.kubeguard.hardening.plugins.module_utils.base.modes import parse_mode


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            container=dict(type="str"),
            flags=dict(type="dict", default={}),
            host_paths=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                path=dict(type="str", required=True),
                type=dict(type="str", default="DirectoryOrCreate",
                          choices=["Directory", "DirectoryOrCreate", "File", "FileOrCreate"]),
                read_only=dict(type="bool", default=True),
            )),
            annotations=dict(type="dict", default={}),
            restart_required=dict(type="bool", default=True),
            probe_host=dict(type="str"),
            mode=dict(type="raw"),
            **BACKUP_OPTIONS,
        ),
        supports_check_mode=True,
    )
    require_yaml(module)
    params = module.params
    edit_yaml_file(module, params["path"], static_pod_edit(params), parse_mode(module, params["mode"]))


if __name__ == "__main__":
    main()
