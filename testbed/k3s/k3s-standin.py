#!/usr/bin/python3
"""Test-bed stand-in for the `k3s` binary (a real one cannot be built here: the Go module proxy
refuses github.com/k3s-io/k3s). It does what the hardening depends on, as K3s documents it:

- reads /etc/rancher/k3s/config.yaml and config.yaml.d/*.yaml (`key+:` appends), like `k3s server|agent`;
- on first start writes the server's TLS material and kubeconfigs where K3s keeps them;
- with secrets-encryption writes cred/encryption-config.json (aescbc unless secrets-encryption-provider);
- with cluster-init runs "embedded etcd": its TLS material, etcd's YAML config in the data directory, and
  the apiserver's --etcd-* flags pointing at it;
- as `kubectl` (get -o json / replace -f -), records which provider each stored object was last
  written with, so the test bed sees whether existing secrets were rewritten after encryption was enabled;
- refuses to start the way the components would: unknown flags, bad values, a file-valued flag
  naming a missing or unparsable file (admission, audit policy, encryption config);
- logs `Running <component> --flag=value ...` for each component, as k3s does, and answers
  https://127.0.0.1:6443/readyz (client certificate required) and http://127.0.0.1:10248/healthz.
"""

import base64
import glob
import http.server
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time

import yaml

DATA = "/var/lib/rancher/k3s"
TLS = f"{DATA}/server/tls"
CRED = f"{DATA}/server/cred"
AGENT = f"{DATA}/agent"

DEFAULTS = {
    "kube-apiserver": {
        "advertise-port": "6443", "allow-privileged": "true", "anonymous-auth": "false", "api-audiences": "https://kubernetes.default.svc.cluster.local,k3s",
        "authorization-mode": "Node,RBAC", "bind-address": "127.0.0.1", "cert-dir": f"{TLS}/temporary-certs",
        "client-ca-file": f"{TLS}/client-ca.crt", "egress-selector-config-file": f"{DATA}/server/etc/egress-selector-config.yaml",
        "enable-admission-plugins": "NodeRestriction", "etcd-servers": "unix://kine.sock",
        "kubelet-certificate-authority": f"{TLS}/server-ca.crt", "kubelet-client-certificate": f"{TLS}/client-kube-apiserver.crt",
        "kubelet-client-key": f"{TLS}/client-kube-apiserver.key", "profiling": "false",
        "proxy-client-cert-file": f"{TLS}/client-auth-proxy.crt", "proxy-client-key-file": f"{TLS}/client-auth-proxy.key",
        "requestheader-allowed-names": "system:auth-proxy", "requestheader-client-ca-file": f"{TLS}/request-header-ca.crt",
        "secure-port": "6444", "service-account-issuer": "https://kubernetes.default.svc.cluster.local",
        "service-account-key-file": f"{TLS}/service.key", "service-account-signing-key-file": f"{TLS}/service.current.key",
        "service-cluster-ip-range": "10.43.0.0/16", "storage-backend": "etcd3",
        "tls-cert-file": f"{TLS}/serving-kube-apiserver.crt", "tls-private-key-file": f"{TLS}/serving-kube-apiserver.key",
        "tls-cipher-suites": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,"
                             "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,"
                             "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"},
    "kube-controller-manager": {
        "allocate-node-cidrs": "true", "bind-address": "127.0.0.1", "cluster-cidr": "10.42.0.0/16",
        "cluster-signing-kube-apiserver-client-cert-file": f"{TLS}/client-ca.nochain.crt",
        "kubeconfig": f"{CRED}/controller.kubeconfig", "profiling": "false", "root-ca-file": f"{TLS}/server-ca.crt",
        "secure-port": "10257", "service-account-private-key-file": f"{TLS}/service.current.key",
        "use-service-account-credentials": "true"},
    "kube-scheduler": {"bind-address": "127.0.0.1", "kubeconfig": f"{CRED}/scheduler.kubeconfig", "profiling": "false",
                       "secure-port": "10259"},
    "kubelet": {
        "address": "0.0.0.0", "anonymous-auth": "false", "authentication-token-webhook": "true",
        "authorization-mode": "Webhook", "cgroup-driver": "systemd", "client-ca-file": f"{AGENT}/client-ca.crt",
        "cluster-dns": "10.43.0.10", "cluster-domain": "cluster.local", "config-dir": f"{AGENT}/etc/kubelet.conf.d",
        "container-runtime-endpoint": "unix:///run/k3s/containerd/containerd.sock", "eviction-hard": "imagefs.available<5%,nodefs.available<5%",
        "fail-swap-on": "false", "healthz-bind-address": "127.0.0.1", "kubeconfig": f"{AGENT}/kubelet.kubeconfig",
        "node-labels": "", "pod-manifest-path": f"{AGENT}/pod-manifests", "read-only-port": "0",
        "serialize-image-pulls": "false", "tls-cert-file": f"{AGENT}/serving-kubelet.crt",
        "tls-private-key-file": f"{AGENT}/serving-kubelet.key"},
    "kube-proxy": {"cluster-cidr": "10.42.0.0/16", "conntrack-max-per-core": "0", "healthz-bind-address": "127.0.0.1",
                   "kubeconfig": f"{AGENT}/kubeproxy.kubeconfig", "proxy-mode": "iptables"},
}
# Flags the components accept beyond the defaults above (what the hardening may set).
MORE_FLAGS = {
    "kube-apiserver": "event-ttl admission-control-config-file audit-log-path audit-log-maxage audit-log-maxbackup audit-log-maxsize "
                      "audit-policy-file request-timeout service-account-lookup tls-min-version encryption-provider-config "
                      "encryption-provider-config-automatic-reload disable-admission-plugins feature-gates authentication-config "
                      "service-account-extend-token-expiration",
    "kube-controller-manager": "terminated-pod-gc-threshold feature-gates tls-min-version tls-cipher-suites",
    "kube-scheduler": "feature-gates tls-min-version tls-cipher-suites",
    "kube-proxy": "metrics-bind-address",
    "kubelet": "streaming-connection-idle-timeout make-iptables-util-chains protect-kernel-defaults event-qps "
               "rotate-certificates rotate-server-certificates feature-gates seccomp-default pod-max-pids tls-min-version "
               "tls-cipher-suites max-pods",
}
LISTS = {"kube-apiserver": "kube-apiserver-arg", "kube-controller-manager": "kube-controller-manager-arg",
         "kube-scheduler": "kube-scheduler-arg", "kubelet": "kubelet-arg", "kube-proxy": "kube-proxy-arg"}
