"""The cluster's own objects, hardened per namespace: Pod Security labels (from what runs, never
stricter unless asked), default-deny ingress NetworkPolicies with the allowances a working cluster needs,
and the default ServiceAccount's token automount off where nothing relies on it.

`plan` turns what the API holds into each namespace's changes (nothing written); the module applies
them one namespace at a time (save, apply, health gate, restore on failure). `restore_actions` is what
rollback.yml does with the saved objects.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import pod_security
from .pod_security import LABEL, LEVELS

MANAGER = "kubeguard.hardening"
MANAGED_LABELS = {"app.kubernetes.io/managed-by": MANAGER}
MODES = ("enforce", "audit", "warn")
DENY_INGRESS = "kubeguard-default-deny-ingress"
ALLOW_INGRESS = "kubeguard-allow-ingress"
EGRESS = "kubeguard-egress"
NAME_LABEL = "kubernetes.io/metadata.name"
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
SERVER_FIELDS = ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "selfLink")
ABSENT = "kubeguard-absent"   # a saved object that did not exist before: rollback deletes it


@dataclass
class Settings:
    pod_security_labels: str = "soak"            # off | soak (audit + warn) | enforce (all three)
    version: str = "latest"                      # the policy version judged and written to -version labels
    namespace_levels: Mapping[str, str] = field(default_factory=dict)   # the user's own level per namespace
    exempt_namespaces: Sequence[str] = ()        # kube_pod_security_exemptions_namespaces: never labeled
    cluster_defaults: Mapping[str, str] = field(default_factory=dict)   # mode -> level of the admission config
    network_policies: bool = False
    network_policy_exempt_namespaces: Sequence[str] = ()
    ingress_from_namespaces: Sequence[str] = ()  # scrapers, ingress controllers: may reach every pod
    ingress_from_nodes: bool = True              # kubelet probes, apiserver webhooks (host network)
    metadata_addresses: Sequence[str] = ()       # denied to pods; empty: no egress policy
    dns_namespace: str = "kube-system"
    dns_pod_labels: Mapping[str, str] = field(default_factory=lambda: {"k8s-app": "kube-dns"})
    nodelocaldns_ip: Optional[str] = None
    default_service_account_token: bool = True   # False: automount off on each namespace's default SA


@dataclass
class Change:
    namespace: str
    kind: str
    name: str
    before: Optional[Dict[str, Any]]   # the object as it is (None: absent)
    apply: Dict[str, Any]              # what we apply (server-side, our fields only)
    after: Dict[str, Any]              # before with our fields (for the diff)
    why: str

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.namespace + '/' if self.kind != 'Namespace' else ''}{self.name}"


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _rank(level: Optional[str]) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def _stricter(*levels: Optional[str]) -> Optional[str]:
    known = [lvl for lvl in levels if lvl in LEVELS]
    return max(known, key=LEVELS.index) if known else None


# --- Pod Security labels --------------------------------------------------------------------------------

def pod_security_labels(name: str, labels: Mapping[str, str], advised: str, settings: Settings,
                        no_enforce: Sequence[str] = ()) -> Tuple[Dict[str, str], List[str]]:
    """The namespace's Pod Security labels to set, and notes. Never stricter than what runs (the advised
    level) unless the user names a level for the namespace; never weaker than what the namespace (or the
    cluster default where it has no label) already has: we leave that as it is and say so. No enforce where
    the advisor cannot tell what will run (no_enforce: its reasons) - audit and warn still go on."""
    notes: List[str] = []
    if settings.pod_security_labels == "off" or name in settings.exempt_namespaces:
        return {}, notes
    version = settings.version
    modes = MODES if settings.pod_security_labels == "enforce" else ("audit", "warn")
    wanted: Dict[str, str] = {}
    user = settings.namespace_levels.get(name)
    for mode in modes:
        current, current_version = labels.get(LABEL + mode), labels.get(LABEL + mode + "-version")
        effective = current if current in LEVELS else settings.cluster_defaults.get(mode)
        if user:
            level = user
            if mode == "enforce" and _rank(user) > _rank(advised):
                notes.append(f"{name}: enforce {user} as you asked, stricter than what runs ({advised}): "
                             "pods like the ones that run are refused when they are re-created")
            elif _rank(user) < _rank(effective):
                notes.append(f"{name}: {mode} {user} as you asked, weaker than {effective} before")
            if mode == "enforce" and no_enforce:
                notes.append(f"{name}: enforce {user} as you asked, though {'; '.join(no_enforce)}")
        elif mode == "enforce" and (no_enforce or _rank(effective) > _rank(advised)):
            # something already enforces more than what runs passes: not ours to loosen, nor to tighten
            # (the cluster default's case is said below, in every mode)
            if current in LEVELS and _rank(current) > _rank(advised):
                notes.append(f"{name}: keeps enforce {effective}, stricter than what runs ({advised})")
            if no_enforce:
                # what will run here cannot be told from what runs: an enforce label could refuse it
                notes.append(f"{name}: enforce not written - {'; '.join(no_enforce)} (audit and warn are set)")
            continue
        else:
            # audit and warn never below what is there (or the cluster default): they refuse nothing
            level = _stricter(advised, effective) or advised
        if current == level:
            if current_version is None:   # unpinned follows the apiserver's latest: pin what was judged
                wanted[LABEL + mode + "-version"] = version
            continue
        wanted[LABEL + mode] = level
        wanted[LABEL + mode + "-version"] = version
    default = settings.cluster_defaults.get("enforce")
    if LABEL + "enforce" not in wanted and labels.get(LABEL + "enforce") not in LEVELS and _rank(default) > _rank(advised):
        # no enforce label before or after the run: the cluster default admits this namespace's pods
        notes.append(f"{name}: what runs passes only {advised}, weaker than the cluster default (enforce {default}): "
                     "pods like them are refused when they are re-created - name a level in "
                     "kubeguard_pod_security_namespace_levels or exempt the namespace")
    return {k: v for k, v in wanted.items() if labels.get(k) != v}, notes


# --- NetworkPolicies --------------------------------------------------------------------------------------

def _cidr(address: str) -> str:
    network = ipaddress.ip_network(address, strict=False)
    return str(network)


def node_cidrs(objects: Sequence[Mapping[str, Any]]) -> List[str]:
    """Each node's internal addresses as /32 (/128): the source of kubelet probes and of the apiserver's
    calls to webhooks in pods (host network)."""
    found = set()
    for obj in objects:
        if obj.get("kind") != "Node":
            continue
        for address in (obj.get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP":
                try:
                    found.add(_cidr(str(address.get("address"))))
                except ValueError:
                    continue
    return sorted(found, key=lambda c: (ipaddress.ip_network(c).version, ipaddress.ip_network(c)))


def _policy(namespace: str, name: str, spec: Dict[str, Any]) -> Dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_LABELS)}, "spec": spec}


def network_policies(namespace: str, settings: Settings, nodes: Sequence[str]) -> List[Dict[str, Any]]:
    """Our NetworkPolicies for one namespace."""
    ingress_from: List[Dict[str, Any]] = [{"podSelector": {}}]
    if settings.ingress_from_namespaces:
        ingress_from.append({"namespaceSelector": {"matchExpressions": [
            {"key": NAME_LABEL, "operator": "In", "values": sorted(set(settings.ingress_from_namespaces))}]}})
    if settings.ingress_from_nodes:
        ingress_from += [{"ipBlock": {"cidr": cidr}} for cidr in nodes]
    policies = [
        _policy(namespace, DENY_INGRESS, {"podSelector": {}, "policyTypes": ["Ingress"]}),
        _policy(namespace, ALLOW_INGRESS, {"podSelector": {}, "policyTypes": ["Ingress"],
                                           "ingress": [{"from": ingress_from}]}),
    ]
    if settings.metadata_addresses:
        dns_ports = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
        metadata = [_cidr(a) for a in settings.metadata_addresses]
        open_v4 = {"cidr": "0.0.0.0/0"}
        open_v6 = {"cidr": "::/0"}
        v4 = sorted(c for c in metadata if ipaddress.ip_network(c).version == 4)
        v6 = sorted(c for c in metadata if ipaddress.ip_network(c).version == 6)
        if v4:
            open_v4["except"] = v4
        if v6:
            open_v6["except"] = v6
        egress = [
            # every pod of the cluster stays reachable (CNIs differ on whether ipBlock matches pods)
            {"to": [{"namespaceSelector": {}}]},
            {"to": [{"ipBlock": open_v4}, {"ipBlock": open_v6}]},
            {"to": [{"namespaceSelector": {"matchLabels": {NAME_LABEL: settings.dns_namespace}},
                     "podSelector": {"matchLabels": dict(settings.dns_pod_labels)}}], "ports": dns_ports},
        ]
        if settings.nodelocaldns_ip:
            # NodeLocal DNS listens on the host network: only an address can name it
            egress.append({"to": [{"ipBlock": {"cidr": _cidr(settings.nodelocaldns_ip)}}], "ports": dns_ports})
        policies.append(_policy(namespace, EGRESS, {"podSelector": {}, "policyTypes": ["Egress"], "egress": egress}))
    return policies


# --- the default ServiceAccount ---------------------------------------------------------------------------

def _uses_default_token(spec: Mapping[str, Any], running: bool) -> bool:
    if (spec.get("serviceAccountName") or spec.get("serviceAccount") or "default") != "default":
        return False
    if running:
        # a running pod holds the token if one of its containers mounts it
        return any(m.get("mountPath") == TOKEN_PATH for owner in ("initContainers", "containers")
                   for c in spec.get(owner) or [] for m in c.get("volumeMounts") or [])
    return spec.get("automountServiceAccountToken") is not False


def default_token_users(objects: Sequence[Mapping[str, Any]], namespace: str) -> List[str]:
    """Pods and workload templates of the namespace that run (or would run) with the default SA's token."""
    users = []
    for obj in objects:
        if _meta(obj).get("namespace") != namespace:
            continue
        template = pod_security.pod_template(obj)
        if template is None or pod_security.is_owned_copy(obj):
            continue
        running = obj.get("kind") == "Pod"
        if running and (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        if _uses_default_token(template[1], running):
            users.append(f"{obj.get('kind')}/{_meta(obj).get('name')}")
    return users


# --- the plan ---------------------------------------------------------------------------------------------

def _server_copy(obj: Mapping[str, Any]) -> Dict[str, Any]:
    """An object as saved and compared: without what the server maintains."""
    result = copy.deepcopy(dict(obj))
    meta = {k: v for k, v in (result.get("metadata") or {}).items() if k not in SERVER_FIELDS}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k != "kubectl.kubernetes.io/last-applied-configuration"}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    result["metadata"] = meta
    result.pop("status", None)
    return result


