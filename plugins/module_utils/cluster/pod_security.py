"""The Pod Security Standards (baseline, restricted) evaluated on pod specs and workload templates,
as the apiserver's PodSecurity admission evaluates them, and the advisor built on them: per namespace,
the strictest level everything that runs (or would run) there passes.

Each check names its level, the policy version it applies from, and for each violation the
container, field and value. Policy versions before v1.25 are not modelled (the Windows exemptions of
v1.25 are assumed); the live test bed proves agreement with the apiserver (tools/pod_security_agreement.py).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

LEVELS = ("privileged", "baseline", "restricted")
LATEST = (1, 35)      # v1.36 has no policy version of its own (k8s.io/pod-security-admission v0.36.3)
OLDEST = (1, 25)

_BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                          "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
_SAFE_SYSCTLS = [((1, 0), {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                           "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"}),
                 ((1, 27), {"net.ipv4.ip_local_reserved_ports"}),
                 ((1, 29), {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                            "net.ipv4.tcp_keepalive_probes"}),
                 ((1, 32), {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})]
_SELINUX_TYPES = [((1, 0), {"", "container_t", "container_init_t", "container_kvm_t"}), ((1, 31), {"container_engine_t"})]
_RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                       "projected", "secret", "image"}
_VERSION_RE = re.compile(r"v([0-9]+)\.([0-9]+)")
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


@dataclass(frozen=True)
class Violation:
    check: str      # the Pod Security Standards control (the apiserver's check id)
    level: str      # the level whose policy it breaks
    where: str      # "pod" or "container <name>" (init and ephemeral containers too)
    field: str
    value: str

    def text(self) -> str:
        return f"{self.check}: {self.where} {self.field}={self.value}"


def parse_version(text: Optional[str]) -> Tuple[int, int]:
    """A Pod Security policy version ("latest", "v1.33") as (major, minor); refuses what is not modelled."""
    if text in (None, "", "latest"):
        return LATEST
    match = _VERSION_RE.fullmatch(str(text))
    if not match:
        raise ValueError(f"Pod Security version {text!r} must be latest or v<major>.<minor>")
    version = (int(match.group(1)), int(match.group(2)))
    if version < OLDEST:
        raise ValueError(f"Pod Security version {text} is older than v1.25, which is not modelled")
    return min(version, LATEST)


def judged_version(requested: Optional[str], server: Optional[str], cluster: Optional[str] = None) -> Tuple[Tuple[int, int], str]:
    """The policy version to judge at, and a sentence saying why. kube-apiserver evaluates a version later than
    its own release as that release, so it is never later than the server's (/version) nor, during an upgrade,
    the lowest control plane's (cluster); `latest` is that release; never later than the newest modelled.
    Raises ValueError for what parse_version refuses (an old server included)."""
    asked = parse_version(requested)   # refuses a malformed or too old request first
    bounds: List[Tuple[Tuple[int, int], str]] = []
    if requested not in (None, "", "latest"):
        bounds.append((asked, f"the version asked for ({requested})"))
    read = 0
    for release, why in ((server, "the server's release: kube-apiserver {} answers /version"),
                         (cluster, "the lowest control plane's release, {}, as the nodes' plans read it")):
        match = re.match(r"v?([0-9]+)\.([0-9]+)", str(release or ""))
        if match:
            bounds.append(((int(match.group(1)), int(match.group(2))), why.format(release)))
            read += 1
    if not read:
        bounds.append((LATEST, "the newest modelled; the server's release could not be read"))
    version, why = min(bounds, key=lambda bound: bound[0])
    if version > LATEST:
        version, why = LATEST, f"the newest modelled; {why}"
    text = f"v{version[0]}.{version[1]}"
    parse_version(text)   # a server older than v1.25 is not judged
    return version, f"{text} ({why})"


def _containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, Mapping):
                yield container


def _sc(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("securityContext") or {}


def _where(container: Mapping[str, Any]) -> str:
    return f"container {container.get('name', '?')}"


def _allowed(table: Sequence[Tuple[Tuple[int, int], set]], version: Tuple[int, int]) -> set:
    return set().union(*[names for since, names in table if version >= since])


def _owners(spec: Mapping[str, Any]) -> List[Tuple[str, Mapping[str, Any]]]:
    """The pod and each of its containers, with where a violation is reported."""
    return [("pod", spec)] + [(_where(c), c) for c in _containers(spec)]


def _windows(spec: Mapping[str, Any]) -> bool:
    return ((spec.get("os") or {}).get("name")) == "windows"


# --- baseline ----------------------------------------------------------------------------------------------

def _host_process(meta, spec, version) -> Iterator[Violation]:
    if ((_sc(spec).get("windowsOptions") or {}).get("hostProcess")) is True:
        yield Violation("hostProcess", "baseline", "pod", "securityContext.windowsOptions.hostProcess", "true")
    for c in _containers(spec):
        if ((_sc(c).get("windowsOptions") or {}).get("hostProcess")) is True:
            yield Violation("hostProcess", "baseline", _where(c), "securityContext.windowsOptions.hostProcess", "true")


def _host_namespaces(meta, spec, version) -> Iterator[Violation]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field) is True:
            yield Violation("hostNamespaces", "baseline", "pod", field, "true")


def _privileged(meta, spec, version) -> Iterator[Violation]:
    for c in _containers(spec):
        if _sc(c).get("privileged") is True:
            yield Violation("privileged", "baseline", _where(c), "securityContext.privileged", "true")


def _capabilities_baseline(meta, spec, version) -> Iterator[Violation]:
    for c in _containers(spec):
        for cap in ((_sc(c).get("capabilities") or {}).get("add") or []):
            if cap not in _BASELINE_CAPABILITIES:
                yield Violation("capabilities_baseline", "baseline", _where(c), "securityContext.capabilities.add", str(cap))


def _host_path_volumes(meta, spec, version) -> Iterator[Violation]:
    for volume in spec.get("volumes") or []:
        if isinstance(volume, Mapping) and volume.get("hostPath") is not None:
            yield Violation("hostPathVolumes", "baseline", "pod", f"volumes[{volume.get('name')}].hostPath",
                            str((volume.get("hostPath") or {}).get("path", "")))


def _host_ports(meta, spec, version) -> Iterator[Violation]:
    for c in _containers(spec):
        for port in c.get("ports") or []:
            if isinstance(port, Mapping) and port.get("hostPort") not in (None, 0):
                yield Violation("hostPorts", "baseline", _where(c), "ports[].hostPort", str(port["hostPort"]))


def _host_probes(meta, spec, version) -> Iterator[Violation]:
    if version < (1, 34):
        return
    for c in _containers(spec):
        handlers = [(f"{p}.{kind}.host", (c.get(p) or {}).get(kind)) for p in ("livenessProbe", "readinessProbe", "startupProbe")
                    for kind in ("httpGet", "tcpSocket")]
        handlers += [(f"lifecycle.{h}.{kind}.host", ((c.get("lifecycle") or {}).get(h) or {}).get(kind))
                     for h in ("postStart", "preStop") for kind in ("httpGet", "tcpSocket")]
        for field, handler in handlers:
            if isinstance(handler, Mapping) and handler.get("host"):
                yield Violation("hostProbesAndHostLifecycle", "baseline", _where(c), field, str(handler["host"]))


def _app_armor(meta, spec, version) -> Iterator[Violation]:
    def bad_type(profile: Any) -> Optional[str]:
        kind = (profile or {}).get("type") if isinstance(profile, Mapping) else None
        return None if profile is None or kind in ("RuntimeDefault", "Localhost") else str(kind)
    if bad_type(_sc(spec).get("appArmorProfile")):
        yield Violation("appArmorProfile", "baseline", "pod", "securityContext.appArmorProfile.type",
                        bad_type(_sc(spec).get("appArmorProfile")))
    for c in _containers(spec):
        found = bad_type(_sc(c).get("appArmorProfile"))
        if found:
            yield Violation("appArmorProfile", "baseline", _where(c), "securityContext.appArmorProfile.type", found)
    for key, value in ((meta or {}).get("annotations") or {}).items():
        if str(key).startswith(_APPARMOR_ANNOTATION) and value and value != "runtime/default" \
                and not str(value).startswith("localhost/"):
            yield Violation("appArmorProfile", "baseline", "pod", f"metadata.annotations[{key}]", str(value))


def _se_linux(meta, spec, version) -> Iterator[Violation]:
    allowed = _allowed(_SELINUX_TYPES, version)
    for where, owner in _owners(spec):
        options = _sc(owner).get("seLinuxOptions") or {}
        if options.get("type", "") not in allowed:
            yield Violation("seLinuxOptions", "baseline", where, "securityContext.seLinuxOptions.type", str(options["type"]))
        for key in ("user", "role"):
            if options.get(key):
                yield Violation("seLinuxOptions", "baseline", where, f"securityContext.seLinuxOptions.{key}", str(options[key]))


def _user_namespace(spec: Mapping[str, Any]) -> bool:
    """hostUsers: false - from policy v1.35 baseline's procMount and restricted's runAsNonRoot / runAsUser
    allow what a pod in its own user namespace does (root there is no root on the node)."""
    return spec.get("hostUsers") is False


def _unmasked_proc(spec, check: str, level: str) -> Iterator[Violation]:
    for c in _containers(spec):
        mount = _sc(c).get("procMount")
        if mount is not None and mount != "Default":
            yield Violation(check, level, _where(c), "securityContext.procMount", str(mount))


def _proc_mount(meta, spec, version) -> Iterator[Violation]:
    if version >= (1, 35) and _user_namespace(spec):
        return
    yield from _unmasked_proc(spec, "procMount", "baseline")


def _proc_mount_restricted(meta, spec, version) -> Iterator[Violation]:
    # from v1.35 restricted keeps the /proc masks for every pod (it replaces baseline's relaxed check)
    if version >= (1, 35):
        yield from _unmasked_proc(spec, "procMount_restricted", "restricted")


def _seccomp_baseline(meta, spec, version) -> Iterator[Violation]:
    for where, owner in _owners(spec):
        profile = _sc(owner).get("seccompProfile")
        if profile is not None and (profile or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            yield Violation("seccompProfile_baseline", "baseline", where, "securityContext.seccompProfile.type",
                            str((profile or {}).get("type")))


def _sysctls(meta, spec, version) -> Iterator[Violation]:
    allowed = _allowed(_SAFE_SYSCTLS, version)
    for sysctl in _sc(spec).get("sysctls") or []:
        name = (sysctl or {}).get("name") if isinstance(sysctl, Mapping) else None
        if name not in allowed:
            yield Violation("sysctls", "baseline", "pod", "securityContext.sysctls[].name", str(name))


# --- restricted --------------------------------------------------------------------------------------------

def _restricted_volumes(meta, spec, version) -> Iterator[Violation]:
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, Mapping):
            continue
        kinds = [k for k in volume if k != "name"]
        for kind in kinds:
            if kind not in _RESTRICTED_VOLUMES:
                yield Violation("restrictedVolumes", "restricted", "pod", f"volumes[{volume.get('name')}]", kind)


def _privilege_escalation(meta, spec, version) -> Iterator[Violation]:
    if _windows(spec):
        return
    for c in _containers(spec):
        if _sc(c).get("allowPrivilegeEscalation") is not False:
            yield Violation("allowPrivilegeEscalation", "restricted", _where(c),
                            "securityContext.allowPrivilegeEscalation", str(_sc(c).get("allowPrivilegeEscalation")).lower()
                            if _sc(c).get("allowPrivilegeEscalation") is not None else "unset")


def _run_as_non_root(meta, spec, version) -> Iterator[Violation]:
    if version >= (1, 35) and _user_namespace(spec):
        return
    pod_value = _sc(spec).get("runAsNonRoot")
    if pod_value is False:
        yield Violation("runAsNonRoot", "restricted", "pod", "securityContext.runAsNonRoot", "false")
    for c in _containers(spec):
        value = _sc(c).get("runAsNonRoot")
        if value is False:
            yield Violation("runAsNonRoot", "restricted", _where(c), "securityContext.runAsNonRoot", "false")
        elif value is None and pod_value is not True:
            yield Violation("runAsNonRoot", "restricted", _where(c), "securityContext.runAsNonRoot", "unset (pod too)")


def _run_as_user(meta, spec, version) -> Iterator[Violation]:
    if version >= (1, 35) and _user_namespace(spec):
        return
    for where, owner in _owners(spec):
        if _sc(owner).get("runAsUser") == 0 and not isinstance(_sc(owner).get("runAsUser"), bool):
            yield Violation("runAsUser", "restricted", where, "securityContext.runAsUser", "0")


def _seccomp_restricted(meta, spec, version) -> Iterator[Violation]:
    if _windows(spec):
        return
    pod_profile = _sc(spec).get("seccompProfile")
    pod_set = False
    if pod_profile is not None:
        if (pod_profile or {}).get("type") in ("RuntimeDefault", "Localhost"):
            pod_set = True
        else:
            yield Violation("seccompProfile_restricted", "restricted", "pod", "securityContext.seccompProfile.type",
                            str((pod_profile or {}).get("type")))
    for c in _containers(spec):
        profile = _sc(c).get("seccompProfile")
        if profile is not None:
            if (profile or {}).get("type") not in ("RuntimeDefault", "Localhost"):
                yield Violation("seccompProfile_restricted", "restricted", _where(c), "securityContext.seccompProfile.type",
                                str((profile or {}).get("type")))
        elif not pod_set:
            yield Violation("seccompProfile_restricted", "restricted", _where(c), "securityContext.seccompProfile.type",
                            "unset (pod too)")


def _capabilities_restricted(meta, spec, version) -> Iterator[Violation]:
    if _windows(spec):
        return
    for c in _containers(spec):
        caps = _sc(c).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            yield Violation("capabilities_restricted", "restricted", _where(c), "securityContext.capabilities.drop",
                            ",".join(map(str, caps.get("drop") or [])) or "unset")
        for cap in caps.get("add") or []:
            if cap != "NET_BIND_SERVICE":
                yield Violation("capabilities_restricted", "restricted", _where(c), "securityContext.capabilities.add", str(cap))


Check = Callable[[Mapping[str, Any], Mapping[str, Any], Tuple[int, int]], Iterator[Violation]]
# (check, level, checks of the lower level it replaces at the higher one, the policy version it replaces them from)
CHECKS: List[Tuple[Check, str, Tuple[str, ...], Tuple[int, int]]] = [
    (_host_process, "baseline", (), OLDEST), (_host_namespaces, "baseline", (), OLDEST), (_privileged, "baseline", (), OLDEST),
    (_capabilities_baseline, "baseline", (), OLDEST), (_host_path_volumes, "baseline", (), OLDEST),
    (_host_ports, "baseline", (), OLDEST), (_host_probes, "baseline", (), OLDEST), (_app_armor, "baseline", (), OLDEST),
    (_se_linux, "baseline", (), OLDEST), (_proc_mount, "baseline", (), OLDEST), (_seccomp_baseline, "baseline", (), OLDEST),
    (_sysctls, "baseline", (), OLDEST),
    (_restricted_volumes, "restricted", (), OLDEST), (_privilege_escalation, "restricted", (), OLDEST),
    (_run_as_non_root, "restricted", (), OLDEST), (_run_as_user, "restricted", (), OLDEST),
    (_seccomp_restricted, "restricted", ("seccompProfile_baseline",), OLDEST),
    (_capabilities_restricted, "restricted", ("capabilities_baseline",), OLDEST),
    (_proc_mount_restricted, "restricted", ("procMount",), (1, 35)),
]


def violations(metadata: Optional[Mapping[str, Any]], spec: Mapping[str, Any], level: str = "restricted",
               version: Tuple[int, int] = LATEST) -> List[Violation]:
    """What keeps a pod (metadata, spec) from passing `level` at policy `version`."""
    if level not in LEVELS:
        raise ValueError(f"Pod Security level {level!r} must be one of {', '.join(LEVELS)}")
    if level == "privileged":
        return []
    wanted = LEVELS[: LEVELS.index(level) + 1]
    found: List[Violation] = []
    replaced = {name for _ignored, check_level, names, since in CHECKS if check_level in wanted and version >= since
                for name in names}
    for check, check_level, _ignored, _since in CHECKS:
        if check_level in wanted:
            found += [v for v in check(metadata or {}, spec or {}, version) if v.check not in replaced]
    return found


def strictest_level(metadata: Optional[Mapping[str, Any]], spec: Mapping[str, Any],
                    version: Tuple[int, int] = LATEST) -> str:
    """restricted, baseline or privileged: the strictest level the pod passes."""
    if not violations(metadata, spec, "restricted", version):
        return "restricted"
    if not violations(metadata, spec, "baseline", version):
        return "baseline"
    return "privileged"


# --- workloads and the advisor --------------------------------------------------------------------------

WORKLOAD_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController")


def pod_template(obj: Mapping[str, Any]) -> Optional[Tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(metadata, spec) of the pods an object runs or would run; None for other kinds."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return obj.get("metadata") or {}, spec
    if kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    elif kind in WORKLOAD_KINDS:
        template = spec.get("template") or {}
    else:
        return None
    return template.get("metadata") or {}, template.get("spec") or {}


# a ReplicaSet of a Deployment, a Job of a CronJob: a copy of the owner's template (the one the owner has now,
# or an older one: a Deployment's previous ReplicaSet is what `kubectl rollout undo` brings back)
_TEMPLATE_OWNERS = {"ReplicaSet": "Deployment", "Job": "CronJob"}
# the controllers whose pods the advisor reads from their templates; pods of any other kind of controller
# (an operator's custom resource, a CI runner) are made on demand from a spec it cannot see
_READ_OWNERS = frozenset(WORKLOAD_KINDS) - {"Pod"}
# a static pod's mirror is owned by its Node: the pod is the workload (the kubelet's manifest)
_MIRROR_OWNER = "Node"
# labels a controller adds to the template it copies: not a difference in what runs
_COPY_LABELS = frozenset({"pod-template-hash", "controller-uid", "batch.kubernetes.io/controller-uid",
                          "job-name", "batch.kubernetes.io/job-name"})
# sidecar injection: a mutating webhook adds containers no template shows (istio-init asks NET_ADMIN, NET_RAW)
# - (on the namespace, labels or annotations, key); any value but an opt-out asks for it
_INJECTION = ((True, "labels", "istio-injection"), (True, "labels", "istio.io/rev"), (True, "annotations", "linkerd.io/inject"),
              (False, "annotations", "sidecar.istio.io/inject"), (False, "labels", "sidecar.istio.io/inject"),
              (False, "annotations", "linkerd.io/inject"))
_OPT_OUT = ("false", "disabled")
_SHOWN = 3   # workloads, copies named per note (the rest counted)


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _name(obj: Mapping[str, Any]) -> str:
    return f"{obj.get('kind')}/{_meta(obj).get('name')}"


def _controller(obj: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    """The owner reference that made the object: the controller's, else the only one there is (some
    operators set no controller flag)."""
    refs = [r for r in _meta(obj).get("ownerReferences") or [] if isinstance(r, Mapping)]
    return next((r for r in refs if r.get("controller")), refs[0] if len(refs) == 1 else None)


def is_owned_copy(obj: Mapping[str, Any]) -> bool:
    """A ReplicaSet of a Deployment, a Job of a CronJob (the section 5 checks read the owner's template)."""
    owner_kind = _TEMPLATE_OWNERS.get(str(obj.get("kind")))
    return owner_kind is not None and any(ref.get("controller") and ref.get("kind") == owner_kind
                                          for ref in _meta(obj).get("ownerReferences") or [] if isinstance(ref, Mapping))


def _finished(obj: Mapping[str, Any]) -> bool:
    """A pod that ended, a Job that completed or failed: nothing more runs from it, nothing is admitted again."""
    status = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
    if obj.get("kind") == "Pod":
        return status.get("phase") in ("Succeeded", "Failed")
    if obj.get("kind") == "Job":
        return any(isinstance(c, Mapping) and c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                   for c in status.get("conditions") or [])
    return False


def _workload(obj: Mapping[str, Any], index: Mapping[Tuple[str, str, str], Mapping[str, Any]]) -> Tuple[str, Optional[str]]:
    """The workload an object is told under - its topmost controller ("Kind/name") - and that controller
    again when it is of a kind the advisor does not read (None otherwise)."""
    namespace, current = _meta(obj).get("namespace"), obj
    for _depth in range(4):   # Pod -> ReplicaSet -> Deployment is the longest chain of the kinds read (and no cycle loops)
        ref = _controller(current)
        if ref is None or ref.get("kind") == _MIRROR_OWNER:
            break
        kind, name = str(ref.get("kind")), str(ref.get("name"))
        if kind not in _READ_OWNERS:
            return f"{kind}/{name}", f"{kind}/{name}"
        parent = index.get((namespace, kind, name))
        if parent is None:
            # not listed (being collected, or listed a moment later): told under its owner's name all the same
            return f"{kind}/{name}", None
        current = parent
    return _name(current), None


def _comparable(template: Tuple[Mapping[str, Any], Mapping[str, Any]]) -> Tuple[Any, Any, Mapping[str, Any]]:
    """A template's labels (but the controller's), annotations and spec: the server's creationTimestamp: null aside."""
    metadata = template[0] or {}
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if k not in _COPY_LABELS}
    return labels, metadata.get("annotations") or {}, template[1]


