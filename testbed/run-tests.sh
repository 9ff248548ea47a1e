#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls `make test`, which calls this).
#   bash testbed/run-tests.sh [all|unit|lint|sanity|changelog|docs|molecule|build|fixtures]
# Ends with a line "N passed, N failed" counting the suites below.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
what=${1:-all}
cd "$root" || exit 1
bash "$here/setup.sh" || { echo "test bed setup failed"; echo "0 passed, 1 failed"; exit 1; }
eval "$(bash "$here/setup.sh" --print-env)"
# The repository is the collection: expose it as ansible_collections/kubeguard/hardening.
export KG_COLLECTIONS_PATH=$KG_CACHE/collections
export KG_EVIDENCE_TOOLS=required   # the evidence validators are part of the test bed: missing, their tests fail
mkdir -p "$KG_COLLECTIONS_PATH/ansible_collections/kubeguard"
ln -sfn "$root" "$KG_COLLECTIONS_PATH/ansible_collections/kubeguard/hardening"
export ANSIBLE_COLLECTIONS_PATH=$KG_COLLECTIONS_PATH

# One row per suite, molecule scenario and phase (testbed/timing.py); the table at the end reads it.
times=$KG_CACHE/test-times.tsv
: > "$times"
budget=$root/benchmarks/test-budget.tsv
suite() {  # suite NAME COMMAND...
  local name=$1; shift
  local start=$SECONDS status=ok
  echo "=== $name"
  "$@" || status=FAILED
  echo "=== $name: $status ($((SECONDS-start))s)"
  printf 'suite\t%s\t%s\t%s\n' "$name" "$((SECONDS-start))" "$status" >> "$times"
  [ "$status" = ok ]
}

own_processes() {  # own_processes COMMAND...: run it in a PID namespace of its own when root can make one.
  # The live lane boots a real cluster beside the unit tests; as root the audit (rightly) finds its kube-*
  # processes in the host's /proc, and a test of a fixture node would judge them.
  if [ "$(id -u)" = 0 ] && unshare --pid --fork --mount-proc true 2>/dev/null; then
    unshare --pid --fork --mount-proc "$@"
  else
    "$@"
  fi
}

