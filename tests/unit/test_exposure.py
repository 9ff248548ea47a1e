"""Exposure checks read the node's listening sockets and their processes from /proc (a fake one here, in
/proc's own formats): kubectl proxy beyond loopback, the kubelet's read-only port, etcd without TLS."""

from __future__ import annotations

import os

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import exposure
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def fake_proc(root, sockets, processes):
    """sockets: (table, hex local address, state, inode); processes: pid -> (argv, [inodes])."""
    os.makedirs(root / "net")
    for table in ("tcp", "tcp6"):
        rows = [f"   {i}: {addr} 00000000:0000 {state} 00000000:00000000 00:00000000 00000000     0        0 {inode} 1\n"
                for i, (t, addr, state, inode) in enumerate(sockets) if t == table]
        (root / "net" / table).write_text(HEADER + "".join(rows))
    for pid, (argv, inodes) in processes.items():
        (root / str(pid) / "fd").mkdir(parents=True)
        (root / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
        for n, inode in enumerate(inodes):
            os.symlink(f"socket:[{inode}]", root / str(pid) / "fd" / str(n + 3))
        os.symlink("/dev/null", root / str(pid) / "fd" / "0")


@pytest.fixture(name="node")
def fixture_node(tmp_path):
    fake_proc(tmp_path, [
        ("tcp", "00000000:1F41", "0A", "101"),        # 0.0.0.0:8001 kubectl proxy
        ("tcp", "0100007F:1F42", "0A", "102"),        # 127.0.0.1:8002 kubectl proxy
        ("tcp6", "00000000000000000000000000000000:2802", "0A", "103"),   # [::]:10242 kubelet
        ("tcp", "0100007F:2382", "0A", "104"),        # 127.0.0.1:9090 something else
        ("tcp", "0100007F:9C40", "01", "105"),        # established, not a listener
    ], {
        4242: (["/usr/local/bin/kubectl", "proxy", "--address=0.0.0.0", "--accept-hosts=.*"], ["101"]),
        4243: (["kubectl", "proxy"], ["102"]),
        77: (["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml"], ["103"]),
    })
    return tmp_path


def test_listeners_with_their_processes(node):
    found = exposure.listeners(str(node))
    assert [(e["address"], e["port"], e["process"], e["pid"]) for e in found] == [
        ("0.0.0.0", 8001, "kubectl", 4242), ("127.0.0.1", 8002, "kubectl", 4243), ("127.0.0.1", 9090, "?", None),
        ("::", 10242, "kubelet", 77)]
    assert found[0]["argv"][:2] == ["/usr/local/bin/kubectl", "proxy"]


def test_a_kubectl_proxy_on_every_interface_fails_with_the_evidence_and_loopback_passes(node):
    outcome = exposure.kubectl_proxy(exposure.listeners(str(node)))
    assert outcome.passed is False and "0.0.0.0:8001 kubectl (pid 4242)" in outcome.found and "8002" not in outcome.found
    local_only = [e for e in exposure.listeners(str(node)) if e["pid"] != 4242]
    assert exposure.kubectl_proxy(local_only).passed is True


def test_the_kubelet_read_only_port(node, tmp_path_factory):
    assert exposure.kubelet_read_only(exposure.listeners(str(node)), 0).passed is True
    other = tmp_path_factory.mktemp("ro")
    fake_proc(other, [("tcp6", "00000000000000000000000000000000:280F", "0A", "9")], {5: (["kubelet"], ["9"])})
    outcome = exposure.kubelet_read_only(exposure.listeners(str(other)), None)
    assert outcome.passed is False and "[::]:10255 kubelet (pid 5)" in outcome.found
    assert exposure.kubelet_read_only([{"address": "::", "port": 10255, "process": "kubelet", "pid": 5}], None).passed is False
    assert exposure.kubelet_read_only([{"address": "::", "port": 12000, "process": "kubelet", "pid": 5}], 12000).passed is False


@pytest.mark.parametrize("urls, passed", [
    ("https://10.0.0.1:2379,https://127.0.0.1:2379", True),
    ("https://10.0.0.1:2379,http://127.0.0.1:2379", True),     # plain http on loopback only
    ("http://0.0.0.0:2379", False),
    ("https://[fd00::1]:2379,http://[fd00::1]:2381", False),
    ("", True),
])
def test_etcd_client_urls(urls, passed):
    outcome = exposure.etcd_insecure_clients({"listen-client-urls": urls} if urls else {})
    assert outcome.passed is passed, outcome.found


def test_the_audit_reports_the_exposure_controls_from_real_state(node):
    state = {"layout": catalogue.layout_for("kubeadm").as_dict(), "etcd_data_dir": "/var/lib/etcd",
             "components": {"etcd": {"source": "manifest", "flags": {"listen-client-urls": "http://0.0.0.0:2379"}}},
             "kubelet_config": {"readOnlyPort": 0}, "listeners": exposure.listeners(str(node))}
    results = {r["id"]: r for r in audit.audit(state, ["worker", "etcd"], file_reader=lambda *_ignored: [])}
    assert results["K.10"]["status"] == "fail" and "pid 4242" in results["K.10"]["found"]
    assert results["K.11"]["status"] == "pass"
    assert results["K.12"]["status"] == "fail"
    assert results["K.13"]["status"] == "manual" and "[::]:10242 kubelet" in results["K.13"]["found"]
    # a node whose sockets could not be read says so instead of passing
    del state["listeners"]
    unread = {r["id"]: r for r in audit.audit(state, ["worker"], file_reader=lambda *_ignored: [])}
    assert unread["K.10"]["status"] == "fail" and "could not be read" in unread["K.10"]["found"]


def test_a_proc_without_socket_tables_is_not_read_as_no_listeners(tmp_path):
    assert exposure.listeners(str(tmp_path)) is None
    outcome = exposure.evaluate("kubectl_proxy", {"listeners": exposure.listeners(str(tmp_path))})
    assert outcome.passed is False and "could not be read" in outcome.found
