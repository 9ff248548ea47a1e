"""Hostile and careless inputs, one table (issue 23): every door a user's variables open on a node.

Each row is (id, variables, node, expected). `node` lists changes made to kubeadm's fixture node first (a
control that passes there before the run). `expected` is one of
  ("refused", variable, [parts])  refused before any change: a line that starts with the variable, names the
                                  value, says what is allowed (or what to do) and holds every part;
  ("waived", {control: text})     applied, and every control it takes from pass to fail is waived naming the
                                  variable (text), in the plan's summary and in the report;
  ("noted", variable, [parts])    applied with a note that starts with the variable;
  ("applied", {})                 applied, nothing that passes now fails after the run.
Nothing may weaken silently, damage or stop a component: tests/unit/test_hostile_inputs.py judges every row on
the fixture node through node_plan and the whole audit, and the component oracle (tests/oracle) starts the real
binaries with what each accepted row renders (FILES: the files such a row names, relative to /etc/kubernetes).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List

import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import component_checks

STRONG = ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
RC4 = "TLS_RSA_WITH_RC4_128_SHA"
DES3 = "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
RS = "system:serviceaccount:kube-system:replicaset-controller"
OVERRIDE = {"kubeguard_allow_override": {"kube-apiserver.pod-security-exemptions": "privileged CNI pods, reviewed"}}
ROLES = ["control_plane", "etcd", "worker"]


# --- the node as it is: kubeadm's files, with some controls made to pass first ------------------------------

def _manifest_flags(layout, component: str, *flags: str) -> None:
    path = os.path.join(layout.manifests_dir, f"{component}.yaml")
    with open(path, encoding="utf-8") as handle:
        pod = yaml.safe_load(handle)
    pod["spec"]["containers"][0]["command"] += list(flags)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(pod, handle)


def _kubelet_fields(layout, **fields: Any) -> None:
    with open(layout.kubelet_config, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    config.update(fields)
    with open(layout.kubelet_config, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle)


def firewall(root, layout) -> None:
    """A kubelet firewall the node has (K.28 passes), where systemd reads the kubelet's drop-ins."""
    (root / "kubelet" / "90-kubeguard-firewall.conf").write_text("[Service]\nIPAddressDeny=any\nIPAddressAllow=localhost 10.89.0.0/16\n")


def strong_ciphers(root, layout) -> None:
    """1.2.29, K.5, K.6 and 4.2.12 pass: every component has a strong cipher list."""
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        _manifest_flags(layout, component, f"--tls-cipher-suites={','.join(STRONG)}")
    _kubelet_fields(layout, tlsCipherSuites=STRONG)


def audit_maxage(root, layout) -> None:
    """1.2.17 passes: the apiserver keeps its audit log 30 days."""
    _manifest_flags(layout, "kube-apiserver", "--audit-log-maxage=30")


def dropin_read_only_port(root, layout) -> None:
    """A kubelet --config-dir drop-in that opens the read-only port (merged over the config file we write)."""
    confd = root / "kubelet.conf.d"
    confd.mkdir()
    (confd / "50-debug.conf").write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\n")
    env = root / "kubelet" / "kubeadm-flags.env"
    env.write_text(env.read_text().rstrip().rstrip('"') + f' --config-dir={confd}"\n')


