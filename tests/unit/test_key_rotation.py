"""Key rotation: every intermediate state stays readable by every apiserver, and a stopped rotation resumes."""

from __future__ import annotations

import itertools

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.key_rotation import RotationError, rotation_config

ALGORITHM = "secretbox"


def counter_bytes():
    count = itertools.count(1)
    return lambda n: bytes([next(count) % 256]) * n


def harden_config(random_bytes):
    return yaml.safe_dump(desired.encryption_config(None, ALGORITHM, ["secrets", "configmaps"], random_bytes))


def keys(text):
    providers = yaml.safe_load(text)["resources"][0]["providers"]
    return [k["name"] for k in providers[0][ALGORITHM]["keys"]], providers


class Cluster:
    """Control planes' files; every write checks that no apiserver writes with a key another cannot read."""

    def __init__(self, count, random_bytes):
        self.texts = [harden_config(random_bytes)] * count
        self.random_bytes = random_bytes
        self.written_with = {keys(self.texts[0])[0][0]}  # keys data may be stored with (until a rewrite)

    def readable(self, index):
        names, providers = keys(self.texts[index])
        return set(names)

    def write(self, index, step):
        new = yaml.safe_dump(rotation_config(list(self.texts), index, ALGORITHM, step, self.random_bytes))
        changed = yaml.safe_load(new) != yaml.safe_load(self.texts[index])
        self.texts[index] = new
        for n in range(len(self.texts)):
            self.written_with.add(keys(self.texts[n])[0][0])
        for n in range(len(self.texts)):
            assert self.written_with <= self.readable(n), (step, index, self.texts)
        return changed

    def rewrite(self):
        self.written_with = {keys(text)[0][0] for text in self.texts}

    def run(self, stop_after=None):
        """One rotate_keys run; stop_after=(step, node) simulates a failure right after that write."""
        changes = 0
        for step in ("stage", "promote", "rewrite", "retire"):
            if step == "rewrite":
                self.rewrite()
                if stop_after == ("rewrite", None):
                    return changes
                continue
            for index in range(len(self.texts)):
                changes += self.write(index, step)
                if stop_after == (step, index):
                    return changes
        return changes


@pytest.mark.parametrize("count", [1, 2, 3])
def test_a_run_leaves_exactly_one_new_key_on_every_control_plane(count):
    cluster = Cluster(count, counter_bytes())
    before = yaml.safe_load(cluster.texts[0])["resources"][0]["providers"][0][ALGORITHM]["keys"][0]["secret"]
    cluster.run()
    for text in cluster.texts:
        names, providers = keys(text)
        assert names == ["key2"] and list(providers[-1]) == ["identity"] and len(providers) == 2
        assert providers[0][ALGORITHM]["keys"][0]["secret"] != before
    assert len(set(cluster.texts)) == 1
    assert yaml.safe_load(cluster.texts[0])["resources"][0]["resources"] == ["secrets", "configmaps"]


@pytest.mark.parametrize("count", [1, 3])
def test_each_run_rotates_again(count):
    cluster = Cluster(count, counter_bytes())
    cluster.run()
    cluster.run()
    assert all(keys(text)[0] == ["key3"] for text in cluster.texts)


def test_single_control_plane_restarts_twice_and_several_three_times_each():
    # one apiserver: no staging needed (nothing else can write with a key it cannot read)
    assert Cluster(1, counter_bytes()).run() == 2
    assert Cluster(3, counter_bytes()).run() == 9


@pytest.mark.parametrize("count", [1, 2, 3])
def test_a_run_stopped_anywhere_is_finished_by_the_next_one_with_the_same_key(count):
    points = [(step, index) for step in ("stage", "promote") for index in range(count)] + [("rewrite", None)] + \
             [("retire", index) for index in range(count - 1)]
    for point in points:
        cluster = Cluster(count, counter_bytes())
        cluster.run(stop_after=point)
        cluster.run()      # resumes: every write above asserted readability
        names = [keys(text)[0] for text in cluster.texts]
        assert names == [["key2"]] * count, (point, names)


