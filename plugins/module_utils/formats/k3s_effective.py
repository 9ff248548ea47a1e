"""What k3s really starts with: config.yaml, then its drop-ins, then the unit's command line.

k3s reads /etc/rancher/k3s/config.yaml and then config.yaml.d/*.yaml|*.yml in name order; a key in a
later file replaces the earlier value, unless it is written `key+:`, which appends to it. Flags on
the unit's command line come last: they replace a single value and append to a list. So a drop-in
`kube-apiserver-arg: [...]` without `+` silently replaces every argument we put in config.yaml, and
`kube-apiserver-arg+: [profiling=true]` overrides one of them (for repeated flags the last wins).

Pure functions plus small readers; node_plan refuses (or waives) what the drop-ins undo before any
change, and the audit reads a stopped k3s' arguments the same way.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from .fileops import dropin_files as files_in, read_text as _read
from .k3s_config import K3sConfigError, arg_text, split_arg
from ..base.yaml_support import SAFE_LOADER, error_summary, yaml

DROPIN_SUFFIXES = (".yaml", ".yml")
# k3s' boolean flags (a following word is not their value); the rest take one.
BOOLEAN_FLAGS = frozenset("""
cluster-init cluster-reset protect-kernel-defaults secrets-encryption disable-network-policy disable-kube-proxy
disable-cloud-controller disable-helm-controller disable-scheduler disable-apiserver disable-controller-manager
disable-etcd selinux rootless debug embedded-registry supervisor-metrics prefer-bundled-bin with-node-id docker
flannel-ipv6-masq flannel-external-ip etcd-expose-metrics etcd-disable-snapshots etcd-snapshot-compress etcd-s3
etcd-s3-insecure etcd-s3-skip-ssl-verify kine-tls enable-pprof disable-agent disable-default-registry-endpoint
""".split())
CONFIG_ENV = "K3S_CONFIG_FILE"
COMMAND_LINE = "the k3s unit's command line"


class Source(NamedTuple):
    name: str                 # a file path, or COMMAND_LINE
    options: Mapping[str, Any]


def dropin_files(config_path: str) -> List[str]:
    """config.yaml.d's files k3s reads, in its order (directories and other suffixes skipped)."""
    return files_in(config_path + ".d", DROPIN_SUFFIXES, ignore_case=True)


