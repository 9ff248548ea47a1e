"""What a node says about itself beyond the CIS state: kernel parameters, its own addresses, the
apiserver endpoints its kubeconfigs name. Runs on the node (node_state, node_plan)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlparse

from ..base.component_names import APISERVER, KUBELET
from . import health   # health.component_processes, looked up when called (tests stand in for it)


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
    from ..base.yaml_support import safe_load, yaml  # late: PyYAML is optional where this module is imported (only this path parses YAML)
    servers: List[str] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                config = safe_load(handle) or {}
        except (OSError, ValueError, yaml.YAMLError):   # not a kubeconfig we can read: no server from it (never its text)
            continue
        if not isinstance(config, dict):
            continue
        for cluster in config.get("clusters") or []:
            host = urlparse(str((cluster.get("cluster") or {}).get("server", ""))).hostname
            if host and host not in servers:
                servers.append(host)
    return servers


# What `kube-apiserver --version` / `kubelet --version` ("Kubernetes v1.36.1", "Kubernetes v1.37.0-rc.1") and
# `k3s --version` ("k3s version v1.36.1+k3s1 (abc123)", "v1.37.0-rc1+k3s1") print; nothing else is taken for a
# version. Only alpha, beta and rc are pre-releases (a source build's "-dirty" is its release); any other suffix is
# no version told (a pre-release misread as its release would pass for it).
_VERSION_LINE = re.compile(r"(?:Kubernetes|k3s version) v(1\.[0-9]{1,3}\.[0-9]{1,4})(-(?:alpha|beta|rc)\.?[0-9]{1,3})?(?:-dirty)?(?=[\s+]|$)",
                           re.ASCII)
_IMAGE_TAG = re.compile(r":v?(1\.[0-9]{1,3}\.[0-9]{1,4})(?:[-+][0-9A-Za-z.+-]*)?$", re.ASCII)
BIN_DIRS = ("/usr/local/bin", "/usr/bin", "/opt/bin", "/usr/local/sbin", "/usr/sbin", "/bin", "/sbin")


def untrusted(path: str) -> Optional[str]:
    """Why a binary on disk is not ours to run as root (None: it is): the file, what its links lead to and every
    directory on the way must be root's and writable by nobody else - else whoever may write there chooses what runs."""
    chains = [path, os.path.realpath(path)]
    for one in chains:
        parts = one.rstrip("/").split("/")
        for end in range(len(parts), 0, -1):
            step = "/".join(parts[:end]) or "/"
            try:
                info = os.lstat(step)
            except OSError as exc:
                return f"{step}: {exc.strerror}"
            if stat.S_ISLNK(info.st_mode):
                continue   # a link's own mode means nothing; its directory and its target are checked
            if info.st_uid != 0:
                return f"{step} is not root's (uid {info.st_uid})"
            if info.st_mode & 0o022:
                return f"{step} is writable by others than root (mode {info.st_mode & 0o7777:o})"
    return None


def _asked(argv: List[str], run: Callable[[List[str]], Tuple[int, str, str]]) -> Optional[str]:
    try:
        rc, out, _ignored = run(argv)
    except OSError:
        return None
    match = _VERSION_LINE.search(out or "") if rc == 0 else None
    return f"v{match.group(1)}{match.group(2) or ''}" if match else None


def _image_tag(manifest: str) -> Optional[str]:
    """The version tag of a static pod's image (registry.k8s.io/kube-apiserver:v1.36.1[@sha256:...])."""
    from ..base.yaml_support import safe_load, yaml  # late: PyYAML is optional where this module is imported (only this path parses YAML)
    try:
        with open(manifest, encoding="utf-8") as handle:
            pod = safe_load(handle) or {}
        image = str(((pod.get("spec") or {}).get("containers") or [{}])[0].get("image") or "")
    except (OSError, ValueError, AttributeError, IndexError, TypeError, yaml.YAMLError):
        return None
    match = _IMAGE_TAG.search(image.split("@", 1)[0])
    return f"v{match.group(1)}" if match else None


def kube_version(layout: Any, run: Callable[[List[str]], Tuple[int, str, str]], proc_root: str = "/proc") -> Dict[str, Optional[str]]:
    """{version, release, source}: the Kubernetes release this node runs (version: its MAJOR.MINOR.PATCH; release: as
    the binary told it, a release candidate's "-rc.1" kept - it is not yet that release) and where that was read;
    version None when nothing tells. What runs first - kube-apiserver, k3s, the kubelet, each binary asked through
    /proc/<pid>/exe (the file that runs, also when an upgrade replaced it on disk since) - then what is on
    disk: the apiserver's static pod image tag, the k3s or kubelet binary."""

    k3s = bool(layout.components.get("units"))
    names = ["k3s"] if k3s else [APISERVER, KUBELET]
    silent: List[str] = []
    for name in names:
        for proc in health.component_processes(name, proc_root):
            found = _asked([os.path.join(proc_root, proc.pid, "exe"), "--version"], run)
            if found:
                return _told(found, f"the running {name} (pid {proc.pid}: {proc.exe} --version)")
            silent.append(f"{name} pid {proc.pid}")
    said = f"; {', '.join(silent)} did not answer --version" if silent else ""
    if not k3s:
        manifest = os.path.join(layout.manifests_dir, "kube-apiserver.yaml")
        found = _image_tag(manifest)
        if found:
            running = "it runs" if any(s.startswith(APISERVER) for s in silent) else "it does not run"
            return _told(found, f"the kube-apiserver static pod's image tag ({manifest}; {running}{said})")
    name = names[-1]   # the binary that starts everything on this node: k3s, or the kubelet
    path = next((os.path.join(d, name) for d in BIN_DIRS if os.access(os.path.join(d, name), os.X_OK)), None)
    refused = untrusted(path) if path else None
    if refused:
        return _told(None, f"the {name} binary on disk is not run: {refused}{said}")
    found = _asked([path, "--version"], run) if path else None
    if found:
        return _told(found, f"the {name} binary on disk ({path} --version; nothing running answered{said})")
    return _told(None, f"nothing here runs or holds a Kubernetes binary that tells its version{said}")


def _told(release: Optional[str], source: str) -> Dict[str, Optional[str]]:
    return {"version": release.split("-", 1)[0] if release else None, "release": release, "source": source}
