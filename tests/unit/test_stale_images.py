"""Old components left on a node (STIG V-242442, node side): images no container uses that have been on the node
longer than the limit, read from what containerd's ctr really prints (Debian's containerd 1.6.20 on a live node)."""

from __future__ import annotations

import datetime
import os

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import stale_images
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "containerd")


def _fixture(name: str) -> str:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


IMAGES = _fixture("ctr-images-ls.txt")          # `ctr -n k8s.io images ls` on a kubeadm control plane
CONTAINERS = _fixture("ctr-containers-ls.txt")  # `ctr -n k8s.io containers ls` there (pods' sandboxes included)
PROXY = "registry.k8s.io/kube-proxy:v1.34.4"
TODAY = datetime.date(2026, 12, 6)


def _runner(images: str = IMAGES, containers: str = CONTAINERS, fail: str = ""):
    asked = []

    def run(argv):
        asked.append(argv)
        if fail and fail in argv:
            return 1, "ctr: failed to dial \"/run/containerd/containerd.sock\": connection refused\n"
        return 0, images if argv[-2:] == ["images", "ls"] else containers
    return run, asked


def _store(tmp_path, days_ago: dict):
    """A content store whose manifests arrived days_ago[digest] days before TODAY."""
    blobs = tmp_path / stale_images.CONTENT_BLOBS / "sha256"
    blobs.mkdir(parents=True)
    for digest, days in days_ago.items():
        blob = blobs / digest.split(":", 1)[1]
        blob.write_text("{}")
        moment = datetime.datetime.combine(TODAY - datetime.timedelta(days=days), datetime.time(12), datetime.timezone.utc).timestamp()
        os.utime(blob, (moment, moment))
    return str(tmp_path)


def _state(seen, days=30):
    return {"stale_images": seen, "today": TODAY.isoformat(), "expectations": audit.expectations(stale_image_days=days)}


def _proxy_digest():
    return next(d for d, image in stale_images.parse_images(IMAGES).items() if PROXY in image["refs"])


def test_ctrs_columns_are_read_as_images_under_all_their_names_and_the_containers_images():
    images = stale_images.parse_images(IMAGES)
    assert len(images) == 8   # 18 references: tag, repo@digest and image id of the same manifest are one image
    assert sorted(images[_proxy_digest()]["refs"]) == [PROXY, "sha256:b4b098c5c49d56ecd8b3dea9163d4e55bc5babbc4b6ae917d80768449411044e"]
    assert not any(image["pinned"] for image in images.values())   # containerd 1.6 pins nothing
    made = stale_images.parse_containers(CONTAINERS)
    assert len(made) == 30 and PROXY in made and made.count("registry.k8s.io/pause:3.10.1") > 10


def test_a_node_whose_every_image_is_used_passes(tmp_path):
    run, asked = _runner()
    root = _store(tmp_path, {digest: 400 for digest in stale_images.parse_images(IMAGES)})
    seen = stale_images.observe({"kind": "containerd", "socket": "/run/containerd/containerd.sock", "root": root}, run)
    assert asked[0] == ["ctr", "--address", "/run/containerd/containerd.sock", "--namespace", "k8s.io", "images", "ls"]
    outcome = stale_images.evaluate(_state(seen))
    assert outcome.passed is True and outcome.found.startswith("8 images, each used by a container")


def test_an_image_left_behind_longer_than_the_limit_fails_naming_it(tmp_path):
    # kube-proxy's pod gone (an upgrade moved it on, or it was replaced by a CNI): its image stays
    without = "\n".join(line for line in CONTAINERS.splitlines() if PROXY not in line)
    run, _asked = _runner(containers=without)
    root = _store(tmp_path, {digest: 45 for digest in stale_images.parse_images(IMAGES)})
    seen = stale_images.observe({"kind": "containerd", "socket": "/s", "root": root}, run)
    outcome = stale_images.evaluate(_state(seen))
    assert outcome.passed is False
    assert f"1 images no container uses, on this node longer than 30 days: {PROXY} (sha256:b6a2af17b341, here 45 days)" in outcome.found
    assert "crictl rmi --prune" in outcome.found
    # within your limit it passes, saying which are unused
    relaxed = stale_images.evaluate(_state(seen, days=60))
    assert relaxed.passed is True and f"1 unused but here 60 days or less ({PROXY})" in relaxed.found
    # 0 days: every unused image from before today
    assert stale_images.evaluate(_state(seen, days=0)).passed is False


