"""A host firewall for the metrics ports seed 000's Prometheus variant opens (controller-manager 10257,
scheduler 10259, etcd's metrics listener): when a component binds them beyond loopback, only declared
scrapers (default: the pod networks and the nodes) may connect.

iptables rules in a chain of our own, loaded by a systemd unit at boot (persisted, idempotent: the files
are the state the node plan compares), so a re-run changes nothing and a reboot keeps them.

The chain hangs off the mangle table's INPUT, which the kernel walks before the filter table's: a network
plugin that accepts a pod's traffic at the top of filter INPUT (kube-router's KUBE-ROUTER-INPUT does, for what its
policies allow) would otherwise let it past the firewall. An ACCEPT in one table never skips another's DROP.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from ..base.component_names import CONTROLLER_MANAGER, ETCD, SCHEDULER

CHAIN = "KUBEGUARD-METRICS"
TABLE = "mangle"
LEGACY_TABLE = "filter"   # where versions before 0.3 hooked the chain: taken out when the unit starts or stops
# component -> (flag with its address, flag with its port, the port when the flag is absent)
SECURE_PORTS = {CONTROLLER_MANAGER: ("bind-address", "secure-port", 10257),
                SCHEDULER: ("bind-address", "secure-port", 10259)}
# what a component binds when --bind-address is not given
DEFAULT_BIND = "0.0.0.0"


def _loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposed_ports(flags: Mapping[str, Mapping[str, Any]]) -> List[Tuple[str, int, int]]:
    """(component, port, IP version 4/6/0 for both) of every metrics listener bound beyond loopback.
    flags: component -> the flags the node runs it with after this run (None: left as it is)."""
    found = []
    for component, (address_flag, port_flag, default_port) in SECURE_PORTS.items():
        if component not in flags:
            continue
        address = str((flags[component] or {}).get(address_flag) or DEFAULT_BIND)
        if not _loopback(address):
            port = int((flags[component] or {}).get(port_flag) or default_port)
            found.append((component, port, _family(address)))
    for url in str((flags.get(ETCD) or {}).get("listen-metrics-urls") or "").split(","):
        parts = urlsplit(url.strip())
        if parts.hostname and not _loopback(parts.hostname) and parts.port:
            found.append((ETCD, parts.port, _family(parts.hostname)))
    return found


def _family(host: str) -> int:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return 0
    if address.is_unspecified and address.version == 6:
        return 0   # [::] takes IPv4 too
    return address.version


def rules(ports: Sequence[int], sources: Sequence[str], version: int) -> str:
    """iptables-restore input (--noflush: only our chain is replaced)."""
    allowed = [s for s in sources if ipaddress.ip_network(s, strict=False).version == version]
    lines = ["# Managed by kubeguard.hardening: the metrics ports only for declared scrapers", f"*{TABLE}",
             f":{CHAIN} - [0:0]",
             f"-A {CHAIN} -p tcp -m multiport ! --dports {','.join(str(p) for p in sorted(set(ports)))} -j RETURN",
             f"-A {CHAIN} -i lo -j RETURN"]
    lines += [f"-A {CHAIN} -s {ipaddress.ip_network(s, strict=False)} -j RETURN" for s in allowed]
    lines += [f"-A {CHAIN} -j DROP", "COMMIT"]
    return "\n".join(lines) + "\n"


def unit(rules_v4: str, rules_v6: str) -> str:
    """The systemd unit that loads the chains at boot and hooks them into INPUT (once)."""
    def hook(tool: str) -> str:
        return (f"/bin/sh -c '{tool} -t {TABLE} -C INPUT -p tcp -j {CHAIN} 2>/dev/null || {tool} -t {TABLE} -I INPUT 1 -p tcp -j {CHAIN}'")

    def unhook(tool: str, table: str = TABLE) -> str:
        return (f"/bin/sh -c '{tool} -t {table} -D INPUT -p tcp -j {CHAIN} 2>/dev/null; {tool} -t {table} -F {CHAIN} 2>/dev/null; "
                f"{tool} -t {table} -X {CHAIN} 2>/dev/null; true'")
    return "\n".join([
        "# Managed by kubeguard.hardening (kubeguard_metrics_allowed_sources): metrics ports for declared scrapers only",
        "[Unit]", "Description=kubeguard.hardening metrics ports firewall", "After=network-pre.target",
        "Before=kubelet.service", "",
        "[Service]", "Type=oneshot", "RemainAfterExit=yes",
        f"ExecStart={unhook('iptables', LEGACY_TABLE)}", f"ExecStart=-{unhook('ip6tables', LEGACY_TABLE)}",
        f"ExecStart=iptables-restore --noflush {rules_v4}", f"ExecStart={hook('iptables')}",
        # IPv6 where the node has it ('-': a node without ip6tables keeps its IPv4 rules)
        f"ExecStart=-ip6tables-restore --noflush {rules_v6}", f"ExecStart=-{hook('ip6tables')}",
        f"ExecStop={unhook('iptables')}", f"ExecStop=-{unhook('ip6tables')}",
        f"ExecStop={unhook('iptables', LEGACY_TABLE)}", f"ExecStop=-{unhook('ip6tables', LEGACY_TABLE)}", "",
        "[Install]", "WantedBy=multi-user.target", ""])


def files(flags: Mapping[str, Mapping[str, Any]], sources: Sequence[str], settings: Mapping[str, Any]
          ) -> Optional[Dict[str, Any]]:
    """The config_files operation (rules for IPv4 and IPv6, the unit), or None when nothing is exposed."""
    exposed = exposed_ports(flags)
    if not exposed:
        return None
    ports = [port for _ignored, port, _ignored in exposed]
    directory = settings["metrics_firewall_dir"]
    v4, v6 = f"{directory}/metrics-firewall.rules", f"{directory}/metrics-firewall6.rules"
    return {"files": [
        {"path": v4, "mode": "0600", "content": rules(ports, sources, 4)},
        {"path": v6, "mode": "0600", "content": rules(ports, sources, 6)},
        {"path": settings["metrics_firewall_unit_file"], "mode": "0644",
         "content": unit(v4, v6)}],
        "exposed": [f"{component} {port}" for component, port, _ignored in exposed]}


def default_sources(pod_subnets: Sequence[str], node_addresses: Sequence[str]) -> List[str]:
    """The pod networks (Prometheus in a pod) and every node (host-network scrapers, the nodes' own checks)."""
    found: List[str] = []
    for item in list(pod_subnets) + list(node_addresses):
        network = str(ipaddress.ip_network(item, strict=False))
        if network not in found:
            found.append(network)
    return found
