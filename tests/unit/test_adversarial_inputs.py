"""Inputs a hostile or careless user could pass: each is refused before anything is planned, naming
the variable (and what to do instead). Classes: types, control characters, overrides of hardened
settings through extra args, paths, allow lists meaning everyone, values the components refuse at
start, typos. Validation runs on the controller before any node is contacted (the validate play is
any_errors_fatal), so nothing on a host changes."""

from __future__ import annotations

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils import desired, hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils import catalogue

ADVERSARIAL = [
    # --- types -------------------------------------------------------------------------------------
    ({"kube_profiling": "false"}, "kube_profiling", "boolean"),
    ({"kube_profiling": 0}, "kube_profiling", "boolean"),
    ({"kube_read_only_port": "0"}, "kube_read_only_port", "whole number"),
    ({"kube_read_only_port": 70000}, "kube_read_only_port", "0 to 65535"),
    ({"kube_read_only_port": True}, "kube_read_only_port", "whole number"),
    ({"audit_log_maxage": -1}, "audit_log_maxage", ">= 1"),
    ({"audit_log_maxsize": 1.5}, "audit_log_maxsize", "whole number"),
    ({"authorization_modes": "Node,RBAC"}, "authorization_modes", "list"),
    ({"tls_cipher_suites": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, "tls_cipher_suites", "list"),
    ({"kube_kubeadm_apiserver_extra_args": ["profiling=false"]}, "kube_kubeadm_apiserver_extra_args", "mapping"),
    ({"kube_kubeadm_apiserver_extra_args": {"--profiling": "false"}}, "kube_kubeadm_apiserver_extra_args", "invalid flag name"),
    ({"kube_kubeadm_apiserver_extra_args": {"oidc-groups": ["a"]}}, "kube_kubeadm_apiserver_extra_args", "non-scalar"),
    ({"kubelet_config_extra_args": {"kind": "Pod"}}, "kubelet_config_extra_args", "invalid field name"),
    ({"kube_apiserver_admission_event_rate_limits": {"l": {"type": "Namespace", "qps": "50", "burst": 1}}},
     "kube_apiserver_admission_event_rate_limits", "whole number"),
    ({"kube_owner": "Root User"}, "kube_owner", "user or group name"),
    ({"kube_version": "latest"}, "kube_version", "Kubernetes release"),
    # --- control characters and lookalike digits ---------------------------------------------------
    ({"etcd_extra_vars": {"listen-metrics-urls": "http://127.0.0.1:2381\nETCD_CLIENT_CERT_AUTH=false"}},
     "etcd_extra_vars", "control character"),
    ({"kube_kubeadm_apiserver_extra_args": {"event-ttl": "1h\r"}}, "kube_kubeadm_apiserver_extra_args", "control character"),
    ({"kubelet_config_extra_args": {"maxPods": 10, "evictionHard": {"memory.available\n": "1Gi"}}},
     "kubelet_config_extra_args", "control character"),
    ({"kube_apiserver_request_timeout": "120s\n"}, "kube_apiserver_request_timeout", "control character"),
    ({"kube_apiserver_request_timeout": "١٢٠s"}, "kube_apiserver_request_timeout", "Go duration"),   # Arabic-Indic digits
    ({"kube_version": "v1.3４.4"}, "kube_version", "Kubernetes release"),                               # full-width 4
    ({"kube_pod_security_default_enforce_version": "v1.34\n"}, "kube_pod_security_default_enforce_version", "control character"),
    ({"kube_controller_feature_gates": ["RotateKubeletServerCertificate=true\n"]}, "kube_controller_feature_gates", "control character"),
    ({"kube_owner": "root\x00"}, "kube_owner", "control character"),
    ({"kubelet_secure_addresses": "10.0.0.0/8\tany"}, "kubelet_secure_addresses", "control character"),
    ({"kube_pod_security_exemptions_namespaces": ["kube-system", "evil\x1b[2J"]},
     "kube_pod_security_exemptions_namespaces", "control character"),
    ({"audit_policy_custom_rules": [{"level": "None", "users": ["a\nb"]}]}, "audit_policy_custom_rules", "control character"),
    ({"kube_apiserver_admission_plugins_podnodeselector_default_node_selector": "env=prod\n"},
     "kube_apiserver_admission_plugins_podnodeselector_default_node_selector", "control character"),
    # --- extra args that would override what we harden ----------------------------------------------
    ({"kube_kubeadm_apiserver_extra_args": {"authorization-mode": "AlwaysAllow"}},
     "kube_kubeadm_apiserver_extra_args", "use authorization_modes"),
    ({"kube_kubeadm_apiserver_extra_args": {"anonymous-auth": "true"}, "kube_api_anonymous_auth": False},
     "kube_kubeadm_apiserver_extra_args", "kube-apiserver.anonymous-auth"),
    ({"kube_kubeadm_apiserver_extra_args": {"tls-min-version": "VersionTLS10"}},
     "kube_kubeadm_apiserver_extra_args", "use tls_min_version"),
    ({"kube_kubeadm_apiserver_extra_args": {"profiling": "true"}}, "kube_kubeadm_apiserver_extra_args", "use kube_profiling"),
    ({"kube_kubeadm_apiserver_extra_args": {"service-account-lookup": False}},
     "kube_kubeadm_apiserver_extra_args", "kube_apiserver_service_account_lookup"),
    ({"kube_kubeadm_apiserver_extra_args": {"request-timeout": "300s"}}, "kube_kubeadm_apiserver_extra_args",
     "kube_apiserver_request_timeout"),
    ({"kube_kubeadm_apiserver_extra_args": {"encryption-provider-config": "/tmp/enc.yaml"}, "kube_encrypt_secret_data": True},
     "kube_kubeadm_apiserver_extra_args", "kube_encrypt_secret_data"),
    ({"kube_kubeadm_controller_extra_args": {"bind-address": "0.0.0.0"}},
     "kube_kubeadm_controller_extra_args", "kube_controller_manager_bind_address"),
    ({"kube_kubeadm_controller_extra_args": {"use-service-account-credentials": "false"}},
     "kube_kubeadm_controller_extra_args", "it is always hardened"),
    ({"kube_kubeadm_scheduler_extra_args": {"bind-address": "0.0.0.0"}},
     "kube_kubeadm_scheduler_extra_args", "kube_scheduler_bind_address"),
    ({"etcd_extra_vars": {"client-cert-auth": "false"}}, "etcd_extra_vars", "etcd.client-cert-auth"),
    ({"etcd_extra_vars": {"peer-auto-tls": "true"}}, "etcd_extra_vars", "etcd.peer-auto-tls"),
    ({"kubelet_config_extra_args": {"readOnlyPort": 10255}}, "kubelet_config_extra_args", "use kube_read_only_port"),
    ({"kubelet_config_extra_args": {"authentication": {"anonymous": {"enabled": True}}}},
     "kubelet_config_extra_args", "kubelet.authentication.anonymous.enabled"),
    ({"kubelet_config_extra_args": {"authentication.webhook.enabled": False}},
     "kubelet_config_extra_args", "kubelet_authentication_token_webhook"),
    ({"kubelet_config_extra_args": {"protectKernelDefaults": False}}, "kubelet_config_extra_args",
     "kubelet_protect_kernel_defaults"),
    ({"kubelet_config_extra_args": {"tlsMinVersion": "VersionTLS10"}}, "kubelet_config_extra_args", "tls_min_version"),
    # --- paths -------------------------------------------------------------------------------------
    ({"audit_log_path": "/var/log/../../etc/shadow"}, "audit_log_path", "normalised"),
    ({"audit_log_path": "var/log/audit.log"}, "audit_log_path", "absolute"),
    ({"audit_log_path": "/var/log/audit/"}, "audit_log_path", "normalised"),
    ({"audit_log_path": "//var/log/audit.log"}, "audit_log_path", "normalised"),
    ({"audit_log_path": "/etc"}, "audit_log_path", "system directory"),
    ({"audit_policy_file": "/etc/kubernetes/./audit.yaml"}, "audit_policy_file", "normalised"),
    ({"etcd_data_dir": "/var/lib"}, "etcd_data_dir", "system directory"),
    ({"etcd_data_dir": "/"}, "etcd_data_dir", "system directory"),
    ({"kube_config_dir": "/etc"}, "kube_config_dir", "system directory"),
    ({"audit_log_path": "/var/log/" + "a" * 5000}, "audit_log_path", "absolute path"),
    # --- allow lists that mean everyone ------------------------------------------------------------
    ({"kubelet_secure_addresses": "localhost 0.0.0.0/0"}, "kubelet_secure_addresses", "everyone"),
    ({"kubelet_secure_addresses": "::/0"}, "kubelet_secure_addresses", "everyone"),
    ({"kubelet_secure_addresses": "0.0.0.0/1 128.0.0.0/1"}, "kubelet_secure_addresses", "large part of the internet"),
    ({"kubelet_secure_addresses": "any"}, "kubelet_secure_addresses", "'any'"),
    ({"kubelet_secure_addresses": "10.0.0.0/8 example.com"}, "kubelet_secure_addresses", "malformed"),
    # --- values a component refuses when it starts ---------------------------------------------------
    ({"authorization_modes": ["Node", "RBAC", "Node"]}, "authorization_modes", "more than once"),
    ({"authorization_modes": ["Node", "RBAC", "Webhook"]}, "authorization_modes", "authorization-webhook-config-file"),
    ({"authorization_modes": ["AlwaysDeny"]}, "authorization_modes", "refuses every request"),
    ({"authorization_modes": ["Node", "AlwaysAllow"]}, "authorization_modes", "authorises every request"),
    ({"kube_apiserver_enable_admission_plugins": ["NodeRestriction", "ImagePolicyWebhook"]},
     "kube_apiserver_enable_admission_plugins", "ImagePolicyWebhook needs"),
    ({"kube_apiserver_enable_admission_plugins": ["NodeRestriction", "NodeRestriction"]},
     "kube_apiserver_enable_admission_plugins", "more than once"),
    ({"kube_apiserver_enable_admission_plugins": ["PodSecurityPolicy"]}, "kube_apiserver_enable_admission_plugins", "removed"),
    ({"kube_apiserver_request_timeout": "48h"}, "kube_apiserver_request_timeout", "longer than 24h"),
    ({"kube_apiserver_request_timeout": "0s"}, "kube_apiserver_request_timeout", "positive"),
    ({"kubelet_feature_gates": ["RotateKubeletServerCertificate=true", "RotateKubeletServerCertificate=false"]},
     "kubelet_feature_gates", "both true and false"),
    ({"kube_feature_gates": ["SeccompDefault=false"], "kube_version": "v1.30.0"}, "kube_feature_gates", "cannot be honoured"),
    ({"tls_min_version": "VersionTLS10"}, "tls_min_version", "insecure"),
    ({"tls_cipher_suites": ["TLS_RSA_WITH_RC4_128_SHA"]}, "tls_cipher_suites", "insecure"),
    ({"kube_encrypt_secret_data": True, "kube_encryption_resources": []}, "kube_encryption_resources", "empty"),
    ({"kube_apiserver_enable_admission_plugins": ["EventRateLimit"]}, "kube_apiserver_admission_control_config_file",
     "needs its config file"),
    # --- typos, with kubeguard_strict_variables ------------------------------------------------------
    ({"kubeguard_strict_variables": True, "_present": ["kubelet_protect_kernel_default"]},
     "kubelet_protect_kernel_default", "did you mean kubelet_protect_kernel_defaults"),
    ({"kubeguard_strict_variables": True, "_present": ["kube_encrypt_secrets_data"]},
     "kube_encrypt_secrets_data", "did you mean kube_encrypt_secret_data"),
    ({"kubeguard_allow_override": {"kube-apiserver.profiling": ""}}, "kubeguard_allow_override", "no usable reason"),
    ({"kubeguard_allow_override": {"kube-apiserver.--profiling": "x"}}, "kubeguard_allow_override", "invalid key"),
]


@pytest.mark.parametrize("variables, variable, expected", ADVERSARIAL,
                         ids=[f"{i:02d}-{v[1]}" for i, v in enumerate(ADVERSARIAL)])
def test_adversarial_input_is_refused_naming_the_variable(variables, variable, expected):
    variables = dict(variables)
    present = variables.pop("_present", ())
    with pytest.raises(hv.HardeningVarsError) as error:
        hv.validate(variables, present)
    line = next((p for p in error.value.problems if p.startswith(variable + ":")), None)
    assert line is not None, error.value.problems
    assert expected in line, line


def test_there_are_at_least_sixty():
    assert len(ADVERSARIAL) >= 60


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
