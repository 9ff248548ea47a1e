#!/usr/bin/env bash
# The collection's docs with antsibull-docs: lint every plugin's and role's documentation, render them
# (modules, filters, the action plugin, roles with their argument specs) to RST, build HTML with Sphinx.
#   bash testbed/build-docs.sh [DEST]    (default: $KG_CACHE/docsite; open DEST/html/index.html)
# Fails on a lint problem, a missing page or a Sphinx warning other than the links into Ansible's own docs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-${KG_CACHE:-$HOME/.cache/kubeguard-testbed}/docsite}
: "${ANSIBLE_COLLECTIONS_PATH:?the collection must be on ANSIBLE_COLLECTIONS_PATH (run through testbed/run-tests.sh)}"
antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck "$root"
rm -rf "$dest"; mkdir -p "$dest"; mkdir -m 0700 "$dest/rst"
antsibull-docs --config-file "$root/docs/site/antsibull-docs.cfg" collection --use-current --squash-hierarchy \
  --dest-dir "$dest/rst" kubeguard.hardening >/dev/null
sphinx-build -q -b html -c "$root/docs/site" "$dest/rst" "$dest/html" 2> "$dest/warnings.txt" || { cat "$dest/warnings.txt"; exit 1; }
# Ansible's own labels (common_return_values, action_plugins, ansible_configuration_settings) need intersphinx, which needs the network
unexpected=$(grep -v -E "undefined label: '(common_return_values|action_plugins|ansible_configuration_settings)'" "$dest/warnings.txt" || true)
if [ -n "$unexpected" ]; then echo "$unexpected"; exit 1; fi
missing=0
for module in "$root"/plugins/modules/*.py; do
  page="$dest/html/$(basename "$module" .py)_module.html"
  [ -s "$page" ] || { echo "no page for module $(basename "$module" .py)"; missing=1; }
done
for role in "$root"/roles/*/meta/argument_specs.yml; do
  name=$(basename "$(dirname "$(dirname "$role")")")
  grep -q "Entry point" "$dest/html/${name}_role.html" 2>/dev/null || { echo "no argument spec page for role $name"; missing=1; }
done
[ "$missing" = 0 ]
echo "docs: $(find "$dest/html" -name '*.html' | wc -l) pages in $dest/html"
