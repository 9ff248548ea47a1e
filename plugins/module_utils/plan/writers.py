"""The writers as a table: per operation kind (node_operations.operations emits them), how to plan it on the
node - what it would change, without writing - and the module a role applies it with. node_plan.evaluate
looks a kind up here; a writer module of ours plans with the same function of formats/ or observe/ that its
row calls (static_pod: manifest.static_pod_edit, env_file: envfile.plan_edit, containerd_config:
containerd.plan_edit, k3s_config: k3s_config.plan, config_files: multifile.plan_file, file_modes:
permissions.plan), so the plan says what the module then does. Kinds that are not a write of their own are
listed apart (APART), each with why. Runs on the node."""

from __future__ import annotations

import os
import pwd
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence

from ..formats import envfile, k3s_config, multifile, permissions
from ..formats.fileops import plan_yaml_edit, read_text
from ..formats.kubelet_config import merge_fields
from ..formats.manifest import static_pod_edit
from ..observe import containerd
from .node_operations import config_hash

CONFIG_HASH_ANNOTATION = "kubeguard.io/config-hash"


class Context(NamedTuple):
    """What a kind's plan reads besides its own arguments."""
    ops: Mapping[str, Any]                       # the component's operations, every kind
    found: Sequence[str]                         # what its operations listed before this one change
    encryption: Optional[Mapping[str, Any]]      # its encryption config as it is, when the run keeps it


class Writer(NamedTuple):
    """One row: plan(args, context) -> the changes (one line each, naming the path or the object), and the
    module a role passes the same arguments to (FQCN)."""
    plan: Callable[[Mapping[str, Any], Context], List[str]]
    module: str


def _mode(mode: Any) -> Optional[int]:
    return None if mode is None else int(str(mode), 8)


def _at(path: str, changes: Sequence[str]) -> List[str]:
    return [f"{path}: {change}" for change in changes]


def _yaml_edit(path: str, transform, mode: Any) -> List[str]:
    plan = plan_yaml_edit(path, transform, _mode(mode))
    return _at(path, plan["changes"]) if plan["changed"] else []


def static_pod(args: Mapping[str, Any], context: Context) -> List[str]:
    """As the role calls static_pod: a component whose pod reads files (config_hash_files) gets the hash of
    those files and of its encryption config as an annotation, and a restart is required only when a file
    it reads changes in this run (kubeadm upgrade's rewrite without the annotation restarts nothing)."""
    annotations = dict(args.get("annotations") or {})
    restart = True
    ops = context.ops
    if "config_hash_files" in ops:
        annotations[CONFIG_HASH_ANNOTATION] = config_hash([ops["config_hash_files"], context.encryption])
        # every file the pod reads, the audit policy too (written by the audit step, not this component's config_files)
        restart = bool(context.found) or any(multifile.plan_file(spec)["changes"] for spec in ops["config_hash_files"])
    return _yaml_edit(args["path"], static_pod_edit(dict(args, annotations=annotations, restart_required=restart)),
                      args.get("mode"))


def k3s(args: Mapping[str, Any], _context: Context) -> List[str]:
    return _at(args["path"], k3s_config.plan(args["path"], args.get("lists") or {}, args.get("top") or {},
                                             _mode(args.get("mode")))["changes"])


def kubelet_config(args: Mapping[str, Any], _context: Context) -> List[str]:
    return _yaml_edit(args["path"], lambda config: merge_fields(config, args["fields"]), args.get("mode"))


def env_file(args: Mapping[str, Any], _context: Context) -> List[str]:
    return _at(args["path"], envfile.plan_edit(args["path"], args["variables"])["changes"])


def config_files(args: Mapping[str, Any], _context: Context) -> List[str]:
    return [line for spec in args["files"] for line in _at(spec["path"], multifile.plan_file(spec)["changes"])]


def file_modes(args: Mapping[str, Any], _context: Context) -> List[str]:
    # an owner that does not exist yet (the etcd user this run creates) counts as a change, as in check mode
    return [permissions.describe(c) for c in permissions.plan(args["entries"], allow_unknown=True)]


def containerd_config(args: Mapping[str, Any], _context: Context) -> List[str]:
    return _at(args["path"], containerd.plan_edit(args["path"], args["variables"])["changes"])


def absent(args: Mapping[str, Any], _context: Context) -> List[str]:
    return [f"{args['path']}: removed"] if os.path.lexists(args["path"]) else []


def exists(args: Mapping[str, Any], _context: Context) -> List[str]:
    return [] if os.path.exists(args["path"]) else [f"{args['path']}: missing"]


def directory(args: Mapping[str, Any], _context: Context) -> List[str]:
    """A directory the run creates when missing; one that exists was not ours to create, and its
    mode and owner are left as they are (it may be shared: /var/log/audit, a mount point)."""
    return [] if os.path.isdir(args["path"]) else [f"{args['path']}: created"]


def user(args: Mapping[str, Any], _context: Context) -> List[str]:
    try:
        pwd.getpwnam(args["name"])
        return []
    except KeyError:
        return [f"user {args['name']}: created"]


def sysctls(args: Mapping[str, Any], _context: Context) -> List[str]:
    found = []
    for name, value in args.items():
        current = read_text("/proc/sys/" + name.replace(".", "/"))
        if current is None or current.strip() != str(value):
            found.append(f"{name}: {None if current is None else current.strip()} -> {value}")
    return found


def audit_rules(args: Mapping[str, Any], _context: Context) -> List[str]:
    """What plan_node saw loaded; a rules file that changes is loaded anyway (its config_files row says so)."""
    return [f"audit rules not loaded: the kernel does not watch {path}" for path in args["not_loaded"]]


WRITERS: Dict[str, Writer] = {
    "static_pod": Writer(static_pod, "kubeguard.hardening.static_pod"),
    "k3s_config": Writer(k3s, "kubeguard.hardening.k3s_config"),
    "kubelet_config": Writer(kubelet_config, "kubeguard.hardening.kubelet_config"),
    "env_file": Writer(env_file, "kubeguard.hardening.env_file"),
    "config_files": Writer(config_files, "kubeguard.hardening.config_files"),
    "file_modes": Writer(file_modes, "kubeguard.hardening.file_modes"),
    "containerd_config": Writer(containerd_config, "kubeguard.hardening.containerd_config"),
    "absent": Writer(absent, "ansible.builtin.file"),                            # state: absent
    # the kubelet writes its serving certificate once its CSR is approved
    "exists": Writer(exists, "kubeguard.hardening.kubelet_serving_csr"),
    "directory": Writer(directory, "ansible.builtin.command"),                   # install -d, creates: the path
    "user": Writer(user, "ansible.builtin.user"),
    "sysctls": Writer(sysctls, "ansible.builtin.command"),                       # sysctl -p of the sysctl file
    "audit_rules": Writer(audit_rules, "ansible.builtin.command"),               # augenrules --load
}

APART: Dict[str, str] = {
    "encryption": "a write (encryption_config), planned first and apart: keys never shown, the config as it is feeds "
                  "the static pod's config-hash, and its fingerprint is the plan's (node_plan.encryption_state)",
    "config_hash_files": "what the static pod's config-hash annotation hashes (read by the static_pod row)",
    "service": "the unit the role restarts and judges after the writes; restarting is not a change of the node's files",
    "health": "how the component shows it is back (the role's health gate)",
    "kubeadm_records": "kubeadm's own records (kubeadm_config), written through the cluster's API, not on the node",
    "exposed": "the metrics listeners the firewall covers, said to the user",
}
