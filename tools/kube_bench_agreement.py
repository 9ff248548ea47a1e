#!/usr/bin/env python3
"""Compare kube-bench's verdicts with our CIS audit, control by control, on the automated controls.

    python tools/kube_bench_agreement.py KUBE_BENCH_JSON OUR_REPORT_JSON [--explained docs/kube-bench-agreement.md]
    python tools/kube_bench_agreement.py --side-by-side KUBE_BENCH_POLICIES_JSON OUR_REPORT_JSON [--cluster POD_SECURITY_JSON]

--side-by-side records, for every control kube-bench reported (its `policies` target: section 5, which
we do not evaluate automatically yet), kube-bench's verdict beside our status and what we found; it
fails only when our report leaves out a control kube-bench has.

A disagreement is allowed only when docs/kube-bench-agreement.md lists the control id in its table
with an explanation. Prints one line per compared control and a summary; exit 1 on an unexplained
disagreement.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Dict, List, Tuple


def kube_bench_statuses(data) -> Dict[str, str]:
    """test_number -> PASS / FAIL / WARN / INFO from `kube-bench --json` (one or several targets)."""
    controls = data.get("Controls", []) if isinstance(data, dict) else data
    statuses = {}
    for control in controls:
        for group in control.get("tests") or []:
            for result in group.get("results") or []:
                statuses[str(result["test_number"])] = result["status"]
    return statuses


def explained_ids(markdown: str) -> Dict[str, str]:
    """Control ids in the first column of the explanation table: | 1.1.12 | why |."""
    found = {}
    for line in markdown.splitlines():
        match = re.match(r"^\|\s*(\d+(?:\.\d+)+)\s*\|\s*(.+?)\s*\|", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def compare(kube_bench: Dict[str, str], ours: List[dict], explained: Dict[str, str]) -> Tuple[List[str], List[str], List[str]]:
    """(agreements, explained disagreements, unexplained disagreements) as printable lines."""
    agree, known, unknown = [], [], []
    for result in ours:
        if not result["automated"] or result["id"] not in kube_bench or result["status"] == "not_applicable":
            continue
        ours_status = result["check_passed"]
        theirs = kube_bench[result["id"]]
        line = f"{result['id']:<8} kube-bench {theirs:<5} ours {'PASS' if ours_status else 'FAIL':<5} ({result['found']})"
        if (theirs == "PASS") == bool(ours_status) and theirs in ("PASS", "FAIL"):
            agree.append(line)
        elif result["id"] in explained:
            known.append(line + f" - explained: {explained[result['id']]}")
        else:
            unknown.append(line)
    return agree, known, unknown


def side_by_side(kube_bench: Dict[str, str], ours: List[dict], cluster: List[dict] = ()) -> Tuple[List[str], List[str]]:
    """(lines, ids kube-bench reports that our report lacks). cluster: our cluster-scope results
    (pod-security.json), shown instead of the node report's manual entry where present."""
    by_id = {r["id"]: r for r in ours}
    by_id.update({r["id"]: dict(r, status=f"manual:{'pass' if r['check_passed'] else 'fail'}") for r in cluster})
    lines, missing = [], []
    for cid in sorted(kube_bench, key=lambda i: [int(p) for p in i.split(".")]):
        result = by_id.get(cid)
        if result is None:
            missing.append(cid)
            continue
        lines.append(f"{cid:<8} kube-bench {kube_bench[cid]:<5} ours {result['status']:<15} {result.get('found') or ''}")
    return lines, missing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kube_bench")
    parser.add_argument("ours")
    parser.add_argument("--explained", default=None)
    parser.add_argument("--side-by-side", action="store_true")
    parser.add_argument("--cluster", default=None, help="our pod-security.json (cluster-scope results), with --side-by-side")
    args = parser.parse_args(argv)
    with open(args.kube_bench, encoding="utf-8") as handle:
        kube_bench = kube_bench_statuses(json.load(handle))
    with open(args.ours, encoding="utf-8") as handle:
        ours = json.load(handle)["results"]
    if args.side_by_side:
        cluster = []
        if args.cluster:
            with open(args.cluster, encoding="utf-8") as handle:
                cluster = json.load(handle)["results"]
        lines, missing = side_by_side(kube_bench, ours, cluster)
        for line in lines:
            print(line)
        print(f"side by side: {len(lines)} controls kube-bench reported, {len(missing)} missing from our report"
              + (f": {', '.join(missing)}" if missing else ""))
        return 1 if missing or not lines else 0
    explained = {}
    if args.explained:
        with open(args.explained, encoding="utf-8") as handle:
            explained = explained_ids(handle.read())
    agree, known, unknown = compare(kube_bench, ours, explained)
    for line in known:
        print("explained ", line)
    for line in unknown:
        print("DISAGREE  ", line)
    fails_kb = sum(1 for s in kube_bench.values() if s == "FAIL")
    fails_ours = sum(1 for r in ours if r["status"] == "fail")
    print(f"agreement: {len(agree)} agree, {len(known)} explained, {len(unknown)} unexplained "
          f"(automated controls both evaluated); kube-bench FAIL={fails_kb}, ours fail={fails_ours}")
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
