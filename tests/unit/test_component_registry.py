"""The component registry is the one place a component meets what it is: the lists the validation, the
planner and the audit use are derived from its rows, and they agree with the catalogue and the variables."""

from __future__ import annotations

from ansible_collections.kubeguard.hardening.plugins.module_utils.platform import component_data, component_registry as registry
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue, component_checks
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired, never_weaker


def test_the_derived_lists_are_the_registry():
    assert never_weaker.PLANNED_COMPONENTS == registry.WRITTEN
    assert desired.FLAG_COMPONENTS == ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
    # kubeguard_allow_override may also name kube-proxy's settings: its writer is a cluster object's (kube_proxy_config)
    assert hv.FLAG_OVERRIDE_COMPONENTS == desired.FLAG_COMPONENTS + ("kube-proxy",)
    assert audit.FLAG_COMPONENTS == registry.OBSERVED and "kube-proxy" in audit.FLAG_COMPONENTS
    assert set(hv.EXTRA_ARGS_COMPONENT.values()) == set(registry.WRITTEN)
    assert component_checks.EXTRA_ARGS == {v: c for v, c in hv.EXTRA_ARGS_COMPONENT.items() if c != "kubelet"}
    assert component_checks.GATE_COMPONENTS["kube_feature_gates"] == component_data.KUBE_COMPONENTS


def test_every_variable_a_row_names_is_a_hardening_variable():
    named = [c.extra_args for c in registry.REGISTRY if c.extra_args] + [c.feature_gates for c in registry.REGISTRY if c.feature_gates]
    assert named and all(name in hv.VARIABLES_BY_NAME for name in named + [registry.COMMON_FEATURE_GATES]), named


def test_every_component_the_catalogue_sets_is_written_and_every_written_one_has_settings():
    assert {s.component for s in catalogue.settings()} == set(registry.WRITTEN)


def test_roles_are_the_audits():
    assert set(registry.ROLES.values()) <= set(audit.ROLE_SECTIONS)


def _roles(steps):
    return [step["role"] for step in steps]


def test_rollout_follows_the_registry_order_where_the_operations_have_the_step():
    from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_operations
    one = {"static_pod": {}}
    control_plane = {"sysctl": {}, "file_permissions": {}, "kubelet": {}, "kube-apiserver": one, "audit": {},
                     "kube-controller-manager": one, "kube-scheduler": one, "etcd": {"static_pod": {}, "user": {}},
                     "metrics_firewall": {}, "node_audit": {}, "container_runtime": {}}
    assert _roles(node_operations.rollout(control_plane)["node"]) == [
        "sysctl", "node_audit", "metrics_firewall", "etcd", "apiserver", "controller_manager", "scheduler",
        "container_runtime", "kubelet", "file_permissions"]
    # a static pod etcd is the node phase's; the etcd group's play still gives its host the firewall and audit rules
    assert _roles(node_operations.rollout(control_plane)["etcd_host"]) == ["metrics_firewall", "node_audit"]
    # a host only in the etcd group, its etcd not kubespray's host etcd: its audit rules come from the etcd phase
    assert _roles(node_operations.rollout({"sysctl": {}, "node_audit": {}, "etcd": {"static_pod": {}}})["etcd_host"]) == ["node_audit"]
    # kubespray's host etcd: after the control planes, in its own phase, firewall first
    etcd_host = {"sysctl": {}, "file_permissions": {}, "etcd": {"env_file": {}, "user": {}}, "metrics_firewall": {}}
    steps = node_operations.rollout(etcd_host)
    assert _roles(steps["etcd_host"]) == ["metrics_firewall", "etcd"]
    assert "etcd" not in _roles(steps["node"])
    assert _roles(node_operations.rollout({"sysctl": {}, "k3s": {}, "file_permissions": {}})["node"]) == ["sysctl", "k3s", "file_permissions"]
    apiserver = next(s for s in node_operations.rollout(control_plane)["node"] if s["role"] == "apiserver")
    assert apiserver["tags"] == ["apiserver", "audit"]


def test_every_rollout_role_exists_and_every_step_is_tagged_by_its_role():
    import os
    roles = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")
    for step in registry.ROLLOUT:
        assert os.path.isfile(os.path.join(roles, step.role, "tasks", "main.yml")), step
        assert step.role in step.tags and step.phase in (registry.NODE_PHASE, registry.ETCD_HOST_PHASE), step
    assert set(registry.APPLIED_WITH.values()) <= {s.operations for s in registry.ROLLOUT}


def test_harden_node_plays_are_driven_by_the_rollout():
    """No node play of harden.yml names a component's role: each includes the roles of its node's rollout."""
    import os
    import yaml
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "playbooks", "harden.yml")
    with open(path, encoding="utf-8") as handle:
        plays = yaml.safe_load(handle)
    node_plays = [p for p in plays if str(p.get("hosts", "")).endswith("&kubeguard_pending") and "Stage" not in p["name"]]
    assert len(node_plays) == 3
    for play in node_plays:
        (task,) = play["tasks"]
        assert task["ansible.builtin.include_role"]["name"] == "kubeguard.hardening.{{ kubeguard_step.role }}"
        phase = registry.ETCD_HOST_PHASE if play["hosts"].startswith("etcd") else registry.NODE_PHASE
        assert task["loop"] == "{{ kubeguard_node_plan.rollout.%s | default([]) }}" % phase


def test_the_readme_names_every_rollout_tag():
    """--list-tags cannot show the tags of roles included per node: the README lists them, and this holds it to the rows."""
    import os
    import re
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "README.md")
    with open(path, encoding="utf-8") as handle:
        paragraph = next(p for p in handle.read().split("\n- ") if p.startswith("**Tags**"))
    named = set(re.findall(r"`([a-z0-9_]+)`", paragraph))
    assert {tag for step in registry.ROLLOUT for tag in step.tags} <= named, named
