"""The whole inventory's CIS standing in one place: a fleet JSON and a self-contained HTML page built from
the per-node reports (reports.py schema), with the change since the previous fleet report; and the
kube-bench-compatible JSON of one node's report, for tools that ingest `kube-bench --json`.

Each node keeps the benchmark its report was judged with (and the Kubernetes release): nodes of one fleet
can differ - during an upgrade (kubeguard_benchmark auto follows each node's release), or when a node's
report is left from an older run. The counts of such nodes are not of the same controls, so the fleet says
so, a failing control is one per benchmark, and the change since the previous fleet report compares a
node judged with another benchmark than then on the controls that are the same check in both (a control id of
one benchmark need not be the same requirement in another; the check it references is): what cannot be
matched is listed as not compared."""

from __future__ import annotations

import html
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence

# how a string from a report is shown, and the benchmark a report names: one meaning for both reports
from .reports import (NAME_LIMIT, NO_BENCHMARK, SECTION_TITLES, TEXT_LIMIT, Checks, across_text, benchmark_of, section_order,
                      shown, translate, uncomparable)

SCHEMA = "kubeguard.hardening/fleet-report/v1"
# the fleet_report action's options (its module file documents them; both validate with this)
FLEET_REPORT_ARGUMENT_SPEC = {
    "report_dir": {"type": "path", "required": True},
    "nodes": {"type": "list", "elements": "str", "required": True},
    "include_cluster": {"type": "bool", "default": True},
}
# what the bars show, in order; not_applicable is counted in the JSON but not drawn
BAR_STATUSES = ("pass", "fail", "manual", "waived")
STATUS_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "manual": "#9e9e9e", "waived": "#f9a825"}
# kube-bench's verdicts for ours: a manual control is kube-bench's WARN; a waiver is kube-bench's INFO
# (what it prints for a check skipped by configuration); not_applicable belongs to another target
KUBE_BENCH_STATES = {"pass": "PASS", "fail": "FAIL", "manual": "WARN", "waived": "INFO"}


def build(reports: Sequence[Mapping[str, Any]], previous: Optional[Mapping[str, Any]], generated_at: str,
          titles: Optional[Mapping[str, str]] = None, checks: Optional[Checks] = None) -> Dict[str, Any]:
    """reports: the nodes' (and the cluster's) report dicts. previous: the last fleet JSON in the same
    directory, or None. titles: benchmark id -> its title (the catalogue's benchmarks; "CIS Kubernetes
    Benchmark v1.12.0"); a benchmark not in it has a null title. checks: catalogue.benchmark_checks(), what
    matches a node's controls across a change of benchmark (None: such a node is not compared)."""
    titles = titles or {}
    nodes, failing = [], {}
    for report in sorted(reports, key=lambda r: str(r["node"])):
        benchmark = benchmark_of(report)
        sections = {}
        for result in report["results"]:
            counts = sections.setdefault(result["section"], {s: 0 for s in (*BAR_STATUSES, "not_applicable")})
            counts[result["status"]] = counts.get(result["status"], 0) + 1
            if result["status"] == "fail":
                # one entry per control of one benchmark: another benchmark's control of that id may ask otherwise
                entry = failing.setdefault((benchmark, result["id"]), {
                    "id": result["id"], "benchmark": benchmark, "title": result["title"], "level": result.get("level", 1),
                    "remediation": result.get("remediation"), "nodes": []})
                entry["nodes"].append(str(report["node"]))
        total = {s: sum(c[s] for c in sections.values()) for s in (*BAR_STATUSES, "not_applicable")}
        k8s = report.get("kubernetes") if isinstance(report.get("kubernetes"), Mapping) else {}
        nodes.append({"node": str(report["node"]), "roles": list(report.get("roles") or []), "layout": report.get("layout"),
                      "benchmark": benchmark, "benchmark_title": _title(titles, benchmark),
                      "kubernetes": release(report), "kubernetes_source": str(k8s["source"]) if k8s.get("source") else None,
                      "generated_at": report.get("generated_at"),
                      "sections": {k: sections[k] for k in sorted(sections, key=section_order)}, "total": total})
    used = benchmarks(nodes)
    fleet = {"schema": SCHEMA, "generated_at": generated_at,
             # the one benchmark every report names; null when they name different ones (or one names none)
             "benchmark": used[0]["id"] if len(used) == 1 else None,
             "benchmarks": used, "mixed_benchmarks": len(used) > 1,
             "totals": {s: sum(n["total"][s] for n in nodes) for s in (*BAR_STATUSES, "not_applicable")},
             "nodes": nodes,
             "failing": sorted(failing.values(), key=lambda f: (control_order(f["id"]), _benchmark_order(f["benchmark"])))}
    fleet["change"] = change(previous, nodes, fleet["failing"], checks)
    return fleet


