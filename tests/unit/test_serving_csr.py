"""Kubelet serving CSR approval: real PKCS#10 requests (built with cryptography, as the kubelet
builds them) parsed by our DER reader, and the approval rules."""

from __future__ import annotations

import base64
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import serving_csr

NODES = {"items": [
    {"metadata": {"name": "cp1"}, "status": {"addresses": [
        {"type": "InternalIP", "address": "10.89.0.5"}, {"type": "Hostname", "address": "cp1"}]}},
    {"metadata": {"name": "worker1"}, "status": {"addresses": [
        {"type": "InternalIP", "address": "10.89.0.6"}, {"type": "Hostname", "address": "worker1"}]}},
]}


def make_csr(cn="system:node:cp1", org="system:nodes", dns=("cp1",), ips=("10.89.0.5",)) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def csr_object(pem=None, username="system:node:cp1", signer=serving_csr.SIGNER,
               usages=("digital signature", "server auth"), groups=("system:nodes", "system:authenticated"),
               conditions=None):
    return {"metadata": {"name": "csr-x"}, "spec": {
        "request": base64.b64encode((pem or make_csr()).encode()).decode(), "signerName": signer,
        "username": username, "groups": list(groups), "usages": list(usages)},
        "status": {"conditions": conditions} if conditions else {}}


def test_parse_reads_subject_and_alt_names():
    parsed = serving_csr.parse_csr(make_csr(dns=("cp1", "cp1.lan"), ips=("10.89.0.5", "fd00::5")))
    assert parsed == {"cn": "system:node:cp1", "organizations": ["system:nodes"],
                      "dns": ["cp1", "cp1.lan"], "ips": ["10.89.0.5", "fd00::5"]}


INVENTORY = {"cp1": ["10.89.0.5"], "worker1": {"node_name": "worker1", "addresses": ["10.89.0.6", "worker1.lan"]}}


def judge(csr, nodes=None, inventory=None, **options):
    return serving_csr.judge(csr, NODES if nodes is None else nodes, INVENTORY if inventory is None else inventory, **options)


def node(name, *addresses):
    return {"metadata": {"name": name}, "status": {"addresses": [
        {"type": kind, "address": value} for kind, value in addresses]}}


def test_a_kubelets_own_request_is_approved():
    assert judge(csr_object()) == ("cp1", "")


def test_an_ordinary_request_of_an_inventory_node_with_its_dns_name_is_approved():
    worker1 = node("worker1", ("InternalIP", "10.89.0.6"), ("Hostname", "worker1"), ("InternalDNS", "worker1.lan"))
    nodes = {"items": [NODES["items"][0], worker1]}
    pem = make_csr(cn="system:node:worker1", dns=("worker1", "worker1.lan"), ips=("10.89.0.6",))
    assert judge(csr_object(pem, username="system:node:worker1"), nodes) == ("worker1", "")


@pytest.mark.parametrize("change,reason", [
    ({"signer": "kubernetes.io/kube-apiserver-client-kubelet"}, "not a kubelet serving"),
    ({"username": "system:serviceaccount:default:x"}, "not by a node"),
    ({"groups": ("system:authenticated",)}, "system:nodes"),
    ({"usages": ("digital signature", "client auth")}, "usages"),
    ({"pem": make_csr(cn="system:node:worker1")}, "does not match"),
    ({"pem": make_csr(ips=("10.89.0.6",))}, "not addresses the inventory declares"),    # another node's IP
    ({"pem": make_csr(dns=("kubernetes.default",), ips=())}, "no node may have"),
    ({"pem": make_csr(dns=(), ips=())}, "no DNS name"),
    ({"username": "system:node:ghost", "pem": make_csr(cn="system:node:ghost")}, "no registered Node is named 'ghost'"),
])
def test_requests_that_are_not_the_nodes_own_are_refused(change, reason):
    _node, why = judge(csr_object(**change))
    assert reason in why


def test_a_node_that_registers_the_apiservers_names_gets_no_certificate_for_them():
    """The attack: a node's kubelet writes 10.96.0.1 and kubernetes.default.svc into its own Node status
    (and, as an IPVS node, really has the address on kube-ipvs0), then asks for them."""
    nodes = {"items": [node("cp1", ("InternalIP", "10.89.0.5"), ("InternalIP", "10.96.0.1"), ("Hostname", "cp1"),
                            ("InternalDNS", "kubernetes.default.svc"))]}
    for dns, ips in ((("cp1", "kubernetes.default.svc"), ("10.89.0.5", "10.96.0.1")),
                     (("cp1",), ("10.89.0.5", "10.96.0.1")), (("cp1", "kubernetes.default.svc"), ("10.89.0.5",))):
        _node, why = judge(csr_object(make_csr(dns=dns, ips=ips)), nodes)
        assert why.startswith("asks for names no node may have"), why
    _node, why = judge(csr_object(make_csr(dns=("cp1", "kubernetes.default.svc"), ips=("10.89.0.5", "10.96.0.1"))), nodes)
    assert "10.96.0.1 (inside the service CIDR 10.96.0.0/12)" in why and "kubernetes.default.svc (" in why
    # even an inventory that declares them (a mistake) does not make them approvable
    inventory = {"cp1": ["10.89.0.5", "10.96.0.1", "kubernetes.default.svc"]}
    _node, why = judge(csr_object(make_csr(dns=("cp1", "kubernetes.default.svc"), ips=("10.96.0.1",))), nodes, inventory)
    assert "no node may have" in why


