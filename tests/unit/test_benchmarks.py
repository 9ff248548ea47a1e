"""Benchmarks are data over one set of checks (cis_catalogue.yml `benchmarks`): each numbers, names and remediates
the catalogue's controls its own way and names the Kubernetes minors it is the benchmark of. The reports say which
one judged them; `kubeguard_benchmark` chooses, auto follows the node's release."""

from __future__ import annotations

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit, reports
from ansible_collections.kubeguard.hardening.plugins.filter.hardening import kubeguard_cis_catalogue

DATA = {"benchmark": "b-1", "controls": [{"id": "1.1", "title": "one", "remediation": "r1", "level": 1, "automated": True},
                                         {"id": "2.2", "title": "two", "remediation": "r2", "level": 1, "automated": True}],
        "benchmarks": {"default": "b-1", "entries": {
            "b-1": {"title": "B v1", "kubernetes": ["1.32", "1.33"]},
            "b-2": {"title": "B v2", "kubernetes": ["1.34", "1.35"], "changes": {"2.2": {"remediation": "r2 v2", "check": "ignored"}},
                    "removed": ["1.1"]}}}}


@pytest.mark.parametrize("wanted, version, name", [
    ("auto", "v1.33.4", "b-1"), ("auto", "1.35", "b-2"), ("auto", "v1.34.0", "b-2"), ("auto", None, "b-1"),
    ("auto", "v1.40.0", "b-2"), ("auto", "v1.31.9", "b-1"), ("auto", "v1.35.1+k3s1", "b-2"), ("auto", "latest", "b-1"),
    ("b-1", "v1.35.0", "b-1"), ("b-2", None, "b-2")])
def test_the_benchmark_is_the_one_named_else_the_releases_else_the_default(wanted, version, name):
    assert catalogue.choose_benchmark(DATA, wanted, version)[0] == name


@pytest.mark.parametrize("version, name, why", [
    ("v1.36.3", "cis-2.0", "the benchmark of Kubernetes 1.35, the newest mapped release before 1.36"),
    ("v1.35.4", "cis-2.0", "the benchmark of Kubernetes 1.35"),
    ("v1.34.4", "cis-1.12", "the benchmark of Kubernetes 1.34"),
    ("v1.31.0", "cis-1.12", "the default (no benchmark is mapped to v1.31.0 or an older one)")])
def test_each_release_the_collection_has_data_for_is_judged_by_a_named_benchmark_and_says_why(version, name, why):
    """The catalogue's own mapping: 1.36, which no CIS benchmark covers yet, by the newest published (CIS v2.0.1)."""
    assert catalogue.choose_benchmark(catalogue.load(), "auto", version) == (name, why)


def test_an_unknown_benchmark_is_refused_naming_what_exists():
    with pytest.raises(ValueError, match=r"kubeguard_benchmark: 'cis-9' .* allowed: auto, b-1, b-2"):
        catalogue.choose_benchmark(DATA, "cis-9")


def test_a_view_changes_what_the_benchmark_says_never_the_check():
    view = catalogue.benchmark_view(DATA, "auto", "v1.35.2")
    assert view["benchmark"] == "b-2" and view["title"] == "B v2" and "1.35" in view["why"]
    assert [c["id"] for c in view["controls"]] == ["2.2"]
    assert view["controls"][0]["remediation"] == "r2 v2" and "check" not in view["controls"][0]
    assert DATA["controls"][1]["remediation"] == "r2"          # the catalogue itself is untouched


def test_every_benchmark_entry_references_existing_checks_and_every_check_is_in_a_benchmark():
    data = catalogue.load()
    ids = {str(c["id"]) for c in data["controls"]}
    entries = data["benchmarks"]["entries"]
    assert data["benchmarks"]["default"] in entries and data["benchmark"] in entries
    cis = {name: entry for name, entry in entries.items() if "rules" not in entry}   # (the STIG: test_stig.py)
    for name, entry in cis.items():
        assert set(map(str, entry.get("changes") or {})) <= ids, name
        assert set(map(str, entry.get("removed") or [])) <= ids, name
        assert all(set(change) <= set(catalogue.BENCHMARK_FIELDS) for change in (entry.get("changes") or {}).values()), name
        assert entry["title"] and entry["kubernetes"], name
    # every check belongs to some benchmark entry (none removes it everywhere)
    kept = set()
    for name in cis:
        kept |= {str(c["id"]) for c in catalogue.benchmark_view(data, name)["controls"]}
    assert kept == ids
    # one benchmark per minor
    minors = [m for entry in entries.values() for m in entry.get("kubernetes") or []]
    assert len(minors) == len(set(minors)), minors


