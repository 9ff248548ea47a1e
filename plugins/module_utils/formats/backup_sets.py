"""Backup sets: where they are, whether one may be trusted, and what restoring one does.

A set is <backup_root>/<name>/<original path>, written by fileops.backup_file before a run changes a
file (and .created lists the files a run created). A restore
  - takes only a set name of [A-Za-z0-9._-], inside the backup root, and only a set that root alone
    could have written (root's directories, no group/other write, regular files, no symlinks);
  - writes each file through write_policy.write_new (0600 temp file, owner and mode before content,
    never through a symlink, never over a file that is not ours);
  - never loses key material: an encryption config is kept as the node has it (encryption='keep'), or
    merged (encryption='merge': the set's order of providers, every key present now kept to read with),
    never deleted; a kube-apiserver manifest put back keeps --encryption-provider-config pointing at it.
"""

from __future__ import annotations

import os
import re
import stat as stat_module
from typing import Any, Dict, List, Optional

from ..base.component_names import APISERVER
from . import write_policy

# Imports of manifest, k3s_config, key_rotation and yaml_support are late: they need PyYAML, only a restore of
# their kind needs them, and fileops imports this module where PyYAML may be missing.
# the records a set holds beside the saved files (fileops writes them, a restore reads them)
CREATED_LIST = ".created"
# API objects (ConfigMaps, RoleBindings) saved in a backup set: not node files, so never "restored" to a path.
CLUSTER_OBJECTS_DIR = ".cluster-objects"

SET_NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")
ENCRYPTION_FLAG = "encryption-provider-config"
MAX_CONFIG_BYTES = 4 << 20


class UnsafeBackupSet(ValueError):
    """A set name or set that a restore must not use."""


def set_dir(backup_root: str, name: Any) -> str:
    """The set's directory; the name must be a plain set name (never a path: '/etc', '../x' are refused)."""
    if not isinstance(name, str) or not SET_NAME.fullmatch(name) or name in (".", ".."):
        raise UnsafeBackupSet(f"backup set {name!r}: a set name is 1-128 letters, digits, '.', '_' or '-'")
    if not os.path.isabs(backup_root):
        raise UnsafeBackupSet(f"backup root {backup_root!r} is not an absolute path")
    return os.path.join(backup_root, name)


def _trusted_dir(path: str, what: str) -> None:
    try:
        stat = os.lstat(path)
    except FileNotFoundError:
        raise UnsafeBackupSet(f"{what} {path} does not exist") from None
    if not stat_module.S_ISDIR(stat.st_mode):
        raise UnsafeBackupSet(f"{what} {path} is not a directory (a symlink is never followed)")
    if stat.st_uid != os.geteuid():
        raise UnsafeBackupSet(f"{what} {path} is owned by uid {stat.st_uid}, not root: not written by a hardening run")
    if stat.st_mode & 0o022:
        raise UnsafeBackupSet(f"{what} {path} is writable by others (mode {stat.st_mode & 0o7777:04o}): its files cannot be trusted")


def check_set(backup_root: str, name: str) -> str:
    """The set's directory, once it is proven root's own: every directory root's and not writable by
    others, every entry a directory or a regular file. Raises UnsafeBackupSet saying what is wrong."""
    base = set_dir(backup_root, name)
    _trusted_dir(backup_root, "backup root")
    _trusted_dir(base, "backup set")
    for dirpath, dirnames, filenames in os.walk(base):
        for entry in dirnames:
            _trusted_dir(os.path.join(dirpath, entry), "directory in backup set")
        for entry in filenames:
            path = os.path.join(dirpath, entry)
            if not stat_module.S_ISREG(os.lstat(path).st_mode):
                raise UnsafeBackupSet(f"{path} in backup set {name} is not a regular file (never followed)")
    return base


def sets(backup_root: str) -> Dict[str, float]:
    """Every set's name and time (the newest mtime of what it holds)."""
    found: Dict[str, float] = {}
    try:
        names = os.listdir(backup_root)
    except (FileNotFoundError, NotADirectoryError):
        return found
    for name in names:
        path = os.path.join(backup_root, name)
        if SET_NAME.fullmatch(name) and os.path.isdir(path) and not os.path.islink(path):
            found[name] = os.stat(path).st_mtime
    return found


