"""Compare kube-bench's verdicts with our CIS audit, control by control, on the automated controls.

    python tools/kube_bench_agreement.py KUBE_BENCH_JSON OUR_REPORT_JSON [--explained docs/kube-bench-agreement.md]
    python tools/kube_bench_agreement.py --policies KUBE_BENCH_POLICIES_JSON OUR_CLUSTER_REPORT_JSON [--explained ...]

--policies compares kube-bench's `policies` target (section 5) with our cluster report (cluster.json):
on the controls kube-bench audits with kubectl (POLICIES_AUDITED; the rest it only lists as manual), its
PASS agrees with our verdict pass, its WARN or FAIL (the benchmark calls them manual, so a failing audit
is a WARN) with our verdict fail.

A disagreement is allowed only when docs/kube-bench-agreement.md lists the control id in its table
with an explanation. Prints one line per compared control and a summary; exit 1 on an unexplained
disagreement.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Dict, List, Optional, Tuple


def kube_bench_statuses(data) -> Dict[str, str]:
    """test_number -> PASS / FAIL / WARN / INFO from `kube-bench --json` (one or several targets)."""
    controls = data.get("Controls", []) if isinstance(data, dict) else data
    statuses = {}
    for control in controls:
        for group in control.get("tests") or []:
            for result in group.get("results") or []:
                statuses[str(result["test_number"])] = result["status"]
    return statuses


def explained_ids(markdown: str, stage: Optional[str] = None) -> Dict[str, str]:
    """Control ids in the first column of the explanation table: | 1.1.12 | why |. An id marked
    | 4.3.1 (before) | holds only for that stage of the live run (before or after hardening)."""
    found = {}
    for line in markdown.splitlines():
        match = re.match(r"^\|\s*(\d+(?:\.\d+)+)(?:\s*\((before|after)\))?\s*\|\s*(.+?)\s*\|", line)
        if match and (match.group(2) is None or match.group(2) == stage):
            found[match.group(1)] = match.group(3)
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


# kube-bench v0.15.1 cis-1.12 policies.yaml: the checks with an audit command (the others are type manual)
POLICIES_AUDITED = ("5.1.1", "5.1.2", "5.1.3", "5.1.4", "5.1.5", "5.1.6", "5.2.2", "5.2.3", "5.2.4", "5.2.5", "5.2.6")


def compare_policies(kube_bench: Dict[str, str], cluster: List[dict], explained: Dict[str, str]
                     ) -> Tuple[List[str], List[str], List[str]]:
    """(agreements, explained disagreements, unexplained ones) on the section 5 controls kube-bench audits."""
    by_id = {r["id"]: r for r in cluster}
    agree, known, unknown = [], [], []
    for cid in POLICIES_AUDITED:
        theirs, result = kube_bench.get(cid), by_id.get(cid)
        if theirs is None or result is None or result.get("check_passed") is None:
            unknown.append(f"{cid:<8} kube-bench {theirs or 'missing'} ours {'missing' if result is None else 'not judged'}")
            continue
        ours = bool(result["check_passed"])
        line = f"{cid:<8} kube-bench {theirs:<5} ours {'pass' if ours else 'fail':<5} ({result.get('found')})"
        if (theirs == "PASS") == ours:
            agree.append(line)
        elif cid in explained:
            known.append(line + f" - explained: {explained[cid]}")
        else:
            unknown.append(line)
    return agree, known, unknown


# kube-bench leaves these out when empty (omitempty): their absence is no difference in shape
OPTIONAL_KEYS = {"detected_version", "reason"}


def shape_differences(kube_bench: dict, ours: dict) -> List[str]:
    """Where our kube-bench-format report is not shaped as `kube-bench --json` is: the keys at every level
    (report, target, group, check) and check numbers kube-bench does not have for the same target."""
    problems = []

    def keys(where, theirs, mine):
        missing, extra = set(theirs) - set(mine) - OPTIONAL_KEYS, set(mine) - set(theirs) - OPTIONAL_KEYS
        if missing or extra:
            problems.append(f"{where}: missing {sorted(missing)}, extra {sorted(extra)}")

    keys("report", kube_bench, ours)
    keys("Totals", kube_bench.get("Totals") or {}, ours.get("Totals") or {})
    theirs_by_type = {t["node_type"]: t for t in kube_bench.get("Controls") or []}
    for target in ours.get("Controls") or []:
        real = theirs_by_type.get(target["node_type"])
        if real is None:
            problems.append(f"target {target['node_type']}: kube-bench ran no such target")
            continue
        keys(f"target {target['node_type']}", real, target)
        keys(f"group of {target['node_type']}", real["tests"][0], target["tests"][0])
        keys(f"check of {target['node_type']}", real["tests"][0]["results"][0], target["tests"][0]["results"][0])
        numbers = {c["test_number"] for g in real["tests"] for c in g["results"]}
        unknown = sorted({c["test_number"] for g in target["tests"] for c in g["results"]} - numbers)
        if unknown:
            problems.append(f"target {target['node_type']}: checks kube-bench does not have: {unknown}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kube_bench")
    parser.add_argument("ours")
    parser.add_argument("--explained", default=None)
    parser.add_argument("--policies", action="store_true", help="compare section 5 with our cluster report")
    parser.add_argument("--stage", choices=["before", "after"], help="the live run's stage: explanations marked for it apply")
    parser.add_argument("--shape", action="store_true",
                        help="OURS is our kube-bench-format report: compare its structure with kube-bench's")
    args = parser.parse_args(argv)
    if args.shape:
        with open(args.kube_bench, encoding="utf-8") as real, open(args.ours, encoding="utf-8") as mine:
            problems = shape_differences(json.load(real), json.load(mine))
        for problem in problems:
            print("SHAPE     ", problem)
        print(f"kube-bench format: {'same shape as kube-bench --json' if not problems else f'{len(problems)} differences'}")
        return 1 if problems else 0
    with open(args.kube_bench, encoding="utf-8") as handle:
        kube_bench = kube_bench_statuses(json.load(handle))
    with open(args.ours, encoding="utf-8") as handle:
        ours = json.load(handle)["results"]
    explained = {}
    if args.explained:
        with open(args.explained, encoding="utf-8") as handle:
            explained = explained_ids(handle.read(), args.stage)
    agree, known, unknown = (compare_policies if args.policies else compare)(kube_bench, ours, explained)
    if args.policies:   # few enough to show each
        for line in agree:
            print("agree     ", line)
    for line in known:
        print("explained ", line)
    for line in unknown:
        print("DISAGREE  ", line)
    fails_kb = sum(1 for s in kube_bench.values() if s == "FAIL")
    fails_ours = sum(1 for r in ours if r.get("status") == "fail" or (args.policies and r.get("check_passed") is False))
    print(f"agreement: {len(agree)} agree, {len(known)} explained, {len(unknown)} unexplained "
          f"(automated controls both evaluated); kube-bench FAIL={fails_kb}, ours fail={fails_ours}")
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
