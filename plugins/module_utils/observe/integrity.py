"""Binary integrity: the platform's binaries on a node against the checksums the user gives, in kubespray's
checksum-variable shape (``kubelet_checksums: {amd64: {1.34.4: sha256:...}}``) or as a sha256sum / sha512sum
file. A mismatch is reported (kubeguard.integrity checks, K.15-K.20), never "fixed": replacing a binary is
an upgrade, not hardening.

The controller turns the variables and the file into the expected digests per binary and architecture
(`expected`); the node hashes its binaries and compares (`verify`): the one that runs through /proc/<pid>/exe
of the process that is it (not whatever file of that name a directory holds), one that does not run where it
is installed; one it cannot find is not judged (manual), never passed."""

from __future__ import annotations

import hashlib
import os
import platform
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..base.component_names import ETCD, KUBELET

# binary -> (kubespray's checksum variable, the version variable that picks the entry). kubespray's etcd and
# containerd checksums are of release archives, not of the binaries: those two come from the sums file only.
BINARIES: Dict[str, Tuple[Optional[str], Optional[str]]] = {
    KUBELET: ("kubelet_checksums", "kube_version"),
    "kubeadm": ("kubeadm_checksums", "kube_version"),
    "kubectl": ("kubectl_checksums", "kube_version"),
    "runc": ("runc_checksums", "runc_version"),
    "containerd": (None, None),
    ETCD: (None, None),
}
SEARCH_DIRS = ("/usr/local/bin", "/usr/bin", "/usr/local/sbin", "/usr/sbin", "/opt/bin", "/bin", "/sbin")
# uname -m -> the architecture names kubespray's checksums use
ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
                 "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}
ANY_ARCHITECTURE = "*"
_DIGEST = re.compile(r"(?:(sha256):)?([0-9a-f]{64})|(?:(sha512):)?([0-9a-f]{128})")


def parse_digest(value: Any) -> Optional[str]:
    """'sha256:<hex>', 'sha512:<hex>' or bare hex (its length tells the algorithm) -> 'algo:hex'; None if not one."""
    if not isinstance(value, str):
        return None
    match = _DIGEST.fullmatch(value.strip().lower())
    if not match:
        return None
    return f"sha256:{match.group(2)}" if match.group(2) else f"sha512:{match.group(4)}"


def checksums_problem(value: Any) -> Optional[str]:
    """Validation of a kubespray checksum variable: {architecture: {version: digest}}."""
    if not isinstance(value, Mapping):
        return "must be a mapping of architecture to {version: sha256:<hex>} (kubespray's shape)"
    for arch, versions in value.items():
        if not isinstance(arch, str) or not re.fullmatch(r"[a-z0-9_]{1,20}", arch):
            return f"architecture {arch!r} must be a name such as amd64, arm64"
        if not isinstance(versions, Mapping):
            return f"{arch}: must be a mapping of version to sha256:<hex>"
        for version, digest in versions.items():
            if not re.fullmatch(r"v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]{1,40})?", str(version)):
                return f"{arch}: version {version!r} must look like 1.34.4"
            if parse_digest(digest) is None:
                return f"{arch}.{version}: {str(digest)[:80]!r} must be sha256:<64 hex> or sha512:<128 hex>"
    return None


