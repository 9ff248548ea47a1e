"""PyYAML on the node, and what a module says where it is missing.

Kubernetes' own files (manifests, kubelet and kubeadm configuration, the catalogue) are YAML, so the
node-side code needs PyYAML. It is imported here once, guarded, so that a node without it gets one clear
message naming the package instead of a traceback from whichever file imported it first.
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import yaml
    # libyaml's loader where the node has it: several times faster on the manifests and the catalogue
    SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    YAML_IMPORT_ERROR = None
except ImportError:
    yaml = None
    SAFE_LOADER = None
    YAML_IMPORT_ERROR = traceback.format_exc()


def require_yaml(module) -> None:
    """Fail the module, naming the package to install, where the node's Python has no PyYAML."""
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML (Debian/Ubuntu: python3-yaml, RHEL: python3-pyyaml)",
                                                  reason="to read Kubernetes' configuration files"),
                         exception=YAML_IMPORT_ERROR)
