"""Every module and plugin imports on its own (as ansible-test's import sanity check does): no
import-time side effects, no missing dependency, Python 3.11 syntax."""

from __future__ import annotations

import glob
import importlib
import os

import pytest

from test_modules_playbook import REPO

PLUGINS = sorted(glob.glob(os.path.join(REPO, "plugins", "modules", "*.py")) +
                 glob.glob(os.path.join(REPO, "plugins", "filter", "*.py")) +
                 glob.glob(os.path.join(REPO, "plugins", "action", "*.py")) +
                 glob.glob(os.path.join(REPO, "plugins", "doc_fragments", "*.py")) +
                 glob.glob(os.path.join(REPO, "plugins", "module_utils", "**", "*.py"), recursive=True))


@pytest.mark.parametrize("path", PLUGINS, ids=[os.path.relpath(p, REPO) for p in PLUGINS])
def test_plugin_imports(path):
    relative = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
    module = importlib.import_module(f"ansible_collections.kubeguard.hardening.{relative}")
    if "/modules/" in path:
        for name in ("DOCUMENTATION", "EXAMPLES", "RETURN", "main"):
            assert hasattr(module, name), f"{relative} lacks {name}"
