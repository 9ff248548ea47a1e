"""The cluster_policy and cluster_restore modules through Ansible, against a kubectl whose cluster is a
JSON file (fake_kubectl.py): plan, --check, apply, a second run, the health gate, and the restore."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from test_modules_playbook import ansible_bin

pytestmark = pytest.mark.skipif(ansible_bin("ansible") is None, reason="ansible-core not installed")
HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount"


def pod(namespace, name, spec, restarts=0):
    return {"kind": "Pod", "metadata": {"namespace": namespace, "name": name, "uid": f"{namespace}-{name}"}, "spec": spec,
            "status": {"phase": "Running", "containerStatuses": [{"name": "c", "restartCount": restarts}]}}


RESTRICTED = {"containers": [{"name": "c", "image": "x", "securityContext": {
    "runAsNonRoot": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"}}}]}
CLUSTER = [
    {"kind": "Namespace", "metadata": {"name": "shop", "labels": {"kubernetes.io/metadata.name": "shop"}}},
    {"kind": "Namespace", "metadata": {"name": "agents", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
    {"kind": "Namespace", "metadata": {"name": "kube-system"}},
    {"kind": "Node", "metadata": {"name": "cp1"}, "status": {"addresses": [{"type": "InternalIP", "address": "10.89.0.2"}]}},
    pod("shop", "web", RESTRICTED),
    pod("agents", "agent", {"hostNetwork": True, "containers": [{"name": "c", "image": "x",
                                                                 "volumeMounts": [{"name": "t", "mountPath": TOKEN}]}]}),
    {"kind": "ServiceAccount", "metadata": {"namespace": "shop", "name": "default"}},
    {"kind": "ServiceAccount", "metadata": {"namespace": "agents", "name": "default"}},
]
ARGS = {"pod_security_labels": "enforce", "version": "v1.34", "exempt_namespaces": ["kube-system"],
        "network_policies": True, "network_policy_exempt_namespaces": ["kube-system"],
        "metadata_addresses": ["169.254.169.254/32"], "nodelocaldns_ip": "169.254.25.10",
        "default_service_account_automount": False, "settle_seconds": 0}


def run(tmp_path, module, check=False, env_extra=None, **args):
    from conftest import _collection_root
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "kubectl").write_text(f"#!/bin/sh\nexec {sys.executable} {HERE}/fake_kubectl.py \"$@\"\n")
    os.chmod(bin_dir / "kubectl", 0o755)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collection_root(), PATH=f"{bin_dir}:{os.environ['PATH']}",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", FAKE_CLUSTER=str(tmp_path / "cluster.json"), **(env_extra or {}))
    module_args = json.dumps(dict({"kubeconfig": "/nonexistent/admin.conf"}, **args))
    command = [ansible_bin("ansible"), "localhost", "-c", "local", "-i", "localhost,", "-m",
               f"kubeguard.hardening.{module}", "-a", module_args] + (["--check", "--diff"] if check else [])
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def cluster(tmp_path):
    return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
            for o in json.loads((tmp_path / "cluster.json").read_text())}


@pytest.fixture
def fake(tmp_path):
    (tmp_path / "cluster.json").write_text(json.dumps(CLUSTER))
    return tmp_path


def test_check_mode_shows_every_change_and_writes_nothing(fake):
    result = run(fake, "cluster_policy", check=True, backup_root=str(fake / "backups"), **ARGS)
    assert result["changed"] is True and not result.get("failed")
    objects = [c["object"] for c in result["changes"]]
    assert "Namespace/shop" in objects and "ServiceAccount/shop/default" in objects
    assert "NetworkPolicy/shop/kubeguard-default-deny-ingress" in objects
    # the namespace already enforcing more than what runs keeps it; the SA whose token is used keeps it
    assert "agents: keeps enforce restricted, stricter than what runs (privileged)" in result["notes"]
    assert any(n.startswith("agents: default ServiceAccount keeps its token - used by Pod/agent") for n in result["notes"])
    assert "ServiceAccount/agents/default" not in objects
    assert any('"pod-security.kubernetes.io/enforce": "restricted"' in d["after"] for d in result["diff"])
    assert json.loads((fake / "cluster.json").read_text()) == CLUSTER
    assert not (fake / "cluster.json.log").exists() and not (fake / "backups").exists()


def test_apply_saves_first_then_a_second_run_changes_nothing_and_restore_puts_it_back(fake):
    first = run(fake, "cluster_policy", backup_root=str(fake / "backups"), backup_set="s1", **ARGS)
    assert first["changed"] is True and not first.get("failed"), first.get("msg")
    state = cluster(fake)
    shop = state[("Namespace", None, "shop")]["metadata"]["labels"]
    assert shop["pod-security.kubernetes.io/enforce"] == "restricted"
    assert shop["pod-security.kubernetes.io/enforce-version"] == "v1.34"
    deny = state[("NetworkPolicy", "shop", "kubeguard-default-deny-ingress")]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    egress = state[("NetworkPolicy", "shop", "kubeguard-egress")]["spec"]["egress"]
    assert {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}} in egress[1]["to"]
    assert egress[-1]["to"] == [{"ipBlock": {"cidr": "169.254.25.10/32"}}]
    allow = state[("NetworkPolicy", "shop", "kubeguard-allow-ingress")]["spec"]["ingress"][0]["from"]
    assert {"ipBlock": {"cidr": "10.89.0.2/32"}} in allow
    assert state[("ServiceAccount", "shop", "default")]["automountServiceAccountToken"] is False
    assert "automountServiceAccountToken" not in state[("ServiceAccount", "agents", "default")]
    assert ("NetworkPolicy", "kube-system", "kubeguard-default-deny-ingress") not in state
    saved = sorted(os.listdir(fake / "backups" / "s1" / ".cluster-objects"))
    assert "shop.namespace.shop.json" in saved and "shop.networkpolicy.kubeguard-egress.json" in saved
    assert oct(os.stat(fake / "backups" / "s1" / ".cluster-objects" / "shop.namespace.shop.json").st_mode & 0o777) == "0o600"

    second = run(fake, "cluster_policy", backup_root=str(fake / "backups"), backup_set="s2", **ARGS)
    assert second["changed"] is False and second["changes"] == []

    restored = run(fake, "cluster_restore", directory=str(fake / "backups" / "s1" / ".cluster-objects"))
    assert restored["changed"] is True and "delete NetworkPolicy/shop/kubeguard-egress" in restored["restored"]
    assert restored["not_restored"] == []
    assert without_server_fields(cluster(fake)) == without_server_fields(
        {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in CLUSTER})


def without_server_fields(objects):
    stripped = {}
    for name, obj in objects.items():
        obj = json.loads(json.dumps(obj))
        for field in ("uid", "resourceVersion"):
            obj["metadata"].pop(field, None)
        obj.pop("fake-applied-labels", None)
        stripped[name] = obj
    return stripped


def test_restore_leaves_an_object_changed_since_the_run_unless_forced_by_name(fake):
    """Someone labelled the namespace after the run: the rollback lists it and leaves it (their change
    would be lost), puts back the rest; naming it forces it."""
    first = run(fake, "cluster_policy", backup_root=str(fake / "backups"), backup_set="s1", **ARGS)
    assert first["changed"] is True, first.get("msg")
    objects = json.loads((fake / "cluster.json").read_text())
    namespace = next(o for o in objects if o["kind"] == "Namespace" and o["metadata"]["name"] == "shop")
    namespace["metadata"]["labels"]["team"] = "payments"
    namespace["metadata"]["resourceVersion"] = "999"
    (fake / "cluster.json").write_text(json.dumps(objects))
    directory = str(fake / "backups" / "s1" / ".cluster-objects")
    restored = run(fake, "cluster_restore", directory=directory)
    assert [s.split(":")[0] for s in restored["not_restored"]] == ["Namespace/shop"]
    assert "changed since the run" in restored["not_restored"][0]
    assert "delete NetworkPolicy/shop/kubeguard-egress" in restored["restored"]
    assert cluster(fake)[("Namespace", None, "shop")]["metadata"]["labels"]["team"] == "payments"
    forced = run(fake, "cluster_restore", directory=directory, force=["Namespace/shop"])
    assert forced["restored"] == ["replace Namespace/shop"]
    assert "team" not in cluster(fake)[("Namespace", None, "shop")]["metadata"].get("labels", {})


def test_pods_that_restart_after_the_change_put_the_namespace_back_and_fail(fake):
    result = run(fake, "cluster_policy", env_extra={"FAKE_RESTART_ON_APPLY": "shop"},
                 backup_root=str(fake / "backups"), backup_set="s1", **ARGS)
    assert result["failed"] is True
    assert "namespace agents" not in result["msg"] and "shop/web restarted (0 -> " in result["msg"]
    state = cluster(fake)
    assert "pod-security.kubernetes.io/enforce" not in state[("Namespace", None, "shop")]["metadata"]["labels"]
    assert ("NetworkPolicy", "shop", "kubeguard-default-deny-ingress") not in state
    assert "automountServiceAccountToken" not in state[("ServiceAccount", "shop", "default")]
    # agents (applied before shop, alphabetically) stays hardened: it was healthy
    assert ("NetworkPolicy", "agents", "kubeguard-default-deny-ingress") in state


def test_an_api_that_does_not_answer_changes_nothing_and_says_so(tmp_path):
    (tmp_path / "cluster.json").write_text("not json")
    result = run(tmp_path, "cluster_policy", **ARGS)
    assert result["changed"] is False and "skipped_reason" in result


def test_soak_then_enforce_keeps_the_soak_labels_and_settles(fake):
    soak = {**ARGS, "pod_security_labels": "soak"}
    assert run(fake, "cluster_policy", backup_root=str(fake / "backups"), backup_set="s1", **soak)["changed"] is True
    assert run(fake, "cluster_policy", backup_root=str(fake / "backups"), backup_set="s2", **ARGS)["changed"] is True
    labels = cluster(fake)[("Namespace", None, "shop")]["metadata"]["labels"]
    # the second apply names only what it changes; server-side apply would drop the rest it owned
    assert {k: v for k, v in labels.items() if k.startswith("pod-security")} == {
        f"pod-security.kubernetes.io/{mode}{suffix}": ("v1.34" if suffix else "restricted")
        for mode in ("enforce", "audit", "warn") for suffix in ("", "-version")}
    assert run(fake, "cluster_policy", backup_root=str(fake / "backups"), backup_set="s3", **ARGS)["changed"] is False


def test_the_labels_pin_the_servers_release_and_say_so(fake):
    """Issue 23: the version labels follow what the apiserver runs (/version), not an assumed v1.34; a later
    requested version is pinned at the server's release, and the lowest control plane's bounds it during an upgrade."""
    args = {**ARGS, "version": "latest"}
    result = run(fake, "cluster_policy", check=True, env_extra={"FAKE_SERVER_VERSION": "v1.31.4"}, **args)
    assert result["version"] == "v1.31" and not result.get("failed"), result.get("msg")
    assert result["notes"][0] == "Pod Security judged and pinned at policy v1.31 (the server's release: kube-apiserver v1.31.4 answers /version)"
    assert any('"pod-security.kubernetes.io/audit-version": "v1.31"' in d["after"] for d in result["diff"])
    later = run(fake, "cluster_policy", check=True, env_extra={"FAKE_SERVER_VERSION": "v1.35.0"},
                **{**args, "version": "v1.34", "cluster_version": "v1.33.5"})
    assert later["version"] == "v1.33" and "the lowest control plane's release, v1.33.5" in later["version_source"]
