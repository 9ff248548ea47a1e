"""Load the CIS control catalogue (cis_catalogue.yml) and evaluate its settings for a set of
validated hardening variables and a node layout.

The catalogue is the one source both paths read: ``settings`` (apply, through desired.component_flags /
kubelet_fields) and ``controls`` (verify).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple


from . import expressions
from ..base import releases
from ..base.tls_names import CIPHERS_STRONG, KUBELET_CIPHERS_CIS
from ..base.yaml_support import SAFE_LOADER, yaml

CATALOGUE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cis_catalogue.yml")


@dataclass(frozen=True)
class Setting:
    component: str
    key: str            # flag name (without dashes) or dotted KubeletConfiguration field
    is_field: bool
    value: str          # expression
    when: Optional[str]
    variables: Tuple[str, ...]
    controls: Tuple[str, ...]


@dataclass(frozen=True)
class Platform:
    """A node's platform as its data (platforms/*.yml) says it: where it keeps its files (kubeadm and kubespray
    differ), how its components are configured, what it satisfies its own way, its permission targets.
    (Called a layout in variables and reports: kubeguard_layout, the report's `layout`.)"""
    name: str
    config_dir: str
    manifests_dir: str
    pki_dir: str
    kubelet_config: str
    kubelet_kubeconfig: str
    kubelet_service: str
    kubelet_env: Optional[str]
    admin_conf: str
    scheduler_conf: str
    controller_manager_conf: str
    client_ca_file: str
    proxy_kubeconfig: str
    cni_conf_dir: str = "/etc/cni/net.d"
    # The hardening files' locations where the platform wants its own (platform data `files`).
    files: Mapping[str, str] = field(default_factory=dict)
    # How components are configured: static pods + files (empty), or one config of the platform (k3s).
    components: Mapping[str, Any] = field(default_factory=dict)
    # Settings the platform satisfies its own way: "component.key" -> why (never written there).
    skip: Mapping[str, str] = field(default_factory=dict)
    # CIS 1.1 / 4.1 permission targets: {path, mode, owner, group, recurse, dir_mode, exclude}, paths
    # with {layout and hardening path names}, owners {pki_owner} / {pki_group} (the user's choice).
    file_modes: Tuple[Mapping[str, Any], ...] = ()
    # Node audit rules (module_utils/node_audit): {watch: [{path|binary, key}], exclude: [directories]}.
    audit_rules: Mapping[str, Any] = field(default_factory=dict)
    # The container runtime: {kind, config, socket, unit (absent: audited, never written)}.
    container_runtime: Mapping[str, Any] = field(default_factory=dict)
    # Controls that do not apply on this platform: id -> why (reported not_applicable).
    not_applicable: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, Any]:
        return dict(self.__dict__)

    @property
    def config_kind(self) -> str:
        """static_pods (kubeadm, kubespray) or the platform's one config writer (k3s_config)."""
        return str(self.components.get("kind", "static_pods"))


def one_process_serves_all(layout: Optional[Mapping[str, Any]]) -> bool:
    """A platform whose one process is every component (k3s: one config file for all, one process holds every
    socket), from a layout's as_dict() as a node's state carries it."""
    return str(((layout or {}).get("components") or {}).get("kind", "static_pods")) == "k3s_config"


# libyaml's loader when PyYAML has it: the catalogue is read once per host and task.
_LOADER = SAFE_LOADER
PLATFORMS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "platform", "platforms")


@lru_cache(maxsize=4)
def load_platforms(directory: str = PLATFORMS_DIR) -> Dict[str, Dict[str, Any]]:
    """Every platform data file (platforms/*.yml), by name. Read on the controller; modules that run
    on nodes get this dict as a parameter (only Python files travel to nodes)."""
    found: Dict[str, Dict[str, Any]] = {}
    for entry in sorted(os.listdir(directory)):
        if entry.endswith(".yml"):
            with open(os.path.join(directory, entry), encoding="utf-8") as handle:
                data = yaml.load(handle, Loader=_LOADER)
            found[data["name"]] = data
    for name, data in found.items():
        # `inherits: other`: the other platform's keys, then this one's (one level)
        if data.get("inherits"):
            found[name] = {**found[data["inherits"]], **{k: v for k, v in data.items() if k != "inherits"}}
    return found


