"""A workload's rollout as every writer waits for it: the controller saw the template, every pod runs it and is
available, no pod of an older template is left (a Deployment), no container restarted meanwhile; a timeout says
what it saw last."""

from __future__ import annotations

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import rollouts


def daemonset(updated=2, available=2, desired=2, generation=3, observed=3):
    return {"kind": "DaemonSet", "metadata": {"name": "kube-proxy", "generation": generation},
            "status": {"desiredNumberScheduled": desired, "updatedNumberScheduled": updated, "numberAvailable": available,
                       "observedGeneration": observed}}


def deployment(replicas=2, updated=2, available=2, total=2):
    return {"kind": "Deployment", "metadata": {"name": "coredns", "generation": 1},
            "spec": {"replicas": replicas},
            "status": {"updatedReplicas": updated, "availableReplicas": available, "replicas": total, "observedGeneration": 1}}


def pod(name, owner_kind, owner, restarts=0):
    return {"metadata": {"name": name, "ownerReferences": [{"kind": owner_kind, "name": owner}]},
            "status": {"containerStatuses": [{"restartCount": restarts}]}}


@pytest.mark.parametrize("obj, done", [
    (daemonset(), True),
    (daemonset(updated=1), False),
    (daemonset(available=1), False),
    (daemonset(observed=2), False),             # the controller has not seen the new template yet
    (deployment(), True),
    (deployment(total=3), False),               # an old pod still runs beside the new ones
    (deployment(available=1), False),
    (deployment(replicas=0, updated=0, available=0, total=0), True),
])
def test_rollout_done(obj, done):
    assert rollouts.rollout_done(obj)[0] is done


def test_a_deployments_pods_are_those_of_its_replicasets_only():
    pods = [pod("coredns-7d-a", "ReplicaSet", "coredns-7d"), pod("corednsx-1-b", "ReplicaSet", "corednsx-1"),
            pod("kube-proxy-a", "DaemonSet", "kube-proxy")]
    assert [p["metadata"]["name"] for p in rollouts.owned_pods(pods, "Deployment", "coredns")] == ["coredns-7d-a"]
    assert [p["metadata"]["name"] for p in rollouts.owned_pods(pods, "DaemonSet", "kube-proxy")] == ["kube-proxy-a"]


class FakeKubectl:
    """Answers from scripted sequences: each get_one / get returns the next state (the last one repeats)."""

    def __init__(self, states, pod_lists):
        self.states, self.pod_lists = list(states), list(pod_lists)

    def get_one(self, kind, namespace, name):
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def get(self, kinds, namespace=None):
        return self.pod_lists.pop(0) if len(self.pod_lists) > 1 else self.pod_lists[0]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def wait(kubectl, timeout=30, settle=5):
    clock = Clock()
    return rollouts.wait(kubectl, "DaemonSet", "kube-system", "kube-proxy", timeout, settle, clock=clock, sleep=clock.sleep)


def test_waits_until_every_pod_is_updated_and_available():
    fake = FakeKubectl([daemonset(updated=0, available=1), daemonset(updated=1, available=1), daemonset()],
                       [[pod("kube-proxy-a", "DaemonSet", "kube-proxy")]])
    assert wait(fake) == (True, "2/2 updated, 2/2 available")


def test_a_container_restarting_after_the_rollout_is_not_healthy():
    fake = FakeKubectl([daemonset()], [[pod("kube-proxy-a", "DaemonSet", "kube-proxy")],
                                       [pod("kube-proxy-a", "DaemonSet", "kube-proxy", restarts=1)]])
    assert wait(fake) == (False, "2/2 updated, 2/2 available; restarting: kube-proxy-a")


def test_a_rollout_that_never_ends_times_out_saying_what_it_saw():
    fake = FakeKubectl([daemonset(available=1)], [[]])
    assert wait(fake, timeout=10) == (False, "not rolled out within 10s (2/2 updated, 1/2 available)")


def test_a_workload_deleted_meanwhile_is_not_healthy():
    fake = FakeKubectl([None], [[]])
    assert wait(fake, timeout=3) == (False, "not rolled out within 3s (DaemonSet kube-proxy is gone)")