BOOLS = {"anonymous-auth", "profiling", "service-account-lookup", "make-iptables-util-chains", "protect-kernel-defaults",
         "authentication-token-webhook", "rotate-certificates", "rotate-server-certificates", "seccomp-default",
         "use-service-account-credentials", "service-account-extend-token-expiration"}
INTS = {"audit-log-maxage", "audit-log-maxbackup", "audit-log-maxsize", "terminated-pod-gc-threshold", "read-only-port",
        "event-qps", "pod-max-pids", "max-pods"}
DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$|^0$")
FILE_FLAGS = ("admission-control-config-file", "audit-policy-file", "encryption-provider-config", "authentication-config")


def log(level, message):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f'time="{stamp}" level={level} msg="{message}"', file=sys.stderr, flush=True)


def fail(message):
    log("fatal", message)
    sys.exit(1)


def config():
    merged = {}
    dropins = [p for p in glob.glob("/etc/rancher/k3s/config.yaml.d/*") if p.lower().endswith((".yaml", ".yml")) and os.path.isfile(p)]
    for path in ["/etc/rancher/k3s/config.yaml"] + sorted(dropins):
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as handle:
            try:
                doc = yaml.safe_load(handle) or {}
            except yaml.YAMLError as exc:
                fail(f"parsing {path}: {exc}")
        if not isinstance(doc, dict):
            fail(f"{path}: expected a map of options")
        for key, value in doc.items():
            if key.endswith("+"):
                key = key[:-1]
                merged[key] = list(merged.get(key) or []) + (value if isinstance(value, list) else [value])
            else:
                merged[key] = value
    return merged


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def first_start(server):
    """The files k3s writes when it first starts (modes as k3s leaves them)."""
    os.makedirs(TLS, exist_ok=True)
    os.makedirs(CRED, exist_ok=True)
    os.makedirs(f"{AGENT}/pod-manifests", exist_ok=True)
    os.makedirs(f"{AGENT}/etc/cni/net.d", exist_ok=True)
    os.makedirs("/etc/rancher/k3s", exist_ok=True)
    if not os.path.exists(f"{TLS}/client-ca.crt"):
        for ca in ("server-ca", "client-ca", "request-header-ca"):
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
                    "-subj", f"/CN=k3s-{ca}", "-keyout", f"{TLS}/{ca}.key", "-out", f"{TLS}/{ca}.crt")
        for name, ca, subject in (("serving-kube-apiserver", "server-ca", "/CN=kube-apiserver"),
                                  ("client-admin", "client-ca", "/O=system:masters/CN=system:admin"),
                                  ("client-kube-apiserver", "client-ca", "/CN=system:apiserver")):
            openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", subject,
                    "-keyout", f"{TLS}/{name}.key", "-out", f"{TLS}/{name}.csr")
            openssl("x509", "-req", "-in", f"{TLS}/{name}.csr", "-CA", f"{TLS}/{ca}.crt", "-CAkey", f"{TLS}/{ca}.key",
                    "-CAcreateserial", "-days", "3650", "-out", f"{TLS}/{name}.crt")
            os.unlink(f"{TLS}/{name}.csr")
        openssl("genrsa", "-out", f"{TLS}/service.key", "2048")
        for path in glob.glob(f"{TLS}/*.crt"):
            os.chmod(path, 0o644)
        for path in glob.glob(f"{TLS}/*.key"):
            os.chmod(path, 0o600)
        for name in ("controller", "scheduler", "admin"):
            with open(f"{CRED}/{name}.kubeconfig", "w", encoding="utf-8") as handle:
                handle.write(f"apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: https://127.0.0.1:6444\n"
                             f"users:\n- name: {name}\n")
        with open("/etc/rancher/k3s/k3s.yaml", "w", encoding="utf-8") as handle:
            handle.write("apiVersion: v1\nkind: Config\nclusters:\n- name: default\n  cluster:\n    server: https://127.0.0.1:6443\n")
        os.chmod("/etc/rancher/k3s/k3s.yaml", 0o600)
        for name in ("kubelet.kubeconfig", "kubeproxy.kubeconfig"):
            with open(f"{AGENT}/{name}", "w", encoding="utf-8") as handle:
                handle.write("apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: https://127.0.0.1:6443\n")
            os.chmod(f"{AGENT}/{name}", 0o644)
        with open(f"{TLS}/client-ca.crt", encoding="utf-8") as src, open(f"{AGENT}/client-ca.crt", "w", encoding="utf-8") as dst:
            dst.write(src.read())
        os.chmod(f"{AGENT}/client-ca.crt", 0o644)


