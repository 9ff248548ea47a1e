"""Is a component really back? Its process runs with the flags we wrote, and its health endpoint
answers ok. Reads /proc (real state), never our own intentions.

Which process *is* the component (`component_processes`): a name is not enough - anyone can start
`exec -a kube-apiserver /bin/sleep --encryption-provider-config=/tmp/fake.yaml`. A process counts only
when its argv[0], the binary it really executes (/proc/<pid>/exe, which exec -a cannot fake) and its
real and effective user (root) all say so, and it runs in the node's own network namespace: every
component does (the kubelet and k3s on the host, static pods and kube-proxy with hostNetwork), while a
pod that is not let onto the host network (Pod Security's baseline forbids it) may still run as root a
binary of its own named kube-proxy. Several such processes that do not run with the same
arguments are never decided by picking one: the callers say so instead (audit: manual, health gate:
not healthy yet)."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import time
import urllib.error
from typing import Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple


from ..base.component_names import APISERVER, CONTROLLER_MANAGER, KUBELET, KUBE_PROXY, SCHEDULER
from ..formats.manifest import parse_flags

DELETED = " (deleted)"   # /proc/<pid>/exe of a binary replaced (upgraded) while it runs


class Proc(NamedTuple):
    """One process identified as a component: its pid (a string, as /proc names it), its arguments,
    its environment and the binary it executes (readlink of /proc/<pid>/exe, without " (deleted)")."""
    pid: str
    args: List[str]
    environ: Dict[str, str]
    exe: str


def _read_bytes(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _root_uids(status: bytes) -> bool:
    """Real and effective uid 0, from /proc/<pid>/status' "Uid:\treal\teffective\tsaved\tfs" line."""
    for line in status.decode("utf-8", "replace").splitlines():
        if line.startswith("Uid:"):
            fields = line.split()[1:]
            return len(fields) >= 2 and fields[0] == "0" and fields[1] == "0"
    return False


def on_host_network(proc_root: str, pid: str) -> bool:
    """Does the process share PID 1's network namespace? When PID 1's cannot be read (no namespaces under this
    proc root, or not root) nothing is decided by it (True); one that cannot be read beside a readable PID 1's
    is not on it."""
    try:
        host = os.readlink(os.path.join(proc_root, "1", "ns", "net"))
    except OSError:
        return True
    try:
        return os.readlink(os.path.join(proc_root, pid, "ns", "net")) == host
    except OSError:
        return False


def exe_path(proc_root: str, pid: str) -> Optional[str]:
    """The binary a process executes (None: a kernel thread, a zombie, or not ours to read)."""
    try:
        target = os.readlink(os.path.join(proc_root, pid, "exe"))
    except OSError:
        return None
    return target[:-len(DELETED)] if target.endswith(DELETED) else target


def _identify(name: str, proc_root: str, pid: str) -> Optional[Proc]:
    raw = _read_bytes(os.path.join(proc_root, pid, "cmdline"))
    if not raw:
        return None          # kernel thread, zombie, or gone
    args = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    # k3s retitles itself ("/usr/local/bin/k3s server" in one argument): its argv[0] is the first word there
    called = os.path.basename(args[0].split(" ", 1)[0] if name == "k3s" and args else args[0]) if args else ""
    if called != name:
        return None
    exe = exe_path(proc_root, pid)
    if not exe or os.path.basename(exe) != name:
        return None          # named like the component, runs something else (exec -a)
    status = _read_bytes(os.path.join(proc_root, pid, "status"))
    if status is None or not _root_uids(status):
        return None          # the components run as root; a user's copy of the binary is not one
    if not on_host_network(proc_root, pid):
        return None          # a pod's own process, whatever it is named: no component runs off the host network
    environ_raw = _read_bytes(os.path.join(proc_root, pid, "environ")) or b""
    pairs = [item.decode("utf-8", "replace").partition("=") for item in environ_raw.split(b"\0") if item]
    return Proc(pid, args, {key: value for key, _ignored, value in pairs}, exe)


def component_processes(name: str, proc_root: str = "/proc") -> List[Proc]:
    """Every process that is the component `name`, lowest pid first: argv[0]'s base name is `name`,
    the base name of the binary it executes (/proc/<pid>/exe) is `name`, it runs as root (real and
    effective uid 0) and on the node's network namespace (on_host_network). A process in a container
    (a static pod, kube-proxy's) counts too: its exe is the path in its own filesystem, its uid is root
    unless the pod says otherwise, and its pod is on the host network."""
    try:
        pids = sorted((p for p in os.listdir(proc_root) if p.isdigit()), key=int)
    except OSError:
        return []
    return [proc for proc in (_identify(name, proc_root, pid) for pid in pids) if proc is not None]


def agree(procs: Sequence[Proc], environ_keys: Sequence[str] = ()) -> bool:
    """Do these processes run with the same arguments (and the same values of `environ_keys`)? Then any
    one of them tells how the component runs (a parent and its child of the same binary); else none does."""
    if not procs:
        return True
    first = procs[0]
    return all(p.args == first.args and all(p.environ.get(k) == first.environ.get(k) for k in environ_keys)
               for p in procs[1:])


def describe(name: str, procs: Sequence[Proc]) -> str:
    """"2 processes named kube-apiserver (pids 100, 200)"."""
    return f"{len(procs)} processes named {name} (pids {', '.join(p.pid for p in procs)})"


