"""The whole inventory's CIS standing in one place: a fleet JSON and a self-contained HTML page built from
the per-node reports (reports.py schema), with the change since the previous fleet report; and the
kube-bench-compatible JSON of one node's report, for tools that ingest `kube-bench --json`."""

from __future__ import annotations

import html
import json
from typing import Any, Dict, Mapping, Optional, Sequence

from .reports import SECTION_TITLES, section_order

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


def build(reports: Sequence[Mapping[str, Any]], previous: Optional[Mapping[str, Any]], generated_at: str) -> Dict[str, Any]:
    """reports: the nodes' (and the cluster's) report dicts. previous: the last fleet JSON in the same
    directory, or None."""
    nodes, failing = [], {}
    for report in sorted(reports, key=lambda r: str(r["node"])):
        sections = {}
        for result in report["results"]:
            counts = sections.setdefault(result["section"], {s: 0 for s in (*BAR_STATUSES, "not_applicable")})
            counts[result["status"]] = counts.get(result["status"], 0) + 1
            if result["status"] == "fail":
                entry = failing.setdefault(result["id"], {"id": result["id"], "title": result["title"], "level": result.get("level", 1),
                                                          "remediation": result.get("remediation"), "nodes": []})
                entry["nodes"].append(str(report["node"]))
        total = {s: sum(c[s] for c in sections.values()) for s in (*BAR_STATUSES, "not_applicable")}
        nodes.append({"node": str(report["node"]), "roles": list(report.get("roles") or []), "layout": report.get("layout"),
                      "kubernetes": release(report), "generated_at": report.get("generated_at"),
                      "sections": {k: sections[k] for k in sorted(sections, key=section_order)}, "total": total})
    fleet = {"schema": SCHEMA, "generated_at": generated_at,
             "benchmark": next((r.get("benchmark") for r in reports), None),
             "totals": {s: sum(n["total"][s] for n in nodes) for s in (*BAR_STATUSES, "not_applicable")},
             "nodes": nodes,
             "failing": sorted(failing.values(), key=lambda f: control_order(f["id"]))}
    fleet["change"] = change(previous, nodes, fleet["failing"])
    return fleet


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
           failing: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """What changed since the previous fleet report: (control, node) failing now and not then, fixed since,
    nodes added and gone. Without a previous report (or one of another schema): nothing to compare."""
    if not previous or previous.get("schema") != SCHEMA:
        return {"since": None}
    names, before_names = {n["node"] for n in nodes}, {n["node"] for n in previous.get("nodes") or []}
    now, before = _failing_pairs(failing), _failing_pairs(previous.get("failing") or [])

    def order(pair):
        return (control_order(pair[0]), pair[1])
    return {"since": previous.get("generated_at"),
            "newly_failing": [{"id": c, "node": n} for c, n in sorted(now - before, key=order)],
            "fixed": [{"id": c, "node": n} for c, n in sorted(before - now, key=order) if n in names],
            "nodes_added": sorted(names - before_names), "nodes_gone": sorted(before_names - names)}


def to_json(fleet: Mapping[str, Any]) -> str:
    return json.dumps(fleet, indent=2) + "\n"


def _bar(counts: Mapping[str, int], node: str, section: str) -> str:
    drawn = sum(counts.get(s, 0) for s in BAR_STATUSES)
    parts = []
    for status in BAR_STATUSES:
        n = counts.get(status, 0)
        if n:
            parts.append(f'<span class="seg {status}" style="width:{100.0 * n / drawn:.3f}%" title="{status} {n}"></span>')
    numbers = " ".join(f'<span class="n {s}" data-status="{s}">{counts.get(s, 0)}</span>' for s in BAR_STATUSES)
    return (f'<td class="cell" data-node="{html.escape(node, quote=True)}" data-section="{html.escape(section, quote=True)}">'
            f'<div class="bar">{"".join(parts)}</div><div class="nums">{numbers}</div></td>')


