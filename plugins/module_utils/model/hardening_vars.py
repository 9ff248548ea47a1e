"""The variable model: every variable of kubespray's "Cluster Hardening" guide (old and current
forms), with kubespray's defaults, and validation that names the variable, the bad value and what
is allowed.

``validate(user_vars)`` returns the complete, normalised variable set (defaults filled in) or raises
``HardeningVarsError`` listing every problem at once, so a user fixes their file in one go.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..base import api_resources, readable_text, releases
from ..base.component_names import APISERVER, CONTROLLER_MANAGER, ETCD, KUBE_PROXY, KUBELET, SCHEDULER
from ..formats import kube_proxy, write_policy
from ..platform import component_data, component_registry
from ..catalogue import catalogue, component_checks
from ..base.api_resources import repeated_items
from ..observe.exposure import too_wide
from ..observe.integrity import checksums_problem, images_problem
from ..observe.stale_images import DEFAULT_DAYS as STALE_IMAGE_DAYS_DEFAULT
from ..formats.toml_edit import _split_keys  # pylint: disable=protected-access
from ..base.yaml_support import safe_load, yaml


class HardeningVarsError(ValueError):
    """Raised with one line per invalid variable."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("Invalid hardening variables:\n  - " + "\n  - ".join(self.problems))


AUTHORIZATION_MODES = ("AlwaysAllow", "AlwaysDeny", "ABAC", "Webhook", "RBAC", "Node")

# Admission plugins kube-apiserver v1.34 knows (kube-apiserver --help, "--enable-admission-plugins").
ADMISSION_PLUGINS = (
    "AlwaysAdmit", "AlwaysDeny", "AlwaysPullImages", "CertificateApproval", "CertificateSigning",
    "CertificateSubjectRestriction", "ClusterTrustBundleAttest", "DefaultIngressClass",
    "DefaultStorageClass", "DefaultTolerationSeconds", "DenyServiceExternalIPs", "EventRateLimit",
    "ExtendedResourceToleration", "ImagePolicyWebhook", "LimitPodHardAntiAffinityTopology",
    "LimitRanger", "MutatingAdmissionPolicy", "MutatingAdmissionWebhook", "NamespaceAutoProvision",
    "NamespaceExists", "NamespaceLifecycle", "NodeRestriction", "OwnerReferencesPermissionEnforcement",
    "PersistentVolumeClaimResize", "PodNodeSelector", "PodSecurity", "PodTolerationRestriction",
    "Priority", "ResourceQuota", "RuntimeClass", "ServiceAccount", "StorageObjectInUseProtection",
    "TaintNodesByCondition", "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook",
)
# Plugins that take a section in the admission control config file.
# kubespray's list (roles/kubernetes/control-plane/vars): plugins whose config file it writes when enabled.
# ImagePolicyWebhook's needs a webhook of the user's: never generated (refused unless they supply the file).
ADMISSION_PLUGINS_WITH_CONFIG = ("EventRateLimit", "ImagePolicyWebhook", "PodSecurity", "PodNodeSelector", "ResourceQuota")
ENCRYPTION_ALGORITHMS = ("secretbox", "aescbc", "aesgcm")
EVENT_RATE_LIMIT_TYPES = ("Server", "Namespace", "User", "SourceAndObject")
POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")
ETCD_DEPLOYMENT_TYPES = ("kubeadm", "host")
# systemd IPAddressAllow= keywords (systemd.resource-control(5)).
SYSTEMD_ADDRESS_KEYWORDS = ("any", "localhost", "link-local", "multicast")

# Feature gates removed after graduating: (release that removed it, the value it is locked to).
# A kubelet or control-plane component given an unknown gate refuses to start. Between the releases the
# collection has binaries' data for (components/*.yml) the removals are read from the data
# (component_data.removed_gates); this is the history before them, which no data file holds (a gate asked for
# at its locked value is dropped, not refused).
REMOVED_FEATURE_GATES: Dict[str, Tuple[str, bool]] = {
    "SeccompDefault": ("v1.29", True),
}


def _removed_by(kube_version: str) -> List[str]:
    """The gates the components' data must not judge: those removed before the data (no file knows them) and
    those the data says were removed at or before kube_version (validation dropped or refused them already); a
    gate removed later is still the component's to judge (a locked one set the other way makes it refuse)."""
    release = _minor(kube_version)
    return sorted(name for name, (removed_in, _locked) in removed_feature_gates().items()
                  if name in REMOVED_FEATURE_GATES or release >= _minor(removed_in))


def removed_feature_gates() -> Dict[str, Tuple[str, bool]]:
    """Every removed gate the validation knows: the data's removals, and the history before the data."""
    return {**component_data.removed_gates(), **REMOVED_FEATURE_GATES}


FEATURE_GATE_VARIABLES = component_registry.FEATURE_GATE_VARIABLES
# Every pattern is matched in full (re.fullmatch: a trailing newline is no match) over ASCII only
# ([0-9], never \d, which also matches other scripts' digits).
# kubespray now writes 1.33.1; no leading zeros (base/releases.py reads "v1.034" as no release)
_KUBE_VERSION_RE = re.compile(r"v?1\.(0|[1-9][0-9]{0,2})(?:\.(?:0|[1-9][0-9]{0,3}))?", re.ASCII)
_DURATION_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+")
_FEATURE_GATE_RE = re.compile(r"[A-Z][A-Za-z0-9]*=(?:true|false)", re.ASCII)
_POSIX_NAME_RE = re.compile(r"[a-z_][a-z0-9_.-]{0,31}", re.ASCII)
_FLAG_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]*", re.ASCII)
_K8S_VERSION_RE = re.compile(r"latest|v1\.(?:0|[1-9][0-9]{0,2})", re.ASCII)   # no leading zero: kube-apiserver refuses v1.034


def _show(value: Any) -> str:
    """The value as the user wrote it (huge values cut: a message must stay readable)."""
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + f"... ({len(text)} characters)"


# --- checkers: each returns None when valid or a message fragment saying what is allowed ------------

Checker = Callable[[Any], Optional[str]]


def _is_bool(value: Any) -> Optional[str]:
    return None if isinstance(value, bool) else "must be a boolean (true or false)"


def _int_at_least(minimum: int) -> Checker:
    def check(value: Any) -> Optional[str]:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number >= {minimum}"
        return None if value >= minimum else f"must be a whole number >= {minimum}"
    return check


def _int_between(low: int, high: int) -> Checker:
    def check(value: Any) -> Optional[str]:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"must be a whole number from {low} to {high}"
        return None
    return check


def _one_of(allowed: Sequence[str]) -> Checker:
    def check(value: Any) -> Optional[str]:
        return None if value in allowed else "must be one of: " + ", ".join(allowed)
    return check


def _is_benchmark(value: Any) -> Optional[str]:
    """One benchmark, or several (a report of each; the first is the main one: drift, fleet and kube-bench read it)."""
    allowed = ["auto"] + catalogue.benchmark_names()   # read when judged: the catalogue file is on the controller
    said = "must be one of: " + ", ".join(allowed) + "; or a list of them (each once)"
    if isinstance(value, list):
        if not value or any(not isinstance(item, str) or item not in allowed for item in value) or len(set(value)) < len(value):
            return said
        return None
    return None if isinstance(value, str) and value in allowed else said


def benchmarks_of(value: Any) -> List[str]:
    """kubeguard_benchmark as a list: the main benchmark first."""
    return [str(item) for item in value] if isinstance(value, list) else [str(value or "auto")]


# The ports a component may listen on beyond loopback (the STIG's PPSM rules): the ones Kubernetes documents
# ("Ports and Protocols"), until your PPSM CAL registration says otherwise (kubeguard_approved_ports).
APPROVED_PORTS_DEFAULT = {APISERVER: [6443], ETCD: ["2379-2380"], SCHEDULER: [10259], CONTROLLER_MANAGER: [10257],
                          KUBELET: [10250], KUBE_PROXY: [10256]}


# A range approves at most this many ports (the NodePort range, 30000-32767, is 2768): a wider one approves
# about anything, and a PPSM rule that passes on it says nothing.
WIDEST_PORT_RANGE = 4096


def _is_port_or_range(value: Any) -> Optional[str]:
    bad = "must be a port (1-65535) or a range \"low-high\""
    if isinstance(value, bool):
        return bad
    if isinstance(value, str) and re.fullmatch(r"[1-9][0-9]{0,4}", value):
        value = int(value)
    if isinstance(value, int):
        return None if 0 < value < 65536 else bad
    if not isinstance(value, str) or not re.fullmatch(r"[1-9][0-9]{0,4}-[1-9][0-9]{0,4}", value):
        return bad
    low, high = (int(part) for part in value.split("-"))
    if high > 65535:
        return bad
    if low > high:
        return f"is a range whose low end ({low}) is above its high end ({high})"
    if high - low + 1 > WIDEST_PORT_RANGE:
        return f"approves {high - low + 1} ports: a range may approve at most {WIDEST_PORT_RANGE} (list the ranges you registered)"
    return None


def _is_approved_ports(value: Any) -> Optional[str]:
    if not isinstance(value, dict):
        return f"must be a mapping of component: list of ports, components among {', '.join(APPROVED_PORTS_DEFAULT)}"
    for name, ports in value.items():
        if name not in APPROVED_PORTS_DEFAULT:
            return f"has key {_show(name)}: components are {', '.join(APPROVED_PORTS_DEFAULT)}"
        problem = _list_of(_is_port_or_range, "ports (1-65535) or ranges \"low-high\"")(ports)
        if problem:
            return f"{name}: {problem}"
    return None


