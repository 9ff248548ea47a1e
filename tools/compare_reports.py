"""Compare two sets of CIS reports (a directory of <node>.json each, as verify writes them), node by
node and control by control: what got better, what got worse.

    python tools/compare_reports.py BEFORE_DIR AFTER_DIR [--allow-waived]

A control got worse when its check passed before and fails after (manual controls with a check
count too), or when its status went from pass to fail. A control the user's own variable weakens
is reported waived: with --allow-waived it is listed but not counted as worse. Exit 1 when any
control got worse, or when a node's report is missing after.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from typing import Any, Dict, List, Mapping, Tuple


def load(directory: str) -> Dict[str, Dict[str, Any]]:
    """node -> {control id -> result}."""
    reports = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        if isinstance(data, dict) and "results" in data and "node" in data:
            reports[data["node"]] = {r["id"]: r for r in data["results"]}
    return reports


def worse(before: Mapping[str, Any], after: Mapping[str, Any], allow_waived: bool) -> bool:
    if allow_waived and after["status"] == "waived":
        return False
    return (before.get("check_passed") is True and after.get("check_passed") is False) or \
        (before["status"] == "pass" and after["status"] in ("fail", "waived"))


def better(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    return (before.get("check_passed") is False and after.get("check_passed") is True) or \
        (before["status"] == "fail" and after["status"] == "pass")


def compare(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]],
            allow_waived: bool = False) -> Tuple[List[str], List[str], List[str]]:
    """(worse, better, waived) lines, one per node and control."""
    got_worse, got_better, waived = [], [], []
    for node, old in sorted(before.items()):
        new = after.get(node)
        if new is None:
            got_worse.append(f"{node}: no report after")
            continue
        for cid, result in old.items():
            if cid not in new:
                got_worse.append(f"{node} {cid}: missing from the report after")
                continue
            line = f"{node} {cid}: {result['status']} ({result.get('found')}) -> {new[cid]['status']} ({new[cid].get('found')})"
            if new[cid]["status"] == "waived" and result["status"] != "waived":
                waived.append(line + f" - {new[cid].get('waiver')}")
            if worse(result, new[cid], allow_waived):
                got_worse.append(line)
            elif better(result, new[cid]):
                got_better.append(line)
    return got_worse, got_better, waived


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--allow-waived", action="store_true", help="a control waived by the user's variable is not worse")
    args = parser.parse_args(argv)
    before, after = load(args.before), load(args.after)
    if not before:
        print(f"no reports in {args.before}")
        return 1
    got_worse, got_better, waived = compare(before, after, args.allow_waived)
    for line in got_better:
        print("better ", line)
    for line in waived:
        print("waived ", line)
    for line in got_worse:
        print("WORSE  ", line)
    print(f"{len(before)} nodes: {len(got_better)} controls better, {len(got_worse)} worse, {len(waived)} waived by your variables")
    return 1 if got_worse else 0


if __name__ == "__main__":
    sys.exit(main())
