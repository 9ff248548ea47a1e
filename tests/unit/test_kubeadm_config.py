"""The hardening written into kubeadm's own records (kubeadm-config and kubelet-config ConfigMaps),
so `kubeadm upgrade` regenerates it instead of undoing it."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.kubeadm_config import (
    KubeadmConfigError, merge_cluster_configuration, merge_kubelet_configuration)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cluster_configuration():
    """The ClusterConfiguration kubeadm init got in the test bed (what kubeadm stores in kubeadm-config)."""
    with open(os.path.join(REPO, "testbed", "fixtures", "kubeadm-config.yaml"), encoding="utf-8") as handle:
        docs = list(yaml.safe_load_all(handle))
    return yaml.safe_dump(next(d for d in docs if d["kind"] == "ClusterConfiguration"))


FLAGS = {"kube-apiserver": {"profiling": "false", "audit-log-path": "/var/log/audit.log", "anonymous-auth": None},
         "kube-controller-manager": {"bind-address": "127.0.0.1", "terminated-pod-gc-threshold": "50"},
         "kube-scheduler": {"profiling": "false"},
         "etcd": {"client-cert-auth": "true", "auto-tls": None}}
MOUNTS = [{"name": "audit-logs", "path": "/var/log", "type": "DirectoryOrCreate", "read_only": False}]


def test_flags_and_mounts_go_into_the_cluster_configuration_v1beta4_lists():
    text, changes = merge_cluster_configuration(cluster_configuration(), FLAGS, MOUNTS)
    config = yaml.safe_load(text)
    assert {"name": "profiling", "value": "false"} in config["apiServer"]["extraArgs"]
    assert "anonymous-auth" not in str(config["apiServer"]["extraArgs"])
    assert {"name": "terminated-pod-gc-threshold", "value": "50"} in config["controllerManager"]["extraArgs"]
    assert config["etcd"]["local"]["extraArgs"] == [{"name": "client-cert-auth", "value": "true"}]
    assert config["etcd"]["local"]["dataDir"] == "/var/lib/etcd" and config["clusterName"] == "kubeguard-demo"
    assert config["apiServer"]["extraVolumes"] == [{"name": "audit-logs", "hostPath": "/var/log", "mountPath": "/var/log",
                                                    "readOnly": False, "pathType": "DirectoryOrCreate"}]
    assert "apiServer: + profiling=false" in changes
    again, none = merge_cluster_configuration(text, FLAGS, MOUNTS)
    assert none == [] and again == text


def test_an_existing_value_is_replaced_and_v1beta3_maps_kept_as_maps():
    old = yaml.safe_dump({"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration",
                          "apiServer": {"extraArgs": {"profiling": "true", "oidc-issuer-url": "https://idp"}}})
    text, changes = merge_cluster_configuration(old, {"kube-apiserver": {"profiling": "false"}}, [])
    assert yaml.safe_load(text)["apiServer"]["extraArgs"] == {"profiling": "false", "oidc-issuer-url": "https://idp"}
    assert changes == ["apiServer: profiling=true -> false"]


def test_external_etcd_is_not_kubeadms():
    external = yaml.safe_dump({"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ClusterConfiguration",
                               "etcd": {"external": {"endpoints": ["https://10.0.0.1:2379"]}}})
    assert merge_cluster_configuration(external, {"etcd": {"client-cert-auth": "true"}}, [])[1] == []


@pytest.mark.parametrize("text", ["kind: InitConfiguration\n", "[not, a, map]\n", "a: [\n"])
def test_anything_but_a_cluster_configuration_is_refused(text):
    with pytest.raises(KubeadmConfigError):
        merge_cluster_configuration(text, FLAGS, [])


def test_kubelet_fields_go_into_the_kubelet_config_map():
    text, changes = merge_kubelet_configuration("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                                                "cgroupDriver: systemd\n", {"readOnlyPort": 10255, "authentication.anonymous.enabled": False})
    config = yaml.safe_load(text)
    assert config["readOnlyPort"] == 10255 and config["authentication"]["anonymous"]["enabled"] is False
    assert config["cgroupDriver"] == "systemd" and changes
    assert merge_kubelet_configuration(text, {"readOnlyPort": 10255})[1] == []


def test_paths_kubeadm_mounts_itself_never_become_extra_volumes():
    """The encryption config lives in the certificates directory, which kubeadm mounts into the apiserver
    itself: a second mount of it would make the pod `kubeadm upgrade` regenerates invalid (duplicate mountPath)."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
    from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired
    layout = catalogue.layout_for("kubeadm")
    generated = [m.format(pki_dir=layout.pki_dir) for m in layout.components["kubeadm_mounts"]]
    mounts = desired.apiserver_host_paths(hv.validate({"kube_encrypt_secret_data": True, "kubernetes_audit": True}), layout)
    assert "/etc/kubernetes/pki" in [m["path"] for m in mounts]        # the static pod reuses kubeadm's mount
    text, changes = merge_cluster_configuration(cluster_configuration(), FLAGS, mounts, generated)
    volumes = yaml.safe_load(text)["apiServer"]["extraVolumes"]
    assert "/etc/kubernetes/pki" not in [v["mountPath"] for v in volumes]
    assert {v["name"] for v in volumes} == {"audit-logs", "audit-policy"}
    # a duplicate an earlier run (or a user) left in kubeadm's records is removed, saying why
    earlier = yaml.safe_load(text)
    earlier["apiServer"]["extraVolumes"].append({"name": "encryption-config", "hostPath": "/etc/kubernetes/pki",
                                                 "mountPath": "/etc/kubernetes/pki", "readOnly": True})
    repaired, found = merge_cluster_configuration(yaml.safe_dump(earlier), FLAGS, mounts, generated)
    assert "/etc/kubernetes/pki" not in str(yaml.safe_load(repaired)["apiServer"]["extraVolumes"])
    assert found == ["apiServer: - volume encryption-config (/etc/kubernetes/pki: kubeadm mounts it itself)"]
    assert "kubeadm_mounts" in catalogue.layout_for("kubespray").components   # kubespray runs kubeadm too


