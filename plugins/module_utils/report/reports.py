"""CIS reports from one node's audit: JSON (the stable schema, docs/cis-report.md), JUnit XML for
CI systems, Markdown for people, and the console summary table."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from xml.sax.saxutils import escape, quoteattr

from ..base import readable_text


SCHEMA = "kubeguard.hardening/cis-report/v1"
FAIL_ON = ("never", "failed", "level1", "drift")
# kube-bench: <node>.kube-bench.json in `kube-bench --json`'s shape (fleet_report.kube_bench); the evidence formats
# assessors take (checklist.py, xccdf.py, oscal.py, sarif.py): STIG Viewer checklists, XCCDF 1.2 / ARF 1.1,
# OSCAL Assessment Results, SARIF 2.1.0
FILE_FORMATS = ("json", "xml", "md", "kube-bench", "ckl", "cklb", "xccdf", "arf", "oscal", "sarif")
FILE_NAMES = {"json": "{node}.json", "xml": "{node}.xml", "md": "{node}.md", "kube-bench": "{node}.kube-bench.json",
              "ckl": "{node}.ckl", "cklb": "{node}.cklb", "xccdf": "{node}.xccdf.xml", "arf": "{node}.arf.xml",
              "oscal": "{node}.oscal-ar.json", "sarif": "{node}.sarif"}
# the cis_report action's options (its module file documents them; both validate with this)
CIS_REPORT_ARGUMENT_SPEC = {
    "report": {"type": "dict", "required": True},
    "dest_dir": {"type": "path", "required": True},
    "formats": {"type": "list", "elements": "str", "choices": list(FILE_FORMATS), "default": ["json", "xml", "md"]},
    "benchmark_subdir": {"type": "bool", "default": False},
}
STATUSES = ("pass", "fail", "manual", "waived", "not_applicable")
SECTION_TITLES = {
    "1": "Control Plane Components", "2": "Etcd", "3": "Control Plane Configuration", "4": "Worker Nodes",
    "5": "Policies", "K": "kubeguard extra checks",
    "CAT I": "STIG high severity", "CAT II": "STIG medium severity", "CAT III": "STIG low severity",
}
# what is said for a report that names no benchmark (written before reports did, or by hand)
NO_BENCHMARK = "benchmark not named"
# how much of one string from a report is shown in what people read (a page, the run's output, the Markdown;
# the JSON keeps it whole): names and ids, and longer texts (titles, remediations)
NAME_LIMIT = 200
TEXT_LIMIT = 2000
# characters shown as escapes, not as themselves: base/readable_text (one rule for input and output)
HIDDEN_CATEGORIES = readable_text.HIDDEN_CATEGORIES


def section_order(name: str):
    """CIS sections in number order, then our own (K)."""
    return (0, int(name)) if name.isdigit() else (1, name)


def build(node: str, benchmark: str, roles: Sequence[str], layout: str, sources: Mapping[str, str],
          results: Sequence[Mapping[str, Any]], summary: Mapping[str, Any], generated_at: str,
          kubernetes: Optional[Mapping[str, Any]] = None, benchmark_title: Optional[str] = None,
          benchmark_choice: Optional[str] = None) -> Dict[str, Any]:
    """kubernetes: the release the node was judged at (kubernetes_field below); None leaves the field out.
    benchmark_title / benchmark_choice: the benchmark's title and why it was chosen (catalogue.choose_benchmark:
    named by kubeguard_benchmark, mapped to the release, or the newest mapped release before it)."""
    report = {"schema": SCHEMA, "benchmark": benchmark, "node": node, "generated_at": generated_at,
              "roles": list(roles), "layout": layout}
    if kubernetes is not None:
        report["kubernetes"] = dict(kubernetes)
    if benchmark_title is not None:
        report["benchmark_title"] = benchmark_title
    if benchmark_choice is not None:
        report["benchmark_choice"] = benchmark_choice
    report.update(sources=dict(sources), summary=dict(summary), results=[dict(r) for r in results])
    return report


def kubernetes_field(info: Mapping[str, Any]) -> Dict[str, Any]:
    """The report's `kubernetes` field from node_plan.node_version's {version, source, given, used}:
    version - the release the node was judged at; source - why that one: "kube_version" (you set it), where
    it was read, or "documented default" (nothing told); running - the release read from the node, a pre-release
    suffix kept (None: nothing told); running_source - where that was read, or why nothing was."""
    if info.get("given"):
        source = "kube_version"
    elif info.get("version"):
        source = info.get("source")
    else:
        source = "documented default"
    # running as the binary told it: a release candidate is not yet its release (the STIG's patch rules judge it)
    return {"version": info.get("used"), "source": source, "running": info.get("release") or info.get("version"),
            "running_source": info.get("source")}


def kubernetes_text(report: Mapping[str, Any]) -> Optional[str]:
    """One sentence naming the release the report was judged at and where it came from; None for a report
    without the field (written before it existed)."""
    k8s = report.get("kubernetes")
    if not isinstance(k8s, Mapping) or not k8s.get("version"):
        return None
    version, running, where = k8s["version"], k8s.get("running"), k8s.get("running_source")
    if k8s.get("source") == "kube_version":
        if not running:
            return f"Kubernetes {version}, your kube_version (the node's own release could not be read: {where})"
        runs = "it" if running == version else running
        return f"Kubernetes {version}, your kube_version (this node runs {runs}, read from {where})"
    if k8s.get("source") == "documented default":
        return f"Kubernetes {version}, the documented default: no release could be read ({where}); set kube_version"
    if running and running != version:   # a release candidate, judged at its release
        return f"Kubernetes {version}, read from {k8s.get('source')} (it says {running})"
    return f"Kubernetes {version}, read from {k8s.get('source')}"


def failures(report: Mapping[str, Any], fail_on: str) -> List[Mapping[str, Any]]:
    """The results that make verify fail under verify_fail_on."""
    if fail_on not in FAIL_ON:
        raise ValueError(f"verify_fail_on: {fail_on!r} must be one of: {', '.join(FAIL_ON)}")
    if fail_on == "never":
        return []
    if fail_on == "drift":
        return [r for r in report["results"] if r["id"] in {d["id"] for d in report.get("drift") or []}]
    failed = [r for r in report["results"] if r["status"] == "fail"]
    return [r for r in failed if r.get("level", 1) == 1] if fail_on == "level1" else failed


def benchmark_of(report: Mapping[str, Any]) -> Optional[str]:
    """The benchmark the report names; None when it names none (or "unknown": judged without a benchmark registry)."""
    value = report.get("benchmark")
    return value if isinstance(value, str) and value.strip() and value != "unknown" else None


def shown(value: Any, limit: int = NAME_LIMIT) -> str:
    """A string from a report as people are shown it: at most `limit` characters of it (saying how long it
    was), and the characters that are not what they look like (HIDDEN_CATEGORIES) as escapes."""
    text = "" if value is None else str(value)
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text)} characters)"
    return "".join(_escape_char(c) if readable_text.hidden(c) else c for c in text)


def _escape_char(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _comparable(previous: Any, current: Mapping[str, Any]) -> bool:
    """A previous report of this schema and node (anything else - none yet, unreadable, a JSON that is not a
    report, another node's - is nothing to compare with, and nothing to say)."""
    return isinstance(previous, Mapping) and previous.get("schema") == SCHEMA and previous.get("node") == current.get("node")


def _since(previous: Mapping[str, Any]) -> Optional[str]:
    value = previous.get("generated_at")
    return value if isinstance(value, str) else None


# {benchmark: {its control id: the catalogue id of the check it is}}: catalogue.benchmark_checks(), which the
# controller passes in (the catalogue is read there); what matches the controls of two benchmarks by their check
Checks = Mapping[str, Mapping[str, str]]


def uncomparable(was: Optional[str], now: Optional[str], checks: Optional[Checks]) -> Optional[str]:
    """Why the controls of a run judged with `was` cannot be matched to those of one judged with `now` (another
    benchmark) by their check; None when they can: both name a benchmark of the catalogue. Without a name we cannot
    know what an id of the run means."""
    if was is None:
        return "the previous run names no benchmark"
    if now is None:
        return "this run names no benchmark"
    if checks is None:
        return "no catalogue was given to match the controls by their check"
    for name in (was, now):
        if not isinstance(checks.get(name), Mapping):
            return f"{name} is not a benchmark of this collection's catalogue"
    return None


def translate(ids: Iterable[str], source: str, target: str, checks: Checks) -> Tuple[Dict[str, str], List[Dict[str, str]]]:
    """The controls `ids` of benchmark `source` as benchmark `target` numbers the same check: ({id: target's id},
    [{id, benchmark, why}] for the ids whose check `target` does not have - only in `source`, or `target` gives the
    id another check). An id that is no control of `source` in the catalogue is in neither (as between two reports
    of one benchmark, a control one of them does not have is not compared, and not listed)."""
    of_check = {check: bid for bid, check in checks[target].items()}
    found: Dict[str, str] = {}
    left: List[Dict[str, str]] = []
    for bid in ids:
        check = checks[source].get(bid)
        if check is None:
            continue
        if check in of_check:
            found[bid] = of_check[check]
        else:
            why = f"{target}'s {bid} is another check" if bid in checks[target] else f"{target} has no control of its check"
            left.append({"id": bid, "benchmark": source, "why": why})
    return found, left


def across_text(entry: Mapping[str, Any]) -> str:
    """ "compared across benchmarks: 1.2.29 (cis-1.12) -> 1.2.29 (cis-2.0)" for an entry (drift, or the fleet
    report's newly failing and fixed) compared across a change of benchmark; "" for one compared within one."""
    if not entry.get("was_benchmark"):
        return ""
    return (f"compared across benchmarks: {shown(entry.get('was_id'))} ({shown(entry.get('was_benchmark'))}) ->"
            f" {shown(entry.get('id'))} ({shown(entry.get('now_benchmark'))})")


def benchmark_changed(previous: Any, current: Mapping[str, Any], checks: Optional[Checks] = None) -> Optional[Dict[str, Any]]:
    """None when the node's previous report (this schema, this node) names the same benchmark as the current one,
    or there is no previous report to compare with. Else {was, now, since, compared, why, matched, not_compared}:
    was / now the benchmarks (None: the report names none - benchmark_of: no record is not evidence of the same
    benchmark); compared - whether the controls were matched by their check (checks: catalogue.benchmark_checks)
    and compared: a control id need not be the same requirement in another benchmark, the check it references is;
    why - when nothing was compared, why (a report names no benchmark, or one the catalogue does not have: we cannot
    know what its ids mean); matched - how many controls of both reports are the same check (drift() compares
    them); not_compared - [{id, benchmark, why, status}] the controls of either report whose check the other
    benchmark does not have (the fleet report's change alike)."""
    if not _comparable(previous, current):
        return None
    was, now = benchmark_of(previous), benchmark_of(current)
    if now is not None and was == now:
        return None
    moved: Dict[str, Any] = {"was": was, "now": now, "since": _since(previous), "compared": False,
                             "why": uncomparable(was, now, checks), "matched": 0, "not_compared": []}
    if moved["why"] is not None or checks is None or was is None or now is None:   # (why says each of the others)
        return moved
    before, after = _statuses(previous), {r["id"]: r["status"] for r in current["results"]}
    pairs, only_now = translate(after, now, was, checks)
    _found, only_before = translate(before, was, now, checks)
    moved.update(compared=True, matched=sum(1 for was_id in pairs.values() if was_id in before),
                 not_compared=[dict(e, status=before[e["id"]]) for e in only_before]
                 + [dict(e, status=after[e["id"]]) for e in only_now])
    return moved


def _statuses(previous: Mapping[str, Any]) -> Dict[str, str]:
    """control id -> status in a previous report; what is not a result of the schema (a results that is not
    a list, an entry that is not an object, an id or status that is not a string) is skipped."""
    results = previous.get("results")
    statuses: Dict[str, str] = {}
    for result in results if isinstance(results, list) else []:
        if isinstance(result, Mapping) and isinstance(result.get("id"), str) and isinstance(result.get("status"), str):
            statuses.setdefault(result["id"], result["status"])
    return statuses


def drift(previous: Any, current: Mapping[str, Any], checks: Optional[Checks] = None) -> List[Dict[str, Any]]:
    """Controls that passed in the node's previous report and fail now (something changed the node
    since: an upgrade, a hand edit). Reports of another schema or node are not compared. When the previous
    report was judged with another benchmark, the controls that are the same check in both (checks:
    catalogue.benchmark_checks) are compared - their entries add was_id (the previous report's id of it),
    was_benchmark and now_benchmark - and nothing when that cannot be known (benchmark_changed says why)."""
    if not _comparable(previous, current):
        return []
    before, since = _statuses(previous), _since(previous)
    moved = benchmark_changed(previous, current, checks)
    if moved is None:
        return [{"id": r["id"], "title": r["title"], "was": "pass", "now": r["status"], "found": r["found"], "since": since}
                for r in current["results"] if before.get(r["id"]) == "pass" and r["status"] == "fail"]
    if not moved["compared"] or checks is None:
        return []
    pairs, _left = translate([r["id"] for r in current["results"]], moved["now"], moved["was"], checks)
    return [{"id": r["id"], "title": r["title"], "was": "pass", "now": r["status"], "found": r["found"], "since": since,
             "was_id": pairs[r["id"]], "was_benchmark": moved["was"], "now_benchmark": moved["now"]}
            for r in current["results"]
            if r["id"] in pairs and before.get(pairs[r["id"]]) == "pass" and r["status"] == "fail"]


def drift_lines(report: Mapping[str, Any]) -> List[str]:
    """What the run prints about the change since the node's previous report: when the benchmark changed, first
    one line saying so (what was compared, or why nothing was); a DRIFT line per control in the report's `drift`
    (saying when it was compared across benchmarks); a NOT COMPARED line per control of either report whose check
    the other benchmark does not have. Strings are shown() (a previous report's time, benchmark and ids are whatever
    its file holds)."""
    lines = []
    moved = report.get("benchmark_changed")
    left = [e for e in moved.get("not_compared") or [] if isinstance(e, Mapping)] if isinstance(moved, Mapping) else []
    if isinstance(moved, Mapping):
        since = shown(moved.get("since") or "time not recorded")
        was, now = shown(moved.get("was") or NO_BENCHMARK), shown(moved.get("now") or NO_BENCHMARK)
        if moved.get("compared"):
            lines.append(f"BENCHMARK CHANGED since the previous report ({since}): {was} -> {now} - the {shown(moved.get('matched'))}"
                         " controls that are the same check in both were compared (a DRIFT line each that passed then and"
                         f" fails now; verify_fail_on: drift fails on it), {len(left)} not compared (a NOT COMPARED line each)")
        else:
            lines.append(f"NOT COMPARED with the previous report ({since}): benchmark {was} -> {now} -"
                         f" {shown(moved.get('why') or 'the controls cannot be matched by their check', TEXT_LIMIT)}:"
                         " the control ids cannot be matched to their checks, so no drift is counted and verify_fail_on:"
                         " drift does not fail on it; the next report is compared with this one")
    for d in report.get("drift") or []:
        if isinstance(d, Mapping):
            across = across_text(d)
            lines.append(f"DRIFT {shown(d.get('id'))}: passed at {shown(d.get('since') or 'the previous report')}, fails now"
                         f" ({shown(d.get('found'), TEXT_LIMIT)})" + (f" - {across}" if across else ""))
    lines += [f"NOT COMPARED {shown(e.get('id'))} ({shown(e.get('benchmark'))}, {shown(e.get('status'))}):"
              f" {shown(e.get('why'), TEXT_LIMIT)}" for e in left]
    return lines


def to_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=False) + "\n"


