"""containerd hardening (GKE checklist, CKS notes): what /etc/containerd/config.toml must say, for the config
versions containerd reads (2: containerd 1.x; 3: containerd 2.x), and what the audit reads back from the
node: the config as containerd would load it, the CRI socket's owner and mode, and whether the runtime can
apply the RuntimeDefault seccomp profile.

No listener without authentication: containerd's gRPC API on TCP (root on the node to whoever connects) off,
the CRI streaming server (exec, attach, port-forward) on loopback behind the kubelet, metrics only where the
user asks. Pods get no unprivileged ports or ICMP unless asked. The socket belongs to root:root."""

from __future__ import annotations

import json
import os
import stat
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ..catalogue import checks
from ..formats import toml_edit
from ..formats.fileops import read_text
from .node_facts import run_tool

CRI_V2 = ("plugins", "io.containerd.grpc.v1.cri")
RUNTIME_V3 = ("plugins", "io.containerd.cri.v1.runtime")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
# exec, attach and port-forward streams: the kubelet proxies them, nothing else should reach them
STREAM_SERVER_ADDRESS = "127.0.0.1"
# config tables of settings whose values hold credentials: never shown in a diff
SECRET_KEYS = ("password", "auth", "identitytoken", "token", "secret")


def config_version(document: Mapping[str, Any], text: str) -> int:
    version = document.get("version") if document else toml_edit.read_value(text, (), "version")
    try:
        return int(version or 1)
    except (TypeError, ValueError):
        return 1


def settings(values: Mapping[str, Any], version: int) -> List[toml_edit.Setting]:
    """(table, key, value) the run sets for this config version. ValueError for version 1 (containerd < 1.3's
    format: `containerd config migrate` converts it)."""
    if version not in (2, 3):
        raise ValueError(f"containerd config version {version} is not supported: convert it with `containerd config "
                         "migrate` (containerd 1.7+) or `containerd config default` and your changes; versions 2 and 3 are")
    common: List[toml_edit.Setting] = [
        (("grpc",), "tcp_address", ""),        # the root-equivalent API never on TCP
        (("grpc",), "uid", 0), (("grpc",), "gid", 0),   # the CRI socket: root's, no group of others
        (("metrics",), "address", values["containerd_metrics_address"]),
    ]
    if version == 2:
        return common + [
            (CRI_V2, "disable_tcp_service", True),
            (CRI_V2, "stream_server_address", STREAM_SERVER_ADDRESS),
            (CRI_V2, "enable_unprivileged_ports", values["containerd_enable_unprivileged_ports"]),
            (CRI_V2, "enable_unprivileged_icmp", values["containerd_enable_unprivileged_icmp"]),
        ] + _extra(values)
    return common + [
        (CRI_V2, "stream_server_address", STREAM_SERVER_ADDRESS),
        (RUNTIME_V3, "enable_unprivileged_ports", values["containerd_enable_unprivileged_ports"]),
        (RUNTIME_V3, "enable_unprivileged_icmp", values["containerd_enable_unprivileged_icmp"]),
    ] + _extra(values)


def _extra(values: Mapping[str, Any]) -> List[toml_edit.Setting]:
    """kubeguard_containerd_settings: {"table.path": {key: value}} the user adds (validated: scalars only)."""
    found: List[toml_edit.Setting] = []
    for table, keys in (values.get("kubeguard_containerd_settings") or {}).items():
        path = toml_edit._split_keys(table)   # pylint: disable=protected-access
        found += [(path, str(key), value) for key, value in keys.items()]
    return found


def edit(text: str, values: Mapping[str, Any]) -> Tuple[str, List[str], int]:
    """(new text, changes, config version) for the node's config.toml text."""
    document = toml_edit.parse(text)
    version = config_version(document, text)
    new_text, changes = toml_edit.set_keys(text, settings(values, version))
    return new_text, changes, version


