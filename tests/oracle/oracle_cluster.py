"""The component oracle's bench: the test bed's real binaries, started with what the collection renders.

One session: kubeadm's certificates and kubeconfigs in a scratch directory, one etcd on loopback. Each run
renders validated variables with the collection's own functions (desired.component_flags / kubelet_fields /
apiserver_files / encryption_config, merged into kubeadm's fixture manifests with manifest.set_flags and into
its kubelet config with kubelet_config.merge_fields, exactly as the static_pod and kubelet_config modules
do), writes the files where the rendered flags point, and starts the component:

  kube-apiserver           against the session's etcd (its own --etcd-prefix), until /readyz says ok
  controller-manager,      against that apiserver, until /healthz on their secure port says ok
  scheduler
  kubelet                  with the rendered config file and no cluster: it loads, defaults and validates the
                           config, sets its feature gates and builds its TLS settings, then stops at "no client
                           provided" (webhook authentication needs a cluster) - past every check of the config
  etcd                     a member of its own with the rendered flags (or /etc/etcd.env variables), until /health

or until the process exits, which is the component refusing: its log says why.
"""

from __future__ import annotations

import base64
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
import component_harness as harness  # noqa: E402  pylint: disable=wrong-import-position,wrong-import-order

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import kubelet_config, manifest  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired  # noqa: E402  pylint: disable=wrong-import-position

FIXTURES = os.path.join(REPO, "tests", "fixtures", "kubeadm")
KUBELET_ACCEPTED = "no client provided"   # the kubelet got past its config, gates and TLS settings


@dataclass
class Outcome:
    """What a component did with a rendering: started (and answered its health endpoint) or exited."""
    component: str
    started: bool
    exit_code: Optional[int]
    log: str
    command: List[str] = field(default_factory=list)

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.log.splitlines()[-lines:])

    def why(self) -> str:
        return f"{self.component} {'started' if self.started else f'exited {self.exit_code}'}:\n{self.tail()}"


def _fixture_command(component: str) -> List[str]:
    with open(os.path.join(FIXTURES, "etc-kubernetes", "manifests", f"{component}.yaml"), encoding="utf-8") as handle:
        pod = yaml.safe_load(handle)
    return list(pod["spec"]["containers"][0]["command"])


