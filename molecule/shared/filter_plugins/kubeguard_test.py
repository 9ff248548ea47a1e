# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters only the molecule playbooks use (recompute what a node should hold and compare it with what it
holds); not part of the collection's plugins. Ansible finds them beside the playbooks in molecule/shared/,
and through ANSIBLE_FILTER_PLUGINS in the scenarios' molecule.yml. Short names: `| kubeguard_flags(...)`."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubeguard.hardening.plugins.filter.hardening import _plain
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.manifest import find_container, parse_flags
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired


def kubeguard_layout(layout):
    """Where a node of this layout (kubeadm, kubespray) keeps its Kubernetes files."""
    return catalogue.layout_for(str(layout)).as_dict()


def kubeguard_flags(values, layout, component):
    """Command-line flags of one control-plane component for these hardening variables (None: flag removed)."""
    try:
        values = hardening_vars.validate(_plain(values))
    except hardening_vars.HardeningVarsError as exc:
        raise AnsibleFilterError(str(exc)) from None
    return desired.component_flags(values, catalogue.layout_for(str(layout)), str(component))


def kubeguard_flag_mismatch(manifest, expected):
    """Flags of a static pod manifest (parsed YAML) that differ from expected ({name: value or None});
    {} when the manifest has them all."""
    container = find_container(_plain(manifest), None)
    actual = parse_flags(list(container.get("command") or []) + list(container.get("args") or []))
    return {name: {"actual": actual.get(name), "expected": value}
            for name, value in _plain(expected).items() if actual.get(name) != value}


class FilterModule:
    def filters(self):
        return {"kubeguard_layout": kubeguard_layout, "kubeguard_flags": kubeguard_flags,
                "kubeguard_flag_mismatch": kubeguard_flag_mismatch}
