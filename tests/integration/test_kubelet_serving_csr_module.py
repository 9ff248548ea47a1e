"""The kubelet_serving_csr module through Ansible, against a kubectl that answers with fixed objects:
the node is its requester name, the inventory vouches for its addresses, and a node that registered the
API server's service IP and name gets nothing."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from test_modules_playbook import ansible_bin

pytestmark = pytest.mark.skipif(ansible_bin("ansible") is None, reason="ansible-core not installed")


def csr(name, node, dns, ips):
    from test_serving_csr import make_csr
    pem = make_csr(cn=f"system:node:{node}", dns=dns, ips=ips)
    return {"metadata": {"name": name}, "status": {}, "spec": {
        "request": base64.b64encode(pem.encode()).decode(), "signerName": "kubernetes.io/kubelet-serving",
        "username": f"system:node:{node}", "groups": ["system:nodes", "system:authenticated"],
        "usages": ["digital signature", "server auth"]}}


NODES = {"items": [
    {"metadata": {"name": "cp1"}, "status": {"addresses": [
        {"type": "InternalIP", "address": "10.89.0.5"}, {"type": "Hostname", "address": "cp1"}]}},
    {"metadata": {"name": "evil"}, "status": {"addresses": [
        {"type": "InternalIP", "address": "10.89.0.5"}, {"type": "InternalIP", "address": "10.96.0.1"},
        {"type": "InternalIP", "address": "10.89.0.9"}, {"type": "Hostname", "address": "kubernetes.default.svc"}]}},
]}
SERVICES = {"items": [{"metadata": {"name": "kubernetes"}, "spec": {"clusterIP": "10.96.0.1"}}]}


def run_module(tmp_path, check=False, **args):
    from conftest import _collection_root
    csrs = {"items": [csr("csr-cp1", "cp1", ("cp1",), ("10.89.0.5",)),
                      csr("csr-evil", "evil", ("evil", "kubernetes.default.svc"), ("10.89.0.9", "10.96.0.1"))]}
    for name, data in (("nodes", NODES), ("services", SERVICES), ("csr", csrs)):
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text(
        "#!/bin/sh\n"
        f"case \"$3\" in get) cat {tmp_path}/$4.json;; certificate) echo \"$@\" >> {tmp_path}/approved.log;; esac\n")
    os.chmod(bin_dir / "kubectl", 0o755)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collection_root(), PATH=f"{bin_dir}:{os.environ['PATH']}",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    module_args = json.dumps(dict({"kubeconfig": "/nonexistent/admin.conf",
                                   "inventory_hosts": {"cp1": ["10.89.0.5"], "evil": ["10.89.0.9"]}}, **args))
    proc = subprocess.run([ansible_bin("ansible"), "localhost", "-c", "local", "-i", "localhost,",
                           "-m", "kubeguard.hardening.kubelet_serving_csr", "-a", module_args] + (["--check"] if check else []),
                          env=env, capture_output=True, text=True, check=False)
    log = json.loads(proc.stdout)
    approved = (tmp_path / "approved.log").read_text() if (tmp_path / "approved.log").exists() else ""
    return log["plays"][0]["tasks"][0]["hosts"]["localhost"], approved


def test_an_inventory_nodes_own_request_is_approved(tmp_path):
    result, approved = run_module(tmp_path, node_name="cp1")
    assert result["changed"] and result["approved"] == ["csr-cp1"] and result["refused"] == []
    assert "certificate approve csr-cp1" in approved


def test_a_node_asking_for_the_apiservers_names_is_refused_with_the_reason(tmp_path):
    result, approved = run_module(tmp_path, node_name="evil")
    assert not result["changed"] and result["approved"] == [] and approved == ""
    assert result["refused"][0]["name"] == "csr-evil"
    reason = result["refused"][0]["reason"]
    assert "10.96.0.1 (inside the service CIDR 10.96.0.0/12)" in reason and "kubernetes.default.svc (" in reason


def test_a_node_that_is_not_an_inventory_host_is_not_approved(tmp_path):
    result, approved = run_module(tmp_path, node_name="cp1", inventory_hosts={"worker9": ["10.89.0.7"]})
    assert result["approved"] == [] and approved == ""
    assert "not an inventory host" in result["refused"][0]["reason"] and "not an inventory host" in result["msg"]


def test_check_mode_approves_nothing(tmp_path):
    result, approved = run_module(tmp_path, check=True, node_name="cp1")
    assert result["approved"] == ["csr-cp1"] and approved == ""
