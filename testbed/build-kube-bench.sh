#!/usr/bin/env bash
# Build kube-bench from source through the Go module proxy, with its cfg/ check files; cached by version.
# (A wrapper module, not `go install pkg@version`: that also reads the proxy's version list, which is refused here.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
KG_CACHE=${KG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeguard-testbed}
out=$KG_CACHE/kube-bench/$KUBE_BENCH_VERSION
if [ -x "$out/kube-bench" ] && [ -d "$out/cfg" ]; then echo "kube-bench $KUBE_BENCH_VERSION cached in $out"; exit 0; fi
mkdir -p "$out/src"
start=$SECONDS
cd "$out/src"
cat > go.mod <<MOD
module kubeguard.local/kubebenchbuild

go 1.24.0

require github.com/aquasecurity/kube-bench $KUBE_BENCH_VERSION
MOD
cat > tools.go <<'GO'
//go:build tools

package tools

import _ "github.com/aquasecurity/kube-bench"
GO
GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || GOFLAGS=-mod=mod go mod tidy
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$out/kube-bench" github.com/aquasecurity/kube-bench
src=$(go list -m -f '{{.Dir}}' github.com/aquasecurity/kube-bench)
rm -rf "$out/cfg" && cp -r "$src/cfg" "$out/cfg" && chmod -R u+w "$out/cfg"
echo "kube-bench $KUBE_BENCH_VERSION built in $((SECONDS-start))s -> $out"
