"""A node's results as a DISA STIG Viewer checklist: CKL (STIG Viewer 2, XML) and CKLB (STIG Viewer 3, JSON).
One checklist per node (the target), one VULN / rule per control: status, finding details = our evidence,
comments = the waiver (owner, expiry, ticket, reason). An assessor opens it in STIG Viewer or imports it into
eMASS / STIG Manager as it is."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping
from xml.sax.saxutils import escape

from . import evidence

# STIG_DATA attributes in the order STIG Viewer writes them
VULN_ATTRIBUTES = ("Vuln_Num", "Severity", "Group_Title", "Rule_ID", "Rule_Ver", "Rule_Title", "Vuln_Discuss", "IA_Controls",
                   "Check_Content", "Fix_Text", "False_Positives", "False_Negatives", "Documentable", "Mitigations",
                   "Potential_Impact", "Third_Party_Tools", "Mitigation_Control", "Responsibility", "Security_Override_Guidance",
                   "Check_Content_Ref", "Weight", "Class", "STIGRef", "TargetKey", "STIG_UUID")
ASSET_FIELDS = ("ROLE", "ASSET_TYPE", "MARKING", "HOST_NAME", "HOST_IP", "HOST_MAC", "HOST_FQDN", "TARGET_COMMENT", "TECH_AREA",
                "TARGET_KEY", "WEB_OR_DATABASE", "WEB_DB_SITE", "WEB_DB_INSTANCE")
CLASSIFICATION = "UNCLASSIFIED"


def _stig_info(meta: Mapping[str, Any]) -> Dict[str, str]:
    release = f"Release: {meta.get('release')} Benchmark Date: {meta.get('benchmark_date')}" if meta.get("release") else ""
    return {"version": str(meta.get("version") or ""), "classification": CLASSIFICATION, "customname": "",
            "stigid": str(meta.get("benchmark") or ""), "description": "", "filename": "", "releaseinfo": release,
            "title": str(meta.get("title") or meta.get("benchmark") or ""), "uuid": evidence.stable_uuid("stig", meta.get("benchmark")),
            "notice": "", "source": ""}


def _stig_ref(meta: Mapping[str, Any]) -> str:
    if meta.get("version") and meta.get("release"):
        return f"{meta.get('title')} :: Version {meta['version']}, Release: {meta['release']} Benchmark Date: {meta.get('benchmark_date')}"
    return str(meta.get("title") or meta.get("benchmark") or "")


def _vuln_data(row: evidence.Row, meta: Mapping[str, Any]) -> Dict[str, str]:
    rule, result = row.rule, row.result
    return {"Vuln_Num": str(result["id"]), "Severity": evidence.severity(rule), "Group_Title": str(rule.get("srg") or result["id"]),
            "Rule_ID": str(rule.get("rule_id") or result["id"]), "Rule_Ver": str(rule.get("stig_id") or result["id"]),
            "Rule_Title": str(rule.get("title") or result.get("title") or ""), "Vuln_Discuss": "", "IA_Controls": "",
            "Check_Content": str(rule.get("check_text") or result.get("expected") or ""),
            "Fix_Text": str(rule.get("remediation") or ""), "False_Positives": "", "False_Negatives": "", "Documentable": "false",
            "Mitigations": "", "Potential_Impact": "", "Third_Party_Tools": "", "Mitigation_Control": "", "Responsibility": "",
            "Security_Override_Guidance": "", "Check_Content_Ref": "M", "Weight": "10.0", "Class": "Unclass",
            "STIGRef": _stig_ref(meta), "TargetKey": "", "STIG_UUID": evidence.stable_uuid("stig", meta.get("benchmark"))}


def _element(name: str, text: str, indent: str) -> str:
    return f"{indent}<{name}>{escape(evidence.xml_text(text))}</{name}>" if text else f"{indent}<{name} />"


def ckl(report: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """STIG Viewer 2's checklist (XML)."""
    host = evidence.target(report)
    asset = {"ROLE": "Member Server", "ASSET_TYPE": "Computing", "MARKING": "CUI", "HOST_NAME": host["host"], "HOST_IP": "",
             "HOST_MAC": "", "HOST_FQDN": "", "TARGET_COMMENT": _target_comment(host), "TECH_AREA": "", "TARGET_KEY": "",
             "WEB_OR_DATABASE": "false", "WEB_DB_SITE": "", "WEB_DB_INSTANCE": ""}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<!--{evidence.TOOL} :: STIG Viewer 2 checklist-->", "<CHECKLIST>", "  <ASSET>"]
    lines += [_element(name, asset[name], "    ") for name in ASSET_FIELDS]
    lines += ["  </ASSET>", "  <STIGS>", "    <iSTIG>", "      <STIG_INFO>"]
    for name, value in _stig_info(meta).items():
        lines += ["        <SI_DATA>", _element("SID_NAME", name, "          ")]
        if value:
            lines.append(_element("SID_DATA", value, "          "))
        lines.append("        </SI_DATA>")
    lines.append("      </STIG_INFO>")
    for row in evidence.rows(report, meta):
        data = _vuln_data(row, meta)
        lines.append("      <VULN>")
        pairs = [(name, data[name]) for name in VULN_ATTRIBUTES] + [("CCI_REF", cci) for cci in row.rule.get("cci") or []]
        for name, value in pairs:
            lines += ["        <STIG_DATA>", _element("VULN_ATTRIBUTE", name, "          "),
                      _element("ATTRIBUTE_DATA", value, "          "), "        </STIG_DATA>"]
        lines += [_element("STATUS", evidence.CHECKLIST_STATUS[row.result["status"]], "        "),
                  _element("FINDING_DETAILS", row.details, "        "), _element("COMMENTS", row.comments, "        "),
                  "        <SEVERITY_OVERRIDE />", "        <SEVERITY_JUSTIFICATION />", "      </VULN>"]
    lines += ["    </iSTIG>", "  </STIGS>", "</CHECKLIST>"]
    return "\n".join(lines) + "\n"