def junit(report: Mapping[str, Any]) -> str:
    """One testsuite per CIS section, one testcase per control: fail -> <failure>, manual, waived and
    not_applicable -> <skipped>."""
    node = report["node"]
    total = report["summary"].get("total", {})
    # the release the node was judged at, on every testsuite (JUnit's <properties>; absent in older reports)
    k8s = report.get("kubernetes") if isinstance(report.get("kubernetes"), Mapping) else {}
    named = [("kubernetes_version", k8s.get("version")), ("kubernetes_version_source", k8s.get("source")),
             ("kubernetes_running", k8s.get("running"))]
    named = [(key, value) for key, value in named if value is not None]
    properties = (["    <properties>"] + [f'      <property name="{key}" value={quoteattr(str(value))}/>' for key, value in named]
                  + ["    </properties>"]) if named else []
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuites name={quoteattr("CIS " + report["benchmark"] + " " + node)} '
             f'tests="{sum(total.values())}" failures="{total.get("fail", 0)}">']
    for section in sorted({r["section"] for r in report["results"]}, key=section_order):
        results = [r for r in report["results"] if r["section"] == section]
        counts = report["summary"][section]
        name = f"{node} {section} {SECTION_TITLES.get(section, '')}".strip()
        lines.append(f'  <testsuite name={quoteattr(name)} tests="{len(results)}" failures="{counts["fail"]}" '
                     f'skipped="{counts["manual"] + counts["waived"] + counts.get("not_applicable", 0)}">')
        lines += properties
        for r in results:
            lines.append(f'    <testcase classname={quoteattr(node + "." + section)} name={quoteattr(r["id"] + " " + r["title"])}>')
            if r["status"] == "fail":
                message = f"found: {r['found']}; expected: {r['expected']}" + expired_note(r, "; ")
                lines.append(f'      <failure message={quoteattr(message)}>{escape("remediation: " + str(r["remediation"]))}</failure>')
            elif r["status"] == "waived":
                lines.append(f'      <skipped message={quoteattr("waived: " + str(r["waiver"]))}/>')
            elif r["status"] == "manual":
                lines.append(f'      <skipped message={quoteattr("manual: " + str(r["remediation"] or r["title"]) + expired_note(r, "; "))}/>')
            elif r["status"] == "not_applicable":
                lines.append(f'      <skipped message={quoteattr("not applicable: " + str(r["found"]))}/>')
            lines.append("    </testcase>")
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


