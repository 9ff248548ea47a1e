"""Backup sets and restores: nothing lost (keys), nothing opened (modes), nothing written outside our files."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import backup_sets, fileops, write_policy
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.key_rotation import merge_for_restore

NOBODY = 65534


def encryption(*providers):
    return {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
            "resources": [{"resources": ["secrets"], "providers": list(providers)}]}


def aescbc(*keys):
    return {"aescbc": {"keys": [{"name": name, "secret": secret} for name, secret in keys]}}


IDENTITY = {"identity": {}}
KEY1, KEY2 = ("key1", "c2VjcmV0LW9uZS1zZWNyZXQtb25lLXNlY3JldC1vbmU="), ("key2", "c2Vjb25kLWtleS1zZWNvbmQta2V5LXNlY29uZC1rZXk=")


def write(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, mode)


def providers_of(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["resources"][0]["providers"]


@pytest.fixture
def node(tmp_path):
    root = tmp_path / "backups"
    config = tmp_path / "pki" / "secrets_encryption.yaml"
    return tmp_path, str(root), str(config)


# --- set names and trusted sets -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["/etc", "../../etc", "..", ".", "a/b", "", "x" * 129, "a b", "a\nb", None, 5])
def test_a_set_name_is_never_a_path(tmp_path, name):
    with pytest.raises(backup_sets.UnsafeBackupSet):
        backup_sets.set_dir(str(tmp_path), name)
    with pytest.raises(ValueError):
        fileops.backup_file("/etc/hostname", str(tmp_path), name)
    if isinstance(name, str) and name:
        with pytest.raises(hv.HardeningVarsError, match="kubeguard_backup_set"):
            hv.validate({"kubeguard_backup_set": name})


def test_a_set_others_could_have_written_is_refused(node):
    tmp, root, config = node
    write(config, yaml.safe_dump(encryption(aescbc(KEY1), IDENTITY)))
    target = str(tmp / "etc" / "target.conf")
    write(target, "ours\n")
    fileops.backup_file(target, root, "run1")
    write(target, "changed\n")
    base = os.path.join(root, "run1")
    os.chown(base, NOBODY, NOBODY)
    with pytest.raises(backup_sets.UnsafeBackupSet, match="not root"):
        backup_sets.plan_restore(root, "run1")
    os.chown(base, 0, 0)
    os.chmod(base, 0o777)
    with pytest.raises(backup_sets.UnsafeBackupSet, match="writable by others"):
        backup_sets.plan_restore(root, "run1")
    os.chmod(base, 0o700)
    os.symlink("/etc/shadow", os.path.join(base, target.lstrip("/") + ".extra"))
    with pytest.raises(backup_sets.UnsafeBackupSet, match="not a regular file"):
        backup_sets.plan_restore(root, "run1")
    os.unlink(os.path.join(base, target.lstrip("/") + ".extra"))
    backup_sets.apply_restore(backup_sets.plan_restore(root, "run1"))
    assert open(target, encoding="utf-8").read() == "ours\n"


def test_the_backup_root_is_roots_alone(node):
    tmp, root, _config = node
    target = str(tmp / "etc" / "a.conf")
    write(target, "x\n", 0o644)
    fileops.backup_file(target, root, "run1")
    assert os.stat(root).st_mode & 0o777 == 0o700


# --- nothing opened -------------------------------------------------------------------------------

def test_a_restored_key_file_is_never_readable_by_others_at_any_moment(node, monkeypatch):
    """The probe looks at the temp file the moment its content is about to land (what an inotify
    watcher would open): it is 0600 and has its final owner already."""
    tmp, root, _config = node
    key = str(tmp / "pki" / "sa.key")
    write(key, "PRIVATE KEY one\n", 0o600)
    fileops.backup_file(key, root, "run1")
    write(key, "PRIVATE KEY two\n", 0o600)
    seen = []
    real_fdopen = os.fdopen

    def probe(fd, *args, **kwargs):
        path = os.readlink(f"/proc/self/fd/{fd}")
        if os.path.basename(path).startswith(".kubeguard-restore-"):
            stat = os.stat(path)
            seen.append((path, stat.st_mode & 0o777, os.path.getsize(path)))
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(write_policy.os, "fdopen", probe)
    umask = os.umask(0o022)
    try:
        backup_sets.apply_restore(backup_sets.plan_restore(root, "run1"))
    finally:
        os.umask(umask)
    assert seen and all(mode == 0o600 and size == 0 for _path, mode, size in seen), seen
    assert open(key, encoding="utf-8").read() == "PRIVATE KEY one\n"
    assert os.stat(key).st_mode & 0o777 == 0o600


# --- nothing written outside our files ------------------------------------------------------------

def test_a_symlink_planted_at_a_target_is_never_written_through(node):
    tmp, root, _config = node
    target = str(tmp / "etc" / "kubelet.conf")
    victim = str(tmp / "victim")
    write(target, "old\n")
    write(victim, "do not touch\n", 0o644)
    fileops.backup_file(target, root, "run1")
    os.unlink(target)
    os.symlink(victim, target)
    with pytest.raises(write_policy.UnsafeTarget, match="symbolic link"):
        backup_sets.apply_restore(backup_sets.plan_restore(root, "run1"))
    with pytest.raises(write_policy.UnsafeTarget, match="symbolic link"):
        fileops.write_atomically(target, "new\n")
    assert open(victim, encoding="utf-8").read() == "do not touch\n"
    assert os.stat(victim).st_mode & 0o777 == 0o644


def test_a_file_planted_by_a_login_user_is_not_ours(node):
    tmp, _root, _config = node
    target = str(tmp / "etc" / "admission.yaml")
    write(target, "planted\n", 0o644)
    os.chown(target, 1000, 1000)
    with pytest.raises(write_policy.UnsafeTarget, match="login user"):
        fileops.write_atomically(target, "ours\n")
    assert open(target, encoding="utf-8").read() == "planted\n"


PATH_VARIABLES = sorted(name for name, kind in hv.PATH_KINDS.items() if kind != "read_only")


@pytest.mark.parametrize("variable", PATH_VARIABLES)
@pytest.mark.parametrize("path", ["/etc/passwd", "/etc/shadow", "/usr/share", "/bin/sh", "/boot/grub", "/root/.ssh",
                                  "/etc/sudoers.d/k", "/etc/cron.d/k", "/etc/ld.so.preload", "/etc", "/var/lib", "/var/log",
                                  "/usr/lib/systemd/system/x.service", "/proc/self/mem", "/dev/sda"])
def test_system_paths_are_refused_for_every_path_variable(variable, path):
    with pytest.raises(hv.HardeningVarsError) as err:
        hv.validate({variable: path})
    assert f"{variable}: {path!r}" in str(err.value)


def test_the_audit_log_and_policy_never_share_a_mounted_directory():
    with pytest.raises(hv.HardeningVarsError, match="read-only and read-write"):
        hv.validate({"audit_log_path": "/var/log/kube/audit.log", "audit_policy_file": "/var/log/kube/policy.yaml"})
    with pytest.raises(hv.HardeningVarsError, match="not where an audit policy goes"):
        hv.validate({"audit_policy_file": "/var/log/kube/policy.yaml"})


def test_the_guides_paths_and_usual_custom_ones_pass(seed_vars):
    hv.validate(seed_vars)
    hv.validate({"etcd_data_dir": "/data/etcd", "audit_log_path": "/var/log/kubernetes/audit/audit.log",
                 "audit_policy_file": "/etc/kubernetes/policies/audit.yaml", "kube_config_dir": "/etc/kubernetes"})


# --- nothing lost: keys ---------------------------------------------------------------------------

def test_rollback_of_the_run_that_enabled_encryption_keeps_the_key_and_the_flag(node, tmp_path):
    """The run created the config (recorded as created) and set the flag; the rewrite stored every Secret
    with key1. A restore keeps the file and the apiserver's --encryption-provider-config."""
    tmp, root, config = node
    manifest = str(tmp / "manifests" / "kube-apiserver.yaml")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kube-apiserver", "namespace": "kube-system"},
           "spec": {"containers": [{"name": "kube-apiserver", "command": ["kube-apiserver", "--profiling=true"],
                                    "volumeMounts": []}], "volumes": []}}
    write(manifest, yaml.safe_dump(pod), 0o600)
    fileops.backup_file(manifest, root, "run1")
    fileops.record_created(config, root, "run1")
    write(config, yaml.safe_dump(encryption(aescbc(KEY1), IDENTITY)))
    pod["spec"]["containers"][0]["command"] = ["kube-apiserver", "--profiling=false", f"--encryption-provider-config={config}"]
    write(manifest, yaml.safe_dump(pod), 0o600)

    plan = backup_sets.plan_restore(root, "run1")
    assert config not in plan["removes"] and [p for p, _why in plan["kept"]] == [config]
    backup_sets.apply_restore(plan)
    assert providers_of(config) == [aescbc(KEY1), IDENTITY]
    restored = yaml.safe_load(open(manifest, encoding="utf-8"))
    command = restored["spec"]["containers"][0]["command"]
    assert "--profiling=true" in command and f"--encryption-provider-config={config}" in command
    mounts = restored["spec"]["containers"][0]["volumeMounts"]
    assert any(m["mountPath"] == os.path.dirname(config) for m in mounts)

    # merge: plain text writes again (identity first), key1 still reads every Secret stored with it
    backup_sets.apply_restore(backup_sets.plan_restore(root, "run1", encryption="merge"))
    assert providers_of(config) == [IDENTITY, aescbc(KEY1)]


