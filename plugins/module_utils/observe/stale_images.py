"""Old components left behind on a node (the STIG's V-242442, node side): images in the container runtime that no
container uses - running or stopped, pods' sandboxes included - and that have been on the node longer than your
limit (kubeguard_stale_image_days). An upgrade leaves the previous release's control-plane images there.

Read from containerd itself (`ctr`, namespace k8s.io: what the CRI and `crictl images` see). An image is its
references grouped by the manifest they name. It is in use when a container's root filesystem is made from it (the
container's snapshot stands on the image's top layer: its chain id, from the image's config) or a container names
one of its references - the name alone would lose a running image whose tag has moved on since. How long it has
been here is the age of its manifest in containerd's content store (written when it was pulled or imported):
neither the CRI nor ctr tells, and an image's build date says nothing of when this node took it. An image the
runtime pins (its sandbox image) is never stale, but named. "Today" is the controller's day, as for the other
dated checks. What cannot be read - a line of ctr's that is not what ctr writes, no image or no container at all (not
the runtime the kubelet uses) - leaves the rule not judged, never passed."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import stat
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ..catalogue import checks
from ..formats import toml_edit
from ..formats.fileops import read_text
from .release_support import today_of

CONTENT_BLOBS = "io.containerd.content.v1.content/blobs"
PINNED_LABEL = "io.cri-containerd.pinned=pinned"
DEFAULT_ROOT = "/var/lib/containerd"
CONFIG_LIMIT = 4 << 20   # an image config larger than this is no config
# ctr images ls: REF TYPE DIGEST SIZE (two words) PLATFORMS LABELS; containers ls: CONTAINER IMAGE RUNTIME;
# snapshots ls: KEY PARENT KIND
_IMAGE_LINE = re.compile(r"(\S+)\s+(\S+)\s+(sha256:[0-9a-f]{64})\s+(.*\S)\s*$", re.ASCII)
_CONTAINER_LINE = re.compile(r"([0-9A-Za-z_.-]+)\s+(\S+)\s+(\S+)\s*$", re.ASCII)
_SNAPSHOT_LINE = re.compile(r"(\S+)\s+(sha256:[0-9a-f]{64}|)\s*(\S+)\s*$", re.ASCII)
DEFAULT_DAYS = 30
SHOWN = 8   # images named in a finding; the rest are counted


def _config_text(spec: Mapping[str, Any]) -> Optional[str]:
    return read_text(str(spec.get("config") or "")) if spec.get("config") else None


def runtime_root(spec: Mapping[str, Any], text: Optional[str] = None) -> str:
    """containerd's root: its config's top-level `root`, else the platform's (k3s passes --root), else the default.
    text: the config as already read (read here when not given)."""
    text = _config_text(spec) if text is None else text
    said = toml_edit.read_value(text, (), "root") if text else None
    return str(said or spec.get("root") or DEFAULT_ROOT)


def _ctr(run: Callable[[List[str]], Tuple[int, str]], socket: str, *args: str) -> Tuple[int, str]:
    return run(["ctr", "--address", socket, "--namespace", "k8s.io", *args])


class UnreadableOutput(ValueError):
    """A line of ctr's output that is not what ctr writes."""


def _rows(text: str, line_pattern: "re.Pattern[str]", listing: str) -> List["re.Match[str]"]:
    """Each line under ctr's header, matched; UnreadableOutput naming the listing on a line that is not one."""
    rows = []
    for line in text.splitlines()[1:]:
        if not line.strip():
            continue
        match = line_pattern.fullmatch(line)
        if not match:
            raise UnreadableOutput(f"ctr {listing} ls: {line[:120]!r}")
        rows.append(match)
    return rows