def expired_note(result: Mapping[str, Any], prefix: str = "") -> str:
    """What a report says of a waiver that expired (judged as if it had none): empty when none did."""
    gone = result.get("waiver_expired")
    if not isinstance(gone, Mapping):
        return ""
    return f"{prefix}waiver expired {shown(gone.get('expires'))} (owner {shown(gone.get('owner'))}): {shown(gone.get('reason'), TEXT_LIMIT)}"


def _cell(text: Optional[Any]) -> str:
    return "" if text is None else str(text).replace("|", "\\|").replace("\n", " ")


def summary_table(report: Mapping[str, Any]) -> List[str]:
    """Console lines: counts per section, then every waived control with its reason (the user's
    variable that weakens it, or their verify_waivers entry)."""
    def row(title: str, c: Mapping[str, int]) -> str:
        return f"{title:<34}{c['pass']:>6}{c['fail']:>6}{c['manual']:>8}{c['waived']:>8}{c.get('not_applicable', 0):>6}"
    rows = [f"{'section':<34}{'pass':>6}{'fail':>6}{'manual':>8}{'waived':>8}{'n/a':>6}"]
    for section in sorted((k for k in report["summary"] if k != "total"), key=section_order):
        rows.append(row(f"{section} {SECTION_TITLES.get(section, '')}", report["summary"][section]))
    rows.append(row("total", report["summary"].get("total", {s: 0 for s in STATUSES})))
    rows += [f"waived {r['id']}: {r['waiver']}" for r in report["results"] if r["status"] == "waived"]
    rows += [f"{r['status']} {r['id']}: {expired_note(r)}" for r in report["results"] if r.get("waiver_expired")]
    rows += drift_lines(report)
    return rows


