"""Values the components refuse, judged with what their built binaries say (component_data): feature gates
they do not know, have locked, or that turn on everything at once; cipher suites and TLS versions; integers
beyond a flag's Go type; extra-args flags they do not have or values their flag parser rejects; cipher lists
HTTP/2 cannot serve with; Pod Security exemption names the PodSecurity admission plugin rejects; an
authorization mode without the file it needs; a request timeout that stops the apiserver working.

Each rule is in RULES with the reason it exists - the component refuses the value (it exits or never
becomes ready: tests/oracle shows it with the real binaries), it weakens a control, or it breaks the
cluster while the component runs - and a refused example. The validation (hardening_vars.validate) calls
check(); each problem names the variable, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..base.component_names import APISERVER, CONTROLLER_MANAGER, ETCD, KUBELET, SCHEDULER
from . import catalogue
from ..platform import component_data, component_registry
from ..base.api_resources import repeated_items
from ..base.durations import duration_seconds
from ..base.tls_names import KUBELET_CIPHERS_CIS
from ..base.yaml_support import safe_load

COMPONENT_REFUSES = "component refuses"   # it exits or never becomes ready (tests/oracle shows it)
WEAKENS = "weakens a control"             # it runs, a CIS control fails
BREAKS = "breaks the cluster"             # it runs, but the cluster stops working


@dataclass(frozen=True)
class Rule:
    name: str
    variables: Tuple[str, ...]
    reason: str
    why: str
    # inputs the validation refuses; with COMPONENT_REFUSES: (input, component that refuses it, what its log says)
    examples: Tuple[Tuple[Mapping[str, Any], str, str], ...]


RULES: Tuple[Rule, ...] = (
    Rule("feature gate unknown", ("kube_feature_gates", "kube_apiserver_feature_gates", "kube_controller_feature_gates",
                                  "kube_scheduler_feature_gates", "kubelet_feature_gates"), COMPONENT_REFUSES,
         "a component given a gate it does not know exits: 'unrecognized feature gate'",
         (({"kube_apiserver_feature_gates": ["FooBarBaz=true"]}, APISERVER, "unrecognized feature gate: FooBarBaz"),
          ({"kubelet_feature_gates": ["FooBarBaz=true"]}, KUBELET, "unrecognized feature gate: FooBarBaz"),
          ({"kube_version": "v1.34.4", "kube_feature_gates": ["SeccompDefault=false"]}, KUBELET,
           "unrecognized feature gate: SeccompDefault"))),
    Rule("feature gate locked", ("kube_feature_gates", "kube_controller_feature_gates"), COMPONENT_REFUSES,
         "a GA or deprecated gate locked to its value cannot be set to the other: the component exits",
         (({"kube_controller_feature_gates": ["APIServerTracing=false"]}, CONTROLLER_MANAGER,
           "cannot set feature gate APIServerTracing to false, feature is locked to true"),)),
    Rule("every alpha or beta gate", ("kube_apiserver_feature_gates", "kube_feature_gates"), COMPONENT_REFUSES,
         "AllAlpha=true / AllBeta=true turn on every alpha / beta feature at once, untested together; kube-apiserver"
         " v1.34 given either alone never becomes ready (a post-start hook fails) - kept only with kubeguard_allow_override",
         (({"kube_apiserver_feature_gates": ["AllBeta=true"]}, APISERVER, "PostStartHook"),)),
    Rule("cipher suite unknown", ("tls_cipher_suites",), COMPONENT_REFUSES,
         "a cipher suite name Go does not know makes the components exit",
         (({"tls_cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}, KUBELET,
           "Cipher suite TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA384 not supported"),)),
    Rule("cipher suite insecure", ("tls_cipher_suites",), WEAKENS,
         "the binaries list it under 'Insecure values' (RC4, 3DES, CBC-SHA256, RSA key exchange): CIS 1.2.29, 4.2.12, K.5, K.6",
         (({"tls_cipher_suites": ["TLS_RSA_WITH_RC4_128_SHA"]}, "", ""),)),
    Rule("no HTTP/2 cipher", ("tls_cipher_suites", "tls_min_version"), COMPONENT_REFUSES,
         "with TLS 1.2 allowed, Go's HTTP/2 server needs TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 or"
         " TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: kube-apiserver, controller-manager and scheduler exit when they start serving",
         (({"tls_cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]}, APISERVER, "HTTP/2-required"),)),
    Rule("TLS version insecure", ("tls_min_version",), WEAKENS, "TLS 1.0 and 1.1 are broken: K.1-K.4",
         (({"tls_min_version": "VersionTLS10"}, "", ""),)),
    Rule("integer beyond its Go type", ("audit_log_maxage", "kube_controller_terminated_pod_gc_threshold", "kubelet_event_record_qps",
                                        "kube_apiserver_admission_event_rate_limits"), COMPONENT_REFUSES,
         "the flag parser or config decoder rejects a number its field cannot hold (int64 / int32)",
         (({"kubernetes_audit": True, "audit_log_maxage": 10 ** 22}, APISERVER, "value out of range"),
          ({"kube_controller_terminated_pod_gc_threshold": 2 ** 31}, CONTROLLER_MANAGER, "value out of range"),
          ({"kubelet_event_record_qps": 2 ** 31}, KUBELET, "of type int32"),
          ({"kube_apiserver_enable_admission_plugins": ["EventRateLimit"], "kube_apiserver_admission_control_config_file": True,
            "kube_apiserver_admission_event_rate_limits": {"server": {"type": "Server", "qps": 2 ** 31, "burst": 1}}},
           APISERVER, "of type int32"))),
    Rule("audit log rotation overflow", ("audit_log_maxage", "audit_log_maxsize"), WEAKENS,
         "the apiserver's log rotation (lumberjack) turns days and megabytes into int64 nanoseconds and bytes: beyond"
         " 106751 days or 8796093022207 MB it overflows: old audit logs are removed at once, or every write fails or starts a"
         " new file (CIS 1.2.17, 1.2.19)",
         (({"kubernetes_audit": True, "audit_log_maxage": 106752}, "", ""),)),
    Rule("extra-args flag unknown", ("kube_kubeadm_apiserver_extra_args", "etcd_extra_vars"), COMPONENT_REFUSES,
         "a flag the binary does not have (removed, like insecure-port in v1.24, or misspelt) makes it exit",
         (({"kube_kubeadm_apiserver_extra_args": {"insecure-port": "0"}}, APISERVER, "unknown flag: --insecure-port"),
          ({"etcd_extra_vars": {"experimental-foo": "1"}}, ETCD, "flag provided but not defined"))),
    Rule("extra-args value of the wrong type", ("kube_kubeadm_scheduler_extra_args",), COMPONENT_REFUSES,
         "the flag parser rejects a value its type cannot hold (bool, int, duration, IP)",
         (({"kube_kubeadm_scheduler_extra_args": {"kube-api-qps": "fast"}}, SCHEDULER, "invalid argument"),)),
    Rule("Pod Security exemption names", ("kube_pod_security_exemptions_usernames", "kube_pod_security_exemptions_namespaces",
                                          "kube_pod_security_exemptions_runtime_class_names"), COMPONENT_REFUSES,
         "the PodSecurity admission plugin rejects empty or repeated user names, namespaces that are not DNS-1123 labels and"
         " runtime classes that are not DNS-1123 subdomains: kube-apiserver exits",
         (({"kube_pod_security_use_default": True, "kube_pod_security_exemptions_namespaces": ["Kube_System"]}, APISERVER,
           "PodSecurity invalid"),
          ({"kube_pod_security_use_default": True, "kube_pod_security_exemptions_usernames": [""]}, APISERVER,
           "username must not be empty"),
          ({"kube_pod_security_use_default": True, "kube_pod_security_exemptions_runtime_class_names": ["gVisor"]}, APISERVER,
           "PodSecurity invalid"))),
    Rule("ABAC without its policy file", ("authorization_modes",), COMPONENT_REFUSES,
         "kube-apiserver exits: 'authorization-mode ABAC's authorization policy file not passed'",
         (({"authorization_modes": ["Node", "RBAC", "ABAC"], "kubeguard_allow_override": {"kube-apiserver.authorization-mode": "legacy"}},
           APISERVER, "authorization policy file not passed"),)),
    Rule("admission plugin AlwaysDeny", ("kube_apiserver_enable_admission_plugins",), COMPONENT_REFUSES,
         "it denies every write, the apiserver's own bootstrap included: kube-apiserver never becomes ready",
         (({"kube_apiserver_enable_admission_plugins": ["NodeRestriction", "AlwaysDeny"]}, APISERVER,
           "admission control is denying all modifications"),)),
    Rule("PodNodeSelector default selector", ("kube_apiserver_admission_plugins_podnodeselector_default_node_selector",), BREAKS,
         "kube-apiserver starts, then refuses every pod of a namespace without its own selector: 'invalid selector'",
         (({"kube_apiserver_admission_plugins_podnodeselector_default_node_selector": "os linux"}, "", ""),)),
    Rule("audit rule field unknown", ("audit_policy_custom_rules",), WEAKENS,
         "kube-apiserver ignores a field it does not know, so the rule matches more than written ({level: None, userz: [...]}"
         " silences every request): CIS 3.2.1, 3.2.2",
         (({"kubernetes_audit": True, "audit_policy_custom_rules": [{"level": "None", "userz": ["ci"]}]}, "", ""),)),
    Rule("audit rule field of the wrong type", ("audit_policy_custom_rules",), COMPONENT_REFUSES,
         "kube-apiserver cannot decode the policy file and exits",
         (({"kubernetes_audit": True, "audit_policy_custom_rules": [{"level": "Metadata", "verbs": "get"}]}, APISERVER,
           "loading audit policy file"),
          ({"kubernetes_audit": True, "audit_policy_custom_rules": [{"level": "Metadata", "omitStages": ["Done"]}]}, APISERVER,
           "loading audit policy file"))),
    Rule("request timeout too short", ("kube_apiserver_request_timeout",), BREAKS,
         "below 30s a request that waits on an admission webhook (which may take 30s, the most timeoutSeconds allows) is"
         " cut off; at 1ns kube-apiserver never becomes ready",
         (({"kube_apiserver_request_timeout": "500ms"}, "", ""),)),
)

# Go's HTTP/2 server (golang.org/x/net/http2, ConfigureServer) refuses a TLS 1.2 cipher list without one of these.
HTTP2_CIPHERS = ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
MIN_REQUEST_TIMEOUT_SECONDS = 30
# Go types of pflag's type names (int: 64 bits on the platforms Kubernetes ships for).
INT_RANGES = {"int": (-2 ** 63, 2 ** 63 - 1), "int64": (-2 ** 63, 2 ** 63 - 1), "int32": (-2 ** 31, 2 ** 31 - 1),
              "int16": (-2 ** 15, 2 ** 15 - 1), "uint": (0, 2 ** 64 - 1), "uint64": (0, 2 ** 64 - 1), "uint32": (0, 2 ** 32 - 1),
              "uint16": (0, 2 ** 16 - 1)}
# Bounds tighter than the type, and why (the audit log rotation's arithmetic; see RULES).
INT_CAPS = {"audit_log_maxage": (106751, "more days than a time.Duration holds: the log rotation overflows and removes old"
                                 " audit logs at once (CIS 1.2.17)"),
            "audit_log_maxsize": (8796093022207, "more megabytes than an int64 holds in bytes: the log rotation overflows, and"
                                  " every audit write fails or starts a new file (CIS 1.2.19)")}
# EventRateLimit's configuration fields (eventratelimit.admission.k8s.io/v1alpha1 Limit: qps, burst, cacheSize) are int32:
# not a flag, so not in the binaries' --help.
EVENT_RATE_LIMIT_MAX = 2 ** 31 - 1
GATE_COMPONENTS = component_registry.GATE_COMPONENTS
EXTRA_ARGS = {variable: name for variable, name in component_registry.EXTRA_ARGS_COMPONENT.items()
              if name in component_registry.FLAG_COMPONENTS}
_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)
_GO_BOOLS = ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False")
_GO_DURATION_RE = re.compile(r"[-+]?(0|([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+)")

Problem = Tuple[Tuple[str, ...], str]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + f"... ({len(text)} characters)"


def _override(values: Mapping[str, Any], component: str, key: str) -> Optional[str]:
    return (values.get("kubeguard_allow_override") or {}).get(f"{component}.{key}")


def _gate_key(component: str) -> str:
    return "featureGates" if component == KUBELET else "feature-gates"


def _stage(spec: Mapping[str, Any]) -> str:
    stage = str(spec.get("stage") or "")
    return "GA" if stage == "ga" else stage


def _did_you_mean(name: str, known: Any) -> str:
    """A close spelling (a typo), never a name that only adds or drops a part (insecure-port is not secure-port)."""
    close = [c for c in difflib.get_close_matches(name, list(known), n=3, cutoff=0.8)
             if not (c.endswith(name) or name.endswith(c) or c.startswith(name) or name.startswith(c))]
    return f" (did you mean {close[0]}?)" if close else ""


# --- TLS names (any release: Go's names) ---------------------------------------------------------------------

def accepted_ciphers(release: Optional[component_data.Release] = None) -> List[str]:
    """The binaries' preferred suites, and of those they call insecure the two CIS 4.2.12 lists for the kubelet
    (RSA key exchange with AES-GCM: no forward secrecy, accepted as the benchmark does)."""
    release = release or component_data.newest()
    if release is None:
        return []
    preferred, insecure = release.cipher_suites()
    return preferred + [name for name in insecure if name in KUBELET_CIPHERS_CIS]


def cipher_problem(value: Any) -> Optional[str]:
    release = component_data.newest()
    if release is None:   # an install without the data files: the components judge
        return None if isinstance(value, str) else "must be a TLS cipher suite name"
    example = ", ".join(HTTP2_CIPHERS)
    if value in accepted_ciphers(release):
        return None
    if value in release.cipher_suites()[1]:
        return f"is insecure (kube-apiserver {release.name} --help lists it under 'Insecure values'); use e.g. {example}"
    return (f"must be a TLS cipher suite name the components of {release.name} accept"
            f" ({', '.join(accepted_ciphers(release))}); e.g. {example}")


def tls_version_problem(value: Any) -> Optional[str]:
    release = component_data.newest()
    versions = release.tls_versions() if release else ["VersionTLS12", "VersionTLS13"]
    secure = [v for v in versions if v >= "VersionTLS12"]   # CIS K.1-K.4: TLS 1.2 or later
    if value in secure:
        return None
    if value in versions:
        return "is an insecure protocol version; allowed: " + ", ".join(secure)
    return "must be one of: " + ", ".join(secure)


# --- the checks -------------------------------------------------------------------------------------------------

def check(values: Mapping[str, Any], invalid: Sequence[str] = (), removed_gates: Sequence[str] = (),
          version_given: bool = True) -> Tuple[List[Problem], List[str]]:
    """(problems as (variables, message), notes) for validated variables before kube_feature_gates is merged into the
    components' lists. invalid: variables already refused (not judged again); removed_gates: gates the validation
    handles as removed before the data's release; version_given: kube_version is the user's (else the default,
    until the nodes tell: no note that it has no data of its own)."""
    release = component_data.for_version(values.get("kube_version")) if "kube_version" not in invalid else None
    problems: List[Problem] = []
    notes: List[str] = []
    if release is not None and release.note and version_given:
        notes.append(release.note)
    if release is not None and not version_given:
        release = dataclasses.replace(release, context="kube_version not given: the default release; set kube_version to the"
                                      " release the nodes run to be judged at it")
    skip = set(invalid)

    def usable(*names: str) -> bool:
        return not skip & set(names)

    if release is not None:
        for variable in GATE_COMPONENTS:
            if usable(variable):
                _gate_problems(values, variable, release, removed_gates, problems, notes)
        for variable, component in EXTRA_ARGS.items():
            if usable(variable):
                _extra_args_problems(values, variable, component, release, problems, notes)
        _int_problems(values, release, skip, problems)
    _event_rate_limit_problems(values, skip, problems)
    _admission_problems(values, skip, problems)
    _audit_rule_problems(values, skip, problems)
    _http2_problems(values, skip, problems)
    _exemption_problems(values, skip, problems)
    # ABAC itself is refused unless kept deliberately (hardening_vars); kept, it still needs its policy file
    if usable("authorization_modes", "kube_kubeadm_apiserver_extra_args") and "ABAC" in (values.get("authorization_modes") or []) \
            and _override(values, APISERVER, "authorization-mode") \
            and "authorization-policy-file" not in (values.get("kube_kubeadm_apiserver_extra_args") or {}):
        problems.append((("authorization_modes",), f"authorization_modes: {_show(values['authorization_modes'])} has ABAC, which needs"
                         " --authorization-policy-file (kube-apiserver refuses to start without it); set it in"
                         " kube_kubeadm_apiserver_extra_args, or use Node and RBAC"))
    seconds = duration_seconds(values.get("kube_apiserver_request_timeout")) if usable("kube_apiserver_request_timeout") else None
    if seconds is not None and 0 < seconds < MIN_REQUEST_TIMEOUT_SECONDS:
        problems.append((("kube_apiserver_request_timeout",),
                         f"kube_apiserver_request_timeout: {_show(values['kube_apiserver_request_timeout'])} is shorter than"
                         f" {MIN_REQUEST_TIMEOUT_SECONDS}s: requests that wait on an admission webhook (up to 30s) would be cut off,"
                         " and at a few milliseconds kube-apiserver never becomes ready; allowed: 30s to 24h (kube-apiserver's"
                         " default is 1m0s)"))
    return problems, notes


def _gate_problems(values: Mapping[str, Any], variable: str, release: component_data.Release, removed: Sequence[str],
                   problems: List[Problem], notes: List[str]) -> None:
    components = GATE_COMPONENTS[variable]
    for gate in values.get(variable) or []:
        name, _sep, text = str(gate).partition("=")
        wanted = text == "true"
        if name in removed:
            continue
        if name in ("AllAlpha", "AllBeta") and wanted:
            kept = [c for c in components if _override(values, c, _gate_key(c))]
            if len(kept) < len(components):
                keys = ", ".join(f"{c}.{_gate_key(c)}: <your reason>" for c in components)
                problems.append(((variable,), f"{variable}: {gate!r} turns on every {name[3:].lower()} feature of"
                                 f" {', '.join(components)} at once, untested together (kube-apiserver {release.name} given it"
                                 " never becomes ready); allowed: the gates you need, one by one, or keep it deliberately with"
                                 f" kubeguard_allow_override: {{{keys}}}"))
            else:
                notes.append(f"{variable}: {gate!r} kept because kubeguard_allow_override names"
                             f" {', '.join(f'{c}.{_gate_key(c)}' for c in components)}")
            continue
        for component in components:
            gates = release.gates(component)
            spec = gates.get(name)
            if spec is None:
                if _override(values, component, _gate_key(component)):
                    notes.append(f"{variable}: {gate!r} is not a gate of {component} {release.name}, which refuses to start with it;"
                                 f" kept because kubeguard_allow_override names {component}.{_gate_key(component)} (for a build that"
                                 " knows it: the health gate rolls the change back otherwise)")
                    break
                hint = _did_you_mean(name, gates)
                problems.append(((variable,), f"{variable}: {gate!r} is not a feature gate of {release.label(component)}{hint}:"
                                 " it refuses to start ('unrecognized feature gate'); allowed: the gates"
                                 f" `{component} --help` lists, and the GA or deprecated ones it still takes"
                                 f" (plugins/module_utils/platform/components/{release.name}.yml)"))
                break
            if spec.get("locked") and wanted != bool(spec.get("default")):
                locked = str(bool(spec.get("default"))).lower()
                problems.append(((variable,), f"{variable}: {gate!r}: {release.label(component)} has {name} {_stage(spec)}"
                                 f" and locked to {locked}: it refuses to start; allowed: {name}={locked}, or leave it out"))
                break
            if spec.get("locked"):
                notes.append(f"{variable}: {gate!r} does nothing: {name} is {_stage(spec)} and locked to"
                             f" {str(wanted).lower()} in {release.name} (a later release removes the gate and refuses it); remove it")
                break


def _extra_args_problems(values: Mapping[str, Any], variable: str, component: str, release: component_data.Release,
                         problems: List[Problem], notes: List[str]) -> None:
    flags = release.flags(component)
    if not flags:
        return
    for key, value in (values.get(variable) or {}).items():
        spec = flags.get(key)
        if spec is None:
            if _override(values, component, key):
                notes.append(f"{variable}: {key} is not a flag of {component} {release.name}; kept because"
                             f" kubeguard_allow_override names {component}.{key}")
                continue
            hint = _did_you_mean(key, flags)
            problems.append(((variable,), f"{variable}: {key}={_show(value)}: {release.label(component)} has no flag --{key}"
                             f"{hint} (removed or misspelt; it refuses to start with an unknown flag); allowed: the flags"
                             f" `{component} --help` lists; a hidden flag your binaries still take can be kept with"
                             f" kubeguard_allow_override: {{{component}.{key}: <your reason>}}"))
            continue
        problem = None if value is None else flag_value_problem(str(spec.get("type") or ""), value)   # None removes the flag
        if problem:
            problems.append(((variable,), f"{variable}: {key}={_show(value)} {problem} ({component}'s --{key} is {spec['type']};"
                             " its flag parser refuses anything else)"))


def flag_value_problem(kind: str, value: Any) -> Optional[str]:
    """What pflag would say about the value for a flag of this type (None: it takes it, or we cannot tell)."""
    text = "true" if value is True else "false" if value is False else str(value)
    if kind == "bool":
        return None if text in _GO_BOOLS else "must be true or false"
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        number = _go_int(text)
        if number is None or not low <= number <= high:
            return f"must be a whole number from {low} to {high}"
    if kind == "duration" and not _GO_DURATION_RE.fullmatch(text):
        return "must be a Go duration such as 30s, 5m or 1h30m"
    if kind in ("float32", "float64", "float"):
        try:
            float(text)
        except ValueError:
            return "must be a number"
    if kind == "ip":
        try:
            ipaddress.ip_address(text)
        except ValueError:
            return "must be an IP address"
    return None


def _go_int(text: str) -> Optional[int]:
    """strconv.ParseInt(text, 0, 64)'s reading: decimal, 0x, 0o, 0b, or a leading 0 for octal."""
    sign = -1 if text.startswith("-") else 1
    body = text[1:] if text[:1] in "+-" else text
    try:
        if re.fullmatch(r"0[0-7]+", body):
            return sign * int(body, 8)
        if re.fullmatch(r"0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[1-9][0-9]*|0", body):
            return sign * int(body, 0)
    except ValueError:
        return None
    return None