def _platforms(platforms: Optional[Mapping[str, Any]]) -> Mapping[str, Any]:
    if platforms:
        return platforms
    try:
        return load_platforms()
    except OSError:
        raise ValueError("platforms: not given, and the platform data files are not on this node;"
                         " pass the kubeguard_platforms filter's output") from None


def detect_layout(config_dir: str = "/etc/kubernetes", platforms: Optional[Mapping[str, Any]] = None) -> str:
    """The first platform whose detect rule matches the node (rules read files only); else the default."""
    default = None
    for name, data in sorted(_platforms(platforms).items()):
        rule = data.get("detect")
        if rule == "default":
            default = name
        elif isinstance(rule, dict) and os.path.exists(str(rule["file_exists"]).format(config_dir=config_dir)):
            return name
    if default is None:
        raise ValueError("platforms: no platform is marked detect: default")
    return default


def layout_for(name: str, config_dir: str = "/etc/kubernetes", platforms: Optional[Mapping[str, Any]] = None) -> Platform:
    known = _platforms(platforms)
    if name not in known:
        raise ValueError(f"layout: {name!r} must be one of: {', '.join(sorted(known))}")
    data = known[name]
    paths = {key: str(value).format(config_dir=config_dir) for key, value in data["layout"].items()}
    return Platform(name=name, config_dir=config_dir, files=dict(data.get("files") or {}),
                    components=dict(data.get("components") or {}), skip=dict(data.get("skip") or {}),
                    file_modes=tuple(data.get("file_modes") or ()), audit_rules=dict(data.get("audit_rules") or {}),
                    container_runtime=dict(data.get("container_runtime") or {}),
                    not_applicable={str(k): str(v) for k, v in (data.get("not_applicable") or {}).items()}, **paths)


def hardening_paths(values: Mapping[str, Any], layout: Platform) -> Dict[str, str]:
    """The files our settings point components at: kubespray's locations, or the platform's own
    (the audit paths only where the user did not choose them)."""
    admission_dir = f"{layout.config_dir}/admission-controls"
    given = set(values.get("_given") or ())
    own = {k: v for k, v in layout.files.items() if k not in given}
    return {
        "admission_dir": admission_dir,
        "admission_config": f"{admission_dir}/admission-controls.yaml",
        "eventratelimit_config": f"{admission_dir}/eventratelimit.yaml",
        "podsecurity_config": f"{admission_dir}/podsecurity.yaml",
        "podnodeselector_config": f"{admission_dir}/podnodeselector.yaml",
        "resourcequota_config": f"{admission_dir}/resourcequota.yaml",
        "authentication_dir": f"{layout.config_dir}/authentication",
        "authentication_config": f"{layout.config_dir}/authentication/authentication-config.yaml",
        "encryption_config": f"{layout.pki_dir}/secrets_encryption.yaml",
        "audit_policy_file": values["audit_policy_file"],
        "audit_log_path": values["audit_log_path"],
        **own,
    }


def node_paths(values: Mapping[str, Any], layout: Platform) -> Dict[str, Any]:
    """Everything a node's roles write or read: the layout's paths and the hardening files."""
    return {**layout.as_dict(), **hardening_paths(values, layout)}


_INSTALLED: Dict[str, Any] = {}


def install(data: Mapping[str, Any]) -> None:
    """Use this catalogue (the controller's, passed to a module) instead of reading the file: only
    Python files travel to nodes."""
    data = dict(data)   # (it may be what load() returned: the installed one itself)
    _INSTALLED.clear()
    _INSTALLED.update(data)


def load(path: str = CATALOGUE_PATH) -> Dict[str, Any]:
    if _INSTALLED and path == CATALOGUE_PATH:
        return _INSTALLED
    return _load_file(path)


