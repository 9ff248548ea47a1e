"""A run never leaves a node less hardened than it found it: defaults that would fail a control the
node passes are not applied; the user's own variables are, and every control they weaken is waived
with the variable named. Judged on kubeadm's real files (tests/fixtures) through the audit's own
observation, as the node_state module reads them."""

from __future__ import annotations

import copy
import os

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import never_weaker

SEED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "molecule", "shared", "vars", "hardening-seed.yml")


@pytest.fixture
def kubeadm_node(kubeadm_files):
    """kubeadm's files, observed as the node_state module observes them (no process runs)."""
    root, layout = kubeadm_files
    return layout, audit.observe(layout, str(root / "proc"))


def with_flag(state, component, name, value):
    state = copy.deepcopy(state)
    state["components"][component]["flags"][name] = value
    return state


def with_kubelet_field(state, field, value):
    state = copy.deepcopy(state)
    state["kubelet_config"][field] = value
    return state


def passing(state, component):
    return {str(c["id"]) for c in catalogue.controls() if c["component"] == component and c.get("check")
            and never_weaker._judge(c, state)}


def test_empty_variable_file_weakens_no_control_on_kubeadm(kubeadm_node):
    layout, state = kubeadm_node
    result = never_weaker.plan(hv.validate({}), layout, state)
    for component in never_weaker.PLANNED_COMPONENTS:
        after = never_weaker.overlay(state, component, result["settings"][component], hv.validate({}))
        lost = passing(state, component) - passing(after, component)
        assert not lost, f"{component}: defaults turned {sorted(lost)} from pass to fail"
    assert result["waived"] == {}
    # kubeadm binds both to loopback and the default now agrees: nothing to keep, both stay 127.0.0.1
    assert result["settings"]["kube-controller-manager"]["bind-address"] == "127.0.0.1"
    assert result["settings"]["kube-scheduler"]["bind-address"] == "127.0.0.1"
    # kubespray's kube:kube-cert owner is not applied by default (CIS 1.1.19 wants root)
    assert result["pki_owner"] is None and result["pki_group"] is None
    assert {k["control"] for k in result["kept"]} == {"1.1.19", "4.1.8"}


@pytest.mark.parametrize("component, flag, node_value, default_value, control", [
    ("kube-controller-manager", "bind-address", "127.0.0.1", "0.0.0.0", "1.3.7"),
    ("kube-scheduler", "bind-address", "127.0.0.1", "0.0.0.0", "1.4.2"),
])
def test_a_weaker_default_is_not_applied(kubeadm_node, component, flag, node_value, default_value, control):
    """Were the default kubespray's 0.0.0.0 (as it was), the node's 127.0.0.1 stays and 1.3.7/1.4.2 keep passing."""
    layout, state = kubeadm_node
    variable = "kube_controller_manager_bind_address" if "controller" in component else "kube_scheduler_bind_address"
    values = hv.validate({})
    values[variable] = default_value          # a default value: not in values["_given"]
    result = never_weaker.plan(values, layout, with_flag(state, component, flag, node_value))
    assert flag not in result["settings"][component]
    assert {(k["component"], k["key"], k["control"]) for k in result["kept"]} >= {(component, flag, control)}
    assert any(line.startswith(f"kept {component} {flag}=127.0.0.1") and control in line
               for line in never_weaker.summary(result))


def test_default_serving_bootstrap_false_does_not_undo_a_node_that_has_it(kubeadm_node):
    layout, state = kubeadm_node
    state = with_kubelet_field(state, "serverTLSBootstrap", True)          # 4.2.9 passes on this node
    result = never_weaker.plan(hv.validate({}), layout, state)
    assert "serverTLSBootstrap" not in result["settings"]["kubelet"]
    assert ("kubelet", "serverTLSBootstrap", "4.2.9") in {(k["component"], k["key"], k["control"]) for k in result["kept"]}
    # the same value set by the user is theirs: applied and waived
    result = never_weaker.plan(hv.validate({"kubelet_rotate_server_certificates": False}), layout, state)
    assert result["settings"]["kubelet"]["serverTLSBootstrap"] is False
    assert "kubelet_rotate_server_certificates=false" in result["waived"]["4.2.9"]