# --- the table ------------------------------------------------------------------------------------------------
# (id, variables, node, expected): expected is ("refused", variable, [what the message must also say]) or
# ("waived", {control: variable}) or ("applied", {}) - accepted, and nothing passing now fails after the run.
ALLOWED = "allowed"
ROWS: List[tuple] = [
    # the issue's doors: exposure checks never-weaker did not read
    ("etcd plain-text clients on every interface", {"etcd_extra_vars": {"listen-client-urls": "http://0.0.0.0:2379"}}, [],
     ("waived", {"K.12": "etcd_extra_vars", "K.13": "etcd_extra_vars"})),
    ("etcd plain-text clients on its own address", {"etcd_extra_vars": {"listen-client-urls": "https://127.0.0.1:2379,http://10.89.0.10:2379"}},
     [], ("waived", {"K.12": "etcd_extra_vars"})),
    ("etcd plain-text clients on ::", {"etcd_extra_vars": {"listen-client-urls": "http://[::]:2379"}}, [],
     ("waived", {"K.12": "etcd_extra_vars", "K.13": "etcd_extra_vars"})),
    ("etcd TLS clients on every interface", {"etcd_extra_vars": {"listen-client-urls": "https://0.0.0.0:2379"}}, [],
     ("waived", {"K.13": "etcd_extra_vars"})),
    ("etcd plain-text on loopback only", {"etcd_extra_vars": {"listen-client-urls": "http://127.0.0.1:2379"}}, [], ("applied", {})),
    ("etcd metrics on every interface", {"etcd_extra_vars": {"listen-metrics-urls": "http://0.0.0.0:2381"}}, [],
     ("waived", {"K.13": "etcd_extra_vars"})),
    # the issue's doors: insecure cipher suites through extra args
    ("RC4 through the apiserver's extra args", {"kube_kubeadm_apiserver_extra_args": {"tls-cipher-suites": f"{STRONG[1]},{RC4}"}}, [],
     ("refused", "kube_kubeadm_apiserver_extra_args", [RC4, "insecure", ALLOWED, "kube-apiserver.tls-cipher-suites"])),
    ("3DES through the controller-manager's extra args", {"kube_kubeadm_controller_extra_args": {"tls-cipher-suites": f"{STRONG[0]},{DES3}"}},
     [], ("refused", "kube_kubeadm_controller_extra_args", [DES3, "insecure", ALLOWED])),
    ("RC4 through the scheduler's extra args", {"kube_kubeadm_scheduler_extra_args": {"tls-cipher-suites": f"{RC4},{STRONG[0]}"}}, [],
     ("refused", "kube_kubeadm_scheduler_extra_args", [RC4, ALLOWED])),
    ("RC4 through the kubelet's extra config", {"kubelet_config_extra_args": {"tlsCipherSuites": [STRONG[0], RC4]}}, [],
     ("refused", "kubelet_config_extra_args", [RC4, ALLOWED, "kubelet.tlsCipherSuites"])),
    ("RC4 kept deliberately on a node with strong ciphers",
     {"kube_kubeadm_apiserver_extra_args": {"tls-cipher-suites": f"{STRONG[1]},{RC4}"},
      "kubeguard_allow_override": {"kube-apiserver.tls-cipher-suites": "legacy client until Q3"}}, [strong_ciphers],
     ("waived", {"1.2.29": "kube_kubeadm_apiserver_extra_args"})),
    ("RC4 kept deliberately on a node without a cipher list",
     {"kube_kubeadm_apiserver_extra_args": {"tls-cipher-suites": f"{STRONG[1]},{RC4}"},
      "kubeguard_allow_override": {"kube-apiserver.tls-cipher-suites": "legacy client until Q3"}}, [],
     ("waived", {"1.2.29": "kube_kubeadm_apiserver_extra_args"})),
    ("3DES kept deliberately by the kubelet", {"kubelet_config_extra_args": {"tlsCipherSuites": [STRONG[0], DES3]},
                                               "kubeguard_allow_override": {"kubelet.tlsCipherSuites": "old scraper"}}, [strong_ciphers],
     ("waived", {"4.2.12": "kubelet_config_extra_args"})),
    ("3DES kept deliberately by the controller-manager", {"kube_kubeadm_controller_extra_args": {"tls-cipher-suites": f"{DES3},{STRONG[1]}"},
                                                          "kubeguard_allow_override": {"kube-controller-manager.tls-cipher-suites": "lab"}},
     [], ("waived", {"K.5": "kube_kubeadm_controller_extra_args"})),
    ("a strong list through the kubelet's extra config", {"kubelet_config_extra_args": {"tlsCipherSuites": STRONG}}, [], ("applied", {})),
    # the issue's doors: pod networks the kubelet firewall lets through
    ("a /0 pod network", {"kube_pods_subnet": "0.0.0.0/0", "kubelet_systemd_hardening": True}, [],
     ("refused", "kube_pods_subnet", ["'0.0.0.0/0'", "everyone", ALLOWED, "/8"])),
    ("a /0 pod network without the kubelet firewall (the metrics firewall uses it too)", {"kube_pods_subnet": "0.0.0.0/0"}, [],
     ("refused", "kube_pods_subnet", ["'0.0.0.0/0'", ALLOWED])),
    ("::/0 in kubespray's dual-stack list", {"kube_pods_subnets": "10.233.64.0/18,::/0"}, [],
     ("refused", "kube_pods_subnets", ["'::/0'", "everyone", ALLOWED])),
    ("half the internet as the pod network", {"kube_pods_subnet": "0.0.0.0/1"}, [],
     ("refused", "kube_pods_subnet", ["'0.0.0.0/1'", "a large part of the internet", ALLOWED])),
    ("an IPv6 pod network wider than /16", {"kube_pods_subnet_ipv6": "fd00::/7"}, [],
     ("refused", "kube_pods_subnet_ipv6", ["'fd00::/7'", ALLOWED])),
    ("a /8 pod network is narrow enough", {"kube_pods_subnet": "10.0.0.0/8", "kubelet_systemd_hardening": True}, [firewall], ("applied", {})),
    ("everyone in kubelet_secure_addresses", {"kubelet_secure_addresses": "10.0.0.0/8 0.0.0.0/0", "kubelet_systemd_hardening": True}, [],
     ("refused", "kubelet_secure_addresses", ["'0.0.0.0/0'", "everyone", "list the networks that must reach the kubelet"])),
    ("'any' in kubelet_secure_addresses", {"kubelet_secure_addresses": "any", "kubelet_systemd_hardening": True}, [],
     ("refused", "kubelet_secure_addresses", ["'any'", "kubelet_systemd_hardening: false"])),
    # the kubelet firewall the node has
    ("the firewall turned off by the user", {"kubelet_systemd_hardening": False}, [firewall],
     ("waived", {"K.28": "kubelet_systemd_hardening"})),
    ("the firewall removed by a default", {}, [firewall],
     ("refused", "kubelet_systemd_hardening",
      ["K.28", "kubelet_systemd_hardening=false (the default)", "set kubelet_systemd_hardening: true"])),
    ("the firewall kept", {"kubelet_systemd_hardening": True, "kubelet_secure_addresses": "10.89.0.0/16"}, [firewall], ("applied", {})),
    # the issue's doors: a YAML 1.1 octal
    ("audit_log_maxage: 030 (YAML 1.1 reads 24)", {"kubernetes_audit": True, "audit_log_maxage": yaml.safe_load("030")}, [audit_maxage],
     ("waived", {"1.2.17": "audit_log_maxage=24"})),
    ("audit_log_maxage: 030 on a node without audit", {"kubernetes_audit": True, "audit_log_maxage": yaml.safe_load("030")}, [],
     ("waived", {"1.2.17": "audit_log_maxage=24"})),
    # the issue's doors: Pod Security exemptions of controllers that create every workload's pods
    ("exempt the ReplicaSet controller", {"kube_pod_security_exemptions_usernames": [RS]}, [],
     ("refused", "kube_pod_security_exemptions_usernames", [RS, "Deployment", ALLOWED, "kube-apiserver.pod-security-exemptions"])),
    ("exempt the Job controller", {"kube_pod_security_exemptions_usernames": ["system:serviceaccount:kube-system:job-controller"]}, [],
     ("refused", "kube_pod_security_exemptions_usernames", ["job-controller", ALLOWED])),
    ("exempt the DaemonSet controller", {"kube_pod_security_exemptions_usernames": ["system:serviceaccount:kube-system:daemon-set-controller"]},
     [], ("refused", "kube_pod_security_exemptions_usernames", ["daemon-set-controller", ALLOWED])),
    ("exempt the StatefulSet controller", {"kube_pod_security_exemptions_usernames": ["ci-bot", "system:serviceaccount:kube-system:statefulset-controller"]},
     [], ("refused", "kube_pod_security_exemptions_usernames", ["statefulset-controller", ALLOWED])),
    ("exempt the ReplicationController controller",
     {"kube_pod_security_exemptions_usernames": ["system:serviceaccount:kube-system:replication-controller"]}, [],
     ("refused", "kube_pod_security_exemptions_usernames", ["replication-controller", ALLOWED])),
    ("exempt the controller-manager itself", {"kube_pod_security_exemptions_usernames": ["system:kube-controller-manager"]}, [],
     ("refused", "kube_pod_security_exemptions_usernames", ["system:kube-controller-manager", ALLOWED])),
    ("exempt the ReplicaSet controller deliberately", dict(OVERRIDE, kube_pod_security_exemptions_usernames=[RS]), [],
     ("waived", {"5.2.1": "kube_pod_security_exemptions_usernames"})),
    ("exempt a CI runner", {"kube_pod_security_exemptions_usernames": ["system:serviceaccount:ci:runner"]}, [], ("applied", {})),
    # the kubelet merges its drop-ins over the file we write: judged merged
    ("a drop-in that re-opens the read-only port", {}, [dropin_read_only_port],
     ("refused", "50-debug.conf", ["readOnlyPort: 10255 (this run sets 0)", "kubeguard_allow_override: {kubelet.readOnlyPort: <your reason>}"])),
    ("a drop-in that re-opens the read-only port, kept deliberately", {"kubeguard_allow_override": {"kubelet.readOnlyPort": "old agent"}},
     [dropin_read_only_port], ("waived", {"4.2.4": "kubeguard_allow_override"})),
    # more doors: listeners, extra args, switches
    ("controller-manager on every interface", {"kube_controller_manager_bind_address": "0.0.0.0"}, [],
     ("waived", {"1.3.7": "kube_controller_manager_bind_address", "K.13": "kube_controller_manager_bind_address"})),
    ("scheduler on every interface", {"kube_scheduler_bind_address": "0.0.0.0"}, [],
     ("waived", {"1.4.2": "kube_scheduler_bind_address", "K.13": "kube_scheduler_bind_address"})),
    ("the kubelet's read-only port", {"kube_read_only_port": 10255}, [], ("waived", {"4.2.4": "kube_read_only_port"})),
    ("the read-only port through extra config, deliberately",
     {"kubelet_config_extra_args": {"readOnlyPort": 10255}, "kubeguard_allow_override": {"kubelet.readOnlyPort": "old agent"}}, [],
     ("waived", {"4.2.4": "kubelet_config_extra_args"})),
    ("the read-only port through extra config", {"kubelet_config_extra_args": {"readOnlyPort": 10255}}, [],
     ("refused", "kubelet_config_extra_args", ["readOnlyPort", "kube_read_only_port"])),
    ("the kubelet's health port on every interface", {"kubelet_config_extra_args": {"healthzBindAddress": "0.0.0.0"}}, [],
     ("waived", {"K.13": "kubelet_config_extra_args"})),
    ("a token file through extra args", {"kube_kubeadm_apiserver_extra_args": {"token-auth-file": "/etc/kubernetes/tokens.csv"}}, [],
     ("waived", {"1.2.2": "kube_kubeadm_apiserver_extra_args"})),
    ("TLS 1.0 through extra args", {"kube_kubeadm_apiserver_extra_args": {"tls-min-version": "VersionTLS10"}}, [],
     ("refused", "kube_kubeadm_apiserver_extra_args", ["VersionTLS10", "tls_min_version"])),
    ("etcd without client certificates", {"etcd_extra_vars": {"client-cert-auth": "false"}}, [],
     ("refused", "etcd_extra_vars", ["client-cert-auth", "etcd.client-cert-auth"])),
    ("RC4 in tls_cipher_suites", {"tls_cipher_suites": [RC4]}, [], ("refused", "tls_cipher_suites", [RC4, "insecure", "use e.g. TLS_ECDHE"])),
    ("profiling on", {"kube_profiling": True}, [],
     ("waived", {"1.2.15": "kube_profiling", "1.3.2": "kube_profiling", "1.4.1": "kube_profiling"})),
    ("NodeRestriction dropped by the user's list", {"kube_apiserver_enable_admission_plugins": ["AlwaysPullImages"]}, [],
     ("waived", {"1.2.14": "kube_apiserver_enable_admission_plugins"})),
    ("ABAC kept deliberately", {"authorization_modes": ["Node", "RBAC", "ABAC"],
                                "kube_kubeadm_apiserver_extra_args": {"authorization-policy-file": "/etc/kubernetes/abac.jsonl"},
                                "kubeguard_allow_override": {"kube-apiserver.authorization-mode": "legacy policy until 2027"}}, [],
     ("waived", {"K.9": "authorization_modes"})),
    ("AlwaysAllow", {"authorization_modes": ["AlwaysAllow"]}, [], ("refused", "authorization_modes", ["AlwaysAllow", ALLOWED])),
    ("kubelet client certificates not rotated", {"kubelet_rotate_certificates": False}, [], ("waived", {"4.2.10": "kubelet_rotate_certificates"})),
    ("the serving-certificate gate off", {"kube_controller_feature_gates": ["RotateKubeletServerCertificate=false"]}, [],
     ("waived", {"1.3.6": "kube_controller_feature_gates"})),
    ("node audit rules off", {"kubeguard_node_audit_rules": False}, [], ("waived", {"K.21": "kubeguard_node_audit_rules"})),

]

