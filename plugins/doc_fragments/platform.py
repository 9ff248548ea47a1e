# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of the modules that find out, on the node, which platform (kubeadm, kubespray, ...) it runs."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  config_dir:
    description: Kubernetes configuration directory (kube_config_dir).
    type: path
    default: /etc/kubernetes
  layout:
    description: Platform name from I(platforms), or C(auto) to detect it by the platforms' C(detect) rules.
    type: str
    default: auto
  platforms:
    description:
      - The platform data (C(plugins/module_utils/platform/platforms/*.yml)), as the C(kubeguard_platforms) filter
        returns it; it says how each platform is recognised and where it keeps its files.
      - Needed on nodes, where only Python files of the collection arrive.
    type: dict
"""
