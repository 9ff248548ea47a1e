"""What the components of a Kubernetes release accept, as their built binaries say it: flags and their
types, feature gates with stage, default and lock, the TLS cipher suites they call preferred or insecure
and the TLS versions they take. One file per minor release, components/v1.<minor>.yml, written by
tools/gen_component_data.py from the test bed's binaries (a test holds the file to the generator's output).

Read on the controller by the validation; the files do not travel to nodes (only Python does), so nothing
here is read at import time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..base import releases
from ..base.component_names import ETCD
from . import component_registry
from ..base.yaml_support import SAFE_LOADER, yaml

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "components")
KUBE_COMPONENTS = component_registry.KUBE_BINARIES
_FILE_RE = re.compile(r"v1\.([0-9]+)\.yml")


@dataclass(frozen=True)
class Release:
    """The data judging one cluster: of its own minor release (exact), or of the nearest one the collection has."""
    minor: int
    data: Mapping[str, Any]
    exact: bool
    note: Optional[str] = None
    asked: Optional[str] = None   # the kube_version judged
    context: Optional[str] = None   # said after the component's name when the data is not the cluster's own

    @property
    def name(self) -> str:
        return f"v1.{self.minor}"

    def label(self, component: str) -> str:
        """'kube-apiserver v1.34' or 'etcd v3.6.5' (the binary whose data judges), and whose data it is when the
        cluster runs another release."""
        version = self.data.get(ETCD) if component == ETCD else self.name
        if component == ETCD:   # its own release, whatever Kubernetes runs
            return f"{component} {version}"
        if self.context:
            return f"{component} {version} ({self.context})"
        return f"{component} {version}" + ("" if self.exact else f" (the nearest release with data; the cluster runs {self.asked})")

    def component(self, name: str) -> Mapping[str, Any]:
        return (self.data.get("components") or {}).get(name) or {}

    def flags(self, component: str) -> Mapping[str, Mapping[str, Any]]:
        return self.component(component).get("flags") or {}

    def gates(self, component: str) -> Mapping[str, Mapping[str, Any]]:
        return self.component(component).get("feature_gates") or {}

    def cipher_suites(self) -> Tuple[List[str], List[str]]:
        """(preferred, insecure) names, as every Kubernetes component of the release lists them (the same Go)."""
        preferred: List[str] = []
        insecure: List[str] = []
        for name in KUBE_COMPONENTS:
            suites = (self.component(name).get("tls") or {}).get("cipher_suites") or {}
            preferred += [s for s in suites.get("preferred") or [] if s not in preferred]
            insecure += [s for s in suites.get("insecure") or [] if s not in insecure]
        return preferred, insecure

    def tls_versions(self) -> List[str]:
        found: List[str] = []
        for name in KUBE_COMPONENTS:
            found += [v for v in (self.component(name).get("tls") or {}).get("versions") or [] if v not in found]
        return found


@lru_cache(maxsize=4)
def known_minors(directory: str = DATA_DIR) -> List[int]:
    try:
        entries = os.listdir(directory)
    except OSError:
        return []
    return sorted(int(m.group(1)) for m in (_FILE_RE.fullmatch(e) for e in entries) if m)


@lru_cache(maxsize=8)
def _load(minor: int, directory: str = DATA_DIR) -> Dict[str, Any]:
    with open(os.path.join(directory, f"v1.{minor}.yml"), encoding="utf-8") as handle:
        return yaml.load(handle, Loader=SAFE_LOADER)


def for_version(kube_version: Any, directory: str = DATA_DIR) -> Optional[Release]:
    """The data for kube_version's minor, else the nearest release's (a newer one on a tie) with a note saying so;
    None when there is no data at all (an install without the files: nothing is judged by them)."""
    known = known_minors(directory)
    if not known:
        return None
    found = releases.parse(kube_version)
    if found is None or found.major != 1:
        return Release(known[-1], _load(known[-1], directory), exact=False)
    wanted = found.minor
    kube_version = kube_version if kube_version.startswith("v") else "v" + kube_version   # as the validation normalises it
    nearest = min(known, key=lambda minor: (abs(minor - wanted), -minor))
    if nearest == wanted:
        return Release(wanted, _load(wanted, directory), exact=True)
    note = (f"kube_version: {kube_version}: the collection has no component data for v1.{wanted} (it has "
            f"{', '.join(f'v1.{m}' for m in known)}); feature gates, flags and TLS names are judged with v1.{nearest}'s,"
            " the nearest (tools/gen_component_data.py writes the data of other builds)")
    return Release(nearest, _load(nearest, directory), exact=False, note=note, asked=kube_version)


@lru_cache(maxsize=4)
def removed_gates(directory: str = DATA_DIR) -> Dict[str, Tuple[str, bool]]:
    """{gate: (release, locked value)} for each gate locked in one release's data and in no component of the next
    one's: removed in that release, the feature always at the value it was locked to (what validation drops
    when asked for at that value, and refuses otherwise). From the data, never a hand list."""
    known = known_minors(directory)
    found: Dict[str, Tuple[str, bool]] = {}
    for older, newer in zip(known, known[1:]):
        still = set()
        for component in (_load(newer, directory).get("components") or {}).values():
            still.update((component or {}).get("feature_gates") or {})
        for component in (_load(older, directory).get("components") or {}).values():
            for name, info in ((component or {}).get("feature_gates") or {}).items():
                if (info or {}).get("locked") and name not in still and name not in found:
                    found[str(name)] = (f"v1.{newer}", bool(info.get("default")))
    return found


def newest(directory: str = DATA_DIR) -> Optional[Release]:
    known = known_minors(directory)
    return Release(known[-1], _load(known[-1], directory), exact=True) if known else None