def _title(titles: Mapping[str, str], benchmark: Optional[str]) -> Optional[str]:
    title = titles.get(benchmark) if benchmark is not None else None
    return str(title) if title else None


def _benchmark_order(benchmark: Optional[str]):
    return (benchmark is None, benchmark or "")


def benchmarks(nodes: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """[{id, title, nodes}] per benchmark the fleet's reports name (None: a report names none), by id."""
    found: Dict[Optional[str], Dict[str, Any]] = {}
    for node in nodes:
        entry = found.setdefault(node["benchmark"], {"id": node["benchmark"], "title": node["benchmark_title"], "nodes": []})
        entry["nodes"].append(node["node"])
    return [found[k] for k in sorted(found, key=_benchmark_order)]


def release(report: Mapping[str, Any]) -> Optional[str]:
    """The release the report was judged at (its `kubernetes` field); None for a report written before it."""
    k8s = report.get("kubernetes")
    return str(k8s["version"]) if isinstance(k8s, Mapping) and k8s.get("version") else None


def control_order(control_id: str):
    """1.2.10 after 1.2.9; our own K.n after every CIS control."""
    parts = control_id.split(".")
    return (0 if parts[0].isdigit() else 1, [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts])


def _failing_pairs(failing: Sequence[Mapping[str, Any]]) -> set:
    return {(f["id"], node) for f in failing for node in f["nodes"]}


def change(previous: Optional[Mapping[str, Any]], nodes: Sequence[Mapping[str, Any]],
           failing: Sequence[Mapping[str, Any]], checks: Optional[Checks] = None) -> Dict[str, Any]:
    """What changed since the previous fleet report: (control, node) failing now and not then, fixed since,
    nodes added and gone. Without a previous report (or one of another schema): nothing to compare.

    A node of both runs judged with another benchmark than then - or that either run does not record (a
    fleet.json written before fleet reports kept each node's benchmark, a node report that names none): no
    record is not evidence of the same - is in benchmark_changed (node, was, now, compared, why). A control id
    need not be the same requirement in another benchmark; the check it references (checks:
    catalogue.benchmark_checks) is. So when both benchmarks are the catalogue's, the node's controls that are the
    same check in both are compared: newly failing and fixed as ever, each entry adding was_id (the previous
    run's id of it), was_benchmark and now_benchmark; a control failing in one run whose check the other
    benchmark does not have is in not_compared (id, node, benchmark, why, was_failing, now_failing). When they
    are not (a run names none, or one the catalogue does not have: what its ids mean is unknown), compared is
    false, why says why, and every control failing in one run and not the other is in not_compared.
    A node that is new has no previous run to differ from: its failing controls are newly failing."""
    if not previous or previous.get("schema") != SCHEMA:
        return {"since": None}
    now_benchmark = {n["node"]: n.get("benchmark") for n in nodes}
    before_benchmark = {n["node"]: n.get("benchmark") for n in previous.get("nodes") or []}
    names, before_names = set(now_benchmark), set(before_benchmark)
    changed = {node for node in names & before_names
               if now_benchmark[node] is None or now_benchmark[node] != before_benchmark[node]}
    now, before = _failing_pairs(failing), _failing_pairs(previous.get("failing") or [])

    def order(entry):
        return (control_order(entry["id"]), entry["node"])
    newly = [{"id": c, "node": n} for c, n in now - before if n not in changed]
    fixed = [{"id": c, "node": n} for c, n in before - now if n in names and n not in changed]
    moved, not_compared = [], []
    for node in sorted(changed):
        was, is_now = before_benchmark[node], now_benchmark[node]
        failed = {c for c, n in before if n == node}
        fails = {c for c, n in now if n == node}
        why = uncomparable(was, is_now, checks)
        moved.append({"node": node, "was": was, "now": is_now, "compared": why is None, "why": why})
        if why is not None or checks is None:
            not_compared += [{"id": c, "node": node, "benchmark": was if c in failed else is_now, "why": why,
                              "was_failing": c in failed, "now_failing": c in fails} for c in failed ^ fails]
            continue
        across = {"was_benchmark": was, "now_benchmark": is_now}
        then_as_now, only_before = translate(failed, was, is_now, checks)
        now_as_then, only_now = translate(fails, is_now, was, checks)
        failed_as_now = set(then_as_now.values())
        newly += [{"id": c, "node": node, "was_id": w, **across} for c, w in now_as_then.items() if c not in failed_as_now]
        fixed += [{"id": c, "node": node, "was_id": w, **across} for w, c in then_as_now.items() if c not in fails]
        not_compared += [{"id": e["id"], "node": node, "benchmark": e["benchmark"], "why": e["why"], "was_failing": True,
                          "now_failing": False} for e in only_before]
        not_compared += [{"id": e["id"], "node": node, "benchmark": e["benchmark"], "why": e["why"], "was_failing": False,
                          "now_failing": True} for e in only_now]
    return {"since": previous.get("generated_at"), "newly_failing": sorted(newly, key=order), "fixed": sorted(fixed, key=order),
            "nodes_added": sorted(names - before_names), "nodes_gone": sorted(before_names - names),
            "benchmark_changed": moved, "not_compared": sorted(not_compared, key=order)}


def to_json(fleet: Mapping[str, Any]) -> str:
    return json.dumps(fleet, indent=2) + "\n"


def _h(value: Any, limit: int = NAME_LIMIT) -> str:
    """shown(), escaped for HTML text and quoted attributes."""
    return html.escape(shown(value, limit), quote=True)


def benchmark_text(benchmark: Optional[str], title: Optional[str]) -> str:
    """"cis-1.12 (CIS Kubernetes Benchmark v1.12.0)", unescaped."""
    if benchmark is None:
        return NO_BENCHMARK
    return f"{benchmark} ({title})" if title else f"{benchmark} (not a benchmark of this collection's catalogue)"


def summary(fleet: Mapping[str, Any]) -> List[str]:
    """The fleet in a few lines of plain text (the run's output shows them): the benchmarks the nodes were
    judged with - saying so when they differ - each release, the totals, the change and the nodes without a report."""
    lines = []
    used = fleet.get("benchmarks") or []
    reports = len(fleet["nodes"])
    if fleet.get("mixed_benchmarks"):
        lines.append(f"{reports} reports, judged with different benchmarks - their counts are not of the same controls: "
                     + "; ".join(f"{shown(benchmark_text(b['id'], b['title']), TEXT_LIMIT)} on {_names(b['nodes'])}" for b in used))
    elif used:
        lines.append(f"{reports} reports, judged with {shown(benchmark_text(used[0]['id'], used[0]['title']), TEXT_LIMIT)}")
    releases: Dict[str, List[str]] = {}
    for node in fleet["nodes"]:
        said = node.get("kubernetes") or "not recorded"
        if node.get("kubernetes") and node.get("kubernetes_source") == "documented default":
            said += " (the documented default: not read from the node)"
        releases.setdefault(said, []).append(node["node"])
    lines.append("Kubernetes: " + "; ".join(f"{shown(k)} on {_names(v)}" for k, v in releases.items()))
    totals = fleet["totals"]
    lines.append(", ".join(f"{s} {totals[s]}" for s in (*BAR_STATUSES, "not_applicable"))
                 + f"; {len(fleet['failing'])} controls fail somewhere")
    change_data = fleet.get("change") or {}
    if change_data.get("since"):
        lines.append(f"Since {shown(change_data['since'])}: newly failing {_pairs(change_data.get('newly_failing'))};"
                     f" fixed {_pairs(change_data.get('fixed'))}; nodes added {_names(change_data.get('nodes_added')) or 'none'},"
                     f" gone {_names(change_data.get('nodes_gone')) or 'none'}")
        moved = change_data.get("benchmark_changed") or []
        left = change_data.get("not_compared") or []
        for compared in (True, False):
            these = [m for m in moved if bool(m.get("compared")) is compared]
            if not these:
                continue
            names = {m["node"] for m in these}
            count = sum(1 for d in left if d.get("node") in names)
            said = ", ".join(f"{shown(m['node'])} ({shown(m['was'] or NO_BENCHMARK)} -> {shown(m['now'] or NO_BENCHMARK)})" for m in these)
            if compared:
                lines.append(f"Compared across benchmarks - judged with another benchmark than in the previous run: {said}; the"
                             " controls that are the same check in both are in newly failing and fixed, saying so;"
                             f" {count} failing in one run whose check the other benchmark does not have are not compared"
                             " (change.not_compared)")
            else:
                lines.append(f"Not compared - a run does not record the benchmark, or names one this collection's catalogue"
                             f" does not have: {said}; {count} controls there fail in one run and not the other"
                             " (change.not_compared), not counted as newly failing or fixed")
    if fleet.get("missing"):
        lines.append(f"Nodes without a report: {_names(fleet['missing'])}")
    return lines


def _names(names: Optional[Sequence[Any]]) -> str:
    return ", ".join(shown(n) for n in names or [])


def _pair(pair: Mapping[str, Any]) -> str:
    """ "1.2.15 on cp1", and how it was compared when across a change of benchmark (reports.across_text), unescaped."""
    across = across_text(pair)
    return f"{shown(pair['id'])} on {shown(pair['node'])}" + (f" ({across})" if across else "")


def _pairs(pairs: Optional[Sequence[Mapping[str, Any]]]) -> str:
    return ", ".join(_pair(p) for p in pairs or []) or "none"


def _bar(counts: Mapping[str, int], node: str, section: str) -> str:
    drawn = sum(counts.get(s, 0) for s in BAR_STATUSES)
    parts = []
    for status in BAR_STATUSES:
        n = counts.get(status, 0)
        if n:
            parts.append(f'<span class="seg {status}" style="width:{100.0 * n / drawn:.3f}%" title="{status} {n}"></span>')
    numbers = " ".join(f'<span class="n {s}" data-status="{s}">{counts.get(s, 0)}</span>' for s in BAR_STATUSES)
    return (f'<td class="cell" data-node="{_h(node)}" data-section="{_h(section)}">'
            f'<div class="bar">{"".join(parts)}</div><div class="nums">{numbers}</div></td>')


def _benchmark_cell(node: Mapping[str, Any]) -> str:
    if node.get("benchmark") is None:
        return f'<td class="benchmark none">{NO_BENCHMARK}</td>'
    title = node.get("benchmark_title") or "not a benchmark of this collection's catalogue"
    return f'<td class="benchmark">{_h(node["benchmark"])}<div class="meta">{_h(title, TEXT_LIMIT)}</div></td>'


def _release_cell(node: Mapping[str, Any]) -> str:
    default = node.get("kubernetes") and node.get("kubernetes_source") == "documented default"
    note = '<div class="meta">the documented default: not read from the node</div>' if default else ""
    return f'<td class="kubernetes">{_h(node.get("kubernetes") or "-")}{note}</td>'


def _benchmarks_html(fleet: Mapping[str, Any]) -> str:
    used = fleet.get("benchmarks") or []
    reports = len(fleet["nodes"])
    if fleet.get("mixed_benchmarks"):
        items = "".join(f'<li data-benchmark="{_h(b["id"] or "")}">{_h(benchmark_text(b["id"], b["title"]), TEXT_LIMIT)}:'
                        f' {_h(", ".join(str(n) for n in b["nodes"]), TEXT_LIMIT)}</li>' for b in used)
        return (f'<div id="benchmarks" class="mixed"><p><b>The {reports} reports were judged with different benchmarks</b>'
                f' - their counts are not of the same controls, and the change since the previous report compares a'
                f' node judged with another benchmark than then on the controls that are the same check in both.</p>'
                f'<ul>{items}</ul></div>')
    said = _h(benchmark_text(used[0]["id"], used[0]["title"]), TEXT_LIMIT) if used else NO_BENCHMARK
    return f'<p id="benchmarks">Benchmark {said}.</p>'


def _change_html(change_data: Mapping[str, Any]) -> str:
    if not change_data.get("since"):
        return "<p>No previous fleet report in this directory to compare with.</p>"

    def pairs(key):
        return _h(", ".join(_pair(p) for p in change_data.get(key) or []) or "none", TEXT_LIMIT)
    text = (f'<p>Since {_h(change_data["since"])}: <b>newly failing</b> <span id="newly-failing">{pairs("newly_failing")}</span>;'
            f' <b>fixed</b> <span id="fixed">{pairs("fixed")}</span>; nodes added'
            f' {_h(", ".join(change_data.get("nodes_added") or []) or "none", TEXT_LIMIT)},'
            f' gone {_h(", ".join(change_data.get("nodes_gone") or []) or "none", TEXT_LIMIT)}.</p>')
    moved = change_data.get("benchmark_changed") or []
    if moved:
        rows = []
        for m in moved:
            differences = [d for d in change_data.get("not_compared") or [] if d["node"] == m["node"]]
            now_only = ", ".join(str(d["id"]) for d in differences if d["now_failing"]) or "none"
            before_only = ", ".join(str(d["id"]) for d in differences if d["was_failing"]) or "none"
            how = "the same checks" if m.get("compared") else f'not compared: {m.get("why") or "benchmark not recorded"}'
            rows.append(f'<tr data-node="{_h(m["node"])}"><td>{_h(m["node"])}</td><td>{_h(m["was"] or NO_BENCHMARK)}</td>'
                        f'<td>{_h(m["now"] or NO_BENCHMARK)}</td><td class="compared">{_h(how, TEXT_LIMIT)}</td>'
                        f'<td>{_h(now_only, TEXT_LIMIT)}</td><td>{_h(before_only, TEXT_LIMIT)}</td></tr>')
        text += ('<p>Judged with another benchmark than in the previous run (or a run does not record which): where both are'
                 " this collection's benchmarks, the controls that are the same check in both are compared - in newly failing"
                 ' and fixed above, saying so; what cannot be matched - a check one benchmark does not have, or every control'
                 ' of a node whose benchmark is not known - is not compared, not counted as newly failing or fixed:</p>'
                 '<table id="not-compared"><thead><tr><th>Node</th><th>Benchmark before</th><th>Benchmark now</th>'
                 '<th>Compared</th><th>Failing now, not before (not compared)</th><th>Failing before, not now (not compared)</th>'
                 f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')
    return text


def to_html(fleet: Mapping[str, Any]) -> str:
    """One page, no external resources (it is mailed, archived and opened offline). Every string from a report
    is escaped (and shown(): cut to length, control and format characters as escapes)."""
    sections = sorted({s for n in fleet["nodes"] for s in n["sections"]}, key=section_order)
    totals = fleet["totals"]
    rows = []
    for node in fleet["nodes"]:
        cells = "".join(_bar(node["sections"][s], node["node"], s) if s in node["sections"] else '<td class="cell none">-</td>'
                        for s in sections)
        rows.append(f'<tr><th class="node">{_h(node["node"])}<div class="meta">{_h(", ".join(str(r) for r in node["roles"]))}'
                    f' &middot; {_h(node.get("layout") or "")}</div></th>'
                    f'{_release_cell(node)}{_benchmark_cell(node)}{cells}</tr>')
    failing = "".join(
        f'<tr class="failing" data-control="{_h(f["id"])}"><td>{_h(f["id"])}</td><td>{_h(f.get("benchmark") or NO_BENCHMARK)}</td>'
        f'<td>{_h(f["title"], TEXT_LIMIT)}</td><td>{_h(f["level"])}</td><td class="count">{len(f["nodes"])}</td>'
        f'<td>{_h(", ".join(str(n) for n in f["nodes"]), TEXT_LIMIT)}</td><td>{_h(f.get("remediation") or "", TEXT_LIMIT)}</td></tr>'
        for f in fleet["failing"])
    legend = " ".join(f'<span class="key"><span class="swatch {s}"></span>{s}</span>' for s in BAR_STATUSES)
    colours = "".join(f".{s}{{background:{c}}} .n.{s}{{color:{c};background:none}}" for s, c in STATUS_COLOURS.items())
    head = "".join(f'<th title="{_h(SECTION_TITLES.get(s.split(".")[0], s))}">{_h(s)} '
                   f'{_h(SECTION_TITLES.get(s, ""))}</th>' for s in sections)
    totals_html = " ".join(f'<span class="total {s}-total" data-status="{s}">{s} <b>{totals[s]}</b></span>'
                           for s in (*BAR_STATUSES, "not_applicable"))
    title = "different benchmarks" if fleet.get("mixed_benchmarks") else fleet.get("benchmark") or NO_BENCHMARK
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>CIS fleet report - {_h(title)}</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}} table{{border-collapse:collapse}}
th,td{{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top}}
.bar{{display:flex;width:160px;height:16px;background:#eee;border-radius:3px;overflow:hidden}}
.seg{{display:block;height:100%}} .nums{{font-size:12px}} .n{{margin-right:6px}} .meta{{font-weight:normal;color:#666;font-size:12px}}
.swatch{{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}} .total{{margin-right:14px}}
.mixed{{border-left:4px solid #f9a825;padding:2px 12px;background:#fff8e1}}
{colours}
</style></head><body>
<h1>CIS fleet report</h1>
{_benchmarks_html(fleet)}
<p>{len(fleet["nodes"])} reports, generated {_h(fleet["generated_at"])}.</p>
<p id="totals">{totals_html}</p>
<p>{legend}</p>
<table id="sections"><thead><tr><th>Node</th><th>Kubernetes</th><th>Benchmark</th>{head}</tr></thead><tbody>
{"".join(rows)}
</tbody></table>
<h2>Failing controls ({len(fleet["failing"])})</h2>
<table id="failing"><thead><tr><th>Control</th><th>Benchmark</th><th>Title</th><th>Level</th><th>Nodes</th><th>Where</th>
<th>Remediation</th></tr></thead>
<tbody>{failing}</tbody></table>
<h2>Change</h2>
{_change_html(fleet.get("change") or {})}
</body></html>
"""


def kube_bench(report: Mapping[str, Any], kube_bench_data: Mapping[str, Any]) -> Dict[str, Any]:
    """The node's report in `kube-bench --json`'s shape: {"Controls": [one per target: id, version, text,
    node_type, tests: [groups: section, desc, counts, results: checks]], "Totals": ...}. Only the CIS
    sections kube-bench has (our section K, other nodes' sections and, on a node, the cluster's are left out)."""
    targets, groups = kube_bench_data["targets"], kube_bench_data["groups"]
    controls: Dict[str, Dict[str, Any]] = {}
    # kube-bench's detected_version is the minor of what runs ("1.34"); empty when the report does not say
    k8s = report.get("kubernetes") if isinstance(report.get("kubernetes"), Mapping) else {}
    detected = ".".join(str(k8s.get("running") or k8s.get("version") or "").lstrip("v").split(".")[:2])
    for result in report["results"]:
        state = KUBE_BENCH_STATES.get(result["status"])
        top = result["id"].split(".")[0]
        # section 5 on a node's report is the placeholder "decided by the API" (the cluster report has it)
        on_this_node = result.get("component") != "cluster" or report.get("node") == "cluster"
        if state is None or top not in targets or not on_this_node:
            continue
        target = controls.setdefault(top, {"id": top, "version": report.get("benchmark"), "detected_version": detected,
                                           "text": targets[top]["text"], "node_type": targets[top]["type"], "tests": [],
                                           "total_pass": 0, "total_fail": 0, "total_warn": 0, "total_info": 0})
        group_id = ".".join(result["id"].split(".")[:2]) if result["id"].count(".") >= 2 else top
        group = next((g for g in target["tests"] if g["section"] == group_id), None)
        if group is None:
            group = {"section": group_id, "type": "", "pass": 0, "fail": 0, "warn": 0, "info": 0,
                     "desc": groups.get(group_id, SECTION_TITLES.get(top, "")), "results": []}
            target["tests"].append(group)
        reason = f"waived: {result['waiver']}" if result["status"] == "waived" else ""
        group["results"].append({
            "test_number": result["id"], "test_desc": result["title"], "audit": "", "AuditEnv": "", "AuditConfig": "",
            "type": "" if result.get("automated") else "manual", "remediation": result.get("remediation") or "",
            "test_info": [result.get("remediation") or ""], "status": state,
            "actual_value": str(result.get("found") or ""), "scored": bool(result.get("automated")), "IsMultiple": False,
            "expected_result": str(result.get("expected") or ""), **({"reason": reason} if reason else {})})
        group[state.lower()] += 1
        target[f"total_{state.lower()}"] += 1
    ordered = [controls[k] for k in sorted(controls, key=int)]
    for target in ordered:
        target["tests"].sort(key=lambda g: control_order(g["section"]))
    totals = {key: sum(t[key] for t in ordered) for key in ("total_pass", "total_fail", "total_warn", "total_info")}
    return {"Controls": ordered, "Totals": totals}
