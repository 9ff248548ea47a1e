#!/usr/bin/env bash
# Minimal component images from the pinned binaries (FROM scratch), tagged as kubeadm expects,
# saved as archives for `ctr images import`; the node's registry; then the live node image itself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); testbed=$(dirname "$here")
source "$testbed/versions.env"
KG_CACHE=${KG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeguard-testbed}
kbin=$KG_CACHE/k8s/$KUBE_VERSION/bin; lbin=$KG_CACHE/live/$ETCD_VERSION/bin; nbin=$KG_CACHE/netpol/$KUBE_ROUTER_VERSION/bin
ctx=$KG_CACHE/live-context; mkdir -p "$ctx/images"
tag=$(cat "$here"/* "$testbed/versions.env" "$testbed/build-netpol.sh" | sha256sum | cut -c1-12)
live=localhost/kubeguard-live:$tag
if podman image exists "$live"; then podman tag "$live" localhost/kubeguard-live:latest; echo "live image cached: $live"; exit 0; fi
registry() {  # image-ref: its OCI layout for the node's registry (registry.py), at registry/<repository>/<tag>
  local ref=${1#registry.k8s.io/}
  rm -rf "$ctx/registry/${ref%:*}/${ref##*:}"; mkdir -p "$ctx/registry/${ref%:*}"
  podman save -q --format oci-dir -o "$ctx/registry/${ref%:*}/${ref##*:}" "$1" >/dev/null
}
component() {  # name binary image-ref: FROM scratch with the binary
  local dir=$ctx/build-$1; mkdir -p "$dir"; cp "$2" "$dir/$1"
  printf 'FROM scratch\nENV PATH=/usr/local/bin\nCOPY %s /usr/local/bin/%s\nENTRYPOINT ["/usr/local/bin/%s"]\n' "$1" "$1" "$1" > "$dir/Containerfile"
  podman build -q -t "$3" "$dir" >/dev/null
}
netfilter_image() {  # image-ref binary...: the binaries with iptables (nft) and ipset (netfilter.Containerfile)
  local ref=$1 dir=$ctx/build-netfilter; shift
  rm -rf "$dir"; mkdir -p "$dir/bin"; cp "$@" "$dir/bin/"; cp "$here/netfilter.Containerfile" "$dir/"
  podman build -q --build-arg BASE="localhost/kubeguard-base-$DEBIAN_SUITE:latest" -t "$ref" -f "$dir/netfilter.Containerfile" "$dir" >/dev/null
}
archive() {  # name image-ref: an archive live-init imports with `ctr images import` (what kubeadm init runs)
  rm -f "$ctx/images/$1.tar"; podman save -o "$ctx/images/$1.tar" "$2" >/dev/null
}
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  component "$c" "$kbin/$c" "registry.k8s.io/$c:$KUBE_VERSION"; archive "$c" "registry.k8s.io/$c:$KUBE_VERSION"
done
netfilter_image "registry.k8s.io/kube-proxy:$KUBE_VERSION" "$kbin/kube-proxy"; archive kube-proxy "registry.k8s.io/kube-proxy:$KUBE_VERSION"
component etcd "$lbin/etcd" "registry.k8s.io/etcd:${ETCD_VERSION#v}-0"; archive etcd "registry.k8s.io/etcd:${ETCD_VERSION#v}-0"
component pause "$lbin/pause" "registry.k8s.io/pause:$PAUSE_TAG"; archive pause "registry.k8s.io/pause:$PAUSE_TAG"
# The NetworkPolicy enforcer (kube-router's netpol controller) and the traffic probe (kgnet): pulled from the
# node's registry when molecule/live applies them (testbed/build-netpol.sh builds both).
netfilter_image "registry.k8s.io/kg-netpol:$KUBE_ROUTER_VERSION" "$nbin/kube-router"
component kgnet "$nbin/kgnet" registry.k8s.io/kg-net:v1
# The node's own registry (registry.py on loopback; containerd's mirror for registry.k8s.io): the pinned images
# and each release's of the upgrade chain (versions.env), which kubeadm upgrade pulls - the seed enables
# AlwaysPullImages, so every pod created after hardening pulls too. Each release's kubeadm, kubelet and kubectl
# are staged beside it for molecule/live/upgrade.yml.
rm -rf "$ctx/registry" "$ctx/upgrade"
for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do registry "registry.k8s.io/$c:$KUBE_VERSION"; done
registry "registry.k8s.io/etcd:${ETCD_VERSION#v}-0"; registry "registry.k8s.io/pause:$PAUSE_TAG"
registry "registry.k8s.io/kg-netpol:$KUBE_ROUTER_VERSION"; registry registry.k8s.io/kg-net:v1
for step in $UPGRADE_CHAIN; do
  release=${step%/*} etcd=${step#*/}; ubin=$KG_CACHE/k8s/$release/bin; uetcd=$KG_CACHE/live/$etcd/bin
  mkdir -p "$ctx/upgrade/$release/bin"; cp "$ubin/kubeadm" "$ubin/kubelet" "$ubin/kubectl" "$ctx/upgrade/$release/bin/"
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    component "$c" "$ubin/$c" "registry.k8s.io/$c:$release"; registry "registry.k8s.io/$c:$release"
  done
  netfilter_image "registry.k8s.io/kube-proxy:$release" "$ubin/kube-proxy"; registry "registry.k8s.io/kube-proxy:$release"
  component etcd "$uetcd/etcd" "registry.k8s.io/etcd:${etcd#v}-0"; registry "registry.k8s.io/etcd:${etcd#v}-0"
  # the pause tag this kubeadm names (containerd's sandbox image stays the one it is configured with)
  release_pause=$("$ubin/kubeadm" config images list --kubernetes-version "$release" 2>/dev/null | sed -n 's#^registry.k8s.io/pause:##p')
  podman tag "registry.k8s.io/pause:$PAUSE_TAG" "registry.k8s.io/pause:$release_pause"; registry "registry.k8s.io/pause:$release_pause"
done
cp "$lbin/etcd" "$nbin/kgnet" "$here/live-init.sh" "$here/registry.py" "$here/kubeadm-live.yaml" "$here/10-kgnet.conflist" "$here/Containerfile" "$ctx/"
podman build -q --build-arg BASE=localhost/kubeguard-node:latest -t "$live" -f "$ctx/Containerfile" "$ctx" >/dev/null
podman tag "$live" localhost/kubeguard-live:latest
echo "live image built: $live"