def embedded_etcd():
    """cluster-init: k3s runs etcd in its own process with TLS material under tls/etcd, writes etcd's
    YAML config into the data directory at every start (sigs.k8s.io/yaml: keys sorted) and points the
    apiserver at it instead of kine."""
    etcd_tls = f"{TLS}/etcd"
    data_dir = f"{DATA}/server/db/etcd"
    os.makedirs(etcd_tls, mode=0o700, exist_ok=True)
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    if not os.path.exists(f"{etcd_tls}/server-ca.crt"):
        for ca in ("server-ca", "peer-ca"):
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
                    "-subj", f"/CN=etcd-{ca}", "-keyout", f"{etcd_tls}/{ca}.key", "-out", f"{etcd_tls}/{ca}.crt")
        for name, ca in (("server-client", "server-ca"), ("peer-server-client", "peer-ca"), ("client", "server-ca")):
            openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN=etcd-{name}",
                    "-keyout", f"{etcd_tls}/{name}.key", "-out", f"{etcd_tls}/{name}.csr")
            openssl("x509", "-req", "-in", f"{etcd_tls}/{name}.csr", "-CA", f"{etcd_tls}/{ca}.crt", "-CAkey", f"{etcd_tls}/{ca}.key",
                    "-CAcreateserial", "-days", "3650", "-out", f"{etcd_tls}/{name}.crt")
            os.unlink(f"{etcd_tls}/{name}.csr")
    address = "127.0.0.1"
    config = {
        "advertise-client-urls": f"https://{address}:2379", "client-transport-security": {
            "cert-file": f"{etcd_tls}/server-client.crt", "client-cert-auth": True, "key-file": f"{etcd_tls}/server-client.key",
            "trusted-ca-file": f"{etcd_tls}/server-ca.crt"},
        "data-dir": data_dir, "election-timeout": 5000, "heartbeat-interval": 500,
        "listen-client-urls": f"https://{address}:2379,https://127.0.0.1:2379", "listen-metrics-urls": "http://127.0.0.1:2381",
        "listen-peer-urls": f"https://{address}:2380", "log-outputs": ["stderr"], "logger": "zap", "name": "k3s-server1",
        "peer-transport-security": {
            "cert-file": f"{etcd_tls}/peer-server-client.crt", "client-cert-auth": True,
            "key-file": f"{etcd_tls}/peer-server-client.key", "trusted-ca-file": f"{etcd_tls}/peer-ca.crt"},
        "snapshot-count": 10000}
    fd = os.open(f"{data_dir}/config", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(config, handle, sort_keys=True)
    log("info", "Managed etcd cluster initializing")
    return {"etcd-servers": "https://127.0.0.1:2379", "etcd-cafile": f"{etcd_tls}/server-ca.crt",
            "etcd-certfile": f"{etcd_tls}/client.crt", "etcd-keyfile": f"{etcd_tls}/client.key"}


def encryption_config(provider):
    path = f"{CRED}/encryption-config.json"
    if not os.path.exists(path):
        key = base64.b64encode(os.urandom(32)).decode()
        doc = {"kind": "EncryptionConfiguration", "apiVersion": "apiserver.config.k8s.io/v1",
               "resources": [{"resources": ["secrets"],
                              "providers": [{provider: {"keys": [{"name": f"{provider}key", "secret": key}]}}, {"identity": {}}]}]}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(doc, handle)
    return path


def check_file(flag, path):
    if not os.path.exists(path):
        fail(f"{flag}: open {path}: no such file or directory")
    with open(path, encoding="utf-8") as handle:
        try:
            doc = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            fail(f"{flag}: {path}: {exc}")
    if not isinstance(doc, dict) or "kind" not in doc:
        fail(f"{flag}: {path}: not a configuration object")
    if flag == "admission-control-config-file":
        for plugin in doc.get("plugins") or []:
            if plugin.get("path"):
                check_file(flag, plugin["path"])


def component_args(cfg, component):
    args = dict(DEFAULTS[component])
    known = set(args) | set(MORE_FLAGS.get(component, "").split())
    items = cfg.get(LISTS[component]) or []
    for item in items if isinstance(items, list) else [items]:
        flag, sep, value = str(item).lstrip("-").partition("=")
        if flag not in known:
            fail(f"{component}: unknown flag: --{flag}")
        value = value if sep else "true"
        if flag in BOOLS and value not in ("true", "false"):
            fail(f'{component}: invalid argument "{value}" for "--{flag}" flag: strconv.ParseBool: parsing "{value}": invalid syntax')
        if flag in INTS and not re.fullmatch(r"-?[0-9]+", value):
            fail(f'{component}: invalid argument "{value}" for "--{flag}" flag: strconv.ParseInt: invalid syntax')
        if flag in ("request-timeout", "streaming-connection-idle-timeout") and not DURATION.match(value):
            fail(f'{component}: invalid argument "{value}" for "--{flag}" flag: time: invalid duration')
        if flag == "tls-min-version" and value not in ("VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13"):
            fail(f"{component}: unexpected TLS version {value!r}")
        args[flag] = value
    return args


def serve(server):
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path in ("/readyz", "/healthz", "/livez") else 404)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    kubelet = http.server.ThreadingHTTPServer(("127.0.0.1", 10248), Health)
    threading.Thread(target=kubelet.serve_forever, daemon=True).start()
    if server:
        api = http.server.ThreadingHTTPServer(("127.0.0.1", 6443), Health)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(f"{TLS}/serving-kube-apiserver.crt", f"{TLS}/serving-kube-apiserver.key")
        context.load_verify_locations(f"{TLS}/client-ca.crt")
        context.verify_mode = ssl.CERT_REQUIRED        # anonymous requests are refused, as on k3s
        api.socket = context.wrap_socket(api.socket, server_side=True)
        threading.Thread(target=api.serve_forever, daemon=True).start()