def _same_as_owner(obj: Mapping[str, Any], index: Mapping[Tuple[str, str, str], Mapping[str, Any]]) -> bool:
    """A ReplicaSet or Job whose template is its owner's template of now (told once, by the owner)."""
    ref = _controller(obj)
    if ref is None or _TEMPLATE_OWNERS.get(str(obj.get("kind"))) != ref.get("kind"):
        return False
    owner = index.get((_meta(obj).get("namespace"), str(ref.get("kind")), str(ref.get("name"))))
    mine, theirs = pod_template(obj), pod_template(owner) if owner is not None else None
    return mine is not None and theirs is not None and _comparable(mine) == _comparable(theirs)


def _why_copy(source: str, workload: str) -> str:
    kind = source.split("/", 1)[0]
    if kind == "ReplicaSet" and workload.startswith("Deployment/"):
        return "another revision of its template, what kubectl rollout undo brings back"
    if kind == "Job" and workload.startswith("CronJob/"):
        return "a Job still running from another jobTemplate"
    if kind == "Pod":
        return "running, weaker than any template of it: changed by a mutating webhook?"
    return "a copy of its template"


def _injection(metadata: Mapping[str, Any], namespace: bool) -> List[str]:
    """Sidecar injection asked for by a namespace's or a pod's (template's) labels and annotations."""
    found = []
    for on_namespace, part, key in _INJECTION:
        values = metadata.get(part) if on_namespace == namespace else None
        value = values.get(key) if isinstance(values, Mapping) else None
        if value is not None and str(value).lower() not in _OPT_OUT:
            found.append(f"{part[:-1]} {key}={value}")
    return found


