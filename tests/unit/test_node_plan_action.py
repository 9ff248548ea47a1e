"""The node_plan action plugin: the hardening variables in scope are validated on the controller before the node is
asked anything; the module gets the validated values, the data files and the paths the run uses; the plan comes back
with the variables and the report as text (what the roles and the verify role read)."""

from __future__ import annotations

import datetime
import json
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.kubeguard.hardening.plugins.action.node_plan import ActionModule
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue

PLAN = {"changed": False, "operations": {}, "report": {"node": "cp1", "results": [{"id": "1.1.1"}]},
        "invocation": {"module_args": {"catalogue": "tens of kB"}}}


def run(task_vars, args=None, module_result=None):
    """The action's run() outside a play: (result, the module call's arguments or None when it was not made)."""
    task = mock.MagicMock()
    task.args = dict(args or {"node": {"name": "cp1"}, "settings": {}})
    task.check_mode = False
    task.async_val = 0
    templar = mock.MagicMock()
    templar.template.side_effect = lambda value: value
    action = ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=templar, shared_loader_obj=None)
    calls = []

    def execute_module(module_name, module_args, task_vars):
        calls.append((module_name, module_args))
        return json.loads(json.dumps(module_result or PLAN))

    with mock.patch("ansible.plugins.action.ActionBase.run", return_value={}), \
            mock.patch.object(ActionModule, "_execute_module", side_effect=execute_module), \
            mock.patch("ansible_collections.kubeguard.hardening.plugins.action.node_plan.display") as display:
        result = action.run(task_vars=task_vars)
    result["_warned"] = [call.args[0] for call in display.warning.call_args_list]
    assert len(calls) <= 1 and all(call[0] == "kubeguard.hardening.node_plan" for call in calls)
    return result, (calls[0][1] if calls else None)


def test_the_module_gets_validated_values_data_files_and_paths():
    result, args = run({"kube_encrypt_secret_data": True, "kube_config_dir": "/etc/kubernetes",
                        "kubeguard_backup_root": "/var/lib/kubeguard/other", "unrelated": "x"})
    values = args["values"]
    assert values["kube_encrypt_secret_data"] is True and values["kube_encryption_algorithm"] == "secretbox"  # a default
    assert args["catalogue"] == catalogue.load() and set(args["platforms"]) == set(catalogue.load_platforms())
    assert args["checksums"] == values["_checksums"] and args["config_dir"] == "/etc/kubernetes"
    assert args["backup_root"] == "/var/lib/kubeguard/other"
    assert args["reencrypt_marker"] == values["kubeguard_reencrypt_marker"]
    # the controller's day: waivers expire and releases end by it, never by the node's clock
    assert args["today"] == datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    # the plan with the variables; the report as text; the arguments not echoed back
    assert result["variables"] == values and "invocation" not in result and "report" not in result
    assert json.loads(result["report_json"]) == PLAN["report"]


def test_the_rollout_is_computed_here_from_the_operations_never_taken_from_the_node():
    planted = dict(PLAN, operations={"sysctl": {"config_files": {}}},
                   rollout={"node": [{"role": "../../../tmp/planted", "tags": ["always"]}]})
    result, _args = run({}, module_result=planted)
    assert result["rollout"] == {"node": [{"role": "sysctl", "tags": ["sysctl"]}]}


def test_bad_input_fails_before_the_node_is_asked():
    with pytest.raises(AnsibleActionFail, match="kube_encryption_algorithm") as failed:
        run({"kube_encryption_algorithm": "rot13"})
    assert "rot13" in str(failed.value)


def test_a_misspelt_variable_is_said_with_what_was_meant():
    result, _args = run({"kube_encrypt_secret_dat": True})
    assert any("kube_encrypt_secret_dat" in w and "kube_encrypt_secret_data" in w for w in result["_warned"])


@pytest.mark.parametrize("given", ["values", "catalogue", "platforms", "checksums", "backup_root"])
def test_what_the_action_fills_in_is_no_task_argument(given):
    with pytest.raises(AnsibleActionFail, match=f"{given}: filled in by the action"):
        run({}, args={"node": {"name": "cp1"}, "settings": {}, given: {}})


def test_a_failed_plan_is_returned_as_it_is():
    result, _args = run({}, module_result={"failed": True, "msg": "planning failed: boom"})
    assert result["failed"] and result["msg"] == "planning failed: boom" and "variables" not in result


@pytest.mark.parametrize("name", ["kubeguard_sysctls", "kubeguard_reencrypt_pending", "kubeguard_cluster_version"])
def test_a_fact_the_run_sets_itself_is_refused_as_input(name):
    """Set in the inventory, kubeguard_sysctls would stand in for the kernel's values the kubelet role checks
    protectKernelDefaults against: refused before the node is asked anything, naming it."""
    with pytest.raises(AnsibleActionFail, match=f"{name}: set by the run itself"):
        run({name: {"vm.overcommit_memory": "1"}})


def test_variables_wrong_at_the_release_the_node_runs_fail_the_plan_naming_it():
    """Validated at the default release (kube_version not given), a gate v1.35 removed passes; the node's plan reads
    v1.35.4 running, and the action judges the variables again there - before anything is written."""
    gate = {"kubelet_feature_gates": ["UserNamespacesPodSecurityStandards=true"]}
    runs_134 = dict(PLAN, version={"version": "v1.34.4", "source": "kubelet --version", "used": "v1.34.4"})
    result, _args = run(gate, module_result=runs_134)
    assert "variables" in result
    runs_135 = dict(PLAN, version={"version": "v1.35.4", "source": "kubelet --version", "used": "v1.35.4"})
    with pytest.raises(AnsibleActionFail, match="(?s)this node runs v1.35.4 .kubelet --version.; the hardening variables are wrong"
                                                " at v1.35.4: .*UserNamespacesPodSecurityStandards"):
        run(gate, module_result=runs_135)
    k3s = dict(PLAN, version={"version": "v1.35.4+k3s1", "source": "k3s --version", "used": "v1.35.4+k3s1"})
    with pytest.raises(AnsibleActionFail, match="at v1.35.4: "):
        run(gate, module_result=k3s)


def test_the_audit_action_hands_the_node_the_controllers_day_and_keeps_a_tests_own():
    from ansible_collections.kubeguard.hardening.plugins.action.cis_audit import ActionModule as AuditAction
    calls = []

    def execute_module(module_name, module_args, task_vars):
        calls.append(module_args)
        return {"changed": False, "report": {}, "invocation": {}}

    for args, day in (({"node_name": "cp1"}, datetime.datetime.now(datetime.timezone.utc).date().isoformat()),
                      ({"node_name": "cp1", "today": "2030-01-01"}, "2030-01-01")):
        task = mock.MagicMock()
        task.args = args
        task.check_mode, task.async_val = False, 0
        action = AuditAction(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
        with mock.patch("ansible.plugins.action.ActionBase.run", return_value={}), \
                mock.patch.object(AuditAction, "_execute_module", side_effect=execute_module):
            result = action.run(task_vars={})
        assert calls[-1]["today"] == day and "invocation" not in result
