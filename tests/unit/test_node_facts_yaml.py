"""The plan reads kubeconfigs and manifests someone may have broken or planted: a file that is not YAML gives
no server and no image tag, never a traceback (whose text could quote a client-key-data line)."""

from __future__ import annotations

from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import node_facts

BROKEN = "apiVersion: v1\nusers:\n- user:\n    client-key-data: c2VjcmV0\n  name: [unclosed\n"


def test_a_broken_kubeconfig_gives_no_server_and_no_traceback(tmp_path):
    broken, good = tmp_path / "kubelet.conf", tmp_path / "admin.conf"
    broken.write_text(BROKEN)
    good.write_text("clusters:\n- cluster: {server: 'https://10.0.0.1:6443'}\n  name: k\n")
    assert node_facts.kubeconfig_servers([str(broken), str(good)]) == ["10.0.0.1"]


def test_a_broken_manifest_has_no_image_tag(tmp_path):
    manifest = tmp_path / "kube-apiserver.yaml"
    manifest.write_text("spec:\n  containers:\n  - image: registry.k8s.io/kube-apiserver:v1.34.4\n    args: [unclosed\n")
    assert node_facts._image_tag(str(manifest)) is None   # pylint: disable=protected-access
    manifest.write_text("spec:\n  containers:\n  - image: registry.k8s.io/kube-apiserver:v1.34.4\n")
    assert node_facts._image_tag(str(manifest)) == "v1.34.4"   # pylint: disable=protected-access
