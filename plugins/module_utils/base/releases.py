"""Kubernetes release strings read as numbers, in one place: "v1.34.4", kubespray's "1.34.4", a minor alone
("v1.34", every v1.34.x), a release candidate ("v1.35.0-rc.1") and a distribution's build ("v1.36.3+k3s1").

Why one place: the benchmark choice, the variable model, the component data, the cluster-version filter and
the node plan each read these strings their own way (a regex, a split on dots, a string prefix) and disagreed
at the edges (k3s' "+k3s1", a leading "v", a release candidate). This is the one reading; what is not a release
is None here, and each caller keeps its own answer to that (None, minor 0, the newest data, an error).

A leaf: the standard library only (module_utils' base layer), so it travels to nodes with the modules.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple, Optional, Tuple

# Longer is no release (the longest real ones, "v1.35.0-rc.1+k3s1", are a fraction of it): refused before the
# pattern, so a huge string costs nothing.
MAX_LENGTH = 64
# ASCII digits only ([0-9], never \d, which also matches other scripts' digits), matched in full (a trailing
# newline is no match). Numbers without leading zeros ("v1.034", "1.34.04" name no release: Kubernetes never
# writes them, and semver forbids them). A pre-release or build suffix only after a patch number, as semver writes
# them: identifiers separated by dots, none empty ("rc..1", "rc." are none), the first beginning with a letter or digit.
_NUMBER = r"(?:0|[1-9][0-9]{{0,{more}}})"
_IDENTIFIERS = r"[0-9A-Za-z][0-9A-Za-z-]*(?:\.[0-9A-Za-z-]+)*"
_RELEASE_RE = re.compile(
    rf"v?(?P<major>{_NUMBER.format(more=2)})\.(?P<minor>{_NUMBER.format(more=2)})"
    rf"(?:\.(?P<patch>{_NUMBER.format(more=3)})(?:-(?P<pre>{_IDENTIFIERS}))?(?:\+(?P<build>{_IDENTIFIERS}))?)?",
    re.ASCII)


class Release(NamedTuple):
    """One release string, read. patch None: a minor alone (v1.34 names every v1.34.x)."""
    major: int
    minor: int
    patch: Optional[int] = None
    pre: str = ""     # "rc.1" of v1.35.0-rc.1: a release candidate, not the release
    build: str = ""   # "k3s1" of v1.36.3+k3s1: a distribution's build of that release


def parse(text: Any) -> Optional[Release]:
    """The release `text` names, or None when it names none: not a string (None, an int, a float, bytes), too
    long, or not MAJOR.MINOR[.PATCH[-PRE][+BUILD]] with an optional leading "v" (no spaces, no second "v", no
    leading zeros, PRE and BUILD dot-separated identifiers none of which is empty)."""
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        return None
    match = _RELEASE_RE.fullmatch(text)
    if match is None:
        return None
    patch = match.group("patch")
    return Release(int(match.group("major")), int(match.group("minor")), None if patch is None else int(patch),
                   match.group("pre") or "", match.group("build") or "")


def order(found: Release) -> Tuple[int, int, int, bool]:
    """A key that sorts releases as Kubernetes ships them: a pre-release before its release (v1.35.0-rc.1 <
    v1.35.0), a minor alone as its .0; a build suffix (+k3s1) is that release. Pre-releases of one release sort
    equal (alpha.1, rc.2): a floor or a bar is never a pre-release, so nothing needs their order."""
    return (found.major, found.minor, found.patch or 0, not found.pre)


def minor_of(text: Any) -> Optional[Tuple[int, int]]:
    """(major, minor) of the release `text` names ("v1.36.3+k3s1" -> (1, 36)), None when it names none (parse)."""
    found = parse(text)
    return None if found is None else (found.major, found.minor)
