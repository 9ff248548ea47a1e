"""Write each role's meta/argument_specs.yml, defaults/main.yml (the kubespray variables part) and
README.md from the variable model and the catalogue, so docs, defaults and validation cannot drift.

    python tools/gen_role_docs.py          # write
    python tools/gen_role_docs.py --check  # exit 1 when a file is out of date (used by the tests)
"""

from __future__ import annotations

import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generated_files import write_or_check  # noqa: E402  pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.environ.get("KG_TEST_COLLECTIONS")

# which model components (hardening_vars.Var.component) each role reads, and the CIS controls it applies
ROLES = {
    "apiserver": {"components": ["apiserver", "tls", "encryption", "admission"], "catalogue": ["kube-apiserver"],
                  "summary": "kube-apiserver: authorization, anonymous auth, request timeout, service-account lookup, "
                             "profiling, TLS, admission plugins with EventRateLimit / PodSecurity / PodNodeSelector "
                             "configuration, encryption at rest, feature gates, and the mounts the new files need."},
    "audit": {"components": ["audit"], "catalogue": [],
              "summary": "The audit policy file (a useful default: no bodies for secrets, configmaps or tokens, "
                         "no noisy system reads; replaceable with audit_policy_custom_rules) and the audit log directory."},
    "controller_manager": {"components": ["controller_manager"], "extra": ["kube_profiling", "tls_min_version", "tls_cipher_suites"],
                           "catalogue": ["kube-controller-manager"],
                           "summary": "kube-controller-manager: bind address, profiling, terminated-pod GC threshold, "
                                      "service-account credentials, feature gates, TLS."},
    "scheduler": {"components": ["scheduler"], "extra": ["kube_profiling", "tls_min_version", "tls_cipher_suites"],
                  "catalogue": ["kube-scheduler"],
                  "summary": "kube-scheduler: bind address, profiling, feature gates, extra args, TLS."},
    "etcd": {"components": ["etcd"], "catalogue": ["etcd"],
             "summary": "etcd as a kubeadm static pod or a kubespray host service (/etc/etcd.env): client and peer "
                        "certificate auth, no auto TLS, data directory 0700 owned by etcd, extra flags such as a metrics listener."},
    "kubelet": {"components": ["kubelet"], "extra": ["kube_pods_subnet", "tls_min_version", "tls_cipher_suites"],
                "catalogue": ["kubelet"],
                "summary": "The kubelet config file (kubeadm's /var/lib/kubelet/config.yaml or kubespray's "
                           "/etc/kubernetes/kubelet-config.yaml, detected) and the systemd IP firewall of kubelet_systemd_hardening."},
    "kube_proxy": {"components": ["kube_proxy"], "catalogue": ["kube-proxy"],
                   "summary": "kube-proxy (kubeadm, kubespray): metricsBindAddress in the kube-system/kube-proxy ConfigMap on the "
                              "address given (loopback; CIS 4.3.1), only that line changed, then the DaemonSet's pods rolled "
                              "node by node and health-gated (put back and rolled again on failure). Once per cluster; k3s "
                              "runs kube-proxy in its own process (verified from its log)."},
    "sysctl": {"components": [], "catalogue": [],
               "summary": "The kernel parameters kubelet's protectKernelDefaults needs, persisted in /etc/sysctl.d and applied."},
    "k3s": {"components": ["apiserver", "tls", "encryption", "admission", "audit", "controller_manager", "scheduler", "kubelet"],
            "extra": ["kube_profiling"],
            "catalogue": ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"],
            "summary": "K3s (seed 004): every component's flags in /etc/rancher/k3s/config.yaml edited in place "
                       "(kube-apiserver-arg, kube-controller-manager-arg, kube-scheduler-arg, kubelet-arg, "
                       "protect-kernel-defaults, secrets-encryption), the Pod Security admission file and audit policy "
                       "under /var/lib/rancher/k3s/server, then k3s or k3s-agent restarted one node at a time with a "
                       "health gate and rollback. Runs where the node's plan has k3s operations."},
    "metrics_firewall": {"components": ["metrics"], "extra": ["kube_pods_subnet", "kube_pods_subnets"], "catalogue": [],
                         "summary": "Where controller-manager, scheduler or etcd serve metrics beyond loopback (seed 000's "
                                    "Prometheus variant), a host firewall (iptables chain KUBEGUARD-METRICS, loaded at boot by "
                                    "a systemd unit) lets only kubeguard_metrics_allowed_sources connect; health-gated, "
                                    "taken out again on failure."},
    "policy": {"components": ["policy"],
               "extra": ["kube_pod_security_exemptions_namespaces", "kube_pod_security_use_default",
                         "kube_pod_security_default_enforce", "kube_pod_security_default_audit",
                         "kube_pod_security_default_warn", "kube_pod_security_default_enforce_version"],
               "catalogue": [],
               "summary": "The cluster's own objects, once per cluster from the first control plane: Pod Security labels "
                          "per namespace at the level everything running there passes (soak: audit + warn; enforce), "
                          "a Deployment's older ReplicaSets (what kubectl rollout undo brings back) and a CronJob's running "
                          "Jobs counted under their owner, pods that ended not; enforce not written where nothing shows what "
                          "will run (no workloads, pods made by an operator's custom resource, istio or linkerd sidecar "
                          "injection), said in the run's notes, as is a namespace weaker than the cluster default; "
                          "default-deny ingress NetworkPolicies with the allowances a cluster needs (same namespace, nodes, "
                          "scrapers, DNS incl. NodeLocal DNS, no cloud metadata), the default ServiceAccount's token "
                          "automount off where nothing uses it. One namespace at a time, saved first, health-gated."},
    "container_runtime": {"components": ["runtime"], "catalogue": [],
                          "summary": "containerd (GKE checklist, CKS notes): config.toml edited in place (config version 2 or 3) - "
                                     "no gRPC API on TCP, the CRI streaming server on loopback, metrics only where asked, the "
                                     "socket root's, no unprivileged ports or ICMP for pods unless asked - then containerd "
                                     "restarted with a gate proving every running container still runs as the same process; "
                                     "the previous config is restored if not."},
    "node_audit": {"components": ["node_audit"], "catalogue": [],
                   "summary": "Audit rules (GKE checklist, CKS notes) in /etc/audit/rules.d watching Kubernetes' configuration, "
                              "PKI and binaries for writes and attribute changes, the container runtime's state directories "
                              "excluded, loaded with augenrules where auditd runs (rolled back if they do not load); the "
                              "audit tells present (K.21) from loaded (K.22)."},
    "file_permissions": {"components": ["files"], "catalogue": ["files"],
                         "summary": "Modes and owners of manifests, kubeconfigs, PKI, kubelet files and CNI config (CIS 1.1 and 4.1)."},
}
COMMON = ["kube_config_dir"]