def _is_release_floor(value: Any) -> Optional[str]:
    """A list of releases (v1.35.4), at most one per minor: the oldest patch of each minor you allow."""
    if not isinstance(value, list):
        return "must be a list of releases such as v1.35.4 (the oldest patch of each minor you allow)"
    minors: Dict[Any, Any] = {}
    for item in value:
        found = releases.parse(item)
        if found is None or found.patch is None or found.pre or found.build:
            return f"has {_show(item)}: each item must be a release such as v1.35.4"
        if (found.major, found.minor) in minors:
            return f"names v{found.major}.{found.minor} twice ({minors[(found.major, found.minor)]}, {item})"
        minors[(found.major, found.minor)] = item
    return None


def _is_admission_plugin(value: Any) -> Optional[str]:
    if value in ADMISSION_PLUGINS:
        return None
    if value == "PodSecurityPolicy":
        return "was removed in Kubernetes v1.25; use the PodSecurity admission plugin (kube_pod_security_use_default)"
    return "must be a kube-apiserver admission plugin name: " + ", ".join(ADMISSION_PLUGINS)


def _is_str(value: Any) -> Optional[str]:
    return None if isinstance(value, str) else "must be a string"


def _is_metrics_address(value: Any) -> Optional[str]:
    if value == "":
        return None
    if isinstance(value, str) and re.fullmatch(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]{1,253}):\d{1,5}", value) \
            and 0 < int(value.rsplit(":", 1)[1]) < 65536:
        return None
    return "must be empty (off) or host:port, for example 127.0.0.1:1338"


# keys the runtime hardening itself sets: an override would be a silent weakening
CONTAINERD_HARDENED_KEYS = ("tcp_address", "uid", "gid", "address", "stream_server_address", "disable_tcp_service",
                            "enable_unprivileged_ports", "enable_unprivileged_icmp")


def _is_containerd_settings(value: Any) -> Optional[str]:
    if not isinstance(value, dict):
        return 'must be a mapping of TOML table to {key: value}, e.g. {"grpc": {max_recv_message_size: 16777216}}'
    for table, keys in value.items():
        try:
            path = _split_keys(str(table)) if isinstance(table, str) and table.strip() else None
        except (ValueError, IndexError):
            path = None
        if not path:
            return f"table {_show(table)} must be a TOML table path such as plugins.'io.containerd.grpc.v1.cri'"
        if not isinstance(keys, dict) or not keys:
            return f"{table}: must be a non-empty mapping of key to value"
        for key, item in keys.items():
            if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", key):
                return f"{table}: key {_show(key)} must be a bare TOML key (letters, digits, _ and -)"
            if key in CONTAINERD_HARDENED_KEYS:
                return (f"{table}.{key} is set by the runtime hardening; use containerd_metrics_address, "
                        "containerd_enable_unprivileged_ports or containerd_enable_unprivileged_icmp, or turn "
                        "kubeguard_container_runtime_hardening off")
            if isinstance(item, bool) or (isinstance(item, int) and abs(item) < 2 ** 63):
                continue
            if not isinstance(item, str) or len(item) > 4096:
                return f"{table}.{key}: {_show(item)} must be a string, integer or boolean"
    return None


def _is_checksums(value: Any) -> Optional[str]:
    return checksums_problem(value)


def _is_image_digests(value: Any) -> Optional[str]:
    return images_problem(value)


def _is_optional_path(value: Any) -> Optional[str]:
    return None if value == "" else _path_problem(value)


# Directories a hardening run must never own, chmod or write a file directly into.
SYSTEM_DIRS = ("/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt", "/proc", "/root", "/run",
               "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/lib", "/usr/local", "/usr/sbin", "/var",
               "/var/lib", "/var/run", "/var/tmp", "/etc/systemd", "/etc/ssl", "/etc/sysctl.d")


def _path_problem(value: Any) -> Optional[str]:
    import posixpath
    # no whitespace or control characters: a newline would start a new line in the files the path is written into
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 4096 \
            or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "must be an absolute path without spaces or control characters (e.g. /var/log/kube-apiserver-audit.log)"
    if posixpath.normpath(value) != value or value.startswith("//"):
        return f"must be a normalised path (no '..', '.', '//' or trailing '/'; e.g. {posixpath.normpath(value)!r})"
    return None


def _confined_path(system_dir_problem: str) -> Callable[[Any], Optional[str]]:
    """A normalised absolute path that is not a system directory (the run may create, own or lock it down)."""
    def check(value: Any) -> Optional[str]:
        return _path_problem(value) or (system_dir_problem if value in SYSTEM_DIRS else None)
    return check


# a file we write (its directory may be created and locked down by the run)
_is_abs_path = _confined_path("is a system directory; give a file path below a directory of its own")
# a directory the run owns (modes and owners are set on it)
_is_dir_path = _confined_path(
    "is a system directory; a hardening run would change its owner or mode - give a directory of its own")


_SET_NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")   # what rollback.yml can name and find


def _is_set_name(value: Any) -> Optional[str]:
    if isinstance(value, str) and _SET_NAME_RE.fullmatch(value) and value != "latest":
        return None
    return ("must be a backup set name: 1-128 letters, digits, '.', '_' or '-', not starting with '.'"
            " (not 'latest'; e.g. before-upgrade)")


# Path variables and the kind of file each names (module_utils/write_policy.py: where each kind may be).
PATH_KINDS = {"audit_log_path": "audit_log", "audit_policy_file": "audit_policy", "etcd_data_dir": "data_dir",
              "kube_config_dir": "config_dir", "kubeguard_backup_root": "state", "kubeguard_reencrypt_marker": "state",
              "sysctl_file": "sysctl", "etcd_env_file": "env_file", "kubelet_firewall_dropin": "unit",
              "metrics_firewall_dir": "config_dir", "metrics_firewall_unit_file": "unit",
              "node_audit_rules_file": "audit_rules", "kubeguard_binary_checksums_file": "read_only"}


def _write_policy_problems(values: Mapping[str, Any]) -> List[Tuple[Tuple[str, ...], str]]:
    """Every path variable held to the write policy: its kind's places, the deny list, no two of ours on one path."""
    problems: List[Tuple[Tuple[str, ...], str]] = []
    config_dir = values["kube_config_dir"]
    paths = {name: (kind, values[name]) for name, kind in PATH_KINDS.items() if isinstance(values.get(name), str) and values[name]}
    for name, (kind, path) in sorted(paths.items()):
        problem = write_policy.path_problem(kind, path, config_dir)
        if problem:
            problems.append(((name,), f"{name}: {_show(path)} {problem}"))
    problems.extend(write_policy.overlap_problems(paths))
    return problems


def is_duration(value: Any) -> bool:
    return isinstance(value, str) and bool(_DURATION_RE.fullmatch(value)) and any(ch in "123456789" for ch in value)


def _is_duration(value: Any) -> Optional[str]:
    if is_duration(value):
        return None
    return "must be a positive Go duration such as 120s, 5m, 1h30m (units ns, us, ms, s, m, h)"


def _is_ip(value: Any) -> Optional[str]:
    try:
        ipaddress.ip_address(str(value)) if isinstance(value, str) else ipaddress.ip_address("x")
        return None
    except ValueError:
        return "must be an IP address to bind to (e.g. 127.0.0.1, 0.0.0.0 or ::1)"


def _is_proxy_bind_address(value: Any) -> Optional[str]:
    return kube_proxy.bind_address_problem(value)


def _is_cidr(value: Any) -> Optional[str]:
    try:
        ipaddress.ip_network(value, strict=False) if isinstance(value, str) else ipaddress.ip_network("x")
        return None
    except ValueError:
        return "must be a CIDR such as 10.233.64.0/18"


def _list_of(item_check: Checker, what: str) -> Checker:
    def check(value: Any) -> Optional[str]:
        if not isinstance(value, list):
            return f"must be a list of {what}"
        bad = [item for item in value if item_check(item) is not None]
        if bad:
            return f"has invalid item(s) {', '.join(_show(b) for b in bad)}: each item {item_check(bad[0])}"
        return None
    return check


def _is_feature_gate(value: Any) -> Optional[str]:
    if isinstance(value, str) and _FEATURE_GATE_RE.fullmatch(value):
        return None
    return "must look like Name=true or Name=false (e.g. RotateKubeletServerCertificate=true)"


def _is_cipher(value: Any) -> Optional[str]:
    # the names and their class as the built binaries list them (components/*.yml)
    return component_checks.cipher_problem(value)


def _is_tls_version(value: Any) -> Optional[str]:
    return component_checks.tls_version_problem(value)


def _is_extra_args(value: Any) -> Optional[str]:
    if not isinstance(value, dict):
        return "must be a mapping of flag name (without leading dashes) to value"
    for key, val in value.items():
        if not isinstance(key, str) or not _FLAG_NAME_RE.fullmatch(key):
            return f"has an invalid flag name {_show(key)}: use lower-case names without leading dashes"
        if isinstance(val, (dict, list)):
            return f"has a non-scalar value for {key!r}: flag values must be strings, numbers or booleans"
    return None


_KUBELET_FIELD_RE = re.compile(r"[a-z][A-Za-z0-9]*(\.[a-zA-Z][A-Za-z0-9]*)*", re.ASCII)


def _is_kubelet_fields(value: Any) -> Optional[str]:
    if not isinstance(value, dict):
        return "must be a mapping of KubeletConfiguration field (camelCase, e.g. maxPods) to value"
    for key in value:
        if not isinstance(key, str) or not _KUBELET_FIELD_RE.fullmatch(key) or key in ("kind", "apiVersion"):
            return (f"has an invalid field name {_show(key)}: use KubeletConfiguration field names"
                    " such as maxPods or evictionHard (not kind / apiVersion)")
    return None


def _is_posix_name(value: Any) -> Optional[str]:
    if isinstance(value, str) and _POSIX_NAME_RE.fullmatch(value):
        return None
    return "must be a user or group name (lower-case letters, digits, '_', '-', '.'; at most 32)"