@lru_cache(maxsize=4)
def _load_file(path: str) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=_LOADER)
    # a benchmark of its own rules (the STIG) keeps them in its own file beside the catalogue
    for entry in ((data.get("benchmarks") or {}).get("entries") or {}).values():
        if entry.get("rules_file"):
            with open(os.path.join(os.path.dirname(path), entry["rules_file"]), encoding="utf-8") as handle:
                rules = yaml.load(handle, Loader=_LOADER)
            entry.update({key: rules[key] for key in ("version", "release", "benchmark_date") if key in rules}, rules=rules["rules"])
    return data


def settings(path: str = CATALOGUE_PATH) -> List[Setting]:
    result = []
    for raw in load(path)["settings"]:
        is_field = "field" in raw
        result.append(Setting(
            component=raw["component"], key=raw["field"] if is_field else raw["flag"], is_field=is_field,
            value=raw["value"], when=raw.get("when"), variables=tuple(raw.get("variables", ())),
            controls=tuple(raw.get("controls", ()))))
    return result


def controls(path: str = CATALOGUE_PATH) -> List[Dict[str, Any]]:
    return list(load(path)["controls"])


# What a node needs of a rule to judge it (the rest - CCIs, NIST controls, check texts - stays with the
# controller's evidence writers).
RULE_FIELDS_ON_NODES = ("id", "title", "severity", "cis", "checks", "manual", "cluster", "not_applicable", "remediation")


def audit_part(data: Mapping[str, Any]) -> Dict[str, Any]:
    """What cis_audit judges a node with: the benchmark name, the controls, the benchmarks over them and upstream's
    support of each Kubernetes minor (the settings and the kubelet flag table are node_plan's only)."""
    registry = dict(data.get("benchmarks") or {})
    entries = {}
    for name, entry in (registry.get("entries") or {}).items():
        entry = dict(entry)
        if "rules" in entry:
            entry["rules"] = [{k: rule[k] for k in RULE_FIELDS_ON_NODES if k in rule} for rule in entry["rules"]]
        entries[name] = entry
    if registry:
        registry["entries"] = entries
    return {"benchmark": data["benchmark"], "controls": data["controls"], "benchmarks": registry,
            "kubernetes_support": dict(data.get("kubernetes_support") or {})}


# --- benchmarks: data over the one set of checks ----------------------------------------------------------------
# The catalogue's controls are the checks, under the ids of its own benchmark (`benchmark`). Each entry of
# `benchmarks` is a benchmark that uses them: its title, the Kubernetes minors it is the benchmark of (kube-bench's
# version mapping), and what it says otherwise for a control (`changes`: title, remediation, level, automated, or
# `id` when it numbers the control differently; `removed` for controls it does not have).
BENCHMARK_FIELDS = ("id", "title", "remediation", "level", "automated")


def benchmark_names(data: Optional[Mapping[str, Any]] = None) -> List[str]:
    return list(((data if data is not None else load()).get("benchmarks") or {}).get("entries") or {})


def choose_benchmark(data: Mapping[str, Any], wanted: str = "auto", version: Optional[str] = None) -> Tuple[str, str]:
    """(benchmark, why): the one named, else the one mapped to the release's minor, else - as kube-bench steps
    down a newer release - the one mapped to the nearest older minor, else the default. Raises ValueError naming
    what exists when wanted is unknown."""
    registry = data.get("benchmarks") or {}
    entries = registry.get("entries") or {}
    if wanted and wanted != "auto":
        if wanted not in entries:
            raise ValueError(f"kubeguard_benchmark: {wanted!r} is not a benchmark of this collection; allowed: auto, {', '.join(entries)}")
        return wanted, "kubeguard_benchmark"

    def number(text: Any) -> Optional[Tuple[int, int]]:
        # (major, minor), None for no release (no version, "latest"); the data's minors may be YAML numbers
        return releases.minor_of(str(text or ""))

    minor = number(version)
    mapped = [(number(m), name) for name, entry in entries.items() for m in entry.get("kubernetes") or [] if number(m)]
    below = sorted((m, name) for m, name in mapped if minor and m <= minor)
    if below:
        (major_minor, name) = below[-1]
        said = f"{major_minor[0]}.{major_minor[1]}"
        return name, (f"the benchmark of Kubernetes {said}" if major_minor == minor
                      else f"the benchmark of Kubernetes {said}, the newest mapped release before {minor[0]}.{minor[1]}")
    default = registry.get("default") or data.get("benchmark") or "unknown"
    return default, f"the default (no benchmark is mapped to {version or 'an unknown release'} or an older one)"