def advise(objects: Sequence[Mapping[str, Any]], version: Tuple[int, int] = LATEST) -> Dict[str, Dict[str, Any]]:
    """Per namespace: the strictest level every pod and workload template passes, what stands in the way
    of the next stricter level (workload, where, field, value, check; `from` the copy or pod that shows it
    when not the workload's own template), notes, and `no_enforce`: why enforce should not be written.

    Each workload is told once, under its topmost controller: a ReplicaSet or Job whose template is its
    owner's is not judged again; one whose template differs (a Deployment's older revision - the target of
    `kubectl rollout undo` -, a CronJob's Job still running from an older jobTemplate) and each running pod
    (which admission webhooks may have changed) are judged under the owner's name. Pods that ended and Jobs
    that finished do not count."""
    index = {(_meta(o).get("namespace"), str(o.get("kind")), str(_meta(o).get("name"))): o for o in objects
             if isinstance(o, Mapping) and _meta(o).get("namespace") is not None}
    namespaces: Dict[str, Dict[str, Any]] = {}

    def entry_of(name: str) -> Dict[str, Any]:
        return namespaces.setdefault(name, {"sources": {}, "unread": set(), "injection": {}, "own_injection": []})

    for obj in objects:
        if not isinstance(obj, Mapping):
            continue
        metadata = _meta(obj)
        if obj.get("kind") == "Namespace":
            entry_of(str(metadata.get("name")))["own_injection"] = _injection(metadata, namespace=True)
            continue
        template, namespace = pod_template(obj), metadata.get("namespace")
        if template is None or namespace is None or _finished(obj):
            continue
        entry = entry_of(str(namespace))
        workload, unread = _workload(obj, index)
        if unread:
            entry["unread"].add(unread)
        injection = _injection(template[0] or {}, namespace=False)
        if injection:
            entry["injection"].setdefault(workload, injection)
        if obj.get("kind") != "Pod" and _same_as_owner(obj, index):
            continue
        # the workload's own template first, then older copies, then running pods: what they add is theirs
        rank = 0 if _name(obj) == workload else (2 if obj.get("kind") == "Pod" else 1)
        entry["sources"].setdefault(workload, []).append((rank, _name(obj), template))
    return {name: _judge(entry, version) for name, entry in sorted(namespaces.items())}


