#!/usr/bin/env bash
# Fleet timing of harden.yml on podman nodes of the test bed (files written by the real kubeadm, nsenter
# connection): for each fleet, the floor (one module call per host: ping), the first run (the seed's
# hardening.yaml) and a no-op re-run, with the ratios the project tracks:
#   no-op / floor for each fleet, and no-op of the largest fleet / no-op of one node.
#   bash benchmarks/fleet.sh                      # fleets "1:0:kubeadm 3:2:kubespray 3:17:kubeadm"
#   FLEETS="1:0:kubeadm" RUNS=5 bash benchmarks/fleet.sh
#   PROFILE=1 ...                                 # also: the slowest tasks of a no-op run (stderr)
# A fleet is CONTROL_PLANES:WORKERS:LAYOUT (kubespray: etcd on the control planes' hosts). Each node is
# started as the molecule scenario of its layout starts it (image, capabilities, privileges: kubeadm from
# molecule/default, kubespray from molecule/kubespray). Floor and no-op are RUNS runs each, shown as the
# median and the spread (min-max); the first run happens once (it changes the nodes). A no-op run must
# report changed=0 for every host of the fleet. ANSIBLE_FORKS defaults to the fleet's size, as a fleet
# operator would set it. The figures depend on the machine: the header names it and the date.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
FLEETS=${FLEETS:-"1:0:kubeadm 3:2:kubespray 3:17:kubeadm"}
RUNS=${RUNS:-3}
bash "$root/testbed/setup.sh" >/dev/null
eval "$(bash "$root/testbed/setup.sh" --print-env)"
export ANSIBLE_COLLECTIONS_PATH=$KG_CACHE/collections
mkdir -p "$KG_CACHE/collections/ansible_collections/kubeguard"
ln -sfn "$root" "$KG_CACHE/collections/ansible_collections/kubeguard/hardening"
work=$(mktemp -d)
nodes=()
cleanup() { [ ${#nodes[@]} -eq 0 ] || podman rm -f "${nodes[@]}" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
spread() { sort -n | awk 'NR == 1 {lo=$1} {hi=$1} END {printf "%.1f-%.1f", lo, hi}'; }
seconds() {  # seconds one command takes (its output goes to $work/last.log; it must succeed)
  local start end; start=$(date +%s.%N)
  "$@" > "$work/last.log" 2>&1 || { tail -40 "$work/last.log" >&2; echo "failed: $*" >&2; exit 1; }
  end=$(date +%s.%N); python3 -c "print(round($end - $start, 2))"
}
cat > "$work/ping.yml" <<'EOF'
- name: One module call per host
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
EOF

declare -A noop_of
unchanged() {  # unchanged LOG HOST...: the PLAY RECAP of LOG shows every HOST, each with changed=0
  local log=$1; shift
  python3 - "$log" "$@" <<'PY' || { tail -30 "$log" >&2; return 1; }
import re, sys
recap = dict(re.findall(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", open(sys.argv[1]).read(), re.M))
wrong = [f"{host}: {'not in the recap' if host not in recap else 'changed=' + recap[host]}"
         for host in sys.argv[2:] if recap.get(host) != "0"]
if wrong:
    sys.exit("the no-op run is not one: " + ", ".join(wrong))
PY
}
echo "fleet.sh on $(date -u +%Y-%m-%d), $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)),"\
     "kernel $(uname -r), RUNS=$RUNS: median (min-max)"
printf '%-28s %8s %-9s %10s %8s %-10s %12s\n' fleet floor "" first-run no-op "" no-op/floor
for fleet in $FLEETS; do
  IFS=: read -r cps workers layout <<< "$fleet"
  names=(); for i in $(seq "$cps"); do names+=("kgf-cp$i"); done
  for i in $(seq "$workers"); do names+=("kgf-w$i"); done
  scenario=$root/molecule/$([ "$layout" = kubespray ] && echo kubespray || echo default)/molecule.yml
  for name in "${names[@]}"; do
    podman rm -f "$name" >/dev/null 2>&1 || true
    group=$([[ $name == kgf-cp* ]] && echo kube_control_plane || echo kube_node)
    # shellcheck disable=SC2207 # one podman option per word
    options=($(python3 "$here/scenario_node.py" "$scenario" "$group"))
    podman run -d --name "$name" --hostname "$name" "${options[@]}" /sbin/init >/dev/null
    nodes+=("$name")
  done
  inventory=$work/inventory-$cps-$workers-$layout.json
  for name in "${names[@]}"; do echo "$name $(podman container inspect -f '{{.State.Pid}}' "$name")"; done |
    LAYOUT=$layout WORK=$work python3 -c '
import json, os, sys
layout = os.environ["LAYOUT"]
pids = dict(line.split() for line in sys.stdin)
cps = [n for n in pids if n.startswith("kgf-cp")]
workers = [n for n in pids if n.startswith("kgf-w")]
group = lambda names: {"hosts": {n: {"ansible_nsenter_pid": int(pids[n])} for n in names}}
print(json.dumps({"all": {
    "vars": {"kubeguard_test_layout": layout, "kubeguard_sysctl_apply": False,
             "verify_report_dir": os.environ["WORK"] + "/cis", "ansible_connection": "community.docker.nsenter",
             "kubeguard_test_vars": "hardening-kubespray.yml" if layout == "kubespray" else "hardening-seed.yml"},
    "children": {"kube_control_plane": group(cps), "kube_node": group(workers),
                 "etcd": group(cps if layout == "kubespray" else []),
                 "k8s_cluster": {"children": {"kube_control_plane": {}, "kube_node": {}}}}}}))' > "$inventory"
  export ANSIBLE_FORKS=${ANSIBLE_FORKS_FIXED:-${#names[@]}}
  seconds ansible-playbook -i "$inventory" "$root/molecule/shared/prepare.yml" >/dev/null
  floors=$(for _ in $(seq "$RUNS"); do seconds ansible-playbook -i "$inventory" "$work/ping.yml"; done)
  first=$(seconds ansible-playbook -i "$inventory" "$root/molecule/shared/converge.yml")
  noops=$(for _ in $(seq "$RUNS"); do
    seconds ansible-playbook -i "$inventory" "$root/molecule/shared/converge.yml"
    unchanged "$work/last.log" "${names[@]}" || exit 1
  done) || exit 1
  floor=$(median <<< "$floors"); noop=$(median <<< "$noops")
  noop_of[$fleet]=$noop
  if [ -n "${PROFILE:-}" ]; then   # where a no-op run's time goes (the slowest tasks, summed over hosts)
    ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks ansible-playbook -i "$inventory" "$root/molecule/shared/converge.yml" > "$work/profile.log" 2>&1
    grep -E -- '-{3,} [0-9.]+s$' "$work/profile.log" | sort -t' ' -k2 | tail -n 12 > "$work/profile-top.log" || true
    sed -n '/^TASKS RECAP\|^=\{5,\}/,$p' "$work/profile.log" | grep -E -- '-+ [0-9.]+s$' | head -n 12 | sed "s/^/  [$cps CP + $workers W] /" >&2
  fi
  printf '%-28s %7.1fs %-9s %9.1fs %7.1fs %-10s %11.1fx\n' "$cps CP + $workers W ($layout)" "$floor" "($(spread <<< "$floors"))" \
    "$first" "$noop" "($(spread <<< "$noops"))" "$(python3 -c "print($noop / $floor)")"
  podman rm -f "${names[@]}" >/dev/null; nodes=()
done
# shellcheck disable=SC2086 # FLEETS is a space-separated list of fleet sizes
set -- $FLEETS
if [ $# -gt 1 ]; then
  printf 'no-op of %s / no-op of %s: %.1fx\n' "${!#}" "$1" "$(python3 -c "print(${noop_of[${!#}]} / ${noop_of[$1]})")"
fi
