"""Old components left behind on a node (the STIG's V-242442, node side): images in the container runtime that no
container uses - running or stopped, pods' sandboxes included - and that have been on the node longer than your
limit (kubeguard_stale_image_days). An upgrade leaves the previous release's control-plane images there.

Read from containerd itself (`ctr`, namespace k8s.io: what the CRI and `crictl images` see). An image is its
references grouped by the manifest they name; it is in use when any container names one of them. How long it has
been here is the age of its manifest in containerd's content store (written when it was pulled or imported):
neither the CRI nor ctr tells, and an image's build date says nothing of when this node took it. An image the
runtime pins (its sandbox image) is never stale. "Today" is the controller's day, as for the other dated checks."""

from __future__ import annotations

import datetime
import os
import stat
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ..catalogue import checks
from ..formats import toml_edit
from ..formats.fileops import read_text
from .release_support import today_of

CONTENT_BLOBS = "io.containerd.content.v1.content/blobs"
PINNED_LABEL = "io.cri-containerd.pinned=pinned"
DEFAULT_ROOT = "/var/lib/containerd"
DEFAULT_DAYS = 30
SHOWN = 8   # images named in a finding; the rest are counted


def runtime_root(spec: Mapping[str, Any]) -> str:
    """containerd's root: its config's top-level `root`, else the platform's (k3s passes --root), else the default."""
    text = read_text(str(spec.get("config") or "")) if spec.get("config") else None
    said = toml_edit.read_value(text, (), "root") if text else None
    return str(said or spec.get("root") or DEFAULT_ROOT)


def _ctr(run: Callable[[List[str]], Tuple[int, str]], socket: str, *args: str) -> Tuple[int, str]:
    return run(["ctr", "--address", socket, "--namespace", "k8s.io", *args])


def parse_images(text: str) -> Dict[str, Dict[str, Any]]:
    """`ctr images ls`: {target digest: {refs, pinned}} - one image per manifest, under each name it has
    (tag, repo@digest, the image id). SIZE is two words ("26.4 MiB"); LABELS is the last column."""
    found: Dict[str, Dict[str, Any]] = {}
    for line in text.splitlines()[1:]:
        words = line.split()
        if len(words) < 3 or not words[2].startswith("sha256:"):
            continue
        image = found.setdefault(words[2], {"refs": [], "pinned": False})
        image["refs"].append(words[0])
        image["pinned"] = image["pinned"] or PINNED_LABEL in words[-1].split(",")
    return found


def parse_containers(text: str) -> List[str]:
    """`ctr containers ls`: the image each container (and each pod's sandbox) was made from."""
    return [words[1] for words in (line.split() for line in text.splitlines()[1:]) if len(words) >= 2]


def _since(root: str, digest: str) -> Optional[str]:
    """When the manifest arrived in the content store (its blob's mtime, UTC, ISO); None when it is not a plain
    file there (a link would let whoever made it choose the date)."""
    algorithm, _sep, hexdigest = digest.partition(":")
    if not hexdigest.isalnum():
        return None
    try:
        info = os.lstat(os.path.join(root, CONTENT_BLOBS, algorithm, hexdigest))
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return datetime.datetime.fromtimestamp(info.st_mtime, datetime.timezone.utc).isoformat(timespec="seconds")


def observe(spec: Optional[Mapping[str, Any]], run: Callable[[List[str]], Tuple[int, str]]) -> Optional[Dict[str, Any]]:
    """{images: [{digest, refs, used, pinned, since}], root} or {error}; None: no containerd on this platform."""
    if not spec or spec.get("kind", "containerd") != "containerd":
        return None
    socket = str(spec.get("socket") or "/run/containerd/containerd.sock")
    asked = [_ctr(run, socket, "images", "ls")]
    if asked[0][0] == 0:
        asked.append(_ctr(run, socket, "containers", "ls"))
    rc, said = asked[-1]
    if rc != 0:
        lines = said.strip().splitlines()
        return {"error": (lines[-1] if lines else f"ctr exit code {rc}")[:200]}
    listed, made = asked[0][1], asked[1][1]
    root = runtime_root(spec)
    used = set(parse_containers(made))
    images = [{"digest": digest, "refs": sorted(image["refs"]), "pinned": image["pinned"],
               "used": digest in used or any(ref in used for ref in image["refs"]), "since": _since(root, digest)}
              for digest, image in sorted(parse_images(listed).items())]
    return {"images": images, "root": root}


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
    unused = [image for image in images if not image["used"] and not image["pinned"]]
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
                                     " - remove them (crictl rmi --prune)")
    if unknown:
        return checks.Outcome(None, f"{len(unknown)} unused images whose arrival could not be read in {seen['root']} "
                                    f"({', '.join(_name(i) for i in unknown[:SHOWN])}); not judged")
    if not unused:
        return checks.Outcome(True, f"{len(images)} images, each used by a container or pinned")
    return checks.Outcome(True, f"{len(images)} images: {len(images) - len(unused)} used by a container or pinned, {len(unused)} unused but"
                                f" here {days} days or less ({', '.join(_name(i) for i in unused[:SHOWN])})")