def test_rollback_after_a_full_rotation_never_rewinds_to_the_old_key_alone(node):
    tmp, root, config = node
    write(config, yaml.safe_dump(encryption(aescbc(KEY1), IDENTITY)))
    fileops.backup_file(config, root, "rotate-stage")
    write(config, yaml.safe_dump(encryption(aescbc(KEY2), IDENTITY)))   # after promote, rewrite, retire
    before = open(config, encoding="utf-8").read()
    backup_sets.apply_restore(backup_sets.plan_restore(root, "rotate-stage"))
    assert open(config, encoding="utf-8").read() == before
    backup_sets.apply_restore(backup_sets.plan_restore(root, "rotate-stage", encryption="merge"))
    assert providers_of(config) == [aescbc(KEY1, KEY2), IDENTITY]


def test_a_key_name_with_two_secrets_keeps_the_current_config(node):
    tmp, root, config = node
    write(config, yaml.safe_dump(encryption(aescbc(KEY1), IDENTITY)))
    fileops.backup_file(config, root, "run1")
    other = ("key1", KEY2[1])
    write(config, yaml.safe_dump(encryption(aescbc(other), IDENTITY)))
    plan = backup_sets.plan_restore(root, "run1", encryption="merge")
    assert not plan["writes"] and "another secret" in plan["kept"][0][1]