def _judge(entry: Mapping[str, Any], version: Tuple[int, int]) -> Dict[str, Any]:
    """One namespace's advice from its workloads' sources (advise)."""
    workloads: Dict[str, str] = {}
    judged: Dict[str, List[Tuple[str, str, Tuple[Mapping[str, Any], Mapping[str, Any]]]]] = {}
    notes: List[str] = []
    for workload, sources in entry["sources"].items():
        ordered = [(name, strictest_level(t[0], t[1], version), t) for _rank, name, t in sorted(sources, key=lambda s: s[0])]
        workloads[workload] = min((level for _n, level, _t in ordered), key=LEVELS.index)
        judged[workload] = ordered
        own = next((level for name, level, _t in ordered if name == workload), None)
        templates = min((level for name, level, _t in ordered if not name.startswith("Pod/")), key=LEVELS.index, default=own)
        weaker: Dict[str, List[Tuple[str, str]]] = {}
        for name, level, _t in ordered:
            # a copy weaker than the template the owner has now, a pod weaker than every template: counted, and
            # said (the owner alone reads fine)
            than = templates if name.startswith("Pod/") else own
            if than is not None and name != workload and LEVELS.index(level) < LEVELS.index(than):
                weaker.setdefault(_why_copy(name, workload), []).append((name, level))
        for why, copies in weaker.items():
            names = [name for name, _level in copies]
            notes.append(f"{workload}: {f'its template passes {own}, ' if own else ''}{', '.join(names[:_SHOWN])}{_more(names)} "
                         f"({why}) only {min((lvl for _n, lvl in copies), key=LEVELS.index)} - counted")
    level = min(workloads.values(), key=LEVELS.index) if workloads else "restricted"
    following = LEVELS[min(LEVELS.index(level) + 1, 2)]
    blocking: List[Dict[str, Any]] = []
    for workload, ordered in judged.items():
        if workloads[workload] != level or level == "restricted":
            continue
        seen = set()
        for name, source_level, template in ordered:
            if source_level != level:
                continue
            for violation in violations(template[0], template[1], following, version):
                if violation not in seen:   # told once per workload, by the first that shows it
                    seen.add(violation)
                    blocking.append(dict(asdict(violation), workload=workload, **({"from": name} if name != workload else {})))
    no_enforce: List[str] = []
    if not workloads:
        no_enforce.append("no workloads: nothing here shows what pods will run")
    if entry["unread"]:
        unread = sorted(entry["unread"])
        no_enforce.append(f"pods made by {', '.join(unread[:_SHOWN])}{_more(unread)}, of a kind the advisor "
                          "does not read: its pods are made on demand from a spec it cannot see")
    asked = [f"{workload} {', '.join(keys)}" for workload, keys in entry["injection"].items()]
    injection = ([f"namespace {', '.join(entry['own_injection'])}"] if entry["own_injection"] else []) + asked[:_SHOWN]
    if injection:
        no_enforce.append(f"sidecar injection ({'; '.join(injection)}{_more(asked)}): a mutating webhook adds "
                          "containers no template shows (istio-init asks NET_ADMIN and NET_RAW)")
    return {"level": level, "workloads": workloads, "blocking": blocking, "notes": notes, "no_enforce": no_enforce}


