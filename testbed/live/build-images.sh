#!/usr/bin/env bash
# Minimal component images from the pinned binaries (FROM scratch), tagged as kubeadm expects,
# saved as archives for `ctr images import`, then the live node image itself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); testbed=$(dirname "$here")
source "$testbed/versions.env"
KG_CACHE=${KG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeguard-testbed}
kbin=$KG_CACHE/k8s/$KUBE_VERSION/bin; lbin=$KG_CACHE/live/$ETCD_VERSION/bin
ctx=$KG_CACHE/live-context; mkdir -p "$ctx/images"
tag=$(cat "$here"/* "$testbed/versions.env" | sha256sum | cut -c1-12)
live=localhost/kubeguard-live:$tag
if podman image exists "$live"; then podman tag "$live" localhost/kubeguard-live:latest; echo "live image cached: $live"; exit 0; fi
component() {  # name binary image-ref
  local dir=$ctx/build-$1; mkdir -p "$dir"; cp "$2" "$dir/$1"
  printf 'FROM scratch\nENV PATH=/usr/local/bin\nCOPY %s /usr/local/bin/%s\nENTRYPOINT ["/usr/local/bin/%s"]\n' "$1" "$1" "$1" > "$dir/Containerfile"
  podman build -q -t "$3" "$dir" >/dev/null
  rm -f "$ctx/images/$1.tar"; podman save -o "$ctx/images/$1.tar" "$3" >/dev/null
}
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  component "$c" "$kbin/$c" "registry.k8s.io/$c:$KUBE_VERSION"
done
# kube-proxy drives iptables: its image carries iptables-nft and the libraries it needs
dir=$ctx/build-kube-proxy; mkdir -p "$dir"; cp "$kbin/kube-proxy" "$here/kube-proxy.Containerfile" "$dir/"
podman build -q --build-arg BASE="localhost/kubeguard-base-$DEBIAN_SUITE:latest" -t "registry.k8s.io/kube-proxy:$KUBE_VERSION" \
  -f "$dir/kube-proxy.Containerfile" "$dir" >/dev/null
rm -f "$ctx/images/kube-proxy.tar"; podman save -o "$ctx/images/kube-proxy.tar" "registry.k8s.io/kube-proxy:$KUBE_VERSION" >/dev/null
component etcd "$lbin/etcd" "registry.k8s.io/etcd:${ETCD_VERSION#v}-0"
component pause "$lbin/pause" "registry.k8s.io/pause:$PAUSE_TAG"
cp "$lbin/etcd" "$here/live-init.sh" "$here/kubeadm-live.yaml" "$here/10-kgnet.conflist" "$here/Containerfile" "$ctx/"
podman build -q --build-arg BASE=localhost/kubeguard-node:latest -t "$live" -f "$ctx/Containerfile" "$ctx" >/dev/null
podman tag "$live" localhost/kubeguard-live:latest
echo "live image built: $live"
