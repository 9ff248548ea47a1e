"""Services a benchmark wants off on some nodes (the STIG: no SSH daemon on workers), read from the node itself:
a process that executes the daemon's binary, or anything listening on its port (systemd's socket activation), is
running (whoever runs it: a user's copy on a high port serves SSH too); a unit linked into a target's wants or
requires directory is enabled at boot."""

from __future__ import annotations

import glob
import os
from typing import Any, Dict, List, Mapping, Optional

from ..catalogue import checks
from .health import exe_path

# service -> the binaries that are its daemon, the unit names that start it
SERVICES: Dict[str, Dict[str, Any]] = {
    "sshd": {"binaries": ("sshd",), "units": ("ssh.service", "sshd.service", "ssh.socket", "sshd.socket"), "ports": (22,)},
}
# where systemctl enable (and presets, and runtime enables) link units into targets
WANTS_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")


def observe(proc_root: str = "/proc", root: str = "/") -> Dict[str, Optional[Dict[str, List[str]]]]:
    """{service: {running: [pids], enabled: [wants links]}} for every service of SERVICES; a service is None
    (not judged) when this look cannot see every process: /proc unreadable, or not root (others' binaries hidden)."""
    try:
        pids = sorted((p for p in os.listdir(proc_root) if p.isdigit()), key=int)
    except OSError:
        return {name: None for name in SERVICES}
    if os.geteuid() != 0:
        return {name: None for name in SERVICES}
    exes = {pid: exe_path(proc_root, pid) for pid in pids}
    found: Dict[str, Optional[Dict[str, List[str]]]] = {}
    for name, service in SERVICES.items():
        running = [pid for pid, exe in exes.items() if exe and os.path.basename(exe) in service["binaries"]]
        enabled = sorted({path for base in WANTS_DIRS for unit in service["units"] for links in ("*.wants", "*.requires")
                          for path in glob.glob(os.path.join(root, base.lstrip("/"), links, unit))})
        found[name] = {"running": running, "enabled": [os.path.join("/", os.path.relpath(p, root)) for p in enabled]}
    return found


def evaluate(check: Mapping[str, Any], state: Mapping[str, Any]) -> checks.Outcome:
    """{service, op: not_running | not_enabled} against observe()'s facts (None: not observed, not judged)."""
    name = str(check["service"])
    seen = (state.get("services") or {}).get(name)
    if seen is None:
        return checks.Outcome(None, f"{name}: not observed on this node")
    if check["op"] == "not_running":
        pids = seen.get("running") or []
        # socket activation: systemd itself listens on the daemon's port until the first connection starts it
        ports = SERVICES[name].get("ports") or ()
        listening = [f"{e.get('process')} (pid {e.get('pid')}) on {e.get('address')}:{e.get('port')}"
                     for e in state.get("listeners") or [] if e.get("port") in ports]
        said = ([f"{name} runs (pids {', '.join(pids)})"] if pids else []) + ([f"port {', '.join(map(str, ports))} served by "
                                                                               + "; ".join(listening)] if listening else [])
        return checks.Outcome(not said, "; ".join(said) or f"no {name} process runs, nothing listens on its port")
    if check["op"] == "not_enabled":
        links = seen.get("enabled") or []
        return checks.Outcome(not links, f"{name} is enabled at boot ({', '.join(links)})" if links else f"{name} is not enabled at boot")
    raise ValueError(f"service check: unknown op {check['op']!r}; allowed: not_running, not_enabled")
