"""Where a hardening run may write: one policy for every path the run writes, chmods, chowns, mounts
into a pod, restores or deletes.

Two halves of one rule set:
  path_problem(kind, path)   before any host is contacted (variable validation): the path is
                             normalised, in a place declared for its kind of file, never a system file
  checked_target(path)       on the node, just before the write: no symlink at the path, its real
                             directory still outside the deny list, an existing file there is a
                             regular file owned by root (a file planted by someone else is not ours)
and the writers that use them (write_new, chmod_nofollow, chown_nofollow): content lands in a file
created 0600 that has its final mode and owner before the first byte, and nothing is followed
through a symlink (O_NOFOLLOW).
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from typing import Dict, List, Mapping, Optional, Tuple


# Never written, chmod'ed, chowned, mounted or restored, whatever a variable says: account and login
# files, what runs at boot or as root, the system's own binaries and libraries. (/tmp and /home are
# refused by validation - no kind of file of ours goes there - but not here: tests write below /tmp.)
DENIED: Tuple[str, ...] = (
    "/bin", "/boot", "/dev", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/sbin", "/sys", "/usr",
    "/run/user",
    "/etc/passwd", "/etc/passwd-", "/etc/shadow", "/etc/shadow-", "/etc/group", "/etc/group-", "/etc/gshadow",
    "/etc/gshadow-", "/etc/sudoers", "/etc/sudoers.d", "/etc/ssh", "/etc/pam.d", "/etc/security", "/etc/cron.d",
    "/etc/cron.daily", "/etc/cron.hourly", "/etc/cron.weekly", "/etc/cron.monthly", "/etc/crontab",
    "/var/spool/cron", "/etc/ld.so.preload", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/ld.so.cache",
    "/etc/profile", "/etc/profile.d", "/etc/environment", "/etc/bash.bashrc", "/etc/shells", "/etc/login.defs",
    "/etc/nsswitch.conf", "/etc/hosts", "/etc/resolv.conf", "/etc/fstab", "/etc/init.d", "/etc/rc.local",
    "/etc/modprobe.d", "/etc/modules-load.d", "/etc/udev", "/etc/apt", "/etc/yum.repos.d", "/etc/default",
    "/etc/polkit-1", "/etc/machine-id", "/etc/hostname", "/etc/os-release", "/etc/audit/auditd.conf",
    "/var/lib/dpkg", "/var/lib/rpm", "/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog", "/var/log/auth.log",
    "/var/log/secure", "/var/log/syslog", "/var/log/messages", "/var/log/journal",
)
# Directories that hold many owners' files: a path of ours must be below one, never one of them.
SHARED_DIRS: Tuple[str, ...] = (
    "/", "/etc", "/opt", "/run", "/srv", "/var", "/var/lib", "/var/log", "/var/run", "/etc/systemd",
    "/etc/systemd/system", "/etc/ssl", "/etc/sysctl.d", "/etc/audit", "/etc/audit/rules.d", "/var/log/audit",
    "/var/lib/kubelet", "/mnt", "/data", "/var/cache", "/var/mail", "/var/spool", "/var/backups", "/etc/containerd", "/var/lib/rancher", "/var/lib/rancher/k3s",
    "/var/lib/rancher/k3s/server", "/etc/rancher", "/etc/rancher/k3s", "/usr/local", "/usr/local/bin",
)

# Where each kind of file may be (platform data of all three platforms; {config_dir} is kube_config_dir,
# itself a directory of ours). A kind not listed here is held to the deny list only.
KIND_PLACES: Dict[str, Tuple[str, ...]] = {
    "audit_log": ("/var/log", "/var/lib/rancher/k3s/server/logs"),
    "audit_policy": ("{config_dir}", "/etc/kubernetes", "/etc/kubeguard", "/var/lib/rancher/k3s/server"),
    "config_dir": ("/etc", "/srv", "/opt", "/var/lib"),
    "component_config": ("{config_dir}", "/etc/kubernetes", "/etc/kubeguard", "/var/lib/rancher/k3s/server",
                         "/etc/rancher"),
    "data_dir": ("/",),    # bare metal keeps etcd on /data, /mnt/...: held to the deny list and shared dirs
    "state": ("/var/lib/kubeguard",),
    "unit": ("/etc/systemd/system",),
    "sysctl": ("/etc/sysctl.d",),
    "audit_rules": ("/etc/audit/rules.d",),
    "env_file": ("/etc",),
    "read_only": ("/",),   # only read by the run (checksums file): the deny list does not apply
}
# The name a kind of file has (the directory's other readers read only these: sysctl.d *.conf, rules.d *.rules).
KIND_SUFFIXES: Dict[str, Tuple[str, ...]] = {"sysctl": (".conf",), "unit": (".service", ".conf"), "env_file": (".env",),
                                             "audit_rules": (".rules",)}
# Where no file of ours goes whatever its kind says: the control plane's own keys and manifests.
RESERVED = ("{config_dir}/manifests", "{config_dir}/pki", "{config_dir}/admin.conf", "{config_dir}/super-admin.conf",
            "{config_dir}/kubelet.conf", "{config_dir}/controller-manager.conf", "{config_dir}/scheduler.conf")
# Refused by validation only (tests write below /tmp, see DENIED): places others can write to.
SHARED_WRITABLE = ("/tmp", "/var/tmp", "/home", "/dev/shm", "/run/user", "/var/spool", "/var/mail")
KIND_WORDS = {
    "audit_log": "an audit log", "audit_policy": "an audit policy", "config_dir": "a config directory",
    "component_config": "a component config file", "data_dir": "a data directory", "state": "kubeguard's own state",
    "unit": "a systemd unit", "sysctl": "a sysctl file", "audit_rules": "an auditd rules file",
    "env_file": "an environment file", "read_only": "a file the run reads",
}


def _below(path: str, parent: str) -> bool:
    return parent == "/" or path == parent or path.startswith(parent.rstrip("/") + "/")


def denied(path: str) -> Optional[str]:
    """The deny-list entry path is or lies below; None when none."""
    for entry in DENIED:
        if _below(path, entry):
            return entry
    return None


def places(kind: str, config_dir: str = "/etc/kubernetes") -> Tuple[str, ...]:
    return tuple(place.replace("{config_dir}", config_dir) for place in KIND_PLACES.get(kind, ("/",)))


def path_problem(kind: str, path: str, config_dir: str = "/etc/kubernetes") -> Optional[str]:
    """Why a path of this kind may not be written (None: it may). path must already be absolute and
    normalised (the variable model checks that first)."""
    if kind == "read_only":
        return None
    if path in SHARED_DIRS:
        return f"is a directory shared with the system; give a {'directory' if kind.endswith('_dir') else 'file'} of its own below it"
    entry = denied(path) or next((place for place in SHARED_WRITABLE if _below(path, place)), None)
    if entry is not None:
        return f"is a system file or directory ({entry}) that a hardening run never writes, chmods or mounts; give a path of its own"
    if kind in ("audit_policy", "audit_log", "component_config"):
        reserved = next((r.replace("{config_dir}", config_dir) for r in RESERVED if _below(path, r.replace("{config_dir}", config_dir))), None)
        if reserved:
            return f"is the control plane's own ({reserved}): a file of ours never goes there"
    suffixes = KIND_SUFFIXES.get(kind)
    if suffixes and not path.endswith(suffixes):
        return f"must end in {' or '.join(suffixes)} (what the readers of that directory read)"
    allowed = places(kind, config_dir)
    if not any(_below(path, place) and path != place for place in allowed):
        return (f"is not where {KIND_WORDS.get(kind, 'such a file')} goes; allowed: below "
                + ", ".join(sorted(set(allowed))))
    return None


def overlap_problems(paths: Mapping[str, Tuple[str, str]]) -> List[Tuple[Tuple[str, ...], str]]:
    """(variables, problem) for two files of ours on one path, one inside the other, or two mounts of
    one directory (a file and the directory of another: the apiserver would mount it read-only and
    read-write at once). paths: variable -> (kind, path)."""
    problems: List[Tuple[Tuple[str, ...], str]] = []
    items = sorted(paths.items())
    for i, (name_a, (kind_a, a)) in enumerate(items):
        for name_b, (kind_b, b) in items[i + 1:]:
            if "read_only" in (kind_a, kind_b):
                continue
            if a == b:
                problems.append(((name_a, name_b), f"{name_a} and {name_b} are both {a!r}: two files of ours on one path"))
            elif {"data_dir", "state"} & {kind_a, kind_b} and (_below(b, a) or _below(a, b)):
                problems.append(((name_a, name_b), f"{name_a}: {a!r} and {name_b}: {b!r}: one lies inside the other"
                                 " (a data or state directory is owned, locked down or removed by one owner alone)"))
            elif {kind_a, kind_b} == {"audit_log", "audit_policy"} and posixpath.dirname(a) == posixpath.dirname(b):
                problems.append(((name_a, name_b), f"{name_a}: {a!r} and {name_b}: {b!r} share the directory"
                                 f" {posixpath.dirname(a)!r}, which kube-apiserver would mount read-only and read-write;"
                                 " give each a directory of its own"))
    return problems


# --- on the node ------------------------------------------------------------------------------------

class UnsafeTarget(ValueError):
    """A path the run must not write: a symlink, a denied place, or a file that is not ours."""


# Owners an existing file of ours may have: root and system accounts (kubespray's kube, etcd). A file of a
# login user (uid 1000 and up, nobody) at one of our paths was planted: never replaced nor chmod'ed.
FIRST_USER_UID = 1000


def checked_target(path: str, must_exist: bool = False, declared: bool = False) -> Optional[os.stat_result]:
    """Check a path just before writing it; return its lstat (None: does not exist). Raises UnsafeTarget
    for a symlink (never written through), a path whose real directory is denied, or an existing file
    that is not a regular file or directory, or belongs to a login user (someone else's file).
    declared: the path itself is named by the platform data (the kubelet unit CIS 4.1.1 wants 0600 lives
    in /usr/lib/systemd/system): the deny list yields to it, nothing else does - its real directory must
    be the one named, no symlink on the way."""
    if not os.path.isabs(path) or posixpath.normpath(path) != path:
        raise UnsafeTarget(f"{path!r}: not an absolute normalised path")
    real_parent = os.path.realpath(os.path.dirname(path))
    if declared:
        if real_parent != os.path.dirname(path):
            raise UnsafeTarget(f"{path}: its directory is reached through a symbolic link ({real_parent}); nothing is changed")
    else:
        for candidate in (path, os.path.join(real_parent, os.path.basename(path))):
            entry = denied(candidate)
            if entry is not None:
                raise UnsafeTarget(f"{path}: lies in {entry}, which a hardening run never writes")
    parent_problem = _parent_problem(real_parent)
    if parent_problem:
        raise UnsafeTarget(f"{path}: {parent_problem}; nothing is written there")
    try:
        stat = os.lstat(path)
    except FileNotFoundError:
        if must_exist:
            raise UnsafeTarget(f"{path}: not found") from None
        return None
    import stat as stat_module
    if stat_module.S_ISREG(stat.st_mode) and stat.st_nlink > 1:
        raise UnsafeTarget(f"{path}: has {stat.st_nlink} hard links - another name for the same file may be anyone's; nothing is changed")
    if stat_module.S_ISLNK(stat.st_mode):
        raise UnsafeTarget(f"{path}: is a symbolic link (to {os.readlink(path)}); nothing is written through it")
    if not (stat_module.S_ISREG(stat.st_mode) or stat_module.S_ISDIR(stat.st_mode)):
        raise UnsafeTarget(f"{path}: is not a regular file")
    if stat.st_uid >= FIRST_USER_UID:
        raise UnsafeTarget(f"{path}: is owned by uid {stat.st_uid}, a login user - not a file of ours; nothing was written")
    return stat


def _parent_problem(directory: str) -> Optional[str]:
    """A directory a login user owns or anyone may write to (without the sticky bit) lets them swap what
    is in it between our check and our write."""
    try:
        stat = os.stat(directory)
    except OSError:
        return None   # not there yet: created by us
    if stat.st_uid >= FIRST_USER_UID:
        return f"its directory {directory} belongs to uid {stat.st_uid}, a login user"
    if stat.st_mode & 0o002 and not stat.st_mode & 0o1000:
        return f"its directory {directory} is writable by everyone"
    return None


def link_problem(link: str) -> Optional[str]:
    """Why a symlink's target may not be judged and tightened as if it were the file it stands for: the
    link (or its directory) may be someone else's, or it points at a directory or a place shared with the
    system. None: root put it there, among our files, for a file."""
    try:
        stat = os.lstat(link)
    except OSError as exc:
        return str(exc)
    if stat.st_uid >= FIRST_USER_UID:
        return f"the link belongs to uid {stat.st_uid}, a login user"
    parent = _parent_problem(os.path.dirname(link))
    if parent:
        return parent
    target = os.path.realpath(link)
    if os.path.isdir(target):
        return f"it points at a directory ({target}); modes are never changed through a link"
    if target in SHARED_DIRS or os.path.dirname(target) in ("/", "/etc", "/var", "/var/lib", "/usr", "/root"):
        return f"it points at {target}, a file shared with the system"
    return None


def chmod_nofollow(path: str, mode: int) -> None:
    """chmod without following a symlink at path (Linux has no lchmod: open with O_NOFOLLOW, fchmod)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def chown_nofollow(path: str, uid: int, gid: int) -> None:
    os.chown(path, uid, gid, follow_symlinks=False)


def write_new(path: str, data: bytes, mode: int, uid: Optional[int] = None, gid: Optional[int] = None,
              prefix: str = ".kubeguard-") -> None:
    """Replace path with data: a temp file created 0600 in the same directory gets its final owner and
    mode before any content lands, then is renamed over path. Nobody but root and the final owner can
    open it at any moment."""
    checked_target(path)
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=directory)   # created 0600, O_EXCL
    try:
        if uid is not None or gid is not None:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd != -1:
            os.close(fd)
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