def notify_ready():
    address = os.environ.get("NOTIFY_SOCKET")
    if address:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect("\0" + address[1:] if address.startswith("@") else address)
            sock.send(b"READY=1")


# The datastore's stored objects, as far as encryption at rest goes: which provider each was last
# written with (a real k3s keeps them in kine or etcd).
STORE = f"{DATA}/server/db/standin-objects.json"


def current_writer():
    """The provider the apiserver writes secrets with: the first of the encryption config, if any."""
    path = f"{CRED}/encryption-config.json"
    if not os.path.exists(path):
        return "identity"
    with open(path, encoding="utf-8") as handle:
        doc = json.load(handle)
    for entry in doc.get("resources") or []:
        if "secrets" in (entry.get("resources") or []):
            return next(iter(entry["providers"][0]))
    return "identity"


def kubectl(args):
    """`kubectl get <resource> -A -o json | kubectl replace -f -` and `get --no-headers`, the rewrite
    the Kubernetes docs give; K3s' install script links kubectl to the k3s binary."""
    with open(STORE, encoding="utf-8") as handle:
        store = json.load(handle)
    words = []
    skip = False
    for arg in args:
        if skip or arg.startswith("--kubeconfig="):
            skip = False
            continue
        skip = arg == "--kubeconfig"
        if not skip:
            words.append(arg)
    if words[:1] == ["get"]:
        resource = words[1]
        items = [dict(item, kind=resource) for item in store.get(resource, [])]
        if "json" in words:
            print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        else:
            print("\n".join(f"{i['metadata']['namespace']} {i['metadata']['name']}" for i in items))
        return 0
    if words[:1] == ["replace"]:
        doc = json.load(sys.stdin)
        writer = current_writer()
        for item in doc.get("items") or []:
            for stored in store.get(item["kind"], []):
                if stored["metadata"] == item["metadata"]:
                    stored["written_with"] = writer
        with open(STORE, "w", encoding="utf-8") as handle:
            json.dump(store, handle)
        return 0
    print(f"stand-in kubectl: {' '.join(args)} is not supported", file=sys.stderr)
    return 1


