"""A node's results as SCAP tools read them: an XCCDF 1.2 document (the benchmark's rules and this node's
TestResult) and an ARF 1.1 asset report collection wrapping that TestResult with the node as its asset
(OpenSCAP, SCAP Compliance Checker, eMASS and STIG Manager import either)."""

from __future__ import annotations

import re
from typing import Any, List, Mapping
from xml.sax.saxutils import escape as _escape, quoteattr as _quoteattr

from . import evidence

XCCDF = "http://checklists.nist.gov/xccdf/1.2"
ARF = "http://scap.nist.gov/schema/asset-reporting-format/1.1"
CORE = "http://scap.nist.gov/schema/reporting-core/1.1"
AI = "http://scap.nist.gov/schema/asset-identification/1.1"
CCI_SYSTEM = "http://cyber.mil/cci"
CHECK_SYSTEM = "urn:kubeguard:hardening:check"
DC = "http://purl.org/dc/elements/1.1/"
PLATFORM = "cpe:/a:kubernetes:kubernetes"
XCCDF_SEVERITY = {"high": "high", "medium": "medium", "low": "low"}


def escape(text: Any) -> str:
    return _escape(evidence.xml_text(text))


def quoteattr(text: Any) -> str:
    return _quoteattr(evidence.xml_text(text))


def _name(text: Any) -> str:
    """An id part XCCDF accepts (NCName characters only)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(text)) or "_"


def xccdf_id(kind: str, name: Any) -> str:
    return f"xccdf_{evidence.XCCDF_NAMESPACE}_{kind}_{_name(name)}"


def _time(report: Mapping[str, Any]) -> str:
    return evidence.generated(report)


def test_result(report: Mapping[str, Any], meta: Mapping[str, Any], indent: str = "  ") -> List[str]:
    """The TestResult element: the node as target, one rule-result per control, the score."""
    host = evidence.target(report)
    when = _time(report)
    benchmark_id = xccdf_id("benchmark", meta.get("benchmark"))
    lines = [f'{indent}<xccdf:TestResult id={quoteattr(xccdf_id("testresult", host["host"] + "_" + str(meta.get("benchmark"))))}'
             f' start-time="{when}" end-time="{when}" test-system={quoteattr(evidence.TOOL)} version="1">',
             f'{indent}  <xccdf:benchmark href={quoteattr("#" + benchmark_id)} id={quoteattr(benchmark_id)}/>',
             f"{indent}  <xccdf:title>{escape(str(meta.get('title') or meta.get('benchmark')))} - {escape(host['host'])}</xccdf:title>",
             f"{indent}  <xccdf:target>{escape(host['host'])}</xccdf:target>",
             f"{indent}  <xccdf:target-facts>",
             f'{indent}    <xccdf:fact name="urn:xccdf:fact:asset:identifier:host_name" type="string">{escape(host["host"])}</xccdf:fact>']
    for name in ("layout", "roles", "kubernetes"):
        if host[name]:
            lines.append(f'{indent}    <xccdf:fact name={quoteattr("urn:kubeguard:fact:" + name)} type="string">{escape(host[name])}</xccdf:fact>')
    lines.append(f"{indent}  </xccdf:target-facts>")
    passed = judged = 0
    for row in evidence.rows(report, meta):
        result = evidence.XCCDF_RESULT[row.result["status"]]
        if result in ("pass", "fail"):
            judged += 1
            passed += result == "pass"
        severity = XCCDF_SEVERITY.get(str(row.rule.get("severity")), "unknown")
        lines.append(f'{indent}  <xccdf:rule-result idref={quoteattr(xccdf_id("rule", row.result["id"]))} severity="{severity}"'
                     f' time="{when}" role="full" weight="10.0">')
        lines.append(f"{indent}    <xccdf:result>{result}</xccdf:result>")
        for cci in row.rule.get("cci") or []:
            lines.append(f"{indent}    <xccdf:ident system={quoteattr(CCI_SYSTEM)}>{escape(cci)}</xccdf:ident>")
        lines.append(f'{indent}    <xccdf:message severity="info">{escape(row.details)}</xccdf:message>')
        if row.comments:
            lines.append(f'{indent}    <xccdf:message severity="warning">{escape(row.comments)}</xccdf:message>')
        lines += _check(row, indent + "    ")
        lines.append(f"{indent}  </xccdf:rule-result>")
    score = 100.0 * passed / judged if judged else 0.0   # nothing judged is no evidence of compliance
    lines += [f'{indent}  <xccdf:score system="urn:xccdf:scoring:flat-unweighted" maximum="100">{score:.2f}</xccdf:score>',
              f"{indent}</xccdf:TestResult>"]
    return lines


def _check(row: evidence.Row, indent: str) -> List[str]:
    """The checking system is the collection's own: what it checks, as the report says it."""
    what = row.result.get("expected") or row.rule.get("check_text") or row.result.get("found") or "reviewed by hand"
    return [f"{indent}<xccdf:check system={quoteattr(CHECK_SYSTEM)}>",
            f"{indent}  <xccdf:check-content>{escape(str(what))}</xccdf:check-content>", f"{indent}</xccdf:check>"]


