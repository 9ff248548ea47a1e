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
  - The text is parsed before and after (a key given twice, another C(apiVersion) or a shape a line edit cannot change
    safely is refused before any write) and must differ in that field only.
  - When the text changed, or changed since this module last rolled the pods (kube-proxy reads its file at start only),
    or a node's kube-proxy does not serve where wanted (C(behind)), the C(kube-proxy) DaemonSet's pods are rolled (a
    pod template annotation unique to the rollout) and the rollout must finish with every pod available and no
    container restarting within C(timeout); otherwise what this run wrote is put back (only while nobody changed it
    since), rolled again, and the module fails.
  - Within 35 seconds of an apiserver start, the rollout waits until then - every kubelet watches the ConfigMap again
    (a kubelet still reconnecting would start a new pod from its old copy).
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
  behind:
    description:
      - Nodes whose kube-proxy does not serve its metrics where wanted, each said (their plans read its sockets,
        C(kube_proxy_behind)). kube-proxy reads its file at start only, so the pods roll for them even when the
        ConfigMap is right.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - kubeguard.hardening.backup
  - kubeguard.hardening.rollout
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
why:
  description: Why the pods were (or, in check mode, would be) rolled; empty when nothing is to be done.
  returned: unless skipped
  type: list
  elements: str
skipped_reason:
  description: Why nothing was written (no kubectl, no kubeadm kube-proxy).
  returned: when skipped
  type: str
rollout:
  description: The DaemonSet's rollout as it ended (C(3/3 updated, 3/3 available)).
  returned: when the pods were rolled
  type: str
waited:
  description:
    - Seconds waited before the rollout for every kubelet to watch the ConfigMap again after an apiserver restart
      (a kubelet still reconnecting hands a new pod its old copy); 0 when the apiserver has long been up.
  returned: when the pods were rolled
  type: int
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import load_unique_keys, require_yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import rollouts
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster.cluster_policy import guarded_restore_action
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster.kube_api import (
    Kubectl, KubectlError, left_record, record_left, save_object)
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import kube_proxy
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.backup_sets import CLUSTER_OBJECTS_DIR
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.fileops import BACKUP_OPTIONS

NS = kube_proxy.NAMESPACE
SAVED = {"ConfigMap": f"{NS}.configmap.{kube_proxy.CONFIG_MAP}.json", "DaemonSet": f"{NS}.daemonset.{kube_proxy.DAEMONSET}.json"}


def _annotated(daemonset, value):
    """The DaemonSet with its pod template annotated: the DaemonSet controller replaces the pods node by node."""
    template = dict(daemonset["spec"]["template"])
    meta = dict(template.get("metadata") or {})
    meta["annotations"] = dict(meta.get("annotations") or {}, **{kube_proxy.HASH_ANNOTATION: value})
    return dict(daemonset, spec=dict(daemonset["spec"], template=dict(template, metadata=meta)))


def _wait(kubectl, timeout, settle, before):
    return rollouts.wait(kubectl, NS, kube_proxy.DAEMONSET, timeout, settle, before=before)


def _put_back(kubectl, written):
    """Each object this run wrote, as it was, only while it is still what we wrote (the server refuses the replace
    otherwise); returns what was done and what was left, for the failure message."""
    done = []
    for kind, (saved, ours) in written.items():
        current = kubectl.get_one(kind.lower(), NS, saved["metadata"]["name"])
        # the rollback's own rule (cluster_restore): unchanged since we wrote it, by generation where it has a spec
        action, obj, why = guarded_restore_action(saved, left_record(ours), current)
        if action != "replace":
            done.append(f"{kind} left as it is now ({why})")
            continue
        kubectl.replace(obj)
        done.append(f"{kind} put back")
    return done


def _text(value):
    return value if value.endswith("\n") else value + "\n"