def test_merge_keeps_keys_of_resources_the_backup_did_not_encrypt():
    current = {"kind": "EncryptionConfiguration", "resources": [
        {"resources": ["secrets"], "providers": [aescbc(KEY2), IDENTITY]},
        {"resources": ["configmaps"], "providers": [aescbc(KEY2), IDENTITY]}]}
    merged = merge_for_restore(current, encryption(aescbc(KEY1), IDENTITY))
    groups = {tuple(g["resources"]): g["providers"] for g in merged["resources"]}
    assert groups[("secrets",)] == [aescbc(KEY1, KEY2), IDENTITY]
    assert groups[("configmaps",)] == [IDENTITY, aescbc(KEY2)]


def test_retired_keys_are_wiped_from_every_backup_set(node):
    tmp, root, config = node
    write(config, yaml.safe_dump(encryption(aescbc(KEY1), IDENTITY)))
    fileops.backup_file(config, root, "run1")
    write(config, yaml.safe_dump(encryption(aescbc(KEY2, KEY1), IDENTITY)))
    fileops.backup_file(config, root, "rotate-retire")
    write(config, yaml.safe_dump(encryption(aescbc(KEY2), IDENTITY)))
    assert backup_sets.forget_retired_keys(root, config) == ["rotate-retire", "run1"]
    for name in ("run1", "rotate-retire"):
        copy = os.path.join(root, name, config.lstrip("/"))
        text = open(copy, encoding="utf-8").read()
        assert KEY1[1] not in text and os.stat(copy).st_mode & 0o077 == 0
    assert providers_of(os.path.join(root, "rotate-retire", config.lstrip("/"))) == [aescbc(KEY2), IDENTITY]
    assert providers_of(os.path.join(root, "run1", config.lstrip("/"))) == [IDENTITY]
    assert backup_sets.forget_retired_keys(root, config) == []


