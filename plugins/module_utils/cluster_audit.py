"""CIS section 5.2 (Pod Security Standards) judged from the API's real state, once per cluster.

5.2.2-5.2.6 are judged as kube-bench judges them (every running pod's containers: privileged, host
PID / IPC / network, allowPrivilegeEscalation set to true); the benchmark calls them manual, so they are
reported as manual with the verdict (check_passed) and the pods found. 5.2.7-5.2.12 are reported with
the evidence the Pod Security advisor finds in running pods. 5.2.1 (a policy control mechanism in
every namespace with workloads) is judged from the namespaces' enforce labels and the cluster default.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from . import pod_security
from .pod_security import _sc

Pod = Mapping[str, Any]


def _name(pod: Pod) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


def _containers(pod: Pod) -> List[Mapping[str, Any]]:
    return [c for c in (pod.get("spec") or {}).get("containers") or [] if isinstance(c, Mapping)]


# kube-bench's audits (cis-1.12 policies.yaml): the offending pods (containers) of each control
KUBE_BENCH_STYLE: Dict[str, Callable[[Pod], List[str]]] = {
    "5.2.2": lambda pod: [f"{_name(pod)} container {c.get('name')}: privileged" for c in _containers(pod)
                          if _sc(c).get("privileged") is True],
    "5.2.3": lambda pod: [f"{_name(pod)}: hostPID"] if (pod.get("spec") or {}).get("hostPID") is True else [],
    "5.2.4": lambda pod: [f"{_name(pod)}: hostIPC"] if (pod.get("spec") or {}).get("hostIPC") is True else [],
    "5.2.5": lambda pod: [f"{_name(pod)}: hostNetwork"] if (pod.get("spec") or {}).get("hostNetwork") is True else [],
    "5.2.6": lambda pod: [f"{_name(pod)} container {c.get('name')}: allowPrivilegeEscalation=true" for c in _containers(pod)
                          if _sc(c).get("allowPrivilegeEscalation") is True],
}
# the advisor's checks that are evidence for the remaining manual controls
EVIDENCE_CHECKS: Dict[str, Sequence[str]] = {
    "5.2.7": ("runAsNonRoot", "runAsUser"),
    "5.2.8": ("capabilities_restricted",),          # NET_RAW stays unless ALL is dropped
    "5.2.9": ("capabilities_restricted",),          # capabilities added (field capabilities.add)
    "5.2.10": ("hostProcess",),
    "5.2.11": ("hostPathVolumes",),
    "5.2.12": ("hostPorts",),
}
EVIDENCE_FIELD = {"5.2.8": "securityContext.capabilities.drop", "5.2.9": "securityContext.capabilities.add"}


def _show(items: List[str], limit: int = 10) -> str:
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return "; ".join(items[:limit]) + more


def section_5_2(objects: Sequence[Mapping[str, Any]], advice: Mapping[str, Mapping[str, Any]],
                catalogue_controls: Sequence[Mapping[str, Any]], default_enforce: Optional[str]) -> List[Dict[str, Any]]:
    """Results for 5.2.x: {id, title, status (manual), check_passed, found}."""
    titles = {str(c["id"]): c["title"] for c in catalogue_controls}
    pods = [o for o in objects if o.get("kind") == "Pod"
            and ((o.get("status") or {}).get("phase") in (None, "Pending", "Running"))]
    results = []
    unguarded = [name for name, entry in advice.items() if entry.get("workloads") and not entry.get("exempt")
                 and (entry.get("labels") or {}).get("enforce") in (None, "privileged")
                 and not ((entry.get("labels") or {}).get("enforce") is None and default_enforce in ("baseline", "restricted"))]
    results.append({"id": "5.2.1", "check_passed": not unguarded,
                    "found": ("every namespace with workloads enforces baseline or restricted (labels or the cluster default "
                              f"{default_enforce or 'privileged'})") if not unguarded else
                             f"namespaces with workloads enforcing privileged: {_show(unguarded)}"})
    for cid, offenders in KUBE_BENCH_STYLE.items():
        found = [line for pod in pods for line in offenders(pod)]
        results.append({"id": cid, "check_passed": not found,
                        "found": _show(found) if found else f"none of {len(pods)} running pods"})
    for cid, checks in EVIDENCE_CHECKS.items():
        found = []
        for pod in pods:
            meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
            found += [f"{_name(pod)} {v.where}: {v.field}={v.value}" for v in pod_security.violations(meta, spec, "restricted")
                      if v.check in checks and EVIDENCE_FIELD.get(cid, v.field) == v.field]
        found = sorted(set(found))
        results.append({"id": cid, "check_passed": not found,
                        "found": _show(found) if found else f"none of {len(pods)} running pods"})
    for result in results:
        result.update(title=titles.get(result["id"], ""), status="manual")
    return results


def summary_lines(results: Sequence[Mapping[str, Any]]) -> List[str]:
    return [f"CIS {r['id']} {'pass' if r['check_passed'] else 'FAIL'} (manual control): {r['found']}" for r in results]


def markdown(results: Sequence[Mapping[str, Any]]) -> str:
    lines = ["", "## CIS 5.2 from the running pods", "",
             "Manual controls in the benchmark; the verdict is what the running pods and namespace labels show.", "",
             "| control | title | verdict | found |", "|---|---|---|---|"]
    lines += [f"| {r['id']} | {r['title']} | {'pass' if r['check_passed'] else 'fail'} | {r['found']} |" for r in results]
    return "\n".join(lines) + "\n"
