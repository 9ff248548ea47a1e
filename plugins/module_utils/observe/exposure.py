"""Listeners that bypass Kubernetes' authentication, read from the node itself: the TCP sockets in LISTEN
state (/proc/net/tcp, tcp6) and the processes that own them (their /proc/<pid>/fd links). The GKE and
CKS checklists' "no accidental exposure": a `kubectl proxy` on a non-loopback address serves the API
with the proxy user's credentials to anyone who connects; the kubelet's read-only port serves pods and
metrics without authentication; etcd client URLs without TLS hand out the cluster's whole state."""

from __future__ import annotations

import ipaddress
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..base.component_names import ETCD, KUBELET
from ..catalogue import checks
from ..platform import component_registry

LISTEN = "0A"
# Kubernetes' own programs, for the "listening on every interface" report
KUBERNETES_PROCESSES = component_registry.OBSERVED + ("kubectl", "k3s", "containerd", "dockerd", "cri-o", "crio")
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
    tells): [{address, port, inode, pid, process, argv}], sorted by port. None when /proc/net/tcp cannot be read
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
        entry.update(owners.get(entry["inode"], {"pid": None, "process": "?", "argv": []}))
    return sorted(found, key=lambda e: (e["port"], e["address"]))


def _sockets_of(proc_root: str, pid: str) -> Optional[set]:
    """The socket inodes a process holds; None when its descriptors cannot be read (gone, or not ours to read)."""
    try:
        fd_dir = os.path.join(proc_root, pid, "fd")
        links = [os.readlink(os.path.join(fd_dir, fd)) for fd in os.listdir(fd_dir)]
    except OSError:
        return None
    return {link[8:-1] for link in links if link.startswith("socket:[")}


def mark_components(found: Optional[List[Dict[str, Any]]], pids: Mapping[str, Sequence[str]], proc_root: str = "/proc") -> List[str]:
    """Say which component owns each listener (`component`): the one whose real processes (health.component_processes:
    binary, argv[0] and root all agree, never a name alone) hold the socket. A look-alike's sockets stay unowned.
    Returns the components whose every process's sockets were read (the others' listeners cannot be told)."""
    owner: Dict[str, str] = {}
    told = []
    for name, ids in pids.items():
        held = [_sockets_of(proc_root, str(pid)) for pid in ids]
        if ids and all(inodes is not None for inodes in held):
            told.append(name)
        owner.update({inode: name for inodes in held for inode in inodes or ()})
    for entry in found or []:
        if entry.get("inode") in owner:
            entry["component"] = owner[entry["inode"]]
    return told


def _port_set(ports: Sequence[Any]) -> List[Tuple[int, int]]:
    spans = []
    for item in ports:
        low, _sep, high = str(item).partition("-")
        spans.append((int(low), int(high or low)))
    return spans


def approved_listeners(found: Sequence[Mapping[str, Any]], component: str, approved: Mapping[str, Sequence[Any]],
                       source: str, k3s: bool, told: Sequence[str]) -> checks.Outcome:
    """The STIG's PPSM rules: every TCP port the component listens on beyond loopback is one your PPSM CAL
    registration approves (kubeguard_approved_ports). k3s serves every component from its one process: its
    listeners are judged against the ports approved for any of them. told: the components whose processes were
    identified and their sockets read (mark_components); for any other nothing is judged, never passed."""
    if source not in ("process", "process log"):
        return checks.Outcome(None, f"{component} does not run here as itself ({source}): its listeners are not judged")
    owner = "k3s" if k3s else component
    if owner not in told:
        return checks.Outcome(None, f"{owner}'s process could not be identified or its sockets read: its listeners are not judged")
    allowed = sorted({span for name, ports in approved.items() if k3s or name == component for span in _port_set(ports)})
    own = [e for e in found if e.get("component") == owner]
    wide = [e for e in own if not is_loopback(e["address"])]
    outside = [e for e in wide if not any(low <= e["port"] <= high for low, high in allowed)]
    said = ", ".join(str(low) if low == high else f"{low}-{high}" for low, high in allowed) or "none"
    if outside:
        return checks.Outcome(False, f"{owner} listens beyond loopback on ports not approved ({said}, kubeguard_approved_ports): "
                              + ", ".join(_show(e) for e in outside))
    if not wide:
        if not own:
            return checks.Outcome(None, f"{owner} holds no listening socket: where it listens cannot be told; not judged")
        return checks.Outcome(True, f"{owner} listens on loopback only ({', '.join(_show(e) for e in own)})")
    return checks.Outcome(True, f"{owner} listens beyond loopback on approved ports only ({said}): " + ", ".join(_show(e) for e in wide))


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
    open_ports = [e for e in found if e["port"] in ports and e["process"] in (KUBELET, "k3s", "?")]
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


# --- the kubelet's IP firewall (systemd IPAddressDeny= / IPAddressAllow= of its unit) -------------------------

# systemd's unit directories, highest priority first: a drop-in of the same name in an earlier one masks the
# later ones (systemd.unit(5)); "service.d" drop-ins apply to every service (systemd 245 and later).
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system",
             "/lib/systemd/system")
SYSTEMD_KEYWORDS_NOT_WIDE = ("localhost", "link-local", "multicast")   # no TCP client comes from multicast


