"""The variable model: the seed validates, defaults are kubespray's, and every bad input is refused
with a message naming the variable, the value and what is allowed."""

from __future__ import annotations

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv


def test_seed_hardening_yaml_validates(seed_vars):
    values = hv.validate(seed_vars)
    assert values["kube_apiserver_request_timeout"] == "120s"
    assert values["kube_encryption_algorithm"] == "secretbox"
    assert values["kubelet_secure_addresses"] == "192.168.10.110 192.168.10.111 192.168.10.112"
    # variables the seed does not set come from kubespray's defaults
    assert values["kube_pod_security_exemptions_namespaces"] == ["kube-system"]
    assert values["audit_policy_file"] == "/etc/kubernetes/audit-policy/apiserver-audit-policy.yaml"


def test_every_seed_variable_is_modelled(seed_vars):
    assert sorted(set(seed_vars) - set(hv.VARIABLES_BY_NAME)) == []


def test_current_guide_variables_are_accepted():
    values = hv.validate({
        "remove_anonymous_access": True, "kubelet_authorization_mode_webhook": True,
        "kube_apiserver_admission_plugins_needs_configuration": ["EventRateLimit", "PodSecurity", "PodNodeSelector"],
        "kube_apiserver_admission_plugins_podnodeselector_default_node_selector": "kubernetes.io/os=linux",
        "kubelet_secure_addresses": "localhost link-local 10.233.64.0/18 192.168.10.110",
    })
    assert values["remove_anonymous_access"] is True


def test_defaults_are_fresh_copies():
    first = hv.defaults()
    first["authorization_modes"].append("Webhook")
    assert hv.defaults()["authorization_modes"] == ["Node", "RBAC"]


def test_unrelated_inventory_variables_are_ignored():
    assert hv.validate({"ansible_host": "10.0.0.1", "kube_network_plugin": "calico"})["kube_profiling"] is False


RATE_OK = {"type": "Namespace", "qps": 50, "burst": 100}

