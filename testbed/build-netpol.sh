#!/usr/bin/env bash
# The live cluster's NetworkPolicy enforcer and traffic probe, built from source; cached by version.
#   kube-router  - kube-router's netpol controller (iptables + ipset: this kernel has both, not nft `queue`)
#   kgnet        - our probe (testbed/live/kgnet.go): an HTTP and DNS responder, and their clients
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
KG_CACHE=${KG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeguard-testbed}
out=$KG_CACHE/netpol/$KUBE_ROUTER_VERSION
kgnet_sum=$(sha256sum "$here/live/kgnet.go" | cut -c1-12)
start=$SECONDS
mkdir -p "$out/bin"
if [ ! -x "$out/bin/kube-router" ]; then
  GOBIN=$out/bin CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
fi
if [ ! -x "$out/bin/kgnet-$kgnet_sum" ]; then
  mkdir -p "$out/src/kgnet"; cp "$here/live/kgnet.go" "$out/src/kgnet/main.go"
  printf 'module kubeguard.local/kgnet\n\ngo 1.24.0\n' > "$out/src/kgnet/go.mod"
  (cd "$out/src/kgnet" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/bin/kgnet-$kgnet_sum" .)
fi
ln -sfn "kgnet-$kgnet_sum" "$out/bin/kgnet"
echo "kube-router $KUBE_ROUTER_VERSION and kgnet ready in $((SECONDS-start))s -> $out/bin"
