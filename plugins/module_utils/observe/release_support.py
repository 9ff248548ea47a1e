"""Is the Kubernetes a node runs, and the kubectl on it, still supported? Upstream supports each minor until its
end-of-life date (the catalogue's `kubernetes_support`, from kubernetes.io/releases); your organisation may
require a newer patch of a minor (kubeguard_release_floor: its IAVM / CTO deadlines). The STIG's V-242443
(latest updates authorised) and V-242396 (kubectl at a supported version).

A minor newer than the support data is not judged (the data is older than the release: update the collection);
one older than all of it is out of support. "Today" is the controller's day (the state's `today`, which the actions
hand to the node), as for the waivers' expiry: a node's clock decides nothing."""

from __future__ import annotations

import datetime
import os
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..base import releases
from ..catalogue import checks

# "Client Version: v1.34.4" (kubectl 1.28 and later), or version.Info{... GitVersion:"v1.12.8" ...} before that
_CLIENT_VERSION = re.compile(r'^Client Version: (v1\.[0-9A-Za-z.+-]{3,60})\s*$|^Client Version: version\.Info\{.*?GitVersion:"(v1\.[0-9A-Za-z.+-]{3,60})"',
                             re.ASCII | re.MULTILINE)


def kubectl(run: Callable[[List[str]], Tuple[int, str]], bin_dirs: Sequence[str],
            refused: Callable[[str], Optional[str]]) -> List[Dict[str, Optional[str]]]:
    """[{path, version}] of every kubectl on the node's binary directories (one per real file). version None: it did not
    tell (`said` holds what it answered, cut short), or it was not run (`refused`: its file or a directory on the way
    is not root's alone - whoever may write there would choose what the audit runs as root)."""
    found: List[Dict[str, Optional[str]]] = []
    seen = set()
    for directory in bin_dirs:
        path = os.path.join(directory, "kubectl")
        if not os.access(path, os.X_OK) or os.path.realpath(path) in seen:
            continue
        seen.add(os.path.realpath(path))
        why = refused(path)
        if why:
            found.append({"path": path, "version": None, "said": f"not run: {why}"})
            continue
        rc, out = run([path, "version", "--client"])
        match = _CLIENT_VERSION.search(out or "") if rc == 0 else None
        if match:
            found.append({"path": path, "version": match.group(1) or match.group(2)})
        else:
            found.append({"path": path, "version": None, "said": (out or "").strip()[:200]})
    return found


def _minor_key(text: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def today_of(state: Mapping[str, Any]) -> datetime.date:
    """The controller's day the node was handed (audit.node_report), else this machine's in UTC."""
    given = state.get("today")
    return datetime.date.fromisoformat(given) if isinstance(given, str) else datetime.datetime.now(datetime.timezone.utc).date()


def judge(what: str, version: Any, support: Mapping[str, Any], floor: Sequence[str], today: datetime.date) -> checks.Outcome:
    """One release against upstream support and your floor. what: "this node's Kubernetes", "kubectl (/usr/bin/kubectl)"."""
    found = releases.parse(version)
    if found is None or found.patch is None:
        return checks.Outcome(None, f"{what}: no release could be read ({version!r}); not judged")
    minor = f"{found.major}.{found.minor}"
    known = sorted((str(k) for k in support), key=_minor_key)
    if not known:
        return checks.Outcome(None, f"{what} {version}: no support data; not judged")
    if minor not in support:
        if _minor_key(minor) > _minor_key(known[-1]):
            return checks.Outcome(None, f"{what} {version}: newer than the support data (up to v{known[-1]}); not judged - update the collection")
        return checks.Outcome(False, f"{what} {version}: v{minor} is older than every minor upstream still lists (v{known[0]} and later)")
    end = datetime.date.fromisoformat(str(support[minor]))
    if today > end:
        return checks.Outcome(False, f"{what} {version}: v{minor} reached its end of life on {end} (upstream support); upgrade")
    wanted = next((f for f in floor if releases.minor_of(f) == (found.major, found.minor)), None)
    least = releases.parse(wanted) if wanted else None
    if least is not None and releases.order(found) < releases.order(least):
        return checks.Outcome(False, f"{what} {version}: older than your floor {wanted} for v{minor} (kubeguard_release_floor)")
    said = f"at or above your floor {wanted}" if wanted else f"no floor set for v{minor} (kubeguard_release_floor)"
    return checks.Outcome(True, f"{what} {version}: v{minor} supported upstream until {end}; {said}")


def evaluate(check: Mapping[str, Any], state: Mapping[str, Any]) -> Optional[checks.Outcome]:
    """{release: kubernetes} - the release the node runs (its report's `kubernetes.running`); {release: kubectl} - the
    kubectl on the node, also within one minor of the node's release (Kubernetes' version skew policy); with
    at_least, kubectl at that release or newer only."""
    expected = state.get("expectations") or {}
    support = state.get("kubernetes_support") or {}
    floor = list(expected.get("release_floor") or [])
    running = (state.get("kubernetes") or {}).get("running")
    today = today_of(state)
    if check["release"] == "kubernetes":
        if "kubernetes" not in state:
            return None   # a state judged without the node's release (a predicted one): the release does not change
        source = str((state.get("kubernetes") or {}).get("running_source") or "")
        if running and not source.startswith("the running "):
            return checks.Outcome(None, f"this node's Kubernetes {running} was read from {source}, not from a running process; not judged")
        return judge("this node's Kubernetes", running, support, floor, today)
    found = state.get("kubectl") or []
    if not found:
        return checks.Outcome(True, "no kubectl on this node's binary directories")
    outcomes = [_kubectl(check, one, running, support, floor, today) for one in found]
    return checks.Outcome(_all_pass([o.passed for o in outcomes]), "; ".join(o.found for o in outcomes))


def _all_pass(passed: Sequence[Optional[bool]]) -> Optional[bool]:
    """Every kubectl must pass: one failing fails, one not judged leaves the rest undecided unless one fails."""
    if any(p is False for p in passed):
        return False
    return None if any(p is None for p in passed) else True


def _kubectl(check: Mapping[str, Any], seen: Mapping[str, Any], running: Any, support: Mapping[str, Any], floor: Sequence[str],
             today: datetime.date) -> checks.Outcome:
    what = f"kubectl ({seen.get('path')})"
    if not seen.get("version"):
        return checks.Outcome(None, f"{what} did not tell its version ({seen.get('said') or 'no answer'}); not judged")
    if check.get("at_least"):   # a rule's own bar (V-242396: v1.12.9, where kubectl cp was mended)
        ours, least = releases.parse(seen["version"]), releases.parse(check["at_least"])
        if ours is None or least is None or ours.patch is None:
            return checks.Outcome(None, f"{what} {seen['version']}: not a release; not judged")
        newer = releases.order(ours) >= releases.order(least)   # a release candidate comes before its release
        return checks.Outcome(newer, f"{what} {seen['version']}: {'at or above' if newer else 'older than'} {check['at_least']}")
    outcome = judge(what, seen["version"], support, floor, today)
    ours, node = releases.minor_of(seen["version"]), releases.minor_of(running)
    if outcome.passed and not node:
        return checks.Outcome(outcome.passed, f"{outcome.found}; its skew from this node's release not judged (the release is unknown)")
    if outcome.passed and ours and (ours[0] != node[0] or abs(ours[1] - node[1]) > 1):
        return checks.Outcome(False, f"{outcome.found}; but more than one minor from this node's {running} (version skew policy)")
    return outcome