def test_benchmark_checks_say_which_check_each_control_of_a_benchmark_is():
    """What drift and the fleet report's change match controls of two benchmarks by: each benchmark's id -> the check."""
    assert catalogue.benchmark_checks(DATA) == {"b-1": {"1.1": "1.1", "2.2": "2.2"}, "b-2": {"2.2": "2.2"}}
    renumbered = dict(DATA, benchmarks={"entries": {"b-3": {"changes": {"1.1": {"id": "9.9"}, "2.2": {"id": "1.1"}}},
                                                    "b-4": {"changes": {"1.1": {"id": "2.2"}}}}})
    # b-4 numbers both checks 2.2: that id names neither
    assert catalogue.benchmark_checks(renumbered) == {"b-3": {"9.9": "1.1", "1.1": "2.2"}, "b-4": {}}
    data = catalogue.load()
    checks = catalogue.benchmark_checks(data)
    assert set(checks) == set(data["benchmarks"]["entries"])
    for name, ids in checks.items():
        # no id of a benchmark names two checks (each control of its reports is one check); a benchmark of rules
        # (the STIG: a rule is several checks) names none, so a change to or from it compares nothing by check
        view = catalogue.benchmark_view(data, name)
        assert len(ids) == (0 if view["kind"] == "rules" else len(view["controls"])), name
    # CIS 2.0.1 has every check of 1.12 under the same ids (what drift compares across the upgrade that moves auto)
    assert checks["cis-2.0"] == checks["cis-1.12"]


def test_kubeguard_benchmark_is_validated_against_the_catalogue():
    assert hv.validate({})["kubeguard_benchmark"] == "auto"
    name = catalogue.benchmark_names()[0]
    assert hv.validate({"kubeguard_benchmark": name})["kubeguard_benchmark"] == name
    with pytest.raises(hv.HardeningVarsError, match=r"kubeguard_benchmark: 'cis-1.13' must be one of: auto, cis-1.12"):
        hv.validate({"kubeguard_benchmark": "cis-1.13"})


def test_several_benchmarks_are_a_list_each_once():
    assert hv.validate({"kubeguard_benchmark": ["auto", "stig-v2r6"]})["kubeguard_benchmark"] == ["auto", "stig-v2r6"]
    for bad in ([], ["auto", "auto"], ["auto", "cis-1.13"], ["auto", ["stig-v2r6"]], [None], {"auto": 1}):
        with pytest.raises(hv.HardeningVarsError, match=r"kubeguard_benchmark: .* or a list of them \(each once\)"):
            hv.validate({"kubeguard_benchmark": bad})
    assert hv.benchmarks_of("auto") == ["auto"] and hv.benchmarks_of(["stig-v2r6", "cis-2.0"]) == ["stig-v2r6", "cis-2.0"]
    # a profile's benchmark is beneath yours: your list wins over kubeguard_profile stig's stig-v2r6
    assert hv.validate({"kubeguard_profile": "stig", "kubeguard_benchmark": ["cis-2.0", "stig-v2r6"]})["kubeguard_benchmark"] == ["cis-2.0", "stig-v2r6"]


