"""file_modes logic on a real directory tree: ceilings only remove bits, owners follow kube_owner."""

from __future__ import annotations

import os
import pwd

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import permissions


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


def test_backup_sets_are_listed_with_their_times_and_only_plain_names(tmp_path):
    from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import backup_sets
    assert backup_sets.sets(str(tmp_path / "none")) == {}
    for name, when in (("kg-metrics-open", 1000), ("20261123T193000Z", 2000), ("20261123T180000Z", 500)):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (when, when))
    (tmp_path / "elsewhere").symlink_to("/etc")
    found = backup_sets.sets(str(tmp_path))
    assert found == {"kg-metrics-open": 1000, "20261123T193000Z": 2000, "20261123T180000Z": 500}


def test_a_symlinked_file_is_judged_and_tightened_by_its_target_never_through_the_link(tmp_path):
    """admin.conf -> a 0666 file: the real file is what the apiserver's clients read; it is reported
    with the link and tightened itself. A link to a file the write policy refuses is reported, untouched."""
    real = tmp_path / "real-admin.conf"
    real.write_text("kubeconfig")
    os.chmod(real, 0o666)
    link = tmp_path / "admin.conf"
    link.symlink_to(real)
    changes = permissions.plan([{"path": str(link), "mode": "0600"}])
    assert changes == [{"path": str(real), "link": str(link), "mode": (0o666, 0o600)}]
    assert permissions.describe(changes[0]).startswith(f"{link} -> {real}: mode 0666 -> 0600")
    permissions.apply(changes)
    assert os.stat(real).st_mode & 0o777 == 0o600 and os.path.islink(link)

    planted = tmp_path / "kubelet.conf"
    planted.symlink_to("/etc/shadow")
    refused = permissions.plan([{"path": str(planted), "mode": "0600", "owner": "root"}])
    assert len(refused) == 1 and "shared with the system" in refused[0]["refused"]
    before = os.stat("/etc/shadow")
    permissions.apply(refused)
    after = os.stat("/etc/shadow")
    assert (before.st_mode, before.st_uid, before.st_gid) == (after.st_mode, after.st_uid, after.st_gid)


def test_a_file_the_platform_data_names_is_tightened_even_in_a_system_directory(tmp_path, monkeypatch):
    """CIS 4.1.1: the kubelet unit in /usr/lib/systemd/system must be 0600 - the platform data names it, so the
    deny list (/usr) yields; a symlink pointing there from a declared path does not get the same pass."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import write_policy
    unit = tmp_path / "usr" / "kubelet.service"
    unit.parent.mkdir()
    unit.write_text("[Service]\n")
    os.chmod(unit, 0o644)
    monkeypatch.setattr(write_policy, "DENIED", write_policy.DENIED + (str(tmp_path / "usr"),))
    changes = permissions.plan([{"path": str(unit), "mode": "0600"}])
    assert changes == [{"path": str(unit), "mode": (0o644, 0o600)}]
    permissions.apply(changes)
    assert os.stat(unit).st_mode & 0o777 == 0o600
    os.chmod(unit, 0o644)
    link = tmp_path / "kubelet.service"
    link.symlink_to(unit)
    refused = permissions.plan([{"path": str(link), "mode": "0600"}])
    assert len(refused) == 1 and "never writes" in refused[0]["refused"]
    assert os.stat(unit).st_mode & 0o777 == 0o644


def test_links_someone_else_could_have_planted_are_never_followed(tmp_path):
    """Found by review: a login user's link, a link to a directory, a hard link - none gets its target tightened."""
    victim = tmp_path / "victim"
    victim.mkdir()
    os.chmod(victim, 0o755)
    (tmp_path / "etcd").symlink_to(victim)
    refused = permissions.plan([{"path": str(tmp_path / "etcd"), "mode": "0700", "owner": "nobody"}])
    assert len(refused) == 1 and "directory" in refused[0]["refused"]
    key = tmp_path / "real.key"
    key.write_text("k")
    os.chmod(key, 0o644)
    theirs = tmp_path / "theirs.key"
    theirs.symlink_to(key)
    os.lchown(theirs, 1000, 1000)
    refused = permissions.plan([{"path": str(theirs), "mode": "0600"}])
    assert "login user" in refused[0]["refused"]
    hard = tmp_path / "hard.key"
    os.link(key, hard)
    refused = permissions.plan([{"path": str(hard), "mode": "0600"}])
    assert "hard links" in refused[0]["refused"]
    permissions.apply(refused)
    assert os.stat(victim).st_mode & 0o777 == 0o755 and os.stat(key).st_mode & 0o777 == 0o644
