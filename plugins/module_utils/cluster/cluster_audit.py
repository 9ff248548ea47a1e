"""CIS section 5 judged from the API's real state, once per cluster.

5.1.1-5.1.6 are judged as kube-bench's policies audits judge them (cluster-admin bindings, what
system:authenticated may do as the apiserver answers, wildcards in roles, default ServiceAccounts, pods
holding a token), the other 5.1 controls with the roles found that grant what they name. 5.2.2-5.2.6 are
judged as kube-bench judges them (every running pod's containers: privileged, host
PID / IPC / network, allowPrivilegeEscalation set to true); the benchmark calls them manual, so they are
reported as manual with the verdict (check_passed) and the pods found. 5.2.7-5.2.12 are reported with
the evidence the Pod Security advisor finds in running pods. 5.2.1 (a policy control mechanism in
every namespace with workloads) is judged from the namespaces' enforce labels and the cluster default.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from . import pod_security
from ..catalogue import catalogue
from ..report import audit, reports
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
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


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


# --- 5.1 RBAC and service accounts -------------------------------------------------------------------

def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _kind(objects: Sequence[Mapping[str, Any]], kind: str) -> List[Mapping[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]


def _subjects(binding: Mapping[str, Any]) -> str:
    return ",".join(f"{s.get('kind')}:{s.get('name')}" for s in binding.get("subjects") or []) or "no subjects"


def _role_name(role: Mapping[str, Any]) -> str:
    meta = _meta(role)
    return f"{role.get('kind')} {meta.get('namespace') + '/' if meta.get('namespace') else ''}{meta.get('name')}"


def _grants(rule: Mapping[str, Any], verbs: Sequence[str], resource: str, group: str) -> bool:
    def has(field: str, wanted: Sequence[str]) -> bool:
        values = rule.get(field) or []
        return "*" in values or any(w in values for w in wanted)
    return has("verbs", verbs) and has("resources", [resource]) and has("apiGroups", [group])


def _bound_roles(objects: Sequence[Mapping[str, Any]]) -> Dict[Tuple[str, Optional[str], str], List[str]]:
    """(role kind, namespace, name) -> the subjects bound to it, by any binding."""
    bound: Dict[Tuple[str, Optional[str], str], List[str]] = {}
    for binding in _kind(objects, "ClusterRoleBinding") + _kind(objects, "RoleBinding"):
        ref = binding.get("roleRef") or {}
        namespace = _meta(binding).get("namespace") if ref.get("kind") == "Role" else None
        bound.setdefault((str(ref.get("kind")), namespace, str(ref.get("name"))), []).append(_subjects(binding))
    return bound


def _granting_roles(objects, verbs: Sequence[str], resource: str, group: str = "") -> List[str]:
    """Bound roles (not the built-in system: ones, nor cluster-admin) whose rules grant the verbs on the resource."""
    bound = _bound_roles(objects)
    found = []
    # a namespaced Role cannot grant what is cluster-scoped
    kinds = ("ClusterRole",) if resource in CLUSTER_SCOPED else ("ClusterRole", "Role")
    for role in [o for o in objects if o.get("kind") in kinds]:
        meta = _meta(role)
        name = str(meta.get("name"))
        if name.startswith("system:") or name == "cluster-admin":
            continue
        subjects = bound.get((str(role.get("kind")), meta.get("namespace"), name))
        if subjects and any(_grants(rule, verbs, resource, group) for rule in role.get("rules") or []):
            found.append(f"{_role_name(role)} (bound to {'; '.join(subjects)})")
    return sorted(found)


CLUSTER_SCOPED = {"clusterroles", "users", "groups", "persistentvolumes", "nodes/proxy", "certificatesigningrequests/approval",
                  "validatingwebhookconfigurations", "mutatingwebhookconfigurations"}
# 5.1.8-5.1.13: what each names, as (verbs, resource, apiGroup) the roles found must grant
GRANT_CONTROLS: Dict[str, Sequence[Tuple[Sequence[str], str, str]]] = {
    "5.1.8": ((("bind", "escalate"), "clusterroles", "rbac.authorization.k8s.io"),
              (("bind", "escalate"), "roles", "rbac.authorization.k8s.io"),
              (("impersonate",), "users", ""), (("impersonate",), "groups", ""), (("impersonate",), "serviceaccounts", "")),
    "5.1.9": ((("create",), "persistentvolumes", ""),),
    "5.1.10": ((("get", "create"), "nodes/proxy", ""),),
    "5.1.11": ((("update", "patch"), "certificatesigningrequests/approval", "certificates.k8s.io"),),
    "5.1.12": ((("create", "update", "patch", "delete"), "validatingwebhookconfigurations", "admissionregistration.k8s.io"),
               (("create", "update", "patch", "delete"), "mutatingwebhookconfigurations", "admissionregistration.k8s.io")),
    "5.1.13": ((("create",), "serviceaccounts/token", ""),),
}


def _token_mounted(pod: Mapping[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    return any(m.get("mountPath") == TOKEN_PATH for key in ("initContainers", "containers")
               for c in spec.get(key) or [] for m in c.get("volumeMounts") or [])


def section_5_1(objects: Sequence[Mapping[str, Any]], can_i: Mapping[str, Optional[bool]]) -> List[Dict[str, Any]]:
    """Results for 5.1.x: {id, check_passed, found}; can_i: what the apiserver answered for system:authenticated
    (secrets: get,list,watch in every namespace; pods: create), None when it was not asked."""
    results = []
    admin = [f"{_meta(b).get('name')} -> {_subjects(b)}" for b in _kind(objects, "ClusterRoleBinding")
             if (b.get("roleRef") or {}).get("name") == "cluster-admin" and _meta(b).get("name") != "cluster-admin"]
    results.append({"id": "5.1.1", "check_passed": not admin,
                    "found": f"bindings of cluster-admin besides its own: {_show(admin)}" if admin else "only the cluster-admin binding"})
    for cid, what, key in (("5.1.2", "get, list and watch secrets in every namespace", "secrets"),
                           ("5.1.4", "create pods in every namespace", "pods")):
        answer = can_i.get(key)
        results.append({"id": cid, "check_passed": answer is False,
                        "found": "not asked (kubectl auth can-i failed)" if answer is None else
                        f"system:authenticated {'may' if answer else 'may not'} {what} (the apiserver's answer)"})
    wildcard = [_role_name(r) for r in _kind(objects, "Role") + _kind(objects, "ClusterRole")
                if any(value == ["*"] for rule in r.get("rules") or [] for value in rule.values())]
    results.append({"id": "5.1.3", "check_passed": not wildcard,
                    "found": f"roles with a [\"*\"] rule: {_show(sorted(wildcard))}" if wildcard else "no wildcard rules"})
    defaults = sorted(_meta(a).get("namespace") for a in _kind(objects, "ServiceAccount")
                      if _meta(a).get("name") == "default" and a.get("automountServiceAccountToken") is not False)
    results.append({"id": "5.1.5", "check_passed": not defaults,
                    "found": f"default ServiceAccounts that mount their token: {_show(defaults)}" if defaults else
                    "every default ServiceAccount has automountServiceAccountToken: false"})
    pods = [p for p in _kind(objects, "Pod") if ((p.get("status") or {}).get("phase") in (None, "Pending", "Running"))]
    holding = sorted(f"{_name(p)} ({(p.get('spec') or {}).get('serviceAccountName') or 'default'})" for p in pods if _token_mounted(p))
    results.append({"id": "5.1.6", "check_passed": not holding,
                    "found": f"pods with a service-account token mounted: {_show(holding)}" if holding else
                    f"none of {len(pods)} running pods mounts a token"})
    masters = [f"{b.get('kind')} {_meta(b).get('name')}" for b in _kind(objects, "ClusterRoleBinding") + _kind(objects, "RoleBinding")
               if any(s.get("kind") == "Group" and s.get("name") == "system:masters" for s in b.get("subjects") or [])]
    results.append({"id": "5.1.7", "check_passed": not masters,
                    "found": f"bindings naming system:masters: {_show(masters)}" if masters else
                    "no binding names system:masters (certificates with O=system:masters still bypass RBAC: check who holds one)"})
    for cid, grants in GRANT_CONTROLS.items():
        found = sorted({role for verbs, resource, group in grants for role in _granting_roles(objects, verbs, resource, group)})
        results.append({"id": cid, "check_passed": not found,
                        "found": f"roles granting it: {_show(found)}" if found else "only built-in system: roles and cluster-admin grant it"})
    return results


# --- 5.3-5.6: network policies, secrets, general policies ---------------------------------------------

def section_5_rest(objects: Sequence[Mapping[str, Any]], exempt: Sequence[str] = ()) -> List[Dict[str, Any]]:
    results = []
    covered = {_meta(p).get("namespace") for p in _kind(objects, "NetworkPolicy")}
    namespaces = sorted(_meta(n).get("name") for n in _kind(objects, "Namespace"))
    bare = [n for n in namespaces if n not in covered]
    results.append({"id": "5.3.2", "check_passed": not bare,
                    "found": f"namespaces without a NetworkPolicy: {_show(bare)}" if bare else
                    f"all {len(namespaces)} namespaces have NetworkPolicies"})
    in_env = []
    for obj in objects:
        template = pod_security.pod_template(obj)
        if template is None or pod_security.is_owned_copy(obj):
            continue
        for owner, container in [(c.get("name"), c) for key in ("initContainers", "containers")
                                 for c in template[1].get(key) or []]:
            refs = [e.get("name") for e in container.get("env") or [] if ((e.get("valueFrom") or {}).get("secretKeyRef"))]
            refs += [f"envFrom {(e.get('secretRef') or {}).get('name')}" for e in container.get("envFrom") or [] if e.get("secretRef")]
            if refs:
                in_env.append(f"{_meta(obj).get('namespace')}/{obj.get('kind')}/{_meta(obj).get('name')} container {owner}: {', '.join(map(str, refs))}")
    results.append({"id": "5.4.1", "check_passed": not in_env,
                    "found": f"secrets in environment variables: {_show(sorted(in_env))}" if in_env else "no secret is passed as an environment variable"})
    pods = [p for p in _kind(objects, "Pod") if ((p.get("status") or {}).get("phase") in (None, "Pending", "Running"))]

    def confined(pod: Mapping[str, Any]) -> bool:
        spec = pod.get("spec") or {}
        pod_type = ((_sc(spec).get("seccompProfile") or {}).get("type"))
        containers = [c for key in ("initContainers", "containers") for c in spec.get(key) or []]
        return all(((_sc(c).get("seccompProfile") or {}).get("type") or pod_type) in ("RuntimeDefault", "Localhost")
                   for c in containers)
    unconfined = sorted(_name(p) for p in pods if not confined(p))
    results.append({"id": "5.6.2", "check_passed": not unconfined,
                    "found": f"running pods without a seccomp profile: {_show(unconfined)}" if unconfined else
                    f"all {len(pods)} running pods run with RuntimeDefault or Localhost seccomp"})
    in_default = sorted(f"{o.get('kind')}/{_meta(o).get('name')}" for o in objects
                        if _meta(o).get("namespace") == "default" and (pod_security.pod_template(o) is not None or o.get("kind") == "Service")
                        and not pod_security.is_owned_copy(o)
                        and not (o.get("kind") == "Service" and _meta(o).get("name") == "kubernetes"))
    results.append({"id": "5.6.4", "check_passed": not in_default,
                    "found": f"the default namespace holds: {_show(in_default)}" if in_default else "the default namespace holds no workloads or services"})
    return results


DASHBOARD_IMAGE = "dashboard"   # kubernetesui/dashboard, kubernetes-dashboard-web/-api, ...


def dashboard_exposure(objects: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """K.14: a Kubernetes Dashboard that lets anyone in - its login skipped (--enable-skip-login), or its
    Service reachable from outside the cluster (NodePort, LoadBalancer, external IPs)."""
    skip_login, dashboards = [], []
    for obj in objects:
        template = pod_security.pod_template(obj)
        if template is None or pod_security.is_owned_copy(obj):
            continue
        containers = [c for key in ("initContainers", "containers") for c in template[1].get(key) or []]
        if not any(DASHBOARD_IMAGE in str(c.get("image") or "").rsplit("/", 1)[-1] for c in containers):
            continue
        where = f"{_meta(obj).get('namespace')}/{obj.get('kind')}/{_meta(obj).get('name')}"
        dashboards.append((_meta(obj).get("namespace"), (template[0] or {}).get("labels") or {}, where))
        if any(arg in ("--enable-skip-login", "--enable-skip-login=true") for c in containers
               for arg in list(c.get("args") or []) + list(c.get("command") or [])):
            skip_login.append(where)
    exposed = []
    for service in _kind(objects, "Service"):
        spec, namespace = service.get("spec") or {}, _meta(service).get("namespace")
        selector = spec.get("selector") or {}
        serves_dashboard = selector and any(ns == namespace and all(labels.get(k) == v for k, v in selector.items())
                                            for ns, labels, _where in dashboards)
        outside = spec.get("type") in ("NodePort", "LoadBalancer") or spec.get("externalIPs")
        if serves_dashboard and outside:
            exposed.append(f"{namespace}/Service/{_meta(service).get('name')} ({spec.get('type')})")
    problems = [f"login skipped: {_show(sorted(skip_login))}"] if skip_login else []
    problems += [f"reachable from outside the cluster: {_show(sorted(exposed))}"] if exposed else []
    if problems:
        return {"id": "K.14", "check_passed": False, "found": "; ".join(problems)}
    return {"id": "K.14", "check_passed": True,
            "found": (f"dashboard without skip-login, only inside the cluster: {_show(sorted(w for _n, _l, w in dashboards))}"
                      if dashboards else "no Kubernetes Dashboard runs")}


# --- the STIG's rules about the cluster's objects (catalogue/stig_v2r6.yml `cluster`) ----------------------------

SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
DASHBOARD_LABEL = ("k8s-app", "kubernetes-dashboard")


def _running_pods(objects: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    return [p for p in _kind(objects, "Pod") if ((p.get("status") or {}).get("phase") in (None, "Pending", "Running"))]


def _image_repository(image: str) -> Tuple[str, str]:
    """(repository, version) of an image reference as the runtime resolves it: nginx:1.27 is
    docker.io/library/nginx, version 1.27; the version is the tag (a digest beside it pins the same tag), else
    the digest, else latest."""
    name, _at, digest = image.strip().partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    first, sep, rest = name.partition("/")
    if not sep:
        name = f"docker.io/library/{name}"
    elif not ("." in first or ":" in first or first == "localhost"):
        name = f"docker.io/{name}"
    return name, tag or digest or "latest"


def stig_cluster(objects: Sequence[Mapping[str, Any]], section5: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """The STIG's cluster rules judged from the API's objects, as the cluster report's rows: kubectl's view of
    what DISA's check texts ask. Rules whose CIS twin is judged above reuse its verdict (V-242415: 5.4.1)."""
    by_id = {r["id"]: r for r in section5}
    pods = _running_pods(objects)
    results = []
    # V-242383: default, kube-public and kube-node-lease hold no user objects (the kubernetes Service aside). An
    # object another listed object controls (a ReplicaSet's pods) is that owner's, which is counted itself; an
    # ownerReference to anything else (a ConfigMap, an object that is not there) hides nothing.
    listed = {str(_meta(o).get("uid")) for o in objects if _meta(o).get("uid") and pod_security.pod_template(o) is not None}

    def controlled(obj: Mapping[str, Any]) -> bool:
        return any(isinstance(ref, Mapping) and ref.get("controller") is True and str(ref.get("uid")) in listed
                   for ref in _meta(obj).get("ownerReferences") or [])
    held = sorted(f"{_meta(o).get('namespace')}/{o.get('kind')}/{_meta(o).get('name')}" for o in objects
                  if _meta(o).get("namespace") in ("default", "kube-public", "kube-node-lease")
                  and (pod_security.pod_template(o) is not None or o.get("kind") == "Service") and not controlled(o)
                  and not (o.get("kind") == "Service" and _meta(o).get("name") == "kubernetes" and _meta(o).get("namespace") == "default"))
    results.append({"id": "V-242383", "check_passed": not held,
                    "found": f"user objects in the default namespaces: {_show(held)}" if held else
                    "default, kube-public and kube-node-lease hold no workloads or services of users"})
    # V-242395: no pod labelled k8s-app=kubernetes-dashboard
    key, value = DASHBOARD_LABEL
    dashboards = sorted(_name(p) for p in pods if (_meta(p).get("labels") or {}).get(key) == value)
    results.append({"id": "V-242395", "check_passed": not dashboards,
                    "found": f"dashboard pods: {_show(dashboards)}" if dashboards else f"no pod labelled {key}={value}"})
    # V-242414: no pod of a user namespace on a host port below 1024
    low = sorted(f"{_name(p)} container {c.get('name')} hostPort {port.get('hostPort')}" for p in pods
                 if _meta(p).get("namespace") not in SYSTEM_NAMESPACES
                 for c in _containers(p) for port in c.get("ports") or []
                 if isinstance(port, Mapping) and isinstance(port.get("hostPort"), int) and 0 < port["hostPort"] < 1024)
    results.append({"id": "V-242414", "check_passed": not low,
                    "found": f"privileged host ports: {_show(low)}" if low else "no pod of a user namespace binds a host port below 1024"})
    if "5.4.1" in by_id:
        results.append({"id": "V-242415", "check_passed": by_id["5.4.1"]["check_passed"], "found": f"CIS 5.4.1: {by_id['5.4.1']['found']}"})
    # V-242442: one version per image repository across the running pods (an old component left behind)
    versions: Dict[str, set] = {}
    for pod in pods:
        for container in [c for key in ("initContainers", "containers") for c in (pod.get("spec") or {}).get(key) or []]:
            if isinstance(container, Mapping) and container.get("image"):
                repository, version = _image_repository(str(container["image"]))
                versions.setdefault(repository, set()).add(version)
    several = sorted(f"{repo} ({', '.join(sorted(v))})" for repo, v in versions.items() if len(v) > 1)
    results.append({"id": "V-242442", "check_passed": not several,
                    "found": f"images in more than one version: {_show(several)}" if several else
                    f"each of {len(versions)} image repositories runs in one version"})
    return results