def test_one_look_judged_by_several_benchmarks_the_main_first_none_twice(kubeadm_files):
    root, layout = kubeadm_files
    state = audit.observe(layout, str(root / "proc"))
    data = catalogue.audit_part(catalogue.load())
    found = audit.node_reports(state, ["control_plane"], {}, data, "cp1", "kubeadm", kubernetes={"version": "v1.34.4"},
                               benchmarks=["auto", "stig-v2r6", "cis-1.12"])
    # auto is cis-1.12 at v1.34: judged once
    assert [r["benchmark"] for r in found] == ["cis-1.12", "stig-v2r6"]
    assert len(found[1]["results"]) == 92 and found[0]["results"] != found[1]["results"]
    # a waiver names a control of either: each report takes its own, one that neither knows is refused naming both
    waived = audit.node_reports(state, ["control_plane"], {"V-242390": "ours", "1.2.1": "theirs"}, data, "cp1", "kubeadm",
                                kubernetes={"version": "v1.34.4"}, benchmarks=["auto", "stig-v2r6"])
    assert {r["id"]: r["waiver"] for r in waived[0]["results"] if r["waiver"]} == {"1.2.1": "theirs"}
    assert {r["id"] for r in waived[1]["results"] if r["waiver"]} >= {"V-242390"}
    with pytest.raises(ValueError, match=r"\['V-1'\] are not control ids of cis-1.12, stig-v2r6 or of the catalogue's checks"):
        audit.node_reports(state, ["control_plane"], {"V-1": "x"}, data, "cp1", "kubeadm", kubernetes={"version": "v1.34.4"},
                           benchmarks=["auto", "stig-v2r6"])
    # the cluster audit: the CIS benchmark named in the list (or the release's) with the STIG's cluster rules
    view = kubeguard_cis_catalogue("controls", ["stig-v2r6", "cis-2.0"], "v1.34.4")
    assert view["benchmark"] == "cis-2.0" and {"V-242383", "5.1.1"} <= {c["id"] for c in view["controls"]}
    assert kubeguard_cis_catalogue("controls", ["stig-v2r6"], "v1.34.4")["benchmark"] == "cis-1.12"
    assert not [c for c in kubeguard_cis_catalogue("controls", ["cis-2.0"], "v1.34.4")["controls"] if c["id"].startswith("V-")]


def test_the_report_names_the_benchmark_of_the_nodes_release(kubeadm_files):
    root, layout = kubeadm_files
    state = audit.observe(layout, str(root / "proc"))
    data = dict(catalogue.load(), benchmarks={"default": "cis-1.12", "entries": {
        "cis-1.12": {"title": "v1.12", "kubernetes": ["1.33"]},
        "cis-x": {"title": "x", "kubernetes": ["1.35"], "changes": {"1.1.1": {"title": "renamed by x"}}}}})
    for version, name in (("v1.33.2", "cis-1.12"), ("v1.35.0", "cis-x")):
        report = audit.node_report(state, ["control_plane"], {}, data, "cp1", "kubeadm", kubernetes={"version": version})
        assert report["benchmark"] == name
        assert ({r["id"]: r["title"] for r in report["results"]}["1.1.1"] == "renamed by x") is (name == "cis-x")
    chosen = audit.node_report(state, ["control_plane"], {}, data, "cp1", "kubeadm", kubernetes={"version": "v1.35.0"}, benchmark="cis-1.12")
    assert chosen["benchmark"] == "cis-1.12"
    assert (chosen["benchmark_title"], chosen["benchmark_choice"]) == ("v1.12", "kubeguard_benchmark")
    newer = audit.node_report(state, ["control_plane"], {}, data, "cp1", "kubeadm", kubernetes={"version": "v1.36.3"})
    assert (newer["benchmark"], newer["benchmark_title"]) == ("cis-x", "x")
    assert newer["benchmark_choice"] == "the benchmark of Kubernetes 1.35, the newest mapped release before 1.36"
    assert "Benchmark: x, the benchmark of Kubernetes 1.35, the newest mapped release before 1.36." in reports.markdown(newer)


def test_the_filter_gives_the_cluster_audit_its_benchmarks_controls():
    view = kubeguard_cis_catalogue("controls", "auto", "v1.33.1")
    assert view["benchmark"] == "cis-1.12" and view["controls"]
    plain = kubeguard_cis_catalogue("controls")
    assert plain["benchmarks"]["entries"] and plain["benchmark"] == catalogue.load()["benchmark"]


def test_cis_2_0_1_is_the_benchmark_of_1_35_with_its_own_remediations():
    data = catalogue.load()
    assert catalogue.choose_benchmark(data, "auto", "v1.34.4")[0] == "cis-1.12"   # as kube-bench's releases map it
    view = catalogue.benchmark_view(data, "auto", "v1.35.0")
    base = {str(c["id"]): c for c in data["controls"]}
    assert view["benchmark"] == "cis-2.0" and len(view["controls"]) == len(base)
    differs = {str(c["id"]) for c in view["controls"] if c != base[str(c["id"])]}
    assert differs == {"1.2.29", "3.2.2"}
    assert all(c["check"] == base[str(c["id"])]["check"] for c in view["controls"] if "check" in c)


