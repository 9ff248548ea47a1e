"""CIS 5.2 judged from the running pods (as kube-bench's policies audits do) and the namespaces' labels."""

from __future__ import annotations

from ansible_collections.kubeguard.hardening.plugins.module_utils import catalogue, cluster_audit, pod_security

RESTRICTED_SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def pod(namespace, name, spec, phase="Running"):
    return {"kind": "Pod", "metadata": {"namespace": namespace, "name": name}, "spec": spec, "status": {"phase": phase}}


def results_of(objects, default_enforce="restricted", labels=None):
    namespaces = [{"kind": "Namespace", "metadata": {"name": ns, "labels": lab}} for ns, lab in (labels or {}).items()]
    advice = pod_security.with_labels(pod_security.advise(objects + namespaces), namespaces, ["kube-system"])
    controls = [c for c in catalogue.controls() if str(c["id"]).startswith("5.2.")]
    return {r["id"]: r for r in cluster_audit.section_5_2(objects, advice, controls, default_enforce)}


def test_a_cluster_of_restricted_pods_passes_every_5_2_control():
    spec = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "image": "x", "securityContext": RESTRICTED_SC}]}
    results = results_of([pod("shop", "web", spec)])
    assert set(results) == {f"5.2.{n}" for n in range(1, 13)}
    assert all(r["check_passed"] and r["status"] == "manual" for r in results.values()), results
    assert results["5.2.2"]["title"] == "Minimize the admission of privileged containers"
    assert results["5.2.5"]["found"] == "none of 1 running pods"


def test_offending_pods_are_named_per_control():
    apiserver = pod("kube-system", "kube-apiserver-cp1", {"hostNetwork": True, "containers": [{"name": "kube-apiserver"}]})
    tools = pod("ops", "debug", {"hostPID": True, "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
                                 "containers": [{"name": "sh", "securityContext": {"privileged": True, "allowPrivilegeEscalation": True,
                                                                                   "capabilities": {"add": ["NET_ADMIN"]}},
                                                 "ports": [{"containerPort": 1, "hostPort": 9100}]}]})
    done = pod("ops", "finished", {"hostIPC": True, "containers": [{"name": "x"}]}, phase="Succeeded")
    results = results_of([apiserver, tools, done], labels={"ops": {"pod-security.kubernetes.io/enforce": "privileged"}})
    assert results["5.2.1"]["found"] == "namespaces with workloads enforcing privileged: ops" and not results["5.2.1"]["check_passed"]
    assert results["5.2.2"]["found"] == "ops/debug container sh: privileged"
    assert results["5.2.3"]["found"] == "ops/debug: hostPID"
    assert results["5.2.4"]["check_passed"]                   # the pod that finished does not run
    assert results["5.2.5"]["found"] == "kube-system/kube-apiserver-cp1: hostNetwork"
    assert results["5.2.6"]["found"] == "ops/debug container sh: allowPrivilegeEscalation=true"
    assert "ops/debug container sh: securityContext.capabilities.add=NET_ADMIN" in results["5.2.9"]["found"]
    assert results["5.2.11"]["found"] == "ops/debug pod: volumes[h].hostPath=/"
    assert results["5.2.12"]["found"] == "ops/debug container sh: ports[].hostPort=9100"
    lines = cluster_audit.summary_lines(list(results.values()))
    assert "CIS 5.2.3 FAIL (manual control): ops/debug: hostPID" in lines
    assert "| 5.2.11 |" in cluster_audit.markdown(list(results.values()))


def test_unlabelled_namespaces_follow_the_cluster_default():
    spec = {"containers": [{"name": "a"}]}
    assert results_of([pod("shop", "a", spec)], default_enforce="baseline")["5.2.1"]["check_passed"]
    assert not results_of([pod("shop", "a", spec)], default_enforce="privileged")["5.2.1"]["check_passed"]
    # exempt namespaces (kube-system) are the user's choice, not a finding
    assert results_of([pod("kube-system", "a", spec)], default_enforce="privileged")["5.2.1"]["check_passed"]
