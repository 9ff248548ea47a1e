"""Write several whole files in one module call (config files a component reads), with backups,
check mode and per-file diffs."""

from __future__ import annotations

import grp
import os
import pwd
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .fileops import backup_file, record_created, write_atomically
from . import write_policy


def _ids(owner: Optional[str], group: Optional[str]):
    uid = pwd.getpwnam(owner).pw_uid if owner else None
    gid = grp.getgrnam(group).gr_gid if group else None
    return uid, gid


_NOT_A_MAPPING = "__not_a_mapping__"


def _document(text: str) -> Any:
    """The YAML mapping a file holds, or _NOT_A_MAPPING (not YAML, a list, passwd-like lines). Each text is
    parsed once: the kind check and the changed keys read the same document."""
    from ..base.yaml_support import safe_load, yaml  # late: PyYAML is optional where this module is imported (only this path parses YAML)
    try:
        document = safe_load(text)
    except (ValueError, yaml.YAMLError):
        return _NOT_A_MAPPING
    return document if isinstance(document, dict) else _NOT_A_MAPPING


def _kind(document: Any) -> Optional[str]:
    """The `kind:` of a document: None for a mapping without one (a damaged file of ours is repaired),
    _NOT_A_MAPPING for anything else."""
    if not isinstance(document, dict):
        return _NOT_A_MAPPING
    return document.get("kind") if isinstance(document.get("kind"), str) else None


def _changed_keys(old: Any, new: Any, limit: int = 6) -> List[str]:
    """Which keys of the YAML mapping we write differ from the file on the node, as dotted paths of our own key
    names - never a value, and never a name only the node's file has (it may be anyone's: a planted key could
    carry a secret or mimic this list); those are counted. Empty when either is not a mapping (the caller says
    "~ content" alone)."""
    found: List[str] = []
    theirs_only = [0]

    def walk(old: Any, new: Any, path: str) -> None:
        if len(found) > limit:
            return
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted((k for k in new if isinstance(k, str)), key=str):
                walk(old.get(key), new[key], f"{path}.{key}" if path else key)
            theirs_only[0] += sum(1 for k in old if not (isinstance(k, str) and k in new))
        elif old != new:
            found.append(path or "(document)")

    if not isinstance(old, dict) or not isinstance(new, dict):
        return []
    walk(old, new, "")
    shown = found[:limit] + (["more"] if len(found) > limit else [])
    return shown + ([f"{theirs_only[0]} key(s) only in the file on the node"] if theirs_only[0] else [])


def plan_file(spec: Mapping[str, Any]) -> Dict[str, Any]:
    """What would change for one {path, content, mode, owner, group} (no writes). Raises ValueError for a
    path the write policy refuses, and for an existing file that is not one of ours: a config of another
    kind than ours (an audit policy path naming someone's file, say) is never replaced."""
    path = spec["path"]
    mode = int(str(spec.get("mode") or "0600"), 8)
    exists = write_policy.checked_target(path) is not None
    before = ""
    if exists:
        with open(path, encoding="utf-8", errors="replace") as handle:
            before = handle.read()
        ours_document, theirs_document = _document(spec["content"]), _document(before)
        ours, theirs = _kind(ours_document), _kind(theirs_document)
        if ours not in (None, _NOT_A_MAPPING) and before.strip() and theirs not in (None, ours):
            raise ValueError(f"{path} holds {'something that is not a ' + ours if theirs == _NOT_A_MAPPING else 'a ' + theirs}, "
                             f"not the {ours} this run writes there: it is not ours, nothing was written (point the "
                             "variable at a file of its own, or move that file away)")
    changes: List[str] = []
    if not exists:
        changes.append("+ created")
    elif before != spec["content"]:
        keys = _changed_keys(theirs_document, ours_document)
        changes.append(f"~ content ({', '.join(keys)})" if keys else "~ content")
    if exists:
        stat = os.stat(path)
        if stat.st_mode & 0o7777 != mode:
            changes.append(f"~ mode: {stat.st_mode & 0o7777:04o} -> {mode:04o}")
        uid, gid = _ids(spec.get("owner"), spec.get("group"))
        if (uid is not None and stat.st_uid != uid) or (gid is not None and stat.st_gid != gid):
            changes.append(f"~ owner: {stat.st_uid}:{stat.st_gid} -> {spec.get('owner')}:{spec.get('group')}")
    return {"path": path, "mode": mode, "before": before, "exists": exists, "changes": changes}


def apply_files(specs: Sequence[Mapping[str, Any]], check_mode: bool, backup: bool, backup_root: str,
                backup_set: str) -> List[Dict[str, Any]]:
    results = []
    for spec in specs:
        plan = plan_file(spec)
        if plan["changes"] and not check_mode:
            if backup and plan["exists"]:
                plan["backup_file"] = backup_file(spec["path"], backup_root, backup_set)
            elif backup:
                record_created(spec["path"], backup_root, backup_set)
            os.makedirs(os.path.dirname(spec["path"]), mode=0o700, exist_ok=True)
            if plan["before"] != spec["content"] or not plan["exists"]:
                write_atomically(spec["path"], spec["content"], plan["mode"])
            write_policy.checked_target(spec["path"], must_exist=True)
            write_policy.chmod_nofollow(spec["path"], plan["mode"])
            uid, gid = _ids(spec.get("owner"), spec.get("group"))
            write_policy.chown_nofollow(spec["path"], -1 if uid is None else uid, -1 if gid is None else gid)
        results.append(plan)
    return results
