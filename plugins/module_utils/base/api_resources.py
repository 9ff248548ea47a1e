"""The built-in API resources kube-apiserver stores in etcd, per API group and release, to judge the
resource names of an EncryptionConfiguration (``kube_encryption_resources``).

kube-apiserver matches those names literally (``schema.ParseGroupResource``): ``secret`` or ``Secrets``
matches nothing, so Secrets stay in plain text while the config looks right. The table lists what
Kubernetes' own etcd storage test (test/integration/etcd/data.go) lists as persisted, with the minor
release that first served it (alpha included: a cluster may enable it) and, for removed ones, the
release that removed it. Resources of other groups (custom resources, aggregated APIs) are not known
here: their names are judged by form only (plural, lowercase, ``<resource>.<group with a dot>``).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Dict, Iterable, List, Optional, Tuple

# group -> {resource: (first minor release that serves it, minor release that removed it or None)}
ANY: Tuple[int, Optional[int]] = (0, None)
BUILT_IN: Dict[str, Dict[str, Tuple[int, Optional[int]]]] = {
    "": {name: ANY for name in (
        "configmaps", "endpoints", "events", "limitranges", "namespaces", "nodes", "persistentvolumeclaims",
        "persistentvolumes", "pods", "podtemplates", "replicationcontrollers", "resourcequotas", "secrets",
        "serviceaccounts", "services")},
    "admissionregistration.k8s.io": {
        "mutatingwebhookconfigurations": ANY, "validatingwebhookconfigurations": ANY,
        "validatingadmissionpolicies": (26, None), "validatingadmissionpolicybindings": (26, None),
        "mutatingadmissionpolicies": (32, None), "mutatingadmissionpolicybindings": (32, None)},
    "apiextensions.k8s.io": {"customresourcedefinitions": ANY},
    "apiregistration.k8s.io": {"apiservices": ANY},
    "apps": {name: ANY for name in ("controllerrevisions", "daemonsets", "deployments", "replicasets", "statefulsets")},
    "autoscaling": {"horizontalpodautoscalers": ANY},
    "batch": {"cronjobs": ANY, "jobs": ANY},
    "certificates.k8s.io": {"certificatesigningrequests": ANY, "clustertrustbundles": (27, None),
                            "podcertificaterequests": (34, None)},
    "coordination.k8s.io": {"leases": ANY, "leasecandidates": (31, None)},
    "discovery.k8s.io": {"endpointslices": ANY},
    "flowcontrol.apiserver.k8s.io": {"flowschemas": ANY, "prioritylevelconfigurations": ANY},
    "internal.apiserver.k8s.io": {"storageversions": ANY},
    "networking.k8s.io": {"ingressclasses": ANY, "ingresses": ANY, "networkpolicies": ANY,
                          "clustercidrs": (25, 29), "ipaddresses": (27, None), "servicecidrs": (29, None)},
    "node.k8s.io": {"runtimeclasses": ANY},
    "policy": {"poddisruptionbudgets": ANY, "podsecuritypolicies": (0, 25)},
    "rbac.authorization.k8s.io": {name: ANY for name in ("clusterrolebindings", "clusterroles", "rolebindings", "roles")},
    "resource.k8s.io": {"resourceclaims": (26, None), "resourceclaimtemplates": (26, None), "resourceclasses": (26, None),
                        "podschedulingcontexts": (27, None), "resourceslices": (30, None), "resourceclaimparameters": (30, None),
                        "resourceclassparameters": (30, None), "deviceclasses": (31, None), "devicetaintrules": (33, None)},
    "scheduling.k8s.io": {"priorityclasses": ANY},
    "storage.k8s.io": {"csidrivers": ANY, "csinodes": ANY, "csistoragecapacities": ANY, "storageclasses": ANY,
                       "volumeattachments": ANY, "volumeattributesclasses": (29, None)},
    "storagemigration.k8s.io": {"storageversionmigrations": (30, None)},
}
# Names kube-apiserver itself refuses in an encryption config (apiserver/validation/validation_encryption.go).
REFUSED_GROUPS = {"events.k8s.io": "events.k8s.io objects are stored as core events: use 'events'",
                  "extensions": "the extensions group was removed and cannot be encrypted"}
NOT_REST = ("apiserveripinfo", "serviceipallocations", "servicenodeportallocations")
_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)
_GROUP_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+", re.ASCII)
EXAMPLES = "secrets, configmaps, deployments.apps, foos.example.com"


def repeated_items(items: Iterable[object]) -> List[object]:
    """The items given more than once, sorted by their text (linear: a hostile list may hold 100,000)."""
    return sorted((item for item, count in Counter(items).items() if count > 1), key=str)


def served(group: str, resource: str, minor: int) -> bool:
    """Is group/resource a built-in resource of release 1.<minor>?"""
    since, removed = BUILT_IN.get(group, {}).get(resource, (None, None))
    return since is not None and since <= minor and (removed is None or minor < removed)


def _plural_of(name: str, group: str, minor: int) -> Optional[str]:
    """The served plural a singular or Kind-cased name stands for ('Secret', 'secret' -> 'secrets')."""
    lower = name.lower()
    for candidate in (lower, lower + "s", lower + "es", lower[:-1] + "ies" if lower.endswith("y") else ""):
        if candidate and served(group, candidate, minor):
            return candidate
    return None


def problem(name: object, minor: int) -> Optional[str]:
    """Why name is not a resource kube-apiserver 1.<minor> encrypts under that name (None: it is one)."""
    if not isinstance(name, str) or not name:
        return f"{name!r} is not a resource name"
    resource, dot, group = name.partition(".")
    if "*" in name:
        return (f"{name!r} is a wildcard: stored objects are rewritten per resource with kubectl get, which cannot"
                " read one; list the resources")
    shown_group = f".{group}" if group else ""
    plural = _plural_of(resource, group, minor)
    if plural and plural != resource:
        if resource != resource.lower():
            return f"{name!r} has capital letters, which kube-apiserver refuses; use {plural + shown_group!r}"
        return (f"{name!r} is singular: kube-apiserver matches resource names exactly, so it would encrypt nothing;"
                f" use {plural + shown_group!r}")
    if group in REFUSED_GROUPS:
        return f"{name!r}: {REFUSED_GROUPS[group]}"
    if resource in NOT_REST and not group:
        return f"{name!r} has no REST API and cannot be encrypted"
    if dot and not group:
        return f"{name!r} ends in a dot; write {resource!r} for the core group"
    if group in BUILT_IN:
        if served(group, resource, minor):
            return None
        known = sorted(r for r in BUILT_IN[group] if served(group, r, minor))
        where = f"the {group} group" if group else "the core group"
        return f"{name!r} is not a resource of {where} in v1.{minor} (it has: {', '.join(r + shown_group for r in known)})"
    if not _NAME_RE.fullmatch(resource) or not _GROUP_RE.fullmatch(group):
        return f"{name!r} is not a resource name (lowercase plural, then .<API group> outside the core group)"
    return None


def problems(names: List[object], minor: int) -> List[str]:
    """Every name that is not a resource of release 1.<minor>, and names given twice (kube-apiserver refuses them)."""
    found = [p for p in (problem(name, minor) for name in names) if p]
    twice = repeated_items(n for n in names if isinstance(n, str))
    if twice:
        found.append(f"{', '.join(repr(n) for n in twice[:5])}{' ...' if len(twice) > 5 else ''} given more than once"
                     " (kube-apiserver refuses a repeated resource)")
    return found