def plan_edit(path: str, values: Mapping[str, Any]) -> Dict[str, Any]:
    """What the containerd_config module does to path, without writing (the node's plan asks the same):
    {'before', 'after', 'changes', 'changed' (the text; its mode is the module's)}. Raises ValueError naming
    the path, with any credential in the message hidden; a missing file is refused (edited, never created)."""
    before = read_text(path)
    if before is None:
        raise ValueError(f"{path}: file not found (containerd_config edits the runtime's config in place)")
    try:
        after, changes, _version = edit(before, values)
    except ValueError as err:
        raise ValueError(f"{path}: {mask_secrets(str(err))}") from None
    return {"before": before, "after": after, "changes": changes, "changed": after != before}


def mask_secrets(text: str) -> str:
    """The config with credential values replaced by "<hidden>" (diffs and messages), by TOML structure:
    the whole value of every key one of whose dotted parts names a credential (SECRET_KEYS: password,
    auth, identitytoken, token, secret) or that lies in a table so named ([...registry.configs."r".auth]) -
    a string of any kind, multi-line ones with all their lines, an array or an inline table - and
    credential keys inside inline tables of other keys, and the value of a commented-out credential
    (`# password = "x"`). Comments, headers and every other key stay byte for byte. Text that is not
    TOML (an error message) is kept up to the first credential word of a line it cannot read, and
    hidden from there on."""

    import re

    class Unreadable(Exception):
        pass

    length = len(text)
    escapes = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", "e": "\x1b", '"': '"', "\\": "\\"}

    def unescape(raw: str) -> str:
        def one(found):
            code = found.group(1)
            if code[0] in "uUx" and len(code) > 1:
                return chr(min(int(code[1:], 16), 0x10FFFF))
            return escapes.get(code, code)
        return re.sub(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{2}|.)", one, raw, flags=re.DOTALL)

    def secret(parts) -> bool:
        return any(word in part.lower() for part in parts for word in SECRET_KEYS)

    def blank(i: int, newlines: bool) -> int:
        """Past spaces (and, inside arrays and inline tables, line breaks and comments)."""
        while i < length:
            if text[i] in " \t" or (newlines and text[i] in "\r\n"):
                i += 1
            elif newlines and text[i] == "#":
                while i < length and text[i] not in "\r\n":
                    i += 1
            else:
                break
        return i

    def string_end(i: int) -> int:
        """The end of the string starting at i (any of TOML's four kinds)."""
        quote = text[i]
        if text.startswith(quote * 3, i):
            close = text.find(quote * 3, i + 3)
            while close != -1 and quote == '"':
                backslashes = 0
                while text[close - 1 - backslashes] == "\\":
                    backslashes += 1
                if backslashes % 2 == 0:
                    break
                close = text.find(quote * 3, close + 1)
            if close == -1:
                raise Unreadable()
            end = close + 3
            while end < length and text[end] == quote and end - close < 5:   # up to two quotes before the close
                end += 1
            return end
        j = i + 1
        while j < length and text[j] != quote:
            if text[j] in "\r\n":
                raise Unreadable()
            j += 2 if quote == '"' and text[j] == "\\" else 1
        if j >= length:
            raise Unreadable()
        return j + 1

    def key_parts(i: int):
        """(dotted key parts, position after the '=')."""
        parts = []
        while True:
            i = blank(i, False)
            if i < length and text[i] in "\"'":
                end = string_end(i)
                raw = text[i + 1:end - 1]
                parts += [raw, unescape(raw)] if text[i] == '"' else [raw]   # both: a credential either way
                i = end
            else:
                match = re.compile(r"[A-Za-z0-9_-]+").match(text, i)
                if not match:
                    raise Unreadable()
                parts.append(match.group(0))
                i = match.end()
            i = blank(i, False)
            if i < length and text[i] == ".":
                i += 1
                continue
            if i < length and text[i] == "=":
                return parts, i + 1
            raise Unreadable()

    def value(i: int, hide: bool):
        """(end of the value starting at i, its text with credentials hidden)."""
        i = blank(i, False)
        if i >= length:
            raise Unreadable()
        start = i
        if text[i] in "\"'":
            end = string_end(i)
        elif text[i] in "[{":
            closing, pieces, i = ("]" if text[i] == "[" else "}"), [text[i]], i + 1
            while True:
                j = blank(i, True)
                pieces.append(text[i:j])
                i = j
                if i >= length:
                    raise Unreadable()
                if text[i] == closing:
                    end = i + 1
                    pieces.append(closing)
                    break
                if text[i] == ",":
                    pieces.append(",")
                    i += 1
                    continue
                if closing == "}":
                    parts, after = key_parts(i)
                    item_end, shown = value(after, hide or secret(parts))
                    pieces.append(text[i:after] + text[after:blank(after, False)] + shown)
                else:
                    item_end, shown = value(i, hide)
                    pieces.append(shown)
                i = item_end
            return end, ('"<hidden>"' if hide else "".join(pieces))
        else:
            match = re.compile(r"[^,\]}#\r\n]*").match(text, i)
            end = i + len(match.group(0).rstrip(" \t"))
            if end == i:
                raise Unreadable()
        return end, ('"<hidden>"' if hide else text[start:end])

    out = []
    i = 0
    secret_table = False         # under a [table] named for a credential (e.g. [...auth]): every value
    while i < length:
        line_end = text.find("\n", i)
        line_end = length if line_end == -1 else line_end + 1
        j = blank(i, False)
        if j >= line_end or text[j] in "#\r\n" or text[j] == "[":
            if j < line_end and text[j] == "[":
                header = text[j:line_end].split("#", 1)[0].strip().strip("[]")
                try:
                    name = toml_edit._split_keys(header)   # pylint: disable=protected-access
                except (ValueError, IndexError):
                    name = (header,)
                secret_table = bool(name) and secret(name[-1:] + tuple(unescape(part) for part in name[-1:]))
            commented = re.match(r"(\s*#+\s*)([^=#\r\n]+?)\s*=\s*\S[^\r\n]*", text[i:line_end])
            if commented and secret([commented.group(2).strip("\"' ")]):   # a commented-out credential
                out.append(f'{commented.group(1)}{commented.group(2)} = "<hidden>"{text[i + commented.end():line_end]}')
            else:
                out.append(text[i:line_end])      # blank, comment or a [table] header
            i = line_end
            continue
        try:
            parts, after = key_parts(j)
            start = blank(after, False)
            end, shown = value(start, secret_table or secret(parts))
        except (Unreadable, RecursionError):
            line = text[i:line_end]
            word = re.search("|".join(SECRET_KEYS), line, re.IGNORECASE)
            if word:
                out.append(line[:word.start()] + "<hidden>")
                break
            out.append(line)
            i = line_end
            continue
        out.append(text[i:start] + shown)
        i = end
    return "".join(out)


