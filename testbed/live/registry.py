"""A read-only OCI registry on loopback for the live test bed (no registry is reachable here). The seed enables
AlwaysPullImages, so every pod created after hardening makes the kubelet pull: containerd's mirror for
registry.k8s.io points here. Serves the OCI image layouts under ROOT/<repository>/<tag>/ (podman save
--format oci-dir): the pull half of the distribution API (GET/HEAD /v2/, manifests by tag or digest, blobs).

    registry.py ROOT [PORT]
"""
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
MANIFESTS = {}   # (repository, tag or digest) -> (media type, digest)
BLOBS = {}       # digest -> path


def load():
    for dirpath, _dirs, files in os.walk(ROOT):
        if "index.json" not in files:
            continue
        layout = os.path.relpath(dirpath, ROOT)
        repository, tag = os.path.dirname(layout), os.path.basename(layout)
        with open(os.path.join(dirpath, "index.json"), encoding="utf-8") as handle:
            index = json.load(handle)
        for entry in index.get("manifests", []):
            found = (entry.get("mediaType", "application/vnd.oci.image.manifest.v1+json"), entry["digest"])
            MANIFESTS[(repository, tag)] = found
            MANIFESTS[(repository, entry["digest"])] = found
        for blob in os.listdir(os.path.join(dirpath, "blobs", "sha256")):
            BLOBS["sha256:" + blob] = os.path.join(dirpath, "blobs", "sha256", blob)


class Handler(BaseHTTPRequestHandler):
    def answer(self, body_path=None, media_type="application/json", digest=None, status=200):
        self.send_response(status)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        size = os.path.getsize(body_path) if body_path else 0
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(size))
        if digest:
            self.send_header("Docker-Content-Digest", digest)
        self.end_headers()
        if body_path and self.command == "GET":
            with open(body_path, "rb") as handle:
                while True:
                    chunk = handle.read(1 << 20)
                    if not chunk:
                        break
                    self.wfile.write(chunk)

    def do_GET(self):  # noqa: N802 - the http.server API
        path = self.path.split("?", 1)[0]
        if path in ("/v2", "/v2/"):
            return self.answer()
        match = re.match(r"^/v2/(.+)/(manifests|blobs)/([^/]+)$", path)
        if match:
            repository, kind, reference = match.groups()
            if kind == "manifests" and (repository, reference) in MANIFESTS and MANIFESTS[(repository, reference)][1] in BLOBS:
                media_type, digest = MANIFESTS[(repository, reference)]
                return self.answer(BLOBS[digest], media_type, digest)
            if kind == "blobs" and reference in BLOBS:
                return self.answer(BLOBS[reference], "application/octet-stream", reference)
        return self.answer(status=404)

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    load()
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
