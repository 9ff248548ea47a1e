"""The cluster scope's plan: Pod Security labels never stricter than what runs (unless asked) and never
weaker than what is there, NetworkPolicies with the allowances a cluster needs, the default SA only where
nothing uses its token, the health gate's judgement, and a plan that is empty once applied."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import cluster_policy as cp

L = "pod-security.kubernetes.io/"


def labels_for(labels, advised, **settings):
    return cp.pod_security_labels("ns", labels, advised, cp.Settings(version="v1.33", **settings))


def test_soak_labels_audit_and_warn_only_and_enforce_adds_enforce():
    wanted, notes = labels_for({}, "baseline")
    assert wanted == {L + "audit": "baseline", L + "audit-version": "v1.33", L + "warn": "baseline",
                      L + "warn-version": "v1.33"} and notes == []
    wanted, _ignored = labels_for({}, "baseline", pod_security_labels="enforce")
    assert wanted[L + "enforce"] == "baseline" and wanted[L + "enforce-version"] == "v1.33"
    assert labels_for({}, "baseline", pod_security_labels="off") == ({}, [])
    assert labels_for({}, "baseline", exempt_namespaces=["ns"]) == ({}, [])


def test_never_weaker_than_the_label_or_the_cluster_default():
    # audit and warn refuse nothing: the cluster default (restricted) stays, even where only baseline runs
    wanted, _ignored = labels_for({}, "baseline", cluster_defaults={"audit": "restricted", "warn": "restricted"})
    assert wanted[L + "audit"] == "restricted" and wanted[L + "warn"] == "restricted"
    # an enforce label stricter than what runs is kept as it is, and said
    wanted, notes = labels_for({L + "enforce": "restricted"}, "privileged", pod_security_labels="enforce")
    assert L + "enforce" not in wanted and notes == ["ns: keeps enforce restricted, stricter than what runs (privileged)"]
    # a weaker enforce label is raised to what runs
    wanted, _ignored = labels_for({L + "enforce": "privileged"}, "restricted", pod_security_labels="enforce")
    assert wanted[L + "enforce"] == "restricted"


def test_your_own_level_wins_and_is_said():
    wanted, notes = labels_for({}, "privileged", pod_security_labels="enforce", namespace_levels={"ns": "restricted"})
    assert wanted[L + "enforce"] == "restricted" and "stricter than what runs (privileged)" in notes[0]
    wanted, notes = labels_for({L + "audit": "restricted"}, "restricted", namespace_levels={"ns": "baseline"})
    assert wanted[L + "audit"] == "baseline" and notes == ["ns: audit baseline as you asked, weaker than restricted before"]


def test_a_level_already_there_is_pinned_not_rewritten():
    assert labels_for({L + "audit": "baseline", L + "audit-version": "v1.30", L + "warn": "baseline",
                       L + "warn-version": "v1.30"}, "baseline") == ({}, [])
    wanted, _ignored = labels_for({L + "audit": "baseline", L + "warn": "baseline", L + "warn-version": "v1.33"}, "baseline")
    assert wanted == {L + "audit-version": "v1.33"}


def test_network_policies_allow_what_a_cluster_needs_and_deny_the_metadata_address():
    settings = cp.Settings(ingress_from_namespaces=["monitoring", "ingress-nginx"],
                           metadata_addresses=["169.254.169.254", "fd00:ec2::254/128"], nodelocaldns_ip="169.254.25.10")
    deny, allow, egress = cp.network_policies("shop", settings, ["10.0.0.1/32"])
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    sources = allow["spec"]["ingress"][0]["from"]
    assert sources[0] == {"podSelector": {}} and {"ipBlock": {"cidr": "10.0.0.1/32"}} in sources
    assert sources[1]["namespaceSelector"]["matchExpressions"][0]["values"] == ["ingress-nginx", "monitoring"]
    rules = egress["spec"]["egress"]
    assert rules[1]["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}},
                              {"ipBlock": {"cidr": "::/0", "except": ["fd00:ec2::254/128"]}}]
    assert rules[2]["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert rules[3] == {"to": [{"ipBlock": {"cidr": "169.254.25.10/32"}}],
                        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    # no metadata addresses: no egress policy at all (egress stays as the CNI has it)
    assert len(cp.network_policies("shop", cp.Settings(), [])) == 2
    assert cp.network_policies("shop", cp.Settings(ingress_from_nodes=False), ["10.0.0.1/32"])[1]["spec"]["ingress"][0]["from"] \
        == [{"podSelector": {}}]


def _pod(name, spec, phase="Running", restarts=0, namespace="ns"):
    return {"kind": "Pod", "metadata": {"name": name, "namespace": namespace, "uid": name}, "spec": spec,
            "status": {"phase": phase, "containerStatuses": [{"restartCount": restarts}]}}


def test_who_uses_the_default_service_accounts_token():
    mounted = {"containers": [{"name": "c", "volumeMounts": [{"mountPath": cp.TOKEN_PATH, "name": "t"}]}]}
    cron = {"kind": "CronJob", "metadata": {"name": "nightly", "namespace": "ns"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}}}
    objects = [_pod("uses", mounted), _pod("own-sa", dict(mounted, serviceAccountName="app")),
               _pod("no-token", {"containers": [{"name": "c"}]}), _pod("done", mounted, phase="Succeeded"), cron,
               {"kind": "Deployment", "metadata": {"name": "quiet", "namespace": "ns"},
                "spec": {"template": {"spec": {"automountServiceAccountToken": False, "containers": [{"name": "c"}]}}}}]
    assert cp.default_token_users(objects, "ns") == ["Pod/uses", "CronJob/nightly"]
    assert cp.default_token_users(objects, "other") == []


def test_the_health_gate_sees_pods_gone_restarted_or_being_deleted():
    before = cp.pod_restarts([_pod("a", {}), _pod("b", {}, restarts=2), _pod("c", {}), _pod("job", {}, phase="Succeeded")])
    assert set(before) == {"a", "b", "c"}
    deleting = _pod("c", {})
    deleting["metadata"]["deletionTimestamp"] = "2026-11-23T18:00:00Z"
    assert cp.health_problems(before, [_pod("a", {}), _pod("b", {}, restarts=3), deleting]) == [
        "ns/b restarted (2 -> 3 restarts)", "ns/c is being deleted"]
    assert cp.health_problems(before, [_pod("b", {}, restarts=2), _pod("c", {})]) == ["ns/a is gone"]
    assert cp.health_problems(before, [_pod("a", {}), _pod("b", {}, restarts=2), _pod("c", {}, phase="Succeeded")]) == []


def _apply(objects, changes):
    """What server-side apply leaves: our fields merged into the objects."""
    result = copy.deepcopy(objects)
    for change in changes:
        current = next((o for o in result if o["kind"] == change.kind and o["metadata"]["name"] == change.name
                        and o["metadata"].get("namespace") == (None if change.kind == "Namespace" else change.namespace)), None)
        if current is None:
            result.append(copy.deepcopy(change.apply))
        else:
            current.setdefault("metadata", {}).setdefault("labels", {}).update(change.apply["metadata"].get("labels") or {})
            for key, value in change.apply.items():
                if key not in ("metadata", "apiVersion", "kind"):
                    current[key] = value
    return result


@pytest.mark.parametrize("mode", ["soak", "enforce"])
def test_the_plan_is_empty_once_applied(mode):
    objects = [{"kind": "Namespace", "metadata": {"name": name}} for name in ("shop", "kube-system", "empty")] + [
        _pod("web", {"containers": [{"name": "c", "securityContext": {"privileged": True}}]}, namespace="shop"),
        {"kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "empty"}},
        {"kind": "Node", "metadata": {"name": "n"}, "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.9"}]}}]
    settings = cp.Settings(pod_security_labels=mode, version="v1.34", exempt_namespaces=["kube-system"],
                           network_policies=True, network_policy_exempt_namespaces=["kube-system"],
                           metadata_addresses=["169.254.169.254/32"], default_service_account_token=False)
    first = cp.plan(objects, settings)
    keys = {c.key for c in first["changes"]}
    assert "Namespace/shop" in keys and "Namespace/kube-system" not in keys and "ServiceAccount/empty/default" in keys
    assert {c.key for c in first["changes"] if c.kind == "NetworkPolicy"} == {
        f"NetworkPolicy/{ns}/{name}" for ns in ("shop", "empty") for name in (cp.DENY_INGRESS, cp.ALLOW_INGRESS, cp.EGRESS)}
    shop = next(c for c in first["changes"] if c.key == "Namespace/shop")
    assert shop.after["metadata"]["labels"][L + "audit"] == "privileged"
    assert cp.plan(_apply(objects, first["changes"]), settings)["changes"] == []


def test_restore_actions_and_what_is_saved():
    created = cp.Change("ns", "NetworkPolicy", "kubeguard-egress", None, {"apiVersion": "networking.k8s.io/v1"}, {}, "")
    assert cp.restore_action(cp.saved_content(created), exists=True) == ("delete", None)
    saved = {"kind": "Namespace", "metadata": {"name": "ns", "resourceVersion": "7", "uid": "u", "labels": {"a": "b"}},
             "status": {"phase": "Active"}}
    assert cp.restore_action(saved, exists=True) == ("replace", {"kind": "Namespace", "metadata": {"name": "ns", "labels": {"a": "b"}}})
    assert cp.restore_action(saved, exists=False)[0] == "create"


def test_a_level_for_a_namespace_that_is_missing_or_exempt_is_said_not_dropped_silently():
    objects = [{"kind": "Namespace", "metadata": {"name": n}} for n in ("shop", "kube-system")]
    result = cp.plan(objects, cp.Settings(version="v1.34", exempt_namespaces=["kube-system"],
                                          namespace_levels={"shpo": "restricted", "kube-system": "baseline", "shop": "baseline"}))
    assert result["notes"][:2] == [
        "kubeguard_pod_security_namespace_levels names kube-system, which is exempt (kube_pod_security_exemptions_namespaces): not labelled",
        "kubeguard_pod_security_namespace_levels names shpo, which does not exist (yet): nothing to label"]
    assert "Namespace/kube-system" not in {c.key for c in result["changes"]}


# --- where enforce is not written, and the cluster default ---------------------------------------------------

RESTRICTED = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
              "containers": [{"name": "app", "image": "x", "securityContext": {"allowPrivilegeEscalation": False,
                                                                               "capabilities": {"drop": ["ALL"]}}}]}
PRIVILEGED = {"containers": [{"name": "app", "image": "x", "securityContext": {"privileged": True}}]}


def _namespace(name, **metadata):
    return {"kind": "Namespace", "metadata": dict({"name": name}, **metadata)}


def _marked_pod(name, **metadata):
    """A running restricted pod with more metadata (owner references, annotations)."""
    pod = _pod(name, RESTRICTED)
    pod["metadata"].update(metadata)
    return pod


def _enforce_plan(objects, **settings):
    result = cp.plan(objects, cp.Settings(**dict({"pod_security_labels": "enforce", "version": "v1.34"}, **settings)))
    labels = {c.name: c.apply["metadata"]["labels"] for c in result["changes"] if c.kind == "Namespace"}
    return labels, result["notes"]


def test_a_rollback_target_keeps_the_namespace_from_restricted():
    """The Deployment is restricted, its previous ReplicaSet (scaled to 0) privileged: enforce restricted
    would refuse kubectl rollout undo. The namespace is enforced at privileged and the revision is named."""
    objects = [_namespace("shop"),
               {"kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}, "spec": {"template": {"spec": RESTRICTED}}},
               {"kind": "ReplicaSet", "metadata": {"name": "web-5d8b2", "namespace": "shop", "ownerReferences": [
                   {"kind": "Deployment", "name": "web", "controller": True}]}, "spec": {"replicas": 0, "template": {
                       "metadata": {"labels": {"pod-template-hash": "5d8b2"}}, "spec": PRIVILEGED}}}]
    labels, notes = _enforce_plan(objects)
    assert labels["shop"][L + "enforce"] == "privileged" and labels["shop"][L + "audit"] == "privileged"
    assert any(n.startswith("shop: Deployment/web: its template passes restricted, ReplicaSet/web-5d8b2") for n in notes), notes


@pytest.mark.parametrize("namespace, objects, reason", [
    (_namespace("ns"), [], "no workloads"),
    (_namespace("ns"), [_marked_pod("step", ownerReferences=[
        {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "name": "build-1", "controller": True}])], "pods made by TaskRun/build-1"),
    (_namespace("ns", labels={"istio-injection": "enabled"}), [_pod("app", RESTRICTED)], "sidecar injection (namespace label istio-injection"),
    (_namespace("ns", labels={"istio.io/rev": "canary"}), [_pod("app", RESTRICTED)], "sidecar injection (namespace label istio.io/rev"),
    (_namespace("ns", annotations={"linkerd.io/inject": "enabled"}), [_pod("app", RESTRICTED)], "sidecar injection (namespace annotation"),
    (_namespace("ns"), [_marked_pod("app", annotations={"sidecar.istio.io/inject": "true"})],
     "sidecar injection (Pod/app annotation sidecar.istio.io/inject=true"),
    (_namespace("ns"), [_marked_pod("app", annotations={"linkerd.io/inject": "enabled"})],
     "sidecar injection (Pod/app annotation linkerd.io/inject=enabled"),
])
def test_no_enforce_where_what_will_run_cannot_be_told_the_soak_labels_still_go_on(namespace, objects, reason):
    labels, notes = _enforce_plan([namespace] + objects)
    assert L + "enforce" not in labels["ns"] and L + "enforce-version" not in labels["ns"]
    assert labels["ns"][L + "audit"] == "restricted" and labels["ns"][L + "warn"] == "restricted"
    assert labels["ns"][L + "audit-version"] == "v1.34"
    said = [n for n in notes if n.startswith("ns: enforce not written - ")]
    assert len(said) == 1 and reason in said[0] and said[0].endswith("(audit and warn are set)")
    # soak mode writes no enforce anyway: nothing to say about it
    _ignored, soak_notes = _enforce_plan([namespace] + objects, pod_security_labels="soak")
    assert not any("enforce not written" in n for n in soak_notes)
    # your own level is yours: written, and the reason said
    labels, notes = _enforce_plan([namespace] + objects, namespace_levels={"ns": "baseline"})
    assert labels["ns"][L + "enforce"] == "baseline" and any(n.startswith("ns: enforce baseline as you asked, though ") for n in notes)


def test_an_existing_enforce_label_is_left_as_it_is_where_enforce_is_not_written():
    labels, notes = _enforce_plan([_namespace("ns", labels={L + "enforce": "baseline"})])
    # (the apply names every Pod Security label the namespace has: server-side apply would drop the others)
    assert labels["ns"][L + "enforce"] == "baseline" and L + "enforce-version" not in labels["ns"]
    assert notes[0].startswith("ns: enforce not written - no workloads")


def test_a_namespace_weaker_than_the_cluster_default_is_said():
    objects = [_namespace("ns"), _pod("app", PRIVILEGED), _namespace("fine"), _pod("ok", RESTRICTED, namespace="fine")]
    for mode in ("soak", "enforce"):
        labels, notes = _enforce_plan(objects, pod_security_labels=mode, cluster_defaults={"enforce": "restricted"})
        assert L + "enforce" not in labels["ns"]
        assert [n for n in notes if "cluster default" in n] == [
            "ns: what runs passes only privileged, weaker than the cluster default (enforce restricted): pods like them are refused "
            "when they are re-created - name a level in kubeguard_pod_security_namespace_levels or exempt the namespace"]
    # a label of its own decides, not the default; an exempt namespace is not judged
    labelled = [_namespace("ns", labels={L + "enforce": "privileged"}), _pod("app", PRIVILEGED)]
    assert not any("cluster default" in n for n in _enforce_plan(labelled, cluster_defaults={"enforce": "restricted"})[1])
    exempt_plan = _enforce_plan(objects[:2], cluster_defaults={"enforce": "restricted"}, exempt_namespaces=["ns"])
    assert not any("cluster default" in n for n in exempt_plan[1])
