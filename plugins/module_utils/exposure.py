"""Listeners that bypass Kubernetes' authentication, read from the node itself: the TCP sockets in LISTEN
state (/proc/net/tcp, tcp6) and the processes that own them (their /proc/<pid>/fd links). The GKE and
CKS checklists' "no accidental exposure": a `kubectl proxy` on a non-loopback address serves the API
with the proxy user's credentials to anyone who connects; the kubelet's read-only port serves pods and
metrics without authentication; etcd client URLs without TLS hand out the cluster's whole state."""

from __future__ import annotations

import ipaddress
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

from . import checks

LISTEN = "0A"
# Kubernetes' own programs, for the "listening on every interface" report
KUBERNETES_PROCESSES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy",
                        "etcd", "kubectl", "k3s", "containerd", "dockerd", "cri-o", "crio")
KUBELET_READ_ONLY_PORT = 10255


def _address(hex_address: str) -> str:
    """/proc/net/tcp's little-endian hex address (4 or 16 bytes) as text."""
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    # IPv6: four 32-bit words, each in host (little-endian) order
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    address = ipaddress.IPv6Address(words)
    return str(address.ipv4_mapped) if address.ipv4_mapped else str(address)


def _socket_owners(proc_root: str, inodes: set) -> Dict[str, Dict[str, Any]]:
    owners: Dict[str, Dict[str, Any]] = {}
    try:
        pids = [p for p in os.listdir(proc_root) if p.isdigit()]
    except OSError:
        return owners
    for pid in pids:
        fd_dir = os.path.join(proc_root, pid, "fd")
        try:
            links = [os.readlink(os.path.join(fd_dir, fd)) for fd in os.listdir(fd_dir)]
        except OSError:
            continue   # gone, or not ours to read
        for link in links:
            if link.startswith("socket:[") and link[8:-1] in inodes and link[8:-1] not in owners:
                try:
                    with open(os.path.join(proc_root, pid, "cmdline"), "rb") as handle:
                        argv = [a.decode("utf-8", "replace") for a in handle.read().split(b"\0") if a]
                except OSError:
                    argv = []
                owners[link[8:-1]] = {"pid": int(pid), "argv": argv,
                                      "process": os.path.basename(argv[0]) if argv else "?"}
    return owners


def listeners(proc_root: str = "/proc") -> Optional[List[Dict[str, Any]]]:
    """Every listening TCP socket of the node's network namespace with its owning process (where /proc
    tells): [{address, port, pid, process, argv}], sorted by port. None when /proc/net/tcp cannot be read
    (the checks then say so instead of passing)."""
    found, inodes, tables_read = [], set(), 0
    for table in ("tcp", "tcp6"):
        try:
            with open(os.path.join(proc_root, "net", table), encoding="ascii") as handle:
                lines = handle.read().splitlines()[1:]
            tables_read += 1
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            host, port = fields[1].split(":")
            found.append({"address": _address(host), "port": int(port, 16), "inode": fields[9]})
            inodes.add(fields[9])
    if not tables_read:
        return None
    owners = _socket_owners(proc_root, inodes)
    for entry in found:
        entry.update(owners.get(entry.pop("inode"), {"pid": None, "process": "?", "argv": []}))
    return sorted(found, key=lambda e: (e["port"], e["address"]))


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


def _show(entry: Mapping[str, Any]) -> str:
    where = f"[{entry['address']}]" if ":" in entry["address"] else entry["address"]
    return f"{where}:{entry['port']} {entry['process']} (pid {entry['pid']})"


def _is_kubectl_proxy(entry: Mapping[str, Any]) -> bool:
    argv = [os.path.basename(a) for a in entry.get("argv") or []]
    return bool(argv) and argv[0] == "kubectl" and "proxy" in argv[1:]


def kubectl_proxy(found: Sequence[Mapping[str, Any]]) -> checks.Outcome:
    exposed = [e for e in found if _is_kubectl_proxy(e) and not is_loopback(e["address"])]
    if exposed:
        return checks.Outcome(False, "kubectl proxy serves the API beyond loopback: " + ", ".join(_show(e) for e in exposed))
    local = [e for e in found if _is_kubectl_proxy(e)]
    return checks.Outcome(True, "kubectl proxy on loopback only: " + ", ".join(_show(e) for e in local) if local
                          else "no kubectl proxy listening")


def kubelet_read_only(found: Sequence[Mapping[str, Any]], read_only_port: Optional[int]) -> checks.Outcome:
    ports = {KUBELET_READ_ONLY_PORT} | ({int(read_only_port)} if read_only_port else set())
    open_ports = [e for e in found if e["port"] in ports and e["process"] in ("kubelet", "k3s", "?")]
    if open_ports:
        return checks.Outcome(False, "the kubelet's read-only port answers without authentication: "
                              + ", ".join(_show(e) for e in open_ports))
    return checks.Outcome(True, f"nothing listens on the read-only port ({', '.join(str(p) for p in sorted(ports))})")


def etcd_insecure_clients(etcd_flags: Mapping[str, Any]) -> checks.Outcome:
    urls = [u for u in str(etcd_flags.get("listen-client-urls") or "").split(",") if u]
    plain = [u for u in urls if u.startswith("http://") and not _url_is_loopback(u)]
    if plain:
        return checks.Outcome(False, f"etcd serves clients without TLS on {', '.join(plain)} (listen-client-urls)")
    return checks.Outcome(True, f"listen-client-urls={','.join(urls) or '(unset)'}")


def _url_is_loopback(url: str) -> bool:
    host = url.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
    try:
        return is_loopback(host)
    except ValueError:
        return host == "localhost"


def every_interface(found: Sequence[Mapping[str, Any]]) -> checks.Outcome:
    """Kubernetes' own programs listening on 0.0.0.0 / :: (evidence for a person: many must, e.g. the
    apiserver and the kubelet's authenticated port; each one is a door to review)."""
    wide = [e for e in found if e["address"] in ("0.0.0.0", "::") and e["process"] in KUBERNETES_PROCESSES]
    return checks.Outcome(not wide, ("on every interface: " + ", ".join(_show(e) for e in wide)) if wide
                          else "no Kubernetes process listens on every interface")


def evaluate(kind: str, state: Mapping[str, Any]) -> checks.Outcome:
    found = state.get("listeners")
    if found is None:
        return checks.Outcome(False, "listening sockets could not be read on this node")
    if kind == "kubectl_proxy":
        return kubectl_proxy(found)
    if kind == "kubelet_read_only":
        return kubelet_read_only(found, (state.get("kubelet_config") or {}).get("readOnlyPort"))
    if kind == "etcd_insecure_clients":
        return etcd_insecure_clients(((state.get("components") or {}).get("etcd") or {}).get("flags") or {})
    if kind == "every_interface":
        return every_interface(found)
    raise ValueError(f"unknown exposure check {kind!r}")
