"""Values the components refuse, judged with the data their built binaries gave (component_data,
component_checks): each refusal names the variable, the value and what is allowed; each rule says why."""

from __future__ import annotations

import fnmatch
import os
import re

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.base import tls_names
from ansible_collections.kubeguard.hardening.plugins.module_utils.platform import component_data
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import component_checks as cc
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with open(os.path.join(REPO, "testbed", "versions.env"), encoding="utf-8") as _handle:
    PINNED = dict(line.split("#")[0].strip().split("=", 1) for line in _handle if "=" in line and not line.startswith("#"))
RELEASE = component_data.for_version(PINNED["KUBE_VERSION"])   # the test bed's: what the tests' figures are of


def refused(user_vars, variable):
    with pytest.raises(hv.HardeningVarsError) as caught:
        hv.validate(user_vars)
    lines = [p for p in caught.value.problems if p.startswith(variable + ":")]
    assert lines, caught.value.problems
    return lines[0]


# --- the data ------------------------------------------------------------------------------------------------

def test_the_data_covers_the_pinned_release_and_every_component():
    assert RELEASE is not None and RELEASE.exact
    assert RELEASE.data["kubernetes"] == PINNED["KUBE_VERSION"] and RELEASE.data["etcd"] == PINNED["ETCD_VERSION"]
    assert component_data.known_minors() == [34, 35, 36]
    for minor in component_data.known_minors():
        release = component_data.for_version(f"v1.{minor}.0")
        assert release.exact and release.data["kubernetes"].startswith(f"v1.{minor}."), minor
        for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "etcd"):
            assert len(release.flags(component)) > 50, (minor, component)
            for name, spec in release.gates(component).items():
                assert spec["stage"] in ("alpha", "beta", "ga", "deprecated") and isinstance(spec["default"], bool), name
                assert isinstance(spec["locked"], bool), name
    assert RELEASE.flags("kube-apiserver")["audit-log-maxage"]["type"] == "int"
    assert RELEASE.flags("kube-controller-manager")["terminated-pod-gc-threshold"]["type"] == "int32"
    assert "insecure-port" not in RELEASE.flags("kube-apiserver")
    assert RELEASE.gates("kube-apiserver")["APIServerTracing"] == {"stage": "ga", "default": True, "locked": True}
    assert RELEASE.tls_versions() == ["VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13"]


def test_the_cis_cipher_lists_are_names_the_components_accept():
    """tls_names keeps the benchmark's lists (the audit runs on nodes, where only Python travels): they must stay
    what the binaries call preferred, the kubelet's CIS list names the components take."""
    preferred, insecure = RELEASE.cipher_suites()
    assert list(tls_names.CIPHERS_STRONG) == preferred
    assert set(tls_names.KUBELET_CIPHERS_CIS) <= set(preferred) | set(insecure)
    assert not hasattr(tls_names, "CIPHERS_INSECURE") and not hasattr(tls_names, "TLS_VERSIONS_SECURE")   # the data's now


@pytest.mark.parametrize("version, minor, exact", [("v1.34.4", 34, True), ("1.34.0", 34, True), ("v1.33.1", 34, False),
                                                   ("v1.35.4", 35, True), ("v1.36.3+k3s1", 36, True),
                                                   ("v1.40.0", 36, False), (None, 36, False)])
def test_the_release_judging_a_cluster_is_its_own_or_the_nearest(version, minor, exact):
    release = component_data.for_version(version)
    assert (release.minor, release.exact) == (minor, exact)
    assert (release.note is None) == (exact or version is None)


def test_a_version_without_data_is_judged_with_the_nearest_and_said():
    values = hv.validate({"kube_version": "1.33.1"})
    assert any("no component data for v1.33" in note and "v1.34" in note for note in values["_notes"])
    line = refused({"kube_version": "1.33.1", "kube_apiserver_feature_gates": ["FooBarBaz=true"]}, "kube_apiserver_feature_gates")
    assert "the nearest release with data; the cluster runs v1.33.1" in line
    assert not [n for n in hv.validate({"kube_version": "v1.34.2"})["_notes"] if "component data" in n]