RUN_ID = re.compile(r"(?P<time>[0-9]{8}T[0-9]{6}Z)(?:-(?P<step>stage|promote|retire))?")
_STEP_ORDER = {None: 0, "stage": 1, "promote": 2, "retire": 3}


def run_order(name: str, mtime: float) -> tuple:
    """Sort key of a set, newest last: a run id (the controller's UTC time when the run started, the same on
    every node whatever their clocks) by that time and its rotation step; a set you named by when it was written."""
    import calendar
    import time
    match = RUN_ID.fullmatch(name)
    if match:
        when = calendar.timegm(time.strptime(match.group("time"), "%Y%m%dT%H%M%SZ"))
        return (when, _STEP_ORDER[match.group("step")], name)
    return (mtime, 0, name)


def newest_run(listings: List[Dict[str, Any]]) -> Optional[str]:
    """The set a rollback restores on every node: the newest over every node's listing (ansible.builtin.find
    results: {'files': [{'path', 'mtime'}]}); None when no node has one."""
    found = [(os.path.basename(str(f.get("path", ""))), float(f.get("mtime") or 0))
             for listing in listings or [] for f in (listing or {}).get("files") or []]
    found = [(name, mtime) for name, mtime in found if SET_NAME.fullmatch(name) and not name.startswith(".")]
    return max(found, key=lambda item: run_order(*item))[0] if found else None


def created_in_set(base: str) -> List[str]:
    try:
        with open(os.path.join(base, CREATED_LIST), encoding="utf-8") as handle:
            return [line.strip() for line in handle if line.strip().startswith("/")]
    except FileNotFoundError:
        return []


def files_in_set(base: str) -> List[str]:
    """Original paths of the files a set holds (not its own records nor the cluster objects)."""
    found = []
    for dirpath, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if not (dirpath == base and d == CLUSTER_OBJECTS_DIR)]
        found.extend("/" + os.path.relpath(os.path.join(dirpath, f), base) for f in files
                     if not (dirpath == base and f == CREATED_LIST))
    return sorted(found)


