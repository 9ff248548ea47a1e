"""The Pod Security Standards in Python: every corpus spec gets the level the apiserver gives it (the
live scenario proves the same corpus against PodSecurity admission), and the advisor names what runs."""

from __future__ import annotations

import copy
import os

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import pod_security as ps

CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "pod-security", "corpus.yaml")
# the policy the corpus's expectations are the apiserver's answers at (molecule/live/pod-security.yml: `latest` of the
# pinned release, v1.34); what v1.35 changes is tested below from the policy's source
CORPUS_VERSION = (1, 34)


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
    failing = {v.check for c in cases for v in ps.violations(*as_evaluated(c), "restricted", CORPUS_VERSION)}
    every = {"hostProcess", "hostNamespaces", "privileged", "capabilities_baseline", "hostPathVolumes", "hostPorts",
             "hostProbesAndHostLifecycle", "appArmorProfile", "seLinuxOptions", "procMount", "seccompProfile_baseline",
             "sysctls", "restrictedVolumes", "allowPrivilegeEscalation", "runAsNonRoot", "runAsUser",
             "seccompProfile_restricted", "capabilities_restricted"}
    # at restricted, the baseline seccomp and capabilities checks are replaced by the restricted ones
    assert failing >= every - {"seccompProfile_baseline", "capabilities_baseline"}, every - failing
    assert {v.check for c in cases for v in ps.violations(*as_evaluated(c), "baseline", CORPUS_VERSION)} >= \
        {"seccompProfile_baseline", "capabilities_baseline"}
    assert {c["expected"] for c in cases} == set(ps.LEVELS)
    assert any(c.get("ephemeral") for c in cases) and any("initContainers" in c["spec"] for c in cases)
    assert any((c["spec"].get("os") or {}).get("name") == "windows" for c in cases)


@pytest.mark.parametrize("case", corpus(), ids=lambda c: c["name"])
def test_each_spec_gets_its_level(case):
    metadata, spec = as_evaluated(case)
    assert ps.strictest_level(metadata, spec, CORPUS_VERSION) == case["expected"], [
        v.text() for v in ps.violations(metadata, spec, "restricted", CORPUS_VERSION)]


@pytest.mark.parametrize("case", [c for c in corpus() if c.get("expected_from")], ids=lambda c: c["name"])
def test_specs_whose_level_moves_with_the_policy_version_get_the_later_one(case):
    """What the corpus records from a later policy version (expected_from) is ours at that version too (the live
    upgrade chain asks each release's apiserver the same)."""
    import importlib.util
    tool_path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools", "pod_security_agreement.py")
    loader = importlib.util.spec_from_file_location("pod_security_agreement", tool_path)
    tool = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(tool)
    recorded = tool.recorded
    metadata, spec = as_evaluated(case)
    for since in case["expected_from"]:
        version = ps.parse_version(since)
        assert ps.strictest_level(metadata, spec, version) == recorded(case, version) != case["expected"]


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


def test_from_v1_35_a_pod_in_its_own_user_namespace_may_run_as_root_and_unmask_proc_at_baseline_only():
    """k8s.io/pod-security-admission v0.35: runAsNonRoot, runAsUser and baseline's procMount allow hostUsers: false
    pods from policy v1.35; restricted keeps the /proc masks for every pod (procMount_restricted); v1.36 adds none."""
    hardened = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    root = {"hostUsers": False, "containers": [{"name": "a", "image": "x", "securityContext": dict(hardened, runAsUser=0)}]}
    v134, v135 = ps.parse_version("v1.34"), ps.parse_version("v1.35")
    assert {v.check for v in ps.violations({}, root, "restricted", v134)} == {"runAsNonRoot", "runAsUser"}
    assert ps.violations({}, root, "restricted", v135) == [] and ps.strictest_level({}, root, v135) == "restricted"
    assert ps.strictest_level({}, dict(root, hostUsers=True), v135) == "baseline"      # only hostUsers: false relaxes
    unmasked = {"hostUsers": False, "containers": [{"name": "a", "image": "x", "securityContext": {"procMount": "Unmasked"}}]}
    assert ps.strictest_level({}, unmasked, v134) == "privileged"
    assert ps.strictest_level({}, unmasked, v135) == "baseline"
    assert [v.text() for v in ps.violations({}, unmasked, "restricted", v135) if "procMount" in v.check] == [
        "procMount_restricted: container a securityContext.procMount=Unmasked"]
    on_node = dict(unmasked, hostUsers=True)
    assert [v.check for v in ps.violations({}, on_node, "baseline", v135)] == ["procMount"]
    assert [v.check for v in ps.violations({}, on_node, "restricted", v135) if "procMount" in v.check] == ["procMount_restricted"]
    assert [v.check for v in ps.violations({}, on_node, "restricted", v134) if "procMount" in v.check] == ["procMount"]
    assert ps.parse_version("v1.36") == ps.LATEST == (1, 35)


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
    assert advice["empty"] == {"level": "restricted", "workloads": {}, "blocking": [], "notes": [],
                               "no_enforce": ["no workloads: nothing here shows what pods will run"]}
    assert advice["shop"]["no_enforce"] == [] and advice["batch"]["no_enforce"] == []
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