def main():
    module = AnsibleModule(
        argument_spec=dict(kubeconfig=dict(type="path", required=True),
                           metrics_bind_address=dict(type="str", default=kube_proxy.DEFAULT_METRICS),
                           behind=dict(type="list", elements="str", default=[]), **rollouts.ROLLOUT_OPTIONS, **BACKUP_OPTIONS),
        supports_check_mode=True,
    )
    require_yaml(module)
    p = module.params
    problem = kube_proxy.bind_address_problem(p["metrics_bind_address"])
    if problem:
        module.fail_json(msg=f"metrics_bind_address: {p['metrics_bind_address']!r} {problem}")
    waits = rollouts.options_problem(module.params)
    if waits:
        module.fail_json(msg=waits)
    binary = module.get_bin_path("kubectl")
    if binary is None:
        module.exit_json(changed=False, skipped_reason="no kubectl on this node")
    kubectl = Kubectl(module.run_command, binary, p["kubeconfig"])
    try:
        config_map = kubectl.get_one("configmap", NS, kube_proxy.CONFIG_MAP)
        daemonset = kubectl.get_one("daemonset", NS, kube_proxy.DAEMONSET)
        planned = kube_proxy.plan(config_map, daemonset, p["metrics_bind_address"], load_unique_keys, p["behind"])
    except KubectlError as exc:
        module.fail_json(msg=f"kube-proxy's objects could not be read: {exc}")
    except kube_proxy.KubeProxyConfigError as exc:
        module.fail_json(msg=f"{NS}/{kube_proxy.CONFIG_MAP} {kube_proxy.CONFIG_KEY} {exc}; nothing was changed")
    if "skip" in planned:
        module.exit_json(changed=False, skipped_reason=planned["skip"])
    before, after = planned["config"]
    header = f"ConfigMap/{NS}/{kube_proxy.CONFIG_MAP} {kube_proxy.CONFIG_KEY}"
    diff = [{"before_header": header, "before": _text(before), "after_header": header, "after": _text(after)}] if after != before else []
    if planned["restart"]:
        diff.append({"before_header": f"DaemonSet/{NS}/{kube_proxy.DAEMONSET}", "before": "",
                     "after_header": f"DaemonSet/{NS}/{kube_proxy.DAEMONSET}",
                     "after": f"pods rolled node by node: {'; '.join(planned['restart'])}\n"})
    shown = {"diff": diff} if module._diff and diff else {}
    if not planned["restart"] or module.check_mode:
        module.exit_json(changed=bool(planned["restart"]), why=planned["restart"], **shown)
    directory = os.path.join(p["backup_root"], p["backup_set"], CLUSTER_OBJECTS_DIR)
    if p["backup"]:
        save_object(directory, SAVED["ConfigMap"], config_map)
        save_object(directory, SAVED["DaemonSet"], daemonset)
    written = {}
    try:
        restarted = rollouts.baseline(kubectl, NS, kube_proxy.DAEMONSET)
        # a kubelet still reconnecting after an apiserver restart would start a new pod from its old copy
        waited = rollouts.until_watches_are_back(kubectl)
        if after != before:
            kubectl.replace(dict(config_map, data=dict(config_map.get("data") or {}, **{kube_proxy.CONFIG_KEY: after})))
            written["ConfigMap"] = (config_map, kubectl.get_one("configmap", NS, kube_proxy.CONFIG_MAP))
        # unique to this rollout: the template changes even when the text returns to one rolled before
        kubectl.replace(_annotated(daemonset, f"{planned['hash']}-{int(time.time())}"))
        written["DaemonSet"] = (daemonset, kubectl.get_one("daemonset", NS, kube_proxy.DAEMONSET))
        healthy, seen = _wait(kubectl, p["timeout"], p["settle"], restarted)
    except KubectlError as exc:
        healthy, seen = False, str(exc)
    if healthy:
        if p["backup"]:   # what the run left them as: a rollback puts them back only while nobody changed them since
            record_left(directory, SAVED["ConfigMap"], kubectl.get_one("configmap", NS, kube_proxy.CONFIG_MAP))
            record_left(directory, SAVED["DaemonSet"], kubectl.get_one("daemonset", NS, kube_proxy.DAEMONSET))
        module.exit_json(changed=True, why=planned["restart"], rollout=seen, waited=round(waited), **shown)
    if not written:   # refused before anything was written (a conflict): nothing to put back
        module.fail_json(msg=f"kube-proxy's objects were not changed: {seen}", rollout=seen)
    try:
        restarted = rollouts.baseline(kubectl, NS, kube_proxy.DAEMONSET)
        put_back = _put_back(kubectl, written)
        recovered, again = (_wait(kubectl, p["timeout"], p["settle"], restarted) if "DaemonSet put back" in put_back
                            else (False, "its pods were not rolled back"))
    except KubectlError as exc:
        put_back, recovered, again = [f"putting back failed: {exc}"], False, str(exc)
    module.fail_json(msg=f"kube-proxy did not come back healthy ({'; '.join(planned['restart'])}): {seen}. {'; '.join(put_back)}; "
                         + (f"kube-proxy is healthy again ({again})" if recovered else f"kube-proxy is still not healthy: {again}"),
                     rollout=seen)


if __name__ == "__main__":
    main()
