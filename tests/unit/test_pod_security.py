"""The Pod Security Standards in Python: every corpus spec gets the level the apiserver gives it (the
live scenario proves the same corpus against PodSecurity admission), and the advisor names what runs."""

from __future__ import annotations

import copy
import os

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils import pod_security as ps

CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "pod-security", "corpus.yaml")


def corpus():
    with open(CORPUS, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def as_evaluated(case):
    """The pod the apiserver judges: an ephemeral case is the base pod with the container added."""
    spec = copy.deepcopy(case["spec"])
    if case.get("ephemeral"):
        spec["ephemeralContainers"] = [case["ephemeral"]]
    return case.get("metadata") or {}, spec


def test_the_corpus_covers_every_check_passing_and_failing():
    cases = corpus()
    assert len(cases) >= 40 and len({c["name"] for c in cases}) == len(cases)
    failing = {v.check for c in cases for v in ps.violations(*as_evaluated(c), "restricted")}
    every = {"hostProcess", "hostNamespaces", "privileged", "capabilities_baseline", "hostPathVolumes", "hostPorts",
             "hostProbesAndHostLifecycle", "appArmorProfile", "seLinuxOptions", "procMount", "seccompProfile_baseline",
             "sysctls", "restrictedVolumes", "allowPrivilegeEscalation", "runAsNonRoot", "runAsUser",
             "seccompProfile_restricted", "capabilities_restricted"}
    # at restricted, the baseline seccomp and capabilities checks are replaced by the restricted ones
    assert failing >= every - {"seccompProfile_baseline", "capabilities_baseline"}, every - failing
    assert {v.check for c in cases for v in ps.violations(*as_evaluated(c), "baseline")} >= \
        {"seccompProfile_baseline", "capabilities_baseline"}
    assert {c["expected"] for c in cases} == set(ps.LEVELS)
    assert any(c.get("ephemeral") for c in cases) and any("initContainers" in c["spec"] for c in cases)
    assert any((c["spec"].get("os") or {}).get("name") == "windows" for c in cases)


@pytest.mark.parametrize("case", corpus(), ids=lambda c: c["name"])
def test_each_spec_gets_its_level(case):
    metadata, spec = as_evaluated(case)
    assert ps.strictest_level(metadata, spec) == case["expected"], [v.text() for v in ps.violations(metadata, spec)]


def test_violations_name_container_field_and_value():
    spec = {"containers": [{"name": "web", "image": "x", "securityContext": {"privileged": True}}],
            "initContainers": [{"name": "setup", "image": "x", "ports": [{"containerPort": 1, "hostPort": 53}]}]}
    found = {v.text() for v in ps.violations({}, spec, "baseline")}
    assert found == {"privileged: container web securityContext.privileged=true",
                     "hostPorts: container setup ports[].hostPort=53"}


def test_versions_change_what_is_allowed():
    sysctl = {"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1 2 3"}]}, "containers": []}
    assert ps.strictest_level({}, sysctl, ps.parse_version("v1.31")) == "privileged"     # safe from v1.32
    assert ps.strictest_level({}, sysctl, ps.parse_version("latest")) != "privileged"
    probe = {"containers": [{"name": "a", "readinessProbe": {"tcpSocket": {"host": "1.2.3.4", "port": 1}}}]}
    assert not ps.violations({}, probe, "baseline", ps.parse_version("v1.33"))            # checked from v1.34
    assert ps.violations({}, probe, "baseline", ps.parse_version("v1.34"))
    assert ps.parse_version("v1.99") == ps.LATEST
    for bad in ("v1.24", "1.30", "v1.30\n", "latest "):
        with pytest.raises(ValueError):
            ps.parse_version(bad)


