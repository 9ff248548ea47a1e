"""Never weaker judges the node a run would leave with the whole audit - every CIS and section-K check,
exposure (listeners, the kubelet's unit firewall) and files included, as verify runs them - against the node
as it is. The hostile inputs of tests/hostile_inputs.py, on kubeadm's fixture node through node_plan (the one
call a run makes per node): each is refused before any change, naming the variable, the value and what is
allowed; or applied and waived naming the variable, in the plan's summary and in the report; or applied with
a note naming the variable; never silently weaker (every control that would go from pass to fail is waived)."""

from __future__ import annotations

import os
import re
from typing import Any, Dict, Mapping

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import exposure, health
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_plan, predicted

from test_node_plan import fixture_platform

from hostile_inputs import ROLES, ROWS, firewall


def _run(root, layout, settings, variables: Mapping[str, Any], monkeypatch) -> Dict[str, Any]:
    """hv.validate (the controller), then node_plan.plan_node (the node): HardeningVarsError / ValueError when refused."""
    values = _values(root, variables)
    os.makedirs(values["etcd_data_dir"], exist_ok=True)
    platform = fixture_platform(layout)
    params = {"values": values, "catalogue": catalogue.load(), "platforms": {"fixture": platform},
              "config_dir": str(root / "etc"), "layout": "auto", "node": {"name": "cp1", "control_plane": True, "etcd_host": False},
              "peer_addresses": [], "control_plane_endpoints": [], "settings": settings, "reencrypt_marker": str(root / "m"),
              "audit_roles": ROLES, "proc_root": str(root / "proc")}
    return node_plan.plan_node(params, lambda argv: (0, "2: eth0    inet 10.89.0.10/24 brd 10.89.0.255 scope global eth0\n", ""))


@pytest.fixture
def node(kubeadm_node, monkeypatch):
    root, layout, settings = kubeadm_node
    settings = dict(settings, kubelet_firewall_dropin=str(root / "kubelet" / "90-kubeguard-firewall.conf"))
    # no process, no socket: the fixture node's, not this host's (node_plan reads /proc)
    monkeypatch.setattr(exposure, "listeners", lambda proc_root="/proc": [])
    monkeypatch.setattr(audit, "component_processes", lambda name, proc_root="/proc": [])
    monkeypatch.setattr(health, "process_args", lambda name, proc_root="/proc": [])
    return root, layout, settings


def _values(root, variables: Mapping[str, Any]) -> Dict[str, Any]:
    variables = dict(variables)
    values = hv.validate(variables, variables.pop("_present", ()))
    return dict(values, etcd_data_dir=str(root / "etcd-data"), audit_log_path=str(root / "audit" / "audit.log"),
                audit_policy_file=str(root / "etc" / "audit-policy.yaml"))


def _after(result: Mapping[str, Any], root, layout, values: Mapping[str, Any]):
    """(the node as the planned operations would leave it, the node now): what verify would observe."""
    state = audit.observe(catalogue.layout_for(result["layout"], str(root / "etc"), {"fixture": fixture_platform(layout)}))
    return predicted.after_operations(state, result["plan"]["settings"], result["operations"], values), state


# what a refusal says the user may do instead (words, not parts of words)
GUIDANCE = re.compile(r"(?<![A-Za-z])(allowed|use|set|must be|must look like|must not|remove|give|list|e\.g\.|did you mean|add|such as|shorten)"
                      r"(?![A-Za-z])")


def _leaves(value: Any):
    """The scalars of a value, keys included, as a message may quote them."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value[:50]:
            yield from _leaves(item)
    else:
        yield value
        if isinstance(value, str):     # one item of a list written as a string ("10.0.0.0/8,::/0", "a b")
            yield from (part for part in value.replace(",", " ").split() if part != value)


def _names_the_value(line: str, variables: Mapping[str, Any], variable: str) -> bool:
    """The line quotes the value the user gave (or a part of it), beyond the variable's own name."""
    if variable not in variables:
        return True     # a variable the combination needs, or a typo's name: its value is its absence
    rest = line.replace(variable, "")
    for leaf in [variables[variable]] + list(_leaves(variables[variable])):
        quoted = repr(leaf)
        if quoted[:40] in rest or (len(str(leaf)) >= 3 and str(leaf)[:40] in rest):
            return True
    return False


