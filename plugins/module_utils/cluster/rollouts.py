"""A DaemonSet's pods replaced and healthy: what every writer of one (kube_proxy_config's rollout,
cluster_restore's rollback of kube-proxy's) waits for before it says done and the next step runs (promise 1).

Done means the controller saw the new template (observedGeneration), every node runs a pod of it and each is
available, and no container of the DaemonSet restarted since the restart counts taken before the write (nor for
`settle` seconds after the rollout looked done: a pod that crashes at start is Running for a moment first). A
kubectl call that fails meanwhile (the apiserver restarting) is "not yet", until the deadline. Clock and sleep are
passed in for the tests."""

from __future__ import annotations

import datetime
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ..base.component_names import APISERVER
from .kube_api import Kubectl, KubectlError

WORKLOAD_KINDS = ("DaemonSet",)   # the workloads we write or put back
LIMITS = {"timeout": (1, 86400), "settle": (0, 600)}   # the rollout doc fragment's ranges, in seconds
# the rollout doc fragment's options, for the argument_spec of every module that waits
ROLLOUT_OPTIONS = {"timeout": {"type": "int", "default": 300}, "settle": {"type": "int", "default": 5}}
APISERVER_NAMESPACE = "kube-system"   # where kubeadm and kubespray run the apiserver's static pods
# A kubelet's ConfigMap cache is a watch: while it reconnects after an apiserver restart it still hands a new pod
# the copy it had. client-go's reflectors back off 30 s at most, so this long after the last apiserver started
# every kubelet watches again.
WATCHES_BACK = 35


def apiserver_age(pods: List[Mapping[str, Any]], now: datetime.datetime) -> Optional[float]:
    """Seconds since the youngest running kube-apiserver container started (kube-system pods labelled
    component=kube-apiserver, as kubeadm and kubespray run it); None: none is seen (not a static pod)."""
    ages = []
    for pod in pods:
        if ((pod.get("metadata") or {}).get("labels") or {}).get("component") != APISERVER:
            continue
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            started = (((status.get("state") or {}).get("running") or {}).get("startedAt")) or ""
            try:
                at = datetime.datetime.fromisoformat(str(started).replace("Z", "+00:00"))
            except ValueError:
                continue
            if at.tzinfo is not None:
                ages.append((now - at).total_seconds())
    return min(ages) if ages else None


def until_watches_are_back(kubectl: Kubectl, sleep: Callable[[float], None] = time.sleep,
                           now: Optional[datetime.datetime] = None) -> float:
    """Wait, before pods that read a ConfigMap start again, until every kubelet can be watching again since the
    last apiserver restart (WATCHES_BACK); returns the seconds waited (0 when it is long up, or unseen)."""
    age = apiserver_age(kubectl.get("pods", APISERVER_NAMESPACE), now or datetime.datetime.now(datetime.timezone.utc))
    if age is None or age >= WATCHES_BACK:
        return 0.0
    waited = WATCHES_BACK - max(age, 0.0)
    sleep(waited)
    return waited


def options_problem(params: Mapping[str, Any]) -> Optional[str]:
    """Why the timeout or settle given is no number of seconds we wait (None: both are)."""
    for name, (least, most) in LIMITS.items():
        if not least <= params[name] <= most:
            return f"{name}: {params[name]} - seconds from {least} to {most}"
    return None


def rollout_done(daemonset: Mapping[str, Any]) -> Tuple[bool, str]:
    """Has the DaemonSet rolled its template out to every node, each pod available?"""
    meta, status = daemonset.get("metadata") or {}, daemonset.get("status") or {}
    observed = int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0)
    wanted = int(status.get("desiredNumberScheduled") or 0)
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    done = observed and updated == wanted and available == wanted
    return done, f"{updated}/{wanted} updated, {available}/{wanted} available"


def owned_pods(pods: List[Mapping[str, Any]], name: str) -> List[Mapping[str, Any]]:
    """The DaemonSet's own pods (its name in their ownerReferences)."""
    return [pod for pod in pods if any(ref.get("kind") == "DaemonSet" and ref.get("name") == name
                                       for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])]


def restarts(pods: List[Mapping[str, Any]]) -> Dict[str, int]:
    """{pod name: restart count} of these pods."""
    return {str((p.get("metadata") or {}).get("name")): sum(int(c.get("restartCount") or 0)
                                                            for c in (p.get("status") or {}).get("containerStatuses") or [])
            for p in pods}


def baseline(kubectl: Kubectl, namespace: Optional[str], name: str) -> Dict[str, int]:
    """The DaemonSet's restart counts before a write (a pod that appears later starts from 0)."""
    return restarts(owned_pods(kubectl.get("pods", namespace), name))


def wait(kubectl: Kubectl, namespace: Optional[str], name: str, timeout: int, settle: int,
         before: Optional[Mapping[str, int]] = None,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> Tuple[bool, str]:
    """(healthy, what was seen): the rollout finished and no container of the DaemonSet restarted since `before`
    (its baseline from before the write; read now when not given)."""
    def state() -> Tuple[bool, str]:
        current = kubectl.get_one("daemonset", namespace, name)
        return rollout_done(current) if current else (False, f"DaemonSet {name} is gone")

    deadline, seen = clock() + timeout, "not read"
    try:
        before = dict(before) if before is not None else baseline(kubectl, namespace, name)
    except KubectlError as exc:
        before, seen = {}, f"kubectl: {exc}"
    while True:
        try:
            done, seen = state()
            if done:
                sleep(settle)
                crashed = sorted(pod for pod, count in baseline(kubectl, namespace, name).items() if count > before.get(pod, 0))
                if crashed:
                    return False, f"{seen}; restarting: {', '.join(crashed)}"
                done, seen = state()
                if done:
                    return True, seen
        except KubectlError as exc:   # the apiserver restarting: not yet
            seen = f"kubectl: {exc}"
        if clock() >= deadline:
            return False, f"not rolled out within {timeout}s ({seen})"
        sleep(min(3, max(settle, 1)))