INVALID = [
    # (variable, bad value, a word the message must contain about what is allowed)
    ("authorization_modes", ["Node", "RBCA"], "RBAC"),
    ("authorization_modes", "Node,RBAC", "list"),
    ("authorization_modes", ["AlwaysAllow"], "AlwaysAllow"),
    ("authorization_modes", [], "at least one"),
    ("kube_api_anonymous_auth", "false", "boolean"),
    ("kube_apiserver_feature_gates", ["AppArmor"], "Name=true"),
    ("kube_apiserver_feature_gates", ["AppArmor=yes"], "Name=true"),
    ("kube_apiserver_request_timeout", "120", "duration"),
    ("kube_apiserver_request_timeout", "2 minutes", "duration"),
    ("kube_apiserver_request_timeout", "0s", "positive"),
    ("kube_apiserver_request_timeout", 120, "duration"),
    ("kube_apiserver_service_account_lookup", "yes", "boolean"),
    ("kube_profiling", 0, "boolean"),
    ("kubernetes_audit", None, "boolean"),
    ("audit_log_path", "var/log/audit.log", "absolute"),
    ("audit_log_maxage", 0, ">= 1"),
    ("audit_log_maxage", -5, ">= 1"),
    ("audit_log_maxbackups", "10", "whole number"),
    ("audit_log_maxsize", 0, ">= 1"),
    ("audit_log_maxsize", 10.5, "whole number"),
    ("audit_policy_file", "audit.yaml", "absolute"),
    ("tls_min_version", "VersionTLS10", "insecure"),
    ("tls_min_version", "TLS12", "VersionTLS12"),
    ("tls_cipher_suites", ["TLS_RSA_WITH_RC4_128_SHA"], "insecure"),
    ("tls_cipher_suites", ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA384"], "cipher suite name"),
    ("tls_cipher_suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "list"),
    ("kube_encrypt_secret_data", "true", "boolean"),
    ("kube_encryption_algorithm", "aes256", "secretbox"),
    ("kube_encryption_algorithm", "kms", "aescbc"),
    ("kube_encryption_resources", "secrets", "list"),
    ("kube_apiserver_enable_admission_plugins", ["PodSecurityPolicy"], "admission plugin"),
    ("kube_apiserver_enable_admission_plugins", ["EventRatelimit"], "EventRateLimit"),
    ("kube_apiserver_disable_admission_plugins", ["Foo"], "ServiceAccount"),
    ("kube_apiserver_admission_control_config_file", "yes", "boolean"),
    ("kube_apiserver_admission_event_rate_limits", {"l1": {"type": "Pod", "qps": 1, "burst": 1}}, "Namespace"),
    ("kube_apiserver_admission_event_rate_limits", {"l1": {"type": "User", "qps": 0, "burst": 1}}, ">= 1"),
    ("kube_apiserver_admission_event_rate_limits", {"l1": {"type": "User", "qps": 5, "burst": -1}}, ">= 1"),
    ("kube_apiserver_admission_event_rate_limits", {"l1": {"type": "User", "qps": 5, "burst": 5, "cache_size": 0}}, ">= 1"),
    ("kube_apiserver_admission_event_rate_limits", {"l1": {"type": "Server", "qps": 5, "burst": 5, "cache_size": 10}}, "Server"),
    ("kube_apiserver_admission_event_rate_limits", {"l1": dict(RATE_OK, cachesize=5)}, "cache_size"),
    ("kube_apiserver_admission_event_rate_limits", [RATE_OK], "mapping"),
    ("kube_pod_security_default_enforce", "strict", "restricted"),
    ("kube_pod_security_default_audit", "Restricted", "restricted"),
    ("kube_pod_security_default_enforce_version", "1.34", "latest"),
    ("kube_pod_security_default_enforce_version", "v1.034", "latest"),   # kube-apiserver refuses a leading zero
    ("kube_pod_security_exemptions_namespaces", "kube-system", "list"),
    ("kube_controller_manager_bind_address", "localhost", "IP address"),
    ("kube_controller_manager_bind_address", "127.0.0.256", "IP address"),
    ("kube_scheduler_bind_address", "0.0.0.0:10259", "IP address"),
    ("kube_controller_terminated_pod_gc_threshold", 0, ">= 1"),
    ("kube_controller_terminated_pod_gc_threshold", "50", "whole number"),
    ("kube_controller_feature_gates", "RotateKubeletServerCertificate=true", "list"),
    ("kube_kubeadm_scheduler_extra_args", {"--profiling": False}, "flag name"),
    ("kube_kubeadm_scheduler_extra_args", {"profiling": [False]}, "non-scalar"),
    ("kube_kubeadm_scheduler_extra_args", ["profiling=false"], "mapping"),
    ("etcd_deployment_type", "docker", "kubeadm"),
    ("kubelet_config_extra_args", ["maxPods: 50"], "mapping"),
    ("kubelet_config_extra_args", {"max-pods": 50}, "field name"),
    ("kubelet_config_extra_args", {"kind": "Pod"}, "field name"),
    ("etcd_extra_vars", "listen-metrics-urls=http://0.0.0.0:2381", "mapping"),
    ("kube_read_only_port", 10255.0, "0 to 65535"),
    ("kube_read_only_port", 70000, "0 to 65535"),
    ("kube_read_only_port", "0", "0 to 65535"),
    ("kubelet_event_record_qps", -1, ">= 0"),
    ("kubelet_streaming_connection_idle_timeout", "5", "duration"),
    ("kubelet_streaming_connection_idle_timeout", "0", "positive"),
    ("kubelet_streaming_connection_idle_timeout", "5 m", "duration"),
    ("kubelet_feature_gates", ["SeccompDefault:true"], "Name=true"),
    ("kubelet_seccomp_default", "true", "boolean"),
    ("kubelet_systemd_hardening", 1, "boolean"),
    ("kubelet_secure_addresses", "192.168.10.300", "malformed"),
    ("kubelet_secure_addresses", "192.168.10.110,192.168.10.111", "malformed"),
    ("kubelet_secure_addresses", ["192.168.10.110"], "space-separated"),
    ("kubelet_secure_addresses", "any", "any"),
    ("kubelet_secure_addresses", "10.0.0.0/33", "malformed"),
    ("kube_pods_subnet", "10.233.64.0/40", "CIDR"),
    ("kube_owner", "Root User", "user or group name"),
    ("kube_cert_group", 0, "user or group name"),
    ("kubelet_pod_pids_limit", -2, ">= -1"),
    ("kube_version", "1.x", "v1.34.4"),
    ("kubeguard_allow_override", ["kube-apiserver.authorization-mode"], "mapping of component.flag"),
    ("kubeguard_allow_override", {"apiserver.authorization-mode": "x"}, "invalid key"),
    ("kubeguard_allow_override", {"kube-apiserver.--profiling": "x"}, "invalid key"),
    ("kubeguard_allow_override", {"kube-apiserver.profiling": ""}, "no usable reason"),
    ("kubeguard_allow_override", {"kube-apiserver.profiling": "ok\nkube-apiserver.x: y"}, "control character"),
    ("kubeguard_allow_override", {"kube-apiserver.profiling": True}, "no usable reason"),
    ("kubeguard_allow_override", {"kubelet.read-only-port": "x"}, "invalid key"),
]


@pytest.mark.parametrize("name,value,allowed", INVALID, ids=[f"{n}={v!r}" for n, v, _ignored in INVALID])
def test_invalid_input_names_variable_value_and_what_is_allowed(name, value, allowed):
    with pytest.raises(hv.HardeningVarsError) as caught:
        hv.validate({name: value})
    message = str(caught.value)
    assert name in message
    assert allowed in message
    if value not in ([],):
        assert repr(value)[:20] in message or str(value)[:20] in message


def test_invalid_table_is_large_enough():
    assert len(INVALID) >= 40


def test_all_problems_are_reported_at_once():
    with pytest.raises(hv.HardeningVarsError) as caught:
        hv.validate({"kube_profiling": "no", "audit_log_maxage": -1, "tls_min_version": "VersionTLS11"})
    assert len(caught.value.problems) == 3


@pytest.mark.parametrize("user_vars,variable", [
    ({"kube_apiserver_enable_admission_plugins": ["AlwaysPullImages"],
      "kube_apiserver_disable_admission_plugins": ["AlwaysPullImages"]}, "kube_apiserver_disable_admission_plugins"),
    ({"kube_encrypt_secret_data": True, "kube_encryption_resources": []}, "kube_encryption_resources"),
    ({"kube_apiserver_enable_admission_plugins": ["EventRateLimit"],
      "kube_apiserver_admission_event_rate_limits": {"l": RATE_OK}}, "kube_apiserver_admission_control_config_file"),
    ({"kube_apiserver_enable_admission_plugins": ["EventRateLimit"],
      "kube_apiserver_admission_control_config_file": True}, "kube_apiserver_admission_event_rate_limits"),
])
def test_cross_variable_problems(user_vars, variable):
    with pytest.raises(hv.HardeningVarsError) as caught:
        hv.validate(user_vars)
    assert variable in str(caught.value)


@pytest.mark.parametrize("duration", ["120s", "5m", "1h30m", "4h0m0s", "1.5h", "30000ms"])
def test_go_durations_accepted(duration):
    assert hv.validate({"kube_apiserver_request_timeout": duration})["kube_apiserver_request_timeout"] == duration


@pytest.mark.parametrize("address", ["127.0.0.1", "0.0.0.0", "::", "::1", "10.89.0.10"])
def test_bind_addresses_accepted(address):
    assert hv.validate({"kube_scheduler_bind_address": address})["kube_scheduler_bind_address"] == address


def test_removed_gate_at_its_locked_value_is_dropped_with_a_note(seed_vars):
    values = hv.validate(seed_vars)   # the guide still lists SeccompDefault=true
    assert values["kubelet_feature_gates"] == ["RotateKubeletServerCertificate=true"]
    assert any("SeccompDefault" in note and "v1.29" in note for note in values["_notes"])


def test_removed_gate_is_kept_for_older_releases():
    values = hv.validate({"kube_version": "v1.28.6", "kubelet_feature_gates": ["SeccompDefault=true"]})
    assert values["kubelet_feature_gates"] == ["SeccompDefault=true"]
    assert [note for note in values["_notes"] if "SeccompDefault" in note] == []   # (only: no component data for v1.28)


def test_removed_gate_asked_the_other_way_fails():
    with pytest.raises(hv.HardeningVarsError, match="kubelet_feature_gates: 'SeccompDefault=false' cannot be honoured"):
        hv.validate({"kube_version": "v1.34.4", "kubelet_feature_gates": ["SeccompDefault=false"]})


def test_without_kube_version_a_gate_is_judged_at_the_version_the_node_runs():
    """kube_version not given: SeccompDefault=false is fine on a 1.28 node and refused on a 1.29 one, so the
    controller cannot refuse it; the node's plan judges it at what runs (at_version)."""
    values = hv.validate({"kubelet_feature_gates": ["SeccompDefault=false"]})
    older, notes = hv.at_version(values, "v1.28.6")
    assert older["kubelet_feature_gates"] == ["SeccompDefault=false"] and notes == []
    with pytest.raises(hv.HardeningVarsError, match="kubelet_feature_gates: 'SeccompDefault=false' cannot be honoured"):
        hv.at_version(values, "v1.36.1")


def test_abac_is_refused_unless_deliberately_kept():
    with pytest.raises(hv.HardeningVarsError) as caught:
        hv.validate({"authorization_modes": ["Node", "ABAC", "RBAC"]})
    message = str(caught.value)
    assert "authorization_modes" in message and "'ABAC'" in message and "kubeguard_allow_override" in message
    values = hv.validate({"authorization_modes": ["Node", "ABAC", "RBAC"],
                          "kube_kubeadm_apiserver_extra_args": {"authorization-policy-file": "/etc/kubernetes/abac.jsonl"},
                          "kubeguard_allow_override": {"kube-apiserver.authorization-mode": "legacy policy until 2027"}})
    assert values["authorization_modes"] == ["Node", "ABAC", "RBAC"]
    assert any("ABAC" in note and "legacy policy until 2027" in note for note in values["_notes"])


def test_bind_addresses_default_to_loopback_and_user_choices_are_recorded():
    values = hv.validate({"kube_profiling": True, "unrelated": 1})
    assert values["kube_controller_manager_bind_address"] == values["kube_scheduler_bind_address"] == "127.0.0.1"
    assert values["_given"] == ["kube_profiling"]
    assert hv.validate(values)["_given"] == ["kube_profiling"]     # re-validating keeps the user's own list


@pytest.mark.parametrize("name, value, words", [
    ("kubeguard_metadata_addresses", ["0.0.0.0/0"], "must not be a /0 network"),
    ("kubeguard_metadata_addresses", ["::/0"], "must not be a /0 network"),
    ("kubeguard_metadata_addresses", "169.254.169.254", "must be a list"),
    ("kubeguard_pod_security_namespace_levels", {"Shop": "baseline"}, "must be a namespace name"),
    ("kubeguard_pod_security_namespace_levels", {"shop": "strict"}, "must be one of privileged, baseline, restricted"),
    ("kubeguard_pod_security_labels", "on", "must be one of"),
    ("kubeguard_network_policy_ingress_from_namespaces", ["monitoring\n"], "control character"),
    ("kubeguard_network_policy_ingress_from_namespaces", ["kube_system"], "must be a namespace name"),
    ("kubeguard_cluster_policy_settle_seconds", 3600, "600"),
])
def test_cluster_scope_variables_refuse_what_would_weaken_or_break(name, value, words):
    with pytest.raises(hv.HardeningVarsError) as failure:
        hv.validate({name: value})
    assert name in str(failure.value) and words in str(failure.value)