def parse_sums_file(text: str) -> Dict[str, List[str]]:
    """A sha256sum / sha512sum file ('<hex>  <name>' or '<hex> *<name>', '#' comments) -> basename -> digests.
    ValueError naming the line for anything else."""
    sums: Dict[str, List[str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        digest = parse_digest(parts[0]) if len(parts) == 2 else None
        if digest is None:
            raise ValueError(f"kubeguard_binary_checksums_file line {number}: {line[:100]!r} is not '<sha256 or sha512 hex>  <file>'")
        sums.setdefault(os.path.basename(parts[1].strip().lstrip("*")), []).append(digest)
    return sums


def expected(values: Mapping[str, Any], sums_text: str = "") -> Dict[str, Dict[str, List[str]]]:
    """binary -> {architecture (or '*' from the sums file): [accepted digests]}, for the versions the variables
    name (kube_version not given: every listed release). Only the binaries something is given for."""
    result: Dict[str, Dict[str, List[str]]] = {}
    for binary, (variable, version_variable) in BINARIES.items():
        table = values.get(variable) if variable else None
        version = str(values.get(version_variable) or "").lstrip("v") if version_variable else ""
        # kube_version not given: the nodes' release is read later, on each node; until then any listed release's
        # digest is a genuine binary (never the default release's alone, which would fail every other one)
        any_release = version_variable == "kube_version" and "kube_version" not in values.get("_given", ["kube_version"])
        for arch, versions in (table or {}).items():
            for listed, digest in (versions or {}).items():
                if any_release or str(listed).lstrip("v") == version:
                    result.setdefault(binary, {}).setdefault(arch, []).append(parse_digest(digest))
    for name, digests in parse_sums_file(sums_text or "").items():
        if name in BINARIES:
            result.setdefault(name, {}).setdefault(ANY_ARCHITECTURE, []).extend(digests)
    if values.get("kubeguard_image_digests"):
        # not a binary: the static pods' images, image reference -> digest (verify_images)
        result[IMAGES] = {ref: [parse_digest(digest)] for ref, digest in values["kubeguard_image_digests"].items()}
    return result


IMAGES = "images"


def images_problem(value: Any) -> Optional[str]:
    """Validation of kubeguard_image_digests: {image reference: sha256:<hex>}."""
    if not isinstance(value, Mapping):
        return "must be a mapping of image reference to sha256:<hex>, e.g. {registry.k8s.io/kube-apiserver:v1.34.4: sha256:...}"
    for ref, digest in value.items():
        if not isinstance(ref, str) or not re.fullmatch(r"[a-z0-9][a-z0-9._/:@-]{0,254}", ref):
            return f"{str(ref)[:80]!r} must be an image reference as in the manifest (registry/name:tag)"
        if parse_digest(digest) is None or not str(parse_digest(digest)).startswith("sha256:"):
            return f"{ref}: {str(digest)[:80]!r} must be sha256:<64 hex> (the image's registry digest)"
    return None


def manifest_images(manifests_dir: str) -> Dict[str, str]:
    """{static pod file: image} of every container in the node's static pod manifests."""
    from ..formats.manifest import load_yaml   # local: PyYAML only where manifests are read
    found: Dict[str, str] = {}
    try:
        names = sorted(n for n in os.listdir(manifests_dir) if n.endswith((".yaml", ".yml", ".json")))
    except OSError:
        return found
    for name in names:
        try:
            with open(os.path.join(manifests_dir, name), encoding="utf-8") as handle:
                pod = load_yaml(handle.read())
        except Exception:   # pylint: disable=broad-except  # one unreadable file: the others are still judged
            continue
        for container in ((pod or {}).get("spec") or {}).get("containers") or []:
            if isinstance(container, dict) and container.get("image"):
                found[f"{name}:{container.get('name')}"] = str(container["image"])
    return found


def image_store_digests(run: Callable[[List[str]], Tuple[int, str]], socket: str) -> Optional[Dict[str, str]]:
    """{image reference: digest} of the runtime's images (ctr images ls, k8s.io namespace); None if it does not answer."""
    rc, out = run(["ctr", "--address", socket, "--namespace", "k8s.io", "images", "ls"])
    if rc != 0:
        return None
    found = {}
    for line in out.splitlines()[1:]:
        words = line.split()
        if len(words) >= 3 and words[2].startswith("sha256:"):
            found[words[0]] = words[2]
    return found


def verify_images(wanted: Mapping[str, Sequence[str]], manifests_dir: str, socket: str,
                  run: Callable[[List[str]], Tuple[int, str]]) -> Optional[Dict[str, Any]]:
    """{passed, found} for the static pods' images against the given digests (None: none of them is given for an
    image these manifests use). A reference pinned by digest (name@sha256:...) is judged by that digest; else by
    what the runtime holds under that reference."""
    images = manifest_images(manifests_dir)
    judged = {pod: image for pod, image in images.items() if image.split("@")[0] in wanted or image in wanted}
    if not judged:
        return None
    store = None
    bad, good = [], []
    for pod, image in sorted(judged.items()):
        accepted = list(wanted.get(image) or wanted.get(image.split("@")[0]) or [])
        if "@" in image:
            actual: Optional[str] = image.split("@", 1)[1]
        else:
            store = image_store_digests(run, socket) if store is None else store
            actual = None if store is None else store.get(image)
        if actual in accepted:
            good.append(image)
        else:
            bad.append(f"{pod} {image} is {actual or 'not in the runtime (ctr images ls)'}; expected {' or '.join(accepted)}")
    return {"passed": not bad, "found": "; ".join(bad) if bad else f"{len(good)} images match: {', '.join(good)}"}


def locate(binary: str, dirs: Sequence[str] = SEARCH_DIRS) -> Optional[str]:
    for directory in dirs:
        path = os.path.join(directory, binary)
        if os.path.isfile(path):
            return os.path.realpath(path)
    return None


_EXEC_PATH = re.compile(r"(?:^|[{;]\s*)path=(\S+)")


def unit_binary(binary: str, run: Optional[Callable[[List[str]], str]] = None) -> Optional[str]:
    """The binary the systemd unit named like it starts (ExecStart's path), when that is `binary`: what a stopped
    service runs when it starts again, wherever it is installed. None: no such unit, or it starts something else."""
    if run is None:
        from .health import _run as run   # local: the controller side (expected) needs none of it
    text = run(["systemctl", "show", "-p", "ExecStart", "--value", f"{binary}.service"]) or ""
    for path in _EXEC_PATH.findall(text):
        if os.path.basename(path) == binary and os.path.isabs(path):
            return path
    return None


def running_binaries(binary: str, proc_root: str = "/proc") -> List[Tuple[str, str]]:
    """[(path to hash, how to name it)] of the binaries that the processes which are `binary` execute
    (health.component_processes: argv[0], /proc/<pid>/exe and root all agree), each file once. Hashed
    through /proc/<pid>/exe: the file that runs, also when it was replaced on disk since it started."""
    from .health import component_processes   # local: the controller side (expected) needs none of it
    found: List[Tuple[str, str]] = []
    seen = set()
    for proc in component_processes(binary, proc_root):
        path = os.path.join(proc_root, proc.pid, "exe")
        try:
            stat = os.stat(path)
            identity: Tuple[Any, ...] = (stat.st_dev, stat.st_ino)
        except OSError:
            identity = ("pid", proc.pid)
        if identity not in seen:
            seen.add(identity)
            found.append((path, f"{proc.exe} (running, pid {proc.pid})"))
    return found


def digest_of(path: str, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return f"{algorithm}:{hasher.hexdigest()}"


def _judge_files(files: Sequence[Tuple[str, str]], accepted: Sequence[str], arch: str) -> Dict[str, Any]:
    """{passed, found} for files that must each have one of the accepted digests (passed None: one could not be read)."""
    algorithms = sorted({d.split(":")[0] for d in accepted})
    good, bad, unreadable = [], [], []
    for path, label in files:
        try:
            actual = {algorithm: digest_of(path, algorithm) for algorithm in algorithms}
        except OSError as exc:
            unreadable.append(f"{label} could not be read ({exc.strerror or exc})")
            continue
        if any(actual[d.split(":")[0]] == d for d in accepted):
            good.append(f"{label} {next(iter(actual.values()))} matches")
        else:
            bad.append(f"{label} is {', '.join(actual.values())}; expected {' or '.join(accepted)} ({arch})")
    if bad:
        return {"passed": False, "found": "; ".join(bad + unreadable + good)}
    if unreadable:
        return {"passed": None, "found": "; ".join(unreadable + good) + ": not judged"}
    return {"passed": True, "found": "; ".join(good)}


def verify(wanted: Mapping[str, Mapping[str, Sequence[str]]], machine: Optional[str] = None,
           find: Callable[[str], Optional[str]] = locate, proc_root: str = "/proc",
           unit_exec: Callable[[str], Optional[str]] = unit_binary) -> Dict[str, Dict[str, Any]]:
    """On the node: binary -> {passed, found} for every binary with an expectation for this architecture.
    The binary that runs is hashed (every process that is it, through /proc/<pid>/exe); a stopped service's,
    the one its unit's ExecStart names (unit_exec); one that does not run (kubeadm, kubectl) where it is
    installed (find). None of these: passed None (reported manual, saying so) - a binary we cannot find is
    not a binary we checked."""
    arch = ARCHITECTURES.get(machine or platform.machine(), machine or platform.machine())
    results = {}
    for binary, by_arch in wanted.items():
        if binary == IMAGES:
            continue
        accepted = list(by_arch.get(arch) or []) + list(by_arch.get(ANY_ARCHITECTURE) or [])
        if not accepted:
            continue
        running = running_binaries(binary, proc_root)
        if running:
            results[binary] = _judge_files(running, accepted, arch)
            continue
        started = unit_exec(binary)
        if started is not None and os.path.isfile(started):
            results[binary] = _judge_files([(started, f"{started} (ExecStart of {binary}.service, not running)")], accepted, arch)
            continue
        path = find(binary)
        if path is None:
            results[binary] = {"passed": None,
                               "found": f"{binary} does not run on this node and is not installed in {', '.join(SEARCH_DIRS[:4])}, ...:"
                                        f" nothing to hash, not judged - find out where this node's {binary} is"}
            continue
        results[binary] = _judge_files([(path, path)], accepted, arch)
    return results