# Refusals judged by validation alone: (variables, variable, part of its message).
REFUSED_BY_VALIDATION: List[tuple] = [
    # types (refused)
    ({"kube_profiling": "false"}, "kube_profiling", "boolean"),
    ({"kube_profiling": 0}, "kube_profiling", "boolean"),
    ({"kube_read_only_port": "0"}, "kube_read_only_port", "whole number"),
    ({"kube_proxy_metrics_bind_address": "localhost:10249"}, "kube_proxy_metrics_bind_address", "address and port"),
    ({"kube_proxy_metrics_bind_address": 10249}, "kube_proxy_metrics_bind_address", "address and port"),
    ({"kube_proxy_metrics_bind_address": "127.0.0.1"}, "kube_proxy_metrics_bind_address", "address and port"),
    ({"kube_proxy_metrics_bind_address": "127.0.0.1:0"}, "kube_proxy_metrics_bind_address", "address and port"),
    ({"kube_proxy_metrics_bind_address": "127.0.0.1:99999"}, "kube_proxy_metrics_bind_address", "address and port"),
    ({"kube_proxy_metrics_bind_address": "::1:10249"}, "kube_proxy_metrics_bind_address", "address and port"),
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
    # control characters and lookalike digits (refused)
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
    # extra args that would override what we harden (refused)
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
    # paths (refused)
    ({"audit_log_path": "/var/log/../../etc/shadow"}, "audit_log_path", "normalised"),
    ({"audit_log_path": "var/log/audit.log"}, "audit_log_path", "absolute"),
    ({"audit_log_path": "/var/log/audit/"}, "audit_log_path", "normalised"),
    ({"audit_log_path": "//var/log/audit.log"}, "audit_log_path", "normalised"),
    ({"audit_log_path": "/etc"}, "audit_log_path", "system directory"),
    ({"audit_policy_file": "/etc/kubernetes/./audit.yaml"}, "audit_policy_file", "normalised"),
    ({"etcd_data_dir": "/var/lib"}, "etcd_data_dir", "system directory"),
    ({"etcd_data_dir": "/"}, "etcd_data_dir", "system directory"),
    ({"kube_config_dir": "/etc"}, "kube_config_dir", "system directory"),
    ({"audit_log_path": "/var/log/" + "a" * 5000}, "audit_log_path", "at most 4096"),
    # allow lists that mean everyone (refused)
    ({"kubelet_secure_addresses": "localhost 0.0.0.0/0"}, "kubelet_secure_addresses", "everyone"),
    ({"kubelet_secure_addresses": "::/0"}, "kubelet_secure_addresses", "everyone"),
    ({"kubelet_secure_addresses": "0.0.0.0/1 128.0.0.0/1"}, "kubelet_secure_addresses", "large part of the internet"),
    ({"kubelet_secure_addresses": "any"}, "kubelet_secure_addresses", "'any'"),
    ({"kubelet_secure_addresses": "10.0.0.0/8 example.com"}, "kubelet_secure_addresses", "malformed"),
    # values a component refuses when it starts (refused)
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
     "kubelet_feature_gates", "give the gate once"),
    ({"kube_feature_gates": ["SeccompDefault=false"], "kube_version": "v1.30.0"}, "kube_feature_gates", "cannot be honoured"),
    ({"tls_min_version": "VersionTLS10"}, "tls_min_version", "insecure"),
    ({"tls_cipher_suites": ["TLS_RSA_WITH_RC4_128_SHA"]}, "tls_cipher_suites", "insecure"),
    ({"kube_encrypt_secret_data": True, "kube_encryption_resources": []}, "kube_encryption_resources", "empty"),
    ({"kube_apiserver_enable_admission_plugins": ["EventRateLimit"]}, "kube_apiserver_admission_control_config_file",
     "needs its config file"),
    # typos, with kubeguard_strict_variables (refused)
    ({"kubeguard_strict_variables": True, "_present": ["kubelet_protect_kernel_default"]},
     "kubelet_protect_kernel_default", "did you mean kubelet_protect_kernel_defaults"),
    ({"kubeguard_strict_variables": True, "_present": ["kube_encrypt_secrets_data"]},
     "kube_encrypt_secrets_data", "did you mean kube_encrypt_secret_data"),
    ({"kubeguard_allow_override": {"kube-apiserver.profiling": ""}}, "kubeguard_allow_override", "no usable reason"),
    ({"kubeguard_allow_override": {"kube-apiserver.--profiling": "x"}}, "kubeguard_allow_override", "invalid key"),
]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


