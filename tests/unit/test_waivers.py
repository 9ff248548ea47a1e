"""Waivers with an owner and an end (verify_waivers records): parsed strictly, expired ones waive nothing."""
import datetime

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit, reports, waivers

DAY = datetime.date(2026, 12, 5)
RECORD = {"reason": "profiling for the perf team", "owner": "platform@example.com", "expires": "2026-12-05", "ticket": "OPS-1"}


def test_a_reason_and_a_record_parse():
    parsed = waivers.parse({"1.2.15": "kept on purpose", "1.2.16": RECORD, 1.3: dict(RECORD, ticket=None)})
    assert parsed["1.2.15"] == waivers.Waiver("kept on purpose")
    assert parsed["1.2.16"].expires == DAY and parsed["1.2.16"].ticket == "OPS-1"
    assert parsed["1.3"].ticket is None   # keys as strings, the ticket optional
    assert parsed["1.2.16"].text() == "profiling for the perf team (owner platform@example.com; until 2026-12-05; ticket OPS-1)"
    # YAML gives an unquoted date as a date (or a timestamp): the day counts
    assert waivers.parse_one("x", dict(RECORD, expires=DAY)).expires == DAY
    assert waivers.parse_one("x", dict(RECORD, expires=datetime.datetime(2026, 12, 5, 23, 59))).expires == DAY


def test_block_scalars_and_numbers_read_as_written():
    """A folded or literal YAML block (newlines, tabs) reads as one line; a ticket number is taken as text."""
    record = waivers.parse_one("x", dict(RECORD, reason="kept for\n\tthe perf\u2028team\n", ticket=1234))
    assert record.reason == "kept for the perf team" and record.ticket == "1234"
    assert waivers.parse_one("x", "a reason\n").reason == "a reason"


def test_the_last_day_still_holds():
    record = waivers.parse_one("1.2.16", RECORD)
    assert not record.expired(DAY) and record.expired(DAY + datetime.timedelta(days=1))
    assert not waivers.Waiver("for good").expired(datetime.date(9999, 12, 31))


@pytest.mark.parametrize("value, message", [
    ({"reason": "r", "owner": "o"}, "expires missing"),
    ({"reason": "r", "expires": "2027-01-01"}, "owner missing"),
    (dict(RECORD, expiry="2027-01-01"), "unknown keys ['expiry']"),
    (dict(RECORD, expires="2027-02-30"), "a date YYYY-MM-DD"),
    (dict(RECORD, expires="31.12.2027"), "a date YYYY-MM-DD"),
    (dict(RECORD, expires=20271231), "a date YYYY-MM-DD"),
    (dict(RECORD, owner="\u202emoc.elpmaxe@nimda"), "printable text"),    # a bidi override: reads as another address
    (dict(RECORD, reason="bell\x07"), "printable text"),
    (dict(RECORD, reason="zero\u200bwidth"), "printable text"),
    (dict(RECORD, reason="\ufffe"), "printable text"),
    # a Hangul filler prints as nothing: refused here as in kubeguard_allow_override (base/readable_text, one rule)
    (dict(RECORD, owner="ops\u3164team"), "printable text"),
    (dict(RECORD, ticket="\x1b[31m"), "printable text"),
    (dict(RECORD, reason="r" * 4001), "at most 4000"),
    (dict(RECORD, ticket=True), "a non-empty string"),
    ("   ", "a non-empty string"),
    (["a reason"], "a reason (string) or a record"),
    (None, "a reason (string) or a record"),
])
def test_bad_entries_are_refused_naming_entry_field_and_what_is_allowed(value, message):
    with pytest.raises(ValueError, match="verify_waivers\\['1.2.16'\\]") as refused:
        waivers.parse({"1.2.16": value})
    assert message in str(refused.value)


@pytest.fixture
def state(kubeadm_files):
    """What the audit observes of kubeadm's own control plane node (no --profiling=false: 1.2.15 fails)."""
    root, layout = kubeadm_files[0], kubeadm_files[1]
    return audit.observe(layout, str(root / "proc"))


