#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: encryption_config
short_description: Write the kube-apiserver EncryptionConfiguration without ever showing its keys
version_added: "0.1.0"
description:
  - Writes the encryption-at-rest configuration (file mode 0600, owner root) when its parsed content
    differs. The configuration itself is a no_log parameter; output and diffs show the structure
    with every secret replaced by C(<redacted>), plus a short fingerprint per key.
  - Build the configuration with the C(kubeguard.hardening.kubeguard_encryption_config) filter, which
    keeps the key already on the nodes (it never regenerates one that exists).
options:
  path:
    description: Path of the EncryptionConfiguration file.
    type: path
    required: true
  config:
    description: The EncryptionConfiguration as a mapping (contains key material).
    type: dict
    required: true
extends_documentation_fragment:
  - kubeguard.hardening.backup
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Write the encryption config
  kubeguard.hardening.encryption_config:
    path: /etc/kubernetes/pki/secrets_encryption.yaml
    config: "{{ kg_encryption_config }}"
  no_log: false   # safe: the module itself never returns key material
"""

RETURN = r"""
providers:
  description: Provider names in order (the first encrypts new writes).
  returned: always
  type: list
  elements: str
  sample: [secretbox, identity]
key_fingerprints:
  description: First 12 hex digits of the SHA-256 of each key, to compare nodes without showing keys.
  returned: always
  type: list
  elements: str
"""

import hashlib
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.key_rotation import redact_encryption_config
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.write_policy import UnsafeTarget, write_new

from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import error_summary, require_yaml, safe_load, yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.fileops import BACKUP_OPTIONS, backup_file, record_created


def _redacted_yaml(config):
    """The diff shows the configuration's shape and key names, never the key material."""
    return yaml.safe_dump(redact_encryption_config(config), sort_keys=False) if config else ""


def _fingerprints(config):
    prints = []
    for resource in config.get("resources") or []:
        for provider in resource.get("providers") or []:
            for body in provider.values():
                for key in (body or {}).get("keys") or []:
                    prints.append(hashlib.sha256(str(key.get("secret", "")).encode()).hexdigest()[:12])
    return prints


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            config=dict(type="dict", required=True, no_log=True),
            **BACKUP_OPTIONS,
        ),
        supports_check_mode=True,
    )
    require_yaml(module)

    path, config = module.params["path"], module.params["config"]
    existing = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            try:
                existing = safe_load(handle)
            except yaml.YAMLError as exc:   # never PyYAML's message: it quotes the line, which may hold a key
                module.fail_json(msg=f"{path}: not valid YAML: {error_summary(exc)}")
    mode_ok = existing is not None and (os.stat(path).st_mode & 0o7777) == 0o600
    changed = existing != config or not mode_ok
    result = {
        "changed": changed, "path": path,
        "providers": [next(iter(p)) for r in config.get("resources") or [] for p in r.get("providers") or []],
        "key_fingerprints": _fingerprints(config),
    }
    if module._diff:
        result["diff"] = {"before_header": path, "after_header": path,
                          "before": _redacted_yaml(existing), "after": _redacted_yaml(config)}
    if changed and not module.check_mode:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        if module.params["backup"] and existing is not None:
            backup_file(path, module.params["backup_root"], module.params["backup_set"])
        elif module.params["backup"]:
            record_created(path, module.params["backup_root"], module.params["backup_set"])
        # root's and 0600 before the key lands, whoever owned the old file; never through a symlink
        try:
            write_new(path, yaml.safe_dump(config, sort_keys=False).encode("utf-8"), 0o600, 0, 0)
        except UnsafeTarget as exc:
            module.fail_json(msg=f"nothing was written: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
