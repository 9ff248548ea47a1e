"""A workload's pods replaced and healthy: what every writer of a DaemonSet or Deployment (kube_proxy_config's
rollout, cluster_restore's rollback) waits for before it says done and the next step runs (promise 1).

Done means the controller saw the new template (observedGeneration), every pod runs it and is available, no
pod of the old template is left, and no container of the workload restarted while we watched (nor for `settle`
seconds after: a pod that crashes at start is Running for a moment first). Clock and sleep are passed in for
the tests."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from .kube_api import Kubectl

WORKLOAD_KINDS = ("DaemonSet", "Deployment")
LIMITS = {"timeout": 86400, "settle": 600}   # the rollout doc fragment's ranges, in seconds


def options_problem(params: Mapping[str, Any]) -> Optional[str]:
    """Why the timeout or settle given is no number of seconds we wait (None: both are)."""
    for name, most in LIMITS.items():
        if not 0 <= params[name] <= most:
            return f"{name}: {params[name]} - seconds from 0 to {most}"
    return None


def rollout_done(obj: Mapping[str, Any]) -> Tuple[bool, str]:
    """Has the DaemonSet or Deployment rolled its template out to every pod, each available?"""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    observed = int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0)
    if obj.get("kind") == "Deployment":
        wanted = int(spec.get("replicas", 1) or 0)
        updated = int(status.get("updatedReplicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        old = int(status.get("replicas") or 0) - updated   # pods of an older template still there
    else:
        wanted = int(status.get("desiredNumberScheduled") or 0)
        updated = int(status.get("updatedNumberScheduled") or 0)
        available = int(status.get("numberAvailable") or 0)
        old = 0   # a node holds one daemon pod: updated on every node leaves none of the old template
    done = observed and updated == wanted and available == wanted and old <= 0
    return done, f"{updated}/{wanted} updated, {available}/{wanted} available"


def owned_pods(pods: List[Mapping[str, Any]], kind: str, name: str) -> List[Mapping[str, Any]]:
    """The workload's pods: a DaemonSet owns them itself, a Deployment through its ReplicaSets (<name>-<hash>)."""
    def owned(pod: Mapping[str, Any]) -> bool:
        for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
            if kind == "Deployment" and ref.get("kind") == "ReplicaSet" and str(ref.get("name", "")).startswith(name + "-"):
                return True
            if ref.get("kind") == kind and ref.get("name") == name:
                return True
        return False
    return [pod for pod in pods if owned(pod)]


def restarts(pods: List[Mapping[str, Any]]) -> Dict[str, int]:
    """{pod name: restart count} of these pods."""
    return {str((p.get("metadata") or {}).get("name")): sum(int(c.get("restartCount") or 0)
                                                            for c in (p.get("status") or {}).get("containerStatuses") or [])
            for p in pods}


def wait(kubectl: Kubectl, kind: str, namespace: Optional[str], name: str, timeout: int, settle: int,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> Tuple[bool, str]:
    """(healthy, what was seen): the rollout finished and no container of the workload restarted meanwhile."""
    def pods() -> Dict[str, int]:
        return restarts(owned_pods(kubectl.get("pods", namespace), kind, name))

    def state() -> Tuple[bool, str]:
        current = kubectl.get_one(kind.lower(), namespace, name)
        return rollout_done(current) if current else (False, f"{kind} {name} is gone")

    before = pods()
    deadline, seen = clock() + timeout, "not read"
    while clock() < deadline:
        done, seen = state()
        if done:
            sleep(settle)
            now = pods()
            crashed = sorted(pod for pod, count in now.items() if count > before.get(pod, 0))
            if crashed:
                return False, f"{seen}; restarting: {', '.join(crashed)}"
            done, seen = state()
            if done:
                return True, seen
        sleep(min(3, max(settle, 1)))
    return False, f"not rolled out within {timeout}s ({seen})"