def parse_secure_addresses(value: str) -> List[str]:
    """Split a kubelet_secure_addresses string into validated tokens (IPs, CIDRs, systemd keywords)."""
    tokens = value.split()
    for token in tokens:
        if token in SYSTEMD_ADDRESS_KEYWORDS:
            continue
        ipaddress.ip_network(token, strict=False)  # raises ValueError when malformed
    return tokens


def _is_secure_addresses(value: Any) -> Optional[str]:
    if not isinstance(value, str):
        return "must be a space-separated string of IP addresses, CIDRs or localhost/link-local/multicast"
    try:
        tokens = parse_secure_addresses(value)
    except ValueError as exc:
        return f"has a malformed address ({exc}); use IPs, CIDRs or localhost/link-local/multicast separated by spaces"
    if "any" in tokens:
        return "must not contain 'any': that would remove the kubelet firewall (set kubelet_systemd_hardening: false instead)"
    for token in tokens:
        if token in SYSTEMD_ADDRESS_KEYWORDS:
            continue
        network = ipaddress.ip_network(token, strict=False)
        if network.prefixlen < (8 if network.version == 4 else 16):
            return (f"contains {token!r}, which admits {'everyone' if network.prefixlen == 0 else 'a large part of the internet'};"
                    " list the networks that must reach the kubelet (or set kubelet_systemd_hardening: false)")
    return None


def _is_kube_version(value: Any) -> Optional[str]:
    if isinstance(value, str) and _KUBE_VERSION_RE.fullmatch(value):
        return None
    return "must be a Kubernetes release such as v1.34.4 (or kubespray's 1.34.4)"


def _minor(version: str) -> int:
    """The minor of a Kubernetes 1.x release (v1.34.4 -> 34), 0 for anything else."""
    found = releases.parse(version)
    return found.minor if found is not None and found.major == 1 else 0


def _is_pod_security_version(value: Any) -> Optional[str]:
    if isinstance(value, str) and _K8S_VERSION_RE.fullmatch(value):
        return None
    return "must be 'latest' or a minor version like v1.34"


def _is_event_rate_limits(value: Any) -> Optional[str]:
    if not isinstance(value, dict):
        return "must be a mapping of limit name to {type, qps, burst, cache_size}"
    for name, limit in value.items():
        if not isinstance(limit, dict):
            return f"limit {name!r} must be a mapping with type, qps and burst"
        unknown = set(limit) - {"type", "qps", "burst", "cache_size"}
        if unknown:
            return f"limit {name!r} has unknown key(s) {sorted(unknown)}; allowed: type, qps, burst, cache_size"
        if limit.get("type") not in EVENT_RATE_LIMIT_TYPES:
            return f"limit {name!r} type {limit.get('type')!r} must be one of: " + ", ".join(EVENT_RATE_LIMIT_TYPES)
        for key in ("qps", "burst"):
            if _int_at_least(1)(limit.get(key)) is not None:
                return f"limit {name!r} {key} {limit.get(key)!r} must be a whole number >= 1"
        if "cache_size" in limit and _int_at_least(1)(limit["cache_size"]) is not None:
            return f"limit {name!r} cache_size {limit['cache_size']!r} must be a whole number >= 1"
        if limit["type"] == "Server" and "cache_size" in limit:
            return f"limit {name!r}: cache_size is not allowed for type Server"
    return None


_DNS_LABELS_RE = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def _is_limited_resources(value: Any) -> Optional[str]:
    """kube_resource_quota_limited_resources: ResourceQuotaConfiguration's limitedResources."""
    if not isinstance(value, list):
        return "must be a list of {apiGroup, resource, matchContains, matchScopes}"
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            return f"item {index} must be a mapping with resource (and apiGroup, matchContains, matchScopes)"
        unknown = set(entry) - {"apiGroup", "resource", "matchContains", "matchScopes"}
        if unknown:
            return f"item {index} has unknown key(s) {sorted(map(str, unknown))}; allowed: apiGroup, resource, matchContains, matchScopes"
        if not isinstance(entry.get("resource"), str) or not _DNS_LABELS_RE.fullmatch(entry["resource"]):
            return f"item {index} resource {entry.get('resource')!r} must be a resource name such as persistentvolumeclaims"
        if not isinstance(entry.get("apiGroup", ""), str) or (entry.get("apiGroup") and not _DNS_LABELS_RE.fullmatch(entry["apiGroup"])):
            return f"item {index} apiGroup {entry.get('apiGroup')!r} must be an API group name (\"\" for the core group)"
        contains = entry.get("matchContains", [])
        if not isinstance(contains, list) or not all(isinstance(c, str) and c for c in contains):
            return f"item {index} matchContains must be a list of non-empty strings"
        scopes = entry.get("matchScopes", [])
        if not isinstance(scopes, list) or not all(isinstance(c, dict) and isinstance(c.get("scopeName"), str)
                                                   and c.get("operator") in ("In", "NotIn", "Exists", "DoesNotExist")
                                                   for c in scopes):
            return f"item {index} matchScopes must be a list of {{scopeName, operator: In|NotIn|Exists|DoesNotExist, values}}"
    return None


def _parse_audit_rules(value: Any) -> Any:
    """kubespray writes audit_policy_custom_rules as a YAML string; a list is taken as it is."""
    if isinstance(value, str):
        try:
            return safe_load(value)
        except yaml.YAMLError as exc:
            return f"(unparsable YAML: {str(exc).splitlines()[0]})"
    return value


def _is_audit_rules(value: Any) -> Optional[str]:
    parsed = _parse_audit_rules(value)
    message = _list_of(_is_string_map, "audit policy rules")(parsed)
    if message:
        return message + " (a list, or kubespray's YAML string of one)"
    levels = ("None", "Metadata", "Request", "RequestResponse")
    bad = [rule for rule in parsed if rule.get("level") not in levels]
    if bad:
        return f"has rule(s) without a valid level ({', '.join(levels)}): {bad[:2]!r}"
    return None


def _is_cidr_list(value: Any) -> Optional[str]:
    if not isinstance(value, str):
        return "must be a comma-separated string of CIDRs (kubespray's form)"
    return next((f"has {part!r}, which {_is_cidr(part.strip())}" for part in value.split(",") if _is_cidr(part.strip())), None)


def _is_string_map(value: Any) -> Optional[str]:
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return None
    return "must be a mapping"


def _is_narrow_cidr(value: Any) -> Optional[str]:
    """An address or network to deny: a whole address family (/0) would cut pods off from everything."""
    problem = _is_cidr(value)
    if problem:
        return problem
    if ipaddress.ip_network(value, strict=False).prefixlen == 0:
        return "must not be a /0 network: pods would reach nothing outside the cluster (list [] for no egress policy)"
    return None


_NAMESPACE_RE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)


def _is_namespace(value: Any) -> Optional[str]:
    if isinstance(value, str) and _NAMESPACE_RE.fullmatch(value):
        return None
    return "must be a namespace name (lowercase letters, digits and '-', at most 63)"


def _is_namespace_levels(value: Any) -> Optional[str]:
    if not isinstance(value, dict):
        return "must be a mapping of namespace: privileged|baseline|restricted"
    for name, level in value.items():
        if _is_namespace(name):
            return f"has key {_show(name)}, which {_is_namespace(name)}"
        if level not in POD_SECURITY_LEVELS:
            return f"{name}: {_show(level)} must be one of {', '.join(POD_SECURITY_LEVELS)}"
    return None


# What kubeguard_allow_override may name: component.flag (kube-apiserver.authorization-mode) or
# kubelet.dotted.field (kubelet.authentication.anonymous.enabled).
FLAG_OVERRIDE_COMPONENTS = component_registry.OVERRIDABLE
_OVERRIDE_KEY_RE = re.compile(rf"(?:{'|'.join(FLAG_OVERRIDE_COMPONENTS)})\.[a-z0-9][a-z0-9-]*"
                              r"|kubelet\.[a-z][A-Za-z0-9]*(?:\.[a-zA-Z][A-Za-z0-9]*)*")
# A value must read as it is and stay one line (base/readable_text): refused are controls (C0, C1), format
# characters (zero-width, bidi overrides, tags), line and paragraph separators (U+2028/U+2029 break lines for YAML
# and Python's splitlines, not for systemd), surrogates, private-use and unassigned code points, and the fillers
# that render as nothing (Hangul fillers, variation selectors, combining grapheme joiner).


def _is_overrides(value: Any) -> Optional[str]:
    keys = "component.flag (e.g. kube-apiserver.authorization-mode) or kubelet.field"
    if not isinstance(value, dict):
        return f"must be a mapping of {keys} to the reason you accept the weaker setting"
    for key, reason in value.items():
        if not isinstance(key, str) or not _OVERRIDE_KEY_RE.fullmatch(key):
            return f"has an invalid key {_show(key)}: each key must be {keys}"
        if not isinstance(reason, str) or not reason.strip() or readable_text.unreadable(reason):
            return (f"has no usable reason for {key!r} ({_show(reason)}): give a one-line text saying why;"
                    " it is printed in every report")
    return None


def overridden(values: Mapping[str, Any], component: str, key: str) -> Optional[str]:
    """The user's reason for weakening component.key, or None when they did not allow it."""
    return (values.get("kubeguard_allow_override") or {}).get(f"{component}.{key}")


# kube-controller-manager's controllers that create pods, as the service accounts they act as (kubeadm's
# use-service-account-credentials, 1.3.3), and the controller-manager's own user (without it): a Pod Security
# exemption of one of them exempts every pod of every workload it manages. Key of kubeguard_allow_override:
POD_CREATING_CONTROLLERS = ("replicaset-controller", "replication-controller", "job-controller", "daemon-set-controller",
                            "statefulset-controller", "persistent-volume-binder")
POD_CREATING_USERS = tuple(f"system:serviceaccount:kube-system:{name}" for name in POD_CREATING_CONTROLLERS) + (
    "system:kube-controller-manager",)