def test_an_expired_waiver_waives_nothing_and_every_report_says_so(state):
    control = next(c for c in catalogue.controls() if str(c["id"]) == "1.2.15")   # --profiling=false
    live = audit.audit(state, ["control_plane"], {"1.2.15": RECORD}, controls=[control], today=DAY)[0]
    assert live["status"] == "waived" and live["waiver_record"]["owner"] == "platform@example.com"
    assert "until 2026-12-05" in live["waiver"] and live["waiver_expired"] is None
    gone = audit.audit(state, ["control_plane"], {"1.2.15": RECORD}, controls=[control], today=DAY + datetime.timedelta(days=1))[0]
    assert gone["status"] == "fail" and gone["waiver"] is None and gone["waiver_record"] is None
    assert gone["waiver_expired"] == dict(RECORD)
    state["components"]["kube-apiserver"]["flags"]["profiling"] = "false"
    passing = audit.audit(state, ["control_plane"], {"1.2.15": RECORD}, controls=[control],
                          today=DAY + datetime.timedelta(days=1))[0]
    assert passing["status"] == "pass" and passing["waiver_expired"]["expires"] == "2026-12-05"   # still said
    report = {"node": "cp1", "benchmark": "cis-1.12", "roles": ["control_plane"], "layout": "kubeadm", "generated_at": "t",
              "results": [gone], "summary": audit.summarize([gone])}
    said = "waiver expired 2026-12-05 (owner platform@example.com): profiling for the perf team"
    assert any(said in line for line in reports.summary_table(report))
    assert said in reports.markdown(report) and said in reports.junit(report)


def test_a_waiver_of_yours_never_hides_the_collections_override_of_the_same_control(state):
    """plan.waived (kubeguard_allow_override) and verify_waivers on one control: your record decides - owner, expiry -
    and the report says both reasons; past its day the control fails, override or not."""
    override = {"1.2.15": "kubeguard_allow_override kube-apiserver.profiling: the perf team profiles the apiserver"}
    merged = waivers.beside_overrides(override, {"1.2.15": RECORD, "1.2.16": "kept"})
    assert merged["1.2.15"].owner == "platform@example.com" and merged["1.2.15"].expires == DAY
    assert merged["1.2.15"].reason == "profiling for the perf team; and " + override["1.2.15"]
    assert merged["1.2.16"] == waivers.Waiver("kept")
    assert waivers.beside_overrides(override, {})["1.2.15"] == waivers.Waiver(override["1.2.15"])
    control = next(c for c in catalogue.controls() if str(c["id"]) == "1.2.15")
    live = audit.audit(state, ["control_plane"], merged, controls=[control], today=DAY)[0]
    assert live["status"] == "waived" and "kube-apiserver.profiling" in live["waiver"] and "until 2026-12-05" in live["waiver"]
    gone = audit.audit(state, ["control_plane"], merged, controls=[control], today=DAY + datetime.timedelta(days=1))[0]
    assert gone["status"] == "fail" and "kube-apiserver.profiling" in gone["waiver_expired"]["reason"]
    with pytest.raises(ValueError, match="expires missing"):   # a bad record of yours is refused, beside an override too
        waivers.beside_overrides(override, {"1.2.15": {"reason": "r", "owner": "o"}})


def test_the_node_report_refuses_a_bad_record_before_judging():
    with pytest.raises(ValueError, match="expires missing"):
        audit.check_waivers({"1.2.15": {"reason": "r", "owner": "o"}}, catalogue.controls(), "cis-1.12")


def test_the_day_is_the_controllers_never_the_nodes_clock(kubeadm_files):
    """node_report judges a waiver's expiry (and a release's end of life) by the day it is given - the controller's,
    filled in by the actions - whatever the machine judging says its day is."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
    root, layout = kubeadm_files
    state = audit.observe(layout, str(root / "proc"))
    record = {"1.1.1": {"reason": "until the move", "owner": "ops", "expires": "2029-06-30"}}

    def status(today):
        report = audit.node_report(state, ["control_plane"], record, catalogue.audit_part(catalogue.load()), "cp1", "kubeadm",
                                   kubernetes={"version": "v1.34.4"}, today=today)
        return next(r for r in report["results"] if r["id"] == "1.1.1")

    assert status("2029-06-30")["status"] == "waived"
    late = status("2029-07-01")
    assert late["status"] != "waived" and late["waiver_expired"]["owner"] == "ops"
    with pytest.raises(ValueError, match=r"today: '2029-13-01' is not a day \(YYYY-MM-DD\)"):
        audit.controller_day("2029-13-01")
    assert audit.controller_day("2029-01-05") == "2029-01-05"
