"""Never weaker: a run must not leave a node less hardened than it found it.

Before anything is written, each component's desired settings are judged against the node's real
state, control by control (every catalogue control with a check, CIS or our own):

- a setting that comes from a *default* and would turn a passing control into a failing one is not
  applied: the node keeps its own value (reported as ``kept``);
- a setting the *user* gave (their variable, extra args included) is applied; every control it
  makes fail is reported ``waived`` with the variable and value, in the run's summary and in every
  CIS report - the same on the first run and on every later one.

Pure functions over the state ``audit.observe`` returns; they run on the controller (with the state
node_state read) and nowhere else.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import audit, catalogue, checks, desired, hardening_vars
from .catalogue import Layout
from .kubelet_config import KubeletConfigError, get_field, merge_fields

PLANNED_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kubelet")
# The encryption check reads the providers of the file --encryption-provider-config names.
ENCRYPTION_KEY = "encryption-provider-config"
ROOT_OWNER = "root:root"


def desired_with_origins(values: Mapping[str, Any], layout: Layout,
                         component: str) -> Tuple[Dict[str, Any], Dict[str, Tuple[str, ...]]]:
    """(settings, origins): what we would set on a component and, per key, the variables it comes from."""
    if component == "kubelet":
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


def _reads(check: Mapping[str, Any]) -> List[str]:
    """The keys (flag names, kubelet config fields) a check looks at."""
    return [ENCRYPTION_KEY if "encryption_providers" in leaf else leaf[key]
            for leaf in checks.leaves(check) for key in ("kubelet", "flag", "encryption_providers") if key in leaf]


def _same_key(read: str, key: str) -> bool:
    """A kubelet field read (authentication.anonymous.enabled) is decided by a setting of that field,
    of a parent (authentication) or of a child."""
    return read == key or read.startswith(key + ".") or key.startswith(read + ".")


def reads_key(control: Mapping[str, Any], key: str) -> bool:
    return any(_same_key(read, key) for read in _reads(control.get("check") or {}))


def overlay(state: Mapping[str, Any], component: str, settings: Mapping[str, Any],
            values: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The node's state as it would be with these settings applied to one component."""
    after = copy.deepcopy(dict(state))
    observed = after["components"].setdefault(component, {"source": "absent", "flags": {}})
    if component == "kubelet" and (after.get("layout") or {}).get("components", {}).get("kind") == "k3s_config":
        # k3s configures the kubelet by flags (kubelet-arg), and a flag wins over any config file
        table = catalogue.load()["kubelet_flags"]
        flags = dict(observed["flags"])
        for field, value in settings.items():
            if field in table:
                if value is None:
                    flags.pop(table[field], None)
                else:
                    flags[table[field]] = _text(value)
        observed["flags"] = flags
        return after
    if component == "kubelet":
        try:
            after["kubelet_config"], _ignored = merge_fields(after.get("kubelet_config") or {}, settings)
        except KubeletConfigError:
            pass   # the kubelet_config module refuses such a value before writing anything
        return after
    flags = dict(observed["flags"])
    for key, value in settings.items():
        if value is None:
            flags.pop(key, None)
        else:
            flags[key] = value
    observed["flags"] = flags
    if component == "kube-apiserver" and values is not None:
        if settings.get(ENCRYPTION_KEY) and values.get("kube_encrypt_secret_data"):
            # desired.encryption_config: one entry for kube_encryption_resources, the chosen algorithm first,
            # older providers after it. Secrets get them only if that list really covers secrets.
            resources = [str(name) for name in values.get("kube_encryption_resources") or []]
            kept = [p for p in after.get("encryption_providers") or [] if p != values["kube_encryption_algorithm"]]
            after["encryption_resources"] = resources
            after["encryption_providers"] = ([values["kube_encryption_algorithm"]] + [p for p in kept if p != "identity"] + ["identity"]
                                             if checks.covers(resources) else [])
        elif ENCRYPTION_KEY in settings and settings[ENCRYPTION_KEY] is None:
            after["encryption_providers"] = []
            after["encryption_resources"] = []
    return after


def _judge(control: Mapping[str, Any], state: Mapping[str, Any]) -> bool:
    outcome = audit.judge_control(control, state, file_reader=lambda *_ignored: [])
    return bool(outcome and outcome.passed)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "(removed)" if value is None else str(value)


def _current(state: Mapping[str, Any], component: str, key: str) -> Any:
    if component == "kubelet":
        return get_field(state.get("kubelet_config") or {}, key)
    return ((state["components"].get(component) or {}).get("flags") or {}).get(key)


