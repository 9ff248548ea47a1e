"""The components' names, spelled once: a name only, nothing of what the component is.

platform/component_registry.py builds its rows from these and is the one place a name meets what its component
is (node role, how it is configured, its variables); every other file of ours says a component by these
constants or by a list the registry derives. A leaf, so even `base/` and `formats/` (below the registry) may
use them. tests/unit/test_component_names.py holds that no other Python file spells a name, but for the
writers of a format whose own data happens to use the same word (listed there, each with its reason).
"""

from __future__ import annotations

APISERVER = "kube-apiserver"
CONTROLLER_MANAGER = "kube-controller-manager"
SCHEDULER = "kube-scheduler"
ETCD = "etcd"
KUBELET = "kubelet"
KUBE_PROXY = "kube-proxy"
