"""Node audit rules (GKE hardening checklist, CKS notes): the Linux audit system records who writes to, or
changes the attributes of, Kubernetes' configuration, PKI and binaries. One rules file in /etc/audit/rules.d
(auditctl syntax, loaded by augenrules where auditd runs), built per node from the platform's data
(`audit_rules` in plugins/module_utils/platform/platforms/*.yml): only paths whose directory exists there are watched
(the kernel refuses a watch whose directory is missing, and one bad line stops augenrules), and the container
runtime's churning state directories are excluded first.

The audit (K.21, K.22) reads what is really there: every rules file on the node, and the rules the kernel
has loaded (`auditctl -l`), never our own file alone."""

from __future__ import annotations

import glob
import os
import posixpath
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from . import integrity
from ..catalogue import checks
from .node_facts import run_tool

RULES_DIR = "/etc/audit/rules.d"
# augenrules concatenates rules.d in name order; the distributions' 10-base-config.rules deletes every
# rule (-D) first, so ours come after it and before the usual 30-stig / 99-finalize (-e 2).
PERMISSIONS = "wa"

Runner = Callable[[List[str]], Tuple[int, str]]


def watches(spec: Mapping[str, Any], paths: Mapping[str, Any], exists: Optional[Callable[[str], bool]] = None,
            locate: Optional[Callable[[str], Optional[str]]] = None) -> List[Tuple[str, str]]:
    """[(path, key)] of the platform's watch list that exist on this node, or whose directory does, each path
    once (the first key wins: the kernel reports the first rule that matches, so narrower paths come first)."""
    exists = exists or os.path.exists
    locate = locate or integrity.locate
    found: List[Tuple[str, str]] = []
    seen = set()
    for entry in spec.get("watch") or []:
        if "binary" in entry:
            path = locate(str(entry["binary"]))
        else:
            path = posixpath.normpath(str(entry["path"]).format(**paths))
            # the kernel watches a missing path through its directory: a file this run (or a later install)
            # creates is watched from the start, and the rules do not change once it exists
            path = path if exists(path) or exists(posixpath.dirname(path)) else None
        if path and path not in seen:
            seen.add(path)
            found.append((path, str(entry["key"])))
    return found


def exclusions(spec: Mapping[str, Any], extra: Sequence[str], exists: Optional[Callable[[str], bool]] = None) -> List[str]:
    """Directories no later rule records (platform data `exclude` + kubeguard_node_audit_exclude_dirs), where they exist."""
    exists = exists or os.path.isdir
    found: List[str] = []
    for path in list(spec.get("exclude") or []) + list(extra):
        path = posixpath.normpath(str(path))
        if path not in found and exists(path):
            found.append(path)
    return found


def build(spec: Mapping[str, Any], paths: Mapping[str, Any], extra_excluded: Sequence[str], backlog: int) -> str:
    """The node's rules file. ValueError when an excluded directory would hide a watched path."""
    watched = watches(spec, paths)
    excluded = exclusions(spec, extra_excluded)
    for directory in excluded:
        hidden = [path for path, _key in watched if _is_covered(path, [directory])]
        if hidden:
            raise ValueError(f"kubeguard_node_audit_exclude_dirs: {directory!r} would hide {', '.join(hidden)} from the audit "
                             "log; allowed: directories that hold none of the watched Kubernetes paths")
    return rules_text(watched, excluded, backlog)


def rules_text(watched: Sequence[Tuple[str, str]], excluded: Sequence[str], backlog: int) -> str:
    odd = [p for p in [*excluded, *(path for path, _key in watched)] if any(ch.isspace() or ord(ch) < 32 for ch in p)]
    if odd:   # one rule per line, words split on blanks: such a path would be another rule
        raise ValueError(f"audit rules: cannot watch {odd[0]!r} (whitespace or control characters in the path)")
    lines = ["## Managed by kubeguard.hardening: who changes Kubernetes' configuration, PKI and binaries.",
             "## Built from the paths whose directory exists on this node; a new run adds binaries installed later."]
    if backlog:
        lines += [f"-b {backlog}", "--backlog_wait_time 60000"]
    lines += ["## the container runtime's and pods' state: high volume, recorded by no rule after these"]
    lines += [f"-a never,exit -F dir={path}" for path in excluded]
    lines += [f"-w {path} -p {PERMISSIONS} -k {key}" for path, key in watched]
    return "\n".join(lines) + "\n"