fixtures_are_kubeadms() {
  # The committed fixtures must be what the pinned kubeadm writes today (certificates differ per run,
  # so manifests and kubelet config are compared). Written to a scratch tree: the committed one is read
  # by scenarios running meanwhile.
  local tmp; tmp=$(mktemp -d)
  KG_FIXTURES_OUT=$tmp bash "$here/make-fixtures.sh" >/dev/null 2>&1 || { rm -rf "$tmp"; return 1; }
  local rc=0
  # shellcheck disable=SC2086 # $f is a glob over the fixture files
  for f in kubeadm/etc-kubernetes/manifests/*.yaml kubeadm/var-lib-kubelet/config.yaml \
           kubespray/etc-kubernetes/manifests/*.yaml kubespray/etc-kubernetes/kubelet-config.yaml; do
    ( cd "$root/tests/fixtures" && ls $f ) >/dev/null 2>&1 || { echo "missing fixture $f"; rc=1; continue; }
    for g in $(cd "$root/tests/fixtures" && ls $f); do
      diff -u "$root/tests/fixtures/$g" "$tmp/$g" || rc=1
    done
  done
  rm -rf "$tmp"
  return $rc
}

changelog_is_kept() {
  # fragments lint, CHANGELOG.rst is what antsibull-changelog generates, no shipped change without a fragment
  antsibull-changelog lint && antsibull-changelog generate &&
  { git diff --quiet -- CHANGELOG.rst || { echo "CHANGELOG.rst differs from the generated one (committed now regenerated)"; return 1; }; } &&
  python tools/changelog_check.py .
}

build_and_install() {
  # ansible-galaxy build, then an offline install of the tarball into a scratch path, then use it.
  local out; out=$(mktemp -d)
  ansible-galaxy collection build --force --output-path "$out" . >/dev/null &&
  ANSIBLE_COLLECTIONS_PATH="$out/installed" \
      ansible-galaxy collection install --offline --force -p "$out/installed" "$out"/kubeguard-hardening-*.tar.gz >/dev/null &&
  test -f "$out/installed/ansible_collections/kubeguard/hardening/plugins/module_utils/catalogue/cis_catalogue.yml" &&
  test -f "$out/installed/ansible_collections/kubeguard/hardening/plugins/module_utils/model/profiles.yml" &&
  test -f "$out/installed/ansible_collections/kubeguard/hardening/plugins/module_utils/platform/platforms/k3s.yml" &&
  ANSIBLE_COLLECTIONS_PATH="$out/installed" ansible-doc kubeguard.hardening.static_pod >/dev/null &&
  ANSIBLE_COLLECTIONS_PATH="$out/installed" ansible-playbook --syntax-check \
      "$out/installed/ansible_collections/kubeguard/hardening/playbooks/harden.yml" >/dev/null
  local rc=$?; rm -rf "$out"; return $rc
}

molecule_scenarios() {  # molecule_scenarios SCENARIO[@RELEASE]...: one after the other, each timed by phase
  local rc=0
  for s in "$@"; do
    local start=$SECONDS status=ok
    # SCENARIO@RELEASE: the scenario's nodes run that release (its node image, testbed/setup.sh)
    local release=$KG_NODE_RELEASE; case $s in *@*) release=${s#*@} ;; esac
    # the live nodes keep /var/lib/containerd in anonymous volumes that destroy leaves behind: a few runs of
    # them fill the disk until the kubelet taints the node for disk pressure (the test bed's own storage)
    case $s in live) podman volume prune -f >/dev/null 2>&1 || true ;; esac
    KG_NODE_RELEASE=$release molecule test -s "${s%@*}" 2>&1 | python3 "$here/timing.py" phases "$s" "$times" > "$KG_CACHE/molecule-$s.log"
    [ "${PIPESTATUS[0]}" = 0 ] || status=FAILED
    echo "molecule $s: $status ($((SECONDS-start))s)"
    printf 'scenario\tmolecule %s\t%s\t%s\n' "$s" "$((SECONDS-start))" "$status" >> "$times"
    if [ $status != ok ]; then sed 's/\x1b\[[0-9;]*m//g' "$KG_CACHE/molecule-$s.log" | tail -60; rc=1; fi
    sed 's/\x1b\[[0-9;]*m//g' "$KG_CACHE/molecule-$s.log" | grep -o 'No-op re-run of harden.yml executed [^"]*' | head -1
  done
  return $rc
}

# Two lanes. The live cluster's scenario waits most of its time (restarts, health gates, kubeadm upgrade)
# with the 2 cores idle: it runs in the background while the Python suites and the fixture-node scenarios
# use them. KG_PARALLEL=0 runs everything one after the other.
# The fixture scenarios of kubeadm's and kubespray's layouts run again at each release of the upgrade chain.
source "$here/versions.env"
default_scenarios="live default kubespray k3s check"
for step in $UPGRADE_CHAIN; do default_scenarios+=" default@${step%/*} kubespray@${step%/*}"; done
live_scenarios=(); fixture_scenarios=()
for s in ${KG_SCENARIOS:-$default_scenarios}; do
  case $s in live) live_scenarios+=("$s") ;; *) fixture_scenarios+=("$s") ;; esac
done
live_lane() { [ ${#live_scenarios[@]} -eq 0 ] || suite "molecule: the live cluster (${live_scenarios[*]})" molecule_scenarios "${live_scenarios[@]}"; }
fixture_lane() {
  [ ${#fixture_scenarios[@]} -eq 0 ] && return 0
  echo "=== fixture nodes: ${fixture_scenarios[*]}"
  suite "molecule: fixture nodes" molecule_scenarios "${fixture_scenarios[@]}"
}
lane_log=$KG_CACHE/live-lane.out
lane_pid=
case $what in
  all|molecule)
    if [ "${KG_PARALLEL:-1}" != 0 ] && [ ${#live_scenarios[@]} -gt 0 ]; then
      echo "=== started in the background: molecule ${live_scenarios[*]} (output at the end; log $lane_log)"
      live_lane > "$lane_log" 2>&1 & lane_pid=$!
    fi ;;
esac

case $what in
  all|unit) suite "pytest (unit + integration)" own_processes python -m pytest -q -p no:cacheprovider tests ;;&
  all|lint) suite "ansible-lint (production profile)" ansible-lint --profile production -q ;;&
  all|lint|sanity) suite "ansible-test sanity" bash "$here/ansible-test.sh" sanity ;;&
  all|unit) suite "ansible-test units" own_processes bash "$here/ansible-test.sh" units ;;&
  all|build) suite "galaxy build + offline install" build_and_install ;;&
  all|lint|changelog) suite "changelog (antsibull-changelog)" changelog_is_kept ;;&
  all|build|docs) suite "docs (antsibull-docs + Sphinx)" bash "$here/build-docs.sh" ;;&
  all|fixtures) suite "fixtures match the pinned kubeadm" fixtures_are_kubeadms ;;&
  all|molecule) fixture_lane ;;&
  *) ;;
esac
case $what in
  all|molecule)
    if [ -n "$lane_pid" ]; then
      echo "=== waiting for the background lane (molecule ${live_scenarios[*]})"
      wait "$lane_pid"; cat "$lane_log"
    else live_lane; fi ;;
esac
printf 'total\ttotal (wall clock)\t%s\t%s\n' "$SECONDS" "$what" >> "$times"
echo; echo "=== time per suite, scenario and phase (budget: ${budget#"$root"/})"
python3 "$here/timing.py" table "$times" "$budget"
failures=$(awk -F'\t' '$1 == "suite" && $4 != "ok" {print $2}' "$times")
passed=$(awk -F'\t' '$1 == "suite" && $4 == "ok"' "$times" | wc -l)
failed=$(awk -F'\t' '$1 == "suite" && $4 != "ok"' "$times" | wc -l)
if [ -n "$failures" ]; then echo "failed suites: $(echo "$failures" | paste -sd, -)"; fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
