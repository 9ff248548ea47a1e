"""Read a file as a process sees it, never beyond its root: /proc/<pid>/root/<path> resolved one name at a
time under that root (an absolute symlink starts again at the process's root, `..` stops there), without
following a last symlink the kernel would resolve against ours, and only a regular file of bounded size
(a FIFO would block, /dev/zero would never end). A leaf module: no imports of ours."""

from __future__ import annotations

import errno
import os
import stat
from typing import List

LIMIT = 1 << 20       # 1 MiB: far beyond any component's config file
MAX_LINKS = 40        # as the kernel's own limit on symlinks in one lookup


class RootedReadError(Exception):
    pass


def _components(path: str) -> List[str]:
    return [part for part in path.split("/") if part and part != "."]


def _open_in_root(root: str, path: str, cwd: str) -> List[int]:
    """The open descriptors of the walk from `root` to `path` (the last one is path's own; the caller closes them all).
    Raises RootedReadError saying why (missing, a loop)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        # the root itself is ours to name and may be a link: /proc/<pid>/root is one (the kernel's, to the process's root)
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise RootedReadError(f"{root}: {exc.strerror}") from None
    fds = [root_fd]
    try:
        pending = _components(path if path.startswith("/") else cwd.rstrip("/") + "/" + path)
        links = 0
        while pending:
            name = pending.pop(0)
            if name == "..":
                if len(fds) > 1:
                    os.close(fds.pop())
                continue
            last = not pending
            try:
                fd = os.open(name, flags | os.O_NONBLOCK | (0 if last else os.O_DIRECTORY), dir_fd=fds[-1])
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise RootedReadError(f"{path}: {exc.strerror}") from None
                try:
                    target = os.readlink(name, dir_fd=fds[-1])
                except OSError:
                    raise RootedReadError(f"{path}: {exc.strerror}") from None
                links += 1
                if links > MAX_LINKS:
                    raise RootedReadError(f"{path}: too many symbolic links") from None
                if target.startswith("/"):
                    while len(fds) > 1:
                        os.close(fds.pop())
                pending = _components(target) + pending
                continue
            fds.append(fd)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return fds


def stat_in_root(root: str, path: str, cwd: str = "/") -> os.stat_result:
    """The mode and owner of `path` as the process whose root is `root` opens it (links resolved inside root, the
    last one followed as the process would). Raises RootedReadError when it cannot be found."""
    fds = _open_in_root(root, path, cwd)
    try:
        if len(fds) == 1:
            raise RootedReadError(f"{path}: names the root itself")
        return os.fstat(fds[-1])
    finally:
        for fd in fds:
            os.close(fd)


def read_in_root(root: str, path: str, cwd: str = "/", limit: int = LIMIT) -> str:
    """The text of `path` inside `root` (a relative path starts at `cwd`, itself inside root). Raises
    RootedReadError saying why it cannot be read (missing, not a regular file, too large, a loop)."""
    fds = _open_in_root(root, path, cwd)
    try:
        info = os.fstat(fds[-1])
        if len(fds) == 1 or not stat.S_ISREG(info.st_mode):
            raise RootedReadError(f"{path}: not a regular file")
        if info.st_size > limit:
            raise RootedReadError(f"{path}: larger than {limit} bytes")
        chunks: List[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fds[-1], limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise RootedReadError(f"{path}: larger than {limit} bytes")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise RootedReadError(f"{path}: not UTF-8 text") from None
    finally:
        for fd in fds:
            os.close(fd)
