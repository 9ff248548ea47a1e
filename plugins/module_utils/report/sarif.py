"""A node's results as SARIF 2.1.0, for code-scanning pipelines: one rule per control of the benchmark, one
result per failing control (level error for CAT I / level 1, warning otherwise) and per waived one (with its
waiver as an accepted external suppression), located at the file and flag or field it reads."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping

from . import evidence

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def _level(row: evidence.Row) -> str:
    high = evidence.severity(row.rule) == "high" if row.rule.get("severity") in evidence.SEVERITIES else row.result.get("level") == 1
    return "error" if high else "warning"


def _location(location: Mapping[str, str], node: str) -> Dict[str, Any]:
    found: Dict[str, Any] = {}
    if location.get("file"):
        path = str(location["file"])
        found["physicalLocation"] = {"artifactLocation": {"uri": "file://" + path if path.startswith("/") else path}}
    name = location.get("flag") or location.get("field") or location.get("check")
    if name:
        found["logicalLocations"] = [{"name": str(name), "kind": "member",
                                      "fullyQualifiedName": f"{node}/{location.get('component', 'node')}/{name}"}]
    if not found:
        found["logicalLocations"] = [{"name": node, "kind": "resource"}]
    return found


def sarif(report: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    node = evidence.target(report)["host"]
    all_rows = list(evidence.rows(report, meta))
    rules: List[Dict[str, Any]] = []
    index: Dict[str, int] = {}
    for row in all_rows:
        rid = str(row.result["id"])
        index[rid] = len(rules)
        tags = [t for t in [str(meta.get("benchmark") or "")] + list(row.rule.get("cci") or []) + list(row.rule.get("nist") or []) if t]
        rule: Dict[str, Any] = {"id": rid, "name": str(row.rule.get("stig_id") or rid),
                                "shortDescription": {"text": str(row.rule.get("title") or row.result.get("title") or rid)},
                                "defaultConfiguration": {"level": _level(row)},
                                "properties": {"tags": tags, "severity": str(row.rule.get("severity") or "unknown")}}
        if row.rule.get("check_text"):
            rule["fullDescription"] = {"text": str(row.rule["check_text"])}
        if row.rule.get("remediation"):
            rule["help"] = {"text": str(row.rule["remediation"])}
        rules.append(rule)
    results: List[Dict[str, Any]] = []
    for row in all_rows:
        status = row.result["status"]
        if status not in ("fail", "waived"):
            continue
        rid = str(row.result["id"])
        message = f"{node}: {row.rule.get('title') or row.result.get('title')}. {row.details}"
        result: Dict[str, Any] = {"ruleId": rid, "ruleIndex": index[rid], "kind": "fail", "level": _level(row),
                                  "message": {"text": message},
                                  "locations": [_location(loc, node) for loc in row.result.get("locations") or [{}]],
                                  "partialFingerprints": {"kubeguardControl/v1": evidence.stable_uuid(node, meta.get("benchmark"), rid)}}
        if status == "waived":
            result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": row.comments}]
        results.append(result)
    document = {
        "$schema": SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": evidence.TOOL, "fullName": f"{evidence.TOOL} ({meta.get('title') or meta.get('benchmark')})",
                                "rules": rules}},
            "automationDetails": {"id": f"{evidence.TOOL}/{meta.get('benchmark')}/{node}/"},
            "invocations": [{"executionSuccessful": True, "endTimeUtc": evidence.generated(report)}],
            "results": results,
            "properties": {"node": node, "benchmark": meta.get("benchmark"), "summary": (report.get("summary") or {}).get("total")},
        }]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
