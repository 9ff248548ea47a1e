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
mkdir -p "$KG_COLLECTIONS_PATH/ansible_collections/kubeguard"
ln -sfn "$root" "$KG_COLLECTIONS_PATH/ansible_collections/kubeguard/hardening"
export ANSIBLE_COLLECTIONS_PATH=$KG_COLLECTIONS_PATH

passed=0; failed=0; failures=()
suite() {  # suite NAME COMMAND...
  local name=$1; shift
  local start=$SECONDS
  echo "=== $name"
  if "$@"; then passed=$((passed+1)); echo "=== $name: ok ($((SECONDS-start))s)"
  else failed=$((failed+1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS-start))s)"; fi
}

fixtures_are_kubeadms() {
  # The committed fixtures must be what the pinned kubeadm writes today (certificates differ per run,
  # so manifests and kubelet config are compared).
  local tmp; tmp=$(mktemp -d)
  cp -a "$root/tests/fixtures" "$tmp/committed"
  bash "$here/make-fixtures.sh" >/dev/null 2>&1 || return 1
  local rc=0
  # shellcheck disable=SC2086 # $f is a glob over the fixture files
  for f in kubeadm/etc-kubernetes/manifests/*.yaml kubeadm/var-lib-kubelet/config.yaml \
           kubespray/etc-kubernetes/manifests/*.yaml kubespray/etc-kubernetes/kubelet-config.yaml; do
    ( cd "$tmp/committed" && ls $f ) >/dev/null 2>&1 || { echo "missing fixture $f"; rc=1; continue; }
    for g in $(cd "$tmp/committed" && ls $f); do
      diff -u "$tmp/committed/$g" "$root/tests/fixtures/$g" || rc=1
    done
  done
  rm -rf "$root/tests/fixtures"; cp -a "$tmp/committed" "$root/tests/fixtures"; rm -rf "$tmp"
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
  test -f "$out/installed/ansible_collections/kubeguard/hardening/plugins/module_utils/cis_catalogue.yml" &&
  test -f "$out/installed/ansible_collections/kubeguard/hardening/plugins/module_utils/profiles.yml" &&
  test -f "$out/installed/ansible_collections/kubeguard/hardening/plugins/module_utils/platforms/k3s.yml" &&
  ANSIBLE_COLLECTIONS_PATH="$out/installed" ansible-doc kubeguard.hardening.static_pod >/dev/null &&
  ANSIBLE_COLLECTIONS_PATH="$out/installed" ansible-playbook --syntax-check \
      "$out/installed/ansible_collections/kubeguard/hardening/playbooks/harden.yml" >/dev/null
  local rc=$?; rm -rf "$out"; return $rc
}

molecule_scenarios() {
  local rc=0
  for s in ${KG_SCENARIOS:-default kubespray k3s check live faults}; do
    local start=$SECONDS
    # the live nodes keep /var/lib/containerd in anonymous volumes that destroy leaves behind: a few runs of
    # them fill the disk until the kubelet taints the node for disk pressure (the test bed's own storage)
    podman volume prune -f >/dev/null 2>&1 || true
    if molecule test -s "$s" > "$KG_CACHE/molecule-$s.log" 2>&1; then echo "molecule $s: ok ($((SECONDS-start))s)"
    else echo "molecule $s: FAILED ($((SECONDS-start))s)"; sed 's/\x1b\[[0-9;]*m//g' "$KG_CACHE/molecule-$s.log" | tail -60; rc=1
    fi
    sed 's/\x1b\[[0-9;]*m//g' "$KG_CACHE/molecule-$s.log" | grep -o 'No-op re-run of harden.yml executed [^"]*' | head -1
  done
  return $rc
}

case $what in
  all|unit) suite "pytest (unit + integration)" python -m pytest -q -p no:cacheprovider tests ;;&
  all|lint) suite "ansible-lint (production profile)" ansible-lint --profile production -q ;;&
  all|lint|sanity) suite "ansible-test sanity" bash "$here/ansible-test.sh" sanity ;;&
  all|unit) suite "ansible-test units" bash "$here/ansible-test.sh" units ;;&
  all|build) suite "galaxy build + offline install" build_and_install ;;&
  all|lint|changelog) suite "changelog (antsibull-changelog)" changelog_is_kept ;;&
  all|build|docs) suite "docs (antsibull-docs + Sphinx)" bash "$here/build-docs.sh" ;;&
  all|fixtures) suite "fixtures match the pinned kubeadm" fixtures_are_kubeadms ;;&
  all|molecule) suite "molecule scenarios" molecule_scenarios ;;&
  *) ;;
esac
if [ ${#failures[@]} -gt 0 ]; then echo "failed suites: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