@pytest.mark.parametrize("name", ["kubernetes", "Kubernetes.Default", "kubernetes.default.svc", "kube-dns.kube-system.svc",
                                  "api.default.svc.cluster.local", "x.cluster.local", "cluster.local", "localhost",
                                  "a.localhost", "*.lan", "kubernetes.default.svc.k8s.example", "x.k8s.example",
                                  "kubernetes.default.svc.cluster.local."])
def test_dns_names_that_are_never_approved(name):
    assert serving_csr.forbidden_dns(name, "k8s.example")
    nodes = {"items": [node("cp1", ("InternalIP", "10.89.0.5"), ("Hostname", name))]}
    _node, why = judge(csr_object(make_csr(dns=("cp1", name))), nodes, {"cp1": ["10.89.0.5", name]},
                       cluster_domain="k8s.example")
    assert "no node may have" in why


@pytest.mark.parametrize("address,why", [
    ("169.254.25.10", "link-local"),           # kubespray's node-local DNS
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("10.96.0.10", "service CIDR"), ("10.111.255.254", "service CIDR"),
    ("::ffff:10.96.0.1", "service CIDR"),
])
def test_ip_addresses_that_are_never_approved(address, why):
    assert why in serving_csr.forbidden_ip(address, serving_csr.service_networks(None))


def test_node_local_dns_address_is_not_approved():
    nodes = {"items": [node("cp1", ("InternalIP", "10.89.0.5"), ("InternalIP", "169.254.25.10"), ("Hostname", "cp1"))]}
    _node, why = judge(csr_object(make_csr(ips=("10.89.0.5", "169.254.25.10"))), nodes,
                       {"cp1": ["10.89.0.5", "169.254.25.10"]})
    assert "169.254.25.10 (link-local" in why


def test_service_cidrs_and_service_ips_are_what_the_caller_says():
    nodes = {"items": [node("cp1", ("InternalIP", "10.96.0.7"), ("InternalIP", "10.233.0.3"), ("Hostname", "cp1"))]}
    inventory = {"cp1": ["10.96.0.7", "10.233.0.3"]}
    # kubespray's services live in 10.233.0.0/18: 10.96.0.7 is an ordinary node address there
    assert judge(csr_object(make_csr(ips=("10.96.0.7",))), nodes, inventory, service_cidrs=["10.233.0.0/18"]) == ("cp1", "")
    _node, why = judge(csr_object(make_csr(ips=("10.233.0.3",))), nodes, inventory, service_cidrs=["10.233.0.0/18"])
    assert "service CIDR 10.233.0.0/18" in why
    _node, why = judge(csr_object(make_csr(ips=("10.96.0.7",))), nodes, inventory, service_cidrs=["10.233.0.0/18"],
                       service_ips={"10.96.0.7"})
    assert "a Service's cluster IP" in why
    services = {"items": [{"spec": {"clusterIP": "10.233.0.1", "clusterIPs": ["10.233.0.1", "fd00::1"]}},
                          {"spec": {"clusterIP": "None"}}]}
    assert serving_csr.cluster_ips(services) == {"10.233.0.1", "fd00::1"}
    with pytest.raises(ValueError, match="not an IP network"):
        serving_csr.service_networks(["10.233.0.0/33"])


def test_the_node_is_identified_by_the_requesters_name_never_by_address():
    """Two nodes share an address (worker1's kubelet claims cp1's IP, or a VIP moves between them): the
    first node with the address is not taken for the requester, and the address is only cp1's when the
    inventory says so."""
    nodes = {"items": [node("worker1", ("InternalIP", "10.89.0.5"), ("InternalIP", "10.89.0.6"), ("Hostname", "worker1")),
                       node("cp1", ("InternalIP", "10.89.0.5"), ("Hostname", "cp1"))]}
    assert judge(csr_object(), nodes) == ("cp1", "")
    pem = make_csr(cn="system:node:worker1", dns=("worker1",), ips=("10.89.0.5",))
    node_name, why = judge(csr_object(pem, username="system:node:worker1"), nodes)
    assert node_name == "worker1" and "['10.89.0.5'] are not addresses the inventory declares for node worker1" in why
    pem = make_csr(cn="system:node:worker1", dns=("worker1",), ips=("10.89.0.6",))
    assert judge(csr_object(pem, username="system:node:worker1"), nodes) == ("worker1", "")
    # an address two inventory hosts declare (a shared VIP) is neither node's alone
    shared = {"cp1": ["10.89.0.5"], "worker1": ["10.89.0.6", "10.89.0.5"]}
    _node, why = judge(csr_object(), nodes, shared)
    assert "10.89.0.5" in why and "declared by no other host" in why