def load_model():
    sys.path.insert(0, COLLECTIONS or os.path.join(os.path.expanduser("~"), ".cache", "kubeguard-testbed", "collections"))
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars
    return hardening_vars, catalogue


def spec_type(default):
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, list):
        return "list"
    if isinstance(default, dict):
        return "dict"
    if default is None:
        return "raw"
    return "str"


def role_variables(hv, role):
    info = ROLES[role]
    names = [v.name for v in hv.VARIABLES if v.component in info["components"]] + info.get("extra", [])
    return [hv.VARIABLES_BY_NAME[n] for n in dict.fromkeys(names)]


def controls_of(catalogue, role):
    """(controls the role changes, controls of its components it only verifies). A flag or field
    control is changed by the settings that list it; a file control names its role (applied_by)."""
    wanted = ROLES[role]["catalogue"]
    changed_ids = {cid for s in catalogue.settings() if s.component in wanted for cid in s.controls}
    changes, verifies = [], []
    for control in catalogue.controls():
        if control.get("applied_by") == role or str(control["id"]) in changed_ids:
            changes.append(control)
        elif control["component"] in wanted:
            verifies.append(control)
    return changes, verifies


class Indented(yaml.SafeDumper):
    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def argument_specs(hv, role):
    options = {}
    for var in role_variables(hv, role):
        option = {"description": var.doc or var.name.replace("_", " "), "type": spec_type(var.default)}
        if var.default is not None:
            option["default"] = var.default
        if option["type"] == "list":
            option["elements"] = "raw" if var.name in ("audit_policy_custom_rules",) else "str"
        options[var.name] = option
    spec = {"argument_specs": {"main": {"short_description": f"kubeguard.hardening {role} role",
                                        "description": [ROLES[role]["summary"]], "options": options}}}
    return "---\n# Generated by tools/gen_role_docs.py from the variable model; do not edit by hand.\n" + \
        yaml.dump(spec, Dumper=Indented, sort_keys=False, width=110)


def flow_yaml(value):
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def markdown_table(title, header, rows):
    """A '## title' section with a table, or nothing when there are no rows."""
    if not rows:
        return []
    return ([f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows] + [""])


def readme(hv, catalogue, role):
    lines = [f"# kubeguard.hardening.{role}", "", ROLES[role]["summary"], "",
             "Validate -> compute (from the control catalogue) -> apply in one module call per file -> restart "
             "what changed -> wait until healthy; on failure the previous files are restored and the play fails.", ""]
    lines += markdown_table("Variables (kubespray's names and defaults)", ["variable", "default", "meaning"],
                            [[f"`{var.name}`", f"`{flow_yaml(var.default)}`", var.doc] for var in role_variables(hv, role)])
    changes, verifies = controls_of(catalogue, role)
    lines += markdown_table("Controls this role changes (CIS Kubernetes Benchmark v1.12, and section K: our own checks)", ["id", "control", "automated"],
                            [[c["id"], c["title"], "yes" if c["automated"] else "manual"] for c in changes])
    lines += markdown_table("Controls of its components it only verifies (set by kubeadm/kubespray or by hand)",
                            ["id", "control", "automated"],
                            [[c["id"], c["title"], "yes" if c["automated"] else "manual"] for c in verifies])
    lines += ["Generated by `tools/gen_role_docs.py`.", ""]
    return "\n".join(lines)


def main():
    hv, catalogue = load_model()
    files = {}
    for role in ROLES:
        files[os.path.join(ROOT, f"roles/{role}/meta/argument_specs.yml")] = argument_specs(hv, role)
        files[os.path.join(ROOT, f"roles/{role}/README.md")] = readme(hv, catalogue, role)
    return write_or_check(files, "--check" in sys.argv, "python tools/gen_role_docs.py")


if __name__ == "__main__":
    sys.exit(main())