def test_retire_refuses_while_a_control_plane_still_writes_with_the_old_key():
    cluster = Cluster(2, counter_bytes())
    cluster.write(0, "stage")
    cluster.write(1, "stage")
    cluster.write(0, "promote")
    with pytest.raises(RotationError, match=r"control plane\(s\) \[2\] do not write with the new key key2"):
        rotation_config(cluster.texts, 0, ALGORITHM, "retire")


def test_promote_refuses_while_a_control_plane_cannot_read_the_new_key():
    cluster = Cluster(3, counter_bytes())
    cluster.write(0, "stage")
    with pytest.raises(RotationError, match=r"not yet readable on control plane\(s\) \[2, 3\]"):
        rotation_config(cluster.texts, 0, ALGORITHM, "promote")


def test_nodes_without_encryption_or_with_another_algorithm_are_refused():
    text = harden_config(counter_bytes())
    with pytest.raises(RotationError, match="control plane 2 has no encryption config"):
        rotation_config([text, ""], 0, ALGORITHM, "stage")
    with pytest.raises(RotationError, match="writes with secretbox, not aescbc"):
        rotation_config([text], 0, "aescbc", "stage")


def test_one_key_name_with_two_secrets_is_refused():
    first, second = harden_config(lambda n: b"a" * n), harden_config(lambda n: b"b" * n)
    with pytest.raises(RotationError, match="key 'key1' has a different secret on control plane 2"):
        rotation_config([first, second], 0, ALGORITHM, "stage")


def test_retire_drops_providers_of_an_earlier_algorithm():
    old = desired.encryption_config(None, "aescbc", ["secrets"], lambda n: b"a" * n)
    switched = yaml.safe_dump(desired.encryption_config(old, ALGORITHM, ["secrets"], lambda n: b"b" * n))
    assert [next(iter(p)) for p in yaml.safe_load(switched)["resources"][0]["providers"]] == [ALGORITHM, "aescbc", "identity"]
    cluster = Cluster(1, counter_bytes())
    cluster.texts = [switched]
    cluster.written_with = {"key1"}
    cluster.run()
    assert [next(iter(p)) for p in yaml.safe_load(cluster.texts[0])["resources"][0]["providers"]] == [ALGORITHM, "identity"]


def test_kubespray_key_name_and_numbering():
    config = desired.encryption_config(None, ALGORITHM, ["secrets"], lambda n: b"a" * n)
    config["resources"][0]["providers"][0][ALGORITHM]["keys"][0]["name"] = "key"   # kubespray's template
    promoted = rotation_config([yaml.safe_dump(config)], 0, ALGORITHM, "promote", lambda n: b"c" * n)
    assert [k["name"] for k in promoted["resources"][0]["providers"][0][ALGORITHM]["keys"]] == ["key1", "key"]


def test_harden_refuses_a_half_promoted_cluster_and_points_to_rotate_keys():
    cluster = Cluster(2, counter_bytes())
    cluster.write(0, "stage")
    cluster.write(1, "stage")
    cluster.write(0, "promote")
    with pytest.raises(ValueError, match="run kubeguard.hardening.rotate_keys again"):
        desired.merge_node_encryption_configs(cluster.texts, ALGORITHM, ["secrets"])
    # a fully staged cluster (old key still written with) is one harden keeps as it is
    staged = Cluster(2, counter_bytes())
    staged.write(0, "stage")
    staged.write(1, "stage")
    kept = desired.merge_node_encryption_configs(staged.texts, ALGORITHM, ["secrets", "configmaps"])
    assert [k["name"] for k in kept["resources"][0]["providers"][0][ALGORITHM]["keys"]] == ["key1", "key2"]


def test_unknown_step_is_refused():
    with pytest.raises(RotationError, match="unknown rotation step 'rewrite'"):
        rotation_config([harden_config(counter_bytes())], 0, ALGORITHM, "rewrite")