# --- the audit: what the node has ----------------------------------------------------------------------------

def observe(spec: Mapping[str, Any], run: Optional[Callable[[List[str]], Tuple[int, str]]] = None) -> Optional[Dict[str, Any]]:
    """The runtime as the node has it (platform data container_runtime: config, socket); None where no
    containerd config exists."""
    run = run or run_tool
    config_path, socket_path = spec.get("config"), spec.get("socket")
    seen: Dict[str, Any] = {"config": config_path, "socket": socket_path}
    text = None
    if config_path and os.path.exists(config_path):
        with open(config_path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    seen["config_found"] = text is not None
    if text is not None:
        try:
            document = toml_edit.parse(text)
            seen["version"] = config_version(document, text)
            seen["settings"] = _effective(document, text, seen["version"])
        except ValueError as err:
            seen["error"] = str(err)
    seen["socket_stat"] = _stat(socket_path) if socket_path else None
    seen["socket_dir_stat"] = _stat(os.path.dirname(socket_path)) if socket_path else None
    seen["seccomp"] = seccomp_support(run)
    return seen


def effective(text: str) -> Dict[str, Any]:
    """{'version', 'settings'} of a config text as the audit reads them (never-weaker: the text after our edit)."""
    document = toml_edit.parse(text)
    version = config_version(document, text)
    return {"version": version, "settings": _effective(document, text, version)}


def _effective(document: Mapping[str, Any], text: str, version: int) -> Dict[str, Any]:
    def get(table, key, default):
        if toml_edit.can_parse():
            return toml_edit.lookup(document, table, key, default)
        found = toml_edit.read_value(text, table, key)
        return default if found is None else found
    runtime = RUNTIME_V3 if version == 3 else CRI_V2
    return {
        "grpc.tcp_address": get(("grpc",), "tcp_address", ""),
        "grpc.gid": get(("grpc",), "gid", 0),
        "metrics.address": get(("metrics",), "address", ""),
        "stream_server_address": get(CRI_V2, "stream_server_address", "127.0.0.1"),
        "disable_tcp_service": get(CRI_V2, "disable_tcp_service", True) if version == 2 else True,
        "enable_unprivileged_ports": get(runtime, "enable_unprivileged_ports", version == 3),
        "enable_unprivileged_icmp": get(runtime, "enable_unprivileged_icmp", version == 3),
    }


def _stat(path: Optional[str]) -> Optional[Dict[str, int]]:
    try:
        found = os.stat(path) if path else None
    except OSError:
        return None
    return None if found is None else {"mode": stat.S_IMODE(found.st_mode), "uid": found.st_uid, "gid": found.st_gid}


def seccomp_support(run) -> Dict[str, Any]:
    """Whether RuntimeDefault can be applied: the kernel filters syscalls (Seccomp in /proc/self/status) and
    runc was built with seccomp (`runc features`, runc 1.1+)."""
    kernel = False
    try:
        with open("/proc/self/status", encoding="utf-8") as handle:
            kernel = any(line.startswith("Seccomp:") for line in handle)
    except OSError:
        pass
    rc, out = run(["runc", "features"])
    runtime: Optional[bool] = None
    if rc == 0:
        try:
            runtime = bool(((json.loads(out).get("linux") or {}).get("seccomp") or {}).get("enabled"))
        except (ValueError, AttributeError):
            runtime = None
    return {"kernel": kernel, "runc": runtime, "runc_said": "" if rc == 0 else out.strip()[:160]}


def is_loopback(address: Any) -> bool:
    """'127.0.0.1:1338', '[::1]:1338' or a bare address: on loopback?"""
    text = str(address or "")
    if text.startswith("["):
        host = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        host = text.split(":", 1)[0]
    else:
        host = text
    return host in LOOPBACK


# --- restart gate: containerd answers and the containers it ran still run ----------------------------------

def running_tasks(socket: str, run=None) -> Tuple[Optional[Dict[str, int]], str]:
    """({container id: pid} of the RUNNING tasks in the k8s.io namespace, '') or (None, why not)."""
    rc, out = (run or run_tool)(["ctr", "--address", socket, "--namespace", "k8s.io", "tasks", "ls"])
    if rc != 0:
        return None, (out.strip().splitlines() or [f"ctr exit code {rc}"])[-1][:200]
    tasks: Dict[str, int] = {}
    for line in out.splitlines()[1:]:
        words = line.split()
        if len(words) >= 3 and words[2] == "RUNNING" and words[1].isdigit():
            tasks[words[0]] = int(words[1])
    return tasks, ""


def survivors_problem(before: Mapping[str, int], after: Optional[Mapping[str, int]], why: str) -> Optional[str]:
    """None when every container running before runs still, as the same process (a restart of containerd
    must not restart them); else what is missing."""
    if after is None:
        return f"containerd does not answer: {why}"
    lost = sorted(cid for cid in before if cid not in after)
    moved = sorted(cid for cid in before if cid in after and after[cid] != before[cid])
    if lost or moved:
        return "; ".join(part for part in (
            f"{len(lost)} of {len(before)} containers no longer running ({', '.join(c[:12] for c in lost[:5])})" if lost else "",
            f"{len(moved)} restarted with a new process ({', '.join(c[:12] for c in moved[:5])})" if moved else "") if part)
    return None


def evaluate(kind: str, state: Mapping[str, Any]) -> Optional[checks.Outcome]:
    """K.23 listeners, K.24 unprivileged ports/ICMP, K.25 socket, K.26 seccomp. None: no containerd config here."""
    seen = state.get("container_runtime")
    if not seen:
        return None
    if kind == "socket":
        sock, directory = seen.get("socket_stat"), seen.get("socket_dir_stat")
        if sock is None:
            return checks.Outcome(None, f"{seen['socket']}: not found (containerd not running here)")
        problems = []
        if sock["uid"] != 0 or sock["gid"] != 0:
            problems.append(f"{seen['socket']} owned {sock['uid']}:{sock['gid']}")
        if sock["mode"] & 0o007:
            problems.append(f"{seen['socket']} mode {sock['mode']:04o} (others may connect)")
        # others may pass through (0711, as containerd makes it: pods in user namespaces reach their rootfs
        # below it), never list or write
        if directory and (directory["uid"] != 0 or directory["mode"] & 0o026):
            problems.append(f"{os.path.dirname(seen['socket'])} mode {directory['mode']:04o} owner {directory['uid']}")
        found = f"{seen['socket']} {sock['mode']:04o} {sock['uid']}:{sock['gid']}"
        return checks.Outcome(not problems, "; ".join(problems) or found)
    if kind == "seccomp":
        support = seen["seccomp"]
        if not support["kernel"]:
            return checks.Outcome(False, "the kernel does not filter system calls (no Seccomp in /proc/self/status)")
        if support["runc"] is None:
            return checks.Outcome(None, f"runc features: {support['runc_said'] or 'no answer'} (runc 1.1+ tells)")
        return checks.Outcome(support["runc"], "kernel and runc support seccomp" if support["runc"]
                              else "runc was built without seccomp: RuntimeDefault cannot be applied")
    if not seen.get("config_found"):
        return checks.Outcome(None, f"{seen['config']}: not found (containerd's built-in defaults apply)")
    if "error" in seen:
        return checks.Outcome(False, f"{seen['config']}: {seen['error']}")
    effective = seen["settings"]
    if kind == "listeners":
        problems = []
        if effective["grpc.tcp_address"]:
            problems.append(f"grpc.tcp_address = {effective['grpc.tcp_address']!r} (containerd's API on TCP)")
        if not is_loopback(effective["stream_server_address"]):
            problems.append(f"stream_server_address = {effective['stream_server_address']!r} (exec/attach streams beyond loopback)")
        if not effective["disable_tcp_service"]:
            problems.append("disable_tcp_service = false")
        if effective["metrics.address"] and not is_loopback(effective["metrics.address"]):
            problems.append(f"metrics.address = {effective['metrics.address']!r} (unauthenticated metrics)")
        return checks.Outcome(not problems, "; ".join(problems) or
                              f"no TCP API, streams on {effective['stream_server_address']}, metrics "
                              f"{effective['metrics.address'] or 'off'}")
    if kind == "unprivileged":
        allowed = [name for name in ("enable_unprivileged_ports", "enable_unprivileged_icmp") if effective[name]]
        return checks.Outcome(not allowed, (", ".join(f"{n} = true" for n in allowed) + f" (config version {seen['version']})")
                              if allowed else "unprivileged ports and ICMP off")
    raise ValueError(f"unknown container runtime check {kind!r}")