def test_waivers_follow_a_benchmark_that_renumbers_or_drops_a_control(kubeadm_files):
    """The plan waives by the catalogue's ids: a benchmark that numbers a control otherwise gets the waiver under
    its own id, one without the control none - never a refusal of the plan's own waiver."""
    root, layout = kubeadm_files
    state = audit.observe(layout, str(root / "proc"))
    data = dict(catalogue.load(), benchmarks={"default": "cis-1.12", "entries": {
        "cis-1.12": {"title": "v1.12", "kubernetes": ["1.33"]},
        "cis-y": {"title": "y", "kubernetes": ["1.35"], "changes": {"1.2.15": {"id": "1.2.99"}}, "removed": ["1.3.2"]}}})
    waivers = {"1.2.15": "profiling on: kube_profiling=true", "1.3.2": "profiling on: kube_profiling=true"}
    report = audit.node_report(state, ["control_plane"], waivers, data, "cp1", "kubeadm", kubernetes={"version": "v1.35.0"})
    results = {r["id"]: r for r in report["results"]}
    assert "1.2.15" not in results and "1.3.2" not in results
    assert results["1.2.99"]["status"] == "waived" and "kube_profiling" in results["1.2.99"]["waiver"]
    with pytest.raises(ValueError, match="not control ids"):
        audit.node_report(state, ["control_plane"], {"9.9.9": "x"}, data, "cp1", "kubeadm", kubernetes={"version": "v1.35.0"})


def test_waivers_are_checked_once_on_a_benchmark_path_and_every_refusal_still_names_the_waiver(kubeadm_files, monkeypatch):
    """With benchmarks the waivers are checked once, against the catalogue's ids and the benchmark's: what is left
    after the translation names a control of the benchmark, so a second check could refuse nothing more."""
    root, layout = kubeadm_files
    state = audit.observe(layout, str(root / "proc"))
    data = dict(catalogue.load(), benchmarks={"default": "cis-1.12", "entries": {
        "cis-1.12": {"title": "v1.12", "kubernetes": ["1.33"]},
        "cis-y": {"title": "y", "kubernetes": ["1.35"], "changes": {"1.2.15": {"id": "1.2.99"}}, "removed": ["1.3.2"]}}})
    node = {"kubernetes": {"version": "v1.35.0"}}
    with pytest.raises(ValueError, match=r"verify_waivers: \['9\.9\.9'\] are not control ids of cis-y"):
        audit.node_report(state, ["control_plane"], {"1.2.15": "ok", "9.9.9": "x"}, data, "cp1", "kubeadm", **node)
    with pytest.raises(ValueError, match=r"verify_waivers\['1\.2\.99'\]: ' ' - a non-empty string is needed"):
        audit.node_report(state, ["control_plane"], {"1.2.99": " "}, data, "cp1", "kubeadm", **node)
    with pytest.raises(ValueError, match=r"verify_waivers\['1\.3\.2'\]: NoneType None - a reason"):   # dropped by cis-y, still a waiver
        audit.node_report(state, ["control_plane"], {"1.3.2": None}, data, "cp1", "kubeadm", **node)
    calls = []
    check = audit.check_waivers
    monkeypatch.setattr(audit, "check_waivers", lambda *args: calls.append(args) or check(*args))
    # the catalogue's id, the benchmark's own id and one it does not have: all taken, checked once
    waivers = {"1.2.15": "profiling on", "1.1.1": "by hand", "1.3.2": "profiling on"}
    results = {r["id"]: r for r in audit.node_report(state, ["control_plane"], waivers, data, "cp1", "kubeadm", **node)["results"]}
    assert len(calls) == 1 and results["1.2.99"]["waiver"] == "profiling on" and results["1.1.1"]["waiver"] == "by hand"
    # without benchmarks the one check is against the catalogue's controls
    calls.clear()
    plain = {k: v for k, v in catalogue.load().items() if k != "benchmarks"}
    with pytest.raises(ValueError, match=r"verify_waivers: \['1\.2\.99'\] are not control ids"):
        audit.node_report(state, ["control_plane"], {"1.2.99": "x"}, plain, "cp1", "kubeadm", **node)
    assert len(calls) == 1
