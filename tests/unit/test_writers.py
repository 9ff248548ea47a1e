"""The writers table (plan/writers.py): every operation kind node_operations.operations can emit has a row
(or is listed apart, with why), no row is stale, and each row's module is one the roles really apply that
kind with: a module of ours exists in plugins/modules/."""

from __future__ import annotations

import dataclasses
import glob
import os
import re
from typing import Any, Dict, Iterator, List, Set

import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.platform import component_registry
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import never_weaker, node_operations, node_plan, writers
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OURS = "kubeguard.hardening."


def _kinds(ops: Dict[str, Dict[str, Any]]) -> Set[str]:
    return {kind for component in ops.values() for kind in component}


def emitted_kinds(kubeadm_node) -> Set[str]:
    """The kinds operations() emits over nodes that take each of its branches: a kubeadm control plane with
    every switch on, an etcd host whose etcd is not a static pod with the switches off, a k3s server."""
    root, layout, settings = kubeadm_node
    layout = dataclasses.replace(layout, container_runtime=dict(layout.container_runtime, unit="containerd"))
    state = audit.observe(layout, str(root / "proc"))
    found: Set[str] = set()
    for changes, node, more in [
        ({"etcd_deployment_type": "kubeadm", "kube_encrypt_secret_data": True, "kubernetes_audit": True,
          "kubelet_systemd_hardening": True, "kubelet_rotate_server_certificates": True,
          "kube_controller_manager_bind_address": "0.0.0.0"},
         {"control_plane": True, "etcd_host": False, "kubelet_running": True, "container_runtime": {"config_found": True}},
         {"sysctl_apply": True}),
        ({"etcd_deployment_type": "host", "kubelet_systemd_hardening": False},
         {"control_plane": False, "etcd_host": True, "kubelet_running": False}, {}),
    ]:
        values = hv.validate(dict(changes, etcd_data_dir=str(root / "etcd-data"),
                                  audit_log_path=str(root / "audit" / "audit.log")))
        plan = never_weaker.plan(values, layout, state)
        found |= _kinds(node_operations.operations(values, layout, plan, dict(node, kubelet_allowed=["localhost"]),
                                                   dict(settings, **more)))
    k3s = catalogue.layout_for("k3s")
    k3s_plan = {"settings": {c.name: {} for c in component_registry.REGISTRY}, "pki_owner": None, "pki_group": None}
    found |= _kinds(node_operations.operations(hv.validate({"kubernetes_audit": True}), k3s, k3s_plan,
                                               {"control_plane": True, "etcd_host": False, "kubelet_allowed": []}, settings))
    return found


def test_every_kind_operations_emits_has_a_row_and_every_row_is_emitted(kubeadm_node):
    emitted = emitted_kinds(kubeadm_node)
    assert not set(writers.WRITERS) & set(writers.APART), "a kind is a write or apart, not both"
    assert sorted(emitted - set(writers.WRITERS) - set(writers.APART)) == [], "a kind without a row: add one to writers.WRITERS"
    assert sorted(set(writers.WRITERS) | set(writers.APART)) == sorted(emitted), "a row nothing emits (or a branch this test misses)"
    assert all(why for why in writers.APART.values())


def test_an_unknown_kind_is_an_error_naming_it_and_the_component():
    try:
        node_plan.evaluate({"kubelet": {"reboot": {}}})
    except ValueError as exc:
        assert str(exc) == "unknown operation 'reboot' for kubelet"
    else:
        raise AssertionError("no error")


def _tasks(data: Any) -> Iterator[Dict[str, Any]]:
    """Every mapping of a role's tasks or a playbook (tasks, blocks, rescues, plays): the tasks among them."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from _tasks(value)
    elif isinstance(data, list):
        for item in data:
            yield from _tasks(item)


def _applied() -> Dict[str, List[str]]:
    """{module: [each task calling it, as text]} over the roles' tasks and the playbooks."""
    found: Dict[str, List[str]] = {}
    for path in sorted(glob.glob(os.path.join(REPO, "roles", "*", "tasks", "*.yml")) + glob.glob(os.path.join(REPO, "playbooks", "*.yml"))):
        with open(path, encoding="utf-8") as handle:
            for task in _tasks(yaml.safe_load(handle)):
                for key in task:
                    if isinstance(key, str) and key.count(".") == 2:
                        found.setdefault(key, []).append(yaml.safe_dump(task))
    return found