def section_5(objects: Sequence[Mapping[str, Any]], advice: Mapping[str, Mapping[str, Any]],
              catalogue_controls: Sequence[Mapping[str, Any]], default_enforce: Optional[str],
              can_i: Mapping[str, Optional[bool]]) -> List[Dict[str, Any]]:
    """Every section 5 control we can judge from the API, in catalogue order."""
    titles = {str(c["id"]): c["title"] for c in catalogue_controls}
    results = section_5_1(objects, can_i) + section_5_2(objects, advice, catalogue_controls, default_enforce) \
        + section_5_rest(objects) + [dashboard_exposure(objects)]
    wanted = {str(c["id"]) for c in catalogue_controls}
    results += [r for r in stig_cluster(objects, results) if r["id"] in wanted]   # when the STIG's cluster rules are asked for
    for result in results:
        result.update(title=titles.get(result["id"], result.get("title", "")), status="manual")
    return sorted(results, key=lambda r: [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in r["id"].split(".")])


def release_field(server: Optional[str]) -> Optional[Dict[str, Any]]:
    """The cluster report's `kubernetes` field: the server's release as /version answers it (None: it did not)."""
    if not server:
        return None
    said = "the API server's /version (kubectl version)"
    return {"version": server, "source": said, "running": server, "running_source": said}


