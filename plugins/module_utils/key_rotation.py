"""Rotating the encryption-at-rest key of every control plane (kubeguard.hardening.rotate_keys).

The procedure of the Kubernetes docs, made resumable: the state of a rotation is read from the
control planes' own encryption configs, never from a record of ours, so a run that failed at any
step is finished by running again.

  stage    the new key is added as a read-only key on every control plane (several control planes
           only: an apiserver must be able to read with a key before any other writes with it)
  promote  the new key becomes the first, the one every apiserver writes with
  (rewrite every object of kube_encryption_resources, done by the playbook)
  retire   the old keys (and providers of earlier algorithms) are removed

Keys are named key<N>; a new key takes the next number, so the newest key is the highest number.
A rotation is under way while the provider holds more than one key; with one key a run starts one.
"""

from __future__ import annotations

import copy
import os
import re
from typing import Any, Callable, Dict, List, Optional


from .desired import new_key
from .yaml_support import yaml

STEPS = ("stage", "promote", "retire")
_NUMBERED = re.compile(r"key([0-9]{1,9})")


class RotationError(ValueError):
    """The control planes are in a state no step of a rotation can continue from safely."""


def _providers(config: Dict[str, Any]) -> List[Dict[str, Any]]:
    resources = config.get("resources") or []
    return list((resources[0] or {}).get("providers") or []) if resources else []


def _number(name: str) -> int:
    match = _NUMBERED.fullmatch(str(name))
    return int(match.group(1)) if match else 0


def _node_keys(config: Dict[str, Any], algorithm: str, index: int) -> List[Dict[str, str]]:
    providers = _providers(config)
    if not providers or algorithm not in providers[0]:
        first = next(iter(providers[0]), "nothing") if providers else "nothing"
        raise RotationError(
            f"control plane {index + 1} writes with {first}, not {algorithm} (kube_encryption_algorithm): "
            "run kubeguard.hardening.harden first so every control plane encrypts with it")
    return list((providers[0][algorithm] or {}).get("keys") or [])


def _parse(node_texts: List[Optional[str]]) -> List[Dict[str, Any]]:
    configs = []
    for index, text in enumerate(node_texts):
        config = yaml.safe_load(text) if text else None
        if not isinstance(config, dict):
            raise RotationError(
                f"control plane {index + 1} has no encryption config: enable kube_encrypt_secret_data and run "
                "kubeguard.hardening.harden before rotating keys")
        configs.append(config)
    if not configs:
        raise RotationError("no control plane to rotate keys on (group kube_control_plane is empty)")
    return configs


def _known_keys(configs: List[Dict[str, Any]], algorithm: str) -> List[Dict[str, str]]:
    """Every key of the algorithm on any node, first seen first; a name with two secrets is refused."""
    known: Dict[str, Dict[str, str]] = {}
    for index, config in enumerate(configs):
        for key in _node_keys(config, algorithm, index):
            name = str(key.get("name", ""))
            if name in known and known[name].get("secret") != key.get("secret"):
                raise RotationError(
                    f"key {name!r} has a different secret on control plane {index + 1}: make the encryption "
                    "configs identical by hand (copy one node's file to the others) before rotating")
            known.setdefault(name, dict(key))
    return list(known.values())


def _config(template: Dict[str, Any], algorithm: str, keys: List[Dict[str, str]], older: List[Dict[str, Any]]) -> Dict[str, Any]:
    config = copy.deepcopy(template)
    resource = config["resources"][0]
    resource["providers"] = [{algorithm: {"keys": copy.deepcopy(keys)}}] + copy.deepcopy(older) + [{"identity": {}}]
    return config


def rotation_config(node_texts: List[Optional[str]], index: int, algorithm: str, step: str,
                    random_bytes: Callable[[int], bytes] = os.urandom) -> Dict[str, Any]:
    """The encryption config control plane `index` gets in `step`; its current config when nothing changes.

    node_texts holds every control plane's file as read just now (empty: no file), in inventory order.
    """
    if step not in STEPS:
        raise RotationError(f"unknown rotation step {step!r}; one of {', '.join(STEPS)}")
    configs = _parse(node_texts)
    this = configs[index]
    keys = _known_keys(configs, algorithm)
    if len(keys) == 1:
        if step == "retire":  # nothing but providers of earlier algorithms to drop (after the rewrite)
            return _config(this, algorithm, keys, [])
        if step == "promote" and len(configs) > 1:  # several control planes start in the stage step
            return copy.deepcopy(this)
        # Start: a new key, numbered after every key the nodes have.
        newest = {"name": f"key{max(_number(k['name']) for k in keys) + 1}", "secret": new_key(algorithm, random_bytes)}
        keys = keys + [newest]
    newest = max(keys, key=lambda k: _number(k["name"]))
    older_keys = [k for k in keys if k is not newest]
    node_keys = _node_keys(this, algorithm, index)
    node_names = [k["name"] for k in node_keys]
    older_providers = [p for p in _providers(this)[1:] if "identity" not in p]
    if step == "stage":
        if len(configs) == 1 or newest["name"] in node_names:
            return copy.deepcopy(this)
        return _config(this, algorithm, node_keys + [newest], older_providers)
    if step == "promote":
        lacking = [n + 1 for n, config in enumerate(configs) if n != index
                   and newest["name"] not in [k["name"] for k in _node_keys(config, algorithm, n)]]
        if lacking:
            raise RotationError(
                f"the new key {newest['name']} is not yet readable on control plane(s) {lacking}: "
                "it cannot become the key this one writes with (run the stage step first)")
        if node_names and node_names[0] == newest["name"]:
            return copy.deepcopy(this)
        return _config(this, algorithm, [newest] + [k for k in node_keys if k["name"] != newest["name"]], older_providers)
    # retire: only once every control plane writes with the newest key (the playbook rewrites in between)
    not_promoted = [n + 1 for n, config in enumerate(configs)
                    if [k["name"] for k in _node_keys(config, algorithm, n)][:1] != [newest["name"]]]
    if not_promoted:
        raise RotationError(
            f"control plane(s) {not_promoted} do not write with the new key {newest['name']} yet: "
            "the old keys stay until every control plane does and every object was rewritten")
    return _config(this, algorithm, [newest], [])
