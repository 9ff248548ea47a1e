"""What a node says about itself beyond the CIS state: kernel parameters, its own addresses, the
apiserver endpoints its kubeconfigs name. Runs on the node (node_state, node_plan)."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Callable, List, Optional, Sequence, Tuple
from urllib.parse import urlparse


def run_tool(argv: List[str]) -> Tuple[int, str]:
    """(exit code, stdout - or the error text when it failed) of a node tool (auditctl, ctr, runc); 127 when
    it is not installed."""
    if shutil.which(argv[0]) is None and not os.path.exists(argv[0]):
        return 127, f"{argv[0]}: not installed"
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return 1, str(err)
    return done.returncode, done.stdout if done.returncode == 0 else (done.stderr or done.stdout)


def read_sysctl(name: str) -> Optional[str]:
    try:
        with open("/proc/sys/" + name.replace(".", "/"), encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


def own_addresses(run_command: Callable[[List[str]], Tuple[int, str, str]]) -> List[str]:
    """The node's IP addresses from `ip -o addr` (loopback and link-local excluded)."""
    rc, out, _ignored = run_command(["ip", "-o", "addr", "show"])
    addresses = []
    if rc == 0:
        for line in out.splitlines():
            fields = line.split()
            if len(fields) > 3 and fields[2] in ("inet", "inet6"):
                address = fields[3].split("/")[0]
                if not address.startswith("127.") and address != "::1" and not address.startswith("fe80:"):
                    addresses.append(address)
    return addresses


def kubeconfig_servers(paths: Sequence[str]) -> List[str]:
    """Host part of the server URLs in the kubeconfigs (what the kubelet must still reach)."""
    from .yaml_support import yaml
    servers: List[str] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                config = yaml.safe_load(handle) or {}
        except (OSError, ValueError):
            continue
        if not isinstance(config, dict):
            continue
        for cluster in config.get("clusters") or []:
            host = urlparse(str((cluster.get("cluster") or {}).get("server", ""))).hostname
            if host and host not in servers:
                servers.append(host)
    return servers
