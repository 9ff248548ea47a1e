"""The evidence formats from one report: STIG Viewer checklists (CKL, CKLB), XCCDF 1.2 and ARF 1.1 (validated by
OpenSCAP's oscap), OSCAL Assessment Results (compliance-trestle's model) and SARIF 2.1.0 (the OASIS schema) -
each says the same statuses and carries the waiver. The validators come from testbed/evidence-requirements.txt
(KG_EVIDENCE_PYTHON) and Debian's openscap-scanner; `make test` installs both, so there they must be present."""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit, checklist, evidence, oscal, sarif, xccdf
from test_audit import start

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VALIDATE = os.path.join(REPO, "tools", "validate_evidence.py")
DATA = catalogue.load()
META = catalogue.benchmark_meta(DATA, "stig-v2r6")
# `make test` (testbed/run-tests.sh) sets this: there a missing validator fails the test instead of skipping it
REQUIRED = os.environ.get("KG_EVIDENCE_TOOLS") == "required"
WAIVERS = {"1.2.27": {"reason": "disks are encrypted", "owner": "platform-team", "expires": "2099-06-30", "ticket": "SEC-42"},
           "1.2.28": {"reason": "disks are encrypted", "owner": "platform-team", "expires": "2099-06-30", "ticket": "SEC-42"},
           "V-242380": {"reason": "peer TLS by hand", "owner": "ops", "expires": "2020-01-31"}}


def tool(name):
    if name == "oscap":
        found = shutil.which("oscap")
    else:
        found = os.environ.get("KG_EVIDENCE_PYTHON")
        found = found if found and os.path.exists(found) else None
    if not found:
        if REQUIRED:
            pytest.fail(f"{name}: the evidence validators are not installed (testbed/setup.sh installs them)")
        pytest.skip(f"{name} not installed here (testbed/setup.sh installs it; make test requires it)")
    return found


@pytest.fixture
def report(kubeadm_files):
    root, layout = kubeadm_files
    start(root / "proc", 100, ["/usr/local/bin/kube-apiserver", "--tls-min-version=VersionTLS12", "--anonymous-auth=false"])
    state = audit.observe(layout, str(root / "proc"))
    return audit.node_report(state, ["control_plane", "etcd"], WAIVERS, catalogue.audit_part(DATA), "cp1", "kubeadm",
                             kubernetes={"version": "v1.34.4"}, benchmark="stig-v2r6")


def statuses(report):
    return {r["id"]: r["status"] for r in report["results"]}


def test_the_report_has_every_kind_of_result(report):
    found = collections.Counter(statuses(report).values())
    assert all(found[s] for s in ("pass", "fail", "manual", "waived", "not_applicable")), found
    results = {r["id"]: r for r in report["results"]}
    assert results["V-274882"]["status"] == "waived" and results["V-242380"]["waiver_expired"]


def test_the_ckl_is_stig_viewers_structure_with_our_statuses_and_the_waiver(report):
    root = ET.fromstring(checklist.ckl(report, META))
    assert [child.tag for child in root] == ["ASSET", "STIGS"]
    assert [child.tag for child in root.find("ASSET")] == list(checklist.ASSET_FIELDS)
    assert root.findtext("ASSET/HOST_NAME") == "cp1" and root.findtext("ASSET/ROLE") in ("None", "Workstation", "Member Server", "Domain Controller")
    info = {d.findtext("SID_NAME"): d.findtext("SID_DATA") for d in root.iter("SI_DATA")}
    assert info["version"] == "2" and info["releaseinfo"] == "Release: 6 Benchmark Date: 01 Apr 2026"
    vulns = root.findall("STIGS/iSTIG/VULN")
    assert len(vulns) == 92
    seen = {}
    for vuln in vulns:
        names = [d.findtext("VULN_ATTRIBUTE") for d in vuln.findall("STIG_DATA")]
        assert names[:len(checklist.VULN_ATTRIBUTES)] == list(checklist.VULN_ATTRIBUTES)
        assert set(names[len(checklist.VULN_ATTRIBUTES):]) <= {"CCI_REF"} and "CCI_REF" in names
        data = {d.findtext("VULN_ATTRIBUTE"): d.findtext("ATTRIBUTE_DATA") for d in vuln.findall("STIG_DATA")}
        assert data["Severity"] in ("low", "medium", "high")
        assert [c.tag for c in vuln][-5:] == ["STATUS", "FINDING_DETAILS", "COMMENTS", "SEVERITY_OVERRIDE", "SEVERITY_JUSTIFICATION"]
        seen[data["Vuln_Num"]] = vuln
    assert {k: evidence.CHECKLIST_STATUS[v] for k, v in statuses(report).items()} == {k: v.findtext("STATUS") for k, v in seen.items()}
    assert seen["V-242378"].findtext("STATUS") == "NotAFinding" and "--tls-min-version=VersionTLS12" in seen["V-242378"].findtext("FINDING_DETAILS")
    assert seen["V-242379"].findtext("STATUS") == "Open"
    waived = seen["V-274882"].findtext("COMMENTS")
    assert seen["V-274882"].findtext("STATUS") == "Open" and "platform-team" in waived and "2099-06-30" in waived and "SEC-42" in waived
    assert "expired" in seen["V-242380"].findtext("COMMENTS") and "until 2020-01-31" in seen["V-242380"].findtext("COMMENTS")
    assert seen["V-242380"].findtext("STATUS") == "Open"


