"""Which kubelet serving-certificate requests (serverTLSBootstrap) may be approved.

Nothing approves kubelet-serving CSRs by default, so with kubelet_rotate_server_certificates the
kubelet serves no TLS on 10250 until someone does (kubectl logs/exec fail). We approve a request
only when it is what a kubelet asks for itself: signer kubernetes.io/kubelet-serving, requested by
system:node:<name> in group system:nodes, subject CN/O matching, usages limited to serving, and
every DNS name / IP address in it belongs to that node as registered in the API (status.addresses).
Pure functions over the JSON that kubectl returns; the kubelet_serving_csr module runs kubectl.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

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
    """Node name -> its registered host names and addresses (from `kubectl get nodes -o json`)."""
    result: Dict[str, Set[str]] = {}
    for node in nodes.get("items", []):
        name = node["metadata"]["name"]
        names = {name}
        for address in (node.get("status") or {}).get("addresses") or []:
            value = address.get("address")
            if value:
                names.add(str(ipaddress.ip_address(value)) if address.get("type", "").endswith("IP") else value)
        result[name] = names
    return result


def node_of_address(identities: Mapping[str, Set[str]], addresses: List[str]) -> Optional[str]:
    """The node registered with one of these addresses (the host we run on)."""
    wanted = set()
    for address in addresses:
        try:
            wanted.add(str(ipaddress.ip_address(address)))
        except ValueError:
            wanted.add(address)
    for name, names in sorted(identities.items()):
        if names & wanted:
            return name
    return None


def judge(csr: Mapping[str, Any], identities: Mapping[str, Set[str]]) -> Tuple[Optional[str], str]:
    """(node name, '') when the request may be approved, else (node name or None, why not)."""
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
    if node not in identities:
        return node, f"node {node!r} is not registered"
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
    foreign = [n for n in request["dns"] + request["ips"] if n not in identities[node]]
    if foreign:
        return node, f"names {foreign} are not registered addresses of node {node}"
    return node, ""