def benchmark_view(data: Mapping[str, Any], wanted: str = "auto", version: Optional[str] = None) -> Dict[str, Any]:
    """{benchmark, title, why, controls, ids, kind}: the catalogue's controls as the chosen benchmark numbers, names
    and remediates them (the checks are the catalogue's own); ids: {catalogue id: the benchmark's id, None when it
    does not have the control}. A benchmark of its own rules (kind "rules": the STIG) has a control per rule whose
    parts are catalogue checks and its own (rule_controls); its ids name no catalogue control."""
    import copy
    name, why = choose_benchmark(data, wanted, version)
    entry = ((data.get("benchmarks") or {}).get("entries") or {}).get(name) or {}
    if "rules" in entry:
        return {"benchmark": name, "title": entry.get("title", name), "why": why, "kind": "rules",
                "controls": rule_controls(data, entry["rules"]), "ids": {str(c["id"]): None for c in data.get("controls") or []}}
    changes = entry.get("changes") or {}
    ids = benchmark_ids(data, name)
    found = []
    for control in data.get("controls") or []:
        cid = str(control["id"])
        if ids[cid] is None:
            continue
        one = copy.deepcopy(dict(control))
        for key, value in (changes.get(cid) or {}).items():
            if key in BENCHMARK_FIELDS:
                one[key] = value
        found.append(one)
    return {"benchmark": name, "title": entry.get("title", name), "why": why, "kind": "controls", "controls": found, "ids": ids}


SEVERITY_LEVELS = {"high": 1, "medium": 2, "low": 3}
SEVERITY_SECTIONS = {"high": "CAT I", "medium": "CAT II", "low": "CAT III"}


RULE_KIND = "rule"


def is_rule(control: Mapping[str, Any]) -> bool:
    """A benchmark rule made of parts (rule_controls), not one of the catalogue's controls with its one check."""
    return control.get("kind") == RULE_KIND


def judged_from_the_api(control: Mapping[str, Any]) -> bool:
    """A control the cluster report judges: the cluster's own, or a rule with a side in the API (its `cluster`)."""
    return control.get("component") == "cluster" or bool(control.get("cluster"))