def _without_user_choices(values: Mapping[str, Any]) -> Dict[str, Any]:
    """The variables as they would be had the user set none of them."""
    base = hardening_vars.defaults()
    for name in ("kube_version", "kube_config_dir"):   # facts about the cluster, not choices
        base[name] = values[name]
    base["_given"] = []
    return base


def plan_component(values: Mapping[str, Any], layout: Layout, state: Mapping[str, Any], component: str,
                   controls: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """{'settings': what to apply, 'kept': defaults not applied, 'waived': {control id: reason}}."""
    settings, origins = desired_with_origins(values, layout, component)
    given = set(values.get("_given") or [])

    def explicit(key: str) -> bool:
        return any(variable in given for variable in origins.get(key, ()))

    relevant = [c for c in controls if c.get("component") == component and c.get("check")]
    present = (state["components"].get(component) or {}).get("source", "absent") != "absent"
    applied = dict(settings)
    kept: List[Dict[str, Any]] = []
    for control in relevant if present else []:
        if not _judge(control, state) or _judge(control, overlay(state, component, applied, values)):
            continue
        for key in [k for k in applied if reads_key(control, k) and not explicit(k)
                    and _text(applied[k]) != _text(_current(state, component, k))]:
            kept.append({"component": component, "key": key, "default": applied.pop(key),
                         "node": _current(state, component, key), "control": str(control["id"]),
                         "variables": list(origins.get(key, ()))})

    # A control that fails with the user's values and would pass without them is theirs to own.
    defaults = _without_user_choices(values)
    fallback = desired_with_origins(defaults, layout, component)[0]
    after = overlay(state, component, applied, values)
    waived: Dict[str, str] = {}
    for control in relevant:
        user_keys = [k for k in applied if reads_key(control, k) and explicit(k)]
        if not user_keys or _judge(control, after):
            continue
        # Without the user's choice: our default where we have one; else a flag goes back to
        # Kubernetes' default (removed) and a kubelet field to what our other fields make of it.
        alternative = {k: v for k, v in applied.items() if k not in user_keys}
        alternative.update({k: fallback.get(k) for k in user_keys if k in fallback or component != "kubelet"})
        weakened_now = _judge(control, state) and present
        if weakened_now or _judge(control, overlay(state, component, alternative, defaults)):
            waived[str(control["id"])] = _reason(values, component, user_keys, applied, origins, given)
    return {"settings": applied, "kept": kept, "waived": waived}


def _reason(values: Mapping[str, Any], component: str, keys: Sequence[str], applied: Mapping[str, Any],
            origins: Mapping[str, Tuple[str, ...]], given: set) -> str:
    variables = [v for k in keys for v in origins.get(k, ()) if v in given]
    shown = ", ".join(f"{v}={_text(values.get(v))}" for v in dict.fromkeys(variables))
    settings = ", ".join(f"{component} {k}={_text(applied[k])}" for k in keys)
    reasons = [r for r in (hardening_vars.overridden(values, component, k) for k in keys) if r]
    return f"weakened by your variable {shown} ({settings})" + (f": {'; '.join(reasons)}" if reasons else "")


def plan_file_owner(values: Mapping[str, Any], layout: Layout,
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


def _owner_check_in(control: Mapping[str, Any], layout: Layout, values: Mapping[str, Any]) -> bool:
    """Does the control check the owner of PKI files (1.1.19, and 4.1.8 for the client CA)?"""
    check = control.get("check") or {}
    if control.get("component") != "files" or "owner" not in check:
        return False
    rendered = audit.rendered_check(control, {"layout": layout.as_dict(), "etcd_data_dir": values["etcd_data_dir"]})
    patterns = rendered["file"] if isinstance(rendered["file"], list) else [rendered["file"]]
    return any(p == layout.pki_dir or p.startswith(layout.pki_dir.rstrip("/") + "/") for p in patterns)


def plan(values: Mapping[str, Any], layout: Layout, state: Mapping[str, Any],
         controls: Optional[Sequence[Mapping[str, Any]]] = None) -> Dict[str, Any]:
    """The guarded settings of every component of a node, and what was kept or waived."""
    controls = list(controls if controls is not None else catalogue.controls())
    result: Dict[str, Any] = {"settings": {}, "kept": [], "waived": {}}
    for component in PLANNED_COMPONENTS:
        one = plan_component(values, layout, state, component, controls)
        result["settings"][component] = one["settings"]
        result["kept"] += one["kept"]
        result["waived"].update(one["waived"])
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
