# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the controller hands the node modules (node_plan, cis_audit) beside their task arguments: the hardening
variables validated (with the digests the nodes' binaries must have, read from the sums file here) and the data
files (catalogue, platforms), read in-process. Controller side only: action plugins and filters import this."""

from __future__ import annotations

import datetime
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.kubeguard.hardening.plugins.module_utils.base import releases
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import integrity

NAMES: Tuple[str, ...] = tuple(v.name for v in hardening_vars.VARIABLES)
# every variable in scope that could be a misspelt one of ours ("did you mean")
LOOKALIKES = re.compile("^(" + "|".join(re.escape(prefix) for prefix in hardening_vars.OUR_PREFIXES) + ")")
SUMS_LIMIT = 1 << 20   # a sums file larger than this is not one


def plain(data: Any) -> Any:
    """Plain Python types: ansible-core 2.19 hands plugins tagged str/dict subclasses that PyYAML
    and equality checks in the core do not expect."""
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, int):
        return int(data)
    if isinstance(data, float):
        return float(data)
    if isinstance(data, str):
        return str(data)
    if isinstance(data, dict):
        return {plain(key): plain(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [plain(item) for item in data]
    return data


def validated(variables: Mapping[str, Any], present: Iterable[str] = ()) -> Tuple[Dict[str, Any], List[str]]:
    """All hardening variables with kubespray's defaults filled in, and the notes to show (a removed feature gate
    dropped, a name that looks like a misspelt one of ours). `_checksums`: integrity.expected, with
    kubeguard_binary_checksums_file read here, on the controller. ValueError naming every bad variable."""
    try:
        values = hardening_vars.validate(plain(dict(variables)), plain(list(present)))
    except hardening_vars.HardeningVarsError as exc:
        raise ValueError(str(exc)) from None
    sums_text = ""
    if values["kubeguard_binary_checksums_file"]:
        try:
            with open(values["kubeguard_binary_checksums_file"], encoding="utf-8") as handle:
                sums_text = handle.read(SUMS_LIMIT)
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"kubeguard_binary_checksums_file: {values['kubeguard_binary_checksums_file']}: "
                             f"cannot be read on the controller ({getattr(err, 'strerror', None) or err})") from None
    values["_checksums"] = integrity.expected(values, sums_text)
    return values, list(values.get("_notes", []))


def problems_at_release(variables: Mapping[str, Any], judged_at: str, runs: Any) -> Optional[str]:
    """What the variables get wrong at the release a node runs (read by its plan), when validation judged them at
    another minor: the gates, flags and values that release's components refuse (its component data), so that a
    component is never restarted into a refusal. None when nothing is wrong or the release is no Kubernetes one."""
    release = releases.parse(runs)
    if release is None or release.major != 1 or releases.minor_of(judged_at) == (release.major, release.minor):
        return None
    at = f"v1.{release.minor}.{release.patch or 0}"
    try:
        validated(dict(variables, kube_version=at))
    except ValueError as exc:
        return f"at {at}: {exc}"
    return None


def lookalikes(names: Iterable[str]) -> List[str]:
    """The names that could be misspelt hardening variables (validate says which are and what was meant)."""
    return [name for name in names if isinstance(name, str) and LOOKALIKES.match(name)]


def today() -> str:
    """The controller's day (UTC, YYYY-MM-DD): waivers expire and releases end by it, whatever a node's clock says."""
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


def data_files(part: str) -> Dict[str, Any]:
    """The data a node module takes as parameters: the catalogue ('full' for node_plan: settings and kubelet
    flags too; 'controls' for cis_audit) and every platform. Only Python files travel to nodes."""
    data = catalogue.load()
    if part == "full":
        chosen: Dict[str, Any] = data
    elif part == "controls":
        chosen = catalogue.audit_part(data)
    else:
        raise ValueError(f"data_files: part must be full or controls, not {part!r}")
    return {"catalogue": chosen, "platforms": catalogue.load_platforms()}


def _warm() -> None:
    """Read the data files and fill the validation's caches now. The linear strategy imports an action plugin in
    the controller's main process before it forks one worker per host for the task, and every worker inherits what
    was read here: on a fleet that is once per run, not once per task and host."""
    try:
        data_files("full")
        validated({})
    except (OSError, ValueError, KeyError, TypeError):
        pass   # broken data files: the real call fails with its own message, in the task that needs them


_warm()
