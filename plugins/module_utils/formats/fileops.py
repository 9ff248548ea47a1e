"""File handling shared by our modules: back up, then write atomically, keeping mode and owner.

Backups go to a separate directory tree (default /var/lib/kubeguard/backups/<set>/<original path>),
never next to the file: the kubelet would start a backup copy left in the manifests directory as
a second static pod.
"""

from __future__ import annotations

import os
import shutil
from typing import List, Optional, Tuple

from .backup_sets import CREATED_LIST, set_dir
from .write_policy import checked_target, chmod_nofollow, write_new

DEFAULT_BACKUP_ROOT = "/var/lib/kubeguard/backups"
# Argument spec of the options in doc_fragments/backup.py (every module that writes a file).
BACKUP_OPTIONS = {
    "backup": {"type": "bool", "default": True},
    "backup_root": {"type": "path", "default": DEFAULT_BACKUP_ROOT},
    "backup_set": {"type": "str", "default": "manual"},
}


def read_text(path: str) -> Optional[str]:
    """The file's text; None when it (or a directory on its path) does not exist."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def dropin_files(directory: str, suffixes: Tuple[str, ...], ignore_case: bool = False) -> List[str]:
    """The regular files of a drop-in directory whose names end in one of suffixes, in name order (the
    order k3s, the kubelet and systemd read them); [] when there is no such directory."""
    try:
        names = sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [os.path.join(directory, name) for name in names
            if (name.lower() if ignore_case else name).endswith(suffixes) and os.path.isfile(os.path.join(directory, name))]


def _backup_root(backup_root: str) -> None:
    """The backup root exists, is root's and 0700 before anything goes in (the copies hold keys)."""
    os.makedirs(backup_root, mode=0o700, exist_ok=True)
    if os.path.islink(backup_root):
        raise ValueError(f"backup root {backup_root} is a symbolic link; nothing is written through it")
    os.chmod(backup_root, 0o700)


def backup_file(path: str, backup_root: str, backup_set: str) -> Optional[str]:
    """Copy path (with mode, owner, times) to <backup_root>/<backup_set>/<path>. Keeps the first copy
    of a set: a set holds each file as it was before the run touched it."""
    if not os.path.exists(path):
        return None
    destination = os.path.join(set_dir(backup_root, backup_set), path.lstrip("/"))
    if os.path.exists(destination):
        return destination
    _backup_root(backup_root)
    os.makedirs(os.path.dirname(destination), mode=0o700, exist_ok=True)
    shutil.copy2(path, destination)
    stat = os.stat(path)
    os.chown(destination, stat.st_uid, stat.st_gid)
    return destination


def record_created(path: str, backup_root: str, backup_set: str) -> None:
    """Remember that this run created path (it had nothing to back up), so a rollback removes it."""
    directory = set_dir(backup_root, backup_set)
    _backup_root(backup_root)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    with open(os.path.join(directory, CREATED_LIST), "a", encoding="utf-8") as handle:
        handle.write(path + "\n")


def write_atomically(path: str, content: str, mode: Optional[int] = None) -> None:
    """Write via a temp file in the same directory and rename; keep the old file's mode/owner. The
    write policy decides first (no symlink, no denied place, no file of someone else's), and the temp
    file has its final mode and owner before the content lands."""
    old_stat = checked_target(os.path.abspath(path))
    final_mode = mode if mode is not None else (old_stat.st_mode & 0o7777 if old_stat is not None else 0o600)
    write_new(os.path.abspath(path), content.encode("utf-8"), final_mode,
              old_stat.st_uid if old_stat is not None else None, old_stat.st_gid if old_stat is not None else None)


def plan_yaml_edit(path: str, transform, mode: Optional[int] = None) -> dict:
    """What edit_yaml_file would do to path, without writing (the node_plan module asks the same):
    {'original', 'updated', 'changes', 'changed'}. Raises ValueError naming the path."""
    from .manifest import load_manifest  # local: keeps this module importable without PyYAML

    if not os.path.exists(path):
        raise ValueError(f"{path}: file not found")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        original = load_manifest(text)
        updated, changes = transform(original)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    current_mode = os.stat(path).st_mode & 0o7777
    mode_changed = mode is not None and current_mode != mode
    if mode_changed:
        changes.append(f"~ mode: {current_mode:04o} -> {mode:04o}")
    return {"original": original, "updated": updated, "changes": changes, "changed": updated != original or mode_changed}


def edit_yaml_file(module, path: str, transform, mode: Optional[int] = None):
    """Shared flow of our YAML-editing modules (AnsibleModule in, exit_json/fail_json out).

    transform(parsed) -> (new_parsed, changes). The file is written only when the parsed content
    changes, so kubeadm's formatting never counts as a change; in check mode nothing is written.
    --diff shows both sides normalised the same way, so only real changes appear.
    """
    from .manifest import dump_yaml  # local: keeps this module importable without PyYAML

    try:
        plan = plan_yaml_edit(path, transform, mode)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    finish_edit(module, path, dict(plan, before=dump_yaml(plan["original"]), after=dump_yaml(plan["updated"])), mode)


def finish_edit(module, path: str, plan: dict, mode: Optional[int] = None, show=lambda text: text):
    """The end every file-editing module shares: diff (text passed through show, e.g. to mask
    credentials), backup or record of a created file, atomic write, exit_json. Nothing is written in
    check mode. plan: {'before', 'after' (texts), 'changes', 'changed', 'exists' (default true)}."""
    params = module.params
    result = {"changed": plan["changed"], "changes": plan["changes"], "path": path}
    if module._diff:
        result["diff"] = {"before_header": path, "after_header": path,
                          "before": show(plan["before"]), "after": show(plan["after"])}
    if plan["changed"] and not module.check_mode:
        if not plan.get("exists", True):
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            if params["backup"]:
                record_created(path, params["backup_root"], params["backup_set"])
        elif params["backup"]:
            result["backup_file"] = backup_file(path, params["backup_root"], params["backup_set"])
        if plan["after"] != plan["before"]:
            write_atomically(path, plan["after"], mode)
        elif mode is not None:
            checked_target(path, must_exist=True)
            chmod_nofollow(path, mode)
    module.exit_json(**result)
