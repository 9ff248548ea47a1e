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


# what ctr says on a kubeadm control plane of the live test bed (Debian's containerd 1.6.20), at one moment
IMAGES = _fixture("ctr-images-ls.txt")          # `ctr -n k8s.io images ls`
CONTAINERS = _fixture("ctr-containers-ls.txt")  # `ctr -n k8s.io containers ls` (pods' sandboxes included)
SNAPSHOTS = _fixture("ctr-snapshots-ls.txt")    # `ctr -n k8s.io snapshots ls` (each container's key: its id)
CONFIGS = os.path.join(FIXTURES, "image-configs")   # the images' configs from its content store
PROXY = "registry.k8s.io/kube-proxy:v1.34.4"
TODAY = datetime.date(2026, 12, 6)


def _runner(images: str = IMAGES, containers: str = CONTAINERS, snapshots: str = SNAPSHOTS, fail: str = ""):
    asked = []

    def run(argv):
        asked.append(argv)
        if fail and fail in argv:
            return 1, "ctr: failed to dial \"/run/containerd/containerd.sock\": connection refused\n"
        what = next(word for word in argv if word in ("images", "containers", "snapshots"))
        return 0, {"images": images, "containers": containers, "snapshots": snapshots}[what]
    return run, asked


def _without(name: str) -> str:
    return "\n".join(line for line in CONTAINERS.splitlines() if name not in line)


def _store(tmp_path, days_ago: dict):
    """A content store holding the images' configs, whose manifests arrived days_ago[digest] days before TODAY."""
    blobs = tmp_path / stale_images.CONTENT_BLOBS / "sha256"
    blobs.mkdir(parents=True)
    for name in os.listdir(CONFIGS):
        with open(os.path.join(CONFIGS, name), "rb") as handle:
            (blobs / name).write_bytes(handle.read())
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


PROXY_ID = "sha256:b4b098c5c49d56ecd8b3dea9163d4e55bc5babbc4b6ae917d80768449411044e"


def test_ctrs_columns_are_read_as_images_under_all_their_names_and_the_containers_images():
    images = stale_images.parse_images(IMAGES)
    assert len(images) == 8   # 19 references: tag, repo@digest and image id of the same manifest are one image
    assert sorted(images[_proxy_digest()]["refs"]) == [PROXY, "registry.k8s.io/kube-proxy@" + _proxy_digest(), PROXY_ID]
    assert not any(image["pinned"] for image in images.values())   # containerd 1.6 pins nothing
    made = stale_images.parse_containers(CONTAINERS)
    assert len(made) == 30 and PROXY in made.values() and list(made.values()).count("registry.k8s.io/pause:3.10.1") > 10
    snapshots = stale_images.parse_snapshots(SNAPSHOTS)
    assert set(made) <= set(snapshots)   # every container's root filesystem is a snapshot keyed by its id


def test_an_images_top_layer_is_the_chain_id_its_containers_snapshots_stand_on(tmp_path):
    root = _store(tmp_path, {})
    made, snapshots = stale_images.parse_containers(CONTAINERS), stale_images.parse_snapshots(SNAPSHOTS)
    proxy = next(cid for cid, name in made.items() if name == PROXY)
    assert stale_images.chain_id(root, PROXY_ID) == snapshots[proxy]
    assert stale_images.chain_id(root, "sha256:" + "0" * 64) is None and stale_images.chain_id(root, "sha256:../../x") is None


@pytest.mark.parametrize("line", ["registry.k8s.io/x:1 application/vnd.oci.image.manifest.v1+json sha256:abc 1 MiB linux/amd64 -",
                                  "a ref with spaces sha256:" + "a" * 64])
def test_a_line_ctr_does_not_write_leaves_the_rule_not_judged(line):
    run, _asked = _runner(images=IMAGES + line + "\n")
    seen = stale_images.observe({"kind": "containerd", "socket": "/s"}, run)
    outcome = stale_images.evaluate(_state(seen))
    assert outcome.passed is None and "ctr images ls" in outcome.found


def test_a_running_image_whose_tag_moved_on_is_in_use_by_its_layers(tmp_path):
    """kube-proxy:v1.34.4 pulled again as another image: the running container still names the tag, which now
    belongs to the new one; the old one, with only its id and digest left, is what it runs."""
    new = "sha256:" + "e" * 64
    moved = "\n".join(line for line in IMAGES.splitlines() if not line.startswith(PROXY + " "))
    moved += f"\n{PROXY} application/vnd.oci.image.manifest.v1+json {new} 74.2 MiB linux/amd64 io.cri-containerd.image=managed\n"
    run, _asked = _runner(images=moved)
    root = _store(tmp_path, {digest: 400 for digest in [*stale_images.parse_images(IMAGES), new]})
    seen = stale_images.observe({"kind": "containerd", "socket": "/s", "root": root}, run)
    old = next(i for i in seen["images"] if i["digest"] == _proxy_digest())
    assert old["used"] is True   # by its layers: the name now belongs to the new image
    # without the snapshots only the name could tell, and it would say the running one is unused
    blind, _asked = _runner(images=moved, snapshots="KEY PARENT KIND\n")
    unseen = stale_images.observe({"kind": "containerd", "socket": "/s", "root": root}, blind)
    assert next(i for i in unseen["images"] if i["digest"] == _proxy_digest())["used"] is False