def int_targets(values: Mapping[str, Any]) -> Dict[str, Tuple[str, str]]:
    """{integer variable: (component, flag)} from the catalogue's settings (kubelet fields by their flag)."""
    kubelet_flags = catalogue.load().get("kubelet_flags") or {}
    found: Dict[str, Tuple[str, str]] = {}
    for setting in catalogue.settings():
        if len(setting.variables) != 1 or isinstance(values.get(setting.variables[0]), bool) \
                or not isinstance(values.get(setting.variables[0]), int):
            continue
        flag = kubelet_flags.get(setting.key) if setting.is_field else setting.key
        if flag:
            found[setting.variables[0]] = (setting.component, flag)
    return found


def _int_problems(values: Mapping[str, Any], release: component_data.Release, skip: set, problems: List[Problem]) -> None:
    for variable, (component, flag) in sorted(int_targets(values).items()):
        if variable in skip:
            continue
        kind = str((release.flags(component).get(flag) or {}).get("type") or "")
        value = values[variable]
        if kind in INT_RANGES and not INT_RANGES[kind][0] <= value <= INT_RANGES[kind][1]:
            high = INT_RANGES[kind][1]
            cap = INT_CAPS.get(variable)
            allowed = f"up to {cap[0]} ({cap[1]})" if cap else f"up to {high}"
            problems.append(((variable,), f"{variable}: {_show(value)} does not fit {component}'s --{flag} (Go {kind}, at most {high}):"
                             f" it refuses to start; allowed: a whole number {allowed}"))
        elif variable in INT_CAPS and value > INT_CAPS[variable][0]:
            cap, why = INT_CAPS[variable]
            problems.append(((variable,), f"{variable}: {_show(value)} is {why}; allowed: a whole number up to {cap}"))


