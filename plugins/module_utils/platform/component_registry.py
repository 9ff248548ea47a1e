"""The components the collection knows, one row each: the single place a component's name meets what it is.

The names themselves are spelled once, in base/component_names.py (a leaf, so the layers below this one can say
a component too); the rows here give each name what it is. Every list of components in module_utils is derived
from these rows (what the collection writes, how a component is configured, which variable carries its extra
args or feature gates, which node role runs it). Plain data, importing only base/component_names (no PyYAML).
tests/unit/test_component_names.py holds that no other Python file spells a component's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from ..base.component_names import APISERVER, CONTROLLER_MANAGER, ETCD, KUBE_PROXY, KUBELET, SCHEDULER

# the node roles a component runs on (the audit's sections are chosen by role)
CONTROL_PLANE_ROLE = "control_plane"
ETCD_ROLE = "etcd"
WORKER_ROLE = "worker"


@dataclass(frozen=True)
class Component:
    name: str
    role: str                           # the node role that runs it: control_plane, etcd, worker
    config: str                         # how it is configured: "flags" (command line, env file) or "kubelet_config"
    written: bool                       # the collection writes its settings (else: observed and audited only)
    extra_args: Optional[str] = None    # the variable of extra flags / config fields (kubespray's name)
    feature_gates: Optional[str] = None   # the variable of its own feature gates
    kube_binary: bool = True            # a Kubernetes binary of the release (component data: flags, gates)
    cluster_writer: Optional[str] = None   # written once per cluster, as an API object, by this module (not per node)


REGISTRY: Tuple[Component, ...] = (
    Component(APISERVER, CONTROL_PLANE_ROLE, "flags", True, "kube_kubeadm_apiserver_extra_args", "kube_apiserver_feature_gates"),
    Component(CONTROLLER_MANAGER, CONTROL_PLANE_ROLE, "flags", True, "kube_kubeadm_controller_extra_args", "kube_controller_feature_gates"),
    Component(SCHEDULER, CONTROL_PLANE_ROLE, "flags", True, "kube_kubeadm_scheduler_extra_args", "kube_scheduler_feature_gates"),
    Component(ETCD, ETCD_ROLE, "flags", True, "etcd_extra_vars", kube_binary=False),
    Component(KUBELET, WORKER_ROLE, "kubelet_config", True, "kubelet_config_extra_args", "kubelet_feature_gates"),
    # kubeadm/kubespray: a DaemonSet reading the kube-proxy ConfigMap (module kube_proxy_config); k3s: kube-proxy-arg
    Component(KUBE_PROXY, WORKER_ROLE, "flags", False, cluster_writer="kube_proxy_config"),
)
BY_NAME: Dict[str, Component] = {c.name: c for c in REGISTRY}

# what a run writes, and what it observes and audits
WRITTEN = tuple(c.name for c in REGISTRY if c.written)
OBSERVED = tuple(c.name for c in REGISTRY)
# configured by flags, settings written by the collection (static pod, env file, k3s config)
FLAG_COMPONENTS = tuple(c.name for c in REGISTRY if c.written and c.config == "flags")
# what kubeguard_allow_override may name: a setting some writer of ours writes
OVERRIDABLE = FLAG_COMPONENTS + tuple(c.name for c in REGISTRY if c.cluster_writer)
CONTROL_PLANE = tuple(c.name for c in REGISTRY if c.written and c.role == "control_plane")
KUBE_BINARIES = tuple(c.name for c in REGISTRY if c.written and c.kube_binary)
ROLES: Dict[str, str] = {c.name: c.role for c in REGISTRY}
# extra args / fields: component -> variable, and back
EXTRA_ARGS_VARIABLE: Dict[str, str] = {c.name: c.extra_args for c in REGISTRY if c.extra_args}
EXTRA_ARGS_COMPONENT: Dict[str, str] = {variable: name for name, variable in EXTRA_ARGS_VARIABLE.items()}
# feature gates: each component's own variable; kube_feature_gates goes to every one of them
FEATURE_GATE_VARIABLES = tuple(c.feature_gates for c in REGISTRY if c.feature_gates)
COMMON_FEATURE_GATES = "kube_feature_gates"
GATE_COMPONENTS: Dict[str, Tuple[str, ...]] = {
    **{c.feature_gates: (c.name,) for c in REGISTRY if c.feature_gates},
    COMMON_FEATURE_GATES: tuple(c.name for c in REGISTRY if c.feature_gates)}
