"""Make the repository importable as ansible_collections.kubeguard.hardening for the unit tests."""

from __future__ import annotations

import os
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "tests", "fixtures")


def _collection_root() -> str:
    root = os.path.join(tempfile.gettempdir(), "kubeguard-test-collections")
    link = os.path.join(root, "ansible_collections", "kubeguard", "hardening")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.islink(link) and os.readlink(link) != REPO:
        os.unlink(link)
    if not os.path.exists(link):
        os.symlink(REPO, link)
    return root


sys.path.insert(0, _collection_root())
# Tests share helpers by module name (`from test_node_plan import apply`, `from conftest import ...`): pytest's
# rootdir insertion provides that in a plain run, ansible-test units' pytest configuration does not.
for _tests_dir in ("tests", os.path.join("tests", "unit"), os.path.join("tests", "integration")):
    if os.path.join(REPO, _tests_dir) not in sys.path:
        sys.path.append(os.path.join(REPO, _tests_dir))


def generated_is_current(tool: str) -> None:
    """A generated doc is what its generator writes now: tools/<tool> --check, run against this collection's copy."""
    import subprocess
    env = dict(os.environ, KG_TEST_COLLECTIONS=_collection_root())
    proc = subprocess.run([sys.executable, os.path.join(REPO, "tools", tool), "--check"], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture
def seed_vars():
    """The hardening.yaml of seed 000 (kubespray's guide), as users write it."""
    import yaml
    with open(os.path.join(REPO, "tests", "data", "seed-hardening.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture
def kubeadm_files(tmp_path, request):
    """kubeadm's files (tests/fixtures; parametrized indirectly with a release, those of tests/fixtures/releases/<it>)
    under tmp_path, a layout pointing at them, and a /proc with no process and no listening socket."""
    import dataclasses
    import shutil
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    release = getattr(request, "param", None)
    source = os.path.join(FIXTURES, "releases", release) if release else FIXTURES
    shutil.copytree(os.path.join(source, "kubeadm", "etc-kubernetes"), tmp_path / "etc")
    shutil.copytree(os.path.join(source, "kubeadm", "var-lib-kubelet"), tmp_path / "kubelet")
    layout = dataclasses.replace(catalogue.layout_for("kubeadm", str(tmp_path / "etc")),
                                 kubelet_config=str(tmp_path / "kubelet" / "config.yaml"),
                                 kubelet_env=str(tmp_path / "kubelet" / "kubeadm-flags.env"),
                                 kubelet_service=str(tmp_path / "kubelet" / "10-kubeadm.conf"))
    (tmp_path / "proc" / "net").mkdir(parents=True)
    for table in ("tcp", "tcp6"):   # no socket listens (the exposure checks read these)
        (tmp_path / "proc" / "net" / table).write_text(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
    return tmp_path, layout


@pytest.fixture
def kubeadm_node(kubeadm_files):
    """kubeadm_files plus a CNI config and the collection's settings pointing under tmp_path: what node_plan needs."""
    import dataclasses
    root, layout = kubeadm_files
    layout = dataclasses.replace(layout, cni_conf_dir=str(root / "cni"), proxy_kubeconfig=str(root / "proxy.conf"))
    (root / "cni").mkdir()
    (root / "cni" / "10-net.conflist").write_text("{}\n")
    os.chmod(root / "cni" / "10-net.conflist", 0o644)
    settings = {"node_audit_rules_file": str(root / "audit.rules"),
                "sysctl_file": str(root / "sysctl.conf"), "sysctl_apply": False, "etcd_env_file": str(root / "etcd.env"),
                "etcd_user": "root", "audit_shared_log_dirs": ["/var/log"],
                "kubelet_firewall_dropin": str(root / "90-firewall.conf"), "metrics_firewall_dir": str(root / "kubeguard"),
                "metrics_firewall_unit_file": str(root / "kubeguard-metrics-firewall.service"), "kubelet_serving_cert": str(root / "serving.pem")}
    return root, layout, settings


@pytest.fixture(autouse=True)
def test_tree_stands_in_for_the_host(tmp_path_factory, monkeypatch):
    """Tests lay out a node's files under pytest's temp dir: there, that tree is where each kind of file
    of ours goes (the write policy's places on a real host are /var/log, /etc/kubernetes, ...). The deny
    list and every other rule stay as they are."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import write_policy
    base = str(tmp_path_factory.getbasetemp())
    monkeypatch.setattr(write_policy, "KIND_PLACES",
                        {kind: places + (base,) for kind, places in write_policy.KIND_PLACES.items()})
    if base.startswith("/tmp/"):   # the tree is below /tmp, which validation refuses on a host (test_backup_sets proves it)
        monkeypatch.setattr(write_policy, "SHARED_WRITABLE", tuple(p for p in write_policy.SHARED_WRITABLE if p != "/tmp"))