def _event_rate_limit_problems(values: Mapping[str, Any], skip: set, problems: List[Problem]) -> None:
    variable = "kube_apiserver_admission_event_rate_limits"
    if variable in skip:
        return
    for name, limit in (values.get(variable) or {}).items():
        for key in ("qps", "burst", "cache_size"):
            number = (limit or {}).get(key)
            if isinstance(number, int) and not isinstance(number, bool) and number > EVENT_RATE_LIMIT_MAX:
                problems.append(((variable,), f"{variable}: limit {name!r} {key} {_show(number)} does not fit EventRateLimit's"
                                 f" int32 field: kube-apiserver refuses its admission config; allowed: 1 to {EVENT_RATE_LIMIT_MAX}"))


def _effective_tls(values: Mapping[str, Any]) -> List[Tuple[str, str, Any, Any]]:
    """(variable holding the list, component, cipher list, min version) each component would serve with."""
    found = []
    for variable, component, suites_key, min_key in (
            ("kube_kubeadm_apiserver_extra_args", APISERVER, "tls-cipher-suites", "tls-min-version"),
            ("kube_kubeadm_controller_extra_args", CONTROLLER_MANAGER, "tls-cipher-suites", "tls-min-version"),
            ("kube_kubeadm_scheduler_extra_args", SCHEDULER, "tls-cipher-suites", "tls-min-version"),
            ("kubelet_config_extra_args", KUBELET, "tlsCipherSuites", "tlsMinVersion")):
        extra = values.get(variable) or {}
        suites, source = values.get("tls_cipher_suites"), "tls_cipher_suites"
        if suites_key in extra:
            given = extra[suites_key]
            suites, source = (given if isinstance(given, list) else [s.strip() for s in str(given).split(",") if s.strip()]), variable
        found.append((source, component, suites, extra.get(min_key, values.get("tls_min_version"))))
    return found