class Bench:
    """The session: certificates, kubeconfigs and an etcd under workdir; components started one rendering at a time."""

    def __init__(self, workdir: str):
        self.workdir = workdir
        self.kube_bin, self.etcd_bin = harness.kube_bin_dir(), harness.etcd_bin_dir()
        self.config_dir = os.path.join(workdir, "etc-kubernetes")
        self.apiserver_port = harness.free_port()
        harness.make_control_plane_files(self.kube_bin, self.config_dir, self.apiserver_port)
        harness.run([os.path.join(self.kube_bin, "kubeadm"), "init", "phase", "kubeconfig", "super-admin",
                     "--config", os.path.join(self.config_dir, "kubeadm.yaml"), "--kubeconfig-dir", self.config_dir])
        self.client_cert = self._super_admin_cert()
        self.layout = catalogue.layout_for("kubeadm", self.config_dir)
        self.etcd, self.etcd_ports = harness.start_etcd(self.etcd_bin, self.config_dir, workdir)
        self.runs = 0

    def close(self) -> None:
        self.etcd.stop()

    def _super_admin_cert(self) -> Tuple[str, str]:
        """system:masters' client certificate: /readyz answers it whatever authorization_modes a rendering sets."""
        with open(os.path.join(self.config_dir, "super-admin.conf"), encoding="utf-8") as handle:
            user = yaml.safe_load(handle)["users"][0]["user"]
        paths = (os.path.join(self.config_dir, "oracle-client.crt"), os.path.join(self.config_dir, "oracle-client.key"))
        for path, key in zip(paths, ("client-certificate-data", "client-key-data")):
            with open(path, "wb") as handle:
                handle.write(base64.b64decode(user[key]))
        os.chmod(paths[1], 0o600)
        return paths

    # --- rendering, as the plan does it ------------------------------------------------------------------------

    def localise(self, values: Mapping[str, Any]) -> Dict[str, Any]:
        """The audit files where this session keeps its files (the write policy holds the real ones to their places)."""
        run_dir = harness.scratch_dir(self.workdir, f"run-{self.runs}")
        return dict(values, audit_policy_file=os.path.join(run_dir, "audit", "policy.yaml"),
                    audit_log_path=os.path.join(run_dir, "audit-log", "audit.log"))

    def _base(self, component: str) -> List[str]:
        """kubeadm's command line for the component, its /etc/kubernetes paths in this session's directory."""
        return [arg.replace("/etc/kubernetes", self.config_dir) for arg in _fixture_command(component)]

    def write_apiserver_files(self, values: Mapping[str, Any]) -> None:
        files = list(desired.apiserver_files(values, self.layout))
        if values["kube_encrypt_secret_data"]:
            config = desired.encryption_config(None, values["kube_encryption_algorithm"], list(values["kube_encryption_resources"]))
            files.append({"path": catalogue.hardening_paths(values, self.layout)["encryption_config"], "content": desired.dump(config)})
        for entry in files:
            os.makedirs(os.path.dirname(entry["path"]), exist_ok=True)
            with open(entry["path"], "w", encoding="utf-8") as handle:
                handle.write(entry["content"])
        if values["kubernetes_audit"]:
            os.makedirs(os.path.dirname(values["audit_log_path"]), exist_ok=True)

    def apiserver_command(self, values: Mapping[str, Any]) -> List[str]:
        args = self._base("kube-apiserver")
        manifest.set_flags(args, {"etcd-servers": f"https://127.0.0.1:{self.etcd_ports['client']}",
                                  "secure-port": str(self.apiserver_port), "bind-address": "127.0.0.1",
                                  "etcd-prefix": f"/oracle-{self.runs}"})
        manifest.set_flags(args, self.relocated(desired.component_flags(values, self.layout, "kube-apiserver")))
        return [os.path.join(self.kube_bin, "kube-apiserver")] + args[1:]

    def relocated(self, flags: Mapping[str, Optional[str]]) -> Dict[str, Optional[str]]:
        """Files a user's extra args name under /etc/kubernetes, in this session's directory."""
        return {name: value.replace("/etc/kubernetes/", self.config_dir + "/") if isinstance(value, str) else value
                for name, value in flags.items()}

    def control_plane_command(self, component: str, values: Mapping[str, Any], port: int) -> List[str]:
        args = self._base(component)
        manifest.set_flags(args, {"secure-port": str(port), "leader-elect": "false"})
        manifest.set_flags(args, self.relocated(desired.component_flags(values, self.layout, component)))
        return [os.path.join(self.kube_bin, component)] + args[1:]

    def kubelet_config(self, values: Mapping[str, Any]) -> Dict[str, Any]:
        with open(os.path.join(FIXTURES, "var-lib-kubelet", "config.yaml"), encoding="utf-8") as handle:
            base = yaml.safe_load(handle)
        base["containerRuntimeEndpoint"] = f"unix://{self.workdir}/no-runtime.sock"
        base["authentication"]["x509"]["clientCAFile"] = os.path.join(self.config_dir, "pki", "ca.crt")
        base["staticPodPath"] = os.path.join(self.workdir, "no-static-pods")
        config, _changes = kubelet_config.merge_fields(base, desired.kubelet_fields(values, self.layout))
        return config

    # --- running ---------------------------------------------------------------------------------------------

    def _health(self, host: str, port: int, path: str) -> str:
        host = f"[{host}]" if ":" in host else host
        return f"https://{host}:{port}{path}"

    def start_apiserver(self, values: Mapping[str, Any], timeout: float = 90) -> Tuple[Outcome, Optional[harness.Process]]:
        """(outcome, the running process when it started: the caller stops it)."""
        self.runs += 1
        values = self.localise(values)
        self.write_apiserver_files(values)
        cmd = self.apiserver_command(values)
        proc = harness.Process("kube-apiserver", cmd, self.workdir)
        ready = proc.wait_until(harness.answers_ok(self._health("127.0.0.1", self.apiserver_port, "/readyz"), self.client_cert), timeout)
        if not ready:
            proc.wait_exit(5)
            code = proc.exited()
            proc.stop()
            return Outcome("kube-apiserver", False, code, proc.log(), cmd), None
        return Outcome("kube-apiserver", True, None, "", cmd), proc

    def apiserver(self, values: Mapping[str, Any], timeout: float = 90) -> Outcome:
        outcome, proc = self.start_apiserver(values, timeout)
        if proc:
            proc.stop()
        return outcome

    def start_control_plane(self, component: str, values: Mapping[str, Any]) -> Tuple[harness.Process, str, List[str]]:
        port = harness.free_port()
        cmd = self.control_plane_command(component, values, port)
        bind = manifest.parse_flags(cmd[1:]).get("bind-address") or "127.0.0.1"
        host = "127.0.0.1" if bind in ("0.0.0.0", "") else "::1" if bind == "::" else bind
        return harness.Process(component, cmd, self.workdir), self._health(host, port, "/healthz"), cmd

    def control_plane(self, components: Tuple[str, ...], values: Mapping[str, Any], timeout: float = 60) -> List[Outcome]:
        """Start the components side by side (an apiserver must run for their kubeconfigs), each until healthy or exited."""
        started = [(component, *self.start_control_plane(component, values)) for component in components]
        outcomes = []
        try:
            for component, proc, url, cmd in started:
                healthy = proc.wait_until(harness.answers_ok(url, self.client_cert), timeout)
                if not healthy:
                    proc.wait_exit(5)
                outcomes.append(Outcome(component, healthy, proc.exited(), "" if healthy else proc.log(), cmd))
        finally:
            for _component, proc, _url, _cmd in started:
                proc.stop()
        return outcomes

    def kubelet(self, values: Mapping[str, Any], config: Optional[Mapping[str, Any]] = None) -> Outcome:
        """The kubelet's verdict on its rendered config: accepted when it stops at the first step that needs a cluster."""
        self.runs += 1
        root = harness.scratch_dir(self.workdir, f"kubelet-{self.runs}")
        path = os.path.join(root, "config.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(dict(config) if config is not None else self.kubelet_config(values), handle)
        cmd = [os.path.join(self.kube_bin, "kubelet"), f"--config={path}", f"--root-dir={root}", f"--cert-dir={root}/pki"]
        result = harness.run(cmd, timeout=60)
        log = result.stdout + result.stderr
        return Outcome("kubelet", KUBELET_ACCEPTED in log, result.returncode, log, cmd)

    def _etcd_health(self, client_urls: Optional[str], ports: Mapping[str, int]):
        """/health over TLS with kubeadm's health-check certificate, or - when the rendering serves clients in plain
        text only - over HTTP."""
        if client_urls and "https://" not in client_urls:
            url = f"http://127.0.0.1:{ports['client']}/health"
            return lambda: harness.https_get(url)[0] == 200
        return harness.etcd_healthy(self.config_dir, ports)

    def etcd_member(self, values: Mapping[str, Any], as_env: bool = False, timeout: float = 30) -> Outcome:
        """A member of its own, with the rendered etcd flags (as_env: as kubespray's /etc/etcd.env variables)."""
        self.runs += 1
        flags = desired.component_flags(values, self.layout, "etcd")
        ports = {"client": harness.free_port(), "peer": harness.free_port(), "metrics": harness.free_port()}
        data_dir = harness.scratch_dir(self.workdir, f"etcd-{self.runs}")
        os.chmod(data_dir, 0o700)
        flags = local_urls(flags, ports)
        env_vars: Dict[str, str] = {}
        if as_env:   # etcd refuses a variable the command line also sets: the rendered ones come by environment only
            env_vars = {k: v for k, v in desired.etcd_env(flags).items() if v is not None}
            flags = {name: None for name in flags}
        cmd = harness.etcd_command(self.etcd_bin, self.config_dir, data_dir, ports, flags)
        proc = harness.Process("etcd", cmd, self.workdir, env=env_vars)
        try:
            healthy = proc.wait_until(self._etcd_health(flags.get("listen-client-urls") or env_vars.get("ETCD_LISTEN_CLIENT_URLS"), ports),
                                      timeout)
            if not healthy:
                proc.wait_exit(5)
            return Outcome("etcd", healthy, proc.exited(), "" if healthy else proc.log(), cmd + [f"{k}={v}" for k, v in env_vars.items()])
        finally:
            proc.stop()


ETCD_PORTS = {"2379": "client", "2380": "peer", "2381": "metrics"}


def local_urls(flags: Mapping[str, Optional[str]], ports: Mapping[str, int]) -> Dict[str, Optional[str]]:
    """The rendered etcd URLs as this machine can serve them: etcd's well-known ports as this session's free ones,
    a node's own address (10.89.0.10 on the fixture node) as a second loopback address. Scheme, wildcard and
    the number of URLs stay as rendered: what etcd is asked to do is the same."""
    import re

    def one(url: str) -> str:
        match = re.match(r"(https?://)(\[[^\]]+\]|[^:/]+):(\d+)$", url.strip())
        if not match:
            return url
        scheme, host, port = match.groups()
        if host not in ("0.0.0.0", "[::]", "localhost", "[::1]") and not host.startswith("127."):
            host = "127.0.0.2"
        return f"{scheme}{host}:{ports[ETCD_PORTS[port]] if port in ETCD_PORTS else port}"
    return {name: ",".join(one(u) for u in value.split(",")) if isinstance(value, str) and name.endswith("-urls") else value
            for name, value in flags.items()}
