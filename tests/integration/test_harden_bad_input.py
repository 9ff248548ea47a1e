"""Every invalid input of the core's table makes kubeguard.hardening.harden fail in its first play's validation,
on the controller, naming the variable - before any node is contacted or changed.

One ansible-playbook run covers the whole table: one inventory host per bad input. The hosts use an
nsenter connection to a process id that does not exist, so no node could be touched even by mistake."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from test_modules_playbook import REPO, ansible_bin

pytestmark = pytest.mark.skipif(ansible_bin("ansible-playbook") is None, reason="ansible-core not installed")


def test_every_invalid_input_fails_before_any_node_is_touched(tmp_path):
    from conftest import _collection_root
    from unit.test_hardening_vars import INVALID

    hosts = {}
    for index, (name, value, _ignored) in enumerate(INVALID):
        hosts[f"case{index}"] = {name: value, "ansible_connection": "community.docker.nsenter",
                                 "ansible_nsenter_pid": 2147480000}
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"kube_control_plane": {"hosts": hosts}}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collection_root(), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_FORKS="10")
    proc = subprocess.run([ansible_bin("ansible-playbook"), "-i", str(inventory),
                           os.path.join(REPO, "playbooks", "harden.yml")],
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    log = json.loads(proc.stdout)
    first_play, later_plays = log["plays"][0], log["plays"][1:]
    assert first_play["play"]["name"].startswith("Validate the hardening variables")
    names = [task["task"]["name"].rpartition(" : ")[2] for task in first_play["tasks"]]
    validated = names.index("Observe the node and plan its whole run (writes nothing)")   # its action validates first
    # nothing before the validation contacts a node (the run id is a fact), nothing after it ran
    assert names[:validated] == ["Validate the variables and plan the node (once per run)", "Note when this run started"]
    assert len(names) == validated + 1, names
    results = first_play["tasks"][validated]["hosts"]
    for index, (name, value, allowed) in enumerate(INVALID):
        result = results[f"case{index}"]
        assert result.get("failed"), (name, value)
        assert name in result["msg"] and allowed in result["msg"], result["msg"]
    # no later play ran a single task on any host, and no host was contacted
    assert all(not play["tasks"] for play in later_plays)
    assert all(stats["unreachable"] == 0 and stats["changed"] == 0 for stats in log["stats"].values())


def _run_validate_only(tmp_path, host_vars):
    from conftest import _collection_root
    hosts = {"typo": dict(host_vars, ansible_connection="community.docker.nsenter", ansible_nsenter_pid=2147480000)}
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"kube_control_plane": {"hosts": hosts}}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collection_root(), ANSIBLE_NOCOLOR="1")
    return subprocess.run([ansible_bin("ansible-playbook"), "-i", str(inventory), "--tags", "never",
                           os.path.join(REPO, "playbooks", "harden.yml")],
                          env=env, capture_output=True, text=True, check=False)


def test_a_misspelt_variable_warns_and_fails_when_strict(tmp_path):
    # --tags never: only the always-tagged validation runs; the nsenter pid does not exist, so no node is touched
    warned = _run_validate_only(tmp_path, {"kubelet_protect_kernel_default": True, "kube_encrypt_secrets_data": True})
    output = warned.stdout + warned.stderr
    assert "kubelet_protect_kernel_default: not a hardening variable - did you mean kubelet_protect_kernel_defaults?" in output
    assert "kube_encrypt_secrets_data: not a hardening variable - did you mean kube_encrypt_secret_data?" in output
    strict = _run_validate_only(tmp_path, {"kubelet_protect_kernel_default": True, "kubeguard_strict_variables": True})
    assert strict.returncode != 0
    assert "did you mean kubelet_protect_kernel_defaults" in strict.stdout + strict.stderr