def _http2_problems(values: Mapping[str, Any], skip: set, problems: List[Problem]) -> None:
    told = set()
    for source, component, suites, minimum in _effective_tls(values):
        if source in told or source in skip or "tls_min_version" in skip or not suites or minimum == "VersionTLS13":
            continue
        if not set(map(str, suites)) & set(HTTP2_CIPHERS):
            told.add(source)
            problems.append(((source,), f"{source}: {_show(suites)} has neither {' nor '.join(HTTP2_CIPHERS)} while TLS 1.2 is"
                             f" allowed (tls_min_version {minimum}): {component} refuses to serve (Go's HTTP/2 needs one of them);"
                             " allowed: a list with one of the two, or tls_min_version: VersionTLS13"))


def _dns_subdomain(name: str) -> bool:
    return len(name) <= 253 and all(_LABEL_RE.fullmatch(part) for part in name.split("."))


_EXEMPTIONS: Tuple[Tuple[str, str, Callable[[str], bool]], ...] = (
    # an empty name makes kube-apiserver refuse the configuration; one with spaces around it matches no user
    ("kube_pod_security_exemptions_usernames", "user names, not empty and without spaces around them",
     lambda name: bool(name) and name == name.strip()),
    ("kube_pod_security_exemptions_namespaces", "namespace names (DNS-1123 labels: lowercase letters, digits and '-', at most 63)",
     lambda name: len(name) <= 63 and bool(_LABEL_RE.fullmatch(name))),
    ("kube_pod_security_exemptions_runtime_class_names",
     "RuntimeClass names (DNS-1123 subdomains: lowercase letters, digits, '-' and '.', at most 253)", _dns_subdomain),
)


