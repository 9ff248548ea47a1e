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

import base64
import copy
import os
import re
from typing import Any, Callable, Dict, List, Mapping, Optional


from ..base.yaml_support import error_summary, safe_load, yaml

# the bytes of a new key, by provider (32: AES-256 / XSalsa20)
KEY_BYTES = {"secretbox": 32, "aescbc": 32, "aesgcm": 32}


def new_key(algorithm: str, random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    return base64.b64encode(random_bytes(KEY_BYTES[algorithm])).decode("ascii")


def redact_encryption_config(config: Mapping[str, Any]) -> Dict[str, Any]:
    """The same structure with every secret replaced, safe for output and diffs."""
    redacted = copy.deepcopy(dict(config))
    for resource in redacted.get("resources") or []:
        for provider in resource.get("providers") or []:
            for body in provider.values():
                for key in (body or {}).get("keys") or []:
                    if "secret" in key:
                        key["secret"] = "<redacted>"
    return redacted


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
        try:
            config = safe_load(text) if text else None
        except yaml.YAMLError as exc:      # the message names the line only: the file holds the keys
            raise RotationError(f"control plane {index + 1}: its encryption config is not valid YAML: "
                                f"{error_summary(exc)}") from None
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


# --- key material across restores ---------------------------------------------------------------------
# A restore never removes a key that some stored object may be encrypted with. The apiserver finds the key
# of a stored object by the provider and key name in its prefix (k8s:enc:aescbc:v1:key2:), so a key is
# kept by (provider, name, secret); keyless providers (identity, kms) by their whole entry.

def _provider_entries(config: Dict[str, Any]) -> List[Dict[str, Any]]:
    entries = []
    for group in (config or {}).get("resources") or []:
        entries.extend(group.get("providers") or [])
    return entries


def _key_triples(config: Dict[str, Any]) -> List[tuple]:
    triples = []
    for provider in _provider_entries(config):
        for kind, body in provider.items():
            keys = body.get("keys") if isinstance(body, dict) else None
            for key in keys or []:
                triples.append((kind, str(key.get("name")), str(key.get("secret"))))
    return triples


def _shape_problem(config: Any) -> Optional[str]:
    """Why a parsed encryption config is not one this module can merge (None: it is)."""
    if not isinstance(config, dict) or not isinstance(config.get("resources") or [], list):
        return "not an EncryptionConfiguration with a resources list"
    for group in config.get("resources") or []:
        if not isinstance(group, dict) or not isinstance(group.get("providers") or [], list) \
                or not isinstance(group.get("resources") or [], list):
            return "a resources entry is not {resources: [...], providers: [...]}"
        for provider in group.get("providers") or []:
            if not isinstance(provider, dict):
                return f"a provider is {type(provider).__name__}, not a mapping"
            for body in provider.values():
                keys = body.get("keys") if isinstance(body, dict) else None
                if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys)):
                    return "a provider's keys are not a list of {name, secret}"
    return None


def merge_for_restore(current: Optional[Dict[str, Any]], restored: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The encryption config a restore leaves: the restored one's order (which provider and key write)
    with every key of the current one kept as a reader in every resource group - the apiserver reads a
    resource with the first group naming it, whatever the groups were then and are now. No restored config
    (the run turned encryption on): the current keys are kept behind identity, so new writes are plain text
    again and every stored object stays readable. Raises RotationError when a key name would hold two
    secrets or a config has a shape this cannot merge (the caller keeps the current file)."""
    for which, config in (("the node's", current), ("the backup's", restored)):
        problem = _shape_problem(config) if config else None
        if problem:
            raise RotationError(f"{which} encryption config: {problem}; the current encryption config was kept")
    if not current:
        return copy.deepcopy(restored) if restored else {}
    merged = copy.deepcopy(restored) if restored else {
        "apiVersion": current.get("apiVersion", "apiserver.config.k8s.io/v1"), "kind": "EncryptionConfiguration",
        "resources": []}
    groups = merged.setdefault("resources", [])
    covered = {name for group in groups for name in group.get("resources") or []}
    # resources the restored config did not name: written plain again (identity first), still readable
    for group in current.get("resources") or []:
        missing = [name for name in group.get("resources") or [] if name not in covered]
        if missing:
            groups.append({"resources": missing, "providers": [{"identity": {}}]})
            covered.update(missing)
    known = {(kind, name): secret for kind, name, secret in _key_triples(merged)}
    for kind, name, secret in _key_triples(current):
        if known.get((kind, name), secret) != secret:
            raise RotationError(f"{kind} key {name!r} holds another secret in the backup than on the node now: a restore"
                                " cannot keep both; the current encryption config was kept")
    readers = [provider for group in current.get("resources") or [] for provider in group.get("providers") or []]
    for group in groups:
        providers = group.setdefault("providers", [])
        for provider in readers:
            for kind, body in provider.items():
                keys = body.get("keys") if isinstance(body, dict) else None
                if not keys:    # identity, kms: the whole entry
                    if {kind: body} not in providers:
                        providers.append(copy.deepcopy({kind: body}))
                    continue
                same = next((p for p in providers if isinstance(p.get(kind), dict)), None)
                if same is None:
                    same = {kind: {"keys": []}}
                    providers.append(same)
                have = {str(k.get("name")) for k in same[kind].get("keys") or []}
                for key in keys:
                    if str(key.get("name")) not in have:
                        same[kind].setdefault("keys", []).append(copy.deepcopy(key))
                        have.add(str(key.get("name")))
    return merged


def without_retired_keys(backup: Dict[str, Any], current: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """A backup copy of an encryption config with every key the node no longer has removed (after a
    rotation retired them: a key retired after a suspected compromise must not live on in old backup
    sets). Providers left without keys go; a resource group left without providers reads and writes plain
    text (identity). None when nothing was removed."""
    if _shape_problem(backup) or _shape_problem(current):
        return None
    keep = set(_key_triples(current))
    cleaned = copy.deepcopy(backup)
    removed = False
    for group in cleaned.get("resources") or []:
        providers = []
        for provider in group.get("providers") or []:
            entry = {}
            for kind, body in provider.items():
                keys = (body or {}).get("keys") if isinstance(body, dict) else None
                if keys is None:
                    entry[kind] = body
                    continue
                kept = [k for k in keys if (kind, str(k.get("name")), str(k.get("secret"))) in keep]
                removed = removed or len(kept) != len(keys)
                if kept:
                    entry[kind] = dict(body, keys=kept)
            if entry:
                providers.append(entry)
        group["providers"] = providers or [{"identity": {}}]
    return cleaned if removed else None