def plan(objects: Sequence[Mapping[str, Any]], settings: Settings) -> Dict[str, Any]:
    """{changes: [Change], notes: [str], skipped_service_accounts: {ns: [users]}} for the cluster."""
    version = pod_security.parse_version(settings.version)
    advice = pod_security.advise(objects, version)
    namespaces = {_meta(o).get("name"): o for o in objects if o.get("kind") == "Namespace"}
    existing = {(o.get("kind"), _meta(o).get("namespace"), _meta(o).get("name")): o for o in objects
                if o.get("kind") in ("NetworkPolicy", "ServiceAccount")}
    nodes = node_cidrs(objects)
    changes: List[Change] = []
    notes: List[str] = [f"kubeguard_pod_security_namespace_levels names {name}, which "
                        + ("is exempt (kube_pod_security_exemptions_namespaces): not labelled" if name in namespaces
                           else "does not exist (yet): nothing to label")
                        for name in sorted(settings.namespace_levels)
                        if name not in namespaces or name in settings.exempt_namespaces]
    skipped: Dict[str, List[str]] = {}
    for name in sorted(namespaces):
        namespace = namespaces[name]
        if (namespace.get("status") or {}).get("phase") == "Terminating":
            continue
        labels = _meta(namespace).get("labels") or {}
        advised = (advice.get(name) or {}).get("level", "restricted")
        wanted, label_notes = pod_security_labels(name, labels, advised, settings, (advice.get(name) or {}).get("no_enforce") or ())
        if settings.pod_security_labels != "off" and name not in settings.exempt_namespaces:
            # an older revision or a running Job that holds the namespace back: said where the level is written
            label_notes = [f"{name}: {note}" for note in (advice.get(name) or {}).get("notes") or []] + label_notes
        notes += label_notes
        if wanted:
            after = _server_copy(namespace)
            after["metadata"]["labels"] = dict(labels, **wanted)
            changes.append(Change(name, "Namespace", name, _server_copy(namespace),
                                  # server-side apply drops labels this manager set before and leaves out now:
                                  # every Pod Security label goes in, the ones not changed as they are
                                  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(
                                      {k: v for k, v in labels.items() if k.startswith(LABEL)}, **wanted)}},
                                  after, "Pod Security " + ", ".join(f"{k[len(LABEL):]}={v}" for k, v in wanted.items()
                                                                     if not k.endswith("-version"))
                                  or "Pod Security versions pinned"))
        if settings.network_policies and name not in settings.network_policy_exempt_namespaces:
            for policy in network_policies(name, settings, nodes):
                current = existing.get(("NetworkPolicy", name, policy["metadata"]["name"]))
                if current is not None and current.get("spec") == policy["spec"] \
                        and MANAGED_LABELS.items() <= (_meta(current).get("labels") or {}).items():
                    continue
                after = _server_copy(current) if current else copy.deepcopy(policy)
                after["spec"] = policy["spec"]
                after.setdefault("metadata", {}).setdefault("labels", {}).update(MANAGED_LABELS)
                changes.append(Change(name, "NetworkPolicy", policy["metadata"]["name"],
                                      _server_copy(current) if current else None, policy, after,
                                      "created" if current is None else "brought back to ours"))
        if not settings.default_service_account_token:
            account = existing.get(("ServiceAccount", name, "default"))
            if account is not None and account.get("automountServiceAccountToken") is not False:
                users = default_token_users(objects, name)
                if users:
                    skipped[name] = users
                    notes.append(f"{name}: default ServiceAccount keeps its token - used by {', '.join(users[:5])}"
                                 + (f" (+{len(users) - 5} more)" if len(users) > 5 else ""))
                else:
                    after = _server_copy(account)
                    after["automountServiceAccountToken"] = False
                    changes.append(Change(name, "ServiceAccount", "default", _server_copy(account),
                                          {"apiVersion": "v1", "kind": "ServiceAccount",
                                           "metadata": {"name": "default", "namespace": name},
                                           "automountServiceAccountToken": False},
                                          after, "token automount off (nothing here uses it)"))
    return {"changes": changes, "notes": notes, "skipped_service_accounts": skipped, "advice": advice}