def to_html(fleet: Mapping[str, Any]) -> str:
    """One page, no external resources (it is mailed, archived and opened offline)."""
    esc = html.escape
    sections = sorted({s for n in fleet["nodes"] for s in n["sections"]}, key=section_order)
    totals = fleet["totals"]
    change_data = fleet.get("change") or {}
    rows = []
    for node in fleet["nodes"]:
        cells = "".join(_bar(node["sections"][s], node["node"], s) if s in node["sections"] else '<td class="cell none">-</td>'
                        for s in sections)
        rows.append(f'<tr><th class="node">{esc(node["node"])}<div class="meta">{esc(", ".join(node["roles"]))}'
                    f' &middot; {esc(str(node.get("layout") or ""))}</div></th>'
                    f'<td class="kubernetes">{esc(str(node.get("kubernetes") or "-"))}</td>{cells}</tr>')
    failing = "".join(
        f'<tr class="failing" data-control="{esc(f["id"], quote=True)}"><td>{esc(f["id"])}</td><td>{esc(f["title"])}</td>'
        f'<td>{f["level"]}</td><td class="count">{len(f["nodes"])}</td><td>{esc(", ".join(f["nodes"]))}</td>'
        f'<td>{esc(f.get("remediation") or "")}</td></tr>' for f in fleet["failing"])
    if change_data.get("since"):
        newly = ", ".join(f'{c["id"]} on {c["node"]}' for c in change_data.get("newly_failing") or []) or "none"
        fixed = ", ".join(f'{c["id"]} on {c["node"]}' for c in change_data.get("fixed") or []) or "none"
        change_html = (f'<p>Since {esc(change_data["since"])}: <b>newly failing</b> <span id="newly-failing">{esc(newly)}</span>;'
                       f' <b>fixed</b> <span id="fixed">{esc(fixed)}</span>; nodes added'
                       f' {esc(", ".join(change_data.get("nodes_added") or []) or "none")},'
                       f' gone {esc(", ".join(change_data.get("nodes_gone") or []) or "none")}.</p>')
    else:
        change_html = "<p>No previous fleet report in this directory to compare with.</p>"
    legend = " ".join(f'<span class="key"><span class="swatch {s}"></span>{s}</span>' for s in BAR_STATUSES)
    colours = "".join(f".{s}{{background:{c}}} .n.{s}{{color:{c};background:none}}" for s, c in STATUS_COLOURS.items())
    head = "".join(f'<th title="{esc(SECTION_TITLES.get(s.split(".")[0], s))}">{esc(s)} '
                   f'{esc(SECTION_TITLES.get(s, ""))}</th>' for s in sections)
    totals_html = " ".join(f'<span class="total {s}-total" data-status="{s}">{s} <b>{totals[s]}</b></span>'
                           for s in (*BAR_STATUSES, "not_applicable"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>CIS fleet report - {esc(str(fleet.get("benchmark")))}</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}} table{{border-collapse:collapse}}
th,td{{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top}}
.bar{{display:flex;width:160px;height:16px;background:#eee;border-radius:3px;overflow:hidden}}
.seg{{display:block;height:100%}} .nums{{font-size:12px}} .n{{margin-right:6px}} .meta{{font-weight:normal;color:#666;font-size:12px}}
.swatch{{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}} .total{{margin-right:14px}}
{colours}
</style></head><body>
<h1>CIS fleet report</h1>
<p>Benchmark {esc(str(fleet.get("benchmark")))}, {len(fleet["nodes"])} reports, generated {esc(fleet["generated_at"])}.</p>
<p id="totals">{totals_html}</p>
<p>{legend}</p>
<table id="sections"><thead><tr><th>Node</th><th>Kubernetes</th>{head}</tr></thead><tbody>
{"".join(rows)}
</tbody></table>
<h2>Failing controls ({len(fleet["failing"])})</h2>
<table id="failing"><thead><tr><th>Control</th><th>Title</th><th>Level</th><th>Nodes</th><th>Where</th><th>Remediation</th></tr></thead>
<tbody>{failing}</tbody></table>
<h2>Change</h2>
{change_html}
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
