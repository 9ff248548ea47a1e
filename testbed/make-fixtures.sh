#!/usr/bin/env bash
# Regenerate tests/fixtures/{kubeadm,kubespray}/ with the pinned kubeadm itself (no hand-written
# manifests). Runs kubeadm in a private mount namespace whose /etc/kubernetes, /var/lib/kubelet and
# /etc/systemd are scratch directories, so the host is not touched.
# Only small text files the unit tests need are kept; private keys are replaced by a placeholder.
#   KG_FIXTURES_OUT=DIR bash testbed/make-fixtures.sh   # write there instead (the test suite compares)
#   KG_KUBE_VERSION=v1.35.4 bash testbed/make-fixtures.sh   # another release's kubeadm (built if missing):
#                                                          # tests/fixtures/releases/v1.35.4/
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
source "$here/versions.env"
pinned=$KUBE_VERSION
KUBE_VERSION=${KG_KUBE_VERSION:-$KUBE_VERSION}
KG_CACHE=${KG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeguard-testbed}
bin=$KG_CACHE/k8s/$KUBE_VERSION/bin
[ -x "$bin/kubeadm" ] || KG_KUBE_VERSION=$KUBE_VERSION bash "$here/build-k8s.sh"
if [ "$KUBE_VERSION" = "$pinned" ]; then default_out=$root/tests/fixtures; else default_out=$root/tests/fixtures/releases/$KUBE_VERSION; fi
fixtures=${KG_FIXTURES_OUT:-$default_out}

generate() {  # $1 = layout name, $2 = kubeadm config
  local layout=$1 config=$2 scratch
  scratch=$(mktemp -d)
  mkdir -p "$scratch"/{etc-kubernetes,var-lib-kubelet}
  sed "s/^kubernetesVersion: .*/kubernetesVersion: $KUBE_VERSION/" "$config" > "$scratch/kubeadm.yaml"
  unshare --mount --propagation private bash -euo pipefail -c "
    mkdir -p /etc/kubernetes /var/lib/kubelet
    mount --bind '$scratch/etc-kubernetes' /etc/kubernetes
    mount --bind '$scratch/var-lib-kubelet' /var/lib/kubelet
    k='$bin/kubeadm'; c='$scratch/kubeadm.yaml'
    \$k init phase certs all --config \$c >/dev/null
    \$k init phase kubeconfig all --config \$c >/dev/null
    \$k init phase control-plane all --config \$c >/dev/null
    if grep -q 'local:' \$c; then \$k init phase etcd local --config \$c >/dev/null; fi
    # kubelet-start writes config.yaml + kubeadm-flags.env, then tries systemctl (absent here): ignore that.
    \$k init phase kubelet-start --config \$c >/dev/null 2>&1 || true
    test -s /var/lib/kubelet/config.yaml
  "
  local out=$fixtures/$layout
  rm -rf "$out"; mkdir -p "$out"
  ( cd "$scratch/etc-kubernetes" && find . -name '*.key' -exec sh -c 'echo "placeholder: private key removed from fixture" > "$1"' _ {} \; )
  # kubeconfigs embed client keys: keep them (structure matters) but blank the key data.
  for f in "$scratch"/etc-kubernetes/*.conf; do sed -i 's/\(client-key-data: \).*/\1UkVNT1ZFRA==/' "$f"; done
  cp -a "$scratch/etc-kubernetes" "$out/etc-kubernetes"
  cp -a "$scratch/var-lib-kubelet" "$out/var-lib-kubelet"
  rm -rf "$scratch"
}

generate kubeadm "$here/fixtures/kubeadm-config.yaml"
generate kubespray "$here/fixtures/kubespray-kubeadm-config.yaml"
# kubespray keeps the kubelet config in /etc/kubernetes and the flags in kubelet.env, and (with
# etcd_deployment_type: host) runs etcd from a systemd unit reading /etc/etcd.env.
ks=$fixtures/kubespray
mv "$ks/var-lib-kubelet/config.yaml" "$ks/etc-kubernetes/kubelet-config.yaml"
rm -rf "$ks/var-lib-kubelet"
cp "$here/fixtures/kubelet.env" "$ks/etc-kubernetes/kubelet.env"
mkdir -p "$ks/etc"; cp "$here/fixtures/etcd.env" "$ks/etc/etcd.env"
echo "fixtures written by kubeadm $("$bin/kubeadm" version -o short) to $fixtures/"
