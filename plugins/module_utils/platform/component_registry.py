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


# The rollout: which role applies which part of a node's operations (node_operations.operations), in order.
# harden.yml's node plays include these roles, in this order, where the node's operations have the step's key
# (node_operations.rollout): adding a component's writer is a row here, not a play.
NODE_PHASE = "node"          # control planes and workers: one node at a time, health-gated
ETCD_HOST_PHASE = "etcd_host"   # etcd on the host (kubespray's etcd_deployment_type host), after the control planes


@dataclass(frozen=True)
class RolloutStep:
    operations: str                 # the key in a node's operations that brings this step in
    role: str                       # the collection's role that applies it
    phase: str                      # NODE_PHASE or ETCD_HOST_PHASE
    tags: Tuple[str, ...]           # what --tags/--skip-tags select it by
    writer: Optional[str] = None    # only where the operations have this writer (etcd: static pod or env file)


ROLLOUT: Tuple[RolloutStep, ...] = (
    RolloutStep("sysctl", "sysctl", NODE_PHASE, ("sysctl",)),
    RolloutStep("node_audit", "node_audit", NODE_PHASE, ("node_audit",)),
    # before the components that open the ports: they are never open to all, not even for a moment
    RolloutStep("metrics_firewall", "metrics_firewall", NODE_PHASE, ("metrics_firewall",)),
    RolloutStep(ETCD, ETCD, NODE_PHASE, (ETCD,), writer="static_pod"),   # roles etcd and kubelet: named as theirs
    RolloutStep(APISERVER, "apiserver", NODE_PHASE, ("apiserver", "audit")),
    RolloutStep(CONTROLLER_MANAGER, "controller_manager", NODE_PHASE, ("controller_manager",)),
    RolloutStep(SCHEDULER, "scheduler", NODE_PHASE, ("scheduler",)),
    RolloutStep("container_runtime", "container_runtime", NODE_PHASE, ("container_runtime",)),
    RolloutStep(KUBELET, KUBELET, NODE_PHASE, (KUBELET,)),
    RolloutStep("k3s", "k3s", NODE_PHASE, ("k3s",)),     # every component of a k3s node, in one config file
    RolloutStep("file_permissions", "file_permissions", NODE_PHASE, ("file_permissions",)),
    RolloutStep("metrics_firewall", "metrics_firewall", ETCD_HOST_PHASE, ("metrics_firewall",)),
    RolloutStep(ETCD, ETCD, ETCD_HOST_PHASE, (ETCD,), writer="env_file"),
    RolloutStep("node_audit", "node_audit", ETCD_HOST_PHASE, ("node_audit",)),
)
# operations applied by another step's role, not by a step of their own (the apiserver role imports audit)
APPLIED_WITH: Dict[str, str] = {"audit": APISERVER}