def _more(items: Sequence[Any]) -> str:
    return f" (+{len(items) - _SHOWN} more)" if len(items) > _SHOWN else ""


LABEL = "pod-security.kubernetes.io/"


def with_labels(advice: Dict[str, Dict[str, Any]], namespaces: Sequence[Mapping[str, Any]],
                exempt: Sequence[str] = (), cluster_default: Optional[str] = None) -> Dict[str, Dict[str, Any]]:
    """The advice beside what each namespace enforces now (its labels; unlabeled: the cluster default, the
    admission configuration's enforce level - privileged when it has none)."""
    labels = {_meta(n).get("name"): _meta(n).get("labels") or {} for n in namespaces}
    default = cluster_default if cluster_default in LEVELS else None
    for name, entry in advice.items():
        own = labels.get(name) or {}
        entry["labels"] = {mode: own.get(LABEL + mode) for mode in ("enforce", "audit", "warn")}
        entry["exempt"] = name in exempt
        entry["cluster_default"] = default
        enforced = entry["labels"]["enforce"]
        if entry["exempt"]:
            entry["finding"] = "exempt (kube_pod_security_exemptions_namespaces)"
        elif enforced in LEVELS and LEVELS.index(enforced) > LEVELS.index(entry["level"]):
            entry["finding"] = f"enforces {enforced}, stricter than what runs: new pods like them are refused"
        elif enforced in LEVELS and LEVELS.index(enforced) < LEVELS.index(entry["level"]):
            entry["finding"] = f"enforces {enforced}; everything here passes {entry['level']}"
        elif enforced is None and default is not None and LEVELS.index(default) > LEVELS.index(entry["level"]):
            # unlabelled: the cluster default admits the pods here, and what runs passes less
            entry["finding"] = (f"no enforce label: the cluster default enforces {default}, stricter than what runs "
                                f"(passes only {entry['level']}): new pods like them are refused")
        elif enforced is None:
            entry["finding"] = (f"no enforce label (the cluster default{' ' + default if default else ''} applies); "
                                f"everything here passes {entry['level']}")
        else:
            entry["finding"] = f"enforces {enforced}, as strict as what runs"
    return advice