def _exemption_problems(values: Mapping[str, Any], skip: set, problems: List[Problem]) -> None:
    for variable, allowed, valid in _EXEMPTIONS:
        names = values.get(variable)
        if variable in skip or not isinstance(names, list):
            continue
        bad = [name for name in names if not isinstance(name, str) or not valid(name)]
        repeated = repeated_items(name for name in names if isinstance(name, str))
        if bad:
            problems.append(((variable,), f"{variable}: {_show(bad)} in {_show(names)}: kube-apiserver's PodSecurity admission"
                             f" refuses the configuration (the apiserver does not start) or the exemption matches nothing;"
                             f" allowed: {allowed}"))
        elif repeated:
            problems.append(((variable,), f"{variable}: {_show(repeated)} appear more than once: kube-apiserver's PodSecurity"
                             f" admission refuses duplicates; allowed: {allowed}, each once"))


# labels.ConvertSelectorToLabelsMap, as PodNodeSelector reads clusterDefaultNodeSelector: key=value[,key=value]
_LABEL_NAME = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)"
_LABEL_KEY_RE = re.compile(rf"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_LABEL_NAME}", re.ASCII)
_LABEL_VALUE_RE = re.compile(rf"{_LABEL_NAME}?", re.ASCII)


def _selector_ok(selector: str) -> bool:
    if selector == "":
        return True
    for pair in selector.split(","):
        parts = pair.split("=")
        if len(parts) != 2:
            return False
        key, value = parts[0].strip(), parts[1].strip()
        if not _LABEL_KEY_RE.fullmatch(key) or len(key.partition("/")[0] if "/" in key else "") > 253 \
                or not _LABEL_VALUE_RE.fullmatch(value):
            return False
    return True