def too_wide(token: str) -> Optional[str]:
    """Why an IPAddressAllow= entry admits (nearly) everyone, else None: 'any', or a network wider than /8
    (IPv6 /16) - the same bound kubelet_secure_addresses' validation holds the user's list to."""
    if token in SYSTEMD_KEYWORDS_NOT_WIDE:
        return None
    if token == "any":
        return "any"
    try:
        network = ipaddress.ip_network(token, strict=False)
    except ValueError:
        return None    # systemd refuses the line; nothing is admitted by it
    if network.prefixlen < (8 if network.version == 4 else 16):
        return "everyone" if network.prefixlen == 0 else "a large part of the internet"
    return None


def unit_files(service_path: str, default_unit: str = "kubelet.service") -> Dict[str, Any]:
    """{'unit': name, 'files': {path: ip_assignments}}: the unit file and every drop-in systemd reads for the unit a
    platform's kubelet_service names (kubeadm names a drop-in, kubespray the unit file, k3s its own unit)."""
    import glob
    directory, base = os.path.split(service_path)
    candidates: List[str] = []
    if base.endswith(".conf"):   # a drop-in: its directory is one of the unit's drop-in directories
        unit = os.path.basename(directory)[:-2] if directory.endswith(".d") else default_unit
        extra = [os.path.join(directory, "*.conf")]
    else:
        unit, extra = base, []
        candidates.append(service_path)
    candidates += [os.path.join(d, unit) for d in UNIT_DIRS]
    for pattern in [os.path.join(d, name, "*.conf") for d in UNIT_DIRS for name in (unit + ".d", "service.d")] + extra:
        candidates += sorted(glob.glob(pattern))
    files: Dict[str, Any] = {}
    for path in dict.fromkeys(candidates):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                files[path] = ip_assignments(handle.read())   # only these lines: a unit may hold secrets
        except OSError:
            continue
    return {"unit": unit, "files": files}


def ip_assignments(text: str) -> List[List[Any]]:
    """[[IPAddressAllow|IPAddressDeny, [tokens]]] of a unit file's [Service] section, in order ([] tokens: reset)."""
    found: List[List[Any]] = []
    section = ""
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        key, equals, value = line.partition("=")
        if section == "[Service]" and equals and key.strip() in ("IPAddressAllow", "IPAddressDeny"):
            found.append([key.strip(), value.split()])
    return found


def _priority(path: str) -> int:
    parent = os.path.dirname(os.path.dirname(path)) if os.path.dirname(path).endswith(".d") else os.path.dirname(path)
    return UNIT_DIRS.index(parent) if parent in UNIT_DIRS else len(UNIT_DIRS)


def ip_firewall(seen: Mapping[str, Any]) -> Dict[str, List[str]]:
    """The unit's effective IPAddressAllow= / IPAddressDeny= lists, read as systemd reads them: the unit file,
    then its drop-ins by name (the same name in a higher-priority directory masks the others); entries add up
    and an empty assignment empties the list."""
    unit = seen.get("unit") or ""
    files = dict(seen.get("files") or {})
    units = sorted((p for p in files if os.path.basename(p) == unit), key=_priority)[:1]
    dropins: Dict[str, str] = {}
    for path in sorted((p for p in files if p.endswith(".conf") and os.path.basename(p) != unit), key=_priority):
        dropins.setdefault(os.path.basename(path), path)
    lists: Dict[str, List[str]] = {"IPAddressAllow": [], "IPAddressDeny": []}
    for path in units + [dropins[name] for name in sorted(dropins)]:
        for key, tokens in files[path]:
            lists[key] = lists[key] + list(tokens) if tokens else []
    return {"allow": lists["IPAddressAllow"], "deny": lists["IPAddressDeny"]}


def kubelet_firewall(seen: Optional[Mapping[str, Any]]) -> checks.Outcome:
    """K.28: with IPAddressDeny=any on the kubelet's unit, no IPAddressAllow= entry admits everyone (systemd
    lets an address both lists match through). None (manual) where the unit has no such firewall."""
    if not seen:
        return checks.Outcome(None, "the kubelet's systemd unit was not read on this node")
    lists = ip_firewall(seen)
    if "any" not in lists["deny"] and not {"0.0.0.0/0", "::/0"} <= set(lists["deny"]):
        return checks.Outcome(None, f"no IP firewall on {seen.get('unit')} (IPAddressDeny=any not set): every network that"
                              " routes to this node reaches the kubelet's port (it still authenticates)")
    wide = [f"{token} ({too_wide(token)})" for token in lists["allow"] if too_wide(token)]
    if wide:
        return checks.Outcome(False, f"{seen.get('unit')} IPAddressAllow= admits {', '.join(wide)}: the firewall keeps nobody out")
    return checks.Outcome(True, f"{seen.get('unit')}: IPAddressDeny=any, IPAddressAllow={' '.join(lists['allow']) or '(none)'}")


def evaluate(kind: str, state: Mapping[str, Any]) -> checks.Outcome:
    if kind == "kubelet_firewall":   # the unit's files, not the sockets
        return kubelet_firewall(state.get("kubelet_unit"))
    found = state.get("listeners")
    if found is None:
        return checks.Outcome(False, "listening sockets could not be read on this node")
    if kind == "kubectl_proxy":
        return kubectl_proxy(found)
    if kind == "kubelet_read_only":
        return kubelet_read_only(found, (state.get("kubelet_config") or {}).get("readOnlyPort"))
    if kind == "etcd_insecure_clients":
        return etcd_insecure_clients(((state.get("components") or {}).get(ETCD) or {}).get("flags") or {})
    if kind == "every_interface":
        return every_interface(found)
    raise ValueError(f"unknown exposure check {kind!r}")
