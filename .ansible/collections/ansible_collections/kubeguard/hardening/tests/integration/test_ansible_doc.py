"""Every plugin of the collection renders with ansible-doc."""

from __future__ import annotations

import glob
import os
import subprocess

import pytest

from test_modules_playbook import REPO, ansible_bin

pytestmark = pytest.mark.skipif(ansible_bin("ansible-doc") is None, reason="ansible-core not installed")


def plugins():
    for path in sorted(glob.glob(os.path.join(REPO, "plugins", "modules", "*.py"))):
        yield "module", os.path.basename(path)[:-3]
    for path in sorted(glob.glob(os.path.join(REPO, "plugins", "filter", "*.yml"))):
        yield "filter", os.path.basename(path)[:-4]


@pytest.mark.parametrize("kind,name", list(plugins()))
def test_ansible_doc_renders(kind, name):
    from conftest import _collection_root
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collection_root())
    proc = subprocess.run([ansible_bin("ansible-doc"), "-t", kind, f"kubeguard.hardening.{name}"],
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert f"kubeguard.hardening.{name}" in proc.stdout
    assert "EXAMPLES" in proc.stdout and "ERROR" not in proc.stderr and "WARNING" not in proc.stderr


def test_every_filter_is_documented():
    from ansible_collections.kubeguard.hardening.plugins.filter.hardening import FilterModule
    documented = {name for kind, name in plugins() if kind == "filter"}
    assert set(FilterModule().filters()) == documented
