"""The checked-in component data is what tools/gen_component_data.py writes from the test bed's binaries:
nobody edits the facts the validation judges with, and a rebuilt binary that says otherwise shows here."""

from __future__ import annotations

import os
import sys

import pytest

from oracle_cluster import REPO, harness

MISSING = harness.missing_binaries()


@pytest.mark.skipif(MISSING is not None, reason=f"component data: {MISSING}")
def test_the_data_file_is_what_the_generator_writes_from_the_binaries():
    sys.path.insert(0, os.path.join(REPO, "tools"))
    import gen_component_data   # pylint: disable=import-outside-toplevel
    path, text = gen_component_data.generate()
    minor = harness.versions()["KUBE_VERSION"].split(".")[1]
    assert os.path.relpath(path, REPO) == f"plugins/module_utils/platform/components/v1.{minor}.yml"
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == text, "run: python tools/gen_component_data.py (and review the difference)"