def _admission_problems(values: Mapping[str, Any], skip: set, problems: List[Problem]) -> None:
    variable = "kube_apiserver_enable_admission_plugins"
    if variable not in skip and "AlwaysDeny" in (values.get(variable) or []):
        problems.append(((variable,), f"{variable}: {_show(values[variable])} has AlwaysDeny, which denies every write - the"
                         " apiserver's own start-up objects too: kube-apiserver never becomes ready; allowed: the other plugins"))
    variable = "kube_apiserver_admission_plugins_podnodeselector_default_node_selector"
    selector = values.get(variable)
    if variable not in skip and isinstance(selector, str) and not _selector_ok(selector):
        problems.append(((variable,), f"{variable}: {_show(selector)} is not a node selector PodNodeSelector can read: kube-apiserver"
                         " would refuse every pod of a namespace without its own selector ('invalid selector'); allowed: empty, or"
                         " label=value pairs separated by commas (e.g. kubernetes.io/os=linux,tier=web)"))


# audit.k8s.io/v1 PolicyRule: its fields and what each holds; omitStages' values.
_RULE_FIELDS = {"level": str, "users": list, "userGroups": list, "verbs": list, "resources": list, "namespaces": list,
                "nonResourceURLs": list, "omitStages": list, "omitManagedFields": bool}