def _read_nofollow(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def _yaml_doc(data: Optional[bytes]) -> Any:
    from ..base.yaml_support import safe_load, yaml  # late: PyYAML is optional where this module is imported (only this path parses YAML)
    if data is None or len(data) > MAX_CONFIG_BYTES:
        return None
    try:
        return safe_load(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _encryption_config(data: Optional[bytes]) -> Optional[Dict[str, Any]]:
    doc = _yaml_doc(data)
    return doc if isinstance(doc, dict) and doc.get("kind") == "EncryptionConfiguration" else None


def _current(path: str) -> Optional[bytes]:
    try:
        if stat_module.S_ISREG(os.lstat(path).st_mode):
            return _read_nofollow(path)
    except (FileNotFoundError, NotADirectoryError):
        pass
    return None


def _dump(doc: Any) -> bytes:
    from .manifest import dump_yaml   # late: PyYAML (see the top)
    return dump_yaml(doc).encode("utf-8")


def _keep_encryption_flag(restored: bytes, current: Optional[bytes]) -> Optional[bytes]:
    """A kube-apiserver manifest put back that would drop (or repoint) the encryption config the
    apiserver reads now: the same manifest keeping the current flag and its mount (None: no change)."""
    from .manifest import ManifestError, ensure_host_paths, find_container, load_manifest, parse_flags, set_flags, _flag_list   # late: PyYAML (see the top)
    try:
        old_pod, now_pod = load_manifest(restored.decode("utf-8")), load_manifest((current or b"").decode("utf-8"))
        old_container, now_container = find_container(old_pod, APISERVER), find_container(now_pod, APISERVER)
    except (ManifestError, ValueError, UnicodeDecodeError, AttributeError, TypeError):
        return None
    now_flags = parse_flags(_flag_list(now_container))
    path = now_flags.get(ENCRYPTION_FLAG)
    # only a manifest from before encryption was on (no flag at all); one naming another config is the
    # user's own choice from then, and a config that does not parse is not one to keep the apiserver on
    if not path or parse_flags(_flag_list(old_container)).get(ENCRYPTION_FLAG) is not None \
            or _encryption_config(_current(path)) is None:
        return None
    set_flags(_flag_list(old_container), {ENCRYPTION_FLAG: path})
    ensure_host_paths(old_pod, old_container, [{"name": "kubeguard-encryption", "path": os.path.dirname(path),
                                                "type": "DirectoryOrCreate", "read_only": True}])
    return _dump(old_pod)


K3S_ENCRYPTION = ("secrets-encryption", "secrets-encryption-provider")


def _keep_k3s_encryption(restored: bytes, current: Optional[bytes]) -> Optional[bytes]:
    """A k3s config.yaml put back from before `secrets-encryption` was on (or with another provider): the same
    file keeping the current encryption options, so k3s still decrypts what it stored with its keys (k3s keeps
    the keys themselves in its own encryption config, which a restore never touches). None: no change."""
    from .k3s_config import K3sConfigError, edit   # late: PyYAML (see the top)
    now, then = _yaml_doc(current), _yaml_doc(restored)
    if not isinstance(now, dict) or not isinstance(then, dict) or now.get("secrets-encryption") not in (True, "true"):
        return None
    keep = {key: now[key] for key in K3S_ENCRYPTION if key in now and then.get(key) != now[key]}
    if not keep:
        return None
    try:
        text, _changes = edit(restored.decode("utf-8"), {}, keep)
    except (K3sConfigError, UnicodeDecodeError):
        return None
    return text.encode("utf-8")


def plan_restore(backup_root: str, name: str, paths: Optional[List[str]] = None, remove_created: bool = True,
                 encryption: str = "keep") -> Dict[str, Any]:
    """What restoring a set does, without writing: {'writes': [(path, bytes, mode, uid, gid, why)],
    'removes': [path], 'kept': [(path, why)]}. Raises UnsafeBackupSet for a set not to be trusted."""
    if encryption not in ("keep", "merge"):
        raise ValueError(f"encryption={encryption!r}: one of keep, merge")
    base = check_set(backup_root, name)
    available = files_in_set(base)
    created = created_in_set(base) if remove_created else []
    wanted = paths if paths is not None else sorted(set(available) | set(created))
    writes, removes, kept = [], [], []
    for original in wanted:
        if not isinstance(original, str) or not os.path.isabs(original) or os.path.normpath(original) != original:
            raise UnsafeBackupSet(f"{original!r}: not an absolute normalised path")
        copy_path = os.path.join(base, original.lstrip("/"))
        current = _current(original)
        has_copy = os.path.lexists(copy_path)
        saved = _read_nofollow(copy_path) if has_copy else None
        current_keys = _encryption_config(current)
        if current_keys is not None and (saved is not None or original in created):
            if encryption == "keep":
                kept.append((original, "encryption config kept as it is: stored objects may be encrypted with its keys"
                                       " (kubeguard_restore_encryption: true with a named set restores which key writes)"))
                continue
            from .key_rotation import RotationError, merge_for_restore   # late: PyYAML (see the top)
            try:
                merged = merge_for_restore(current_keys, _encryption_config(saved))
            except RotationError as exc:
                kept.append((original, str(exc)))
                continue
            if merged == current_keys:
                continue
            source = os.lstat(copy_path) if has_copy else os.lstat(original)
            writes.append((original, _dump(merged), 0o600, source.st_uid, source.st_gid,
                           "encryption config: the set's writing key restored, every current key kept to read"))
            continue
        if saved is None:
            if original in created and current is not None:
                removes.append(original)
            continue
        kept_flag = _keep_encryption_flag(saved, current) if b"kube-apiserver" in saved else None
        if kept_flag is None and current is not None and b"secrets-encryption" in current:
            kept_flag = _keep_k3s_encryption(saved, current)
        data = kept_flag if kept_flag is not None else saved
        source = os.lstat(copy_path)
        mode = source.st_mode & 0o7777
        if current is not None and os.lstat(original).st_mode & 0o7777 == mode and \
                (current == data or _same_but_restarted(current, data)):
            continue
        writes.append((original, data, mode, source.st_uid, source.st_gid,
                       "restored, keeping encryption at rest on (the stored objects need its keys)" if kept_flag else "restored"))
    _restart_readers(writes, wanted)
    return {"base": base, "writes": writes, "removes": removes, "kept": kept}


RESTORED_ANNOTATION = "kubeguard.io/restored-encryption"


def _same_but_restarted(current: bytes, saved: bytes) -> bool:
    """The node's manifest is the set's plus the annotation an earlier restore added to restart the pod."""
    if RESTORED_ANNOTATION.encode() not in current:
        return False
    now, then = _yaml_doc(current), _yaml_doc(saved)
    if not isinstance(now, dict) or not isinstance(then, dict):
        return False
    annotations = dict((now.get("metadata") or {}).get("annotations") or {})
    annotations.pop(RESTORED_ANNOTATION, None)
    metadata = dict(now.get("metadata") or {})
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    return dict(now, metadata=metadata) == then


def _restart_readers(writes: List[tuple], candidates: List[str]) -> None:
    """An encryption config rewritten by a restore is read by kube-apiserver only when it starts: the manifest
    of the apiserver that names it (among the restore's files) gets an annotation with the new config's hash,
    so the kubelet restarts it even where the manifest itself is put back unchanged."""
    import hashlib
    from .manifest import ManifestError, find_container, load_manifest, parse_flags, set_annotations, _flag_list   # late: PyYAML (see the top)
    configs = {path: data for path, data, *_rest in writes if _encryption_config(data) is not None}
    if not configs:
        return
    by_path = {write[0]: index for index, write in enumerate(writes)}
    for path in candidates:
        if not path.endswith((".yaml", ".yml", ".json")):
            continue
        data = writes[by_path[path]][1] if path in by_path else _current(path)
        try:
            pod = load_manifest((data or b"").decode("utf-8"))
            flags = parse_flags(_flag_list(find_container(pod, APISERVER)))
        except (ManifestError, ValueError, UnicodeDecodeError, AttributeError, TypeError):
            continue
        config = flags.get(ENCRYPTION_FLAG)
        if config not in configs:
            continue
        set_annotations(pod, {RESTORED_ANNOTATION: hashlib.sha256(configs[config]).hexdigest()[:16]})
        updated = _dump(pod)
        if path in by_path:
            old = writes[by_path[path]]
            writes[by_path[path]] = (old[0], updated, old[2], old[3], old[4], old[5] + "; restarted for the restored encryption config")
        else:
            stat = os.lstat(path)
            writes.append((path, updated, stat.st_mode & 0o7777, stat.st_uid, stat.st_gid,
                           "restarted: it reads the restored encryption config"))


def apply_restore(plan: Dict[str, Any]) -> None:
    """Carry out a plan_restore: every target checked by the write policy first (nothing is half done
    because of a symlink planted at one of them)."""
    for path, *_rest in plan["writes"]:
        write_policy.checked_target(path)
    for path in plan["removes"]:
        write_policy.checked_target(path)
    for path, data, mode, uid, gid, _why in plan["writes"]:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        write_policy.write_new(path, data, mode, uid, gid, prefix=".kubeguard-restore-")
    for path in plan["removes"]:
        os.unlink(path)


def forget_retired_keys(backup_root: str, config_path: str) -> List[str]:
    """After a rotation retired keys: remove every key the node's encryption config no longer has from
    the copies of that config in every backup set. Returns the sets changed."""
    from .key_rotation import without_retired_keys   # late: PyYAML (see the top)
    current = _encryption_config(_current(config_path))
    if current is None:
        return []
    changed = []
    for name in sorted(sets(backup_root)):
        try:
            check_set(backup_root, name)
        except UnsafeBackupSet:
            continue   # never written into: a restore refuses it anyway
        copy_path = os.path.join(set_dir(backup_root, name), config_path.lstrip("/"))
        if not os.path.isfile(copy_path) or os.path.islink(copy_path):
            continue
        saved = _encryption_config(_read_nofollow(copy_path))
        cleaned = without_retired_keys(saved, current) if saved is not None else None
        if cleaned is not None:
            stat = os.lstat(copy_path)
            write_policy.write_new(copy_path, _dump(cleaned), stat.st_mode & 0o7777 & 0o600, stat.st_uid, stat.st_gid)
            changed.append(name)
    return changed