def test_the_cklb_is_stig_viewer_3s_shape_with_the_same_statuses(report):
    document = json.loads(checklist.cklb(report, META))
    assert {"title", "id", "active", "mode", "has_path", "target_data", "stigs", "cklb_version"} <= set(document)
    assert document["target_data"]["host_name"] == "cp1"
    (stig,) = document["stigs"]
    assert {"stig_name", "display_name", "stig_id", "release_info", "uuid", "reference_identifier", "size", "rules"} <= set(stig)
    assert stig["size"] == len(stig["rules"]) == 92
    by_group = {rule["group_id"]: rule for rule in stig["rules"]}
    assert {k: evidence.CKLB_STATUS[v] for k, v in statuses(report).items()} == {k: r["status"] for k, r in by_group.items()}
    assert all(r["status"] in ("not_a_finding", "open", "not_applicable", "not_reviewed") for r in stig["rules"])
    assert all(r["severity"] in ("low", "medium", "high") and r["stig_uuid"] == stig["uuid"] for r in stig["rules"])
    assert by_group["V-242376"]["rule_id_src"] == "SV-242376r960759_rule" and by_group["V-242376"]["rule_id"] == "SV-242376r960759"
    assert by_group["V-242376"]["ccis"] == ["CCI-000068"]
    assert "platform-team" in by_group["V-274882"]["comments"]
    # the same report gives the same file (stable ids): a second run changes nothing
    assert checklist.cklb(report, META) == json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_xccdf_and_arf_pass_openscaps_validation_and_say_the_same(report, tmp_path):
    oscap = tool("oscap")
    for name, text, command in (("r.xccdf.xml", xccdf.xccdf(report, META), "xccdf"), ("r.arf.xml", xccdf.arf(report, META), "ds")):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        args = [oscap, "xccdf", "validate", str(path)] if command == "xccdf" else [oscap, "ds", "rds-validate", str(path)]
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        # and oscap refuses what the schema does not allow (the validation can fail)
        broken = text.replace("<xccdf:result>fail</xccdf:result>", "<xccdf:result>failed</xccdf:result>", 1) if command == "xccdf" \
            else text.replace("<arf:assets>", "<arf:asset-list>", 1).replace("</arf:assets>", "</arf:asset-list>", 1)
        path.write_text(broken, encoding="utf-8")
        assert subprocess.run(args, capture_output=True, text=True, check=False).returncode != 0, name
    ns = {"x": xccdf.XCCDF}
    root = ET.fromstring(xccdf.xccdf(report, META))
    results = {r.get("idref").rsplit("_rule_", 1)[1]: r.findtext("x:result", namespaces=ns) for r in root.iter(f"{{{xccdf.XCCDF}}}rule-result")}
    assert results == {k: evidence.XCCDF_RESULT[v] for k, v in statuses(report).items()}
    assert len(root.findall("x:Group/x:Rule", ns)) == 92


def validate(kind, text, tmp_path):
    python = tool(kind)
    path = tmp_path / f"doc.{kind}"
    path.write_text(text, encoding="utf-8")
    return subprocess.run([python, VALIDATE, kind, str(path)], capture_output=True, text=True, check=False)


