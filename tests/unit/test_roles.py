"""Role defaults, argument specs and READMEs agree with the variable model."""

from __future__ import annotations

import glob
import os
import sys

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from conftest import generated_is_current

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE_DEFAULTS = sorted(glob.glob(os.path.join(REPO, "roles", "*", "defaults", "main.yml")))


@pytest.mark.parametrize("path", ROLE_DEFAULTS, ids=[p.split(os.sep)[-3] for p in ROLE_DEFAULTS])
def test_role_defaults_are_kubesprays(path):
    with open(path, encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle) or {}
    modelled = {k: v for k, v in defaults.items() if k in hv.VARIABLES_BY_NAME}
    for name, value in modelled.items():
        assert value == hv.VARIABLES_BY_NAME[name].default, f"{path}: {name}"


def test_every_role_has_argument_specs_and_readme():
    for role in ("apiserver", "audit", "controller_manager", "scheduler", "etcd", "kubelet", "sysctl", "file_permissions", "k3s"):
        assert os.path.exists(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")), role
        assert os.path.exists(os.path.join(REPO, "roles", role, "README.md")), role


def test_generated_role_docs_are_current():
    generated_is_current("gen_role_docs.py")


def test_the_controls_matrix_is_current():
    """docs/controls.md is generated from the catalogue, the variable model and the platform files."""
    generated_is_current("gen_controls_doc.py")


def test_the_controls_matrix_tells_what_each_platform_does(monkeypatch):
    from conftest import _collection_root
    # load() puts its collections path first on sys.path for the rest of the run: this checkout's, not the test bed's
    monkeypatch.setenv("KG_TEST_COLLECTIONS", _collection_root())
    sys.path.insert(0, os.path.join(REPO, "tools"))
    import gen_controls_doc
    catalogue, hardening_vars = gen_controls_doc.load()
    table = {row[0]: row for row in gen_controls_doc.rows(catalogue, hardening_vars)}
    assert len(table) == len(catalogue.controls())
    platforms = sorted(catalogue.load_platforms())
    cells = {cid: dict(zip(platforms, row[6:])) for cid, row in table.items()}
    # the apiserver's anonymous auth: our setting on kubeadm/kubespray, k3s' own flag on k3s
    assert cells["1.2.1"] == {"k3s": "k3s' own", "kubeadm": "applied", "kubespray": "applied"}
    assert "`kube_api_anonymous_auth`" in table["1.2.1"][4] and table["1.2.1"][5] == "apiserver"
    # k3s embeds etcd: nothing of ours writes etcd's flags there
    assert cells["2.2"]["k3s"] == "verified" and cells["2.2"]["kubeadm"] == "applied"
    # cluster scope, opt-in, named by its variable
    assert table["5.3.2"][4] == "`kubeguard_network_policies`" and table["5.3.2"][5] == "policy"
    assert table["5.1.1"][5] == "verify only" and cells["5.1.1"]["kubeadm"] == "reported"


def test_every_node_module_that_reads_the_platform_gets_its_data():
    """node_state, node_plan and cis_audit run on nodes, where the platform data files are not: every task that
    calls node_state passes `platforms` (a bare call fails on a real node); node_plan and cis_audit have action
    plugins that pass the data files in."""
    import glob
    import yaml
    missing = []

    def walk(tasks, path):
        for task in tasks or []:
            if not isinstance(task, dict):
                continue
            for key in ("block", "rescue", "always", "tasks"):
                walk(task.get(key), path)
            for module in ("kubeguard.hardening.node_state",):
                if module in task and "platforms" not in (task[module] or {}):
                    missing.append(f"{path}: {task.get('name')}")

    files = glob.glob(os.path.join(REPO, "roles", "*", "tasks", "*.yml")) + glob.glob(os.path.join(REPO, "playbooks", "*.yml"))
    for path in files:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        plays = data if isinstance(data, list) else []
        walk(plays, path)
    assert len(files) > 10 and missing == []
    for module in ("cis_audit", "node_plan"):
        with open(os.path.join(REPO, "plugins", "action", f"{module}.py"), encoding="utf-8") as handle:
            assert "node_inputs.data_files(" in handle.read(), module
