"""Never weaker: a run must not leave a node less hardened than it found it.

Before anything is written, the node is judged with the audit's own checks (every catalogue control with
a check, CIS and section K, exposure and integrity included: what verify runs) as it is and as the run
would leave it (`predicted`), and the two are compared control by control:

- a setting that comes from a *default* and would turn a passing control into a failing one is not
  applied: the node keeps its own value (reported as ``kept``);
- a setting the *user* gave (their variable, extra args included) is applied; every control it
  makes fail is reported ``waived`` with the variable and value, in the run's summary and in every
  CIS report - the same on the first run and on every later one;
- once every write of the run is known (node_operations), `judge_run` compares the whole node (files,
  the kubelet's unit firewall, containerd, audit rules too): a control that would go from pass to fail
  is waived where one of the user's variables decides it, and refused before any change otherwise.

What a check reads is never listed here: a key or variable is found to decide a control by judging the
node without it. Pure functions over the state ``audit.observe`` returns (node_plan runs them on the node).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..base.component_names import APISERVER, KUBELET, KUBE_PROXY
from . import desired, predicted
from ..formats import kube_proxy
from ..platform import component_registry
from ..catalogue import catalogue
from ..model import hardening_vars
from ..report import audit
from ..catalogue.catalogue import Platform
from ..formats.kubelet_config import get_field

PLANNED_COMPONENTS = component_registry.WRITTEN
ROOT_OWNER = "root:root"
# Variables that describe the cluster rather than choose a hardening: never a cause of a weakening.
CLUSTER_FACTS = ("kube_version", "kube_config_dir")
Key = Tuple[str, str]   # (component, flag or kubelet field)
overlay = predicted.overlay   # the node with one component's settings applied (tests and callers use it from here)


def desired_with_origins(values: Mapping[str, Any], layout: Platform,
                         component: str) -> Tuple[Dict[str, Any], Dict[str, Tuple[str, ...]]]:
    """(settings, origins): what we would set on a component and, per key, the variables it comes from."""
    if component == KUBELET:
        settings = desired.kubelet_fields(values, layout)
        extra_variable = "kubelet_config_extra_args"
    else:
        settings = desired.component_flags(values, layout, component)
        extra_variable = desired.EXTRA_ARGS_VARIABLE[component]
    origins: Dict[str, Tuple[str, ...]] = {}
    for setting in catalogue.settings():
        if setting.component == component and setting.key in settings:
            origins[setting.key] = tuple(dict.fromkeys(origins.get(setting.key, ()) + setting.variables))
    for key in values.get(extra_variable) or {}:
        origins[key] = (extra_variable,)   # extra args win last, so they alone decide the key
    return settings, origins


def _judge(control: Mapping[str, Any], state: Mapping[str, Any]) -> bool:
    """Does the control pass on this state (files are judged after the operations: judge_run)?"""
    outcome = audit.judge_control(control, state, file_reader=lambda *_ignored: [])
    return bool(outcome and outcome.passed)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "(removed)" if value is None else str(value)


def _current(state: Mapping[str, Any], component: str, key: str) -> Any:
    if component == KUBELET:
        return get_field(state.get("kubelet_config") or {}, key)
    return ((state["components"].get(component) or {}).get("flags") or {}).get(key)


@functools.lru_cache(maxsize=1)
def _defaults() -> Dict[str, Any]:
    return hardening_vars.defaults()   # (read, never changed: counterfactuals copy what they change)


def counterfactuals(values: Mapping[str, Any], variable: str) -> List[Dict[str, Any]]:
    """The variables as they would be had the user not chosen this one: its default, and for a switch the
    other position too (a user who writes the default false still decided it)."""
    default = _defaults()[variable]
    found = [] if default == values.get(variable) else [dict(values, **{variable: default})]
    if isinstance(values.get(variable), bool):
        found.append(dict(values, **{variable: not values[variable]}))
    return found


def _without(applied: Mapping[str, Mapping[str, Any]], keys: Sequence[Key],
             instead: Optional[Mapping[Key, Any]] = None) -> Dict[str, Dict[str, Any]]:
    """The settings with these keys not applied (the node keeps its value), or set as `instead` says."""
    result = {component: dict(one) for component, one in applied.items()}
    for component, key in keys:
        if instead is not None and (component, key) in instead:
            result[component][key] = instead[(component, key)]
        else:
            result[component].pop(key, None)
    return result


def _culprits(passes: Callable[[Sequence[Key]], bool], candidates: Sequence[Key]) -> List[Key]:
    """The keys whose change makes the control fail: each that alone does, else the fewest that together do."""
    alone = [key for key in candidates if passes([key])]
    if alone or not candidates or not passes(candidates):
        return alone
    needed = list(candidates)
    for key in list(candidates):   # drop every key the control does not need reverted
        trial = [k for k in needed if k != key]
        if trial and passes(trial):
            needed = trial
    return needed


def plan_settings(values: Mapping[str, Any], layout: Platform, state: Mapping[str, Any],
                  controls: Optional[Sequence[Mapping[str, Any]]] = None, writes: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """The guarded settings of every component of a node, and what was kept or waived.

    Every control with a check (CIS and section K, exposure included) is judged as audit.judge_control
    judges it, on the node now and on the node with every component's settings applied (predicted), so
    nothing here lists what a check reads: a key is found to decide a control by trying it."""
    controls = [c for c in (controls if controls is not None else catalogue.controls()) if c.get("check")]
    given = set(values.get("_given") or [])
    applied: Dict[str, Dict[str, Any]] = {}
    origins: Dict[str, Dict[str, Tuple[str, ...]]] = {}
    for component in PLANNED_COMPONENTS:
        applied[component], origins[component] = desired_with_origins(values, layout, component)
    # writes: the components this run writes on the node (its role); None - every one it has files of
    present = {c: (state["components"].get(c) or {}).get("source", "absent") != "absent" and (writes is None or c in writes)
               for c in PLANNED_COMPONENTS}

    def explicit(key: Key) -> bool:
        return any(variable in given for variable in origins[key[0]].get(key[1], ()))

    def after(settings: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
        # a component this node does not have gets none of its settings (a worker's etcd_extra_vars open no port)
        return predicted.components(state, {c: one for c, one in settings.items() if one and present.get(c)}, values)

    tried: Dict[Tuple[Key, int], Dict[str, Any]] = {}

    def with_alternative(key: Key, index: int, alternative: Any) -> Dict[str, Any]:
        """The node with one user key at an alternative (computed once, judged for every control)."""
        if (key, index) not in tried:
            tried[(key, index)] = after(_without(applied, [key], {key: alternative} if alternative is not _KEEP else None))
        return tried[(key, index)]

    before = {str(c["id"]): _judge(c, state) for c in controls}
    # 1. A default that turns a passing control failing is not applied: the node keeps its own value.
    kept: List[Dict[str, Any]] = []
    now = after(applied)
    for control in controls:
        if not before[str(control["id"])] or _judge(control, now):
            continue
        candidates = [(c, k) for c in PLANNED_COMPONENTS if present[c] for k in applied[c]
                      if not explicit((c, k)) and _text(applied[c][k]) != _text(_current(state, c, k))]
        found = _culprits(lambda keys, control=control: _judge(control, after(_without(applied, keys))), candidates)
        for component, key in found:
            kept.append({"component": component, "key": key, "default": applied[component].pop(key),
                         "node": _current(state, component, key), "control": str(control["id"]),
                         "variables": list(origins[component].get(key, ()))})
        if found:
            now = after(applied)
    # 2. A control that fails with the user's values is theirs to own when their choice decides it.
    waived: Dict[str, str] = {}
    users = [(c, k) for c in PLANNED_COMPONENTS for k in applied[c] if explicit((c, k))]
    alternatives = _alternatives(values, layout, applied, origins, users, given)
    for control in controls:
        cid = str(control["id"])
        if not users or _judge(control, now):
            continue
        # stable on every run: with the user's variable at its default (or the flag removed) it would pass
        found = [key for key in users if any(_judge(control, with_alternative(key, index, alt))
                                             for index, alt in enumerate(alternatives[key]))]
        if not found and before[cid]:
            # the node passes it now and this run would break it
            changed = [key for key in users if present[key[0]] and _text(applied[key[0]][key[1]]) != _text(_current(state, *key))]
            found = _culprits(lambda keys, control=control: _judge(control, after(_without(applied, keys))), changed)
        # kubeguard_allow_override named the setting deliberately: its controls (the catalogue's) are waived
        found += [key for key in users if key not in found and hardening_vars.overridden(values, *key)
                  and cid in _setting_controls(*key)]
        if found:
            waived[cid] = _reason(values, found, applied, origins, given)
    waived.update(pod_security_waivers(values))
    waived.update(kube_proxy_waivers(values))
    return {"settings": applied, "kept": kept, "waived": waived}


_KEEP = object()   # an alternative that leaves the node's own value (a kubelet field we would not set)


def _alternatives(values: Mapping[str, Any], layout: Platform, applied: Mapping[str, Mapping[str, Any]],
                  origins: Mapping[str, Mapping[str, Tuple[str, ...]]], users: Sequence[Key], given: set) -> Dict[Key, List[Any]]:
    """Per user key: the values it would have without the user's choice - our default where we have one,
    else a flag goes back to Kubernetes' default (removed) and a kubelet field keeps the node's value."""
    settings_without: Dict[Tuple[str, str], Dict[str, Any]] = {}
    found: Dict[Key, List[Any]] = {}
    for component, key in users:
        options: List[Any] = []
        for variable in [v for v in origins[component].get(key, ()) if v in given and v not in CLUSTER_FACTS]:
            for index, other in enumerate(counterfactuals(values, variable)):
                cache = (component, f"{variable}#{index}")
                if cache not in settings_without:
                    settings_without[cache] = desired_with_origins(other, layout, component)[0]
                one = settings_without[cache]
                options.append(one[key] if key in one else (_KEEP if component == KUBELET else None))
        found[(component, key)] = [o for i, o in enumerate(options) if o is _KEEP or o not in options[:i]]
    return found


def _setting_controls(component: str, key: str) -> List[str]:
    return [cid for row in catalogue.settings() if (row.component, row.key) == (component, key) for cid in row.controls]


def _reason(values: Mapping[str, Any], keys: Sequence[Key], applied: Mapping[str, Mapping[str, Any]],
            origins: Mapping[str, Mapping[str, Tuple[str, ...]]], given: set) -> str:
    variables = [v for component, key in keys for v in origins[component].get(key, ()) if v in given]
    shown = ", ".join(f"{v}={_text(values.get(v))}" for v in dict.fromkeys(variables))
    settings = ", ".join(f"{component} {key}={_text(applied[component][key])}" for component, key in keys)
    reasons = [r for r in dict.fromkeys(hardening_vars.overridden(values, component, key) for component, key in keys) if r]
    return f"weakened by your variable {shown} ({settings})" + (f": {'; '.join(reasons)}" if reasons else "")


def pod_security_waivers(values: Mapping[str, Any]) -> Dict[str, str]:
    """Pod Security exemptions of the controllers that create pods (accepted only with kubeguard_allow_override,
    hardening_vars): every pod they create skips the policy, so the cluster's policy control (5.2.1) is waived."""
    exempted = hardening_vars.pod_creating_exemptions(values)
    reason = hardening_vars.overridden(values, APISERVER, hardening_vars.POD_SECURITY_OVERRIDE)
    if not exempted or not reason:
        return {}
    return {"5.2.1": f"weakened by your variable kube_pod_security_exemptions_usernames={','.join(exempted)} (every pod"
                     f" these controllers create, for any workload, skips Pod Security): {reason}"}