def load_options(name: str, text: str) -> Dict[str, Any]:
    try:
        doc = yaml.load(text, Loader=SAFE_LOADER) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise K3sConfigError(f"{name}: not valid YAML: {error_summary(exc)}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise K3sConfigError(f"{name}: must hold a YAML mapping of k3s options")
    return {str(key): value for key, value in doc.items()}


def _as_items(value: Any) -> List[Any]:
    if isinstance(value, list):
        return list(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    return [value]


def merge(sources: Sequence[Source]) -> Tuple[Dict[str, Any], Dict[str, List[str]]]:
    """(options, origins) as k3s merges them: per key, the sources that make up its value."""
    options: Dict[str, Any] = {}
    origins: Dict[str, List[str]] = {}
    for source in sources:
        for raw_key, value in source.options.items():
            appends = raw_key.endswith("+")
            key = raw_key[:-1] if appends else raw_key
            if appends and key in options:
                options[key] = _as_items(options[key]) + _as_items(value)
                origins[key].append(source.name)
            else:
                options[key] = value
                origins[key] = [source.name]
    return options, origins


def unit_command(unit_text: str, name: str = "the unit") -> List[str]:
    """The words of the unit's (last) ExecStart, continuation lines joined; [] without one."""
    joined = re.sub(r"\\\n", " ", unit_text)
    command: List[str] = []
    for line in joined.splitlines():
        match = re.match(r"\s*ExecStart\s*=(.*)$", line)
        if match:
            try:
                words = shlex.split(match.group(1), comments=False)
            except ValueError as exc:
                raise K3sConfigError(f"{name}: ExecStart cannot be read ({exc})") from None
            command = words   # an empty ExecStart= resets, a later one replaces
    if command:
        command[0] = command[0].lstrip("-@+!:")
    return command


def command_line_options(words: Sequence[str]) -> Dict[str, Any]:
    """The options after `server` / `agent`, as a source: repeated flags collect into a list,
    written `flag+` so that merge appends them to the files' lists as k3s does."""
    try:
        start = next(i for i, word in enumerate(words) if word in ("server", "agent")) + 1
    except StopIteration:
        return {}
    found: Dict[str, List[Any]] = {}
    index = start
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith("-") or word in ("-", "--"):
            continue
        name, sep, value = word.lstrip("-").partition("=")
        if not sep:
            if name in BOOLEAN_FLAGS or index >= len(words) or words[index].startswith("-"):
                value = "true"
            else:
                value = words[index]
                index += 1
        found.setdefault(name, []).append(value)
    return {f"{name}+": values for name, values in found.items()}


def unit_text(unit_path: str) -> Optional[str]:
    """The unit file followed by its drop-ins (unit.d/*.conf, in systemd's order); None without the unit."""
    text = _read(unit_path)
    if text is None:
        return None
    return "\n".join([text] + [_read(path) or "" for path in files_in(unit_path + ".d", (".conf",))])


def environment_config_file(unit_text: str, unit_path: str) -> Optional[Tuple[str, str]]:
    """(path, where it is set) when the unit's environment files point k3s at another config file."""
    names = [match.group(1).strip().lstrip("-").replace("%N", os.path.splitext(os.path.basename(unit_path))[0])
             for match in re.finditer(r"^\s*EnvironmentFile\s*=(.*)$", unit_text, re.MULTILINE)]
    found = None
    for name in names:
        for line in (_read(name) or "").splitlines():
            match = re.match(rf"^\s*(?:export\s+)?{CONFIG_ENV}\s*=\s*(.*?)\s*$", line)
            if match:
                found = (match.group(1).strip("'\""), name)
    for line in re.finditer(rf"^\s*Environment\s*=.*\b{CONFIG_ENV}=([^\s\"']+)", unit_text, re.MULTILINE):
        found = (line.group(1), unit_path)
    return found


def sources(config_path: str, config_text: Optional[str] = None, unit_path: Optional[str] = None) -> List[Source]:
    """What k3s reads, in order. config_text: config.yaml as this run would leave it (None: as it is).
    Raises K3sConfigError when k3s is pointed at another config file than config_path."""
    text = _read(config_path) if config_text is None else config_text
    found = [Source(config_path, load_options(config_path, text))] if text is not None else []
    found += [Source(path, load_options(path, _read(path) or "")) for path in dropin_files(config_path)]
    text_of_unit = unit_text(unit_path) if unit_path else None
    if text_of_unit:
        options = command_line_options(unit_command(text_of_unit, unit_path))
        other = options.get("config+") or options.get("c+")
        elsewhere = (other[-1], COMMAND_LINE) if other else environment_config_file(text_of_unit, unit_path)
        if elsewhere and os.path.normpath(elsewhere[0]) != os.path.normpath(config_path):
            raise K3sConfigError(f"k3s is told to read {elsewhere[0]} ({CONFIG_ENV} or --config in {elsewhere[1]}),"
                                 f" not {config_path}: the hardening would not reach it; remove that setting or"
                                 f" merge that file into {config_path}")
        options = {key: value for key, value in options.items() if key not in ("config+", "c+")}
        if options:
            found.append(Source(COMMAND_LINE, options))
    return found


class Override(NamedTuple):
    option: str               # config.yaml key (kube-apiserver-arg, protect-kernel-defaults)
    flag: Optional[str]       # the flag inside a list option; None for a top-level option
    wanted: Optional[str]     # our value (None: the flag must be absent)
    effective: Optional[str]  # what k3s starts with (None: absent)
    by: Tuple[str, ...]       # the drop-ins / command line that decide it

    def describe(self) -> str:
        what = f"{self.option}: {self.flag}" if self.flag else self.option
        ours = "absent" if self.wanted is None else self.wanted
        theirs = "absent" if self.effective is None else self.effective
        return f"{', '.join(self.by)} makes {what} {theirs} (this run sets {ours})"


def overrides(sources_: Sequence[Source], lists: Mapping[str, Mapping[str, Any]],
              top: Mapping[str, Any]) -> List[Override]:
    """Our options (lists: {option: {flag: value or None}}, top: {option: value or None}) that the
    sources after config.yaml undo, naming those sources."""
    options, origins = merge(sources_)
    first = sources_[0].name if sources_ else None
    found: List[Override] = []

    def deciders(option: str) -> Tuple[str, ...]:
        return tuple(name for name in origins.get(option, []) if name != first)

    for option, flags in lists.items():
        effective = dict(split_arg(item) for item in _as_items(options.get(option)))
        for flag, value in flags.items():
            wanted = None if value is None else arg_text(value)
            if effective.get(flag) != wanted or (wanted is None and flag in effective):
                found.append(Override(option, flag, wanted, effective.get(flag) if flag in effective else None,
                                      deciders(option)))
    for option, value in top.items():
        wanted = None if value is None else arg_text(value)
        current = options.get(option)
        effective = None if current is None else arg_text(_as_items(current)[-1] if isinstance(current, list) else current)
        if effective != wanted:
            found.append(Override(option, None, wanted, effective, deciders(option)))
    return [item for item in found if item.by]