def test_the_data_files_go_into_the_galaxy_build():
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        ignored = yaml.safe_load(handle).get("build_ignore") or []
    for name in os.listdir(os.path.join(REPO, "plugins", "module_utils", "platform", "components")):
        path = f"plugins/module_utils/platform/components/{name}"
        assert not any(fnmatch.fnmatch(path, pattern) or path.startswith(pattern.rstrip("/") + "/") for pattern in ignored), path


def test_integer_variables_are_tied_to_their_flag_and_go_type():
    targets = cc.int_targets(hv.validate({}))
    assert targets["audit_log_maxage"] == ("kube-apiserver", "audit-log-maxage")
    assert targets["kube_controller_terminated_pod_gc_threshold"] == ("kube-controller-manager", "terminated-pod-gc-threshold")
    assert targets["kubelet_pod_pids_limit"] == ("kubelet", "pod-max-pids")
    assert targets["kubelet_event_record_qps"] == ("kubelet", "event-qps")
    assert {RELEASE.flags(c)[f]["type"] for c, f in targets.values()} <= set(cc.INT_RANGES)


# --- each refusal: variable, value, what is allowed -------------------------------------------------------------

REFUSALS = [
    ({"kube_apiserver_feature_gates": ["FooBarBaz=true"]}, "kube_apiserver_feature_gates", "'FooBarBaz=true'",
     "allowed: the gates `kube-apiserver --help` lists"),
    ({"kube_feature_gates": ["APIServerTracng=true"]}, "kube_feature_gates", "did you mean APIServerTracing?", "allowed:"),
    ({"kubelet_feature_gates": ["AppArmor=true"]}, "kubelet_feature_gates", "'AppArmor=true'", "not a feature gate of kubelet v1.34"),
    ({"kube_controller_feature_gates": ["APIServerTracing=false"]}, "kube_controller_feature_gates", "'APIServerTracing=false'",
     "allowed: APIServerTracing=true, or leave it out"),
    ({"kube_feature_gates": ["AllAlpha=true"]}, "kube_feature_gates", "'AllAlpha=true'",
     "kubeguard_allow_override: {kube-apiserver.feature-gates: <your reason>, kube-controller-manager.feature-gates"),
    ({"kube_apiserver_feature_gates": ["AllBeta=true"]}, "kube_apiserver_feature_gates", "'AllBeta=true'", "one by one"),
    ({"tls_cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]}, "tls_cipher_suites", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
     "allowed: a list with one of the two, or tls_min_version: VersionTLS13"),
    ({"kube_kubeadm_apiserver_extra_args": {"tls-cipher-suites": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
      "kubeguard_allow_override": {"kube-apiserver.tls-cipher-suites": "test"}}, "kube_kubeadm_apiserver_extra_args",
     "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "HTTP/2"),
    ({"tls_cipher_suites": ["TLS_RSA_WITH_AES_128_CBC_SHA"]}, "tls_cipher_suites", "TLS_RSA_WITH_AES_128_CBC_SHA", "Insecure values"),
    ({"tls_cipher_suites": ["TLS_FOO"]}, "tls_cipher_suites", "TLS_FOO", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ({"tls_min_version": "VersionTLS11"}, "tls_min_version", "VersionTLS11", "allowed: VersionTLS12, VersionTLS13"),
    ({"audit_log_maxage": 10 ** 22}, "audit_log_maxage", "10000000000000000000000", "allowed: a whole number up to 106751"),
    ({"audit_log_maxage": 106752}, "audit_log_maxage", "106752", "allowed: a whole number up to 106751"),
    ({"audit_log_maxsize": 8796093022208}, "audit_log_maxsize", "8796093022208", "up to 8796093022207"),
    ({"audit_log_maxbackups": 2 ** 63}, "audit_log_maxbackups", str(2 ** 63), "up to 9223372036854775807"),
    ({"kube_controller_terminated_pod_gc_threshold": 2 ** 31}, "kube_controller_terminated_pod_gc_threshold", "2147483648",
     "Go int32, at most 2147483647"),
    ({"kubelet_event_record_qps": 2 ** 31}, "kubelet_event_record_qps", "2147483648", "up to 2147483647"),
    ({"kubelet_pod_pids_limit": 2 ** 63}, "kubelet_pod_pids_limit", "9223372036854775808", "up to 9223372036854775807"),
    ({"kube_apiserver_admission_event_rate_limits": {"n": {"type": "Namespace", "qps": 1, "burst": 1, "cache_size": 2 ** 31}}},
     "kube_apiserver_admission_event_rate_limits", "2147483648", "allowed: 1 to 2147483647"),
    ({"kube_kubeadm_apiserver_extra_args": {"insecure-port": "0"}}, "kube_kubeadm_apiserver_extra_args", "insecure-port='0'",
     "allowed: the flags `kube-apiserver --help` lists"),
    ({"kube_kubeadm_controller_extra_args": {"node-monitor-perod": "5s"}}, "kube_kubeadm_controller_extra_args",
     "did you mean node-monitor-period?", "allowed:"),
    ({"etcd_extra_vars": {"experimental-initial-corrupt-chek": "true"}}, "etcd_extra_vars", "experimental-initial-corrupt-chek",
     "etcd v3.6.5 has no flag"),
    ({"kube_kubeadm_scheduler_extra_args": {"kube-api-qps": "fast"}}, "kube_kubeadm_scheduler_extra_args", "'fast'", "must be a number"),
    ({"kube_kubeadm_apiserver_extra_args": {"event-ttl": "1hour"}}, "kube_kubeadm_apiserver_extra_args", "'1hour'", "Go duration"),
    ({"kube_kubeadm_apiserver_extra_args": {"watch-cache": "yes"}}, "kube_kubeadm_apiserver_extra_args", "'yes'", "true or false"),
    ({"kube_kubeadm_controller_extra_args": {"concurrent-deployment-syncs": str(2 ** 31)}}, "kube_kubeadm_controller_extra_args",
     "2147483648", "from -2147483648 to 2147483647"),
    ({"kube_kubeadm_apiserver_extra_args": {"advertise-address": "10.0.0.300"}}, "kube_kubeadm_apiserver_extra_args", "10.0.0.300",
     "IP address"),
    ({"kube_pod_security_exemptions_usernames": [""]}, "kube_pod_security_exemptions_usernames", "['']", "not empty"),
    ({"kube_pod_security_exemptions_usernames": [" ci "]}, "kube_pod_security_exemptions_usernames", "' ci '", "without spaces"),
    ({"kube_pod_security_exemptions_usernames": ["ci", "ci"]}, "kube_pod_security_exemptions_usernames", "['ci']", "each once"),
    ({"kube_pod_security_exemptions_namespaces": ["Kube_System"]}, "kube_pod_security_exemptions_namespaces", "Kube_System",
     "DNS-1123 labels"),
    ({"kube_pod_security_exemptions_namespaces": ["n" * 64]}, "kube_pod_security_exemptions_namespaces", "n" * 64, "at most 63"),
    ({"kube_pod_security_exemptions_namespaces": [""]}, "kube_pod_security_exemptions_namespaces", "['']", "DNS-1123 labels"),
    ({"kube_pod_security_exemptions_runtime_class_names": ["gVisor"]}, "kube_pod_security_exemptions_runtime_class_names", "gVisor",
     "DNS-1123 subdomains"),
    ({"kube_pod_security_exemptions_runtime_class_names": ["kata", "kata"]}, "kube_pod_security_exemptions_runtime_class_names",
     "['kata']", "each once"),
    ({"kube_apiserver_request_timeout": "1ns"}, "kube_apiserver_request_timeout", "'1ns'", "allowed: 30s to 24h"),
    ({"kube_apiserver_request_timeout": "500ms"}, "kube_apiserver_request_timeout", "'500ms'", "allowed: 30s to 24h"),
    ({"kube_apiserver_request_timeout": "29s"}, "kube_apiserver_request_timeout", "'29s'", "allowed: 30s to 24h"),
    ({"authorization_modes": ["Node", "RBAC", "ABAC"], "kubeguard_allow_override": {"kube-apiserver.authorization-mode": "legacy"}},
     "authorization_modes", "'ABAC'", "--authorization-policy-file"),
    ({"kube_apiserver_enable_admission_plugins": ["AlwaysDeny"]}, "kube_apiserver_enable_admission_plugins", "AlwaysDeny",
     "allowed: the other plugins"),
    ({"kube_apiserver_admission_plugins_podnodeselector_default_node_selector": "os linux"},
     "kube_apiserver_admission_plugins_podnodeselector_default_node_selector", "'os linux'", "label=value pairs"),
    ({"audit_policy_custom_rules": [{"level": "None", "userz": ["ci"]}]}, "audit_policy_custom_rules", "'userz'",
     "allowed: level, users, userGroups"),
    ({"audit_policy_custom_rules": "- level: Metadata\n  verbs: get\n"}, "audit_policy_custom_rules", "'get'", "a list of strings"),
    ({"audit_policy_custom_rules": [{"level": "Metadata", "omitStages": ["Done"]}]}, "audit_policy_custom_rules", "'Done'",
     "allowed: RequestReceived"),
    ({"audit_policy_custom_rules": [{"level": "Metadata", "resources": [{"groups": ["apps"]}]}]}, "audit_policy_custom_rules",
     "'groups'", "{group: <string>"),
]


@pytest.mark.parametrize("user_vars, variable, value, allowed", REFUSALS, ids=[f"{i:02d}-{r[1]}" for i, r in enumerate(REFUSALS)])
def test_a_value_the_components_refuse_is_refused_naming_variable_value_and_what_is_allowed(user_vars, variable, value, allowed):
    line = refused(user_vars, variable)
    assert value in line and allowed in line, line


ACCEPTED = [
    {"kube_apiserver_request_timeout": "30s"}, {"kube_apiserver_request_timeout": "24h"},
    {"tls_cipher_suites": ["TLS_AES_128_GCM_SHA256"], "tls_min_version": "VersionTLS13"},
    {"tls_cipher_suites": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]},
    {"tls_cipher_suites": ["TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]},   # CIS 4.2.12 lists it
    {"audit_log_maxage": 106751, "audit_log_maxbackups": 2 ** 63 - 1, "audit_log_maxsize": 8796093022207},
    {"kube_controller_terminated_pod_gc_threshold": 2 ** 31 - 1, "kubelet_pod_pids_limit": 2 ** 63 - 1},
    {"kube_feature_gates": ["RotateKubeletServerCertificate=false", "AllAlpha=false"], "kubelet_feature_gates": ["KMSv1=true"]},
    {"kube_kubeadm_apiserver_extra_args": {"max-requests-inflight": "0x10", "watch-cache": True, "v": 2, "event-ttl": None}},
    {"etcd_extra_vars": {"quota-backend-bytes": "8589934592", "listen-metrics-urls": "http://127.0.0.1:2381"}},
    {"kube_pod_security_exemptions_usernames": ["system:serviceaccount:ci:runner"],
     "kube_pod_security_exemptions_namespaces": ["n" * 63], "kube_pod_security_exemptions_runtime_class_names": ["a.b-c.d"]},
    {"kube_apiserver_admission_plugins_podnodeselector_default_node_selector": "kubernetes.io/os=linux,tier="},
    {"audit_policy_custom_rules": [{"level": "Metadata", "resources": [{"group": "", "resources": ["secrets"]}],
                                    "omitStages": ["RequestReceived"], "omitManagedFields": True}]},
]


@pytest.mark.parametrize("user_vars", ACCEPTED, ids=[str(i) for i in range(len(ACCEPTED))])
def test_values_the_components_take_are_accepted(user_vars):
    hv.validate(user_vars)


def test_what_has_no_effect_or_is_kept_deliberately_is_said():
    notes = hv.validate({"kube_controller_feature_gates": ["APIServerTracing=true"]})["_notes"]
    assert any("'APIServerTracing=true' does nothing" in n and "locked to true" in n for n in notes)
    kept = hv.validate({"kube_apiserver_feature_gates": ["AllBeta=true"],
                        "kubeguard_allow_override": {"kube-apiserver.feature-gates": "lab cluster"}})
    assert kept["kube_apiserver_feature_gates"] == ["AllBeta=true"]
    assert any("'AllBeta=true' kept because kubeguard_allow_override names kube-apiserver.feature-gates" in n for n in kept["_notes"])
    hidden = hv.validate({"kube_kubeadm_apiserver_extra_args": {"some-hidden-flag": "1"},
                          "kubeguard_allow_override": {"kube-apiserver.some-hidden-flag": "our build has it"}})
    assert any("some-hidden-flag is not a flag of kube-apiserver v1.34; kept" in n for n in hidden["_notes"])


@pytest.mark.parametrize("kind, value, ok", [
    ("bool", "True", True), ("bool", "yes", False), ("int32", "-2147483648", True), ("int32", "2147483648", False),
    ("int", "0x7fffffffffffffff", True), ("int", "010", True), ("int", "08", False), ("int", "1e3", False),
    ("duration", "1h30m", True), ("duration", "-5s", True), ("duration", "5", False), ("float32", "0.5", True),
    ("ip", "::1", True), ("ip", "localhost", False), ("string", "anything", True), ("uint16", "65536", False)])
def test_flag_values_are_read_as_pflag_reads_them(kind, value, ok):
    assert (cc.flag_value_problem(kind, value) is None) == ok


def test_every_rule_says_why_and_its_examples_are_refused():
    assert {rule.reason for rule in cc.RULES} == {cc.COMPONENT_REFUSES, cc.WEAKENS, cc.BREAKS}
    for rule in cc.RULES:
        assert rule.why and rule.examples and rule.variables, rule
        for example, component, expected in rule.examples:
            assert bool(component and expected) == (rule.reason == cc.COMPONENT_REFUSES), rule
            with pytest.raises(hv.HardeningVarsError) as caught:
                hv.validate(example)
            assert any(p.split(":", 1)[0] in rule.variables for p in caught.value.problems), (rule.name, caught.value.problems)


@pytest.mark.parametrize("variable, gate, ok_at, refused_at", [
    # removed in v1.35, not locked before (an alpha gate: its behaviour is no value one can ask for any more)
    ("kubelet_feature_gates", "UserNamespacesPodSecurityStandards=true", "v1.34.4", "v1.35.4"),
    # removed in v1.36, locked to true in v1.35: asking for false cannot be honoured
    ("kube_apiserver_feature_gates", "StructuredAuthorizationConfiguration=false", "v1.34.4", "v1.36.3")])
def test_a_gate_is_judged_with_the_data_of_the_release_it_is_given_for(variable, gate, ok_at, refused_at):
    """Each release's own binaries' data: a gate the components of one release take is refused for the next,
    which removed it (a component given it would not start)."""
    line = refused({"kube_version": refused_at, variable: [gate]}, variable)
    minor = refused_at.rsplit(".", 1)[0]
    if gate.endswith("=false"):   # a locked gate: the data says when it went and what it is locked to
        assert f"cannot be honoured - the gate was removed in {minor} and the feature is always true" in line
        line = refused({"kube_version": ok_at, variable: [gate]}, variable)   # locked at ok_at too: its component refuses
        assert "refuses to start" in line or "locked" in line, line
        return
    hv.validate({"kube_version": ok_at, variable: [gate]})
    assert gate in line and re.search(rf"of \S+ {re.escape(minor)}[: ]", line) and "refuses to start" in line
    assert f"components/{minor}.yml" in line


@pytest.mark.parametrize("gate, removed_in, before", [
    ("StructuredAuthorizationConfiguration", "v1.36", "v1.35.4"), ("ProbeHostPodSecurityStandards", "v1.35", "v1.34.4")])
def test_a_gate_removed_locked_is_dropped_when_asked_at_its_locked_value_read_from_the_data(gate, removed_in, before):
    """Locked in one release's binaries, gone from the next one's: from that release a gate asked for at its locked value
    is dropped with a note (the feature is always on; a component given it would not start), as SeccompDefault (v1.29)."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.platform import component_data
    assert component_data.removed_gates()[gate] == (removed_in, True)
    assert hv.removed_feature_gates()["SeccompDefault"] == ("v1.29", True)          # the history before the data
    variable = "kube_apiserver_feature_gates"
    values = hv.validate({"kube_version": removed_in + ".0", variable: [gate + "=true", "APIServerTracing=true"]})
    assert values[variable] == ["APIServerTracing=true"]
    assert any(f"'{gate}=true' dropped - the gate was removed in {removed_in}" in n for n in values["_notes"]), values["_notes"]
    assert gate + "=true" in hv.validate({"kube_version": before, variable: [gate + "=true"]})[variable]