def test_an_address_the_node_registers_but_the_inventory_does_not_declare_is_refused():
    nodes = {"items": [node("cp1", ("InternalIP", "10.89.0.5"), ("InternalIP", "192.0.2.7"), ("Hostname", "cp1"),
                            ("InternalDNS", "cp1.internal"))]}
    for pem in (make_csr(ips=("10.89.0.5", "192.0.2.7")), make_csr(dns=("cp1", "cp1.internal"))):
        _node, why = judge(csr_object(pem), nodes)
        assert "not addresses the inventory declares" in why
    # ... and one the inventory declares but the Node does not register, too (both must agree)
    _node, why = judge(csr_object(make_csr(ips=("10.89.0.9",))), NODES, {"cp1": ["10.89.0.5", "10.89.0.9"]})
    assert "10.89.0.9" in why


@pytest.mark.parametrize("nodes,inventory,reason", [
    ({"items": [node("cp1", ("InternalIP", "10.89.0.5"))]} , {"worker1": ["10.89.0.6"]}, "not an inventory host"),
    ({"items": []}, INVENTORY, "no registered Node is named 'cp1'"),
    ({"items": [node("cp1", ("InternalIP", "10.89.0.5"))] * 2}, INVENTORY, "2 registered Nodes are named 'cp1'"),
    ({"items": [node("cp1", ("InternalIP", "10.89.0.5"))]}, {"cp1": ["10.89.0.5"], "CP1": ["10.89.0.5"]},
     "all register as node 'cp1'"),
    ({"items": [node("cp1", ("InternalIP", "10.89.0.5"))]},
     {"cp1": ["10.89.0.5"], "other": {"node_name": "cp1", "addresses": ["10.89.0.7"]}}, "all register as node 'cp1'"),
])
def test_a_requester_that_is_not_exactly_one_inventory_node_is_refused(nodes, inventory, reason):
    node_name, why = judge(csr_object(), nodes, inventory)
    assert node_name == "cp1" and reason in why


def test_inventory_hosts_forms():
    claims = serving_csr.inventory_claims({"Node1": ["10.0.0.1", "node1.lan", None, ""],
                                           "h2": {"node_name": "n2", "addresses": "10.0.0.2"}})
    assert claims == [("Node1", "node1", {"10.0.0.1"}, {"node1", "node1.lan"}),
                      ("h2", "n2", {"10.0.0.2"}, {"h2", "n2"})]


def test_pending_and_own_node():
    assert serving_csr.is_pending(csr_object())
    assert not serving_csr.is_pending(csr_object(conditions=[{"type": "Approved"}]))
    identities = serving_csr.node_identities(NODES)
    assert serving_csr.node_of_address(identities, ["127.0.0.1", "10.89.0.6"]) == "worker1"
    assert serving_csr.node_of_address(identities, ["192.0.2.1"]) is None


def test_node_ready_needs_a_lease_renewed_after_the_restart():
    from ansible_collections.kubeguard.hardening.plugins.filter.hardening import kubeguard_node_ready
    node = {"kind": "Node", "metadata": {"name": "cp1"}, "status": {
        "addresses": [{"type": "InternalIP", "address": "10.89.0.5"}],
        "conditions": [{"type": "Ready", "status": "True"}]}}
    lease = {"kind": "Lease", "metadata": {"name": "cp1", "namespace": "kube-node-lease"},
             "spec": {"renewTime": "2026-11-22T22:15:01.500000Z"}}
    objects = {"items": [node, lease]}
    assert kubeguard_node_ready(objects, ["10.89.0.5"], "2026-11-22T22:15:00.000000Z") is True
    assert kubeguard_node_ready(objects, ["10.89.0.5"], "2026-11-22T22:15:02.000000Z") is False   # stale heartbeat
    node["status"]["conditions"][0]["status"] = "False"
    assert kubeguard_node_ready(objects, ["10.89.0.5"], "2026-11-22T22:15:00.000000Z") is False
    assert kubeguard_node_ready(objects, ["192.0.2.1"], "2026-11-22T22:15:00.000000Z") is True    # not registered
