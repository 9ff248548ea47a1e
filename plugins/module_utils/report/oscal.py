"""A node's results as OSCAL 1.1 Assessment Results (JSON), FedRAMP's machine-readable form: the node as an
inventory item, one observation per judged control (what was found, where), one finding per pass or finding
(satisfied / not-satisfied, with its NIST SP 800-53 controls), one risk per finding - open, or
deviation-approved until its waiver expires, with the waiver's owner and reason."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping

from . import evidence

OSCAL_VERSION = "1.1.2"
NS = "urn:kubeguard:hardening"


def _prop(name: str, value: Any) -> Dict[str, str]:
    return {"name": name, "ns": NS, "value": str(value)}


def oscal(report: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    host = evidence.target(report)
    benchmark = str(meta.get("benchmark") or "")
    when = evidence.generated(report)
    node_uuid = evidence.stable_uuid("inventory-item", host["host"])
    plan_uuid = evidence.stable_uuid("assessment-plan", benchmark)
    observations: List[Dict[str, Any]] = []
    findings: List[Dict[str, Any]] = []
    risks: List[Dict[str, Any]] = []
    for row in evidence.rows(report, meta):
        status, rid = row.result["status"], str(row.result["id"])
        title = str(row.rule.get("title") or row.result.get("title") or rid)
        observation_uuid = evidence.stable_uuid("observation", host["host"], benchmark, rid)
        props = [_prop("control-id", rid), _prop("status", status)]
        props += [_prop("stig-id", row.rule["stig_id"])] if row.rule.get("stig_id") else []
        props += [_prop("cci", cci) for cci in row.rule.get("cci") or []]
        observations.append({
            "uuid": observation_uuid, "title": f"{rid} on {host['host']}", "description": row.details,
            "props": props, "methods": ["TEST"] if status in ("pass", "fail", "waived") else ["EXAMINE"],
            "types": ["finding" if status in ("fail", "waived") else "control-objective"],
            "subjects": [{"subject-uuid": node_uuid, "type": "inventory-item"}],
            "collected": when})
        if status not in ("pass", "fail", "waived"):
            continue
        finding: Dict[str, Any] = {
            "uuid": evidence.stable_uuid("finding", host["host"], benchmark, rid), "title": f"{rid}: {title}",
            "description": row.details,
            "props": [_prop("severity", evidence.severity(row.rule))] + [_prop("nist-control", c) for c in evidence.nist_ids(row.rule)],
            "target": {"type": "objective-id", "target-id": rid,
                       "status": {"state": "satisfied" if status == "pass" else "not-satisfied"}},
            "related-observations": [{"observation-uuid": observation_uuid}]}
        if status != "pass":
            risk_uuid = evidence.stable_uuid("risk", host["host"], benchmark, rid)
            risk: Dict[str, Any] = {
                "uuid": risk_uuid, "title": f"{rid} not met on {host['host']}", "description": title,
                "statement": row.comments or f"Not met: {row.result.get('found') or 'see the observation'}",
                "status": "deviation-approved" if status == "waived" else "open",
                "related-observations": [{"observation-uuid": observation_uuid}]}
            expiry = evidence.waiver_expiry(row.result) if status == "waived" else None
            if expiry:
                risk["deadline"] = f"{expiry}T23:59:59Z"
            props = [_prop(key, record[key]) for record in evidence.waiver_records(row.result) for key in ("owner", "ticket") if record.get(key)]
            if props:
                risk["props"] = props
            if row.rule.get("remediation"):
                risk["remediations"] = [{"uuid": evidence.stable_uuid("remediation", host["host"], benchmark, rid), "lifecycle": "recommendation",
                                         "title": f"Remediate {rid}", "description": str(row.rule["remediation"])}]
            risks.append(risk)
            finding["related-risks"] = [{"risk-uuid": risk_uuid}]
        findings.append(finding)
    result: Dict[str, Any] = {
        "uuid": evidence.stable_uuid("result", host["host"], benchmark, when), "title": f"{meta.get('title') or benchmark} on {host['host']}",
        "description": f"{evidence.TOOL} verify: {meta.get('title') or benchmark} judged from {host['host']}'s running state",
        "start": when, "end": when,
        "props": [_prop("benchmark", benchmark)] + ([_prop("kubernetes", host["kubernetes"])] if host["kubernetes"] else []),
        "local-definitions": {"inventory-items": [{
            "uuid": node_uuid, "description": f"Kubernetes node {host['host']}",
            "props": [_prop("host-name", host["host"])] + ([_prop("roles", host["roles"])] if host["roles"] else [])}]},
        "reviewed-controls": {"control-selections": [{"include-all": {}}]},
        "observations": observations}
    if risks:
        result["risks"] = risks
    if findings:
        result["findings"] = findings
    document = {"assessment-results": {
        "uuid": evidence.stable_uuid("assessment-results", host["host"], benchmark, when),
        "metadata": {"title": f"{meta.get('title') or benchmark}: {host['host']}", "last-modified": when,
                     "version": str(meta.get("version") and f"{meta['version']}.{meta.get('release')}" or benchmark),
                     "oscal-version": OSCAL_VERSION},
        "import-ap": {"href": f"#{plan_uuid}"},
        "results": [result],
        "back-matter": {"resources": [{"uuid": plan_uuid, "title": f"{evidence.TOOL} verify ({benchmark})",
                                       "description": "The assessment plan is the benchmark itself: every control, judged by the collection's checks."}]}}}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
