#!/usr/bin/env bash
# Build the pinned Kubernetes binaries from source through the Go module proxy and cache them by version.
# Output: $KG_CACHE/k8s/$KUBE_VERSION/bin/{kubeadm,kubectl,kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,kube-proxy}
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
# another release beside the pinned one (tools/gen_component_data.py --bin reads its binaries): KG_KUBE_VERSION=v1.35.4
KUBE_VERSION=${KG_KUBE_VERSION:-$KUBE_VERSION}
KG_CACHE=${KG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeguard-testbed}
out=$KG_CACHE/k8s/$KUBE_VERSION
bins=(kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

missing=0
for b in "${bins[@]}"; do [ -x "$out/bin/$b" ] || missing=1; done
if [ "$missing" = 0 ]; then echo "k8s $KUBE_VERSION binaries cached in $out/bin"; exit 0; fi

command -v go >/dev/null || { apt-get update -qq && apt-get install -y -qq golang-go >/dev/null; }
start=$SECONDS
staging_version="v0.${KUBE_VERSION#v1.}"   # k8s.io/* staging modules are tagged v0.MINOR.PATCH
src=$out/src; mkdir -p "$src" "$out/bin"
cd "$src"
upstream_mod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local folders that are
# not in the module zip, so the wrapper replaces each with its published tag.
staging=$(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$upstream_mod" | sort -u)
{
  echo "module kubeguard.local/k8sbuild"
  echo
  echo "go 1.24.0"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  echo "replace ("
  for m in $staging; do echo "	$m => $m $staging_version"; done
  echo ")"
} > go.mod
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || GOFLAGS=-mod=mod go mod tidy

minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
for b in "${bins[@]}"; do
  s=$SECONDS
  CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$out/bin/$b" "k8s.io/kubernetes/cmd/$b"
  echo "built $b in $((SECONDS-s))s"
done
echo "Kubernetes $KUBE_VERSION binaries built in $((SECONDS-start))s -> $out/bin"
"$out/bin/kubeadm" version -o short