def markdown(report: Mapping[str, Any]) -> str:
    release = kubernetes_text(report)
    lines = [f"# CIS {report['benchmark']} report: {report['node']}", "",
             f"Generated {report['generated_at']} by kubeguard.hardening from the node's running processes and files "
             f"(layout {report['layout']}, roles {', '.join(report['roles'])}).", "",
             *([release + ".", ""] if release else []),
             *([f"Benchmark: {report.get('benchmark_title') or report['benchmark']}, {report['benchmark_choice']}.", ""]
               if report.get("benchmark_choice") else []),
             "```", *summary_table(report), "```", ""]
    failed = [r for r in report["results"] if r["status"] == "fail"]
    if failed:
        lines += ["## Failed", "", "| control | found | expected | remediation |", "|---|---|---|---|"]
        lines += [f"| {r['id']} {_cell(r['title'])} | {_cell(r['found'])} | {_cell(r['expected'])} | {_cell(r['remediation'])} |"
                  for r in failed]
        lines.append("")
    lines += ["## All controls", "", "| control | level | status | found | note |", "|---|---|---|---|---|"]
    for r in report["results"]:
        note = r["waiver"] if r["status"] == "waived" else (r["remediation"] if r["status"] in ("fail", "manual") else "")
        note = "; ".join(part for part in (expired_note(r), note) if part)
        lines.append(f"| {r['id']} {_cell(r['title'])} | {r['level']} | {r['status']} | {_cell(r['found'])} | {_cell(note)} |")
    return "\n".join(lines) + "\n"
