"""The kubelet's --config-dir: drop-ins merged over its config file are what it runs with. The audit
judges the merge; a plan whose fields a drop-in would undo is refused (or waived when allowed)."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import never_weaker, node_operations, node_plan
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.kubelet_config import (
    KubeletConfigError, dropin_files, dropin_overrides, load_dropins, merge_dropin)

from test_node_plan import SEED

DEBUG = """apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
readOnlyPort: 10255
authentication:
  anonymous:
    enabled: true
"""


def test_merge_follows_the_kubelet():
    base = {"authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True}}, "tlsCipherSuites": ["A", "B"],
            "featureGates": {"X": True}}
    merged = merge_dropin(base, {"authentication": {"anonymous": {"enabled": True}}, "tlsCipherSuites": ["C"],
                                 "featureGates": {"Y": False}})
    assert merged == {"authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": True}},
                      "tlsCipherSuites": ["C"], "featureGates": {"X": True, "Y": False}}   # maps merge, lists replace
    assert base["authentication"]["anonymous"]["enabled"] is False


def test_dropin_files_and_refusals(tmp_path):
    for name in ("20-b.conf", "10-a.conf", "README", "30-c.yaml"):
        (tmp_path / name).write_text("kind: KubeletConfiguration\n")
    (tmp_path / "40-dir.conf").mkdir()
    assert [os.path.basename(p) for p in dropin_files(str(tmp_path))] == ["10-a.conf", "20-b.conf"]
    (tmp_path / "50-bad.conf").write_text("kind: KubeProxyConfiguration\n")
    with pytest.raises(KubeletConfigError, match="50-bad.conf: not a KubeletConfiguration"):
        load_dropins(str(tmp_path))
    (tmp_path / "50-bad.conf").write_text("readOnlyPort: [\n")
    with pytest.raises(KubeletConfigError, match="50-bad.conf: not valid YAML"):
        load_dropins(str(tmp_path))


def test_overrides_name_the_last_dropin_that_sets_a_field():
    dropins = [("10.conf", {"readOnlyPort": 10255, "streamingConnectionIdleTimeout": "5m0s"}),
               ("20.conf", {"readOnlyPort": 0, "featureGates": {"RotateKubeletServerCertificate": False}}),
               ("30.conf", {"authentication": {"anonymous": {"enabled": True}}})]
    fields = {"readOnlyPort": 0, "streamingConnectionIdleTimeout": "5m", "authentication.anonymous.enabled": False,
              "featureGates": {"RotateKubeletServerCertificate": True}, "rotateCertificates": True}
    assert dropin_overrides(fields, dropins) == [
        ("authentication.anonymous.enabled", "30.conf", True, False),
        ("featureGates.RotateKubeletServerCertificate", "20.conf", False, True)]
    assert dropin_overrides({"seccompDefault": None}, [("x.conf", {"seccompDefault": True})]) == [
        ("seccompDefault", "x.conf", True, None)]


def _with_dropin(root, layout, text):
    confd = root / "kubelet.conf.d"
    confd.mkdir()
    (confd / "50-debug.conf").write_text(text)
    env = root / "kubelet" / "kubeadm-flags.env"
    env.write_text(env.read_text().rstrip().rstrip('"') + f' --config-dir={confd}"\n')
    return confd


def _plan(root, layout, settings, variables):
    values = hardening_vars.validate(dict(yaml.safe_load(open(SEED, encoding="utf-8")), etcd_data_dir=str(root / "etcd-data"),
                                          **variables))
    os.makedirs(values["etcd_data_dir"], exist_ok=True)
    state = audit.observe(layout, str(root / "proc"))
    plan = never_weaker.plan(values, layout, state)
    plan["summary"] = []
    node_info = {"control_plane": True, "etcd_host": False, "kubelet_running": False, "kubelet_allowed": ["localhost"]}
    ops = node_operations.operations(values, layout, plan, node_info, settings)
    node_plan.kubelet_dropin_overrides(ops, state, values, plan)
    return state, plan


def test_the_audit_judges_what_the_kubelet_merges(kubeadm_node):
    root, layout, _settings = kubeadm_node
    confd = _with_dropin(root, layout, DEBUG)
    state = audit.observe(layout, str(root / "proc"))
    assert state["kubelet_config_dropins"] == [str(confd / "50-debug.conf")]
    assert state["kubelet_config"]["readOnlyPort"] == 10255
    assert state["kubelet_config"]["authentication"]["webhook"]["enabled"] is True      # kept from config.yaml
    results = {r["id"]: r for r in audit.audit(state, ["worker"])}
    assert results["4.2.1"]["status"] == "fail" and results["4.2.4"]["check_passed"] is False   # (4.2.4 is manual)


def test_a_plan_a_dropin_would_undo_is_refused_or_waived(kubeadm_node):
    root, layout, settings = kubeadm_node
    _with_dropin(root, layout, DEBUG)
    with pytest.raises(ValueError) as error:
        _plan(root, layout, settings, {})
    message = str(error.value)
    assert "the kubelet merges" in message and "50-debug.conf sets readOnlyPort: 10255 (this run sets 0)" in message
    assert "kubeguard_allow_override: {kubelet.readOnlyPort: <your reason>}" in message
    assert "authentication.anonymous.enabled: True (this run sets False)" in message
    assert message.endswith("Remove those fields from the drop-ins (or give them the hardened value), then run again")
    allowed = {"kubelet.readOnlyPort": "legacy scraper", "kubelet.authentication.anonymous.enabled": "lab cluster"}
    _state, plan = _plan(root, layout, settings, {"kubeguard_allow_override": allowed})
    assert "legacy scraper" in plan["waived"]["4.2.4"] and "50-debug.conf" in plan["waived"]["4.2.4"]
    assert "lab cluster" in plan["waived"]["4.2.1"]
    assert sum(line.startswith("waived: ") for line in plan["summary"]) == 2


def test_a_dropin_that_agrees_is_fine(kubeadm_node):
    root, layout, settings = kubeadm_node
    _with_dropin(root, layout, "kind: KubeletConfiguration\nreadOnlyPort: 0\nmaxPods: 50\n")
    _state, plan = _plan(root, layout, settings, {})
    assert not any(line.startswith("waived: ") for line in plan["summary"])


def test_kubespray_kubelet_env_continuation_lines_are_read():
    """systemd joins a line ending in a backslash with the next: kubespray's KUBELET_ARGS spans several."""
    text = ('KUBELET_HOSTNAME="--hostname-override=node1"\n\nKUBELET_ARGS="--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf \\\n'
            '--config=/etc/kubernetes/kubelet-config.yaml --config-dir=/etc/kubernetes/kubelet.conf.d \\\n'
            '--kubeconfig=/etc/kubernetes/kubelet.conf \\\n "\n')
    flags = audit._env_file_flags(text)  # pylint: disable=protected-access
    assert flags["config"] == "/etc/kubernetes/kubelet-config.yaml" and flags["config-dir"] == "/etc/kubernetes/kubelet.conf.d"
    assert flags["kubeconfig"] == "/etc/kubernetes/kubelet.conf" and flags["hostname-override"] == "node1"