def test_the_advisor_judges_running_pods_and_every_template():
    restricted = corpus()[0]["spec"]
    host_path = copy.deepcopy(restricted)
    host_path["volumes"] = [{"name": "h", "hostPath": {"path": "/var/log"}}]
    baseline = copy.deepcopy(restricted)
    baseline["containers"][0]["securityContext"].pop("capabilities")
    objects = [
        {"kind": "Namespace", "metadata": {"name": "empty"}},
        {"kind": "Pod", "metadata": {"name": "ok", "namespace": "shop"}, "spec": restricted},
        {"kind": "Deployment", "metadata": {"name": "logs", "namespace": "shop"},
         "spec": {"replicas": 0, "template": {"spec": host_path}}},        # scaled to zero: still counts
        {"kind": "CronJob", "metadata": {"name": "report", "namespace": "batch"},
         "spec": {"jobTemplate": {"spec": {"template": {"spec": baseline}}}}},   # has not run yet
        {"kind": "ConfigMap", "metadata": {"name": "x", "namespace": "batch"}},
    ]
    advice = ps.advise(objects)
    assert advice["empty"] == {"level": "restricted", "workloads": {}, "blocking": []}
    assert advice["shop"]["level"] == "privileged"
    assert advice["shop"]["workloads"] == {"Pod/ok": "restricted", "Deployment/logs": "privileged"}
    assert advice["shop"]["blocking"] == [{"check": "hostPathVolumes", "level": "baseline", "where": "pod",
                                           "field": "volumes[h].hostPath", "value": "/var/log", "workload": "Deployment/logs"}]
    assert advice["batch"]["level"] == "baseline"
    assert [b["check"] for b in advice["batch"]["blocking"]] == ["capabilities_restricted"]


def test_odd_input_is_judged_not_crashed_on():
    assert ps.strictest_level({}, {}) == "restricted"
    assert ps.strictest_level(None, {"containers": [None, "x", {"name": "a", "securityContext": {"allowPrivilegeEscalation": False,
                                                                                                 "capabilities": {"drop": ["ALL"]}}}],
                                     "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}}) == "restricted"
    with pytest.raises(ValueError, match="level 'strict'"):
        ps.violations({}, {}, "strict")


def test_labels_and_findings_beside_the_advice():
    restricted = corpus()[0]["spec"]
    privileged = copy.deepcopy(restricted)
    privileged["hostNetwork"] = True
    objects = [{"kind": "Pod", "metadata": {"name": "a", "namespace": "strict"}, "spec": privileged},
               {"kind": "Pod", "metadata": {"name": "b", "namespace": "loose"}, "spec": restricted},
               {"kind": "Pod", "metadata": {"name": "c", "namespace": "kube-system"}, "spec": privileged}]
    namespaces = [{"kind": "Namespace", "metadata": {"name": "strict", "labels": {ps.LABEL + "enforce": "restricted"}}},
                  {"kind": "Namespace", "metadata": {"name": "loose", "labels": {ps.LABEL + "enforce": "baseline",
                                                                                 ps.LABEL + "warn": "restricted"}}},
                  {"kind": "Namespace", "metadata": {"name": "kube-system"}}]
    advice = ps.with_labels(ps.advise(objects + namespaces), namespaces, ["kube-system"])
    assert advice["strict"]["finding"].startswith("enforces restricted, stricter than what runs")
    assert advice["loose"]["finding"] == "enforces baseline; everything here passes restricted"
    assert advice["loose"]["labels"] == {"enforce": "baseline", "audit": None, "warn": "restricted"}
    assert advice["kube-system"]["exempt"] and "exempt" in advice["kube-system"]["finding"]
    text = ps.markdown(advice, "latest")
    assert "| strict | privileged | restricted |" in text and "- Pod/a pod: hostNetwork=true (hostNamespaces)" in text
    assert ps.summary_lines(advice)[0].startswith("kube-system: passes privileged (1 workloads)")


def test_a_deployments_replicaset_and_a_cronjobs_job_are_told_once_by_their_owner():
    host_path = {"volumes": [{"name": "v", "hostPath": {"path": "/var/log"}}], "containers": [{"name": "c"}]}

    def owned(kind, owner):
        return {"kind": kind, "metadata": {"name": f"{owner.lower()}-1", "namespace": "ns", "ownerReferences": [
            {"kind": owner, "name": "x", "controller": True}]}, "spec": {"template": {"spec": host_path}}}
    objects = [{"kind": "Namespace", "metadata": {"name": "ns"}},
               {"kind": "Deployment", "metadata": {"name": "zero", "namespace": "ns"}, "spec": {"template": {"spec": host_path}}},
               owned("ReplicaSet", "Deployment"), owned("Job", "CronJob"),
               dict(owned("ReplicaSet", "Deployment"), metadata={"name": "orphan", "namespace": "ns"})]
    advice = ps.advise(objects)["ns"]
    assert advice["workloads"] == {"Deployment/zero": "privileged", "ReplicaSet/orphan": "privileged"}
    assert [b["workload"] for b in advice["blocking"]] == ["Deployment/zero", "ReplicaSet/orphan"]
