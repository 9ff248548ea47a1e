"""docs/design.md is the map a newcomer reads first: it names every file of plugins/module_utils and every
module, so nothing is added where nobody will find it."""

from __future__ import annotations

import glob
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_design_doc_names_every_module_utils_file_and_module():
    with open(os.path.join(REPO, "docs", "design.md"), encoding="utf-8") as handle:
        text = handle.read()
    named = set(re.findall(r"`([a-z0-9_]+)(?:\.py)?`", text))
    files = [p for p in glob.glob(os.path.join(REPO, "plugins", "module_utils", "*.py")) + glob.glob(os.path.join(REPO, "plugins", "modules", "*.py"))
             if not p.endswith("__init__.py")]
    missing = sorted(os.path.relpath(p, REPO) for p in files if os.path.basename(p)[:-3] not in named)
    assert not missing, missing
    assert len(files) > 60