def main():
    if os.path.basename(sys.argv[0]) == "kubectl" or sys.argv[1:2] == ["kubectl"]:
        sys.exit(kubectl(sys.argv[1:] if os.path.basename(sys.argv[0]) == "kubectl" else sys.argv[2:]))
    mode = sys.argv[1] if len(sys.argv) > 1 else "server"
    server = mode == "server"
    log("info", f"Starting k3s v1.33.5+k3s1 ({mode}, kubeguard test-bed stand-in)")
    cfg = config()
    first_start(server)
    components = (["kube-apiserver", "kube-scheduler", "kube-controller-manager"] if server else []) + ["kubelet", "kube-proxy"]
    args = {c: component_args(cfg, c) for c in components}
    if server and (cfg.get("cluster-init") or os.path.isdir(f"{DATA}/server/db/etcd")):
        args["kube-apiserver"].update(embedded_etcd())
    if cfg.get("protect-kernel-defaults"):
        args["kubelet"]["protect-kernel-defaults"] = "true"
    if server and cfg.get("secrets-encryption"):
        provider = cfg.get("secrets-encryption-provider") or "aescbc"
        if provider not in ("aescbc", "secretbox"):
            fail(f"unsupported secrets-encryption-provider {provider!r}")
        args["kube-apiserver"]["encryption-provider-config"] = encryption_config(provider)
        args["kube-apiserver"]["encryption-provider-config-automatic-reload"] = "true"
    if server:
        for flag in FILE_FLAGS:
            if flag in args["kube-apiserver"]:
                check_file(flag, args["kube-apiserver"][flag])
    for component in components:
        log("info", f"Running {component} " + " ".join(f"--{k}={v}" for k, v in sorted(args[component].items())))
    serve(server)
    notify_ready()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
