"""kubectl with the admin kubeconfig, as our cluster-scope modules use it (reads as JSON, server-side
apply with our field manager, replace/create/delete for restores). The modules pass their run_command."""

from __future__ import annotations

import json
import os
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

Runner = Callable[..., Tuple[int, str, str]]
FIELD_MANAGER = "kubeguard.hardening"
# everything that runs pods or would: the pods themselves and every kind with a pod template
WORKLOADS = "pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs,replicationcontrollers"


class KubectlError(Exception):
    pass


class Kubectl:
    def __init__(self, run: Runner, binary: str, kubeconfig: str):
        self._run, self._base = run, [binary, "--kubeconfig", kubeconfig]

    def _call(self, args: Sequence[str], data: Optional[str] = None) -> str:
        if data is None:
            rc, out, err = self._run(self._base + list(args))
        else:
            rc, out, err = self._run(self._base + list(args), data=data, binary_data=False)
        if rc != 0:
            raise KubectlError(f"kubectl {' '.join(args[:4])}: {(err.strip() or out.strip())[:500]}")
        return out

    def get(self, kinds: str, namespace: Optional[str] = None) -> List[Dict[str, Any]]:
        scope = ["-n", namespace] if namespace else ["--all-namespaces"]
        out = self._call(["get", kinds, *scope, "-o", "json"])
        try:
            return json.loads(out).get("items") or []
        except ValueError as exc:
            raise KubectlError(f"kubectl get {kinds} returned no JSON: {exc}") from None

    def server_version(self) -> Optional[str]:
        """The apiserver's release as /version answers it (v1.31.4; k3s' v1.31.4+k3s1 -> v1.31.4; v1.31 when only
        major and minor are given); None when it cannot be read."""
        try:
            info = json.loads(self._call(["version", "-o", "json"])).get("serverVersion") or {}
        except (KubectlError, ValueError):
            return None
        match = re.match(r"v?([0-9]+\.[0-9]+\.[0-9]+)", str(info.get("gitVersion") or ""))
        if match:
            return "v" + match.group(1)
        major, minor = str(info.get("major") or "").rstrip("+"), str(info.get("minor") or "").rstrip("+")
        return f"v{major}.{minor}" if major.isdigit() and minor.isdigit() else None

    def can_i(self, verbs: str, resource: str, user: str) -> Optional[bool]:
        """The apiserver's authorizer answer for user in every namespace (None when it cannot be asked)."""
        rc, out, _ignored = self._run(self._base + ["auth", "can-i", verbs, resource, "--all-namespaces", f"--as={user}"])
        answer = out.strip().splitlines()[-1:] if out.strip() else []
        if answer == ["yes"]:
            return True
        if answer == ["no"]:
            return False
        return None

    def apply(self, objects: Sequence[Mapping[str, Any]]) -> None:
        """Server-side apply: we own only the fields we set (labels of a namespace, not the namespace)."""
        self._call(["apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", "-"],
                   json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))

    def exists(self, kind: str, namespace: Optional[str], name: str) -> bool:
        scope = ["-n", namespace] if namespace else []
        return bool(self._call(["get", kind, name, *scope, "--ignore-not-found", "-o", "name"]).strip())

    def get_one(self, kind: str, namespace: Optional[str], name: str) -> Optional[Dict[str, Any]]:
        """One object as the server has it; None when it does not exist."""
        scope = ["-n", namespace] if namespace else []
        out = self._call(["get", kind, name, *scope, "--ignore-not-found", "-o", "json"]).strip()
        try:
            return json.loads(out) if out else None
        except ValueError as exc:
            raise KubectlError(f"kubectl get {kind} {name} returned no JSON: {exc}") from None

    def replace(self, obj: Mapping[str, Any]) -> None:
        self._call(["replace", "-f", "-"], json.dumps(obj))

    def create(self, obj: Mapping[str, Any]) -> None:
        self._call(["create", "-f", "-"], json.dumps(obj))

    def delete(self, kind: str, namespace: Optional[str], name: str) -> None:
        scope = ["-n", namespace] if namespace else []
        self._call(["delete", kind, name, *scope, "--ignore-not-found"])


LEFT_SUFFIX = ".left.json"


def left_record(obj: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """What a run left an object as: its uid and resourceVersion (or absent). A rollback puts the saved
    copy back only while the object is still exactly this (nobody changed it since)."""
    if obj is None:
        return {"absent": True}
    meta = obj.get("metadata") or {}
    record = {"uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}
    if meta.get("generation") is not None:   # its spec's version: status updates (a pod restarting) do not move it
        record["generation"] = meta.get("generation")
    return record


def record_left(directory: str, filename: str, obj: Optional[Mapping[str, Any]]) -> str:
    """Record (and overwrite: the run's last change is what counts) what the run left an object as."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, filename + LEFT_SUFFIX)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(left_record(obj), handle, sort_keys=True)
    os.replace(tmp, path)
    return path


def save_object(directory: str, filename: str, obj: Mapping[str, Any]) -> str:
    """Keep an object in a backup set's .cluster-objects (0600; the first copy of a set wins)."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, filename)
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(obj, handle, indent=2, sort_keys=True)
    return path