POD_SECURITY_OVERRIDE = "pod-security-exemptions"


def pod_creating_exemptions(values: Mapping[str, Any]) -> List[str]:
    """The Pod Security exemptions (kube_pod_security_exemptions_usernames) of users that create pods for workloads."""
    return [str(name) for name in values.get("kube_pod_security_exemptions_usernames") or [] if str(name).strip() in POD_CREATING_USERS]


def _extra_args_problems(values: Mapping[str, Any]) -> List[Tuple[Tuple[str, ...], str]]:
    """Doors the variable checks do not cover: cipher suites through extra args (the check tls_cipher_suites
    gets), pod networks the kubelet and metrics firewalls admit (kubelet_secure_addresses' bound), and Pod
    Security exemptions of the controllers that create pods."""
    problems: List[Tuple[Tuple[str, ...], str]] = []
    if not values["tls_cipher_suites"]:   # with it set, _hardened_overrides refuses any other list
        for variable, component, key in (("kube_kubeadm_apiserver_extra_args", APISERVER, "tls-cipher-suites"),
                                         ("kube_kubeadm_controller_extra_args", CONTROLLER_MANAGER, "tls-cipher-suites"),
                                         ("kube_kubeadm_scheduler_extra_args", SCHEDULER, "tls-cipher-suites"),
                                         ("kubelet_config_extra_args", KUBELET, "tlsCipherSuites")):
            given = (values.get(variable) or {}).get(key)
            if given is None or overridden(values, component, key):
                continue
            names = [str(n).strip() for n in given] if isinstance(given, list) else [n.strip() for n in str(given).split(",")]
            bad = [n for n in names if _is_cipher(n)]
            if bad:
                problems.append(((variable,), f"{variable}: {key}={_show(given)} has {', '.join(map(repr, bad))}, which {_is_cipher(bad[0])};"
                                 f" allowed: the suites tls_cipher_suites accepts (set the list there), or keep it deliberately with"
                                 f" kubeguard_allow_override: {{{component}.{key}: <your reason>}} (waived in every report)"))
    networks = ("kube_pods_subnets",) if values.get("kube_pods_subnets") else ("kube_pods_subnet", "kube_pods_subnet_ipv6")
    for variable in networks:
        for part in [p.strip() for p in str(values.get(variable) or "").split(",") if p.strip()]:
            if not _is_cidr(part) and too_wide(part):
                problems.append(((variable,), f"{variable}: {part!r} admits {too_wide(part)}: the pod networks are let through the"
                                 " kubelet's firewall (kubelet_systemd_hardening) and the metrics firewall; allowed: the pod"
                                 " network's CIDR, /8 or narrower (IPv6 /16)"))
    exempted = pod_creating_exemptions(values)
    if exempted and not overridden(values, APISERVER, POD_SECURITY_OVERRIDE):
        problems.append((("kube_pod_security_exemptions_usernames",),
                         f"kube_pod_security_exemptions_usernames: {_show(exempted)} create pods for every Deployment, Job,"
                         " DaemonSet or StatefulSet: exempting them exempts all those pods from Pod Security, silently;"
                         " allowed: users that create pods themselves (a CI runner's service account), or keep it deliberately"
                         f" with kubeguard_allow_override: {{kube-apiserver.{POD_SECURITY_OVERRIDE}: <your reason>}} (waived in"
                         " every report)"))
    return problems


@dataclass(frozen=True)
class Var:
    name: str
    default: Any
    check: Checker
    component: str
    doc: str
    nullable: bool = False


def _v(name, default, check, component, doc, **kw) -> Var:
    return Var(name, default, check, component, doc, **kw)


_bool, _str = _is_bool, _is_str

