"""file_modes logic on a real directory tree: ceilings only remove bits, owners follow kube_owner."""

from __future__ import annotations

import os
import pwd

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils import permissions


@pytest.fixture
def pki(tmp_path):
    (tmp_path / "pki" / "etcd").mkdir(parents=True)
    for name, mode in (("ca.crt", 0o644), ("ca.key", 0o600), ("etcd/peer.key", 0o640), ("sa.pub", 0o400)):
        path = tmp_path / "pki" / name
        path.write_text("x")
        os.chmod(path, mode)
    os.symlink(tmp_path / "pki" / "ca.crt", tmp_path / "pki" / "link.crt")
    return tmp_path / "pki"


def test_mode_is_a_ceiling(pki):
    changes = permissions.plan([{"path": str(pki), "recurse": True, "mode": "0600", "dir_mode": "0755"}])
    by_path = {os.path.relpath(c["path"], pki): c for c in changes}
    assert by_path["ca.crt"]["mode"] == (0o644, 0o600)
    assert by_path["etcd/peer.key"]["mode"] == (0o640, 0o600)
    assert "sa.pub" not in by_path and "ca.key" not in by_path      # 0400 is stricter: left alone
    assert "link.crt" not in by_path                               # symlinks skipped
    permissions.apply(changes)
    assert permissions.plan([{"path": str(pki), "recurse": True, "mode": "0600", "dir_mode": "0755"}]) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_owner_follows_variables(pki):
    nobody = pwd.getpwnam("nobody")
    changes = permissions.plan([{"path": str(pki / "*.crt"), "owner": "nobody"}])
    assert [os.path.basename(c["path"]) for c in changes] == ["ca.crt"]
    permissions.apply(changes)
    assert os.stat(pki / "ca.crt").st_uid == nobody.pw_uid


def test_unknown_owner_names_the_variables(pki):
    with pytest.raises(ValueError, match="kube_owner"):
        permissions.plan([{"path": str(pki), "owner": "no-such-user-kg"}])
    planned = permissions.plan([{"path": str(pki), "owner": "no-such-user-kg"}], allow_unknown=True)
    assert "(new user)" in permissions.describe(planned[0])


def test_exclude_leaves_named_files_to_another_entry(pki):
    (pki / "secrets_encryption.yaml").write_text("k")
    os.chmod(pki / "secrets_encryption.yaml", 0o644)
    entry = {"path": str(pki), "recurse": True, "mode": "0600", "exclude": ["secrets_encryption.yaml"]}
    paths = [os.path.basename(c["path"]) for c in permissions.plan([entry])]
    assert "ca.crt" in paths and "secrets_encryption.yaml" not in paths


def test_the_latest_backup_set_is_the_newest_not_the_last_name(tmp_path):
    from ansible_collections.kubeguard.hardening.plugins.module_utils import fileops
    assert fileops.latest_set(str(tmp_path / "none")) is None
    for name, when in (("kg-metrics-open", 1000), ("20261123T193000Z", 2000), ("20261123T180000Z", 500)):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (when, when))
    assert fileops.latest_set(str(tmp_path)) == "20261123T193000Z"