def test_sarif_passes_the_oasis_schema_with_a_result_per_finding(report, tmp_path):
    text = sarif.sarif(report, META)
    proc = validate("sarif", text, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = json.loads(text)
    broken["runs"][0]["results"][0]["level"] = "fatal"
    assert validate("sarif", json.dumps(broken), tmp_path).returncode == 1
    run = json.loads(text)["runs"][0]
    findings = {k for k, v in statuses(report).items() if v in ("fail", "waived")}
    assert {r["ruleId"] for r in run["results"]} == findings and len(run["tool"]["driver"]["rules"]) == 92
    results = {r["ruleId"]: r for r in run["results"]}
    assert results["V-274882"]["suppressions"][0]["status"] == "accepted" and "SEC-42" in results["V-274882"]["suppressions"][0]["justification"]
    assert "suppressions" not in results["V-242379"] and results["V-242379"]["level"] == "warning"
    # located at the flag it reads, in the file that sets it
    where = results["V-242379"]["locations"][0]
    assert where["logicalLocations"][0]["name"] == "--auto-tls"
    assert where["physicalLocation"]["artifactLocation"]["uri"].endswith("/manifests/etcd.yaml")


def test_oscal_assessment_results_pass_trestles_model_with_risks_for_findings(report, tmp_path):
    text = oscal.oscal(report, META)
    proc = validate("oscal", text, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = json.loads(text)
    del broken["assessment-results"]["results"][0]["observations"][0]["uuid"]
    assert validate("oscal", json.dumps(broken), tmp_path).returncode == 1
    (result,) = json.loads(text)["assessment-results"]["results"]
    findings = {f["target"]["target-id"]: f for f in result["findings"]}
    judged = {k: v for k, v in statuses(report).items() if v in ("pass", "fail", "waived")}
    assert {k: f["target"]["status"]["state"] for k, f in findings.items()} == \
        {k: "satisfied" if v == "pass" else "not-satisfied" for k, v in judged.items()}
    risks = {r["uuid"]: r for r in result["risks"]}
    waived = risks[findings["V-274882"]["related-risks"][0]["risk-uuid"]]
    assert waived["status"] == "deviation-approved" and waived["deadline"] == "2099-06-30T23:59:59Z"
    assert risks[findings["V-242379"]["related-risks"][0]["risk-uuid"]]["status"] == "open"
    # the OSCAL allowed values trestle does not check
    assert {m for o in result["observations"] for m in o["methods"]} <= {"EXAMINE", "INTERVIEW", "TEST", "UNKNOWN"}
    assert {r["status"] for r in result["risks"]} <= {"open", "investigating", "remediating", "deviation-requested", "deviation-approved", "closed"}
    assert "ac-17.2" in {p["value"] for p in findings["V-242378"]["props"] if p["name"] == "nist-control"}


def test_every_format_writes_a_cis_report_too(kubeadm_files):
    """A CIS benchmark's report (no severities, CCIs or STIG ids) gives every format as well."""
    root, layout = kubeadm_files
    report = audit.node_report(audit.observe(layout, str(root / "proc")), ["control_plane"], {}, catalogue.audit_part(DATA),
                               "cp1", "kubeadm", kubernetes={"version": "v1.34.4"})
    meta = catalogue.benchmark_meta(DATA, report["benchmark"])
    assert {r["id"] for r in report["results"]} <= set(meta["rules"]) and meta["rules"]["1.2.15"]["severity"] == "unknown"
    assert len(ET.fromstring(checklist.ckl(report, meta)).findall("STIGS/iSTIG/VULN")) == len(report["results"])
    assert json.loads(sarif.sarif(report, meta))["runs"][0]["results"]
    ET.fromstring(xccdf.arf(report, meta))
    assert json.loads(oscal.oscal(report, meta))["assessment-results"]["results"][0]["findings"]


def test_hostile_text_stays_text_in_every_format(report):
    """A finding's text (a file name, a flag value) with markup or control characters cannot break a document."""
    hostile = dict(report, node="cp1<x>&", results=[dict(r, found="</FINDING_DETAILS><x a='\"'>&amp;\u0007") for r in report["results"]])
    for writer in (checklist.ckl, xccdf.xccdf, xccdf.arf):
        ET.fromstring(writer(hostile, META).encode("utf-8"))
    for writer in (checklist.cklb, sarif.sarif, oscal.oscal):
        assert json.loads(writer(hostile, META))


def test_a_node_where_nothing_was_judged_scores_nothing(report):
    quiet = dict(report, results=[dict(r, status="manual") for r in report["results"]])
    assert '<xccdf:score system="urn:xccdf:scoring:flat-unweighted" maximum="100">0.00</xccdf:score>' in xccdf.xccdf(quiet, META)
