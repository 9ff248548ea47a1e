#!/usr/bin/env bash
# The main job on a built-in demo node: a podman node whose /etc/kubernetes was written by the real
# kubeadm, hardened with examples/hardening.yaml (kubespray's guide). Shows the dry run (--check --diff),
# applies it, then shows that a second run changes nothing.
#   KEEP=1 bash testbed/demo.sh   # keep the node afterwards (podman exec -it kubeguard-demo bash)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
bash "$here/setup.sh"
eval "$(bash "$here/setup.sh" --print-env)"
export ANSIBLE_COLLECTIONS_PATH=$KG_CACHE/collections
mkdir -p "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/kubeguard"
ln -sfn "$root" "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/kubeguard/hardening"

node=kubeguard-demo
podman rm -f "$node" >/dev/null 2>&1 || true
podman run -d --name "$node" --hostname "$node" localhost/kubeguard-node:latest /sbin/init >/dev/null
trap '[ "${KEEP:-0}" = 1 ] || podman rm -f "$node" >/dev/null 2>&1' EXIT
podman exec "$node" /usr/local/sbin/prepare-node kubeadm
inventory=$(mktemp --suffix=.ini)
cat > "$inventory" <<INI
[kube_control_plane]
$node ansible_connection=community.docker.nsenter ansible_nsenter_pid=$(podman inspect -f '{{.State.Pid}}' "$node") ansible_python_interpreter=/usr/bin/python3

[k8s_cluster:children]
kube_control_plane

[all:vars]
# vm.* and kernel.* are the host's kernel inside a container: persist them, do not apply them here
kubeguard_sysctl_apply=false
INI
run() { ansible-playbook kubeguard.hardening.harden -i "$inventory" -e @"$root/examples/hardening.yaml" "$@"; }
reports=${REPORTS:-$root/cis-reports/demo}
# shellcheck disable=SC2016 # the backticks are Markdown's fence, not a command
summary() { sed -n '/^```/,/^```/p' "$reports/$1/$node.md" | grep -v '^```'; }

echo; echo "######## 0. CIS audit before hardening (from the node's files; reports in $reports/before)"
ansible-playbook kubeguard.hardening.verify -i "$inventory" -e verify_report_dir="$reports/before" >/dev/null
summary before

echo; echo "######## 1. Dry run: what would change (--check --diff), nothing is written"
run --check --diff
echo; echo "######## 2. Harden (ends with the CIS audit; reports in $reports/after)"
run -e verify_report_dir="$reports/after"
echo; echo "######## 3. Second run: changes nothing"
# printed from a file, not through tee /dev/stderr: with `make demo > log 2>&1` that reopens and truncates the log
second=$(mktemp); run > "$second"; cat "$second"
if grep -qE "^$node .*changed=0 " "$second"; then echo "idempotent: changed=0"; else echo "NOT idempotent: the second run changed something"; rm -f "$second"; exit 1; fi
rm -f "$second"
echo; echo "######## The hardened kube-apiserver command line:"
podman exec "$node" sed -n '/command:/,/image:/p' /etc/kubernetes/manifests/kube-apiserver.yaml
echo; echo "######## CIS summary before:"; summary before
echo "######## CIS summary after:"; summary after