def test_a_volume_kubeadm_stored_again_without_read_only_false_is_unchanged():
    text, _ignored = merge_cluster_configuration(cluster_configuration(), FLAGS, MOUNTS)
    stored = yaml.safe_load(text)
    del stored["apiServer"]["extraVolumes"][0]["readOnly"]        # kubeadm upgrade's upload-config
    assert merge_cluster_configuration(yaml.safe_dump(stored), FLAGS, MOUNTS)[1] == []
    stored["apiServer"]["extraVolumes"][0]["readOnly"] = True      # a real difference is one
    assert merge_cluster_configuration(yaml.safe_dump(stored), FLAGS, MOUNTS)[1] == ["apiServer: volume audit-logs -> /var/log"]


def test_kubeadm_config_put_back_keeps_the_encryption_flag_kubeadm_upgrade_needs():
    """A rollback of the run that turned encryption on puts kubeadm's record back; the next kubeadm upgrade would
    regenerate the apiserver without --encryption-provider-config (every Secret unreadable): the flag stays."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.kubeadm_config import keep_encryption_arg
    before = cluster_configuration()
    now, _changes = merge_cluster_configuration(
        before, {"kube-apiserver": {"encryption-provider-config": "/etc/kubernetes/pki/secrets_encryption.yaml",
                                    "profiling": "false"}}, [])
    kept = yaml.safe_load(keep_encryption_arg(before, now))
    assert {"name": "encryption-provider-config", "value": "/etc/kubernetes/pki/secrets_encryption.yaml"} in kept["apiServer"]["extraArgs"]
    assert {"name": "profiling", "value": "false"} not in kept["apiServer"].get("extraArgs", [])
    assert keep_encryption_arg(now, now) is None and keep_encryption_arg(before, before) is None