def summary_lines(advice: Mapping[str, Mapping[str, Any]]) -> List[str]:
    lines = []
    for name, entry in advice.items():
        line = f"{name}: passes {entry['level']} ({len(entry['workloads'])} workloads) - {entry.get('finding', '')}".rstrip(" -")
        if entry.get("no_enforce") and not entry.get("exempt"):
            line += f"; enforce not advised - {'; '.join(entry['no_enforce'])}"
        lines.append(line)
    return lines


def markdown(advice: Mapping[str, Mapping[str, Any]], version_text: str) -> str:
    lines = [f"# Pod Security advisor (policy {version_text})", "",
             "The strictest Pod Security Standard every running pod and every workload template of each namespace",
             "passes (older ReplicaSets of a Deployment and running Jobs of a CronJob counted under their owner),",
             "beside what the namespace enforces now.", "",
             "| namespace | passes | enforce | audit | warn | finding |", "|---|---|---|---|---|---|"]
    for name, entry in advice.items():
        labels = entry.get("labels") or {}
        lines.append(f"| {name} | {entry['level']} | {labels.get('enforce') or '-'} | {labels.get('audit') or '-'} | "
                     f"{labels.get('warn') or '-'} | {entry.get('finding', '')} |")
    for name, entry in advice.items():
        if entry["blocking"]:
            following = LEVELS[min(LEVELS.index(entry["level"]) + 1, 2)]
            lines += ["", f"## {name}: what keeps it from {following}", ""]
            lines += [f"- {b['workload']}{' (' + b['from'] + ')' if b.get('from') else ''} {b['where']}: {b['field']}={b['value']} "
                      f"({b['check']})" for b in entry["blocking"]]
        said = list(entry.get("notes") or []) + [f"enforce not advised - {reason}" for reason in entry.get("no_enforce") or []
                                                 if not entry.get("exempt")]
        if said:
            lines += ["", f"## {name}: notes", ""] + [f"- {note}" for note in said]
    return "\n".join(lines) + "\n"
