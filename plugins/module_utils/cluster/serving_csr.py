"""Which kubelet serving-certificate requests (serverTLSBootstrap) may be approved.

Nothing approves kubelet-serving CSRs by default, so with kubelet_rotate_server_certificates the
kubelet serves no TLS on 10250 until someone does (kubectl logs/exec fail). We approve a request
only when it is what a kubelet asks for itself, and only for names the inventory vouches for:

- signer kubernetes.io/kubelet-serving, requested by system:node:<name> in group system:nodes,
  subject CN/O matching, usages limited to serving;
- the node is identified by the requester's name alone (the API authenticated it): exactly one
  registered Node has that name and exactly one inventory host registers as that node. Node
  status.addresses are written by the node's own kubelet, so they never identify a node and never
  on their own make a name approvable;
- every DNS name asked for is the node's name, or a host name the inventory declares for that host
  (inventory name, ansible_host, ip, access_ip) that the Node also registers (Hostname, InternalDNS,
  ExternalDNS); every IP address is one the inventory declares for that host (ansible_host, ip,
  access_ip) AND the Node registers (InternalIP, ExternalIP), and that no other inventory host
  declares. Both must agree: the stricter rule;
- never, whatever the inventory or the Node say: an IP in a service CIDR (or a Service's cluster IP),
  link-local (169.254.0.0/16 - node-local DNS - and fe80::/10), loopback, unspecified, multicast; a
  DNS name kubernetes, kubernetes.default, kubernetes.default.svc, *.svc, *.svc.<cluster domain>,
  *.<cluster domain>, *.cluster.local, localhost, *.localhost, or any wildcard.

Pure functions over the JSON that kubectl returns; the kubelet_serving_csr module runs kubectl.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

SIGNER = "kubernetes.io/kubelet-serving"
ALLOWED_USAGES = {"digital signature", "key encipherment", "server auth"}
_EXTENSION_REQUEST = "1.2.840.113549.1.9.14"
_SUBJECT_ALT_NAME = "2.5.29.17"
_COMMON_NAME = "2.5.4.3"
_ORGANIZATION = "2.5.4.10"


# --- a minimal DER reader: enough of PKCS#10 for the subject and subjectAltName -------------------

def _tlv(data: bytes, pos: int) -> Tuple[int, bytes, int]:
    """(tag, value, next position) of the DER element at pos."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    return tag, data[pos:pos + length], pos + length


def _children(value: bytes) -> List[Tuple[int, bytes]]:
    items, pos = [], 0
    while pos < len(value):
        tag, inner, pos = _tlv(value, pos)
        items.append((tag, inner))
    return items