# a row whose task takes what it does from elsewhere than the operation's own arguments
NOT_FROM_ITS_ARGUMENTS = {
    "user": "the etcd role creates etcd_user, the setting the operation carries",
    "sysctls": "the sysctl role runs sysctl -p on the file its config_files row writes, when kubeguard_sysctl_apply is on "
               "(the same switch that adds the operation)",
    "exists": "nothing writes the kubelet's serving certificate directly: the kubelet stores it once kubelet_serving_csr "
              "approves its request",
}


def test_each_rows_module_exists_and_applies_that_kind():
    applied = _applied()
    for kind, row in writers.WRITERS.items():
        if row.module.startswith(OURS):
            name = row.module[len(OURS):]
            assert os.path.isfile(os.path.join(REPO, "plugins", "modules", f"{name}.py")), (kind, row.module)
        else:
            assert row.module.startswith("ansible.builtin."), (kind, row.module)
        assert row.module in applied, f"{kind}: no role or playbook calls {row.module}"
        if kind not in NOT_FROM_ITS_ARGUMENTS:
            # kubeguard_node_plan.operations.<component>.<kind>, kubeguard_node_plan.operations['<component>'].<kind>, or <component>_ops.<kind>
            reads = re.compile(r"_ops(?:\.[\w-]+|\['[^']+'\])?\." + kind + r"\b")
            assert any(reads.search(task) for task in applied[row.module]), f"{kind}: no {row.module} task reads kubeguard_node_plan.operations' {kind}"
    assert set(NOT_FROM_ITS_ARGUMENTS) <= set(writers.WRITERS)


def _run_module(module, args, capsys) -> Dict[str, Any]:
    import json
    import pytest
    from ansible.module_utils.testing import patch_module_args
    with patch_module_args(dict(args, _ansible_check_mode=True)), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


def test_a_writer_module_and_its_row_plan_alike(tmp_path, capsys):
    """env_file and containerd_config (check mode) list what their row plans, from the same function; a missing
    file, or one the editor refuses, fails both with one message (the path named, no credential in it)."""
    from ansible_collections.kubeguard.hardening.plugins.modules import containerd_config, env_file
    from test_containerd import DEBIAN, loosened  # pylint: disable=import-error
    context = writers.Context({}, (), None)
    env = tmp_path / "etcd.env"
    env.write_text("ETCD_DATA_DIR=/data\nETCD_AUTO_TLS=true\n")
    args = {"path": str(env), "variables": {"ETCD_DATA_DIR": "/var/lib/etcd", "ETCD_AUTO_TLS": None, "ETCD_CLIENT_CERT_AUTH": True}}
    result = _run_module(env_file, args, capsys)
    assert result["changed"] and [f"{env}: {c}" for c in result["changes"]] == writers.WRITERS["env_file"].plan(args, context)
    assert "+ ETCD_CLIENT_CERT_AUTH=True" in result["changes"]
    config = tmp_path / "config.toml"
    config.write_text(loosened(DEBIAN))
    variables = dict(hv.validate({}))
    args = {"path": str(config), "variables": {name: variables[name] for name in (
        "containerd_metrics_address", "containerd_enable_unprivileged_ports", "containerd_enable_unprivileged_icmp",
        "kubeguard_containerd_settings")}}
    result = _run_module(containerd_config, args, capsys)
    assert len(result["changes"]) == 2 and [f"{config}: {c}" for c in result["changes"]] == \
        writers.WRITERS["containerd_config"].plan(args, context)
    config.write_text(DEBIAN.replace("[grpc]", '[grpc]\n  "password = "Sup3rS3cret"\n', 1))
    for kind, module, missing in (("env_file", env_file, str(tmp_path / "none.env")),
                                  ("containerd_config", containerd_config, str(tmp_path / "none.toml")),
                                  ("containerd_config", containerd_config, str(config))):
        given = dict(args if kind == "containerd_config" else {"variables": {"A": "1"}}, path=missing)
        failed = _run_module(module, given, capsys)
        try:
            writers.WRITERS[kind].plan(given, context)
        except ValueError as exc:
            assert failed["failed"] and failed["msg"] == str(exc) and str(exc).startswith(missing + ": ")
            assert "Sup3rS3cret" not in str(exc)
        else:
            raise AssertionError(f"{kind}: {missing} planned")
