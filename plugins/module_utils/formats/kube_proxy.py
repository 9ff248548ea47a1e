"""kube-proxy: the settings it really runs with, and its configuration hardened (CIS 4.3.1).

Started with --config, kube-proxy reads every setting from that file and ignores its other flags, except
logging and --hostname-override (cmd/kube-proxy/app/options.go, Complete). kubeadm and kubespray run it
so, from the kube-system/kube-proxy ConfigMap mounted into its pods: the audit reads that file through
the process's own root (/proc/<pid>/root), never the ConfigMap we wrote. A flag beside --config is
reported as ignored, not judged (kube-bench reads it and can be fooled by it). Unset addresses take
kube-proxy's defaults (metrics on 127.0.0.1:10249, health on 0.0.0.0:10256).

The writer edits the ConfigMap's KubeProxyConfiguration by one line (every other line left as kubeadm
wrote it; the result parsed again and compared) and rolls the DaemonSet's pods with a pod-template
annotation unique to the rollout (its text's hash and the time), when the text changed or changed since
our last rollout (kube-proxy reads the file at start only). YAML loading is passed in (no PyYAML at import
time).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from .kubelet_config import get_field

NAMESPACE = "kube-system"
CONFIG_MAP = "kube-proxy"
CONFIG_KEY = "config.conf"          # kubeadm's key; kubespray's kubeadm writes the same
DAEMONSET = "kube-proxy"
HASH_ANNOTATION = "kubeguard.io/kube-proxy-config"
DEFAULT_METRICS = "127.0.0.1:10249"
DEFAULTS = {"metrics-bind-address": DEFAULT_METRICS, "healthz-bind-address": "0.0.0.0:10256",
            "bind-address": "0.0.0.0", "profiling": "false"}
PORTS = {"metrics-bind-address": 10249, "healthz-bind-address": 10256}
# KubeProxyConfiguration fields (dotted) and the flags they stand for
FIELD_FLAGS = {"metricsBindAddress": "metrics-bind-address", "healthzBindAddress": "healthz-bind-address",
               "bindAddress": "bind-address", "enableProfiling": "profiling", "mode": "proxy-mode",
               "clientConnection.kubeconfig": "kubeconfig", "clusterCIDR": "cluster-cidr"}
# flags kube-proxy still reads beside --config
KEPT_WITH_CONFIG = ("config", "hostname-override", "v", "vmodule", "logging-format", "log-flush-frequency",
                    "log-text-split-stream", "log-text-info-buffer-size", "log-json-split-stream", "log-json-info-buffer-size")


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def config_flags(doc: Mapping[str, Any]) -> Dict[str, Optional[str]]:
    """A KubeProxyConfiguration's settings as the flags they stand for (only those given and not blank)."""
    found: Dict[str, Optional[str]] = {}
    for dotted, flag in FIELD_FLAGS.items():
        value = get_field(doc, dotted)
        if value is not None and value != "":
            found[flag] = _text(value)
    return found


def with_port(address: str, port: int) -> str:
    """kube-proxy's AppendPortIfNeeded: 127.0.0.1 -> 127.0.0.1:10249, ::1 -> [::1]:10249."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return address
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def host(address: Optional[str]) -> Optional[str]:
    """The IP of host:port, [v6]:port or a bare IP (None: not an address)."""
    if not address:
        return None
    text = address.strip()
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::[0-9]{1,5})?", text)
    candidate = match.group(1) if match else (text.rsplit(":", 1)[0] if text.count(":") == 1 else text)
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def port_of(address: Optional[str]) -> Optional[int]:
    """The port of host:port or [v6]:port (None: none given)."""
    match = re.fullmatch(r"(?:\[[^\]]*\]|[^:\[\]]*):([0-9]{1,5})", (address or "").strip())
    return int(match.group(1)) if match else None


def is_loopback(address: Optional[str]) -> bool:
    """An address on the loopback network only (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 as Go binds it)."""
    found = host(address)
    if found is None:
        return False
    ip = ipaddress.ip_address(found)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def bind_address_problem(value: Any) -> Optional[str]:
    """Why value is not an IP:port kube-proxy binds its metrics to (None: it is)."""
    if not isinstance(value, str):
        return "must be an address and port, e.g. 127.0.0.1:10249 (or [::1]:10249)"
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[0-9.]+):([0-9]{1,5})", value)
    if not match or host(value) is None or not 0 < int(match.group(2)) <= 65535:
        return "must be an address and port, e.g. 127.0.0.1:10249 (or [::1]:10249)"
    return None


def effective(flags: Mapping[str, Optional[str]], read_config: Callable[[str], Optional[str]],
              load_yaml: Callable[[str], Any]) -> Dict[str, Any]:
    """{'flags': what kube-proxy runs with, 'ignored': flags it ignores, 'config': the file read (or None),
    'unreadable': why the file named by --config could not be judged}. read_config(path) -> text or None."""
    result: Dict[str, Any] = {"ignored": [], "config": None}
    path = flags.get("config")
    if path:
        result["config"] = path
        text = read_config(str(path))
        try:
            doc = load_yaml(text) if text is not None else None
        except Exception:   # noqa: BLE001 - any parse error: the file cannot be judged  pylint: disable=broad-except
            doc = None
        if not isinstance(doc, Mapping):
            result["unreadable"] = f"--config={path} could not be read as a KubeProxyConfiguration"
            return {**result, "flags": {k: v for k, v in flags.items() if k in KEPT_WITH_CONFIG}}
        found = {**config_flags(doc), **{k: v for k, v in flags.items() if k in KEPT_WITH_CONFIG}}
        result["ignored"] = sorted(k for k in flags if k not in KEPT_WITH_CONFIG)
    else:
        found = dict(flags)
    for flag, default in DEFAULTS.items():
        if found.get(flag) in (None, ""):
            found[flag] = default
        elif flag in PORTS:
            found[flag] = with_port(str(found[flag]), PORTS[flag])
    result["flags"] = found
    return result


_TOP_KEY = re.compile(r"^metricsBindAddress[ \t]*:[^\n]*$", re.M)
API_VERSION = "kubeproxy.config.k8s.io/v1alpha1"
KIND = "KubeProxyConfiguration"


class KubeProxyConfigError(Exception):
    """The ConfigMap's text cannot be edited safely (said, never guessed)."""


