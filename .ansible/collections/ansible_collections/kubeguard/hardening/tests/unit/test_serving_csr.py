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

from ansible_collections.kubeguard.hardening.plugins.module_utils import serving_csr

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


def test_a_kubelets_own_request_is_approved():
    identities = serving_csr.node_identities(NODES)
    assert serving_csr.judge(csr_object(), identities) == ("cp1", "")


@pytest.mark.parametrize("change,reason", [
    ({"signer": "kubernetes.io/kube-apiserver-client-kubelet"}, "not a kubelet serving"),
    ({"username": "system:serviceaccount:default:x"}, "not by a node"),
    ({"groups": ("system:authenticated",)}, "system:nodes"),
    ({"usages": ("digital signature", "client auth")}, "usages"),
    ({"pem": make_csr(cn="system:node:worker1")}, "does not match"),
    ({"pem": make_csr(ips=("10.89.0.6",))}, "not registered addresses"),    # another node's IP
    ({"pem": make_csr(dns=("kubernetes.default",), ips=())}, "not registered addresses"),
    ({"pem": make_csr(dns=(), ips=())}, "no DNS name"),
    ({"username": "system:node:ghost", "pem": make_csr(cn="system:node:ghost")}, "not registered"),
])
def test_requests_that_are_not_the_nodes_own_are_refused(change, reason):
    node, why = serving_csr.judge(csr_object(**change), serving_csr.node_identities(NODES))
    assert reason in why


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