def _covered_paths(text: str) -> List[str]:
    """Paths recorded on write and attribute change by the rules in text (auditctl syntax, or `auditctl -l`
    output): '-w P -p ..wa..' (a directory watch covers what is below it) and
    '-a always,exit ... -F dir=P|path=P -F perm=..wa..'."""
    covered = []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "-w" and len(words) > 1:
            perms = words[words.index("-p") + 1] if "-p" in words[:-1] else "rwxa"
            if "w" in perms and "a" in perms:
                covered.append(posixpath.normpath(words[1]))
        elif words[0] == "-a" and len(words) > 1 and set(words[1].split(",")) == {"always", "exit"}:
            fields = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))
            perms = fields.get("perm", "rwxa")
            target = fields.get("dir") or fields.get("path")
            if target and "w" in perms and "a" in perms:
                covered.append(posixpath.normpath(target))
    return covered


def _is_covered(path: str, covered: Sequence[str]) -> bool:
    return any(path == c or path.startswith(c.rstrip("/") + "/") for c in covered)


# what a rules file of ours would add (never-weaker judges the node with it: predicted.after_operations)
covered_paths = _covered_paths
is_covered = _is_covered


def observe(spec: Mapping[str, Any], paths: Mapping[str, Any], run: Optional[Runner] = None,
            rules_dir: str = RULES_DIR, locate: Optional[Callable[[str], Optional[str]]] = None) -> Dict[str, Any]:
    """What the node's audit system has: the paths that should be watched, which rules files watch them,
    and (where auditd runs) which the kernel has loaded."""
    run = run or run_tool
    wanted = [path for path, _key in watches(spec, paths, locate=locate)]
    in_files: List[str] = []
    for name in sorted(glob.glob(os.path.join(rules_dir, "*.rules"))):
        try:
            with open(name, encoding="utf-8", errors="replace") as handle:
                in_files += _covered_paths(handle.read())
        except OSError:
            continue
    rc, status = run(["auditctl", "-s"])
    fields = dict(line.split(None, 1) for line in status.splitlines() if len(line.split(None, 1)) == 2) if rc == 0 else {}
    enabled = fields.get("enabled", "").strip()
    daemon = fields.get("pid", "0").strip() not in ("0", "")
    loaded: Optional[List[str]] = None
    if rc == 0 and enabled in ("1", "2"):
        rc_list, listed = run(["auditctl", "-l"])
        loaded = _covered_paths(listed) if rc_list == 0 else None
    reason = (status.strip().splitlines() or ["auditctl failed"])[-1][:160] if rc != 0 else \
        ("auditing is disabled in the kernel (auditctl -e 0)" if enabled not in ("1", "2") else
         "auditd is not running (no daemon receives the records)" if not daemon else "")
    return {"wanted": wanted, "missing_in_files": [p for p in wanted if not _is_covered(p, in_files)],
            # None: nothing loads rules here; else the wanted paths the kernel does not watch
            "not_loaded": None if loaded is None else [p for p in wanted if not _is_covered(p, loaded)],
            "auditd_running": rc == 0 and enabled in ("1", "2") and daemon, "immutable": enabled == "2",
            "not_loaded_reason": reason}


def evaluate(kind: str, state: Mapping[str, Any]) -> Optional[checks.Outcome]:
    """K.21 (rules present in /etc/audit/rules.d) and K.22 (loaded): None = cannot be judged here (manual)."""
    seen = state.get("node_audit")
    if not seen:
        return None
    if not seen["wanted"]:
        return checks.Outcome(True, "none of the platform's Kubernetes paths exist on this node")
    if kind == "present":
        missing = seen["missing_in_files"]
        if missing:
            return checks.Outcome(False, f"not watched by any rules file in {RULES_DIR}: {', '.join(missing)}")
        return checks.Outcome(True, f"{len(seen['wanted'])} paths watched for writes and attribute changes in {RULES_DIR}")
    if kind == "loaded":
        if seen["not_loaded"] is None:
            # present or not, nothing loads them here: said, not judged (a container, a node without auditd)
            return checks.Outcome(None, f"not loaded: {seen['not_loaded_reason']}")
        note = "".join(f"; {text}" for text in (
            "the rules are immutable (-e 2) until the next boot" if seen["immutable"] else "",
            seen["not_loaded_reason"]) if text)
        if seen["not_loaded"]:
            return checks.Outcome(False, f"the kernel does not watch {', '.join(seen['not_loaded'])} (auditctl -l){note}")
        return checks.Outcome(True, f"the kernel watches all {len(seen['wanted'])} paths (auditctl -l){note}")
    raise ValueError(f"unknown node audit check {kind!r}")