def report(results: Sequence[Mapping[str, Any]], catalogue_controls: Sequence[Mapping[str, Any]], benchmark: str,
           generated_at: str, sources: Optional[Mapping[str, str]] = None,
           kubernetes: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The cluster's section 5 as a CIS report of the same schema as a node's (reports.py writes it as
    JSON, JUnit and Markdown): every control manual, as the benchmark has them, the verdict in found.
    sources: what was read and how ({"pod-security": "policy v1.31 (...)"}: the version 5.2 was judged at);
    kubernetes: the server's release (release_field above), left out when None."""
    judged = {r["id"]: r for r in results}
    rows = []
    for control in catalogue_controls:
        cid = str(control["id"])
        if not cid.startswith("5.") and not (cid in judged and catalogue.judged_from_the_api(control)):
            continue
        result = judged.get(cid)
        found = None if result is None else f"{'pass' if result['check_passed'] else 'FAIL'} (judged from the API): {result['found']}"
        # CIS calls section 5 manual (the verdict is in found); a benchmark rule judged from the API is its verdict
        status = "manual"
        if catalogue.is_rule(control) and result is not None and result["check_passed"] is not None:
            status = "pass" if result["check_passed"] else "fail"
        rows.append({"id": cid, "section": control.get("section") or cid.split(".", maxsplit=1)[0], "title": control["title"],
                     "level": control.get("level", 1),
                     "automated": status != "manual", "component": "cluster", "status": status, "found": found,
                     "check_passed": None if result is None else result["check_passed"], "expected": None,
                     "source": "api", "remediation": control.get("remediation"), "waiver": None})
    return reports.build("cluster", benchmark, ["cluster"], "api", sources or {}, rows, audit.summarize(rows), generated_at,
                         kubernetes=kubernetes)


def summary_lines(results: Sequence[Mapping[str, Any]]) -> List[str]:
    return [f"{'STIG' if str(r['id']).startswith('V-') else 'CIS'} {r['id']} {'pass' if r['check_passed'] else 'FAIL'}"
            f" ({'judged from the API' if str(r['id']).startswith('V-') else 'manual control'}): {r['found']}" for r in results]


def markdown(results: Sequence[Mapping[str, Any]]) -> str:
    lines = ["", "## CIS section 5 from the API", "",
             "Manual controls in the benchmark; the verdict is what the API's objects show (RBAC, ServiceAccounts,",
             "running pods, workload templates, namespace labels, NetworkPolicies).", "",
             "| control | title | verdict | found |", "|---|---|---|---|"]
    lines += [f"| {r['id']} | {r['title']} | {'pass' if r['check_passed'] else 'fail'} | {r['found']} |" for r in results]
    return "\n".join(lines) + "\n"