@pytest.mark.parametrize("variables, tweaks, expected", [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_hostile_input_is_refused_or_waived_never_silently_weaker(node, monkeypatch, variables, tweaks, expected):
    root, layout, settings = node
    for tweak in tweaks:
        tweak(root, layout)
    if expected[0] == "refused":
        _kind, variable, says = expected
        with pytest.raises((hv.HardeningVarsError, ValueError)) as refused:
            _run(root, layout, settings, variables, monkeypatch)
        message = str(refused.value)
        problems = getattr(refused.value, "problems", None)
        # the validation's own lines start with the variable; a node's refusal (node_plan) names it in its text
        mine = [line for line in problems if line.startswith(variable + ":")] if problems else \
            [line for line in message.split("\n") if variable in line]
        assert mine, message
        assert any(all(part in line for part in says) and _names_the_value(line, variables, variable)
                   and GUIDANCE.search(line) for line in mine), message
        return
    result = _run(root, layout, settings, variables, monkeypatch)
    plan = result["plan"]
    values = _values(root, variables)
    after, before = _after(result, root, layout, values)
    reader = predicted.file_reader(result["operations"])
    controls = catalogue.controls()
    was, will = predicted.judge(controls, before, audit.file_facts), predicted.judge(controls, after, reader)
    # never silently weaker: whatever passes now and would not after is waived, naming a variable
    lost = sorted(cid for cid in was if was[cid] is True and will[cid] is not True)
    assert set(lost) <= set(plan["waived"]), (lost, plan["waived"])
    report = {r["id"]: r for r in audit.audit(after, ROLES, plan["waived"], file_reader=reader)}
    waived = expected[1] if expected[0] == "waived" else {}
    for cid, variable in waived.items():
        assert variable in plan["waived"].get(cid, ""), (cid, plan["waived"])
        assert any(line.startswith("waived") and plan["waived"][cid] in line for line in plan["summary"]), plan["summary"]
        assert report[cid]["status"] == "waived" and variable in report[cid]["waiver"], report[cid]
    if expected[0] in ("applied", "noted"):
        assert not lost and not [cid for cid in plan["waived"] if cid in was and was[cid] is True]
    if expected[0] == "noted":
        _kind, variable, says = expected
        notes = list(values["_notes"]) + list(plan["summary"])
        assert any(line.startswith(variable) and all(part in line for part in says) for line in notes), notes


def test_the_table_holds_every_kind_and_at_least_120_rows():
    assert len(ROWS) >= 120, len(ROWS)
    assert {row[3][0] for row in ROWS} == {"refused", "waived", "applied", "noted"}
    assert len({row[0] for row in ROWS}) == len(ROWS), "row ids are unique"


# --- the pieces the predicted node is made of ---------------------------------------------------------------

def test_the_kubelet_firewall_is_read_as_systemd_merges_the_unit():
    """Drop-ins by name, a later empty assignment empties the list, the same name in /etc masks /usr/lib."""
    unit = {"unit": "kubelet.service", "files": {
        "/usr/lib/systemd/system/kubelet.service": [["IPAddressAllow", ["any"]]],
        "/usr/lib/systemd/system/kubelet.service.d/90-fw.conf": [["IPAddressDeny", ["any"]], ["IPAddressAllow", ["0.0.0.0/0"]]],
        "/etc/systemd/system/kubelet.service.d/90-fw.conf": exposure.ip_assignments(
            "[Service]\nIPAddressDeny=any\nIPAddressAllow=\nIPAddressAllow=localhost \\\n 10.0.0.0/8\n[Install]\nIPAddressAllow=any\n"),
    }}
    assert exposure.ip_firewall(unit) == {"allow": ["localhost", "10.0.0.0/8"], "deny": ["any"]}
    assert exposure.kubelet_firewall(unit).passed is True
    del unit["files"]["/etc/systemd/system/kubelet.service.d/90-fw.conf"]      # the /usr/lib one counts again
    outcome = exposure.kubelet_firewall(unit)
    assert outcome.passed is False and "0.0.0.0/0 (everyone)" in outcome.found and "any (any)" in outcome.found
    assert exposure.kubelet_firewall({"unit": "kubelet.service", "files": {}}).passed is None   # no firewall: manual
    assert [exposure.too_wide(t) for t in ("multicast", "10.0.0.0/8", "10.0.0.0/7", "fd00::/16", "fd00::/15", "::/0")] == [
        None, None, "a large part of the internet", None, "a large part of the internet", "everyone"]


def test_listeners_move_as_the_flags_say_and_the_rest_stay():
    state = {"layout": {"components": {}}, "kubelet_config": {"readOnlyPort": 10255},
             "components": {"kubelet": {"source": "process", "flags": {}},
                            "etcd": {"source": "process", "flags": {"listen-client-urls": "https://10.0.0.5:2379"}}},
             "listeners": [{"address": "::", "port": 10255, "pid": 7, "process": "kubelet", "argv": []},
                           {"address": "10.0.0.5", "port": 2379, "pid": 8, "process": "etcd", "argv": []},
                           {"address": "0.0.0.0", "port": 22, "pid": 1, "process": "sshd", "argv": []}]}
    closed = predicted.overlay(state, "kubelet", {"readOnlyPort": 0})
    assert [(e["port"], e["process"]) for e in closed["listeners"]] == [(22, "sshd"), (2379, "etcd")]
    assert state["listeners"][0]["port"] == 10255 and state["kubelet_config"] == {"readOnlyPort": 10255}   # unchanged
    opened = predicted.overlay(state, "etcd", {"listen-client-urls": "http://0.0.0.0:2379,https://10.0.0.5:2379"})
    assert {(e["address"], e["port"]) for e in opened["listeners"] if e["process"] == "etcd"} == {("0.0.0.0", 2379), ("10.0.0.5", 2379)}
    assert exposure.every_interface(opened["listeners"]).passed is False
    assert exposure.etcd_insecure_clients(opened["components"]["etcd"]["flags"]).passed is False


def test_file_facts_after_the_writers_and_the_ceilings(tmp_path):
    loose = tmp_path / "a.conf"
    loose.write_text("x")
    os.chmod(loose, 0o644)
    ops = {"one": {"config_files": {"files": [{"path": str(tmp_path / "new.conf"), "mode": "0640", "content": "y"}]}},
           "two": {"file_modes": {"entries": [{"path": str(tmp_path / "*.conf"), "mode": "0600"}]}}}
    facts = {os.path.basename(f["path"]): (f["mode"], f["owner"].split(":")[0])
             for f in predicted.file_reader(ops)(str(tmp_path / "*.conf"), False)}
    assert facts["a.conf"][0] == 0o600 and facts["new.conf"] == (0o600, "root")


def test_a_loss_no_variable_explains_is_refused_before_any_change(kubeadm_files):
    """judge_run with operations that would loosen a manifest (a writer bug, say): refused, naming the control."""
    root, layout = kubeadm_files
    state = audit.observe(layout, str(root / "proc"))
    manifest = os.path.join(layout.manifests_dir, "kube-scheduler.yaml")
    os.chmod(manifest, 0o600)
    values = hv.validate({})
    result = {"settings": {}, "waived": {}, "kept": []}
    ops = {"kube-scheduler": {"config_files": {"files": [{"path": manifest, "mode": "0666", "content": ""}]}}}
    with pytest.raises(ValueError, match=r"1\.1\.5 .* passes on this node now and would fail after this run: .*kube-scheduler.yaml mode 666"):
        from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import never_weaker
        never_weaker.judge_run(values, state, result, ops, lambda other: (result, ops))


def test_only_a_run_that_writes_is_judged(node, monkeypatch):
    """verify.yml, rotate_keys.yml and the audit after a rollout plan the node without applying the plan's writes:
    variables that would weaken it (the kubelet firewall's switch left at its default) refuse harden.yml only."""
    root, layout, settings = node
    firewall(root, layout)
    with pytest.raises(ValueError, match="K.28"):
        _run(root, layout, settings, {}, monkeypatch)
    values = _values(root, {})
    platform = fixture_platform(layout)
    params = {"values": values, "catalogue": catalogue.load(), "platforms": {"fixture": platform},
              "config_dir": str(root / "etc"), "layout": "auto", "node": {"name": "cp1", "control_plane": True, "etcd_host": False},
              "peer_addresses": [], "control_plane_endpoints": [], "settings": settings, "reencrypt_marker": str(root / "m"),
              "audit_roles": ROLES, "proc_root": str(root / "proc"), "judge_run": False}
    read_only = node_plan.plan_node(params, lambda argv: (0, "2: eth0    inet 10.89.0.10/24 brd 10.89.0.255 scope global eth0\n", ""))
    # the node as it is: its firewall passes K.28 in the report
    assert {r["id"]: r["status"] for r in read_only["report"]["results"]}["K.28"] == "pass"


def test_a_component_the_node_does_not_have_gets_no_waiver(node, monkeypatch):
    """A worker runs no etcd: etcd_extra_vars opens no port there, so K.13 is neither failed nor waived on it."""
    root, layout, settings = node
    variables = {"etcd_extra_vars": {"listen-metrics-urls": "http://0.0.0.0:2381"}}
    with_etcd = _run(root, layout, settings, variables, monkeypatch)
    assert "K.13" in with_etcd["plan"]["waived"]          # the control plane's etcd listens beyond loopback
    os.remove(root / "etc" / "manifests" / "etcd.yaml")
    without = _run(root, layout, settings, variables, monkeypatch)
    assert "K.13" not in without["plan"]["waived"], without["plan"]["waived"]


def test_a_node_that_does_not_run_etcd_gets_no_etcd_waiver(node, monkeypatch):
    """A worker with a leftover etcd file (kubespray's workers keep /etc/etcd.env, here a manifest) runs no etcd
    and the run writes none there: etcd_extra_vars is no cause of anything on it, K.13 is not waived."""
    root, layout, settings = node
    variables = {"etcd_extra_vars": {"listen-metrics-urls": "http://0.0.0.0:2381"}}
    values = _values(root, variables)
    os.makedirs(values["etcd_data_dir"], exist_ok=True)
    base = {"values": values, "catalogue": catalogue.load(), "platforms": {"fixture": fixture_platform(layout)},
            "config_dir": str(root / "etc"), "layout": "auto", "peer_addresses": [], "control_plane_endpoints": [],
            "settings": settings, "reencrypt_marker": str(root / "m"), "audit_roles": ROLES, "proc_root": str(root / "proc")}

    def answer(argv):
        return 0, "2: eth0    inet 10.89.0.10/24 brd 10.89.0.255 scope global eth0\n", ""
    control_plane = node_plan.plan_node(dict(base, node={"name": "cp1", "control_plane": True, "etcd_host": False}), answer)
    assert "K.13" in control_plane["plan"]["waived"]
    worker = node_plan.plan_node(dict(base, node={"name": "w1", "control_plane": False, "etcd_host": False}), answer)
    assert "K.13" not in worker["plan"]["waived"], worker["plan"]["waived"]
    assert "etcd" not in worker["operations"]