def test_no_image_or_no_container_is_not_the_kubelets_runtime_and_judges_nothing():
    for images, containers in (("REF TYPE DIGEST SIZE PLATFORMS LABELS\n", CONTAINERS), (IMAGES, "CONTAINER IMAGE RUNTIME\n")):
        run, _asked = _runner(images=images, containers=containers)
        outcome = stale_images.evaluate(_state(stale_images.observe({"kind": "containerd", "socket": "/s"}, run)))
        assert outcome.passed is None and "not the runtime the kubelet uses" in outcome.found


def test_a_node_whose_every_image_is_used_passes(tmp_path):
    run, asked = _runner()
    root = _store(tmp_path, {digest: 400 for digest in stale_images.parse_images(IMAGES)})
    seen = stale_images.observe({"kind": "containerd", "socket": "/run/containerd/containerd.sock", "root": root}, run)
    assert asked[0] == ["ctr", "--address", "/run/containerd/containerd.sock", "--namespace", "k8s.io", "images", "ls"]
    outcome = stale_images.evaluate(_state(seen))
    assert outcome.passed is True and outcome.found.startswith("8 images, each used by a container")


def test_an_image_left_behind_longer_than_the_limit_fails_naming_it(tmp_path):
    # kube-proxy's pod gone (an upgrade moved it on, or it was replaced by a CNI): its image stays
    run, _asked = _runner(containers=_without(PROXY))
    root = _store(tmp_path, {digest: 45 for digest in stale_images.parse_images(IMAGES)})
    seen = stale_images.observe({"kind": "containerd", "socket": "/s", "root": root}, run)
    outcome = stale_images.evaluate(_state(seen))
    assert outcome.passed is False
    assert f"1 images no container uses, on this node longer than 30 days: {PROXY} ({_proxy_digest()[:19]}, here 45 days)" in outcome.found
    assert "crictl rmi --prune" in outcome.found
    # within your limit it passes, saying which are unused
    relaxed = stale_images.evaluate(_state(seen, days=60))
    assert relaxed.passed is True and f"1 unused but here 60 days or less ({PROXY})" in relaxed.found
    # 0 days: every unused image from before today
    assert stale_images.evaluate(_state(seen, days=0)).passed is False


def test_an_image_whose_arrival_cannot_be_read_is_not_judged_and_a_planted_link_decides_nothing(tmp_path):
    run, _asked = _runner(containers=_without(PROXY))
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
    only_etcd = "\n".join(line for i, line in enumerate(CONTAINERS.splitlines()) if i == 0 or "etcd" in line)
    run, _asked = _runner(images=pinned, containers=only_etcd)
    root = _store(tmp_path, {digest: 400 for digest in stale_images.parse_images(IMAGES)})
    outcome = stale_images.evaluate(_state(stale_images.observe({"kind": "containerd", "socket": "/s", "root": root}, run)))
    assert outcome.passed is False and "6 images no container uses" in outcome.found
    assert "remove them (crictl rmi --prune); pinned by the runtime, unused: registry.k8s.io/pause:3.10.1" in outcome.found


@pytest.mark.parametrize("fail", ["images", "containers"])
def test_a_runtime_that_does_not_answer_leaves_it_not_judged(fail):
    run, _asked = _runner(fail=fail)
    seen = stale_images.observe({"kind": "containerd", "socket": "/s"}, run)
    outcome = stale_images.evaluate(_state(seen))
    assert outcome.passed is None and "connection refused" in outcome.found
    assert stale_images.evaluate(_state(stale_images.observe(None, run))).passed is None


def test_the_snapshots_are_the_cris_snapshotters(tmp_path):
    """ctr's own default is overlayfs; the CRI may use another (its config says): ask that one."""
    config = tmp_path / "config.toml"
    config.write_text(_fixture("config-v2-debian.toml"))   # containerd config default: snapshotter = "overlayfs"
    run, asked = _runner()
    stale_images.observe({"kind": "containerd", "socket": "/s", "config": str(config)}, run)
    assert asked[-1] == ["ctr", "--address", "/s", "--namespace", "k8s.io", "snapshots", "--snapshotter", "overlayfs", "ls"]
    config.write_text("version = 3\n[plugins.'io.containerd.cri.v1.images']\n  snapshotter = 'zfs'\n")
    stale_images.observe({"kind": "containerd", "socket": "/s", "config": str(config)}, run)
    assert asked[-1][-4:] == ["snapshots", "--snapshotter", "zfs", "ls"]
    config.write_text("version = 3\n[plugins.'io.containerd.cri.v1.images']\n  snapshotter = '--debug'\n")
    stale_images.observe({"kind": "containerd", "socket": "/s", "config": str(config)}, run)
    assert asked[-1][-2:] == ["snapshots", "ls"]   # no option smuggled in through the config


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
