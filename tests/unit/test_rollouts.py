"""A DaemonSet's rollout as every writer waits for it: the controller saw the template, every node runs a pod of it
and each is available, no container restarted since the counts taken before the write, a failing kubectl call is
"not yet" until the deadline, and a timeout says what it saw last. Before pods that read a ConfigMap start again,
every kubelet must be able to watch again since the last apiserver restart."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import rollouts
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster.kube_api import KubectlError


def daemonset(updated=2, available=2, desired=2, generation=3, observed=3):
    return {"kind": "DaemonSet", "metadata": {"name": "kube-proxy", "generation": generation},
            "status": {"desiredNumberScheduled": desired, "updatedNumberScheduled": updated, "numberAvailable": available,
                       "observedGeneration": observed}}


def pod(name, owner="kube-proxy", restarts=0, kind="DaemonSet"):
    return {"metadata": {"name": name, "ownerReferences": [{"kind": kind, "name": owner}]},
            "status": {"containerStatuses": [{"restartCount": restarts}]}}


@pytest.mark.parametrize("obj, done", [
    (daemonset(), True),
    (daemonset(updated=1), False),
    (daemonset(available=1), False),
    (daemonset(observed=2), False),             # the controller has not seen the new template yet
    (daemonset(updated=0, available=0, desired=0), True),
])
def test_rollout_done(obj, done):
    assert rollouts.rollout_done(obj)[0] is done


def test_its_pods_are_those_it_owns():
    pods = [pod("kube-proxy-a"), pod("kube-proxy-x-b", owner="kube-proxy-x"), pod("kube-proxy-c", kind="ReplicaSet")]
    assert [p["metadata"]["name"] for p in rollouts.owned_pods(pods, "kube-proxy")] == ["kube-proxy-a"]


@pytest.mark.parametrize("given, says", [({"timeout": 0, "settle": 5}, "timeout: 0 - seconds from 1 to 86400"),
                                         ({"timeout": 300, "settle": 601}, "settle: 601 - seconds from 0 to 600")])
def test_a_wait_that_is_no_number_of_seconds_is_refused(given, says):
    assert rollouts.options_problem(given) == says
    assert rollouts.options_problem({"timeout": 1, "settle": 0}) is None


class FakeKubectl:
    """Answers from scripted sequences: each get_one / get returns the next answer (the last one repeats); an
    exception in a sequence is raised."""

    def __init__(self, states, pod_lists):
        self.states, self.pod_lists = list(states), list(pod_lists)

    @staticmethod
    def _next(answers):
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def get_one(self, kind, namespace, name):
        return self._next(self.states)

    def get(self, kinds, namespace=None):
        return self._next(self.pod_lists)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def wait(kubectl, timeout=30, settle=5, before=None):
    clock = Clock()
    return rollouts.wait(kubectl, "kube-system", "kube-proxy", timeout, settle, before=before, clock=clock, sleep=clock.sleep)


def test_waits_until_every_pod_is_updated_and_available():
    fake = FakeKubectl([daemonset(updated=0, available=1), daemonset(updated=1, available=1), daemonset()], [[pod("kube-proxy-a")]])
    assert wait(fake) == (True, "2/2 updated, 2/2 available")


def test_a_container_restarting_after_the_rollout_is_not_healthy():
    fake = FakeKubectl([daemonset()], [[pod("kube-proxy-a")], [pod("kube-proxy-a", restarts=1)]])
    assert wait(fake) == (False, "2/2 updated, 2/2 available; restarting: kube-proxy-a")


def test_a_new_pod_that_crashed_before_the_wait_began_counts_from_the_baseline_taken_before_the_write():
    fake = FakeKubectl([daemonset()], [[pod("kube-proxy-new", restarts=2)]])
    assert wait(fake, before={"kube-proxy-old": 0}) == (False, "2/2 updated, 2/2 available; restarting: kube-proxy-new")
    assert wait(FakeKubectl([daemonset()], [[pod("kube-proxy-new", restarts=2)]]))[0] is True   # read late: it would pass


def test_a_failing_kubectl_call_is_not_yet_until_the_deadline():
    fake = FakeKubectl([KubectlError("connection refused"), KubectlError("connection refused"), daemonset()], [[]])
    assert wait(fake) == (True, "2/2 updated, 2/2 available")
    assert wait(FakeKubectl([KubectlError("connection refused")], [[]]), timeout=6) == (
        False, "not rolled out within 6s (kubectl: connection refused)")


def test_a_rollout_that_never_ends_times_out_saying_what_it_saw():
    fake = FakeKubectl([daemonset(available=1)], [[]])
    assert wait(fake, timeout=10) == (False, "not rolled out within 10s (2/2 updated, 1/2 available)")


def test_the_shortest_wait_still_looks_once():
    assert wait(FakeKubectl([daemonset()], [[]]), timeout=1, settle=0) == (True, "2/2 updated, 2/2 available")


def test_a_daemonset_deleted_meanwhile_is_not_healthy():
    fake = FakeKubectl([None], [[]])
    assert wait(fake, timeout=3) == (False, "not rolled out within 3s (DaemonSet kube-proxy is gone)")


def apiserver_pod(started, label="kube-apiserver"):
    return {"metadata": {"name": f"{label}-cp1", "labels": {"component": label}},
            "status": {"containerStatuses": [{"state": {"running": {"startedAt": started}}}]}}


NOW = datetime.datetime(2026, 12, 6, 12, 0, 30, tzinfo=datetime.timezone.utc)


def test_the_youngest_apiserver_decides_how_long_kubelets_may_still_be_reconnecting():
    pods = [apiserver_pod("2026-12-06T11:00:00Z"), apiserver_pod("2026-12-06T12:00:20Z"),
            apiserver_pod("2026-12-06T12:00:29Z", label="etcd"), apiserver_pod("not a time"), {"metadata": {}}]
    assert rollouts.apiserver_age(pods, NOW) == 10.0
    assert rollouts.apiserver_age([apiserver_pod("2026-12-06T12:00:20")], NOW) is None   # no zone: not read
    assert rollouts.apiserver_age([], NOW) is None


class PodsOnly:
    def __init__(self, pods):
        self.pods = pods

    def get(self, kinds, namespace=None):
        return self.pods


@pytest.mark.parametrize("started, waited", [("2026-12-06T12:00:20Z", 25.0),    # up 10 s: 25 more
                                             ("2026-12-06T11:59:00Z", 0.0),     # long up
                                             ("2026-12-06T12:01:00Z", 35.0)])   # a clock ahead: the whole wait, no more
def test_a_rollout_waits_until_every_kubelet_can_watch_again(started, waited):
    slept = []
    assert rollouts.until_watches_are_back(PodsOnly([apiserver_pod(started)]), sleep=slept.append, now=NOW) == waited
    assert slept == ([waited] if waited else [])


def test_no_apiserver_pod_seen_waits_for_nothing():
    slept = []
    assert rollouts.until_watches_are_back(PodsOnly([]), sleep=slept.append, now=NOW) == 0.0 and slept == []