def xccdf(report: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """An XCCDF 1.2 Benchmark with the rules of the report's benchmark and the node's TestResult."""
    when = _time(report)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<xccdf:Benchmark xmlns:xccdf="{XCCDF}" id={quoteattr(xccdf_id("benchmark", meta.get("benchmark")))}'
             f' resolved="1" xml:lang="en" style="SCAP_1.2">',
             f'  <xccdf:status date="{when[:10]}">accepted</xccdf:status>',
             f"  <xccdf:title>{escape(str(meta.get('title') or meta.get('benchmark')))}</xccdf:title>",
             f"  <xccdf:description>{escape(str(meta.get('title') or meta.get('benchmark')))}, as {evidence.TOOL} judges it"
             " from the node's running state</xccdf:description>",
             f'  <xccdf:platform idref="{PLATFORM}"/>',
             f"  <xccdf:version>{escape(_version(meta))}</xccdf:version>",
             f'  <xccdf:metadata><dc:creator xmlns:dc="{DC}">{evidence.TOOL}</dc:creator>'
             f'<dc:source xmlns:dc="{DC}">{escape(str(meta.get("title") or meta.get("benchmark")))}</dc:source></xccdf:metadata>']
    for row in evidence.rows(report, meta):
        rid = row.result["id"]
        severity = XCCDF_SEVERITY.get(str(row.rule.get("severity")), "unknown")
        lines += [f'  <xccdf:Group id={quoteattr(xccdf_id("group", rid))}>',
                  f"    <xccdf:title>{escape(str(row.rule.get('srg') or rid))}</xccdf:title>",
                  f'    <xccdf:Rule id={quoteattr(xccdf_id("rule", rid))} selected="true" severity="{severity}" weight="10.0">']
        if row.rule.get("stig_id"):
            lines.append(f"      <xccdf:version>{escape(str(row.rule['stig_id']))}</xccdf:version>")
        lines.append(f"      <xccdf:title>{escape(str(row.rule.get('title') or row.result.get('title') or rid))}</xccdf:title>")
        if row.rule.get("check_text"):
            lines.append(f"      <xccdf:description>{escape(str(row.rule['check_text']))}</xccdf:description>")
        for cci in row.rule.get("cci") or []:
            lines.append(f"      <xccdf:ident system={quoteattr(CCI_SYSTEM)}>{escape(cci)}</xccdf:ident>")
        if row.rule.get("remediation"):
            lines.append(f"      <xccdf:fixtext>{escape(str(row.rule['remediation']))}</xccdf:fixtext>")
        lines += _check(row, "      ")
        lines += ["    </xccdf:Rule>", "  </xccdf:Group>"]
    lines += test_result(report, meta)
    lines.append("</xccdf:Benchmark>")
    return "\n".join(lines) + "\n"


def _version(meta: Mapping[str, Any]) -> str:
    if meta.get("version") and meta.get("release"):
        return f"{meta['version']}.{meta['release']}"
    return str(meta.get("benchmark") or "1")


def arf(report: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """An ARF 1.1 asset report collection: the node as a computing device, the XCCDF TestResult about it."""
    host = evidence.target(report)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<arf:asset-report-collection xmlns:arf="{ARF}" xmlns:core="{CORE}" xmlns:ai="{AI}" xmlns:xccdf="{XCCDF}">',
             "  <core:relationships xmlns:arfvocab=\"http://scap.nist.gov/specifications/arf/vocabulary/relationships/1.0#\">",
             '    <core:relationship type="arfvocab:isAbout" subject="xccdf1">', "      <core:ref>asset0</core:ref>",
             "    </core:relationship>", "  </core:relationships>",
             "  <arf:assets>", '    <arf:asset id="asset0">', "      <ai:computing-device>",
             "        <ai:hostname>" + escape(_hostname(host["host"])) + "</ai:hostname>",
             "      </ai:computing-device>", "    </arf:asset>", "  </arf:assets>",
             "  <arf:reports>", '    <arf:report id="xccdf1">', "      <arf:content>"]
    lines += test_result(report, meta, indent="        ")
    lines += ["      </arf:content>", "    </arf:report>", "  </arf:reports>", "</arf:asset-report-collection>"]
    return "\n".join(lines) + "\n"


def _hostname(name: str) -> str:
    """ai:hostname is a host name: the inventory name when it is one."""
    return name if re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", name) else _name(name).replace("_", "-").strip("-.") or "node"