def process_args(name: str, proc_root: str = "/proc") -> List[List[str]]:
    """Argument lists of every process that is the component `name` (component_processes)."""
    return [p.args for p in component_processes(name, proc_root)]


# The components k3s runs in its own process, each started with one line of k3s' own log format
# (logrus): time="..." level=info msg="Running kube-apiserver --flag=value ...". Quotes and
# backslashes inside msg are escaped.
K3S_COMPONENTS = (APISERVER, CONTROLLER_MANAGER, SCHEDULER, KUBELET, KUBE_PROXY,
                  "cloud-controller-manager")
_RUNNING_LINE = re.compile(
    r'^time="[^"\\]*" level=info msg="Running (?P<component>' + "|".join(re.escape(c) for c in K3S_COMPONENTS)
    + r') (?P<args>--(?:[^"\\]|\\.)*)"\s*$')


def journal_running_args(units: Sequence[str], run=None) -> Dict[str, List[str]]:
    """{component: [component, *args]} from the "Running <component> --..." lines that the current
    run of the first active unit logged (k3s logs how it starts each embedded component). Only whole
    lines in k3s' own format count (a message that merely contains the words does not); the last one
    per component wins (k3s restarted it). Empty when no unit runs. run(argv) -> stdout (tests pass
    their own)."""
    run = run or _run
    for unit in units:
        invocation = run(["systemctl", "show", "-p", "InvocationID", "--value", unit]).strip()
        if not invocation:
            continue
        found: Dict[str, List[str]] = {}
        for line in run(["journalctl", f"_SYSTEMD_INVOCATION_ID={invocation}", "-o", "cat", "--no-pager"]).splitlines():
            match = _RUNNING_LINE.match(line)
            if match:
                args = re.sub(r'\\(["\\])', r"\1", match.group("args"))
                found[match.group("component")] = [match.group("component")] + re.split(r"\s+(?=--)", args.strip())
        return found
    return {}


def _run(argv: List[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def flags_mismatch(args: List[str], expected: Mapping[str, Optional[str]]) -> Dict[str, Tuple[Optional[str], Optional[str]]]:
    running = parse_flags(args[1:])
    return {name: (running.get(name), value) for name, value in expected.items() if running.get(name) != value}


def probe(url: str, ca: Optional[str] = None, cert: Optional[str] = None, key: Optional[str] = None,
          timeout: float = 5.0) -> Tuple[bool, str]:
    """GET a component's health endpoint. Without a CA the server's certificate is not checked (a local
    endpoint serving a self-signed certificate); never through a proxy (the endpoint is the node's own)."""
    # late: a heavy module (ssl, http, email) only the health gate's probe needs; every plan on every node imports this file
    from ansible.module_utils.urls import open_url
    try:
        response = open_url(url, timeout=timeout, validate_certs=bool(ca), ca_path=ca, client_cert=cert,
                            client_key=key, use_proxy=False)
        body = response.read(200).decode("utf-8", "replace")
        return response.status == 200, f"{response.status} {body.strip()}"
    except urllib.error.HTTPError as exc:
        return False, f"{exc.code} {exc.read(200).decode('utf-8', 'replace').strip()}"
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        return False, str(getattr(exc, "reason", exc))


def wait_healthy(process: str, expected_flags: Mapping[str, Optional[str]], url: Optional[str], timeout: float,
                 interval: float = 2.0, stable_for: int = 3, expected_environ: Optional[Mapping[str, Optional[str]]] = None,
                 args_of: Optional[Callable[[str], List[List[str]]]] = None,
                 processes_of: Optional[Callable[[str], List[Proc]]] = None, **tls) -> Tuple[bool, str]:
    """Poll until the process runs with the expected flags and the endpoint answered ok `stable_for`
    times in a row (a restarting pod can answer once and then crash). processes_of(name) -> [Proc]
    (default component_processes; args_of(name) -> [argument lists] for callers with no process, such
    as k3s' log lines). Several processes that are the component but run with different arguments (or
    environments, where one is expected) are not judged: not healthy yet, until only one way remains."""
    deadline = time.monotonic() + timeout
    streak, last = 0, "not checked yet"
    if processes_of is None:
        processes_of = component_processes if args_of is None else (
            lambda name: [Proc("", list(args), {}, "") for args in args_of(name)])
    while True:
        running = processes_of(process)
        if not running:
            streak, last = 0, f"{process} is not running"
        elif not agree(running, list(expected_environ or {})):
            streak = 0
            differ = "arguments" if not agree(running) else "environments"
            last = (f"not healthy yet: {describe(process, running)} run with different {differ}; "
                    f"none of them is judged until only one remains")
        else:
            mismatch = flags_mismatch(running[0].args, expected_flags)
            environ = running[0].environ
            env_mismatch = {k: v for k, v in (expected_environ or {}).items() if environ.get(k) != v}
            if env_mismatch:
                streak = 0
                last = f"{process} runs without the new environment yet: " + ", ".join(sorted(env_mismatch))
            elif mismatch:
                streak = 0
                last = f"{process} runs without the new flags yet: " + ", ".join(
                    f"--{k}={v[0]} (want {v[1]})" for k, v in sorted(mismatch.items()))
            elif url:
                ok, answer = probe(url, **tls)
                streak = streak + 1 if ok else 0
                last = f"{url} answered {answer}"
            else:
                streak += 1
                last = f"{process} runs with the new flags"
        if streak >= stable_for:
            return True, last
        if time.monotonic() >= deadline:
            return False, last
        time.sleep(interval)
