#!/usr/bin/env bash
# Time our CIS audit against kube-bench on the same live node (a real kubeadm control plane from the
# test bed) and print both and the ratio. Each tool runs RUNS times; the median is reported.
#   bash benchmarks/audit_vs_kube_bench.sh            # RUNS=5 by default
# Our figure is the audit itself on the node (observe /proc, files, judge every control), the same
# code the cis_audit module runs; the Ansible round trip around it is printed separately.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
RUNS=${RUNS:-5}
bash "$root/testbed/setup.sh" >/dev/null
eval "$(bash "$root/testbed/setup.sh" --print-env)"
node=kg-bench-live
podman rm -f "$node" >/dev/null 2>&1 || true
podman run -d --name "$node" --hostname "$node" --privileged --cgroupns=private -v /var/lib/containerd \
  --systemd=always localhost/kubeguard-live:latest /sbin/init >/dev/null
trap 'podman rm -f "$node" >/dev/null 2>&1' EXIT
sleep 3
podman exec "$node" /usr/local/sbin/live-init >/dev/null
podman cp "$KG_KUBE_BENCH_DIR" "$node:/opt/kube-bench"
podman exec "$node" mkdir -p /opt/kg/ansible_collections/kubeguard/hardening
podman cp "$root/plugins" "$node:/opt/kg/ansible_collections/kubeguard/hardening/plugins"
for d in /opt/kg/ansible_collections /opt/kg/ansible_collections/kubeguard /opt/kg/ansible_collections/kubeguard/hardening \
         /opt/kg/ansible_collections/kubeguard/hardening/plugins; do podman exec "$node" touch "$d/__init__.py"; done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_in_node() {  # seconds for one run of a shell command inside the node (timed by python3 there)
  podman exec -e CMD="$1" "$node" python3 -c 'import os, subprocess, time
s = time.monotonic(); subprocess.run(os.environ["CMD"], shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(round(time.monotonic() - s, 4))'
}
kb="/opt/kube-bench/kube-bench run --config-dir /opt/kube-bench/cfg --benchmark cis-1.12 --targets master,controlplane,etcd,node --json"
ours="python3 -c 'import sys; sys.path.insert(0, \"/opt/kg\")
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
state = audit.observe(catalogue.layout_for(\"kubeadm\"))
audit.audit(state, [\"control_plane\", \"etcd\", \"worker\"])'"
kb_times=(); our_times=()
for _ in $(seq "$RUNS"); do kb_times+=("$(time_in_node "$kb")"); our_times+=("$(time_in_node "$ours")"); done
kb_med=$(printf '%s\n' "${kb_times[@]}" | median); our_med=$(printf '%s\n' "${our_times[@]}" | median)
controls_kb=$(podman exec "$node" bash -c "$kb" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(len(g["results"]) for c in d["Controls"] for g in c["tests"]))')
echo "node: real kubeadm control plane ($node), $RUNS runs each, median"
printf 'kube-bench %-8s %6.3f s  (%s checks)\n' "$(grep KUBE_BENCH_VERSION "$root/testbed/versions.env" | cut -d= -f2 | cut -d' ' -f1)" "$kb_med" "$controls_kb"
printf 'cis_audit (on node) %6.3f s\n' "$our_med"
python3 -c "print('ratio cis_audit / kube-bench: %.2f' % ($our_med / $kb_med))"