def rule_controls(data: Mapping[str, Any], rules: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """A benchmark's rules as controls the audit judges: `parts` (each {check, component, cis: the catalogue id
    it is or None, role / unless_role}), all of which must pass; `manual` / `cluster` say what decides it
    otherwise, `not_applicable` {all | platform: why}. level 1 is CAT I (verify_fail_on level1)."""
    by_id = {str(c["id"]): c for c in data.get("controls") or []}
    found = []
    for rule in rules:
        parts: List[Dict[str, Any]] = []
        for cid in rule.get("cis") or []:
            control = by_id[str(cid)]   # a test holds every rule's cis ids to the catalogue's
            if control.get("check"):
                parts.append({"cis": str(cid), "component": control["component"], "check": control["check"]})
        for own in rule.get("checks") or []:
            own = dict(own)
            part = {"cis": None, "component": own.pop("component"), "role": own.pop("role", None),
                    "unless_role": own.pop("unless_role", None)}
            parts.append({**part, "check": own})
        manual = rule.get("manual")
        cluster = rule.get("cluster")
        severity = str(rule.get("severity") or "medium")
        found.append({
            "id": str(rule["id"]), "kind": RULE_KIND, "cis": [str(c) for c in rule.get("cis") or []], "title": rule["title"],
            "severity": severity, "stig_id": rule.get("stig_id"),
            "level": SEVERITY_LEVELS.get(severity, 2), "section": SEVERITY_SECTIONS.get(severity, severity),
            # a rule with checks and `cluster` has two sides: its nodes judge the checks, the cluster report the API
            "component": parts[0]["component"] if parts else ("cluster" if cluster else "node"),
            "automated": bool(parts) and not manual, "parts": parts, "cluster": cluster,
            "manual": manual or (None if parts else cluster), "not_applicable": dict(rule.get("not_applicable") or {}),
            "remediation": rule.get("remediation") or _cis_remediation(by_id, rule.get("cis") or [])})
    return found


RULE_STATUSES = ("automated", "manual", "cluster", "not_applicable")


def rule_exemption(not_applicable: Optional[Mapping[str, Any]], cis: Sequence[str], own_checks: bool, platform: str,
                   platform_exempt: Mapping[str, str]) -> Optional[str]:
    """Why a whole rule does not apply on a platform (None: it does): its own not_applicable (all, or the platform),
    or - made of catalogue checks only - every one of them exempt there. The rules page and the report both ask here."""
    own = not_applicable or {}
    if own.get("all") or own.get(platform):
        return str(own.get("all") or own.get(platform))
    if cis and not own_checks and all(c in platform_exempt for c in cis):
        return "; ".join(f"CIS {c}: {platform_exempt[c]}" for c in cis)
    return None


def rule_status(rule: Mapping[str, Any], platform: str, platform_data: Mapping[str, Any]) -> Tuple[str, str]:
    """(status, why) of a benchmark rule on a platform: not_applicable (its own reason, or every catalogue check
    it is made of does not apply there), cluster or manual (what decides it), automated (the checks - a rule with
    checks and `cluster` is automated on the nodes and judged from the API too)."""
    platform_exempt = {str(k): str(v) for k, v in (platform_data.get("not_applicable") or {}).items()}
    cis = [str(c) for c in rule.get("cis") or []]
    exempt = rule_exemption(rule.get("not_applicable"), cis, bool(rule.get("checks")), platform, platform_exempt)
    if exempt:
        return "not_applicable", exempt
    if rule.get("cluster") and not rule.get("checks"):
        return "cluster", str(rule["cluster"])
    if rule.get("manual"):
        return "manual", str(rule["manual"])
    if cis or rule.get("checks"):
        said = [f"CIS {c}" for c in cis] + [f"own check on {c.get('component')}" for c in rule.get("checks") or []]
        also = f"; and {rule['cluster']}" if rule.get("cluster") else ""
        return "automated", ", ".join(dict.fromkeys(said)) + also
    return "", "no check, no reason"


def _rule_meta(rule: Mapping[str, Any]) -> Dict[str, Any]:
    found = {key: rule.get(key) for key in ("title", "severity", "stig_id", "rule_id", "srg", "check_text", "remediation")}
    return dict(found, cci=list(rule.get("cci") or []), nist=list(rule.get("nist") or []))


def benchmark_meta(data: Mapping[str, Any], name: str) -> Dict[str, Any]:
    """What the evidence formats say of a benchmark and its controls beyond a report's results: {benchmark,
    title, release, rules: {id: {title, severity, stig_id, rule_id, srg, cci, nist, check_text, remediation}}}.
    A CIS benchmark's controls have no severity (unknown), CCI or NIST control; the STIG's rules have all."""
    entries = (data.get("benchmarks") or {}).get("entries") or {}
    entry = entries.get(name) or {}
    rules: Dict[str, Dict[str, Any]] = {}
    if "rules" in entry:
        rules = {str(rule["id"]): _rule_meta(rule) for rule in entry["rules"]}
    elif entry or name == data.get("benchmark"):
        for control in benchmark_view(data, name)["controls"]:
            rules[str(control["id"])] = _rule_meta({"title": control["title"], "severity": "unknown", "remediation": control.get("remediation")})
    # a report may carry another benchmark's rules beside its own (the cluster report: CIS section 5 and the STIG's
    # cluster rules): theirs come from their benchmark
    for other_name, other in entries.items():
        if other_name != name:
            rules.update({str(rule["id"]): _rule_meta(rule) for rule in other.get("rules") or [] if str(rule["id"]) not in rules})
    return {"benchmark": name, "title": entry.get("title", name), "version": str(entry.get("version") or ""),
            "release": str(entry.get("release") or ""), "benchmark_date": str(entry.get("benchmark_date") or ""), "rules": rules}


def _cis_remediation(by_id: Mapping[str, Any], cis: Sequence[str]) -> Optional[str]:
    said = [f"CIS {cid}: {by_id[str(cid)].get('remediation')}" for cid in cis if by_id[str(cid)].get("remediation")]
    return "; ".join(dict.fromkeys(said)) or None


def benchmark_ids(data: Mapping[str, Any], name: str) -> Dict[str, Optional[str]]:
    """{catalogue id (the check): benchmark `name`'s id of it, None when the benchmark does not have it}."""
    entry = ((data.get("benchmarks") or {}).get("entries") or {}).get(name) or {}
    changes = entry.get("changes") or {}
    removed = {str(cid) for cid in entry.get("removed") or []}
    ids: Dict[str, Optional[str]] = {}
    for control in data.get("controls") or []:
        cid = str(control["id"])
        ids[cid] = None if cid in removed else str((changes.get(cid) or {}).get("id", cid))
    return ids


def benchmark_checks(data: Optional[Mapping[str, Any]] = None) -> Dict[str, Dict[str, str]]:
    """{benchmark: {its control id: the catalogue id of the check it is}} for every benchmark of the catalogue: what
    tells whether a control of one benchmark's report and one of another's are the same check (the drift and the
    fleet report's change compare those across a change of benchmark). An id a benchmark gives two checks names
    neither (a fault of the data, which a test refuses)."""
    data = data if data is not None else load()
    found: Dict[str, Dict[str, str]] = {}
    for name in benchmark_names(data):
        if "rules" in data["benchmarks"]["entries"][name]:
            found[str(name)] = {}   # its rules are not one catalogue check each
            continue
        checks: Dict[str, str] = {}
        shared = set()
        for cid, bid in benchmark_ids(data, name).items():
            if bid is None:
                continue
            if bid in checks:
                shared.add(bid)
            checks[bid] = cid
        found[str(name)] = {bid: cid for bid, cid in checks.items() if bid not in shared}
    return found


# --- expression evaluation (module_utils/expressions.py: the same language on controller and nodes) -----

def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    return expressions.evaluate(expression, context)


def expression_context(values: Mapping[str, Any], layout: Platform) -> Dict[str, Any]:
    context = dict(values)
    context["layout"] = layout.as_dict()
    context["paths"] = hardening_paths(values, layout)
    context["tls"] = expression_context_tls()
    return context


def expression_context_tls() -> Dict[str, List[str]]:
    """The cipher lists CIS accepts (controls 1.2.29 and 4.2.12 compare against them)."""
    return {"strong_ciphers": list(CIPHERS_STRONG), "kubelet_strong_ciphers": list(KUBELET_CIPHERS_CIS)}


def desired_settings(values: Mapping[str, Any], layout: Platform, component: str) -> Dict[str, Any]:
    """Managed keys of one component -> desired value (None removes a flag), in catalogue order."""
    context = expression_context(values, layout)
    result: Dict[str, Any] = {}
    for setting in settings():
        if setting.component != component:
            continue
        if setting.when is not None and not evaluate(setting.when, context):
            continue
        if f"{component}.{setting.key}" in layout.skip:
            continue
        result[setting.key] = evaluate(setting.value, context)
    return result