def parse_images(text: str) -> Dict[str, Dict[str, Any]]:
    """`ctr images ls`: {target digest: {refs, pinned}} - one image per manifest, under each name it has
    (tag, repo@digest, the image id). UnreadableOutput on a line that is not one."""
    found: Dict[str, Dict[str, Any]] = {}
    for match in _rows(text, _IMAGE_LINE, "images"):
        image = found.setdefault(match.group(3), {"refs": [], "pinned": False})
        image["refs"].append(match.group(1))
        image["pinned"] = image["pinned"] or PINNED_LABEL in match.group(4).split()[-1].split(",")
    return found


def parse_containers(text: str) -> Dict[str, str]:
    """`ctr containers ls`: {container id: the image it names} (pods' sandboxes included)."""
    return {match.group(1): match.group(2) for match in _rows(text, _CONTAINER_LINE, "containers")}


def parse_snapshots(text: str) -> Dict[str, str]:
    """`ctr snapshots ls`: {snapshot key: its parent} - a container's key is its id, its parent the image's top layer."""
    return {match.group(1): match.group(2) for match in _rows(text, _SNAPSHOT_LINE, "snapshots") if match.group(2)}


def _blob(root: str, digest: str) -> Optional[Tuple[str, os.stat_result]]:
    """A content blob's path and status when it is a plain file (a link would let whoever made it choose what it says)."""
    algorithm, _sep, hexdigest = digest.partition(":")
    if algorithm != "sha256" or not re.fullmatch(r"[0-9a-f]{64}", hexdigest):
        return None
    path = os.path.join(root, CONTENT_BLOBS, algorithm, hexdigest)
    try:
        status = os.lstat(path)
    except OSError:
        return None
    return (path, status) if stat.S_ISREG(status.st_mode) else None


def chain_id(root: str, config_digest: str) -> Optional[str]:
    """The image's top layer as snapshotters name it: the chain id of its config's rootfs.diff_ids (OCI image spec)."""
    found = _blob(root, config_digest)
    if found is None:
        return None
    try:
        with open(found[0], "rb") as handle:
            raw = handle.read(CONFIG_LIMIT + 1)
        diff_ids = json.loads(raw)["rootfs"]["diff_ids"] if len(raw) <= CONFIG_LIMIT else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(diff_ids, list) or not diff_ids or not all(isinstance(d, str) for d in diff_ids):
        return None
    chain = diff_ids[0]
    for diff in diff_ids[1:]:
        chain = "sha256:" + hashlib.sha256(f"{chain} {diff}".encode()).hexdigest()
    return chain


def _since(root: str, digest: str) -> Optional[str]:
    """When the manifest arrived in the content store (its blob's mtime, UTC, ISO); None when it is not a plain file."""
    found = _blob(root, digest)
    return None if found is None else datetime.datetime.fromtimestamp(found[1].st_mtime, datetime.timezone.utc).isoformat(timespec="seconds")


def _snapshotter(text: Optional[str]) -> List[str]:
    """ctr's --snapshotter for the one the CRI uses, when its config (text) names one (overlayfs by default)."""
    for table in (("plugins", "io.containerd.cri.v1.images"), ("plugins", "io.containerd.grpc.v1.cri", "containerd")):
        said = toml_edit.read_value(text, table, "snapshotter") if text else None
        if isinstance(said, str) and re.fullmatch(r"[A-Za-z][0-9A-Za-z_.-]{0,63}", said):   # a name, never an option
            return ["--snapshotter", said]
    return []