VARIABLES: Tuple[Var, ...] = (
    # --- kube-apiserver ------------------------------------------------------------------------------
    _v("authorization_modes", ["Node", "RBAC"], _list_of(_one_of(AUTHORIZATION_MODES), "authorization modes"),
       "apiserver", "--authorization-mode, in order"),
    _v("kube_api_anonymous_auth", True, _bool, "apiserver",
       "Anonymous requests to the apiserver. false keeps the health endpoints reachable for probes."),
    _v("remove_anonymous_access", False, _bool, "apiserver",
       "Remove the bindings that give system:anonymous / system:unauthenticated access (current guide)."),
    _v("kube_apiserver_feature_gates", [], _list_of(_is_feature_gate, "Name=bool feature gates"), "apiserver",
       "--feature-gates of kube-apiserver"),
    _v("kube_apiserver_request_timeout", "1m0s", _is_duration, "apiserver", "--request-timeout"),
    _v("kube_apiserver_service_account_lookup", True, _bool, "apiserver", "--service-account-lookup"),
    _v("kube_apiserver_service_account_extend_token_expiration", True, _bool, "apiserver",
       "false sets --service-account-extend-token-expiration=false (CIS 1.2.30; not in kubespray's guide)"),
    _v("kube_profiling", False, _bool, "apiserver",
       "--profiling of apiserver, controller-manager and scheduler"),
    _v("kube_kubeadm_apiserver_extra_args", {}, _is_extra_args, "apiserver",
       "Extra kube-apiserver flags (name without dashes: value)"),
    _v("kubernetes_audit", False, _bool, "audit", "Enable the audit log"),
    _v("audit_log_path", "/var/log/audit/kube-apiserver-audit.log", _is_abs_path, "audit", "--audit-log-path"),
    _v("audit_log_maxage", 30, _int_at_least(1), "audit", "--audit-log-maxage (days)"),
    _v("audit_log_maxbackups", 10, _int_at_least(1), "audit", "--audit-log-maxbackup (files)"),
    _v("audit_log_maxsize", 100, _int_at_least(1), "audit", "--audit-log-maxsize (MB)"),
    _v("audit_policy_file", "/etc/kubernetes/audit-policy/apiserver-audit-policy.yaml", _is_abs_path, "audit",
       "--audit-policy-file"),
    _v("audit_policy_custom_rules", None, _is_audit_rules, "audit",
       "Replace the default audit policy rules with these (audit.k8s.io/v1 rules)", nullable=True),
    _v("tls_min_version", "VersionTLS12", _is_tls_version, "tls",
       "--tls-min-version of apiserver, controller-manager, scheduler and kubelet tlsMinVersion"),
    _v("tls_cipher_suites", [], _list_of(_is_cipher, "TLS cipher suite names"), "tls",
       "--tls-cipher-suites of apiserver, controller-manager, scheduler and kubelet tlsCipherSuites"),
    _v("kube_encrypt_secret_data", False, _bool, "encryption", "Encrypt resources at rest"),
    _v("kube_encryption_resources", ["secrets"], _list_of(_is_str, "resource names"), "encryption",
       "Resources to encrypt"),
    _v("kube_encryption_algorithm", "secretbox", _one_of(ENCRYPTION_ALGORITHMS), "encryption",
       "Encryption provider"),
    _v("kube_apiserver_enable_admission_plugins", [], _list_of(_is_admission_plugin, "admission plugin names"),
       "admission", "--enable-admission-plugins"),
    _v("kube_apiserver_disable_admission_plugins", [], _list_of(_is_admission_plugin, "admission plugin names"),
       "admission", "--disable-admission-plugins"),
    _v("kube_apiserver_admission_control_config_file", False, _bool, "admission",
       "Write an admission control config file and pass --admission-control-config-file"),
    _v("kube_apiserver_admission_plugins_needs_configuration", list(ADMISSION_PLUGINS_WITH_CONFIG),
       _list_of(_one_of(ADMISSION_PLUGINS_WITH_CONFIG), "plugins with a configuration section"), "admission",
       "Enabled plugins that get a section in the admission config file"),
    _v("kube_apiserver_admission_event_rate_limits", {}, _is_event_rate_limits, "admission",
       "EventRateLimit limits"),
    _v("kube_apiserver_admission_plugins_podnodeselector_default_node_selector", "", _str, "admission",
       "PodNodeSelector clusterDefaultNodeSelector"),
    _v("kube_resource_quota_limited_resources", [], _is_limited_resources, "admission",
       "ResourceQuota limitedResources (kubespray's; resources that need a quota before they can be used)"),
    _v("kube_pod_security_use_default", False, _bool, "admission", "Write a default PodSecurity configuration"),
    _v("kube_pod_security_default_enforce", "baseline", _one_of(POD_SECURITY_LEVELS), "admission", "enforce level"),
    _v("kube_pod_security_default_enforce_version", None, _is_pod_security_version, "admission",
       "Pod Security Standards version; default: the cluster's minor (kubespray's v<major.minor>)", nullable=True),
    _v("kube_pod_security_default_audit", "restricted", _one_of(POD_SECURITY_LEVELS), "admission", "audit level"),
    _v("kube_pod_security_default_audit_version", None, _is_pod_security_version, "admission",
       "Pod Security Standards version; default: the cluster's minor (kubespray's v<major.minor>)", nullable=True),
    _v("kube_pod_security_default_warn", "restricted", _one_of(POD_SECURITY_LEVELS), "admission", "warn level"),
    _v("kube_pod_security_default_warn_version", None, _is_pod_security_version, "admission",
       "Pod Security Standards version; default: the cluster's minor (kubespray's v<major.minor>)", nullable=True),
    _v("kube_pod_security_exemptions_usernames", [], _list_of(_is_str, "user names"), "admission", ""),
    _v("kube_pod_security_exemptions_runtime_class_names", [], _list_of(_is_str, "runtime class names"), "admission", ""),
    _v("kube_pod_security_exemptions_namespaces", ["kube-system"], _list_of(_is_str, "namespaces"), "admission", ""),
    # --- kube-controller-manager ----------------------------------------------------------------------
    # kubespray defaults both bind addresses to 0.0.0.0; kubeadm (and CIS 1.3.7 / 1.4.2) to loopback.
    # A hardening tool must not open them by default: loopback unless the user sets another address.
    _v("kube_controller_manager_bind_address", "127.0.0.1", _is_ip, "controller_manager",
       "--bind-address (default loopback, as kubeadm and CIS 1.3.7 want; kubespray's is 0.0.0.0)"),
    _v("kube_controller_terminated_pod_gc_threshold", 12500, _int_at_least(1), "controller_manager",
       "--terminated-pod-gc-threshold"),
    _v("kube_controller_feature_gates", [], _list_of(_is_feature_gate, "Name=bool feature gates"),
       "controller_manager", "--feature-gates"),
    _v("kube_kubeadm_controller_extra_args", {}, _is_extra_args, "controller_manager", "Extra flags"),
    # --- kube-scheduler -------------------------------------------------------------------------------
    _v("kube_scheduler_bind_address", "127.0.0.1", _is_ip, "scheduler",
       "--bind-address (default loopback, as kubeadm and CIS 1.4.2 want; kubespray's is 0.0.0.0)"),
    _v("kube_scheduler_feature_gates", [], _list_of(_is_feature_gate, "Name=bool feature gates"), "scheduler",
       "--feature-gates"),
    _v("kube_kubeadm_scheduler_extra_args", {}, _is_extra_args, "scheduler", "Extra flags (e.g. profiling: false)"),
    # --- kube-proxy -------------------------------------------------------------------------------------
    _v("kube_proxy_metrics_bind_address", kube_proxy.DEFAULT_METRICS, _is_proxy_bind_address, "kube_proxy",
       "metricsBindAddress of kube-proxy (kubespray's name and default; loopback, as CIS 4.3.1 wants)"),
    # --- etcd -----------------------------------------------------------------------------------------
    _v("etcd_deployment_type", "host", _one_of(ETCD_DEPLOYMENT_TYPES), ETCD,
       "kubeadm: static pod; host: systemd unit with /etc/etcd.env"),
    _v("etcd_extra_vars", {}, _is_extra_args, ETCD, "Extra etcd flags, e.g. listen-metrics-urls"),
    _v("etcd_data_dir", "/var/lib/etcd", _is_dir_path, ETCD, "etcd data directory"),
    _v("etcd_auto_tls_explicit", False, _bool, ETCD,
       "true: write --auto-tls=false and --peer-auto-tls=false (the DISA STIG wants them set; CIS accepts them absent)"),
    # --- kubelet --------------------------------------------------------------------------------------
    _v("kubelet_authentication_token_webhook", True, _bool, KUBELET, "authentication.webhook.enabled"),
    _v("kubelet_authorization_mode_webhook", True, _bool, KUBELET,
       "authorization.mode Webhook (kubespray's default since v2.31; false leaves the node's own mode)"),
    _v("kube_read_only_port", 0, _int_between(0, 65535), KUBELET, "readOnlyPort"),
    _v("kubelet_rotate_server_certificates", False, _bool, KUBELET, "serverTLSBootstrap"),
    _v("kubelet_protect_kernel_defaults", True, _bool, KUBELET, "protectKernelDefaults"),
    _v("kubelet_event_record_qps", 50, _int_at_least(0), KUBELET, "eventRecordQPS"),
    _v("kubelet_rotate_certificates", True, _bool, KUBELET, "rotateCertificates"),
    _v("kubelet_streaming_connection_idle_timeout", "4h0m0s", _is_duration, KUBELET,
       "streamingConnectionIdleTimeout"),
    _v("kubelet_make_iptables_util_chains", True, _bool, KUBELET, "makeIPTablesUtilChains"),
    _v("kubelet_feature_gates", [], _list_of(_is_feature_gate, "Name=bool feature gates"), KUBELET, "featureGates"),
    _v("kubelet_seccomp_default", False, _bool, KUBELET, "seccompDefault"),
    _v("kubelet_pod_pids_limit", -1, _int_at_least(-1), KUBELET, "podPidsLimit (-1: unlimited)"),
    _v("kubelet_systemd_hardening", False, _bool, KUBELET, "Firewall the kubelet with systemd IPAddressDeny/Allow"),
    _v("kubelet_config_extra_args", {}, _is_kubelet_fields, KUBELET,
       "Extra KubeletConfiguration fields (kubespray's variable), merged last"),
    _v("kubelet_secure_addresses", None, _is_secure_addresses, KUBELET,
       "Who may reach the kubelet (space-separated); default: computed safe list", nullable=True),
    # --- metrics ports (seed 000's Prometheus variant binds them to 0.0.0.0) -------------------------------
    _v("kubeguard_metrics_allowed_sources", None, _list_of(_is_narrow_cidr, "CIDRs"), "metrics",
       "Who may reach controller-manager, scheduler and etcd metrics when they bind beyond loopback (a host "
       "firewall on those nodes); default: the pod networks and every node", nullable=True),
    # --- the cluster's own objects (policy role, once per cluster) ---------------------------------------
    _v("kubeguard_pod_security_labels", "soak", _one_of(("off", "soak", "enforce")), "policy",
       "Namespace Pod Security labels at the level everything running there passes: soak = audit + warn, "
       "enforce = also enforce (never stricter than what runs; never weaker than what is there)"),
    _v("kubeguard_pod_security_namespace_levels", {}, _is_namespace_levels, "policy",
       "Your own level per namespace (namespace: privileged|baseline|restricted), applied to every mode even if "
       "stricter than what runs"),
    _v("kubeguard_network_policies", False, _bool, "policy",
       "Per namespace: default-deny ingress, allow from the same namespace, the nodes and "
       "kubeguard_network_policy_ingress_from_namespaces; egress open except kubeguard_metadata_addresses (CIS 5.3.2)"),
    _v("kubeguard_network_policy_exempt_namespaces", ["kube-system", "kube-public", "kube-node-lease"],
       _list_of(_is_namespace, "namespace names"), "policy", "Namespaces that get no NetworkPolicies"),
    _v("kubeguard_network_policy_ingress_from_namespaces", ["monitoring"], _list_of(_is_namespace, "namespace names"),
       "policy", "Namespaces whose pods may reach every pod (Prometheus, ingress controllers)"),
    _v("kubeguard_network_policy_ingress_from_nodes", True, _bool, "policy",
       "Allow ingress from the nodes' InternalIPs (kubelet probes, the apiserver calling webhooks)"),
    _v("kubeguard_metadata_addresses", ["169.254.169.254/32"], _list_of(_is_narrow_cidr, "CIDRs"), "policy",
       "Addresses pods may not reach (cloud metadata); [] writes no egress policy"),
    _v("enable_nodelocaldns", True, _bool, "policy", "NodeLocal DNS runs (kubespray): its address is allowed for DNS"),
    _v("nodelocaldns_ip", "169.254.25.10", _is_ip, "policy", "NodeLocal DNS address (kubespray)"),
    _v("kubeguard_default_service_account_automount", False, _bool, "policy",
       "false: the default ServiceAccount of each namespace stops mounting its token, except where a pod or "
       "workload template uses it (reported); true leaves them alone"),
    _v("kubeguard_cluster_policy_settle_seconds", 30, _int_between(0, 600), "policy",
       "How long a namespace's pods are watched after its NetworkPolicies change (liveness probes fail late)"),
    # --- the collection's own switches -----------------------------------------------------------------
    _v("kubeguard_profile", "none", _one_of(("none", "cis_level1", "cis_level2", "stig")), "cluster",
       "A CIS level (or the DISA STIG) applied beneath your own variables (profiles.yml; trade-offs in docs/profiles.md)"),
    _v("kubeguard_benchmark", "auto", _is_benchmark, "cluster",
       "The benchmark the reports judge by (cis_catalogue.yml `benchmarks`); auto: the one mapped to the release the"
       " node runs, as kube-bench's version_mapping does. A list judges by each (e.g. [auto, stig-v2r6]): the first"
       " is the main report, each other one is written under verify_report_dir/<benchmark>/"),
    _v("kubeguard_approved_ports", APPROVED_PORTS_DEFAULT, _is_approved_ports, "cluster",
       "The TCP ports each component may listen on beyond loopback, as your PPSM CAL registration lists them "
       "(component: [port or \"low-high\"]); a component left out keeps Kubernetes' documented ports (STIG V-242410..13)"),
    _v("kubeguard_release_floor", [], _is_release_floor, "cluster",
       "The oldest patch of each Kubernetes minor your organisation allows (IAVM / CTO deadlines), e.g. [v1.35.4, v1.36.3]; "
       "a node or kubectl older than its minor's floor fails STIG V-242443 / V-242396, as does a minor past upstream support"),
    _v("kubeguard_stale_image_days", STALE_IMAGE_DAYS_DEFAULT, _int_between(0, 3650), "cluster",
       "How many days an image no container uses may stay on a node (on it since it was pulled or imported); "
       "one older fails STIG V-242442 (old components left behind after an update). 0: every unused image from before today fails"),
    _v("kubeguard_strict_variables", False, _bool, "cluster",
       "true: a variable that looks like one of ours but is not (a typo) fails validation instead of warning"),
    _v("kubeguard_allow_override", {}, _is_overrides, "cluster",
       "Hardened settings you deliberately weaken, as component.flag-or-field: your reason "
       "(e.g. kube-apiserver.authorization-mode: legacy ABAC policy until 2027-03). Shown as waived in every report."),
    # --- binary integrity (verified, never changed; module_utils/integrity.py) -----------------------------
    *[_v(name, {}, _is_checksums, "integrity",
         f"kubespray's {name}: {{architecture: {{version: sha256:<hex>}}}}; the node's {name.split('_', maxsplit=1)[0]} is checked "
         "against the entry for kube_version (runc: runc_version) and its architecture (kubeguard.integrity checks)")
      for name in ("kubelet_checksums", "kubeadm_checksums", "kubectl_checksums", "runc_checksums")],
    _v("runc_version", None, _is_str, "integrity", "runc release on the nodes (kubespray's variable), picks the runc_checksums entry",
       nullable=True),
    _v("kubeguard_image_digests", {}, _is_image_digests, "integrity",
       "The static pods' images and their registry digests, {registry.k8s.io/kube-apiserver:v1.34.4: sha256:<hex>}: "
       "each control plane's images are checked against them (kubeguard.integrity.images, K.27; docs/integrity.md)"),
    _v("kubeguard_binary_checksums_file", "", _is_optional_path, "integrity",
       "A sha256sum / sha512sum file on the controller ('<hex>  kubelet' lines) for kubelet, kubeadm, kubectl, runc, "
       "containerd and etcd, whatever their version (docs/integrity.md: where to get official checksums)"),
    # --- container runtime (GKE checklist, CKS notes) ---------------------------------------------------
    _v("kubeguard_container_runtime_hardening", True, _bool, "runtime",
       "Harden containerd's config.toml in place (no TCP API, streams on loopback, root's socket) and restart it, "
       "proving running pods survive; false is reported as waived (K.23-K.25)"),
    _v("containerd_metrics_address", "", _is_metrics_address, "runtime",
       "containerd's metrics listener (kubespray's variable): empty = off; host:port beyond loopback serves "
       "unauthenticated metrics and is reported as waived (K.23)"),
    _v("containerd_enable_unprivileged_ports", False, _bool, "runtime",
       "Let pods bind ports below 1024 without NET_BIND_SERVICE (kubespray's variable); true is reported as waived (K.24)"),
    _v("containerd_enable_unprivileged_icmp", False, _bool, "runtime",
       "Let pods send ICMP (ping) without NET_RAW (kubespray's variable); true is reported as waived (K.24)"),
    _v("kubeguard_containerd_settings", {}, _is_containerd_settings, "runtime",
       "More config.toml keys to set, {\"table.path\": {key: string|integer|boolean}} (for example "
       "{\"plugins.'io.containerd.grpc.v1.cri'\": {max_container_log_line_size: 16384}}); never the keys the hardening sets"),
    # --- node audit rules (GKE checklist, CKS notes) ----------------------------------------------------
    _v("kubeguard_node_audit_rules", True, _bool, "node_audit",
       "Audit rules (/etc/audit/rules.d) watching Kubernetes' configuration, PKI and binaries for writes and attribute "
       "changes, loaded with augenrules where auditd runs (K.21, K.22); false is reported as waived"),
    _v("kubeguard_node_audit_backlog", 8192, _int_between(0, 1048576), "node_audit",
       "The kernel's audit backlog (auditctl -b) the rules set, with a 60 s backlog wait; 0 leaves it to your other rules"),
    _v("kubeguard_node_audit_exclude_dirs", [], _list_of(_is_dir_path, "absolute directories"), "node_audit",
       "More directories to keep out of the audit log, besides the container runtime's and pods' state directories "
       "the platform data names (a never rule before every rule that follows ours)"),
    # --- cluster facts the settings depend on -----------------------------------------------------------
    _v("kube_version", "v1.34.4", _is_kube_version, "cluster",
       "Kubernetes release of the cluster (kubespray's variable); decides which feature gates still exist and the Pod "
       "Security default versions. Not set: each node's plan reads the release it runs (the running kube-apiserver, k3s or "
       "kubelet, else their binaries on disk) and says so; v1.34.4 only when nothing tells"),
    _v("kube_pods_subnet", "10.233.64.0/18", _is_cidr, "cluster",
       "Pod network (kubespray), let through the kubelet's and the metrics firewall; left at this default (and"
       " kube_pods_subnets unset), a control plane takes its controller-manager manifest's --cluster-cidr"),
    _v("kube_pods_subnet_ipv6", None, _is_cidr, "cluster", "IPv6 pod network of a dual-stack cluster (kubespray)",
       nullable=True),
    _v("kube_pods_subnets", None, _is_cidr_list, "cluster",
       "Every pod network, comma-separated (kubespray's dual-stack form); default: kube_pods_subnet (+ _ipv6)", nullable=True),
    _v("kube_feature_gates", [], _list_of(_is_feature_gate, "Name=bool feature gates"), "cluster",
       "Feature gates of every component (kubespray); a component's own list wins for the same gate"),
    _v("kube_config_dir", "/etc/kubernetes", _is_dir_path, "cluster", "Kubernetes config directory"),
    _v("kubeguard_backup_root", "/var/lib/kubeguard/backups", _is_dir_path, "cluster",
       "Where backup sets are kept (below /var/lib/kubeguard; root's alone)"),
    # where the roles write their own files (role defaults, the same values): held to the write policy
    _v("kubeguard_reencrypt_marker", "/var/lib/kubeguard/reencrypt-pending", _is_abs_path, "files",
       "Marker of a pending rewrite of stored objects with the new encryption key (below /var/lib/kubeguard)"),
    _v("sysctl_file", "/etc/sysctl.d/90-kubelet.conf", _is_abs_path, "files",
       "Where the kernel parameters protectKernelDefaults needs are persisted (a .conf below /etc/sysctl.d)"),
    _v("etcd_env_file", "/etc/etcd.env", _is_abs_path, "files", "kubespray's host etcd environment file (a .env below /etc)"),
    _v("kubelet_firewall_dropin", "/etc/systemd/system/kubelet.service.d/90-kubeguard-firewall.conf", _is_abs_path, "files",
       "The kubelet unit drop-in of kubelet_systemd_hardening (a .conf below /etc/systemd/system)"),
    _v("metrics_firewall_dir", "/etc/kubeguard", _is_dir_path, "files", "The metrics firewall's rules directory"),
    _v("metrics_firewall_unit_file", "/etc/systemd/system/kubeguard-metrics-firewall.service", _is_abs_path, "files",
       "The unit that loads the metrics firewall at boot (a .service below /etc/systemd/system)"),
    _v("node_audit_rules_file", "/etc/audit/rules.d/20-kubeguard-kubernetes.rules", _is_abs_path, "files",
       "The auditd rules file of the node_audit role (a .rules below /etc/audit/rules.d)"),
    _v("kubeguard_backup_set", None, _is_set_name, "cluster",
       "Name of this run's backup set (default: the run's UTC time, 20261204T101500Z); letters, digits, '.', '_', '-'",
       nullable=True),
    # --- ownership ------------------------------------------------------------------------------------
    _v("kube_owner", "kube", _is_posix_name, "files", "Owner of Kubernetes files (CIS wants root)"),
    _v("kube_cert_group", "kube-cert", _is_posix_name, "files", "Group of certificate files (CIS wants root)"),
)