def by_namespace(changes: Sequence[Change]) -> Dict[str, List[Change]]:
    grouped: Dict[str, List[Change]] = {}
    for change in changes:
        grouped.setdefault(change.namespace, []).append(change)
    return grouped


def saved_name(change: Change) -> str:
    """The backup file of an object (in the backup set's .cluster-objects)."""
    return f"{change.namespace}.{change.kind.lower()}.{change.name}.json"


def saved_content(change: Change) -> Dict[str, Any]:
    if change.before is not None:
        return change.before
    return {"apiVersion": change.apply["apiVersion"], "kind": change.kind,
            "metadata": {"name": change.name, "namespace": change.namespace, "annotations": {ABSENT: "true"}}}


def diff(change: Change) -> Dict[str, str]:
    def text(obj: Optional[Mapping[str, Any]]) -> str:
        return "" if obj is None else json.dumps(obj, indent=2, sort_keys=True) + "\n"
    return {"before_header": change.key + (" (absent)" if change.before is None else ""), "after_header": change.key,
            "before": text(change.before), "after": text(change.after)}


# --- health gate and restore --------------------------------------------------------------------------------

def pod_restarts(objects: Sequence[Mapping[str, Any]]) -> Dict[str, Tuple[str, int]]:
    """uid -> (namespace/name, restarts of all containers) of the pods that run."""
    result = {}
    for obj in objects:
        if obj.get("kind") != "Pod" or (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        statuses = (obj.get("status") or {}).get("containerStatuses") or []
        result[_meta(obj).get("uid")] = (f"{_meta(obj).get('namespace')}/{_meta(obj).get('name')}",
                                         sum(int(s.get("restartCount") or 0) for s in statuses))
    return result


def health_problems(before: Mapping[str, Tuple[str, int]], after_objects: Sequence[Mapping[str, Any]]) -> List[str]:
    """What went wrong with the pods that ran before: gone (evicted, deleted) or restarted."""
    after = {_meta(o).get("uid"): o for o in after_objects if o.get("kind") == "Pod"}
    problems = []
    for uid, (name, restarts) in before.items():
        pod = after.get(uid)
        if pod is None:
            problems.append(f"{name} is gone")
            continue
        if (pod.get("status") or {}).get("phase") == "Succeeded":
            continue
        now = pod_restarts([pod]).get(uid, (name, restarts))[1]
        if now > restarts:
            problems.append(f"{name} restarted ({restarts} -> {now} restarts)")
        if _meta(pod).get("deletionTimestamp"):
            problems.append(f"{name} is being deleted")
    return problems


def restore(kubectl: Any, saved: Mapping[str, Any]) -> str:
    """Put one saved object back with kubectl (kube_api.Kubectl); says what was done."""
    meta = _meta(saved)
    kind, namespace, name = saved.get("kind"), meta.get("namespace"), meta.get("name")
    action, obj = restore_action(saved, kubectl.exists(kind, namespace, name))
    if action == "delete":
        kubectl.delete(kind, namespace, name)
    elif action == "replace":
        kubectl.replace(obj)
    else:
        kubectl.create(obj)
    return f"{action} {kind}/{(namespace + '/') if namespace else ''}{name}"


def object_name(saved: Mapping[str, Any]) -> str:
    """Kind/namespace/name (Kind/name for cluster-scoped objects): how a rollback names an object."""
    meta = _meta(saved)
    return f"{saved.get('kind')}/{(meta.get('namespace') + '/') if meta.get('namespace') else ''}{meta.get('name')}"


def guarded_restore_action(saved: Mapping[str, Any], left: Optional[Mapping[str, Any]],
                           current: Optional[Mapping[str, Any]], forced: bool = False) -> Tuple[str, Optional[Dict[str, Any]], str]:
    """(action, object, why) putting a saved object back only while it is what the run left it as
    (left: {uid, resourceVersion} or {absent: true}); otherwise ("skip", None, what changed since). A
    replace carries the recorded resourceVersion: a change in between makes the server refuse it."""
    if forced:
        action, obj = restore_action(saved, current is not None)
        return action, obj, "forced by name"
    if left is None:
        return "skip", None, "no record of what the run left it as: cannot tell whether it changed since (force it by name)"
    if left.get("absent"):
        if current is not None:
            return "skip", None, "created again since the run deleted it (force it by name)"
    else:
        if current is None:
            return "skip", None, "deleted since the run (force it by name)"
        meta = _meta(current)
        # an object with a spec (a DaemonSet) counts as unchanged while its generation is: its status moves on its own
        by_generation = left.get("generation") is not None
        field = "generation" if by_generation else "resourceVersion"
        if meta.get("uid") != left.get("uid") or meta.get(field) != left.get(field):
            return "skip", None, (f"changed since the run ({field} {left.get(field)} ->"
                                  f" {meta.get(field)}): not overwritten (force it by name)")
    action, obj = restore_action(saved, current is not None)
    if action == "replace" and obj is not None:
        # the server refuses the replace if anything changed in between
        version = _meta(current).get("resourceVersion") if left.get("generation") is not None else left.get("resourceVersion")
        obj.setdefault("metadata", {})["resourceVersion"] = version
    if action == "delete" and current is None:
        return "skip", None, "already absent"
    return action, obj, "unchanged since the run"


def restore_action(saved: Mapping[str, Any], exists: bool) -> Tuple[str, Optional[Dict[str, Any]]]:
    """What puts a saved object back: ("delete", None) for one we created, ("replace"|"create", object)."""
    annotations = _meta(saved).get("annotations") or {}
    if annotations.get(ABSENT) == "true":
        return "delete", None
    obj = _server_copy(saved)
    return ("replace" if exists else "create"), obj