# The user's own variables that weaken a control: applied, and waived naming the variable and value.
USER_WEAKENINGS = [
    ({"kube_controller_manager_bind_address": "0.0.0.0"}, "kube-controller-manager", "bind-address", "0.0.0.0",
     "1.3.7", "kube_controller_manager_bind_address=0.0.0.0"),
    ({"kube_scheduler_bind_address": "10.0.0.5"}, "kube-scheduler", "bind-address", "10.0.0.5",
     "1.4.2", "kube_scheduler_bind_address=10.0.0.5"),
    ({"kube_profiling": True}, "kube-apiserver", "profiling", "true", "1.2.15", "kube_profiling=true"),
    ({"kube_profiling": True}, "kube-scheduler", "profiling", "true", "1.4.1", "kube_profiling=true"),
    ({"kube_kubeadm_apiserver_extra_args": {"token-auth-file": "/etc/tokens.csv"}}, "kube-apiserver",
     "token-auth-file", "/etc/tokens.csv", "1.2.2", "kube_kubeadm_apiserver_extra_args="),
    ({"kube_kubeadm_controller_extra_args": {"bind-address": "0.0.0.0"},
      "kubeguard_allow_override": {"kube-controller-manager.bind-address": "metrics scraped from the node network"}},
     "kube-controller-manager",
     "bind-address", "0.0.0.0", "1.3.7", "kube_kubeadm_controller_extra_args="),
    ({"kube_kubeadm_scheduler_extra_args": {"profiling": True},
      "kubeguard_allow_override": {"kube-scheduler.profiling": "profiling a slow scheduler this week"}},
     "kube-scheduler", "profiling", "true",
     "1.4.1", "kube_kubeadm_scheduler_extra_args="),
    ({"kube_apiserver_disable_admission_plugins": ["ServiceAccount"]}, "kube-apiserver", "disable-admission-plugins",
     "ServiceAccount", "1.2.12", "kube_apiserver_disable_admission_plugins="),
    ({"etcd_extra_vars": {"client-cert-auth": "false"}, "kubeguard_allow_override": {"etcd.client-cert-auth": "lab"}},
     "etcd", "client-cert-auth", "false", "2.2", "etcd_extra_vars="),
    ({"etcd_extra_vars": {"auto-tls": "true"}, "kubeguard_allow_override": {"etcd.auto-tls": "lab"}}, "etcd", "auto-tls", "true", "2.3", "etcd_extra_vars="),
    ({"kube_controller_feature_gates": ["RotateKubeletServerCertificate=false"]}, "kube-controller-manager",
     "feature-gates", "RotateKubeletServerCertificate=false", "1.3.6", "kube_controller_feature_gates="),
    ({"kube_read_only_port": 10255}, "kubelet", "readOnlyPort", 10255, "4.2.4", "kube_read_only_port=10255"),
    ({"kubelet_make_iptables_util_chains": False}, "kubelet", "makeIPTablesUtilChains", False, "4.2.6",
     "kubelet_make_iptables_util_chains=false"),
    ({"kubelet_rotate_certificates": False}, "kubelet", "rotateCertificates", False, "4.2.10",
     "kubelet_rotate_certificates=false"),
    ({"kubelet_config_extra_args": {"authentication": {"anonymous": {"enabled": True}}},
      "kubeguard_allow_override": {"kubelet.authentication.anonymous.enabled": "legacy scraper"}},
     "kubelet", "authentication.anonymous.enabled", True, "4.2.1", "kubelet_config_extra_args="),
    ({"kubelet_config_extra_args": {"readOnlyPort": 10255}, "kubeguard_allow_override": {"kubelet.readOnlyPort": "old agent"}},
     "kubelet", "readOnlyPort", 10255, "4.2.4", "kubelet_config_extra_args="),
    ({"kubelet_streaming_connection_idle_timeout": "0s"}, "kubelet", "streamingConnectionIdleTimeout", None, None, None),
]


