"""Run the test bed's built Kubernetes and etcd binaries on this machine, briefly and on loopback only.

Shared by tools/gen_component_data.py (what the binaries say about their flags, feature gates and TLS
names) and tests/oracle (the settings the collection renders start the real components). Every process
runs niced, in its own session, with its files in a scratch directory, and is killed by its own id.
Nothing here touches /etc/kubernetes, /var/lib/kubelet or the host's services.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KUBE_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kubeadm")
NICE = 10   # a timed suite may be running beside us: never compete with it for the cores


def versions() -> Dict[str, str]:
    """testbed/versions.env: the pinned releases the test bed builds."""
    found: Dict[str, str] = {}
    with open(os.path.join(ROOT, "testbed", "versions.env"), encoding="utf-8") as handle:
        for line in handle:
            match = re.match(r"([A-Z_]+)=(\S+)", line)
            if match:
                found[match.group(1)] = match.group(2)
    return found


def cache_dir() -> str:
    return os.environ.get("KG_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "kubeguard-testbed")


def kube_bin_dir() -> str:
    return os.path.join(cache_dir(), "k8s", versions()["KUBE_VERSION"], "bin")


def etcd_bin_dir() -> str:
    return os.path.join(cache_dir(), "live", versions()["ETCD_VERSION"], "bin")


def missing_binaries(kube_bin: Optional[str] = None, etcd_bin: Optional[str] = None) -> Optional[str]:
    """Why the binaries cannot be used (None when they all are there): testbed/setup.sh builds them."""
    kube_bin, etcd_bin = kube_bin or kube_bin_dir(), etcd_bin or etcd_bin_dir()
    wanted = [os.path.join(kube_bin, name) for name in KUBE_BINARIES] + [os.path.join(etcd_bin, "etcd")]
    absent = [path for path in wanted if not os.access(path, os.X_OK)]
    if absent:
        return f"the test bed's binaries are not built ({', '.join(absent)}): testbed/setup.sh builds them"
    return None


def _niced() -> None:
    os.nice(NICE)


def run(cmd: Sequence[str], timeout: float = 60, cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run a binary to its end (niced), text output; never raises on a non-zero exit."""
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          preexec_fn=_niced, check=False)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """One component started in the background; its output in a log file of the scratch directory."""

    def __init__(self, name: str, cmd: Sequence[str], workdir: str, env: Optional[Mapping[str, str]] = None):
        self.name = name
        self.cmd = list(cmd)
        self.log_path = os.path.join(workdir, f"{name}-{time.monotonic_ns()}.log")
        # pylint: disable=consider-using-with  # stopped by stop(), which every caller reaches through finally
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir,
                                      env=dict(os.environ, **(env or {})), preexec_fn=_niced, start_new_session=True)

    def exited(self) -> Optional[int]:
        return self.popen.poll()

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def wait_until(self, probe: Callable[[], bool], timeout: float) -> bool:
        """True once probe() holds; False when the process exits first or the time is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exited() is not None:
                return bool(probe())
            if probe():
                return True
            time.sleep(0.25)
        return False

    def wait_exit(self, timeout: float) -> Optional[int]:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """SIGKILL this process (and only it: its own session's members), then reap it."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(30)
        self._log.close()


def https_get(url: str, cert: Optional[Tuple[str, str]] = None, timeout: float = 2.0) -> Tuple[int, str]:
    """(status, body) of a GET over TLS without verifying the server (it is ours, on loopback); (0, error) when
    nothing answers."""
    match = re.match(r"(https?)://([^/:]+|\[[^\]]+\]):(\d+)(/.*)?$", url)
    if not match:
        raise ValueError(f"not a URL: {url}")
    scheme, host, port, path = match.group(1), match.group(2).strip("[]"), int(match.group(3)), match.group(4) or "/"
    try:
        if scheme == "https":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            if cert:
                context.load_cert_chain(*cert)
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read().decode("utf-8", errors="replace")
        conn.close()
        return response.status, body
    except (OSError, http.client.HTTPException) as err:
        return 0, str(err)


def answers_ok(url: str, cert: Optional[Tuple[str, str]] = None) -> Callable[[], bool]:
    def probe() -> bool:
        status, body = https_get(url, cert)
        return status == 200 and body.strip() == "ok"
    return probe


# --- certificates and kubeconfigs, made by the pinned kubeadm -------------------------------------------

KUBEADM_CONFIG = """apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint: {{advertiseAddress: 10.89.0.10, bindPort: {port}}}
nodeRegistration: {{name: oracle, criSocket: "unix://{config_dir}/no-runtime.sock"}}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: {version}
clusterName: oracle
certificatesDir: {config_dir}/pki
controlPlaneEndpoint: "127.0.0.1:{port}"
networking: {{podSubnet: 10.233.64.0/18, serviceSubnet: 10.233.0.0/18}}
apiServer: {{certSANs: [127.0.0.1, localhost]}}
etcd: {{local: {{serverCertSANs: [127.0.0.1, localhost], peerCertSANs: [127.0.0.1, localhost], dataDir: {config_dir}/etcd}}}}
"""


def make_control_plane_files(kube_bin: str, config_dir: str, apiserver_port: int) -> None:
    """kubeadm's certificates (CA, apiserver, etcd, front proxy, service-account keys) and the controller-manager
    and scheduler kubeconfigs under config_dir, as `kubeadm init` writes them under /etc/kubernetes. The advertise
    address is a placeholder: kubeadm refuses a loopback one, and everything here talks over 127.0.0.1."""
    os.makedirs(config_dir, exist_ok=True)
    config = os.path.join(config_dir, "kubeadm.yaml")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write(KUBEADM_CONFIG.format(port=apiserver_port, config_dir=config_dir, version=versions()["KUBE_VERSION"]))
    kubeadm = os.path.join(kube_bin, "kubeadm")
    steps = [["init", "phase", "certs", "all"]] + [["init", "phase", "kubeconfig", kind, "--kubeconfig-dir", config_dir]
                                                   for kind in ("controller-manager", "scheduler", "admin")]
    for step in steps:
        result = run([kubeadm, *step, "--config", config])
        if result.returncode != 0:
            raise RuntimeError(f"kubeadm {' '.join(step)}: {result.stderr.strip()[-400:]}")


def etcd_command(etcd_bin: str, config_dir: str, data_dir: str, ports: Mapping[str, int],
                 flags: Optional[Mapping[str, Optional[str]]] = None) -> List[str]:
    """A one-member etcd on loopback with kubeadm's certificates; flags are set (None removes) last."""
    pki = os.path.join(config_dir, "pki", "etcd")
    client, peer = f"https://127.0.0.1:{ports['client']}", f"https://127.0.0.1:{ports['peer']}"
    base: Dict[str, Optional[str]] = {
        "name": "oracle", "data-dir": data_dir, "listen-client-urls": client, "advertise-client-urls": client,
        "listen-peer-urls": peer, "initial-advertise-peer-urls": peer, "initial-cluster": f"oracle={peer}",
        "listen-metrics-urls": f"http://127.0.0.1:{ports['metrics']}",
        "cert-file": f"{pki}/server.crt", "key-file": f"{pki}/server.key", "trusted-ca-file": f"{pki}/ca.crt",
        "client-cert-auth": "true", "peer-cert-file": f"{pki}/peer.crt", "peer-key-file": f"{pki}/peer.key",
        "peer-trusted-ca-file": f"{pki}/ca.crt", "peer-client-cert-auth": "true"}
    base.update(flags or {})
    return [os.path.join(etcd_bin, "etcd")] + [f"--{name}={value}" for name, value in base.items() if value is not None]


def start_etcd(etcd_bin: str, config_dir: str, workdir: str, flags: Optional[Mapping[str, Optional[str]]] = None,
               timeout: float = 30) -> Tuple[Process, Dict[str, int]]:
    """etcd started and answering /health, or RuntimeError with its log."""
    ports = {"client": free_port(), "peer": free_port(), "metrics": free_port()}
    data_dir = os.path.join(workdir, f"etcd-data-{ports['client']}")
    os.makedirs(data_dir, mode=0o700)
    proc = Process("etcd", etcd_command(etcd_bin, config_dir, data_dir, ports, flags), workdir)
    healthy = proc.wait_until(etcd_healthy(config_dir, ports), timeout)
    if not healthy:
        proc.stop()
        raise RuntimeError(f"etcd did not become healthy:\n{proc.log()[-3000:]}")
    return proc, ports


def etcd_healthy(config_dir: str, ports: Mapping[str, int]) -> Callable[[], bool]:
    """/health on the client port, with kubeadm's etcd health-check client certificate."""
    pki = os.path.join(config_dir, "pki", "etcd")
    cert = (os.path.join(pki, "healthcheck-client.crt"), os.path.join(pki, "healthcheck-client.key"))

    def probe() -> bool:
        status, body = https_get(f"https://127.0.0.1:{ports['client']}/health", cert)
        return status == 200 and '"health":"true"' in body
    return probe


def scratch_dir(parent: str, name: str) -> str:
    path = os.path.join(parent, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path
