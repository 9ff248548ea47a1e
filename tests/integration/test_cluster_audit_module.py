"""The cluster_audit module through Ansible, against a kubectl that answers with fixed objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from test_modules_playbook import ansible_bin

pytestmark = pytest.mark.skipif(ansible_bin("ansible") is None, reason="ansible-core not installed")

OBJECTS = {"items": [
    {"kind": "Namespace", "metadata": {"name": "shop", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
    {"kind": "Pod", "metadata": {"name": "agent", "namespace": "shop"}, "status": {"phase": "Running"},
     "spec": {"hostNetwork": True, "containers": [{"name": "agent", "image": "x"}]}},
]}


def run_module(tmp_path, kubectl_body, **args):
    from conftest import _collection_root
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text("#!/bin/sh\n" + kubectl_body)
    os.chmod(bin_dir / "kubectl", 0o755)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collection_root(), PATH=f"{bin_dir}:{os.environ['PATH']}",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    module_args = json.dumps(dict({"kubeconfig": "/nonexistent/admin.conf"}, **args))
    proc = subprocess.run([ansible_bin("ansible"), "localhost", "-c", "local", "-i", "localhost,",
                           "-m", "kubeguard.hardening.cluster_audit", "-a", module_args],
                          env=env, capture_output=True, text=True, check=False)
    log = json.loads(proc.stdout)
    return log["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_the_advice_and_cis_5_2_from_what_kubectl_returns(tmp_path):
    (tmp_path / "objects.json").write_text(json.dumps(OBJECTS))
    # kubectl auth can-i answers "no" with exit code 1, as the real one does
    body = (f"case \"$3\" in auth) case \"$6\" in pods) echo yes;; *) echo no; exit 1;; esac;; "
            f"*) cat {tmp_path / 'objects.json'};; esac\n")
    result = run_module(tmp_path, body, default_enforce="baseline")
    assert result["changed"] is False and "skipped_reason" not in result
    shop = result["namespaces"]["shop"]
    assert shop["level"] == "privileged" and shop["labels"]["enforce"] == "restricted" and shop["cluster_default"] == "baseline"
    assert shop["no_enforce"] == [] and shop["notes"] == []
    assert shop["finding"].startswith("enforces restricted, stricter than what runs")
    assert {r["id"]: r["check_passed"] for r in result["results"]}["5.2.5"] is False
    assert "| shop | privileged | restricted |" in result["markdown"]
    verdicts = {r["id"]: r for r in result["results"]}
    assert verdicts["5.1.2"]["check_passed"] is True and "may not get, list and watch secrets" in verdicts["5.1.2"]["found"]
    assert verdicts["5.1.4"]["check_passed"] is False and "may create pods" in verdicts["5.1.4"]["found"]
    assert verdicts["5.3.2"]["found"] == "namespaces without a NetworkPolicy: shop"
    assert [r["id"] for r in result["results"]][:3] == ["5.1.1", "5.1.2", "5.1.3"]


def test_an_api_that_does_not_answer_is_reported_not_fatal(tmp_path):
    result = run_module(tmp_path, "echo 'The connection to the server was refused' >&2; exit 1\n")
    assert not result.get("failed") and "connection to the server was refused" in result["skipped_reason"]
    (tmp_path / "old").mkdir()
    old = run_module(tmp_path / "old", "exit 0\n", version="v1.24")
    assert "older than v1.25" in old["skipped_reason"]


TUNED = {"items": [
    {"kind": "Namespace", "metadata": {"name": "shop"}},
    {"kind": "Pod", "metadata": {"name": "tuned", "namespace": "shop"}, "status": {"phase": "Running"},
     "spec": {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
                                  "sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}]},
              "containers": [{"name": "c", "image": "x", "securityContext": {
                  "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}},
]}


@pytest.mark.parametrize("server, level", [("v1.31.4", "privileged"), ("v1.34.4", "restricted")])
def test_pod_security_is_judged_at_the_servers_release_and_says_which(tmp_path, server, level):
    """Issue 23: a v1.31 apiserver refuses a net.ipv4.tcp_rmem pod even at baseline (the sysctl is safe from v1.32);
    the audit judges at what /version answers, whatever version was pinned for the cluster, and says so."""
    (tmp_path / "objects.json").write_text(json.dumps(TUNED))
    minor = server.split(".")[1]
    body = (f"case \"$3\" in version) echo '{{\"serverVersion\": {{\"major\": \"1\", \"minor\": \"{minor}\", "
            f"\"gitVersion\": \"{server}\"}}}}';; auth) echo no; exit 1;; *) cat {tmp_path / 'objects.json'};; esac\n")
    result = run_module(tmp_path, body, version="v1.34")
    judged = f"v1.{minor} (the server's release: kube-apiserver {server} answers /version)" if minor == "31" else \
        "v1.34 (the version asked for (v1.34))"
    assert result["version"] == judged and result["summary"][0] == f"Pod Security judged at policy {judged}"
    assert result["namespaces"]["shop"]["level"] == level
    assert result["report"]["sources"] == {"pod-security": f"policy {judged}"}
    assert result["markdown"].startswith(f"# Pod Security advisor (policy {judged})")
