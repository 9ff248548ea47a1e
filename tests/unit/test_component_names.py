"""No component name is spelled in Python outside the registry and the writers: plugins/ says a component by
base/component_names' constants (or a list platform/component_registry derives), so renaming or adding one is a
change in one place. A string constant that equals a component's name is found wherever it stands (a dict key,
a comparison, a call's argument, a constant part of an f-string); a name inside a longer text (a message, a
docstring, a path) is not one."""

from __future__ import annotations

import ast
import os
from collections import Counter
from typing import Dict, Iterable, List, Tuple

from ansible_collections.kubeguard.hardening.plugins.module_utils.base import component_names
from ansible_collections.kubeguard.hardening.plugins.module_utils.platform import component_registry

PLUGINS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "plugins")

NAMES = frozenset(c.name for c in component_registry.REGISTRY)

# where a name may be spelled: the files that define the names, and writers of a format whose own data uses
# the same word. (file under plugins/, name): (how many times, why)
ALLOWED: Dict[Tuple[str, str], Tuple[int, str]] = {
    **{("module_utils/base/component_names.py", name): (1, "the names themselves, spelled once") for name in NAMES},
    ("module_utils/platform/component_registry.py", "etcd"): (1, "the node role etcd members have (ETCD_ROLE), beside the rows"),
    ("module_utils/formats/kubeadm_config.py", "etcd"): (1, "kubeadm ClusterConfiguration's own key etcd (etcd.local.extraArgs)"),
    ("module_utils/formats/kube_proxy.py", "kube-proxy"): (2, "kubeadm's kube-system/kube-proxy ConfigMap and DaemonSet, named by kubeadm"),
    ("modules/kubeadm_config.py", "kubelet"): (1, "the kube-system/kubelet-config ConfigMap's data key, named by kubeadm"),
}


def spelled(source: str, names: Iterable[str] = NAMES) -> List[Tuple[int, str]]:
    """(line, name) for every string constant in the source that is exactly a component's name."""
    wanted = frozenset(names)
    return sorted((node.lineno, node.value) for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in wanted)


def python_files() -> List[str]:
    found = []
    for directory, _dirs, files in os.walk(PLUGINS):
        found += [os.path.relpath(os.path.join(directory, f), PLUGINS).replace(os.sep, "/") for f in files if f.endswith(".py")]
    return sorted(found)


def test_the_names_are_the_registrys():
    spelled_once = (component_names.APISERVER, component_names.CONTROLLER_MANAGER, component_names.SCHEDULER,
                    component_names.ETCD, component_names.KUBELET, component_names.KUBE_PROXY)
    assert spelled_once == tuple(c.name for c in component_registry.REGISTRY), "one row per name, in its order"
    assert len(NAMES) == 6 and "kube-apiserver" in NAMES


def test_the_scanner_finds_a_name_wherever_it_is_a_whole_constant():
    source = '''"""kube-apiserver in a docstring is text"""
x = "kube-apiserver"
y = {"etcd": 1}[ 'etcd' ]
if component == "kubelet":
    message = f"the kubelet {component}" + f"{'kube-proxy'}"
path = "/etc/kubernetes/manifests/kube-scheduler.yaml"
z = ("kube-controller-manager",
     "not-a-component")
'''
    assert spelled(source) == [(2, "kube-apiserver"), (3, "etcd"), (3, "etcd"), (4, "kubelet"), (5, "kube-proxy"),
                               (7, "kube-controller-manager")]
    assert spelled("APISERVER = names.APISERVER\nmessage = 'restart kube-apiserver'\n") == []


def test_no_component_name_is_spelled_outside_the_registry_and_the_writers():
    assert len(python_files()) > 80
    counts: Counter = Counter()
    where: Dict[Tuple[str, str], List[int]] = {}
    for path in python_files():
        with open(os.path.join(PLUGINS, path), encoding="utf-8") as handle:
            for line, name in spelled(handle.read()):
                counts[(path, name)] += 1
                where.setdefault((path, name), []).append(line)
    problems = [f"plugins/{path}:{line}: {name!r}: say it with base/component_names (or a registry list)"
                for (path, name), lines in sorted(where.items()) if (path, name) not in ALLOWED for line in lines]
    problems += [f"plugins/{path}: {name!r} spelled {counts[(path, name)]} times, allowed {allowed} ({why}): "
                 "a new one is a component's name, say it with base/component_names; update ALLOWED if one went"
                 for (path, name), (allowed, why) in sorted(ALLOWED.items()) if counts[(path, name)] != allowed]
    assert not problems, "\n".join(problems)
