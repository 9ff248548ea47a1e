# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn hardening.yaml variables into component settings (thin wrappers over module_utils)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubeguard.hardening.plugins.module_utils import catalogue, desired, hardening_vars


def _values(values):
    # Filters accept either the raw variables or the output of kubeguard_validate.
    try:
        return hardening_vars.validate(values)
    except hardening_vars.HardeningVarsError as exc:
        raise AnsibleFilterError(str(exc)) from None


def kubeguard_validate(variables):
    """All hardening variables with kubespray's defaults filled in; fails naming every bad variable."""
    return _values(variables)


def kubeguard_flags(values, layout, component):
    return desired.component_flags(_values(values), catalogue.layout_for(layout), component)


def kubeguard_kubelet_fields(values, layout):
    return desired.kubelet_fields(_values(values), catalogue.layout_for(layout))


def kubeguard_apiserver_files(values, layout):
    return desired.apiserver_files(_values(values), catalogue.layout_for(layout))


def kubeguard_apiserver_host_paths(values, layout):
    return desired.apiserver_host_paths(_values(values), catalogue.layout_for(layout))


def kubeguard_layout(layout):
    return catalogue.layout_for(layout).as_dict()


def kubeguard_paths(values, layout):
    return catalogue.hardening_paths(_values(values), catalogue.layout_for(layout))


def kubeguard_etcd_env(flags):
    return desired.etcd_env(flags)


def kubeguard_secure_addresses(values, node_addresses, control_plane_endpoints):
    return desired.kubelet_secure_addresses(_values(values), list(node_addresses), list(control_plane_endpoints))


def kubeguard_kubelet_sysctls(_unused=None):
    return dict(desired.KUBELET_SYSCTLS)


class FilterModule:
    def filters(self):
        return {name: func for name, func in globals().items() if name.startswith("kubeguard_")}
