"""docs/design.md is the map a newcomer reads first: it names every file of plugins/module_utils, every module,
action plugin and plugin_utils file, so nothing is added where nobody will find it."""

from __future__ import annotations

import glob
import os
import re

from ansible_collections.kubeguard.hardening.plugins.module_utils import LAYERS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_design_doc_names_every_module_utils_file_and_module():
    with open(os.path.join(REPO, "docs", "design.md"), encoding="utf-8") as handle:
        text = handle.read()
    named = set(re.findall(r"`([a-z0-9_]+)(?:\.py)?`", text))
    files = [p for p in glob.glob(os.path.join(REPO, "plugins", "module_utils", "*", "*.py")) + glob.glob(os.path.join(REPO, "plugins", "modules", "*.py"))
             + glob.glob(os.path.join(REPO, "plugins", "action", "*.py")) + glob.glob(os.path.join(REPO, "plugins", "plugin_utils", "*.py"))
             if not p.endswith("__init__.py")]
    missing = sorted(os.path.relpath(p, REPO) for p in files if os.path.basename(p)[:-3] not in named)
    assert not missing, missing
    assert len(files) > 60


def test_design_doc_names_each_module_utils_file_under_its_layer():
    with open(os.path.join(REPO, "docs", "design.md"), encoding="utf-8") as handle:
        text = handle.read()
    found = re.findall(r"^- `([a-z_]+)/`:(.*?)(?=^- |^$)", text, flags=re.M | re.S)
    assert [layer for layer, _text in found] == list(LAYERS), "design.md lists the layers in LAYERS' order"
    misplaced = []
    for layer, paragraph in found:
        named = set(re.findall(r"`([a-z0-9_]+)\.py`", paragraph))
        here = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, "plugins", "module_utils", layer, "*.py"))} - {"__init__"}
        misplaced += [f"{layer}/{name}.py" for name in sorted(here - named)]
        misplaced += [f"{name}.py named under {layer}/" for name in sorted(named - here)]
    assert not misplaced, misplaced