@pytest.mark.parametrize("variables, component, key, value, control, reason", USER_WEAKENINGS)
def test_the_users_own_weakening_is_applied_and_waived(kubeadm_node, variables, component, key, value, control, reason):
    layout, state = kubeadm_node
    if control is None:   # refused before any plan: not a valid duration
        with pytest.raises(hv.HardeningVarsError):
            hv.validate(variables)
        return
    result = never_weaker.plan(hv.validate(variables), layout, state)
    assert result["settings"][component][key] == value
    assert control in result["waived"], result["waived"]
    assert result["waived"][control].startswith("weakened by your variable ") and reason in result["waived"][control]
    # the same on the next run, when the node already runs the user's value
    after = never_weaker.overlay(state, component, result["settings"][component], hv.validate(variables))
    again = never_weaker.plan(hv.validate(variables), layout, after)
    assert again["waived"].get(control) == result["waived"][control]


def test_a_user_choice_that_only_lacks_a_hardening_is_a_plain_failure(kubeadm_node):
    """Listing admission plugins without EventRateLimit does not weaken 1.2.9 (kubeadm lacks it too):
    no waiver hides the failure."""
    layout, state = kubeadm_node
    result = never_weaker.plan(hv.validate({"kube_apiserver_enable_admission_plugins": ["NodeRestriction"]}), layout, state)
    assert "1.2.9" not in result["waived"] and result["waived"] == {}


def test_dropping_noderestriction_by_the_users_list_is_waived(kubeadm_node):
    layout, state = kubeadm_node
    assert "NodeRestriction" in state["components"]["kube-apiserver"]["flags"]["enable-admission-plugins"]
    result = never_weaker.plan(hv.validate({"kube_apiserver_enable_admission_plugins": ["AlwaysPullImages"]}), layout, state)
    assert "kube_apiserver_enable_admission_plugins=" in result["waived"]["1.2.14"]


def test_the_users_kube_owner_is_applied_and_waived(kubeadm_node):
    layout, state = kubeadm_node
    result = never_weaker.plan(hv.validate({"kube_owner": "kube", "kube_cert_group": "kube-cert"}), layout, state)
    assert (result["pki_owner"], result["pki_group"]) == ("kube", "kube-cert")
    assert set(result["waived"]) == {"1.1.19", "4.1.8"}
    assert "kube_owner=kube" in result["waived"]["1.1.19"]
    result = never_weaker.plan(hv.validate({"kube_owner": "root", "kube_cert_group": "root"}), layout, state)
    assert (result["pki_owner"], result["pki_group"]) == ("root", "root") and result["waived"] == {}


def test_the_seed_file_weakens_nothing_on_kubeadm(kubeadm_node):
    layout, state = kubeadm_node
    with open(SEED, encoding="utf-8") as handle:
        values = hv.validate(yaml.safe_load(handle))
    result = never_weaker.plan(values, layout, state)
    assert result["waived"] == {} and result["kept"] == []


def test_override_reason_appears_in_the_waiver(kubeadm_node):
    layout, state = kubeadm_node
    values = hv.validate({"kube_profiling": True,
                          "kubeguard_allow_override": {"kube-apiserver.profiling": "pprof needed for a perf case"}})
    result = never_weaker.plan(values, layout, state)
    assert result["waived"]["1.2.15"].endswith(": pprof needed for a perf case")


def test_waivers_reach_the_report(kubeadm_node):
    layout, state = kubeadm_node
    values = hv.validate({"kube_profiling": True})
    result = never_weaker.plan(values, layout, state)
    after = never_weaker.overlay(state, "kube-apiserver", result["settings"]["kube-apiserver"], values)
    results = {r["id"]: r for r in audit.audit(after, ["control_plane"], result["waived"])}
    assert results["1.2.15"]["status"] == "waived" and "kube_profiling=true" in results["1.2.15"]["waiver"]
    assert results["1.2.15"]["check_passed"] is False


def test_abac_kept_by_override_is_waived_with_the_users_reason(kubeadm_node):
    layout, state = kubeadm_node
    values = hv.validate({"authorization_modes": ["Node", "RBAC", "ABAC"],
                          "kube_kubeadm_apiserver_extra_args": {"authorization-policy-file": "/etc/kubernetes/abac.jsonl"},
                          "kubeguard_allow_override": {"kube-apiserver.authorization-mode": "legacy policy until 2027"}})
    result = never_weaker.plan(values, layout, state)
    assert result["settings"]["kube-apiserver"]["authorization-mode"] == "Node,RBAC,ABAC"
    assert result["waived"]["K.9"].startswith("weakened by your variable authorization_modes=")
    assert result["waived"]["K.9"].endswith(": legacy policy until 2027")
