"""Make files at most as permissive as CIS allows, and owned as asked. A mode here is a ceiling:
0600 turns 0644 into 0600 but leaves 0400 alone, as the benchmark says "600 or more restrictive"."""

from __future__ import annotations

import fnmatch
import glob
import grp
import os
import pwd
from typing import Any, Dict, List, Mapping, Optional, Sequence

from . import write_policy


def expand(entry: Mapping[str, Any]) -> List[str]:
    """Paths an entry names: a glob, and with recurse every file and directory below a directory,
    less those whose base name matches one of the entry's exclude patterns. Symlinks are listed (they
    are judged by their target, never descended into, never written through)."""
    paths = sorted(glob.glob(entry["path"])) if any(c in entry["path"] for c in "*?[") else (
        [entry["path"]] if os.path.lexists(entry["path"]) else [])
    result: List[str] = []
    for path in paths:
        result.append(path)
        if entry.get("recurse") and os.path.isdir(path) and not os.path.islink(path):
            for dirpath, dirnames, filenames in os.walk(path):
                result.extend(os.path.join(dirpath, n) for n in sorted(dirnames) + sorted(filenames))
    excluded = entry.get("exclude") or []
    return [p for p in result if not any(fnmatch.fnmatch(os.path.basename(p), pattern) for pattern in excluded)]


UNKNOWN = -2  # a user/group that does not exist yet (created by an earlier task that check mode skipped)


def _lookup(owner: Optional[str], group: Optional[str], allow_unknown: bool = False):
    def resolve(getter, name):
        if not name:
            return None
        try:
            return getter(name)
        except KeyError:
            if allow_unknown:
                return UNKNOWN
            raise ValueError(f"user or group {name!r} does not exist on this node (kube_owner / kube_cert_group:"
                             " kubespray creates kube and kube-cert; the hardening guide uses root)") from None
    return resolve(lambda n: pwd.getpwnam(n).pw_uid, owner), resolve(lambda n: grp.getgrnam(n).gr_gid, group)


def plan(entries: Sequence[Mapping[str, Any]], allow_unknown: bool = False) -> List[Dict[str, Any]]:
    """Per path: the wanted mode / uid / gid where they differ from what is on disk. With
    allow_unknown (check mode) a missing user or group counts as a change instead of an error."""
    changes: List[Dict[str, Any]] = []
    for entry in entries:
        seen = set()   # a file and a link to it in one entry: one change
        ceiling = int(str(entry["mode"]), 8) if entry.get("mode") else None
        dir_ceiling = int(str(entry.get("dir_mode") or entry.get("mode") or "0"), 8) or None
        uid, gid = _lookup(entry.get("owner"), entry.get("group"), allow_unknown)
        for listed in expand(entry):
            path, link = listed, None
            if os.path.islink(listed):
                # judged by its target: admin.conf -> a 0666 file is a 0666 admin.conf. The target is tightened
                # itself (never through the link), only where the write policy lets us write.
                path, link = os.path.realpath(listed), listed
                if not os.path.exists(path):
                    continue
                try:
                    problem = write_policy.link_problem(link)
                    if problem:
                        raise write_policy.UnsafeTarget(problem)
                    write_policy.checked_target(path)
                except write_policy.UnsafeTarget as exc:
                    changes.append({"path": path, "link": link, "refused": str(exc)})
                    continue
            if path in seen:
                continue
            seen.add(path)
            if link is None:
                try:   # the platform data names it: the deny list yields, the other rules do not
                    write_policy.checked_target(path, declared=True)
                except write_policy.UnsafeTarget as exc:
                    changes.append({"path": path, "link": path, "refused": str(exc)})
                    continue
            stat = os.lstat(path)
            current = stat.st_mode & 0o7777
            limit = dir_ceiling if os.path.isdir(path) else ceiling
            wanted = current & limit if limit is not None else current
            change: Dict[str, Any] = {"path": path}
            if link:
                change["link"] = link
            if wanted != current:
                change["mode"] = (current, wanted)
            if uid is not None and stat.st_uid != uid or gid is not None and stat.st_gid != gid:
                change["owner"] = ((stat.st_uid, stat.st_gid), (uid if uid is not None else stat.st_uid,
                                                                gid if gid is not None else stat.st_gid))
            if "mode" in change or "owner" in change:
                changes.append(change)
    return changes


def apply(changes: Sequence[Mapping[str, Any]]) -> None:
    """Carry out plan(); a path that became a symlink or someone else's since is refused (write policy)."""
    for change in changes:
        if change.get("refused"):
            continue
        # a link's target is not named by the platform data: it is held to the whole policy
        write_policy.checked_target(change["path"], must_exist=True, declared="link" not in change)
        # mode first: a key file is never readable by its new group at a looser mode, not even for an instant
        if "mode" in change:
            write_policy.chmod_nofollow(change["path"], change["mode"][1])
        if "owner" in change:
            uid, gid = change["owner"][1]
            write_policy.chown_nofollow(change["path"], uid, gid)


def describe(change: Mapping[str, Any]) -> str:
    if change.get("refused"):
        return f"{change['link']} -> {change['path']}: not changed ({change['refused']})"
    parts = []
    if "mode" in change:
        parts.append(f"mode {change['mode'][0]:04o} -> {change['mode'][1]:04o}")
    if "owner" in change:
        (u0, g0), (u1, g1) = change["owner"]
        parts.append(f"owner {u0}:{g0} -> {'(new user)' if u1 == UNKNOWN else u1}:{'(new group)' if g1 == UNKNOWN else g1}")
    where = f"{change['link']} -> {change['path']}" if change.get("link") else change["path"]
    return f"{where}: " + ", ".join(parts)
