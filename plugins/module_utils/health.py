"""Is a component really back? Its process runs with the flags we wrote, and its health endpoint
answers ok. Reads /proc (real state), never our own intentions."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import time
import urllib.error
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible.module_utils.urls import open_url

from .manifest import parse_flags


def process_environ(name: str, proc_root: str = "/proc") -> List[Dict[str, str]]:
    """Environment of every process named `name` (etcd on the host reads its flags from ETCD_* variables)."""
    found = []
    for pid in _pids_named(name, proc_root):
        try:
            with open(os.path.join(proc_root, pid, "environ"), "rb") as handle:
                pairs = [item.decode("utf-8", "replace").partition("=") for item in handle.read().split(b"\0") if item]
        except OSError:
            continue
        found.append({key: value for key, _ignored, value in pairs})
    return found


def _pids_named(name: str, proc_root: str = "/proc") -> List[str]:
    pids = []
    for pid in os.listdir(proc_root):
        if not pid.isdigit():
            continue
        try:
            with open(os.path.join(proc_root, pid, "cmdline"), "rb") as handle:
                first = handle.read().split(b"\0", 1)[0].decode("utf-8", "replace")
        except OSError:
            continue
        if first and os.path.basename(first) == name:
            pids.append(pid)
    return pids


def process_args(name: str, proc_root: str = "/proc") -> List[List[str]]:
    """Argument lists of every process whose executable base name is `name`."""
    found = []
    for pid in os.listdir(proc_root):
        if not pid.isdigit():
            continue
        try:
            with open(os.path.join(proc_root, pid, "cmdline"), "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        args = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
        if args and os.path.basename(args[0]) == name:
            found.append(args)
    return found


_RUNNING_LINE = re.compile(r'Running (?P<component>[a-z-]+) (?P<args>--.*?)"?\s*$')


def journal_running_args(units: Sequence[str], run=None) -> Dict[str, List[str]]:
    """{component: [component, *args]} from the "Running <component> --..." lines that the current
    run of the first active unit logged (k3s logs how it starts each embedded component). Empty when
    no unit runs. run(argv) -> stdout (tests pass their own)."""
    run = run or _run
    for unit in units:
        invocation = run(["systemctl", "show", "-p", "InvocationID", "--value", unit]).strip()
        if not invocation:
            continue
        found: Dict[str, List[str]] = {}
        for line in run(["journalctl", f"_SYSTEMD_INVOCATION_ID={invocation}", "-o", "cat", "--no-pager"]).splitlines():
            match = _RUNNING_LINE.search(line)
            if match:
                args = match.group("args").replace('\\"', '"').replace("\\\\", "\\")
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
                 args_of: Callable[[str], List[List[str]]] = None, **tls) -> Tuple[bool, str]:
    """Poll until the process runs with the expected flags and the endpoint answered ok `stable_for`
    times in a row (a restarting pod can answer once and then crash)."""
    deadline = time.monotonic() + timeout
    streak, last = 0, "not checked yet"
    args_of = args_of or process_args
    while True:
        running = args_of(process)
        if not running:
            streak, last = 0, f"{process} is not running"
        else:
            mismatch = flags_mismatch(running[0], expected_flags)
            environ = (process_environ(process) or [{}])[0]
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
