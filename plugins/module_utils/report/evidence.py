"""What every evidence format (checklists, XCCDF / ARF, OSCAL, SARIF) says of one report's results: the status in
each format's words, the evidence (what was found, where, what was expected), the waiver in words an assessor
reads, stable identifiers. One result set, one reading: the formats differ only in their shape."""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional

from . import reports

# our statuses in each format's words. A waived control is still a finding (Open, fail, not-satisfied): the
# waiver is the documented acceptance of it, carried in comments / suppressions / risks.
CHECKLIST_STATUS = {"pass": "NotAFinding", "fail": "Open", "manual": "Not_Reviewed", "waived": "Open", "not_applicable": "Not_Applicable"}
CKLB_STATUS = {"pass": "not_a_finding", "fail": "open", "manual": "not_reviewed", "waived": "open", "not_applicable": "not_applicable"}
XCCDF_RESULT = {"pass": "pass", "fail": "fail", "manual": "notchecked", "waived": "fail", "not_applicable": "notapplicable"}
SEVERITIES = ("high", "medium", "low")
# the collection's name in identifiers (XCCDF's reverse-DNS namespace, SARIF's tool, OSCAL's parties)
TOOL = "kubeguard.hardening"
XCCDF_NAMESPACE = "kubeguard.hardening"    # (XCCDF 1.2 ids: xccdf_<a dotted name>_<kind>_<id>)
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, TOOL)


class Row(NamedTuple):
    result: Mapping[str, Any]    # the report's result
    rule: Mapping[str, Any]      # the benchmark's metadata of it (catalogue.benchmark_meta)
    details: str                 # what was found, where, what was expected
    comments: str                # the waiver (owner, expiry, ticket, reason), or that it expired


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: Any) -> str:
    """Text XML 1.0 can hold: a character it cannot (a control character in a found value) is shown as its code."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", str(text))


def stable_uuid(*parts: Any) -> str:
    """The same identifier for the same thing in every run (a report written twice is the same file)."""
    return str(uuid.uuid5(UUID_NAMESPACE, "/".join(str(p) for p in parts)))


def severity(rule: Mapping[str, Any]) -> str:
    """high / medium / low, or medium for a benchmark without severities (CIS): the checklists require one."""
    value = str(rule.get("severity") or "")
    return value if value in SEVERITIES else "medium"


def location_text(location: Mapping[str, str]) -> str:
    what = location.get("flag") or location.get("field") or location.get("check")
    where = location.get("file")
    if what and where:
        return f"{location.get('component', '')} {what} in {where}".strip()
    return f"{location.get('component', '')} {what}".strip() if what else str(where or "")


def details(result: Mapping[str, Any]) -> str:
    """What was found, where, what was expected: one line each, every value shown as reports show it (a control
    character or a line break a node's file or a pod's name carries is an escape, never a new line)."""
    def said(value: Any) -> str:
        return reports.shown(value, reports.TEXT_LIMIT)
    lines = [f"Status: {result['status']} (kubeguard.hardening, judged from the node's running state)"]
    if result.get("found"):
        lines.append(f"Found: {said(result['found'])}")
    if result.get("expected"):
        lines.append(f"Expected: {said(result['expected'])}")
    where = [said(location_text(loc)) for loc in result.get("locations") or []]
    if where:
        lines.append("Where: " + "; ".join(where))
    if result.get("source"):
        lines.append(f"Read from: {said(result['source'])}")
    return "\n".join(lines)


def _records(result: Mapping[str, Any], many: str, one: str) -> Dict[str, Mapping[str, Any]]:
    """A result's waiver records by what they waive: the rule's parts' (a STIG rule), else its own."""
    found = result.get(many)
    if isinstance(found, Mapping) and found:
        return {str(k): v for k, v in found.items() if isinstance(v, Mapping)}
    single = result.get(one)
    return {str(result.get("id")): single} if isinstance(single, Mapping) else {}


def _record_text(record: Mapping[str, Any]) -> str:
    said = [f"by {reports.shown(record.get('owner')) if record.get('owner') else 'an unnamed owner'}"]
    if record.get("expires"):
        said.append(f"until {reports.shown(record['expires'])}")
    if record.get("ticket"):
        said.append(f"(ticket {reports.shown(record['ticket'])})")
    return " ".join(said) + f": {reports.shown(record.get('reason'), reports.TEXT_LIMIT)}"


def waiver_text(result: Mapping[str, Any]) -> str:
    """Every waiver as an assessor reads it - who accepted what until when, and why - or those that expired
    (empty: none)."""
    if result.get("status") == "waived":
        records = _records(result, "waiver_records", "waiver_record")
        if records:
            return "; ".join(f"Waived ({what}) {_record_text(r)}" for what, r in records.items())
        return f"Waived: {reports.shown(result.get('waiver'), reports.TEXT_LIMIT)}"
    lapsed = _records(result, "waivers_expired", "waiver_expired")
    return "; ".join(f"Waiver ({what}) expired - judged as without it: {_record_text(r)}" for what, r in lapsed.items())


def waiver_records(result: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    return list(_records(result, "waiver_records", "waiver_record").values()) if result.get("status") == "waived" else []


def rows(report: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Row]:
    """Each result with its benchmark metadata (a result the metadata does not know keeps what the report says)."""
    known = meta.get("rules") or {}
    for result in report.get("results") or []:
        rule = dict(known.get(str(result["id"])) or {"title": result.get("title"), "severity": None, "cci": [], "nist": []})
        rule.setdefault("remediation", result.get("remediation"))
        yield Row(result, rule, details(result), waiver_text(result))


def waiver_expiry(result: Mapping[str, Any]) -> Optional[str]:
    """The first day a waived result is a finding again: the earliest expiry of the waivers it rests on."""
    dates = sorted(str(r["expires"]) for r in waiver_records(result) if r.get("expires"))
    return dates[0] if dates else None


def nist_ids(rule: Mapping[str, Any]) -> List[str]:
    """NIST SP 800-53 ids as OSCAL's catalog spells them: AC-17 (2) -> ac-17.2."""
    found = []
    for text in rule.get("nist") or []:
        base, _sep, rest = str(text).replace(" ", "").partition("(")
        found.append(base.lower() + (f".{rest.rstrip(')')}" if rest else ""))
    return list(dict.fromkeys(found))


def generated(report: Mapping[str, Any]) -> str:
    return str(report.get("generated_at") or "1970-01-01T00:00:00Z")


def target(report: Mapping[str, Any]) -> Dict[str, str]:
    return {"host": str(report.get("node") or "unknown"), "layout": str(report.get("layout") or ""),
            "roles": ", ".join(str(r) for r in report.get("roles") or []),
            "kubernetes": reports.kubernetes_text(report) or ""}
