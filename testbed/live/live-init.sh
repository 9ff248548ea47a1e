#!/usr/bin/env bash
# Bring up a real single-node control plane with kubeadm from locally imported images.
# The node runs privileged with its own cgroup namespace (--cgroupns=private): with the host's, runc
# resolves cgroup v1 mount paths wrongly for pods. Preflight checks skipped, each because a container
# makes it meaningless:
#   SystemVerification  - reads the kernel config of the host kernel, not visible in the container
#   FileContent--proc-sys-net-bridge-bridge-nf-call-iptables - br_netfilter belongs to the host kernel
#   FileContent--proc-sys-net-ipv4-ip_forward - /proc/sys/net is per container and set below instead
set -euo pipefail
if [ -f /etc/kubernetes/admin.conf ] && kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw /readyz >/dev/null 2>&1; then
  echo "control plane already up"; exit 0
fi
sysctl -w net.ipv4.ip_forward=1 >/dev/null
systemctl start containerd
for image in /opt/kubeguard/images/*.tar; do ctr -n k8s.io images import --no-unpack=false "$image" >/dev/null; done
kubeadm init --config /opt/kubeguard/live/kubeadm-live.yaml --skip-phases=addon/coredns \
  --ignore-preflight-errors=SystemVerification,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables,FileContent--proc-sys-net-ipv4-ip_forward
export KUBECONFIG=/etc/kubernetes/admin.conf
for _attempt in $(seq 1 120); do
  if kubectl get nodes 2>/dev/null | grep -q ' Ready '; then break; fi; sleep 2
done
kubectl get nodes -o wide
kubectl get --raw /readyz
