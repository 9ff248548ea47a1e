#!/usr/bin/env bash
# Build etcd/etcdctl (one binary, chosen by name) and our pause binary from source; cached by version.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
# another release beside the pinned one (kubeadm v1.35's etcd, for tools/gen_component_data.py): KG_ETCD_VERSION=v3.6.6
ETCD_VERSION=${KG_ETCD_VERSION:-$ETCD_VERSION}
KG_CACHE=${KG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeguard-testbed}
out=$KG_CACHE/live/$ETCD_VERSION
if [ -x "$out/bin/etcd" ] && [ -x "$out/bin/pause" ]; then echo "etcd $ETCD_VERSION and pause cached in $out/bin"; exit 0; fi
mkdir -p "$out/src/etcd" "$out/src/pause" "$out/bin"
start=$SECONDS
cp "$here/live/etcd_main.go" "$out/src/etcd/main.go"
cd "$out/src/etcd"
cat > go.mod <<MOD
module kubeguard.local/etcdbuild

go 1.24.0

require (
	go.etcd.io/etcd/server/v3 $ETCD_VERSION
	go.etcd.io/etcd/etcdctl/v3 $ETCD_VERSION
)
MOD
GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || GOFLAGS=-mod=mod go mod tidy
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$out/bin/etcd" .
ln -sf etcd "$out/bin/etcdctl"
cp "$here/live/pause.go" "$out/src/pause/main.go"
cd "$out/src/pause"
printf 'module kubeguard.local/pause\n\ngo 1.24.0\n' > go.mod
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/bin/pause" .
echo "etcd $ETCD_VERSION + pause built in $((SECONDS-start))s -> $out/bin"
