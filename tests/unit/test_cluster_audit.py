"""CIS 5.2 judged from the running pods (as kube-bench's policies audits do) and the namespaces' labels."""

from __future__ import annotations

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import cluster_audit, pod_security

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


def crb(name, role, *subjects, kind="ClusterRoleBinding", namespace=None, role_kind="ClusterRole"):
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"kind": kind, "metadata": meta, "roleRef": {"kind": role_kind, "name": role},
            "subjects": [{"kind": k, "name": n} for k, n in subjects]}


def role(name, rules, kind="ClusterRole", namespace=None):
    return {"kind": kind, "metadata": {"name": name, **({"namespace": namespace} if namespace else {})}, "rules": rules}


def test_rbac_controls_as_kube_bench_judges_them_and_the_roles_that_grant_what_5_1_names():
    objects = [
        crb("cluster-admin", "cluster-admin", ("Group", "system:masters")),
        crb("kubeadm:cluster-admins", "cluster-admin", ("Group", "kubeadm:cluster-admins")),
        role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
        role("ci-deployer", [{"apiGroups": [""], "resources": ["persistentvolumes", "pods"], "verbs": ["create", "get"]},
                             {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"]}]),
        role("unbound", [{"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}]),
        role("system:node", [{"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}]),
        role("ns-editor", [{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}], kind="Role", namespace="shop"),
        crb("ci", "ci-deployer", ("ServiceAccount", "ci")),
        crb("edit", "ns-editor", ("User", "ann"), kind="RoleBinding", namespace="shop", role_kind="Role"),
        {"kind": "ServiceAccount", "metadata": {"namespace": "shop", "name": "default"}},
        {"kind": "ServiceAccount", "metadata": {"namespace": "quiet", "name": "default"}, "automountServiceAccountToken": False},
        pod("shop", "web", {"containers": [{"name": "c", "volumeMounts": [{"mountPath": cluster_audit.TOKEN_PATH}]}]}),
        pod("shop", "static", {"containers": [{"name": "c"}]}),
    ]
    results = {r["id"]: r for r in cluster_audit.section_5_1(objects, {"secrets": False, "pods": None})}
    assert results["5.1.1"]["found"] == "bindings of cluster-admin besides its own: kubeadm:cluster-admins -> Group:kubeadm:cluster-admins"
    assert results["5.1.2"]["check_passed"] and not results["5.1.4"]["check_passed"]
    assert results["5.1.4"]["found"] == "not asked (kubectl auth can-i failed)"
    assert results["5.1.3"]["found"] == 'roles with a ["*"] rule: ClusterRole cluster-admin; Role shop/ns-editor'
    assert results["5.1.5"]["found"] == "default ServiceAccounts that mount their token: shop"
    assert results["5.1.6"]["found"] == "pods with a service-account token mounted: shop/web (default)"
    assert results["5.1.7"]["found"] == "bindings naming system:masters: ClusterRoleBinding cluster-admin"
    assert results["5.1.8"]["found"] == "roles granting it: ClusterRole ci-deployer (bound to ServiceAccount:ci)"
    assert results["5.1.9"]["found"] == results["5.1.8"]["found"]
    # not bound, or built in: not reported
    assert results["5.1.10"]["check_passed"] and results["5.1.13"]["check_passed"]


def test_network_policies_secrets_in_env_seccomp_and_the_default_namespace():
    confined = {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [{"name": "c"}]}
    objects = [
        {"kind": "Namespace", "metadata": {"name": n}} for n in ("default", "shop", "bare")] + [
        {"kind": "NetworkPolicy", "metadata": {"namespace": "shop", "name": "deny"}},
        {"kind": "Service", "metadata": {"namespace": "default", "name": "kubernetes"}},
        pod("shop", "web", confined),
        pod("default", "stray", {"containers": [{"name": "c", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}),
        {"kind": "Deployment", "metadata": {"namespace": "shop", "name": "api"}, "spec": {"template": {"spec": {"containers": [
            {"name": "c", "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "p"}}},
                                  {"name": "PLAIN", "value": "x"}], "envFrom": [{"secretRef": {"name": "all"}}]}]}}}},
    ]
    results = {r["id"]: r for r in cluster_audit.section_5_rest(objects)}
    assert results["5.3.2"]["found"] == "namespaces without a NetworkPolicy: bare; default"
    assert results["5.4.1"]["found"] == "secrets in environment variables: shop/Deployment/api container c: DB_PASSWORD, envFrom all"
    assert results["5.6.2"]["found"] == "running pods without a seccomp profile: default/stray"
    assert results["5.6.4"]["found"] == "the default namespace holds: Pod/stray"
    clean = {r["id"]: r for r in cluster_audit.section_5_rest([o for o in objects if o["metadata"].get("namespace") != "default"
                                                               and o["metadata"].get("name") not in ("bare", "default")])}
    assert clean["5.3.2"]["check_passed"] and clean["5.6.2"]["check_passed"] and clean["5.6.4"]["check_passed"]
    assert not clean["5.4.1"]["check_passed"]


def test_section_5_as_a_cis_report_every_control_manual_with_the_verdict_in_found():
    from ansible_collections.kubeguard.hardening.plugins.module_utils.report import reports
    controls = [c for c in catalogue.controls() if str(c["id"]).startswith("5.")]
    results = cluster_audit.section_5_rest([{"kind": "Namespace", "metadata": {"name": "bare"}}])
    report = cluster_audit.report(results, controls, "cis-1.12", "2026-11-23T18:00:00Z")
    assert report["node"] == "cluster" and report["summary"]["5"]["manual"] == len(controls) == 34
    rows = {r["id"]: r for r in report["results"]}
    assert rows["5.3.2"]["found"] == "FAIL (judged from the API): namespaces without a NetworkPolicy: bare"
    assert rows["5.6.4"]["check_passed"] is True and rows["5.5.1"]["found"] is None
    assert '<testcase classname="cluster.5" name="5.3.2 Ensure that all Namespaces have NetworkPolicies defined">' in reports.junit(report)


def _dashboard(args, service_type):
    labels = {"k8s-app": "kubernetes-dashboard"}
    deployment = {"kind": "Deployment", "metadata": {"name": "kubernetes-dashboard", "namespace": "kubernetes-dashboard"},
                  "spec": {"template": {"metadata": {"labels": labels},
                                        "spec": {"containers": [{"name": "d", "image": "docker.io/kubernetesui/dashboard:v2.7.0",
                                                                 "args": args}]}}}}
    service = {"kind": "Service", "metadata": {"name": "kubernetes-dashboard", "namespace": "kubernetes-dashboard"},
               "spec": {"type": service_type, "selector": labels}}
    return [{"kind": "Namespace", "metadata": {"name": "kubernetes-dashboard"}}, deployment, service]


def test_a_dashboard_with_skip_login_or_a_nodeport_is_reported_with_where():
    skip = cluster_audit.dashboard_exposure(_dashboard(["--auto-generate-certificates", "--enable-skip-login"], "ClusterIP"))
    assert skip["check_passed"] is False and "login skipped: kubernetes-dashboard/Deployment/kubernetes-dashboard" in skip["found"]
    nodeport = cluster_audit.dashboard_exposure(_dashboard(["--auto-generate-certificates"], "NodePort"))
    assert nodeport["check_passed"] is False and "kubernetes-dashboard/Service/kubernetes-dashboard (NodePort)" in nodeport["found"]
    inside = cluster_audit.dashboard_exposure(_dashboard(["--auto-generate-certificates"], "ClusterIP"))
    assert inside["check_passed"] is True and "only inside the cluster" in inside["found"]
    assert cluster_audit.dashboard_exposure([])["found"] == "no Kubernetes Dashboard runs"


def test_the_dashboard_check_is_in_the_cluster_report_after_section_5():
    controls = catalogue.controls()
    results = cluster_audit.section_5(_dashboard(["--enable-skip-login"], "LoadBalancer"), {}, controls, "baseline", {})
    assert results[-1]["id"] == "K.14" and results[-1]["check_passed"] is False
    report = cluster_audit.report(results, controls, "cis-1.12", "now")
    row = next(r for r in report["results"] if r["id"] == "K.14")
    assert row["section"] == "K" and row["status"] == "manual" and row["found"].startswith("FAIL (judged from the API)")