def test_a_manifest_naming_another_config_is_restored_as_it_was(node):
    """A failed run pointed the apiserver at a broken config: the restore puts the old flag back, it does not
    carry the broken one over."""
    tmp, root, config = node
    write(config, yaml.safe_dump(encryption(aescbc(KEY1), IDENTITY)))
    broken = str(tmp / "pki" / "broken.yaml")
    write(broken, "kind: EncryptionConfiguration\nresources: [secrets\n")
    manifest = str(tmp / "manifests" / "kube-apiserver.yaml")

    def pod(path):
        return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kube-apiserver"},
                               "spec": {"containers": [{"name": "kube-apiserver",
                                                        "command": ["kube-apiserver", f"--encryption-provider-config={path}"]}]}})
    write(manifest, pod(config))
    fileops.backup_file(manifest, root, "run1")
    write(manifest, pod(broken))
    backup_sets.apply_restore(backup_sets.plan_restore(root, "run1", encryption="merge"))
    assert open(manifest, encoding="utf-8").read() == pod(config)


def test_a_config_file_path_naming_someone_elses_file_is_refused_before_any_write(tmp_path):
    """The audit policy goes where the variable says; a file there that is not an audit policy (a passwd-like
    file, another kind of config) is not ours: refused at plan time, untouched."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import multifile
    policy = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"
    target = tmp_path / "policy.yaml"
    target.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(ValueError, match="not ours"):
        multifile.plan_file({"path": str(target), "content": policy})
    target.write_text("apiVersion: v1\nkind: Config\n")
    with pytest.raises(ValueError, match="holds a Config"):
        multifile.apply_files([{"path": str(target), "content": policy}], False, False, "", "x")
    assert target.read_text() == "apiVersion: v1\nkind: Config\n"
    target.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n")
    assert "~ content (rules)" in multifile.plan_file({"path": str(target), "content": policy})["changes"]
    target.write_text("x: 1\n")   # a damaged file of ours (no kind) is repaired
    assert "~ content (apiVersion, kind, rules, 1 key(s) only in the file on the node)" in multifile.plan_file(
        {"path": str(target), "content": policy})["changes"]
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    with pytest.raises(write_policy.UnsafeTarget, match="symbolic link"):
        multifile.plan_file({"path": str(link), "content": policy})


@pytest.mark.parametrize("now_resources", [["secrets", "configmaps"], ["*.*"], ["configmaps", "secrets"]])
def test_merge_keeps_every_current_key_in_every_group_whatever_the_groups_were(now_resources):
    """The apiserver reads a resource with the first group naming it: each group of the result can read every key
    the node has now, even when the groups changed between the run and now (found by review)."""
    current = {"kind": "EncryptionConfiguration", "resources": [{"resources": now_resources, "providers": [aescbc(KEY2, KEY1), IDENTITY]}]}
    for restored in (encryption(aescbc(KEY1), IDENTITY), encryption(IDENTITY), None):
        merged = merge_for_restore(current, restored)
        for group in merged["resources"]:
            keys = {k["name"] for p in group["providers"] for k in (p.get("aescbc") or {}).get("keys", [])}
            assert keys == {"key1", "key2"}, (restored, merged)
        named = [name for group in merged["resources"] for name in group["resources"]]
        assert set(now_resources) <= set(named)


def odd_config(providers):
    return {"kind": "EncryptionConfiguration", "resources": [{"resources": ["secrets"], "providers": providers}]}


@pytest.mark.parametrize("odd", [odd_config(["identity"]), odd_config([None]), odd_config([{"aescbc": {"keys": ["k"]}}]),
                                 {"kind": "EncryptionConfiguration", "resources": "secrets"}])
def test_odd_encryption_configs_are_kept_never_a_traceback(node, odd):
    from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.key_rotation import RotationError, without_retired_keys
    with pytest.raises(RotationError, match="kept"):
        merge_for_restore(odd, encryption(aescbc(KEY1)))
    with pytest.raises(RotationError, match="kept"):
        merge_for_restore(encryption(aescbc(KEY1)), odd)
    assert without_retired_keys(odd, encryption(aescbc(KEY1))) is None
    tmp, root, config = node
    write(config, yaml.safe_dump(encryption(aescbc(KEY1), IDENTITY)))
    fileops.backup_file(config, root, "run1")
    write(config, yaml.safe_dump(odd))
    plan = backup_sets.plan_restore(root, "run1", encryption="merge")
    assert not plan["writes"] and "kept" in plan["kept"][0][1]


@pytest.mark.parametrize("variable, path", [("etcd_data_dir", "/tmp/etcd"), ("etcd_data_dir", "/home/alice/etcd"),
                                            ("etcd_data_dir", "/var/tmp/etcd"), ("audit_log_path", "/var/log/../../tmp/x.log"),
                                            ("audit_policy_file", "/etc/kubernetes/pki/secrets_encryption.yaml"),
                                            ("audit_policy_file", "/etc/kubernetes/manifests/kube-apiserver.yaml"),
                                            ("audit_policy_file", "/etc/kubernetes/admin.conf"),
                                            ("sysctl_file", "/etc/sysctl.conf"), ("sysctl_file", "/etc/sysctl.d/90-kubelet"),
                                            ("etcd_env_file", "/etc/subuid"), ("kubelet_firewall_dropin", "/etc/systemd/system.conf"),
                                            ("node_audit_rules_file", "/etc/audit/auditd.conf"),
                                            ("kubeguard_reencrypt_marker", "/var/lib/kubeguard"),
                                            ("kubeguard_reencrypt_marker", "/etc/kubernetes/pki"),
                                            ("kubeguard_backup_set", ".hidden")])
def test_places_others_write_or_the_control_plane_owns_are_refused(variable, path, monkeypatch):
    """Found by review: each was accepted before. (/tmp as the host sees it: the test tree's exemption is undone.)"""
    monkeypatch.setattr(write_policy, "SHARED_WRITABLE", ("/tmp", "/var/tmp", "/home", "/dev/shm", "/run/user"))
    with pytest.raises(hv.HardeningVarsError, match=variable):
        hv.validate({variable: path})


def test_a_k3s_config_put_back_keeps_secrets_encryption_on(node):
    """Found by review: restoring k3s' config.yaml from before the run turned secrets-encryption on would start k3s
    without it - every Secret it rewrote unreadable. The rest of the file comes back as it was."""
    tmp, root, _config = node
    config = str(tmp / "rancher" / "config.yaml")
    write(config, "token: K10abc\nkube-apiserver-arg:\n- profiling=true\n")
    fileops.backup_file(config, root, "run1")
    write(config, "token: K10abc\nkube-apiserver-arg:\n- profiling=false\nsecrets-encryption: true\n"
                  "secrets-encryption-provider: secretbox\n")
    for mode in ("keep", "merge"):
        backup_sets.apply_restore(backup_sets.plan_restore(root, "run1", encryption=mode))
        restored = yaml.safe_load(open(config, encoding="utf-8"))
        assert restored["kube-apiserver-arg"] == ["profiling=true"] and restored["token"] == "K10abc"
        assert restored["secrets-encryption"] is True and restored["secrets-encryption-provider"] == "secretbox"


def test_the_run_to_roll_back_is_the_newest_run_whatever_the_nodes_clocks_say():
    """Found by review: by directory time a node whose clock runs ahead picked an older run for every node. Run ids
    carry the controller's time; a rotation's steps order stage < promote < retire; named sets by when written."""
    node1 = {"files": [{"path": "/b/20261101T100000Z", "mtime": 9_999_999_999}]}     # clock far ahead
    node2 = {"files": [{"path": "/b/20261101T100000Z", "mtime": 1_793_527_200},
                       {"path": "/b/20261102T100000Z", "mtime": 1_793_613_600}]}
    assert backup_sets.newest_run([node1, node2]) == "20261102T100000Z"
    rotation = {"files": [{"path": f"/b/20261103T080000Z-{step}", "mtime": 0} for step in ("retire", "stage", "promote")]}
    assert backup_sets.newest_run([node2, rotation]) == "20261103T080000Z-retire"
    named = {"files": [{"path": "/b/before-upgrade", "mtime": 1_793_692_800 + 3600}]}   # an hour after the rotation
    assert backup_sets.newest_run([node2, rotation, named]) == "before-upgrade"
    assert backup_sets.newest_run([{"files": []}, {}]) is None
    assert backup_sets.newest_run([{"files": [{"path": "/b/.hidden", "mtime": 5}]}]) is None


def test_a_merged_encryption_config_restarts_the_apiserver_that_reads_it(node):
    """kube-apiserver reads its encryption config when it starts: a restore that rewrites the config while the
    manifest is already as in the set still restarts it (an annotation with the config's hash)."""
    tmp, root, config = node
    manifest = str(tmp / "manifests" / "kube-apiserver.yaml")
    pod = yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kube-apiserver"},
                          "spec": {"containers": [{"name": "kube-apiserver",
                                                   "command": ["kube-apiserver", f"--encryption-provider-config={config}"]}]}})
    write(manifest, pod)
    write(config, yaml.safe_dump(encryption(aescbc(KEY1), IDENTITY)))
    fileops.backup_file(manifest, root, "run1")
    fileops.backup_file(config, root, "run1")
    write(config, yaml.safe_dump(encryption(aescbc(KEY2, KEY1), IDENTITY)))
    plan = backup_sets.plan_restore(root, "run1", encryption="merge")
    assert sorted(w[0] for w in plan["writes"]) == sorted([config, manifest])
    backup_sets.apply_restore(plan)
    annotations = yaml.safe_load(open(manifest, encoding="utf-8"))["metadata"]["annotations"]
    assert len(annotations[backup_sets.RESTORED_ANNOTATION]) == 16
    # restored: a second rollback restarts nothing (the annotation is ours, the manifest is the set's)
    assert backup_sets.plan_restore(root, "run1", encryption="merge")["writes"] == []
    assert backup_sets.plan_restore(root, "run1")["writes"] == []


