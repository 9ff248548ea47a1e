"""hardening.yaml -> per-component settings, applied to manifests kubeadm itself generated."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.kubelet_config import KubeletConfigError, merge_fields
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.manifest import edit_manifest, parse_flags

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")

KUBEADM = catalogue.layout_for("kubeadm")
KUBESPRAY = catalogue.layout_for("kubespray")


def load(*parts):
    with open(os.path.join(FIXTURES, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def command_flags(pod):
    return parse_flags(pod["spec"]["containers"][0]["command"])


@pytest.fixture
def values(seed_vars):
    return hv.validate(seed_vars)


SEED_APISERVER_FLAGS = {
    "authorization-mode": "Node,RBAC",
    "profiling": "false",
    "request-timeout": "120s",
    "kubelet-certificate-authority": "/etc/kubernetes/pki/ca.crt",   # kubelet_rotate_server_certificates: true
    "service-account-lookup": "true",
    "audit-log-path": "/var/log/kube-apiserver-log.json",
    "audit-log-maxage": "30",
    "audit-log-maxbackup": "10",
    "audit-log-maxsize": "100",
    "audit-policy-file": "/etc/kubernetes/audit-policy/apiserver-audit-policy.yaml",
    "tls-min-version": "VersionTLS12",
    "tls-cipher-suites": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,"
                         "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "encryption-provider-config": "/etc/kubernetes/pki/secrets_encryption.yaml",
    "enable-admission-plugins": "EventRateLimit,AlwaysPullImages,ServiceAccount,NamespaceLifecycle,NodeRestriction,"
                                "LimitRanger,ResourceQuota,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,"
                                "PodNodeSelector,PodSecurity",
    "admission-control-config-file": "/etc/kubernetes/admission-controls/admission-controls.yaml",
}


def test_seed_apiserver_flags(values):
    assert desired.component_flags(values, KUBEADM, "kube-apiserver") == SEED_APISERVER_FLAGS


def test_seed_applied_to_kubeadm_apiserver_manifest(values):
    original = load("kubeadm", "etc-kubernetes", "manifests", "kube-apiserver.yaml")
    flags = desired.component_flags(values, KUBEADM, "kube-apiserver")
    pod, changes = edit_manifest(original, flags, desired.apiserver_host_paths(values, KUBEADM))
    result = command_flags(pod)
    for name, value in SEED_APISERVER_FLAGS.items():
        assert result[name] == value, name
    # kubeadm's own flags survive, with kubeadm's values
    before = command_flags(original)
    for name in ("etcd-servers", "client-ca-file", "tls-cert-file", "service-account-key-file", "secure-port"):
        assert result[name] == before[name]
    # kubeadm had NodeRestriction only; the seed's full list replaces it
    assert before["enable-admission-plugins"] == "NodeRestriction"
    assert "+ volume audit-logs" in changes and "+ volumeMount audit-logs" in changes
    mounts = {m["name"]: m for m in pod["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["audit-logs"]["mountPath"] == "/var/log" and "readOnly" not in mounts["audit-logs"]
    assert mounts["audit-policy"]["readOnly"] is True
    assert mounts["admission-controls"]["mountPath"] == "/etc/kubernetes/admission-controls"
    # the encryption config lives in /etc/kubernetes/pki, which kubeadm already mounts: no new volume
    assert "encryption-config" not in mounts
    # everything else in the pod is untouched, in kubeadm's order
    assert list(pod) == list(original)
    assert list(pod["spec"]["containers"][0]) == list(original["spec"]["containers"][0])
    for key in ("livenessProbe", "readinessProbe", "startupProbe", "image", "resources"):
        assert pod["spec"]["containers"][0][key] == original["spec"]["containers"][0][key]
    # flags stay sorted, as kubeadm writes them
    names = list(pod["spec"]["containers"][0]["command"][1:])
    assert names == sorted(names)


def test_second_application_changes_nothing(values):
    original = load("kubeadm", "etc-kubernetes", "manifests", "kube-apiserver.yaml")
    flags = desired.component_flags(values, KUBEADM, "kube-apiserver")
    mounts = desired.apiserver_host_paths(values, KUBEADM)
    once, first_changes = edit_manifest(original, flags, mounts)
    twice, second_changes = edit_manifest(once, flags, mounts)
    assert first_changes and second_changes == []
    assert twice == once


@pytest.mark.parametrize("layout_name", ["kubeadm", "kubespray"])
def test_seed_controller_manager_and_scheduler(values, layout_name):
    layout = catalogue.layout_for(layout_name)
    cm = edit_manifest(load(layout_name, "etc-kubernetes", "manifests", "kube-controller-manager.yaml"),
                       desired.component_flags(values, layout, "kube-controller-manager"))[0]
    flags = command_flags(cm)
    assert flags["bind-address"] == "127.0.0.1"
    assert flags["profiling"] == "false"
    assert flags["terminated-pod-gc-threshold"] == "50"
    assert flags["use-service-account-credentials"] == "true"
    assert flags["feature-gates"] == "RotateKubeletServerCertificate=true"
    sched = edit_manifest(load(layout_name, "etc-kubernetes", "manifests", "kube-scheduler.yaml"),
                          desired.component_flags(values, layout, "kube-scheduler"))[0]
    assert command_flags(sched)["bind-address"] == "127.0.0.1"
    assert command_flags(sched)["profiling"] == "false"   # from kube_profiling and kube_kubeadm_scheduler_extra_args


def test_kubespray_manifest_keeps_kubespray_flags_and_changes_bind_address(values):
    original = load("kubespray", "etc-kubernetes", "manifests", "kube-controller-manager.yaml")
    assert command_flags(original)["bind-address"] == "0.0.0.0"
    pod, changes = edit_manifest(original, desired.component_flags(values, KUBESPRAY, "kube-controller-manager"))
    assert "~ --bind-address: 0.0.0.0 -> 127.0.0.1" in changes
    assert command_flags(pod)["node-monitor-grace-period"] == "40s"


def test_kubespray_encryption_config_lives_in_ssl(values):
    assert desired.component_flags(values, KUBESPRAY, "kube-apiserver")["encryption-provider-config"] == \
        "/etc/kubernetes/ssl/secrets_encryption.yaml"


def test_seed_etcd_flags_for_static_pod_and_host_env(values):
    flags = desired.component_flags(values, KUBEADM, "etcd")
    assert flags == {"client-cert-auth": "true", "peer-client-cert-auth": "true", "auto-tls": None, "peer-auto-tls": None}
    pod, _ignored = edit_manifest(load("kubeadm", "etc-kubernetes", "manifests", "etcd.yaml"), flags)
    assert command_flags(pod)["client-cert-auth"] == "true"
    env = desired.etcd_env(dict(flags, **{"listen-metrics-urls": "http://0.0.0.0:2381"}))
    assert env["ETCD_PEER_CLIENT_CERT_AUTH"] == "true" and env["ETCD_AUTO_TLS"] is None
    assert env["ETCD_LISTEN_METRICS_URLS"] == "http://0.0.0.0:2381"


def test_etcd_extra_vars_prometheus_tip():
    values = hv.validate({"etcd_extra_vars": {"listen-metrics-urls": "http://0.0.0.0:2381"}})
    assert desired.component_flags(values, KUBEADM, "etcd")["listen-metrics-urls"] == "http://0.0.0.0:2381"


SEED_KUBELET_FIELDS = {
    "authentication.anonymous.enabled": False,
    "authorization.mode": "Webhook",          # kubespray's default (the seed does not set it)
    "authentication.webhook.enabled": True,
    "readOnlyPort": 0,
    "serverTLSBootstrap": True,
    "protectKernelDefaults": True,
    "eventRecordQPS": 1,
    "rotateCertificates": True,
    "streamingConnectionIdleTimeout": "5m",
    "makeIPTablesUtilChains": True,
    "featureGates": {"RotateKubeletServerCertificate": True},   # SeccompDefault: removed in v1.29, see below
    "seccompDefault": True,
    "tlsMinVersion": "VersionTLS12",
    "tlsCipherSuites": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"],
}


@pytest.mark.parametrize("layout_name,path", [("kubeadm", ("var-lib-kubelet", "config.yaml")),
                                              ("kubespray", ("etc-kubernetes", "kubelet-config.yaml"))])
def test_seed_kubelet_fields_merge_into_real_config(values, layout_name, path):
    fields = desired.kubelet_fields(values, catalogue.layout_for(layout_name))
    assert fields == SEED_KUBELET_FIELDS
    original = load(layout_name, *path)
    merged, changes = merge_fields(original, fields)
    assert merged["authentication"]["x509"]["clientCAFile"] == original["authentication"]["x509"]["clientCAFile"]
    # readOnlyPort 0 is the kubelet's default for a config file: left out, as kubeadm writes it
    assert merged["cgroupDriver"] == "systemd" and merged.get("readOnlyPort", 0) == 0
    assert merged["featureGates"] == {"RotateKubeletServerCertificate": True}
    assert changes
    again, no_changes = merge_fields(merged, fields)
    assert no_changes == [] and again == merged


def test_kubelet_wrong_type_is_refused():
    with pytest.raises(KubeletConfigError, match="readOnlyPort"):
        merge_fields({"kind": "KubeletConfiguration"}, {"readOnlyPort": "0"})
    with pytest.raises(KubeletConfigError, match="protectKernelDefaults"):
        merge_fields({"kind": "KubeletConfiguration"}, {"protectKernelDefaults": "true"})


def test_kubelet_feature_gates_merge_gate_by_gate():
    merged, _ignored = merge_fields({"kind": "KubeletConfiguration", "featureGates": {"Foo": False}},
                                    {"featureGates": {"SeccompDefault": True}})
    assert merged["featureGates"] == {"Foo": False, "SeccompDefault": True}


def test_kubelet_config_extra_args_win_last():
    values = hv.validate({"kubelet_config_extra_args": {"maxPods": 50, "readOnlyPort": 10255, "evictionHard": {"memory.available": "200Mi"}},
                          "kubeguard_allow_override": {"kubelet.readOnlyPort": "an old metrics agent"}})
    fields = desired.kubelet_fields(values, KUBEADM)
    assert fields["maxPods"] == 50 and fields["readOnlyPort"] == 10255
    merged, _ignored = merge_fields({"kind": "KubeletConfiguration", "evictionHard": {"nodefs.available": "10%"}}, fields)
    assert merged["evictionHard"] == {"nodefs.available": "10%", "memory.available": "200Mi"}


def test_authorization_webhook_only_when_asked():
    assert "authorization.mode" not in desired.kubelet_fields(hv.validate({"kubelet_authorization_mode_webhook": False}), KUBEADM)
    assert desired.kubelet_fields(hv.validate({}), KUBEADM)["authorization.mode"] == "Webhook"   # kubespray's default


def test_anonymous_auth_off_keeps_probes_working():
    values = hv.validate({"kube_api_anonymous_auth": False})
    flags = desired.component_flags(values, KUBEADM, "kube-apiserver")
    assert flags["anonymous-auth"] is None  # removed: it cannot be combined with --authentication-config
    assert flags["authentication-config"] == "/etc/kubernetes/authentication/authentication-config.yaml"
    files = {f["path"]: yaml.safe_load(f["content"]) for f in desired.apiserver_files(values, KUBEADM)}
    authn = files["/etc/kubernetes/authentication/authentication-config.yaml"]
    assert authn["anonymous"] == {"enabled": True, "conditions": [{"path": "/livez"}, {"path": "/readyz"}, {"path": "/healthz"}]}
    original = load("kubeadm", "etc-kubernetes", "manifests", "kube-apiserver.yaml")
    probes = original["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"]
    assert probes in ("/livez", "/readyz", "/healthz")


def test_extra_args_win_and_can_remove():
    values = hv.validate({"kube_kubeadm_apiserver_extra_args": {"profiling": True, "request-timeout": None},
                          "kubeguard_allow_override": {"kube-apiserver.profiling": "pprof this week",
                                                       "kube-apiserver.request-timeout": "Kubernetes' default"}})
    flags = desired.component_flags(values, KUBEADM, "kube-apiserver")
    assert flags["profiling"] == "true" and flags["request-timeout"] is None


def test_no_settings_when_features_are_off():
    flags = desired.component_flags(hv.validate({}), KUBEADM, "kube-apiserver")
    for name in ("audit-log-path", "encryption-provider-config", "admission-control-config-file",
                 "enable-admission-plugins", "tls-cipher-suites"):
        assert name not in flags
    assert desired.apiserver_files(hv.validate({}), KUBEADM) == []


def test_running_command_of_a_kubeadm_manifest():
    from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.manifest import running_command
    process, flags = running_command(load("kubeadm", "etc-kubernetes", "manifests", "kube-apiserver.yaml"))
    assert process == "kube-apiserver"
    assert flags["secure-port"] == "6443" and flags["authorization-mode"] == "Node,RBAC"


def test_the_kubelet_reads_kubeadm_upgrades_rewrites_as_the_same_settings():
    """kubeadm upgrade rewrites 5m as 5m0s and drops readOnlyPort: 0 (the kubelet's default): no change,
    no kubelet restart. A real difference still is one."""
    upgraded = {"kind": "KubeletConfiguration", "streamingConnectionIdleTimeout": "5m0s"}
    assert merge_fields(upgraded, {"streamingConnectionIdleTimeout": "5m", "readOnlyPort": 0}) == (upgraded, [])
    assert merge_fields(upgraded, {"streamingConnectionIdleTimeout": "4m"})[1] == ["~ streamingConnectionIdleTimeout: '5m0s' -> '4m'"]
    assert merge_fields({"kind": "KubeletConfiguration", "readOnlyPort": 10255}, {"readOnlyPort": 0})[1] == [
        "~ readOnlyPort: 10255 -> 0"]
    assert merge_fields({"kind": "KubeletConfiguration"}, {"streamingConnectionIdleTimeout": "5m"})[1] == [
        "+ streamingConnectionIdleTimeout: '5m'"]