def strict_load(text: str, load: Callable[[str], Any]) -> Dict[str, Any]:
    """The KubeProxyConfiguration as kube-proxy's strict decoding reads it: one document, one mapping, no key twice
    (kube-proxy falls back to the last of two, a line edit would change the first), the version we know."""
    try:
        doc = load(text)
    except Exception as exc:   # noqa: BLE001 - PyYAML's errors, duplicate keys  pylint: disable=broad-except
        raise KubeProxyConfigError(f"does not parse as one YAML document with each key once ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise KubeProxyConfigError("is not a YAML mapping")
    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != KIND:
        raise KubeProxyConfigError(f"is {doc.get('apiVersion')!r} {doc.get('kind')!r}, not {API_VERSION} {KIND}: not edited")
    return doc


def hardened_config(text: str, metrics_bind_address: str, load: Callable[[str], Any]) -> str:
    """The text with metricsBindAddress set: its one top-level line replaced (or one added at the end), every
    other line as it was, the text unchanged when it already says so. The result is parsed again and must
    differ from the original in that field only; otherwise KubeProxyConfigError says why (nothing is written)."""
    before = strict_load(text, load)
    if before.get("metricsBindAddress") == metrics_bind_address:
        return text
    line = f"metricsBindAddress: {json.dumps(metrics_bind_address)}"
    lines = _TOP_KEY.findall(text)
    if len(lines) > 1:
        raise KubeProxyConfigError("has more than one top-level metricsBindAddress line")
    if lines:
        after = _TOP_KEY.sub(lambda _m: line, text, count=1)
    else:
        after = text + ("" if text.endswith("\n") or not text else "\n") + line + ("\n" if text.endswith("\n") else "")
    try:
        parsed = strict_load(after, load)
    except KubeProxyConfigError as exc:
        raise KubeProxyConfigError(f"would no longer parse after a line edit ({exc}): not edited") from None
    if parsed != dict(before, metricsBindAddress=metrics_bind_address):
        raise KubeProxyConfigError("is written in a shape a line edit cannot change safely (the field inside a multi-line"
                                   " value, an anchor or flow style): set metricsBindAddress yourself")
    return after


def config_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def plan(config_map: Optional[Mapping[str, Any]], daemonset: Optional[Mapping[str, Any]],
         metrics_bind_address: str, load: Callable[[str], Any], behind: Sequence[str] = ()) -> Dict[str, Any]:
    """What the writer would do: {'skip': why} when there is nothing of kubeadm's to write; else
    {'config': (before, after) text, 'restart': [why the pods roll] (empty: nothing to do), 'hash': the text's hash}.
    behind: nodes whose kube-proxy runs other than its file says, each said (their plans saw it): the pods roll
    for them too. Raises KubeProxyConfigError when the text cannot be edited safely."""
    if config_map is None or daemonset is None:
        return {"skip": f"no {NAMESPACE}/{CONFIG_MAP} ConfigMap and DaemonSet (kube-proxy not deployed by kubeadm, or"
                        " replaced by the CNI): nothing to write"}
    text = (config_map.get("data") or {}).get(CONFIG_KEY)
    if not isinstance(text, str):
        return {"skip": f"{NAMESPACE}/{CONFIG_MAP} has no {CONFIG_KEY}: not kubeadm's layout, left alone"}
    after = hardened_config(text, metrics_bind_address, load)
    why = []
    if after != text:
        why.append(f"metricsBindAddress set to {metrics_bind_address}")
    annotations = (((daemonset.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations") or {}
    rolled = str(annotations.get(HASH_ANNOTATION) or "").split("-", maxsplit=1)[0]
    if not why and rolled and rolled != config_hash(text):
        # our last rollout was of another text: the ConfigMap changed since without its pods rolling (kube-proxy
        # reads its file at start only). Without our annotation (kubeadm upgrade replaced the DaemonSet) the
        # pods were rolled by whoever replaced it.
        why.append("the ConfigMap changed since our last rollout of its pods")
    why.extend(str(said) for said in behind)
    return {"config": (text, after), "hash": config_hash(after), "restart": why}
