#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kube_proxy_config
short_description: Bind kube-proxy's metrics to loopback in kubeadm's kube-proxy ConfigMap and roll its pods, health-gated
version_added: "0.4.0"
description:
  - Sets C(metricsBindAddress) of the KubeProxyConfiguration in C(kube-system/kube-proxy) (key C(config.conf), as kubeadm and
    kubespray write it; CIS 4.3.1). Only that line changes; every other line stays as it was.
  - When it changed, the C(kube-proxy) DaemonSet's pods are rolled (a pod template annotation holding the config's hash) and
    the rollout must finish with every pod available and no container restarting within C(timeout); otherwise the ConfigMap
    and the DaemonSet are put back, rolled again, and the module fails.
  - Both objects are saved in the backup set first (C(.cluster-objects)), so C(kubeguard.hardening.rollback) puts them back.
  - Without that ConfigMap and DaemonSet (kube-proxy replaced by the CNI, or k3s) nothing is done and the result says why.
  - Check mode and C(--diff) show the ConfigMap's text before and after; nothing is written.
options:
  kubeconfig:
    description: Admin kubeconfig on the node the module runs on.
    type: path
    required: true
  metrics_bind_address:
    description: Address and port kube-proxy serves its metrics on (kubespray's C(kube_proxy_metrics_bind_address)).
    type: str
    default: 127.0.0.1:10249
  timeout:
    description: Seconds the rollout (and a rollback's) may take.
    type: int
    default: 300
extends_documentation_fragment:
  - kubeguard.hardening.backup
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: kube-proxy metrics on loopback only
  kubeguard.hardening.kube_proxy_config:
    kubeconfig: /etc/kubernetes/admin.conf
    metrics_bind_address: 127.0.0.1:10249
"""

RETURN = r"""
skipped_reason:
  description: Why nothing was written (no kubectl, no kubeadm kube-proxy).
  returned: when skipped
  type: str
rollout:
  description: The DaemonSet's rollout as it ended (C(3/3 updated, 3/3 available)).
  returned: when the pods were rolled
  type: str
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import kube_proxy
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.backup_sets import CLUSTER_OBJECTS_DIR
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster.cluster_policy import restore_action
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.fileops import BACKUP_OPTIONS
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster.kube_api import Kubectl, KubectlError, record_left, save_object

NS = kube_proxy.NAMESPACE
SAVED = {"ConfigMap": f"{NS}.configmap.{kube_proxy.CONFIG_MAP}.json", "DaemonSet": f"{NS}.daemonset.{kube_proxy.DAEMONSET}.json"}


def _pods(kubectl):
    return [p for p in kubectl.get("pods", NS) if any(
        ref.get("kind") == "DaemonSet" and ref.get("name") == kube_proxy.DAEMONSET
        for ref in (p.get("metadata") or {}).get("ownerReferences") or [])]


def _roll(kubectl, config_map, daemonset, text, digest):
    """Write the config and annotate the pod template: the DaemonSet controller replaces the pods node by node."""
    config_map = dict(config_map, data=dict(config_map.get("data") or {}, **{kube_proxy.CONFIG_KEY: text}))
    kubectl.replace(config_map)
    template = dict(daemonset["spec"]["template"])
    meta = dict(template.get("metadata") or {})
    meta["annotations"] = dict(meta.get("annotations") or {}, **{kube_proxy.HASH_ANNOTATION: digest})
    kubectl.replace(dict(daemonset, spec=dict(daemonset["spec"], template=dict(template, metadata=meta))))


def _wait(kubectl, timeout):
    """(healthy, what was seen): the rollout finished and no kube-proxy container restarted meanwhile."""
    before = kube_proxy.restarts(_pods(kubectl))
    deadline, seen = time.monotonic() + timeout, "not read"
    while time.monotonic() < deadline:
        current = kubectl.get_one("daemonset", NS, kube_proxy.DAEMONSET) or {}
        done, seen = kube_proxy.rollout_done(current)
        if done:
            time.sleep(5)   # a pod that crashes at start is Running for a moment first
            now = kube_proxy.restarts(_pods(kubectl))
            crashed = sorted(name for name, count in now.items() if count > before.get(name, 0))
            done, _again = kube_proxy.rollout_done(kubectl.get_one("daemonset", NS, kube_proxy.DAEMONSET) or {})
            if done and not crashed:
                return True, seen
            if crashed:
                return False, f"{seen}; restarting: {', '.join(crashed)}"
        time.sleep(3)
    return False, f"not rolled out within {timeout}s ({seen})"


def main():
    module = AnsibleModule(
        argument_spec=dict(kubeconfig=dict(type="path", required=True),
                           metrics_bind_address=dict(type="str", default=kube_proxy.DEFAULT_METRICS),
                           timeout=dict(type="int", default=300), **BACKUP_OPTIONS),
        supports_check_mode=True,
    )
    p = module.params
    problem = kube_proxy.bind_address_problem(p["metrics_bind_address"])
    if problem:
        module.fail_json(msg=f"metrics_bind_address: {p['metrics_bind_address']!r} {problem}")
    binary = module.get_bin_path("kubectl")
    if binary is None:
        module.exit_json(changed=False, skipped_reason="no kubectl on this node")
    kubectl = Kubectl(module.run_command, binary, p["kubeconfig"])
    try:
        config_map = kubectl.get_one("configmap", NS, kube_proxy.CONFIG_MAP)
        daemonset = kubectl.get_one("daemonset", NS, kube_proxy.DAEMONSET)
    except KubectlError as exc:
        module.fail_json(msg=f"kube-proxy's objects could not be read: {exc}")
    planned = kube_proxy.plan(config_map, daemonset, p["metrics_bind_address"])
    if "skip" in planned:
        module.exit_json(changed=False, skipped_reason=planned["skip"])
    before, after = planned["config"]
    diff = {"before_header": f"ConfigMap/{NS}/{kube_proxy.CONFIG_MAP} {kube_proxy.CONFIG_KEY}", "before": before + "\n",
            "after_header": f"ConfigMap/{NS}/{kube_proxy.CONFIG_MAP} {kube_proxy.CONFIG_KEY}", "after": after + "\n"}
    if not planned["restart"] or module.check_mode:
        module.exit_json(changed=planned["restart"], **({"diff": diff} if module._diff and planned["restart"] else {}))
    directory = os.path.join(p["backup_root"], p["backup_set"], CLUSTER_OBJECTS_DIR)
    if p["backup"]:
        save_object(directory, SAVED["ConfigMap"], config_map)
        save_object(directory, SAVED["DaemonSet"], daemonset)
    try:
        _roll(kubectl, config_map, daemonset, after, planned["hash"])
        healthy, seen = _wait(kubectl, p["timeout"])
    except KubectlError as exc:
        healthy, seen = False, str(exc)
    if healthy:
        if p["backup"]:   # what the run left them as: a rollback puts them back only while nobody changed them since
            record_left(directory, SAVED["ConfigMap"], kubectl.get_one("configmap", NS, kube_proxy.CONFIG_MAP))
            record_left(directory, SAVED["DaemonSet"], kubectl.get_one("daemonset", NS, kube_proxy.DAEMONSET))
        module.exit_json(changed=True, rollout=seen, **({"diff": diff} if module._diff else {}))
    # put both back as they were (the old template rolls the pods again) and say so loudly
    try:
        for saved in (config_map, daemonset):
            _action, obj = restore_action(saved, True)
            kubectl.replace(obj)
        recovered, again = _wait(kubectl, p["timeout"])
    except KubectlError as exc:
        recovered, again = False, str(exc)
    module.fail_json(msg=f"kube-proxy did not come back healthy with metricsBindAddress {p['metrics_bind_address']!r}: {seen}."
                         f" The ConfigMap and DaemonSet were put back; "
                         + (f"kube-proxy is healthy again ({again})" if recovered else f"kube-proxy is still not healthy: {again}"),
                     rollout=seen)


if __name__ == "__main__":
    main()