ROWS += [(f"{variable} {_short({k: v for k, v in variables.items() if k != '_present'} or variables.get('_present'))}",
          variables, [], ("refused", variable, [says])) for variables, variable, says in REFUSED_BY_VALIDATION]


def pids_limit(root, layout) -> None:
    """4.2.13 passes: the kubelet limits each pod's PIDs."""
    _kubelet_fields(layout, podPidsLimit=4096)


def terminated_gc(root, layout) -> None:
    """1.3.1 passes: the controller-manager collects terminated pods."""
    _manifest_flags(layout, "kube-controller-manager", "--terminated-pod-gc-threshold=10")


BIG = 100_000
ROWS += [
    # the issue's false passes: values a component reads as off or unlimited
    ("pod PIDs unlimited (0)", {"kubelet_pod_pids_limit": 0}, [pids_limit], ("waived", {"4.2.13": "kubelet_pod_pids_limit"})),
    ("pod PIDs at kubespray's -1 (not managed: the node's limit stays)", {"kubelet_pod_pids_limit": -1}, [pids_limit], ("applied", {})),
    ("pod PIDs unlimited on a node without a limit", {"kubelet_pod_pids_limit": 0}, [], ("applied", {})),
    ("terminated pods never collected (0)", {"kube_controller_terminated_pod_gc_threshold": 0}, [terminated_gc],
     ("refused", "kube_controller_terminated_pod_gc_threshold", [">= 1"])),
    ("the kubelet's client CA emptied", {"kubelet_config_extra_args": {"authentication": {"x509": {"clientCAFile": ""}}}}, [],
     ("waived", {"4.2.3": "kubelet_config_extra_args"})),
    ("the kubelet's client CA emptied, deliberately",
     {"kubelet_config_extra_args": {"authentication": {"x509": {"clientCAFile": ""}}},
      "kubeguard_allow_override": {"kubelet.authentication.x509.clientCAFile": "lab"}}, [],
     ("waived", {"4.2.3": "kubelet_config_extra_args"})),
    ("a singular encryption resource", {"kube_encrypt_secret_data": True, "kube_encryption_resources": ["secret"]}, [],
     ("refused", "kube_encryption_resources", ["'secret'", "secrets"])),
    ("a capitalised encryption resource", {"kube_encrypt_secret_data": True, "kube_encryption_resources": ["Secrets"]}, [],
     ("refused", "kube_encryption_resources", ["'Secrets'"])),
    ("encryption of configmaps only (1.2.28 fails as before)", {"kube_encrypt_secret_data": True, "kube_encryption_resources": ["configmaps"]},
     [], ("applied", {})),
    # the issue's values the components refuse
    ("an unknown feature gate for every component", {"kube_feature_gates": ["FooBarBaz=true"]}, [],
     ("refused", "kube_feature_gates", ["FooBarBaz"])),
    ("every alpha feature at once", {"kube_apiserver_feature_gates": ["AllAlpha=true"]}, [],
     ("refused", "kube_apiserver_feature_gates", ["AllAlpha", "kubeguard_allow_override"])),
    ("TLS 1.2 without an HTTP/2 suite", {"tls_cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]}, [],
     ("refused", "tls_cipher_suites", ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"])),
    ("TLS 1.3 without an HTTP/2 suite is fine", {"tls_min_version": "VersionTLS13", "tls_cipher_suites": ["TLS_AES_256_GCM_SHA384"]}, [],
     ("applied", {})),
    ("audit kept 10**22 days", {"kubernetes_audit": True, "audit_log_maxage": 10 ** 22}, [], ("refused", "audit_log_maxage", [])),
    ("audit kept a day past lumberjack's limit", {"kubernetes_audit": True, "audit_log_maxage": 106752}, [],
     ("refused", "audit_log_maxage", ["106751"])),
    ("terminated-pod threshold over int32", {"kube_controller_terminated_pod_gc_threshold": 2 ** 31}, [],
     ("refused", "kube_controller_terminated_pod_gc_threshold", [])),
    ("the removed insecure port", {"kube_kubeadm_apiserver_extra_args": {"insecure-port": "0"}}, [],
     ("refused", "kube_kubeadm_apiserver_extra_args", ["insecure-port"])),
    ("a Pod Security namespace exemption that is no name", {"kube_pod_security_use_default": True,
                                                            "kube_pod_security_exemptions_namespaces": ["Kube_System"]}, [],
     ("refused", "kube_pod_security_exemptions_namespaces", ["Kube_System"])),
    ("an empty Pod Security user exemption", {"kube_pod_security_use_default": True, "kube_pod_security_exemptions_usernames": [""]}, [],
     ("refused", "kube_pod_security_exemptions_usernames", [])),
    ("a 1ns request timeout", {"kube_apiserver_request_timeout": "1ns"}, [], ("refused", "kube_apiserver_request_timeout", ["30s"])),
    ("a 500ms request timeout", {"kube_apiserver_request_timeout": "500ms"}, [], ("refused", "kube_apiserver_request_timeout", ["30s"])),
    # accepted with a note
    ("a typo, not strict", {"_present": ["kube_read_only_prot"]}, [], ("noted", "kube_read_only_prot", ["kube_read_only_port"])),
    ("a removed gate, release read from the node", {"kube_feature_gates": ["SeccompDefault=true"]}, [],
     ("noted", "kube_feature_gates", ["SeccompDefault", "removed"])),
    ("an unknown gate kept deliberately", {"kubelet_feature_gates": ["FooBarBaz=true"],
                                           "kubeguard_allow_override": {"kubelet.featureGates": "vendor kubelet"}}, [],
     ("noted", "kubelet_feature_gates", ["FooBarBaz", "refuses to start", "kubeguard_allow_override"])),
    ("a release the collection has no data for", {"kube_version": "v1.28.0"}, [], ("noted", "kube_version", ["no component data", "v1.34"])),
    # our own: odd types, huge inputs, lookalikes
    ("a YAML 1.1 'yes' for a switch", {"kube_profiling": "yes"}, [], ("refused", "kube_profiling", ["boolean"])),
    ("NaN as a size", {"audit_log_maxsize": float("nan")}, [], ("refused", "audit_log_maxsize", ["whole number"])),
    ("infinity as an age", {"audit_log_maxage": float("inf")}, [], ("refused", "audit_log_maxage", ["whole number"])),
    ("a port as a float", {"kube_read_only_port": 0.0}, [], ("refused", "kube_read_only_port", ["whole number"])),
    ("a list of a hundred thousand cipher suites", {"tls_cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"] * BIG}, [],
     ("refused", "tls_cipher_suites", ["more than once"])),
    ("a 200 KB flag value no process could be given", {"kube_kubeadm_apiserver_extra_args": {"oidc-issuer-url": "https://" + "a" * 200_000}},
     [], ("refused", "kube_kubeadm_apiserver_extra_args", ["128 KiB", "oidc-issuer-url"])),
    ("a hundred thousand namespaces exempt (a file, not a flag)",
     {"kube_pod_security_use_default": True, "kube_pod_security_exemptions_namespaces": [f"n{i}" for i in range(BIG)]}, [], ("applied", {})),
    ("a megabyte request timeout", {"kube_apiserver_request_timeout": "1" * 1_000_000 + "s"}, [],
     ("refused", "kube_apiserver_request_timeout", ["1000001 characters"])),
    ("a Cyrillic 'а' in a flag name", {"kube_kubeadm_apiserver_extra_args": {"profiling\u0430": "true"}}, [],
     ("refused", "kube_kubeadm_apiserver_extra_args", [])),
    ("a zero-width space in a cipher name", {"tls_cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\u200b"]}, [],
     ("refused", "tls_cipher_suites", [])),
    ("a right-to-left override in an exemption", {"kube_pod_security_exemptions_usernames": ["ci\u202erunner"]}, [],
     ("refused", "kube_pod_security_exemptions_usernames", [])),
    ("a line separator in etcd.env (a second line for our readers, not for systemd)",
     {"etcd_extra_vars": {"log-level": "info\u2028ETCD_CLIENT_CERT_AUTH=false"}}, [], ("refused", "etcd_extra_vars", ["control character"])),
    ("a paragraph separator in a flag", {"kube_kubeadm_apiserver_extra_args": {"event-ttl": "1h\u2029"}}, [],
     ("refused", "kube_kubeadm_apiserver_extra_args", ["control character"])),
    ("an invisible tag character in a namespace exemption", {"kube_pod_security_exemptions_namespaces": ["kube-system\U000e0041"]}, [],
     ("refused", "kube_pod_security_exemptions_namespaces", ["control character"])),
    ("a Hangul filler as a user name", {"kube_pod_security_exemptions_usernames": ["\u3164"]}, [],
     ("refused", "kube_pod_security_exemptions_usernames", ["control character"])),
    ("kubespray's secure addresses for 400 nodes (a drop-in line, not a flag)",
     {"kubelet_secure_addresses": "localhost link-local 10.233.64.0/18 " + " ".join(f"10.0.{i // 250}.{i % 250 + 1}" for i in range(400))},
     [], ("applied", {})),
    ("a dict where a string goes", {"kube_apiserver_request_timeout": {"seconds": 60}}, [], ("refused", "kube_apiserver_request_timeout", [])),
    ("a nested list of gates", {"kubelet_feature_gates": [["RotateKubeletServerCertificate=true"]]}, [],
     ("refused", "kubelet_feature_gates", [])),
    ("a gate with no value", {"kube_feature_gates": ["RotateKubeletServerCertificate"]}, [], ("refused", "kube_feature_gates", [])),
    ("a gate set to 'yes'", {"kube_feature_gates": ["RotateKubeletServerCertificate=yes"]}, [], ("refused", "kube_feature_gates", [])),
    ("an override key for a component that does not exist", {"kubeguard_allow_override": {"kube-proxyy.bind-address": "x"}}, [],
     ("refused", "kubeguard_allow_override", [])),
    ("an override that is a list", {"kubeguard_allow_override": ["kube-apiserver.profiling"]}, [], ("refused", "kubeguard_allow_override", [])),
    ("an encryption algorithm nobody has", {"kube_encrypt_secret_data": True, "kube_encryption_algorithm": "rot13"}, [],
     ("refused", "kube_encryption_algorithm", [])),
    ("a Pod Security level typo", {"kube_pod_security_use_default": True, "kube_pod_security_default_enforce": "restrictive"}, [],
     ("refused", "kube_pod_security_default_enforce", [])),
    ("a Pod Security version that is no version", {"kube_pod_security_default_enforce_version": "1.34"}, [],
     ("refused", "kube_pod_security_default_enforce_version", [])),
    ("an audit path into /proc", {"audit_log_path": "/proc/self/mem"}, [], ("refused", "audit_log_path", [])),
    ("an audit policy over /etc/passwd", {"audit_policy_file": "/etc/passwd"}, [], ("refused", "audit_policy_file", [])),
    ("etcd's data in /etc", {"etcd_data_dir": "/etc"}, [], ("refused", "etcd_data_dir", [])),
]

# Every example of a rule the validation knows from the components' binaries (component_checks.RULES).
ROWS += [(f"{rule.name} #{number}", dict(example), [],
          ("refused", next(v for v in example if v in rule.variables), []))
         for rule in component_checks.RULES for number, (example, _component, _log) in enumerate(rule.examples)]

# Accepted rows the test bed's binaries refuse, on purpose: the override keeps a value for another build than the
# test bed's v1.34 (the note says so). The oracle proves the component named refuses it, as the note warns.
REFUSED_BY_THE_TESTBED: Dict[str, tuple] = {
    "an unknown gate kept deliberately": ("kubelet", "unrecognized feature gate: FooBarBaz"),
}

# The files accepted rows name (relative to /etc/kubernetes), for the component oracle.
FILES: Dict[str, Dict[str, str]] = {
    "ABAC kept deliberately": {"abac.jsonl": '{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy",'
                                             ' "spec": {"user": "admin", "namespace": "*", "resource": "*", "apiGroup": "*"}}\n'},
    "a token file through extra args": {"tokens.csv": "0123456789abcdef,admin,1\n"},
}
