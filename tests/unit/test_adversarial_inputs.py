"""How the validation treats hostile or careless inputs beyond single rows: every problem at once, combinations,
deliberate overrides, merged kubelet fields, typos, kubespray's formats. The single hostile inputs are rows of
tests/hostile_inputs.py. Validation runs on the controller before any node is contacted (the validate play is
any_errors_fatal), so nothing on a host changes."""

from __future__ import annotations

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue

# The refusals of single hostile inputs are rows of tests/hostile_inputs.py (judged by test_never_weaker_whole_audit).


def test_every_problem_at_once_including_combinations_of_valid_variables():
    """One run shows everything: a bad type, a bad path and a combination of two valid variables."""
    with pytest.raises(hv.HardeningVarsError) as error:
        hv.validate({"kube_profiling": "yes", "audit_log_path": "/var/log/../x",
                     "kube_apiserver_enable_admission_plugins": ["EventRateLimit"],
                     "kube_apiserver_admission_event_rate_limits": {"l": {"type": "Server", "qps": 1, "burst": 1}}})
    names = [p.split(":", 1)[0] for p in error.value.problems]
    assert names == ["kube_profiling", "audit_log_path", "kube_apiserver_admission_control_config_file"]


def test_a_combination_involving_an_invalid_variable_is_not_reported_twice():
    with pytest.raises(hv.HardeningVarsError) as error:
        hv.validate({"kube_encrypt_secret_data": "yes", "kube_encryption_resources": []})
    assert [p.split(":", 1)[0] for p in error.value.problems] == ["kube_encrypt_secret_data"]


def test_the_hardened_value_itself_may_be_repeated_in_extra_args():
    """kubespray's guide sets kube_kubeadm_scheduler_extra_args: {profiling: false} - the same value."""
    values = hv.validate({"kube_kubeadm_scheduler_extra_args": {"profiling": False}})
    assert values["kube_kubeadm_scheduler_extra_args"] == {"profiling": False}


def test_an_override_with_a_reason_lets_the_user_weaken_deliberately():
    values = hv.validate({"kube_kubeadm_apiserver_extra_args": {"profiling": "true"},
                          "kubeguard_allow_override": {"kube-apiserver.profiling": "pprof during an incident"}})
    layout = catalogue.layout_for("kubeadm")
    assert desired.component_flags(values, layout, "kube-apiserver")["profiling"] == "true"


def test_kubelet_struct_extras_are_merged_field_by_field():
    """A mapping for `authentication` sets its fields; it does not replace the block (and the hardened
    anonymous/webhook fields in it)."""
    values = hv.validate({"kubelet_config_extra_args": {"authentication": {"webhook": {"cacheTTL": "30s"}},
                                                        "evictionHard": {"memory.available": "200Mi"}}})
    fields = desired.kubelet_fields(values, catalogue.layout_for("kubeadm"))
    assert fields["authentication.webhook.cacheTTL"] == "30s"
    assert fields["authentication.anonymous.enabled"] is False and fields["authentication.webhook.enabled"] is True
    assert fields["evictionHard"] == {"memory.available": "200Mi"}      # a map field stays whole
    assert hv.validate(values) == values                                # validating again changes nothing


def test_typos_warn_by_default():
    values = hv.validate({}, ["kubelet_protect_kernel_default", "kube_network_plugin", "kubeguard_layout"])
    assert values["_notes"] == ["kubelet_protect_kernel_default: not a hardening variable - did you mean"
                                " kubelet_protect_kernel_defaults? (it is ignored as written)"]


def test_kubesprays_current_formats_are_accepted():
    values = hv.validate({"kube_version": "1.33.1",
                          "audit_policy_custom_rules": "- level: Metadata\n  resources:\n  - group: ''\n    resources: [secrets]\n",
                          "kube_pods_subnet_ipv6": "fd85:ee78:d8a6:8607::1:0000/112",
                          "kube_feature_gates": ["RotateKubeletServerCertificate=true"],
                          "kubelet_feature_gates": ["RotateKubeletServerCertificate=false"],
                          "kubelet_secure_addresses": "localhost link-local 10.233.64.0/18 192.168.10.110"})
    assert values["kube_version"] == "v1.33.1"
    assert values["audit_policy_custom_rules"] == [{"level": "Metadata", "resources": [{"group": "", "resources": ["secrets"]}]}]
    assert values["kube_apiserver_feature_gates"] == ["RotateKubeletServerCertificate=true"]
    assert values["kubelet_feature_gates"] == ["RotateKubeletServerCertificate=false"]   # a component's own list wins
    assert "fd85:ee78:d8a6:8607::1:0/112" in " ".join(desired.kubelet_secure_addresses(values, [], [])) or \
        "fd85:ee78:d8a6:8607::1:0000/112" in desired.kubelet_secure_addresses(values, [], [])
    assert hv.validate(values) == values
    with pytest.raises(hv.HardeningVarsError, match="audit_policy_custom_rules"):
        hv.validate({"audit_policy_custom_rules": "- level: Everything\n"})
