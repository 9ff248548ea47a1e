"""The modules driven by ansible-playbook on copies of kubeadm-generated files: flags land, a second
run changes nothing, --check writes nothing, --diff shows the changed flags, backups are taken."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO, "tests", "fixtures", "kubeadm")
SEED = os.path.join(REPO, "tests", "data", "seed-hardening.yaml")


def ansible_bin(name):
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else shutil.which(name)


pytestmark = pytest.mark.skipif(ansible_bin("ansible-playbook") is None, reason="ansible-core not installed")


@pytest.fixture
def node_root(tmp_path):
    root = tmp_path / "node"
    shutil.copytree(os.path.join(FIXTURES, "etc-kubernetes"), root / "etc" / "kubernetes")
    shutil.copytree(os.path.join(FIXTURES, "var-lib-kubelet"), root / "var" / "lib" / "kubelet")
    return root


def tree_hashes(root):
    result = {}
    for dirpath, _ignored, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                result[os.path.relpath(path, root)] = (hashlib.sha256(handle.read()).hexdigest(), os.stat(path).st_mode)
    return result


def desired_settings(hardening):
    """What apply_fixture.yml writes, from module_utils: flags per component, the apiserver's host paths and
    the kubelet's fields. {} for variables that do not validate (the playbook's kubeguard_validate fails first)."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars
    from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired
    try:
        values = hardening_vars.validate(copy.deepcopy(hardening))
    except hardening_vars.HardeningVarsError:
        return {}
    layout = catalogue.layout_for("kubeadm")
    return {"flags": {component: desired.component_flags(values, layout, component)
                      for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")},
            "host_paths": desired.apiserver_host_paths(values, layout),
            "kubelet_fields": desired.kubelet_fields(values, layout)}


def run_playbook(node_root, *extra, hardening=None):
    from conftest import _collection_root  # the tests' collection path (repo symlinked as the collection)
    vars_file = node_root.parent / "hardening.json"
    with open(SEED, encoding="utf-8") as handle:
        seed = yaml.safe_load(handle)
    hardening = hardening if hardening is not None else seed
    vars_file.write_text(json.dumps({"hardening": hardening, "settings": desired_settings(hardening), "root": str(node_root)}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collection_root(), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([ansible_bin("ansible-playbook"), "-i", "localhost,", "-c", "local",
                           os.path.join(HERE, "apply_fixture.yml"), "-e", f"@{vars_file}", *extra],
                          env=env, capture_output=True, text=True, check=False)
    try:
        return proc.returncode, json.loads(proc.stdout), proc
    except json.JSONDecodeError:
        return proc.returncode, None, proc


def changed_count(result):
    return result["stats"]["localhost"]["changed"]


def task_results(result):
    return [host for play in result["plays"] for task in play["tasks"] for host in task["hosts"].values()]


def test_check_mode_writes_nothing_and_diff_shows_flags(node_root):
    before = tree_hashes(node_root)
    rc, result, proc = run_playbook(node_root, "--check", "--diff")
    assert rc == 0, proc.stdout + proc.stderr
    assert changed_count(result) == 2
    assert tree_hashes(node_root) == before
    assert not (node_root / "backups").exists()
    items = [i for r in task_results(result) for i in r.get("results", [r])]
    diffs = json.dumps([i.get("diff") for i in items])
    assert "--profiling=false" in diffs and "--encryption-provider-config=" in diffs
    assert "protectKernelDefaults: true" in diffs
    apiserver = next(i for i in items if i.get("item") == "kube-apiserver")
    assert "+ --audit-log-maxage=30" in apiserver["changes"]


def test_apply_then_second_run_changes_nothing(node_root):
    rc, result, proc = run_playbook(node_root)
    assert rc == 0, proc.stdout + proc.stderr
    assert changed_count(result) == 2
    with open(node_root / "etc/kubernetes/manifests/kube-apiserver.yaml", encoding="utf-8") as handle:
        command = yaml.safe_load(handle)["spec"]["containers"][0]["command"]
    assert "--profiling=false" in command and "--request-timeout=120s" in command
    assert oct(os.stat(node_root / "etc/kubernetes/manifests/etcd.yaml").st_mode & 0o777) == "0o600"
    with open(node_root / "var/lib/kubelet/config.yaml", encoding="utf-8") as handle:
        kubelet = yaml.safe_load(handle)
    # readOnlyPort 0 is the kubelet's default: left out, as kubeadm writes it
    assert kubelet.get("readOnlyPort", 0) == 0 and kubelet["protectKernelDefaults"] is True
    # backups hold the files as kubeadm wrote them, outside the manifests directory
    backup = node_root / "backups" / "run1" / str(node_root).lstrip("/") / "etc/kubernetes/manifests/kube-apiserver.yaml"
    assert backup.read_bytes() == open(os.path.join(FIXTURES, "etc-kubernetes/manifests/kube-apiserver.yaml"), "rb").read()
    assert sorted(os.listdir(node_root / "etc/kubernetes/manifests")) == [
        "etcd.yaml", "kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml"]
    after_first = tree_hashes(node_root)
    rc, result, proc = run_playbook(node_root)
    assert rc == 0 and changed_count(result) == 0
    assert tree_hashes(node_root) == after_first


def test_bad_input_fails_naming_variable_and_writes_nothing(node_root):
    before = tree_hashes(node_root)
    rc, _ignored, proc = run_playbook(node_root, hardening={"kube_encryption_algorithm": "aes256", "audit_log_maxage": -1})
    assert rc != 0
    output = proc.stdout + proc.stderr
    assert "kube_encryption_algorithm: 'aes256' must be one of: secretbox, aescbc, aesgcm" in output
    assert "audit_log_maxage: -1" in output
    assert tree_hashes(node_root) == before