def test_a_changed_config_names_the_keys_that_change_never_their_values(tmp_path):
    """What a run says it would change in a YAML config: the keys (after a minor upgrade, the Pod Security default
    versions), never a value - an encryption config's secret is one of them."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import multifile
    target = tmp_path / "podsecurity.yaml"
    target.write_text("defaults:\n  enforce: restricted\n  enforce-version: v1.34\n  warn-version: v1.34\n")
    changes = multifile.plan_file({"path": str(target), "mode": "0600",
                                   "content": "defaults:\n  enforce: restricted\n  enforce-version: v1.35\n  warn-version: v1.35\n"})["changes"]
    assert changes[0] == "~ content (defaults.enforce-version, defaults.warn-version)"
    target.write_text("resources:\n- providers:\n  - aescbc:\n      keys:\n      - name: k1\n        secret: c2VjcmV0LW9uZQ==\n")
    target.chmod(0o600)
    rotated = "resources:\n- providers:\n  - aescbc:\n      keys:\n      - name: k2\n        secret: c2VjcmV0LXR3bw==\n"
    changes = multifile.plan_file({"path": str(target), "mode": "0600", "content": rotated})["changes"]
    assert changes == ["~ content (resources)"] and "c2Vj" not in repr(changes)
    # not a mapping, names past the limit, odd names from a planted file
    target.write_text("- a\n")
    assert multifile.plan_file({"path": str(target), "mode": "0600", "content": "a: 1\n"})["changes"] == ["~ content"]
    # names the node's file alone has are counted, never shown: a planted key can hold a secret or mimic the list
    target.write_text("defaults:\n  c2VjcmV0LXRva2Vu: 1\n  ? !!binary c2VjcmV0\n  : 2\n  'x), mode: 0644 -> 0600, (y': 3\n")
    said = multifile.plan_file({"path": str(target), "mode": "0600", "content": "defaults:\n  enforce: restricted\n"})["changes"][0]
    assert said == "~ content (defaults.enforce, 3 key(s) only in the file on the node)"
    ours = "".join(f"k{i}: {i}\n" for i in range(9))
    target.write_text("".join(f"k{i}: x\n" for i in range(9)))
    assert multifile.plan_file({"path": str(target), "mode": "0600", "content": ours})["changes"][0] == (
        "~ content (k0, k1, k2, k3, k4, k5, more)")


def test_yaml_nested_past_any_config_is_refused_as_malformed_not_a_crash(tmp_path):
    """libyaml's loader dies (SIGSEGV) on some 30000 nested brackets: a planted file must read as not YAML."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.base import yaml_support
    from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import multifile
    with pytest.raises(yaml.YAMLError, match="nested deeper than 100"):
        yaml_support.safe_load("a: " + "[" * 40000 + "]" * 40000)
    assert yaml_support.safe_load("a: " + "[" * 50 + "]" * 50 + "\nb: '{{{'\n")["b"] == "{{{"
    target = tmp_path / "policy.yaml"
    target.write_text("rules: " + "{a: " * 40000 + "1" + "}" * 40000 + "\n")
    with pytest.raises(ValueError, match="holds something that is not a Policy"):
        multifile.plan_file({"path": str(target), "content": "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n"})
