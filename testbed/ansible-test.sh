#!/usr/bin/env bash
# ansible-test sanity and units on the pinned ansible-core, in its own venvs (no containers here).
#   bash testbed/ansible-test.sh [sanity|units]...
# ansible-test wants the collection at .../ansible_collections/<namespace>/<name>: the tracked files are
# copied to such a tree (a symlink is resolved by ansible-test, and untracked output must not be tested).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# ansible-test bootstraps pip in each venv with a script from ci-files.testing.ansible.com, which build
# machines may not reach: our stand-in takes pip from the interpreter (ensurepip) and the rest from PyPI
pip_version=$(python - <<'PY'
import pathlib, re, ansible_test
source = pathlib.Path(ansible_test.__file__).parent.joinpath("_internal", "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", source).group(1))
PY
)
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/testbed/get_pip_offline.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$work/ansible_collections/kubeguard/hardening
mkdir -p "$tree"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - 2>/dev/null) | tar -xf - -C "$tree"
cd "$tree"
python=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
rc=0
[ $# -gt 0 ] || set -- sanity units
for what in "$@"; do
  case $what in
    sanity) ansible-test sanity --venv --python "$python" --color no || rc=1 ;;
    units) ansible-test units --venv --python "$python" --color no || rc=1 ;;
    *) echo "unknown: $what (sanity, units)"; exit 2 ;;
  esac
done
exit $rc