def kube_proxy_waivers(values: Mapping[str, Any]) -> Dict[str, str]:
    """kube-proxy's metrics beyond loopback: only ever the user's own variable (the default is loopback), so 4.3.1 is
    theirs to own, waived naming it - as the controller-manager's and scheduler's bind addresses are (seed 000's
    Prometheus variant opens all three)."""
    address = values.get("kube_proxy_metrics_bind_address") or kube_proxy.DEFAULT_METRICS
    if kube_proxy.is_loopback(address):
        return {}
    reason = hardening_vars.overridden(values, KUBE_PROXY, "metrics-bind-address")
    return {"4.3.1": f"weakened by your variable kube_proxy_metrics_bind_address={address}" + (f": {reason}" if reason else "")}


def plan_file_owner(values: Mapping[str, Any], layout: Platform,
                    controls: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """Owner of the PKI files: kube_owner:kube_cert_group only when the user set them (kubespray's
    default kube:kube-cert fails CIS 1.1.19 and is never applied on its own)."""
    given = set(values.get("_given") or [])
    wanted = f"{values['kube_owner']}:{values['kube_cert_group']}"
    user_set = bool({"kube_owner", "kube_cert_group"} & given)
    result: Dict[str, Any] = {"owner": None, "group": None, "kept": [], "waived": {}}
    if user_set or wanted == ROOT_OWNER:
        result["owner"], result["group"] = values["kube_owner"], values["kube_cert_group"]
    if wanted == ROOT_OWNER or not any(e.get("owner") == "{pki_owner}" for e in layout.file_modes):
        return result     # (a platform whose PKI owner is fixed, k3s: root, has nothing to keep or waive)
    for control in [c for c in controls if _owner_check_in(c, layout, values)]:
        if user_set:
            result["waived"][str(control["id"])] = (
                f"weakened by your variable kube_owner={values['kube_owner']}, kube_cert_group={values['kube_cert_group']}"
                f" (PKI owned {wanted}; CIS wants {ROOT_OWNER})")
        else:
            result["kept"].append({"component": "files", "key": "PKI owner", "default": wanted, "node": "unchanged",
                                   "control": str(control["id"]), "variables": ["kube_owner", "kube_cert_group"]})
    return result


def _owner_check_in(control: Mapping[str, Any], layout: Platform, values: Mapping[str, Any]) -> bool:
    """Does the control check the owner of PKI files (1.1.19, and 4.1.8 for the client CA)?"""
    check = control.get("check") or {}
    if control.get("component") != "files" or "owner" not in check:
        return False
    rendered = audit.rendered_check(control, {"layout": layout.as_dict(), "etcd_data_dir": values["etcd_data_dir"]})
    patterns = rendered["file"] if isinstance(rendered["file"], list) else [rendered["file"]]
    return any(p == layout.pki_dir or p.startswith(layout.pki_dir.rstrip("/") + "/") for p in patterns)


def plan(values: Mapping[str, Any], layout: Platform, state: Mapping[str, Any],
         controls: Optional[Sequence[Mapping[str, Any]]] = None, writes: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """The guarded settings of every component of a node, what was kept, and what the user's variables waive
    (node_plan then judges the whole run's operations with judge_run). writes: the components this node's
    run writes (a worker's leftover etcd.env is not etcd's)."""
    controls = list(controls if controls is not None else catalogue.controls())
    result = plan_settings(values, layout, state, controls, writes)
    owner = plan_file_owner(values, layout, controls)
    result["pki_owner"], result["pki_group"] = owner["owner"], owner["group"]
    result["kept"] += owner["kept"]
    result["waived"].update(owner["waived"])
    return result


def summary(result: Mapping[str, Any]) -> List[str]:
    """Lines for the run's summary: what was not applied, and what the user's variables weakened."""
    lines = [f"kept {k['component']} {k['key']}={_text(k['node'])}: the default {_text(k['default'])}"
             f" ({', '.join(k['variables']) or 'built in'}) would fail {k['control']}; set the variable to apply it"
             for k in result.get("kept") or []]
    lines += [f"waived {cid}: {reason}" for cid, reason in sorted((result.get("waived") or {}).items())]
    return lines


def _run_outcome(control: Mapping[str, Any], state: Mapping[str, Any], settings: Mapping[str, Mapping[str, Any]],
                 ops: Mapping[str, Mapping[str, Any]], values: Mapping[str, Any], read: predicted.FileReader) -> Any:
    after = predicted.after_operations(state, settings, ops, values)
    return audit.judge_control(control, after, predicted.file_reader(ops, read))


def judge_run(values: Mapping[str, Any], state: Mapping[str, Any], result: Dict[str, Any],
              ops: Mapping[str, Mapping[str, Any]], rebuild: Callable[[Mapping[str, Any]], Tuple[Mapping[str, Any], Mapping[str, Any]]],
              controls: Optional[Sequence[Mapping[str, Any]]] = None, read: predicted.FileReader = audit.file_facts) -> List[str]:
    """The whole audit of the node as this run's operations leave it, against the node now.

    A control that passes now and would not pass then, and is not waived yet: waived (result['waived'],
    a summary line) where one of the user's variables decides it - with that variable at its default, or
    the other position of a switch, the run would keep it passing (rebuild(values) -> (plan, operations));
    otherwise ValueError before anything is written, naming the control, what it would find, and the
    variable whose default causes it. Returns the summary lines added."""
    controls = [c for c in (controls if controls is not None else catalogue.controls()) if c.get("check")]
    seen_files: Dict[Tuple[Any, bool], List[Dict[str, Any]]] = {}
    real_read = read

    def read(pattern: Any, recurse: bool = False) -> List[Dict[str, Any]]:   # each path looked at once per run
        key = (tuple(pattern) if isinstance(pattern, list) else pattern, bool(recurse))
        if key not in seen_files:
            seen_files[key] = real_read(pattern, recurse)
        return seen_files[key]
    before = predicted.judge(controls, state, read)
    after_state = predicted.after_operations(state, result["settings"], ops, values)
    after = predicted.judge(controls, after_state, predicted.file_reader(ops, read))
    lost = [c for c in controls if before[str(c["id"])] is True and after[str(c["id"])] is not True
            and str(c["id"]) not in result["waived"]]
    given = [v for v in values.get("_given") or [] if v in hardening_vars.VARIABLES_BY_NAME and v not in CLUSTER_FACTS]
    lines: List[str] = []
    refused: List[str] = []
    rebuilt: Dict[Tuple[str, int], Tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]] = {}

    def passes_without(control: Mapping[str, Any], variable: str) -> Optional[Any]:
        """The other value of the variable with which the control would keep passing (None: none)."""
        for index, other in enumerate(counterfactuals(values, variable)):
            if (variable, index) not in rebuilt:
                try:
                    one_plan, one_ops = rebuild(other)
                except ValueError:
                    continue   # that value is refused on this node: no run could keep the control with it
                rebuilt[(variable, index)] = (other, one_plan, one_ops)
            other, one_plan, one_ops = rebuilt[(variable, index)]
            outcome = _run_outcome(control, state, one_plan["settings"], one_ops, other, read)
            if outcome is not None and outcome.passed:
                return other[variable]
        return None

    for control in lost:
        cid = str(control["id"])
        found = audit.judge_control(control, after_state, predicted.file_reader(ops, read))
        seen = found.found if found else "not judged"
        causes = [v for v in given if passes_without(control, v) is not None]
        if causes:
            shown = ", ".join(f"{v}={_text(values.get(v))}" for v in causes)
            result["waived"][cid] = f"weakened by your variable {shown} ({seen})"
            lines.append(f"waived {cid}: {result['waived'][cid]}")
            continue
        defaults = [(v, other) for v in hardening_vars.VARIABLES_BY_NAME
                    if v not in given and isinstance(values.get(v), bool) and v not in CLUSTER_FACTS
                    for other in [passes_without(control, v)] if other is not None]
        cause = "; ".join(f"it comes from {v}={_text(values.get(v))} (the default): set {v}: {_text(other)} to keep the node as it"
                          f" is, or write {v}: {_text(values.get(v))} in your variables to accept it (then waived in every report)"
                          for v, other in defaults) or "no variable decides it (the run's own operations on this node do: please report it)"
        refused.append(f"{cid} ({control['title']}) passes on this node now and would fail after this run: {seen}; {cause}")
    if refused:
        raise ValueError("this run would leave the node weaker than it is: " + " | ".join(refused))
    result.setdefault("summary", []).extend(lines)
    return lines