def observe(spec: Optional[Mapping[str, Any]], run: Callable[[List[str]], Tuple[int, str]]) -> Optional[Dict[str, Any]]:
    """{images: [{digest, refs, used, pinned, since}], containers, root} or {error}; None: no containerd here."""
    if not spec or spec.get("kind", "containerd") != "containerd":
        return None
    socket = str(spec.get("socket") or "/run/containerd/containerd.sock")
    config = _config_text(spec)
    said = {}
    for what, args in (("images", ["images", "ls"]), ("containers", ["containers", "ls"]),
                       ("snapshots", ["snapshots", *_snapshotter(config), "ls"])):
        rc, out = _ctr(run, socket, *args)
        if rc != 0:
            lines = out.strip().splitlines()
            return {"error": (lines[-1] if lines else f"ctr exit code {rc}")[:200]}
        said[what] = out
    try:
        listed, made, snapshots = parse_images(said["images"]), parse_containers(said["containers"]), parse_snapshots(said["snapshots"])
    except UnreadableOutput as exc:
        return {"error": str(exc)}
    root = runtime_root(spec, config)
    names = set(made.values())
    layers = {snapshots[cid] for cid in made if cid in snapshots}   # what each container's root filesystem stands on
    images = []
    for digest, image in sorted(listed.items()):
        ids = [ref for ref in image["refs"] if ref.startswith("sha256:")]   # the CRI's image id: its config's digest
        top = next((chain for chain in (chain_id(root, ref) for ref in ids) if chain), None)
        used = digest in names or any(ref in names for ref in image["refs"]) or (top is not None and top in layers)
        images.append({"digest": digest, "refs": sorted(image["refs"]), "pinned": image["pinned"], "used": used,
                       "since": _since(root, digest)})
    return {"images": images, "containers": len(made), "root": root}


def _name(image: Mapping[str, Any]) -> str:
    """The image as a reader knows it: a tag, else a repo@digest, else the id."""
    refs = image["refs"]
    named = [r for r in refs if not r.startswith("sha256:") and "@" not in r] or [r for r in refs if not r.startswith("sha256:")] or refs
    return named[0]


def evaluate(state: Mapping[str, Any]) -> checks.Outcome:
    """Fail on each image no container uses that has been on the node longer than the limit; not judged when the
    runtime cannot be asked, or an unused image's arrival cannot be read and none is stale."""
    seen = state.get("stale_images")
    days = int((state.get("expectations") or {}).get("stale_image_days", DEFAULT_DAYS))
    if not seen:
        return checks.Outcome(None, "no containerd on this node's platform: its images are not judged")
    if "error" in seen:
        return checks.Outcome(None, f"containerd's images could not be listed (ctr: {seen['error']}); not judged")
    images = seen["images"]
    if not images or not seen.get("containers"):
        return checks.Outcome(None, f"containerd at this socket holds {len(images)} images and {seen.get('containers', 0)} containers:"
                                    " not the runtime the kubelet uses (or nothing runs yet); not judged")
    unused = [image for image in images if not image["used"] and not image["pinned"]]
    pinned = [image for image in images if not image["used"] and image["pinned"]]
    kept = f"; pinned by the runtime, unused: {', '.join(_name(i) for i in pinned[:SHOWN])}" if pinned else ""
    stale, unknown, today = [], [], today_of(state)
    for image in unused:
        if image["since"] is None:
            unknown.append(image)
            continue
        age = (today - datetime.datetime.fromisoformat(image["since"]).date()).days
        if age > days:
            stale.append((image, age))
    if stale:
        listed = "; ".join(f"{_name(image)} ({image['digest'][:19]}, here {age} days)" for image, age in stale[:SHOWN])
        more = f" and {len(stale) - SHOWN} more" if len(stale) > SHOWN else ""
        return checks.Outcome(False, f"{len(stale)} images no container uses, on this node longer than {days} days: {listed}{more}"
                                     f" - remove them (crictl rmi --prune){kept}")
    if unknown:
        return checks.Outcome(None, f"{len(unknown)} unused images whose arrival could not be read in {seen['root']} "
                                    f"({', '.join(_name(i) for i in unknown[:SHOWN])}); not judged")
    if not unused:
        return checks.Outcome(True, f"{len(images)} images, each used by a container or pinned{kept}")
    return checks.Outcome(True, f"{len(images)} images: {len(images) - len(unused)} used by a container or pinned, {len(unused)} unused but"
                                f" here {days} days or less ({', '.join(_name(i) for i in unused[:SHOWN])}){kept}")