def test_an_image_whose_arrival_cannot_be_read_is_not_judged_and_a_planted_link_decides_nothing(tmp_path):
    without = "\n".join(line for line in CONTAINERS.splitlines() if PROXY not in line)
    run, _asked = _runner(containers=without)
    root = _store(tmp_path, {})
    seen = stale_images.observe({"kind": "containerd", "socket": "/s", "root": root}, run)
    outcome = stale_images.evaluate(_state(seen))
    assert outcome.passed is None and "1 unused images whose arrival could not be read" in outcome.found
    # a link in the store (whoever made it chooses the date it shows) is no arrival
    old = tmp_path / "old"
    old.write_text("{}")
    os.utime(old, (0, 0))
    os.symlink(old, tmp_path / stale_images.CONTENT_BLOBS / "sha256" / _proxy_digest().split(":")[1])
    again = stale_images.observe({"kind": "containerd", "socket": "/s", "root": root}, run)
    assert stale_images.evaluate(_state(again)).passed is None


def test_a_pinned_image_is_never_stale(tmp_path):
    # containerd 1.7+ labels the sandbox image it pins (the label as containerd writes it; 1.6 has none)
    pinned = IMAGES.replace("registry.k8s.io/pause:3.10.1 ", "registry.k8s.io/pause:3.10.1 ", 1)
    pinned = "\n".join(line.replace("io.cri-containerd.image=managed", "io.cri-containerd.image=managed,io.cri-containerd.pinned=pinned")
                       if "pause" in line or "718bd0f50b61" in line else line for line in pinned.splitlines())
    no_pods = CONTAINERS.splitlines()[0]
    run, _asked = _runner(images=pinned, containers=no_pods)
    root = _store(tmp_path, {digest: 400 for digest in stale_images.parse_images(IMAGES)})
    outcome = stale_images.evaluate(_state(stale_images.observe({"kind": "containerd", "socket": "/s", "root": root}, run)))
    assert outcome.passed is False and "7 images no container uses" in outcome.found and "pause" not in outcome.found


@pytest.mark.parametrize("fail", ["images", "containers"])
def test_a_runtime_that_does_not_answer_leaves_it_not_judged(fail):
    run, _asked = _runner(fail=fail)
    seen = stale_images.observe({"kind": "containerd", "socket": "/s"}, run)
    outcome = stale_images.evaluate(_state(seen))
    assert outcome.passed is None and "connection refused" in outcome.found
    assert stale_images.evaluate(_state(stale_images.observe(None, run))).passed is None


def test_the_runtimes_root_is_its_configs_then_the_platforms(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('version = 2\nroot = "/data/containerd"\n')
    assert stale_images.runtime_root({"config": str(config), "root": "/var/lib/containerd"}) == "/data/containerd"
    config.write_text("version = 2\n")
    assert stale_images.runtime_root({"config": str(config), "root": "/var/lib/rancher/k3s/agent/containerd"}) == \
        "/var/lib/rancher/k3s/agent/containerd"
    assert stale_images.runtime_root({"config": str(tmp_path / "none.toml")}) == stale_images.DEFAULT_ROOT


@pytest.mark.parametrize("value", [-1, 3651, "30", 1.5, True, None])
def test_the_limit_is_a_whole_number_of_days(value):
    with pytest.raises(hv.HardeningVarsError, match=r"kubeguard_stale_image_days.*must be a whole number from 0 to 3650"):
        hv.validate({"kubeguard_stale_image_days": value})
    assert hv.validate({"kubeguard_stale_image_days": 0})["kubeguard_stale_image_days"] == 0
    assert hv.validate({})["kubeguard_stale_image_days"] == stale_images.DEFAULT_DAYS


def test_v_242442_is_judged_on_every_node_and_from_the_api():
    data = catalogue.load()
    rule = next(r for r in data["benchmarks"]["entries"]["stig-v2r6"]["rules"] if r["id"] == "V-242442")
    status, why = catalogue.rule_status(rule, "kubeadm", catalogue.load_platforms()["kubeadm"])
    assert status == "automated" and "own check on node" in why and "from the API" in why
    control = next(c for c in catalogue.rule_controls(data, [rule]))
    assert control["automated"] and control["component"] == "node" and control["cluster"]
    assert {p["role"] for p in control["parts"]} == {"control_plane", "worker"}