VARIABLES_BY_NAME: Dict[str, Var] = {v.name: v for v in VARIABLES}


def defaults() -> Dict[str, Any]:
    """kubespray's defaults, as fresh copies."""
    import copy
    return {v.name: copy.deepcopy(v.default) for v in VARIABLES}


# Extra-args variables and the component whose flags (or kubelet fields) they set.
EXTRA_ARGS_COMPONENT = component_registry.EXTRA_ARGS_COMPONENT
# KubeletConfiguration fields that are structs: extra args for them are merged field by field
# (a mapping for `authentication` must not replace the whole block and its hardened fields).
KUBELET_STRUCT_FIELDS = ("authentication", "authentication.anonymous", "authentication.webhook", "authentication.x509",
                         "authorization", "authorization.webhook")
MAX_REQUEST_TIMEOUT_SECONDS = 24 * 3600


def flatten_kubelet_fields(fields: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """{'authentication': {'webhook': {'cacheTTL': '1m'}}} -> {'authentication.webhook.cacheTTL': '1m'}
    for the struct fields; maps such as evictionHard or featureGates stay whole values."""
    flat: Dict[str, Any] = {}
    for key, value in fields.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name in KUBELET_STRUCT_FIELDS:
            flat.update(flatten_kubelet_fields(value, name + "."))
        else:
            flat[name] = value
    return flat


def _arg_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _hardened_overrides(values: Mapping[str, Any]) -> List[Tuple[Tuple[str, ...], str]]:
    """Extra-args entries that change a setting we harden (a catalogue setting that decides a control),
    to a value other than the hardened one, without kubeguard_allow_override naming it."""
    layout = catalogue.layout_for("kubeadm", values["kube_config_dir"], catalogue.load_platforms())
    hardened: Dict[str, Dict[str, Tuple[Any, Tuple[str, ...]]]] = {}
    context = catalogue.expression_context(values, layout)
    for setting in catalogue.settings():
        if not setting.controls or (setting.when is not None and not catalogue.evaluate(setting.when, context)):
            continue
        value = catalogue.evaluate(setting.value, context)
        hardened.setdefault(setting.component, {})[setting.key] = (value, setting.variables)
    problems = []
    for variable, component in EXTRA_ARGS_COMPONENT.items():
        for key, value in (values.get(variable) or {}).items():
            for managed, (wanted, variables) in (hardened.get(component) or {}).items():
                same_key = key == managed or key.startswith(managed + ".") or managed.startswith(key + ".")
                if not same_key or overridden(values, component, key) or overridden(values, component, managed):
                    continue
                if key == managed and wanted is not None and _arg_text(value) == _arg_text(wanted):
                    continue   # the hardened value itself (kubespray's guide sets scheduler profiling: false)
                use = f"use {' / '.join(variables)}" if variables else "it is always hardened"
                problems.append(((variable,), f"{variable}: {key}={_show(value)} overrides the hardened {component} setting"
                                 f" {managed} ({use}); to weaken it deliberately, add"
                                 f" kubeguard_allow_override: {{{component}.{key}: <your reason>}} (shown as waived in every report)"))
                break
    return problems


def _version_checks(values: Mapping[str, Any]) -> List[Tuple[Tuple[str, ...], str]]:
    """The cross checks that depend on the cluster's release (each names kube_version): pure Python, so a
    node can judge them again at the version it runs (at_version)."""
    problems: List[Tuple[Tuple[str, ...], str]] = []
    if values["kubelet_seccomp_default"] and _minor(values["kube_version"]) < 25:
        problems.append((("kubelet_seccomp_default", "kube_version"),
                         f"kubelet_seccomp_default: true needs Kubernetes 1.25 or later (seccompDefault is beta there, GA in "
                         f"1.27); kube_version is {values['kube_version']}"))
    # kube-apiserver matches these names literally: 'secret' or 'Secrets' would leave Secrets in plain text
    unknown_resources = api_resources.problems(list(values["kube_encryption_resources"]), _minor(values["kube_version"]))
    if unknown_resources:
        problems.append((("kube_encryption_resources", "kube_version"),
                         f"kube_encryption_resources: {_show(values['kube_encryption_resources'])} has {'; '.join(unknown_resources)};"
                         f" allowed: resource names as kube-apiserver {values['kube_version']} stores them - plural, lowercase,"
                         f" <resource>.<group> outside the core group (e.g. {api_resources.EXAMPLES})"))
    return problems


def _cross_checks(values: Mapping[str, Any]) -> List[Tuple[Tuple[str, ...], str]]:
    """(variables involved, problem) for what no single variable shows: combinations, and values the
    components refuse when they start."""
    problems: List[Tuple[Tuple[str, ...], str]] = []
    enabled = list(values["kube_apiserver_enable_admission_plugins"])
    disabled = set(values["kube_apiserver_disable_admission_plugins"])
    both = sorted(set(enabled) & disabled)
    plugins = ("kube_apiserver_enable_admission_plugins", "kube_apiserver_disable_admission_plugins")
    if both:
        problems.append((plugins,
                         f"kube_apiserver_disable_admission_plugins: {both!r} are also in kube_apiserver_enable_admission_plugins;"
                         " a plugin can be enabled or disabled, not both"))
    for variable in plugins + ("authorization_modes", "tls_cipher_suites"):
        duplicates = repeated_items(values[variable])
        if duplicates:
            why = "" if variable == "tls_cipher_suites" else "; kube-apiserver refuses to start"
            problems.append(((variable,), f"{variable}: {_show(duplicates)} appear more than once{why} - list each once"))
    modes = values["authorization_modes"]
    api_extra = values.get("kube_kubeadm_apiserver_extra_args") or {}
    if "ABAC" in modes and not overridden(values, APISERVER, "authorization-mode"):
        problems.append((("authorization_modes",),
                         f"authorization_modes: {modes!r} contains 'ABAC': a static policy file that"
                         " grants without RBAC's review and audit (the GKE checklist says disable it; CIS 5.1 expects RBAC);"
                         " use Node and RBAC, or keep ABAC deliberately with"
                         " kubeguard_allow_override: {kube-apiserver.authorization-mode: <your reason>}"))
    for mode, why in (("AlwaysAllow", "authorises every request"), ("AlwaysDeny", "refuses every request (the cluster stops working)")):
        if mode in modes:
            problems.append((("authorization_modes",), f"authorization_modes: {modes!r} contains {mode!r}, which {why};"
                             " allowed: Node, RBAC, Webhook, ABAC"))
    if "Webhook" in modes and "authorization-webhook-config-file" not in api_extra:
        problems.append((("authorization_modes", "kube_kubeadm_apiserver_extra_args"),
                         "authorization_modes: 'Webhook' needs --authorization-webhook-config-file (kube-apiserver refuses to start"
                         " without it); set it in kube_kubeadm_apiserver_extra_args or remove Webhook"))
    if not modes:
        problems.append((("authorization_modes",), "authorization_modes: [] is empty; give at least one of Node, RBAC, Webhook"))
    problems.extend(_version_checks(values))
    if values["kube_encrypt_secret_data"] and not values["kube_encryption_resources"]:
        problems.append((("kube_encryption_resources", "kube_encrypt_secret_data"),
                         "kube_encryption_resources: [] is empty while kube_encrypt_secret_data is true; list e.g. [secrets]"))
    if "EventRateLimit" in enabled and not values["kube_apiserver_admission_control_config_file"]:
        problems.append((("kube_apiserver_admission_control_config_file", "kube_apiserver_enable_admission_plugins"),
                         "kube_apiserver_admission_control_config_file: false, but EventRateLimit in"
                         " kube_apiserver_enable_admission_plugins needs its config file; set it to true"))
    if "EventRateLimit" in enabled and not values["kube_apiserver_admission_event_rate_limits"]:
        problems.append((("kube_apiserver_admission_event_rate_limits", "kube_apiserver_enable_admission_plugins"),
                         "kube_apiserver_admission_event_rate_limits: {} is empty while EventRateLimit is enabled;"
                         " give at least one limit (type, qps, burst)"))
    if "ImagePolicyWebhook" in enabled and "admission-control-config-file" not in api_extra:
        problems.append((("kube_apiserver_enable_admission_plugins",),
                         "kube_apiserver_enable_admission_plugins: ImagePolicyWebhook needs its own configuration (a webhook"
                         " kubeconfig) that this collection does not write; kube-apiserver refuses to start without it - remove it, or give its"
                         " admission-control-config-file in kube_kubeadm_apiserver_extra_args"))
    if _seconds(values["kube_apiserver_request_timeout"]) > MAX_REQUEST_TIMEOUT_SECONDS:
        problems.append((("kube_apiserver_request_timeout",), f"kube_apiserver_request_timeout: {_show(values['kube_apiserver_request_timeout'])}"
                         " is longer than 24h: every hung request would hold the apiserver that long (CIS 1.2.20 wants a sane value);"
                         " allowed: 30s to 24h"))
    for variable in FEATURE_GATE_VARIABLES + ("kube_feature_gates",):
        seen: Dict[str, str] = {}
        for gate in values[variable]:
            name, _ignored, flag = gate.partition("=")
            if seen.get(name, flag) != flag:
                problems.append(((variable,), f"{variable}: {name + '=' + seen[name]!r} and {gate!r} are both given; give the gate once"))
            seen[name] = flag
    problems.extend(_hardened_overrides(values))
    problems.extend(_extra_args_problems(values))
    problems.extend(_write_policy_problems(values))
    return problems


def _seconds(duration: str) -> float:
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    return sum(float(number) * units[unit] for number, unit in re.findall(r"([0-9.]+)(ns|us|µs|ms|s|m|h)", duration))


def _drop_removed_gates(values: Dict[str, Any], problems: List[str], skip: Any = ()) -> List[str]:
    """Gates the cluster's release no longer knows: locked to the value asked for -> dropped (a note);
    asked for the opposite -> a problem (the behaviour cannot be had any more)."""
    notes: List[str] = []
    release = _minor(values["kube_version"])
    removed_gates = removed_feature_gates()
    for variable in FEATURE_GATE_VARIABLES + ("kube_feature_gates",):
        if variable in skip:
            continue
        kept = []
        for gate in values[variable]:
            name, _ignored, flag = gate.partition("=")
            removed = removed_gates.get(name)
            if removed is None or release < _minor(removed[0]):
                kept.append(gate)
                continue
            if (flag == "true") == removed[1]:
                notes.append(f"{variable}: {gate!r} dropped - the gate was removed in {removed[0]} and the feature is"
                             f" always {flag} in {values['kube_version']} (a component given it would not start)")
            else:
                problems.append(f"{variable}: {gate!r} cannot be honoured - the gate was removed in {removed[0]}"
                                f" and the feature is always {str(removed[1]).lower()}; remove it")
        values[variable] = kept
    return notes


# Prefixes of our variables: an unknown variable with one of them and a spelling close to ours is a typo.
OUR_PREFIXES = ("kube_", "kubelet_", "kubeguard_", "audit_", "tls_", "etcd_", "remove_", "kubernetes_", "authorization_")


def control_characters(value: Any, where: str = "") -> List[str]:
    """Where a key or string value (at any depth) holds a control character (newline, tab, NUL, ...) or an invisible
    or direction-changing one (zero-width space, right-to-left override)."""
    found: List[str] = []
    if isinstance(value, str):
        if readable_text.unreadable(value):
            found.append(f"{where}: {_show(value)}" if where else "the value")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and readable_text.unreadable(key):
                found.append(f"the key {_show(key)}")
            found += control_characters(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found += control_characters(item, f"{where}[{index}]")
    return found


MAX_STRING_LENGTH = 4096   # values that become a flag or a line of a config file
# values that are written whole into a file of their own, not a command line: kubespray's kubelet_secure_addresses
# lists every node's address (systemd takes a line of up to 1 MiB)
LONG_STRINGS = {"kubelet_secure_addresses": 1 << 20}


def overlong_strings(value: Any, where: str = "the value", limit: int = MAX_STRING_LENGTH) -> List[Tuple[str, int]]:
    """(where, length) of each key or string value (at any depth) longer than limit."""
    if isinstance(value, str):
        return [(where, len(value))] if len(value) > limit else []
    found: List[Tuple[str, int]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and len(key) > limit:
                found.append(("a key", len(key)))
            found += overlong_strings(item, str(key) if where == "the value" else f"{where}.{key}", limit)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found += overlong_strings(item, f"[{index}]" if where == "the value" else f"{where}[{index}]", limit)
    return found


# Facts the run itself sets (the node's plan, what the run applied since): never an input. Set in the inventory
# or as extra vars they would stand in for what the node is (kubeguard_sysctls: the kernel's values the kubelet
# role checks protectKernelDefaults against), so validation refuses them.
RUN_STATE = ("kubeguard_node_plan", "kubeguard_sysctls", "kubeguard_reencrypt_pending", "kubeguard_cluster_version")


def typos(names: Sequence[str]) -> List[str]:
    """Variables that are not ours but look like one of ours: 'did you mean'."""
    import difflib
    ours = list(VARIABLES_BY_NAME)
    found = []
    for name in names:
        if name in VARIABLES_BY_NAME or name in RUN_STATE or not isinstance(name, str) or not name.startswith(OUR_PREFIXES):
            continue
        close = difflib.get_close_matches(name, ours, n=1, cutoff=0.88)
        if close:
            found.append(f"{name}: not a hardening variable - did you mean {close[0]}? (it is ignored as written)")
    return found


# The releases a node may run when kube_version is not given (Pod Security admission is GA from 1.25; data beyond
# the newest release known is that release's): what is wrong at every one of them is refused before any node is read.
RELEASES = range(25, 41)
DEFAULT_KUBE_VERSION = VARIABLES_BY_NAME["kube_version"].default   # used when kube_version is not given and no node tells
_GATE_LISTS = FEATURE_GATE_VARIABLES + ("kube_feature_gates",)


def _wrong_at_every_release(found: List[Any], values: Mapping[str, Any],
                            judge: Callable[[Dict[str, Any], List[Any]], Any]) -> List[str]:
    """Of the problems found at the default release, those the judge finds again at every release of RELEASES:
    wrong whatever the nodes run. The others wait for the version a node runs (at_version). Problems are
    strings, or (variables, message) compared by their variables (their messages name the release)."""
    def key(problem: Any) -> Any:
        return problem if isinstance(problem, str) else problem[0]

    keep = list(found)
    asked = values.get("_feature_gates_asked") or {}
    for minor in RELEASES:
        if not keep:
            break
        work = dict(values, kube_version=f"v1.{minor}.0", **{name: list(gates) for name, gates in asked.items()})
        again: List[Any] = []
        judge(work, again)
        keys = {key(problem) for problem in again}
        keep = [problem for problem in keep if key(problem) in keys]
    return [problem if isinstance(problem, str) else problem[1] for problem in keep]


def validate(user_vars: Mapping[str, Any], present: Sequence[str] = ()) -> Dict[str, Any]:
    """Return defaults overlaid with the user's hardening variables, or raise HardeningVarsError
    listing every problem at once (each variable's own, then every combination whose variables are
    valid). present: every variable name in scope, to catch typos of ours (warnings; errors with
    kubeguard_strict_variables)."""
    values = defaults()
    problems: List[str] = []
    invalid = set()
    for name, value in user_vars.items():
        spec = VARIABLES_BY_NAME.get(name)
        if spec is None:
            continue  # not ours: inventories carry many unrelated variables
        if value is None and spec.nullable:
            values[name] = None
            continue
        # kubespray's YAML-string audit rules hold newlines by nature: their parsed form is checked
        parsed = _parse_audit_rules(value) if name == "audit_policy_custom_rules" else value
        bad_chars = control_characters(parsed)
        limit = LONG_STRINGS.get(name, MAX_STRING_LENGTH)
        too_long = overlong_strings(parsed, limit=limit)
        message = (f"has a control character in {', '.join(bad_chars[:3])}: it could add lines to a config file"
                   " or hide what the value says (zero-width, right-to-left); remove it") if bad_chars else \
            (f"has a string of {too_long[0][1]} characters in {too_long[0][0]}: at most {limit} (a flag or config line that long"
             " is no setting; a command-line argument over 128 KiB cannot even be passed to a component); shorten it") \
            if too_long else spec.check(value)
        if message:
            problems.append(f"{name}: {_show(value)} {message}")
            invalid.add(name)
        else:
            values[name] = value
    # gates are judged against the release: with an invalid kube_version, not at all
    unjudged = invalid | (set(FEATURE_GATE_VARIABLES) | {"kube_feature_gates"} if "kube_version" in invalid else set())
    given = user_vars.get("_given")
    # kube_version not given: the nodes tell it (node_plan -> at_version). Until then what depends on it is
    # judged at the documented default and refused here only when it is wrong at every release a node may run.
    version_read = "kube_version" not in (given if isinstance(given, list) else user_vars)
    if version_read:
        asked = user_vars.get("_feature_gates_asked")   # an earlier validate's, before any gate was dropped
        for name in _GATE_LISTS if isinstance(asked, Mapping) else ():
            if isinstance(asked.get(name), list) and name not in invalid and not _list_of(_is_feature_gate, "")(asked[name]):
                values[name] = list(asked[name])
        values["_feature_gates_asked"] = {name: list(values[name]) for name in _GATE_LISTS}
    gate_problems: List[str] = []
    notes = _drop_removed_gates(values, gate_problems, skip=unjudged)
    problems += _wrong_at_every_release(gate_problems, values, lambda work, found: _drop_removed_gates(work, found, skip=unjudged)) \
        if version_read else gate_problems
    if values["kubeguard_profile"] != "none" and "kubeguard_profile" not in invalid:
        for name, entry in profile(values["kubeguard_profile"]).items():
            if name not in user_vars:
                values[name] = entry["value"]
    # values the components refuse, judged with what their built binaries say (component_checks.RULES)
    found, component_notes = component_checks.check(values, sorted(unjudged), _removed_by(values["kube_version"]), not version_read)
    for variables, message in found:
        problems.append(message)
        invalid.update(variables)
    notes += component_notes
    _normalise(values)
    version_dependent = []
    deferrable = {variables for variables, _message in _version_checks(values)} if version_read else set()
    for variables, message in _cross_checks(values):
        if invalid & set(variables):
            continue
        if variables in deferrable:   # judged again by the node's plan at the release it runs (at_version)
            version_dependent.append((variables, message))
        else:
            problems.append(message)
    if version_dependent:
        problems += _wrong_at_every_release(version_dependent, values, lambda work, found: found.extend(_version_checks(work)))
    problems += [f"{name}: set by the run itself (the node's plan, what the run applied), never an input - remove it from"
                 " the inventory and the extra vars" for name in RUN_STATE if name in present]
    typo_lines = typos(list(present))
    if typo_lines and values["kubeguard_strict_variables"]:
        problems += [line + " [kubeguard_strict_variables]" for line in typo_lines]
    else:
        notes += typo_lines
    if problems:
        raise HardeningVarsError(problems)
    if "ABAC" in values["authorization_modes"]:
        notes.append("authorization_modes: ABAC kept because kubeguard_allow_override names kube-apiserver.authorization-mode"
                     f" ({overridden(values, APISERVER, 'authorization-mode')})")
    values["_notes"] = notes
    # What the user set, as opposed to a default: only their own choices may weaken a node.
    # (Output of an earlier validate carries its own list: filters re-validate what they are given.)
    values["_given"] = sorted(given) if isinstance(given, list) else sorted(n for n in user_vars if n in VARIABLES_BY_NAME)
    return values


def profile(name: str) -> Dict[str, Dict[str, Any]]:
    """The variables a kubeguard_profile sets (its own and those of the profile it inherits)."""
    import copy
    import os
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "profiles.yml"), encoding="utf-8") as handle:
        profiles = safe_load(handle)
    data = profiles[name]
    inherited = profile(data["inherits"]) if data.get("inherits") else {}
    return copy.deepcopy({**inherited, **data["variables"]})


def _normalise(values: Dict[str, Any]) -> None:
    """kubespray's current forms as the model keeps them (idempotent: validate runs again on its output)."""
    if isinstance(values["kube_version"], str) and _KUBE_VERSION_RE.fullmatch(values["kube_version"]) \
            and not values["kube_version"].startswith("v"):
        values["kube_version"] = "v" + values["kube_version"]
    if isinstance(values["audit_policy_custom_rules"], str):
        values["audit_policy_custom_rules"] = _parse_audit_rules(values["audit_policy_custom_rules"])
    values["kubelet_config_extra_args"] = flatten_kubelet_fields(values["kubelet_config_extra_args"] or {})
    minor = _KUBE_VERSION_RE.fullmatch(values["kube_version"]) if isinstance(values["kube_version"], str) else None
    for level in ("enforce", "audit", "warn"):
        name = f"kube_pod_security_default_{level}_version"
        if values[name] is None:
            values[name] = f"v1.{minor.group(1)}" if minor else "latest"
    _merge_common_gates(values)


def _merge_common_gates(values: Dict[str, Any]) -> None:
    """kube_feature_gates into each component's list (a component's own list wins for the same gate)."""
    common = list(values["kube_feature_gates"] or [])
    if common:
        for variable in FEATURE_GATE_VARIABLES:
            own = {gate.partition("=")[0] for gate in values[variable]}
            values[variable] = [g for g in common if g.partition("=")[0] not in own] + list(values[variable])
        values["kube_feature_gates"] = []   # merged: a second validate must not merge again


def at_version(values: Mapping[str, Any], version: str) -> Tuple[Dict[str, Any], List[str]]:
    """validate's output made for the release a node runs, when kube_version was not given (node_plan reads
    it): the feature gates asked for judged again at it (a removed one dropped with a note, or refused), the Pod
    Security default versions not set pinned to its minor, the version-dependent checks judged at it. Pure
    Python, no data files: it runs on the node. Returns (values, notes); raises HardeningVarsError."""
    out = dict(values)
    out["kube_version"] = version if version.startswith("v") else "v" + version
    for name, gates in (values.get("_feature_gates_asked") or {}).items():
        out[name] = list(gates)
    problems: List[str] = []
    notes = _drop_removed_gates(out, problems)
    _merge_common_gates(out)
    given = set(values.get("_given") or ())
    for level in ("enforce", "audit", "warn"):
        name = f"kube_pod_security_default_{level}_version"
        if name not in given:
            out[name] = f"v1.{_minor(out['kube_version'])}"
    problems += [message for _variables, message in _version_checks(out)]
    if problems:
        raise HardeningVarsError(problems)
    return out, notes