def _target_comment(host: Mapping[str, str]) -> str:
    said = [f"Kubernetes node ({host['layout']})" if host["layout"] else "Kubernetes node"]
    if host["roles"]:
        said.append(f"roles: {host['roles']}")
    if host["kubernetes"]:
        said.append(host["kubernetes"])
    return "; ".join(said)


def cklb(report: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """STIG Viewer 3's checklist (JSON)."""
    host = evidence.target(report)
    stig_uuid = evidence.stable_uuid("stig", meta.get("benchmark"))
    info = _stig_info(meta)
    when = evidence.generated(report)
    rules: List[Dict[str, Any]] = []
    for row in evidence.rows(report, meta):
        data = _vuln_data(row, meta)
        rules.append({
            "uuid": evidence.stable_uuid("rule", host["host"], meta.get("benchmark"), row.result["id"]),
            "stig_uuid": stig_uuid, "target_key": None, "stig_ref": None,
            "group_id": data["Vuln_Num"], "rule_id_src": data["Rule_ID"],
            "rule_id": data["Rule_ID"][:-len("_rule")] if data["Rule_ID"].endswith("_rule") else data["Rule_ID"],
            "weight": data["Weight"], "classification": "Unclassified", "severity": data["Severity"],
            "rule_version": data["Rule_Ver"], "group_title": data["Group_Title"], "rule_title": data["Rule_Title"],
            "fix_text": data["Fix_Text"], "false_positives": "", "false_negatives": "", "discussion": "",
            "check_content": data["Check_Content"], "documentable": "false", "mitigations": "", "potential_impacts": "",
            "third_party_tools": "", "mitigation_control": "", "responsibility": "", "security_override_guidance": "",
            "ia_controls": "", "check_content_ref": {"href": "", "name": "M"}, "legacy_ids": [],
            "ccis": list(row.rule.get("cci") or []), "group_tree": [{"id": data["Vuln_Num"], "title": data["Group_Title"], "description": ""}],
            "createdAt": when, "updatedAt": when, "STIGUuid": stig_uuid,
            "status": evidence.CKLB_STATUS[row.result["status"]], "overrides": {},
            "comments": row.comments, "finding_details": row.details})
    document = {
        "title": f"{host['host']} - {info['title']}", "id": evidence.stable_uuid("checklist", host["host"], meta.get("benchmark")),
        "active": False, "mode": 1, "has_path": True,
        "target_data": {"target_type": "Computing", "host_name": host["host"], "ip_address": "", "mac_address": "", "fqdn": "",
                        "comments": _target_comment(host), "role": "Member Server", "is_web_database": False,
                        "technology_area": "", "web_db_site": "", "web_db_instance": "", "classification": None},
        "stigs": [{"stig_name": info["title"], "display_name": info["title"], "stig_id": info["stigid"],
                   "release_info": info["releaseinfo"], "version": info["version"], "uuid": stig_uuid,
                   "reference_identifier": "", "size": len(rules), "rules": rules}],
        "cklb_version": "1.0"}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