_GROUP_RESOURCE_FIELDS = {"group": str, "resources": list, "resourceNames": list}
_STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")


def _audit_rule_problems(values: Mapping[str, Any], skip: set, problems: List[Problem]) -> None:
    variable = "audit_policy_custom_rules"
    rules = values.get(variable)
    if variable in skip or not rules:
        return
    if isinstance(rules, str):   # kubespray's form, a YAML string (the variable's own check parsed it already)
        rules = safe_load(rules)
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        found = _rule_problem(rule)
        if found:
            problems.append(((variable,), f"{variable}: rule {index} {_show(rule)} {found}"))
            return


def _rule_problem(rule: Mapping[str, Any]) -> Optional[str]:
    allowed = ", ".join(_RULE_FIELDS)
    for key, value in rule.items():
        kind = _RULE_FIELDS.get(key)
        if kind is None:
            return (f"has {key!r}, which is not a field of an audit policy rule: kube-apiserver ignores it, so the rule"
                    f" matches more than written; allowed: {allowed}")
        if not isinstance(value, kind) or (kind is list and key != "resources" and not all(isinstance(v, str) for v in value)):
            what = "true or false" if kind is bool else "a string" if kind is str else "a list of strings"
            return f"has {key}: {_show(value)}, which must be {what}: kube-apiserver cannot load the policy and exits"
    for stage in rule.get("omitStages") or []:
        if stage not in _STAGES:
            return f"has omitStages {stage!r}: kube-apiserver cannot load the policy and exits; allowed: {', '.join(_STAGES)}"
    for entry in rule.get("resources") or []:
        if not isinstance(entry, dict) or set(entry) - set(_GROUP_RESOURCE_FIELDS) \
                or not all(isinstance(entry[k], t) for k, t in _GROUP_RESOURCE_FIELDS.items() if k in entry):
            return (f"has resources entry {_show(entry)}: each must be {{group: <string>, resources: [..], resourceNames: [..]}}"
                    " - kube-apiserver ignores other fields and cannot load other types")
    return None
