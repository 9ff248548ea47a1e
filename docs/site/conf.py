# Sphinx configuration of the collection's rendered docs (testbed/build-docs.sh builds them with antsibull-docs).
project = "kubeguard.hardening"
copyright = "kubeguard.hardening developers"
title = html_short_title = "kubeguard.hardening"
extensions = ["sphinx_antsibull_ext"]
pygments_style = "ansible"
highlight_language = "YAML+Jinja"
html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_use_modindex = False
html_use_index = False
html_copy_source = False
# No intersphinx: the build runs offline. Links into Ansible's own docs (common return values, action
# plugins) stay unresolved; build-docs.sh allows exactly those and fails on any other warning.
default_role = "any"