# --- the advisor: copies, pods that ended, what it cannot see -------------------------------------------------

RESTRICTED = corpus()[0]["spec"]
PRIVILEGED = copy.deepcopy(RESTRICTED)
PRIVILEGED["containers"][0]["securityContext"]["privileged"] = True
BASELINE = copy.deepcopy(RESTRICTED)
BASELINE["containers"][0]["securityContext"].pop("capabilities")     # default capabilities: baseline, not restricted


def ref(kind, name, controller=True):
    return {"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": f"uid-{name}", "controller": controller}


def deployment(name, spec, namespace="ns"):
    return {"kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def replica_set(name, owner, spec, replicas=1, namespace="ns"):
    # as the Deployment controller copies the template: its pod-template-hash label added
    return {"kind": "ReplicaSet", "metadata": {"name": name, "namespace": namespace, "ownerReferences": [ref("Deployment", owner)]},
            "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": owner, "pod-template-hash": name[-5:]}},
                                                        "spec": spec}}}


def pod(name, spec, owner=None, phase="Running", namespace="ns", **metadata):
    return {"kind": "Pod", "metadata": dict({"name": name, "namespace": namespace, "ownerReferences": [owner] if owner else []},
                                            **metadata), "spec": spec, "status": {"phase": phase}}


def cron_job(name, spec, namespace="ns"):
    return {"kind": "CronJob", "metadata": {"name": name, "namespace": namespace},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": spec}}}}}


def job(name, owner, spec, conditions=(), namespace="ns"):
    labels = {"batch.kubernetes.io/controller-uid": "u1", "batch.kubernetes.io/job-name": name, "controller-uid": "u1", "job-name": name}
    return {"kind": "Job", "metadata": {"name": name, "namespace": namespace, "ownerReferences": [ref("CronJob", owner)] if owner else []},
            "spec": {"template": {"metadata": {"labels": labels}, "spec": spec}}, "status": {"conditions": list(conditions)}}


def test_a_rollback_target_replicaset_counts_under_its_deployment():
    """The Deployment is restricted now; its previous ReplicaSet (scaled to 0: the kubectl rollout undo
    target) is privileged. Enforcing restricted would refuse the undo: the namespace is privileged, told
    under the Deployment's name, and the older revision is named."""
    objects = [{"kind": "Namespace", "metadata": {"name": "ns"}}, deployment("web", RESTRICTED),
               replica_set("web-7c9f4", "web", RESTRICTED), replica_set("web-5d8b2", "web", PRIVILEGED, replicas=0),
               pod("web-7c9f4-abcde", RESTRICTED, ref("ReplicaSet", "web-7c9f4"))]
    advice = ps.advise(objects)["ns"]
    assert advice["level"] == "privileged"
    assert advice["workloads"] == {"Deployment/web": "privileged"}
    assert advice["blocking"] == [{"check": "privileged", "level": "baseline", "where": "container app", "field": "securityContext.privileged",
                                   "value": "true", "workload": "Deployment/web", "from": "ReplicaSet/web-5d8b2"}]
    assert len(advice["notes"]) == 1 and advice["notes"][0].startswith("Deployment/web: its template passes restricted, ReplicaSet/web-5d8b2")
    assert "kubectl rollout undo" in advice["notes"][0] and advice["no_enforce"] == []
    text = ps.markdown(ps.with_labels(ps.advise(objects), [objects[0]]), "v1.34")
    assert "- Deployment/web (ReplicaSet/web-5d8b2) container app: securityContext.privileged=true (privileged)" in text
    assert "## ns: notes" in text


def test_an_in_flight_job_of_a_cronjob_counts_under_the_cronjob():
    objects = [cron_job("nightly", RESTRICTED), job("nightly-290001", "nightly", BASELINE),
               pod("nightly-290001-x", BASELINE, ref("Job", "nightly-290001")),
               # a Job that finished runs nothing more, whatever its template
               job("nightly-289999", "nightly", PRIVILEGED, conditions=[{"type": "Complete", "status": "True"}])]
    advice = ps.advise(objects)["ns"]
    assert advice["level"] == "baseline" and advice["workloads"] == {"CronJob/nightly": "baseline"}
    assert {b["from"] for b in advice["blocking"]} == {"Job/nightly-290001"}       # the pod adds nothing the Job did not
    assert len(advice["blocking"]) == len({(b["check"], b["where"], b["field"]) for b in advice["blocking"]})
    assert advice["notes"] == ["CronJob/nightly: its template passes restricted, Job/nightly-290001 "
                               "(a Job still running from another jobTemplate) only baseline - counted"]


def test_copies_with_the_owners_template_and_its_pods_are_told_once():
    """One Deployment with two pods: one workload, its blocking lines once (not once per pod)."""
    objects = [deployment("web", BASELINE), replica_set("web-7c9f4", "web", BASELINE),
               pod("web-7c9f4-a", BASELINE, ref("ReplicaSet", "web-7c9f4")), pod("web-7c9f4-b", BASELINE, ref("ReplicaSet", "web-7c9f4")),
               cron_job("nightly", BASELINE), job("nightly-1", "nightly", BASELINE)]
    advice = ps.advise(objects)["ns"]
    assert advice["workloads"] == {"Deployment/web": "baseline", "CronJob/nightly": "baseline"}
    alone = ps.advise([deployment("web", BASELINE)])["ns"]["blocking"]
    assert [b for b in advice["blocking"] if b["workload"] == "Deployment/web"] == [dict(b) for b in alone]
    assert not any("from" in b for b in advice["blocking"]) and advice["notes"] == []
    # a pod a webhook changed (an injected container asking NET_ADMIN): counted, told under the Deployment, and said
    mutated = copy.deepcopy(RESTRICTED)
    mutated["initContainers"] = [{"name": "istio-init", "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}}}]
    advice = ps.advise([deployment("web", RESTRICTED), pod("web-1-a", mutated, ref("ReplicaSet", "web-1")),
                        replica_set("web-1", "web", RESTRICTED)])["ns"]
    assert advice["workloads"] == {"Deployment/web": "privileged"} and {b["from"] for b in advice["blocking"]} == {"Pod/web-1-a"}
    assert "Pod/web-1-a (running, weaker than any template of it: changed by a mutating webhook?) only privileged" in advice["notes"][0]
    # an owner not listed (being collected): its copy is told under the owner's name
    orphan = ps.advise([replica_set("gone-12345", "gone", PRIVILEGED)])["ns"]
    assert orphan["workloads"] == {"Deployment/gone": "privileged"}


def test_pods_that_ended_do_not_count():
    objects = [{"kind": "Namespace", "metadata": {"name": "ns"}}, pod("ok", RESTRICTED),
               pod("done", PRIVILEGED, phase="Succeeded"), pod("crashed", PRIVILEGED, phase="Failed"),
               pod("starting", BASELINE, phase="Pending")]
    advice = ps.advise(objects)["ns"]
    assert advice["workloads"] == {"Pod/ok": "restricted", "Pod/starting": "baseline"} and advice["level"] == "baseline"
    # only pods that ended: nothing here shows what will run
    ended = ps.advise([{"kind": "Namespace", "metadata": {"name": "ns"}}, pod("done", PRIVILEGED, phase="Succeeded")])["ns"]
    assert ended["workloads"] == {} and ended["no_enforce"] == ["no workloads: nothing here shows what pods will run"]


def test_pods_of_a_controller_the_advisor_does_not_read_hold_enforce_back():
    workflow = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "name": "build-7", "controller": True}
    objects = [{"kind": "Namespace", "metadata": {"name": "ci"}}, pod("build-7-step", RESTRICTED, workflow, namespace="ci"),
               pod("build-7-next", RESTRICTED, workflow, namespace="ci"),
               # a ReplicaSet of an Argo Rollout: the Rollout writes the templates
               replica_set("canary-abcde", "canary", RESTRICTED, namespace="ci")]
    objects[-1]["metadata"]["ownerReferences"] = [{"kind": "Rollout", "name": "canary", "controller": True}]
    advice = ps.advise(objects)["ci"]
    assert advice["level"] == "restricted" and advice["workloads"] == {"Workflow/build-7": "restricted", "Rollout/canary": "restricted"}
    assert len(advice["no_enforce"]) == 1 and advice["no_enforce"][0].startswith("pods made by Rollout/canary, Workflow/build-7, of a kind")
    # a static pod's mirror (owned by its Node) is a pod the advisor reads
    mirror = pod("etcd-cp1", RESTRICTED, {"kind": "Node", "name": "cp1", "controller": True})
    assert ps.advise([mirror])["ns"] == {"level": "restricted", "workloads": {"Pod/etcd-cp1": "restricted"}, "blocking": [],
                                         "notes": [], "no_enforce": []}


@pytest.mark.parametrize("namespace_meta, objects, shown", [
    ({"labels": {"istio-injection": "enabled"}}, [], "namespace label istio-injection=enabled"),
    ({"labels": {"istio.io/rev": "1-24"}}, [], "namespace label istio.io/rev=1-24"),
    ({"annotations": {"linkerd.io/inject": "enabled"}}, [], "namespace annotation linkerd.io/inject=enabled"),
    ({}, [pod("p", RESTRICTED, annotations={"sidecar.istio.io/inject": "true"})], "Pod/p annotation sidecar.istio.io/inject=true"),
    ({}, [pod("p", RESTRICTED, annotations={"linkerd.io/inject": "enabled"})], "Pod/p annotation linkerd.io/inject=enabled"),
    ({}, [{"kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"}, "spec": {"template": {
        "metadata": {"labels": {"sidecar.istio.io/inject": "true"}}, "spec": RESTRICTED}}}],
     "Deployment/web label sidecar.istio.io/inject=true"),
])
def test_sidecar_injection_holds_enforce_back(namespace_meta, objects, shown):
    namespace = {"kind": "Namespace", "metadata": dict({"name": "ns"}, **namespace_meta)}
    advice = ps.advise([namespace, pod("app", RESTRICTED)] + objects)["ns"]
    assert advice["level"] == "restricted"
    assert len(advice["no_enforce"]) == 1 and advice["no_enforce"][0].startswith("sidecar injection (")
    assert shown in advice["no_enforce"][0] and "NET_ADMIN" in advice["no_enforce"][0]


def test_sidecar_opt_outs_do_not_hold_enforce_back():
    namespace = {"kind": "Namespace", "metadata": {"name": "ns", "labels": {"istio-injection": "disabled"},
                                                   "annotations": {"linkerd.io/inject": "disabled"}}}
    objects = [namespace, pod("app", RESTRICTED, annotations={"sidecar.istio.io/inject": "false"})]
    assert ps.advise(objects)["ns"]["no_enforce"] == []


def test_the_cluster_default_is_compared_where_a_namespace_has_no_enforce_label():
    objects = [{"kind": "Namespace", "metadata": {"name": "ns"}}, pod("app", BASELINE)]
    weaker = ps.with_labels(ps.advise(objects), objects[:1], cluster_default="restricted")["ns"]
    assert weaker["cluster_default"] == "restricted"
    assert weaker["finding"] == ("no enforce label: the cluster default enforces restricted, stricter than what runs "
                                 "(passes only baseline): new pods like them are refused")
    same = ps.with_labels(ps.advise(objects), objects[:1], cluster_default="baseline")["ns"]
    assert same["finding"] == "no enforce label (the cluster default baseline applies); everything here passes baseline"
    assert ps.with_labels(ps.advise(objects), objects[:1])["ns"]["finding"].startswith("no enforce label (the cluster default applies)")
    empty = ps.with_labels(ps.advise(objects[:1]), objects[:1])
    assert ps.summary_lines(empty) == ["ns: passes restricted (0 workloads) - no enforce label (the cluster default applies); "
                                       "everything here passes restricted; enforce not advised - no workloads: nothing here "
                                       "shows what pods will run"]


def test_the_live_scenarios_workloads_keep_their_levels():
    """molecule/live/cluster-scope.yml asserts these: the Deployment at zero (with the ReplicaSet its
    controller makes, same template) told once as privileged, the suspended CronJob as baseline."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "molecule", "live", "files", "cluster-scope-workloads.yaml")
    with open(path, encoding="utf-8") as handle:
        objects = [o for o in yaml.safe_load_all(handle) if o]
    zero = next(o for o in objects if o["kind"] == "Deployment")
    objects.append(replica_set("zero-6b7c5", "zero", zero["spec"]["template"]["spec"], replicas=0, namespace="kg-zero"))
    for obj in objects:
        obj.setdefault("status", {"phase": "Running"} if obj["kind"] == "Pod" else {})
    advice = ps.advise(objects)
    assert {ns: advice[ns]["level"] for ns in ("kg-priv", "kg-base", "kg-restr", "kg-zero", "kg-cron")} == {
        "kg-priv": "privileged", "kg-base": "baseline", "kg-restr": "restricted", "kg-zero": "privileged", "kg-cron": "baseline"}
    assert advice["kg-zero"]["workloads"] == {"Deployment/zero": "privileged"} and advice["kg-zero"]["notes"] == []
    assert "hostPathVolumes" in [b["check"] for b in advice["kg-zero"]["blocking"]]
    assert advice["kg-cron"]["workloads"] == {"CronJob/nightly": "baseline"}
    assert all(advice[ns]["no_enforce"] == [] for ns in ("kg-priv", "kg-base", "kg-restr", "kg-zero", "kg-cron"))
