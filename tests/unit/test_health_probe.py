"""health.probe: what a component's health endpoint answered, as the rollout's gate reads it."""

from __future__ import annotations

import http.server
import socket
import ssl
import subprocess
import threading

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.observe.health import probe


class Endpoint(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        status, body = {"/healthz": (200, b"ok"), "/livez": (500, b"[-]etcd failed")}.get(self.path, (404, b"no"))
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(name="server")
def fixture_server(monkeypatch):
    # a proxy in the environment must not be used for the node's own endpoints
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_200_is_healthy_with_the_body(server):
    assert probe(f"{server}/healthz") == (True, "200 ok")


def test_an_error_status_is_unhealthy_with_what_the_component_said(server):
    assert probe(f"{server}/livez") == (False, "500 [-]etcd failed")


def test_nothing_listening_is_unhealthy_and_says_why():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    healthy, why = probe(f"http://127.0.0.1:{port}/healthz", timeout=2)
    assert healthy is False and "refused" in why.lower()


@pytest.fixture(name="tls_server")
def fixture_tls_server(tmp_path):
    """A component serving a self-signed certificate, as kube-apiserver's and the kubelet's local ports do."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Endpoint)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", tmp_path / "cert.pem"
    httpd.shutdown()


def test_https_without_a_ca_accepts_the_local_self_signed_certificate(tls_server):
    url, _cert = tls_server
    assert probe(f"{url}/healthz") == (True, "200 ok")


def test_https_with_the_ca_verifies_and_with_another_ca_refuses(tls_server, tmp_path):
    url, cert = tls_server
    assert probe(f"{url}/healthz", ca=str(cert)) == (True, "200 ok")
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=other", "-keyout", str(other / "k.pem"), "-out", str(other / "c.pem")],
                   check=True, capture_output=True)
    healthy, why = probe(f"{url}/healthz", ca=str(other / "c.pem"), timeout=3)
    assert healthy is False and "certificate" in why.lower()
