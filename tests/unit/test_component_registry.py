"""The component registry is the one place a component meets what it is: the lists the validation, the
planner and the audit use are derived from its rows, and they agree with the catalogue and the variables."""

from __future__ import annotations

from ansible_collections.kubeguard.hardening.plugins.module_utils.platform import component_data, component_registry as registry
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue, component_checks
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired, never_weaker


def test_the_derived_lists_are_the_registry():
    assert catalogue.COMPONENTS == never_weaker.PLANNED_COMPONENTS == registry.WRITTEN
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