def _oid(value: bytes) -> str:
    parts = [value[0] // 40, value[0] % 40]
    number = 0
    for byte in value[1:]:
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(number)
            number = 0
    return ".".join(str(p) for p in parts)


def parse_csr(pem: str) -> Dict[str, Any]:
    """Subject CN, O and the DNS names / IP addresses of a PEM certificate request."""
    body = "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))
    der = base64.b64decode(body)
    _ignored, request, _ignored = _tlv(der, 0)
    info = _children(_children(request)[0][1])
    subject = info[1][1]
    result: Dict[str, Any] = {"cn": None, "organizations": [], "dns": [], "ips": []}
    for _ignored, rdn in _children(subject):                 # SET of AttributeTypeAndValue
        for _ignored, pair in _children(rdn):
            (_ignored, oid), (_ignored, text) = _children(pair)[:2]
            name = _oid(oid)
            if name == _COMMON_NAME:
                result["cn"] = text.decode("utf-8", "replace")
            elif name == _ORGANIZATION:
                result["organizations"].append(text.decode("utf-8", "replace"))
    for tag, attributes in info[3:]:
        if tag != 0xA0:
            continue
        for _ignored, attribute in _children(attributes):
            (_ignored, oid), (_ignored, values) = _children(attribute)[:2]
            if _oid(oid) != _EXTENSION_REQUEST:
                continue
            for _ignored, extensions in _children(values):
                for _ignored, extension in _children(extensions):
                    parts = _children(extension)
                    if _oid(parts[0][1]) != _SUBJECT_ALT_NAME:
                        continue
                    general_names = _children(parts[-1][1])[0][1]   # extnValue wraps a SEQUENCE of names
                    for name_tag, name in _children(general_names):
                        if name_tag == 0x82:
                            result["dns"].append(name.decode("ascii", "replace"))
                        elif name_tag == 0x87:
                            result["ips"].append(str(ipaddress.ip_address(name)))
    return result


# --- decisions ----------------------------------------------------------------------------------

def is_pending(csr: Mapping[str, Any]) -> bool:
    conditions = (csr.get("status") or {}).get("conditions") or []
    return not any(c.get("type") in ("Approved", "Denied", "Failed") for c in conditions)


def node_identities(nodes: Mapping[str, Any]) -> Dict[str, Set[str]]:
    """Node name -> its registered host names and addresses (from `kubectl get nodes -o json`).
    What a node says about itself: used to find a node to wait for (kubeguard_node_ready), never to
    decide an approval."""
    result: Dict[str, Set[str]] = {}
    for node in nodes.get("items", []):
        name = node["metadata"]["name"]
        names = {name}
        for address in (node.get("status") or {}).get("addresses") or []:
            value = address.get("address")
            if value:
                names.add(_address(value) if address.get("type", "").endswith("IP") else value)
        result[name] = names
    return result


def node_of_address(identities: Mapping[str, Set[str]], addresses: List[str]) -> Optional[str]:
    """The node registered with one of these addresses (the host we run on): for waiting on a node,
    never for approving."""
    wanted = {_address(address) for address in addresses}
    for name, names in sorted(identities.items()):
        if names & wanted:
            return name
    return None


DEFAULT_SERVICE_CIDRS = ("10.96.0.0/12",)
DEFAULT_CLUSTER_DOMAIN = "cluster.local"
_NEVER_DNS = ("kubernetes", "kubernetes.default", "kubernetes.default.svc", "localhost")
_IP_TYPES = ("InternalIP", "ExternalIP")
_DNS_TYPES = ("Hostname", "InternalDNS", "ExternalDNS")


def _address(value: Any) -> str:
    """An IP address in one spelling (IPv4-mapped IPv6 as IPv4); anything else lower case."""
    text = str(value).strip()
    try:
        found = ipaddress.ip_address(text)
    except ValueError:
        return text.lower().rstrip(".")
    mapped = getattr(found, "ipv4_mapped", None)
    return str(mapped or found)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def inventory_claims(inventory_hosts: Mapping[str, Any]) -> List[Tuple[str, str, Set[str], Set[str]]]:
    """(inventory host, node name, declared IPs, declared DNS names) for each inventory host.

    inventory_hosts: {inventory host: [addresses]} (the node is named as the host) or
    {inventory host: {'node_name': name, 'addresses': [...]}}; addresses are ansible_host, ip and
    access_ip, IPs or host names. Node names compare in lower case, as the kubelet registers them."""
    claims = []
    for host, spec in (inventory_hosts or {}).items():
        if isinstance(spec, Mapping):
            name, addresses = spec.get("node_name") or host, spec.get("addresses") or []
        else:
            name, addresses = host, spec or []
        if isinstance(addresses, str):
            addresses = [addresses]
        values = {_address(a) for a in addresses if a is not None and str(a).strip()}
        ips = {v for v in values if _is_ip(v)}
        dns = (values - ips) | {_address(host), _address(name)}
        claims.append((str(host), _address(name), ips, dns))
    return claims


def forbidden_ip(value: str, service_networks: Sequence[Any], service_ips: Set[str] = frozenset()) -> Optional[str]:
    """Why an IP address never goes in a kubelet serving certificate (None when it may)."""
    try:
        found = ipaddress.ip_address(value)
    except ValueError:
        return "not an IP address"
    found = getattr(found, "ipv4_mapped", None) or found
    if found.is_loopback:
        return "loopback"
    if found.is_link_local:
        return "link-local (node-local DNS and metadata services live there)"
    if found.is_unspecified:
        return "unspecified"
    if found.is_multicast:
        return "multicast"
    if found.is_reserved or (found.version == 4 and found.packed[0] == 0):
        return "reserved"
    for network in service_networks:
        if found.version == network.version and found in network:
            return f"inside the service CIDR {network}"
    if str(found) in service_ips:
        return "a Service's cluster IP"
    return None


def forbidden_dns(value: str, cluster_domain: str = DEFAULT_CLUSTER_DOMAIN) -> Optional[str]:
    """Why a DNS name never goes in a kubelet serving certificate (None when it may)."""
    name = value.lower().rstrip(".")
    domain = (cluster_domain or DEFAULT_CLUSTER_DOMAIN).lower().strip(".")
    if not name or "*" in name:
        return "a wildcard or empty name"
    if name in _NEVER_DNS or name.endswith(".localhost"):
        return "the API server's or the local host's name"
    if name.endswith(".svc") or ".svc." in name:
        return "a Service name"
    for suffix in (domain, "cluster.local"):
        if name == suffix or name.endswith("." + suffix):
            return f"inside the cluster domain {suffix}"
    return None


def service_networks(cidrs: Optional[Sequence[str]]) -> List[Any]:
    """The service CIDRs as networks; ValueError names one that is not a CIDR."""
    networks = []
    for cidr in (DEFAULT_SERVICE_CIDRS if cidrs is None else cidrs):
        try:
            networks.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
        except ValueError:
            raise ValueError(f"service CIDR {cidr!r} is not an IP network") from None
    return networks


def cluster_ips(services: Optional[Mapping[str, Any]]) -> Set[str]:
    """Every Service's cluster IP (from `kubectl get services -A -o json`)."""
    found = set()
    for service in (services or {}).get("items", []):
        spec = service.get("spec") or {}
        for value in [spec.get("clusterIP")] + list(spec.get("clusterIPs") or []):
            if value and _is_ip(str(value)):
                found.add(_address(value))
    return found


def allowed_names(node: str, nodes: Mapping[str, Any], inventory_hosts: Mapping[str, Any]) -> Tuple[Optional[Tuple[Set[str], Set[str]]], str]:
    """((DNS names, IPs) node may have in its serving certificate, '') or (None, why it may have none)."""
    registered = [n for n in nodes.get("items", []) if (n.get("metadata") or {}).get("name") == node]
    if not registered:
        return None, f"no registered Node is named {node!r}"
    if len(registered) > 1:
        return None, f"{len(registered)} registered Nodes are named {node!r}"
    claims = inventory_claims(inventory_hosts)
    own = [claim for claim in claims if claim[1] == _address(node)]
    if not own:
        return None, f"node {node!r} is not an inventory host (inventory_hosts)"
    if len(own) > 1:
        return None, f"inventory hosts {sorted(c[0] for c in own)} all register as node {node!r}"
    _host, _name, declared_ips, declared_dns = own[0]
    others_ips = set().union(*[c[2] for c in claims if c is not own[0]])
    addresses = (registered[0].get("status") or {}).get("addresses") or []
    node_ips = {_address(a.get("address")) for a in addresses if a.get("type") in _IP_TYPES and a.get("address")}
    node_dns = {_address(a.get("address")) for a in addresses if a.get("type") in _DNS_TYPES and a.get("address")}
    return ({_address(node)} | (declared_dns & node_dns), (declared_ips & node_ips) - others_ips), ""


def judge(csr: Mapping[str, Any], nodes: Mapping[str, Any], inventory_hosts: Mapping[str, Any],
          service_cidrs: Optional[Sequence[str]] = None, cluster_domain: str = DEFAULT_CLUSTER_DOMAIN,
          service_ips: Set[str] = frozenset()) -> Tuple[Optional[str], str]:
    """(node name, '') when the request may be approved, else (node name or None, why not).

    nodes: `kubectl get nodes -o json`; inventory_hosts: see inventory_claims; service_cidrs: the
    cluster's service networks (default 10.96.0.0/12); service_ips: cluster IPs of existing Services."""
    spec = csr.get("spec") or {}
    if spec.get("signerName") != SIGNER:
        return None, "not a kubelet serving request"
    username = spec.get("username", "")
    match = re.fullmatch(r"system:node:(.+)", username)
    if not match:
        return None, f"requested by {username!r}, not by a node"
    node = match.group(1)
    if "system:nodes" not in (spec.get("groups") or []):
        return node, "requester is not in group system:nodes"
    usages = set(spec.get("usages") or [])
    if not usages <= ALLOWED_USAGES or "server auth" not in usages:
        return node, f"usages {sorted(usages)} are not those of a serving certificate"
    try:
        request = parse_csr(base64.b64decode(spec.get("request", "")).decode("ascii"))
    except (ValueError, IndexError) as exc:
        return node, f"request cannot be parsed: {exc}"
    if request["cn"] != username or request["organizations"] != ["system:nodes"]:
        return node, f"subject CN={request['cn']} O={request['organizations']} does not match {username}"
    if not request["dns"] and not request["ips"]:
        return node, "asks for no DNS name or IP address"
    networks = service_networks(service_cidrs)
    never = [f"{n} ({why})" for n, why in ((n, forbidden_dns(n, cluster_domain)) for n in request["dns"]) if why]
    never += [f"{n} ({why})" for n, why in ((n, forbidden_ip(n, networks, service_ips)) for n in request["ips"]) if why]
    if never:
        return node, f"asks for names no node may have: {', '.join(never)}"
    allowed, why = allowed_names(node, nodes, inventory_hosts)
    if allowed is None:
        return node, why
    dns, ips = allowed
    foreign = [n for n in request["dns"] if _address(n) not in dns] + [n for n in request["ips"] if _address(n) not in ips]
    if foreign:
        return node, (f"names {foreign} are not addresses the inventory declares for node {node} (ansible_host, ip, "
                      "access_ip; an IP also registered by the Node, declared by no other host)")
    return node, ""
