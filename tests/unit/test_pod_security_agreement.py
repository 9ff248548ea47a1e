"""The agreement tool: the apiserver's answers turn into a level; any disagreement or invalid spec fails."""

from __future__ import annotations

import importlib.util
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("pod_security_agreement", os.path.join(ROOT, "tools", "pod_security_agreement.py"))
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)

REFUSED = 'pods "x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false'


def test_levels_from_the_apiserver_answers():
    assert tool.apiserver_level({"privileged": "admitted", "baseline": "admitted", "restricted": "admitted"}) == "restricted"
    assert tool.apiserver_level({"privileged": "admitted", "baseline": "admitted", "restricted": REFUSED}) == "baseline"
    assert tool.apiserver_level({"privileged": "admitted", "baseline": REFUSED, "restricted": REFUSED}) == "privileged"
    assert tool.apiserver_level({"privileged": "spec.containers: Required value", "baseline": "x", "restricted": "x"}) == "invalid"


def test_compare_fails_on_disagreement_invalid_or_missing(tmp_path, capsys):
    corpus = [{"name": "a", "expected": "baseline", "spec": {}}, {"name": "b", "expected": "restricted", "spec": {}},
              {"name": "c", "expected": "restricted", "spec": {}}]
    results = [{"name": "a", "verdicts": {"privileged": "admitted", "baseline": "admitted", "restricted": REFUSED}},
               {"name": "b", "verdicts": {"privileged": "bad spec", "baseline": "bad spec", "restricted": "bad spec"}}]
    lines, problems = tool.compare(corpus, results, lambda case: case["expected"])
    assert problems == 2 and lines[0].startswith("agree") and "invalid" in lines[1] and "missing" in lines[2]
    (tmp_path / "corpus.yaml").write_text(json.dumps(corpus))
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert tool.main(["compare", str(tmp_path / "corpus.yaml"), str(tmp_path / "results.json")]) == 1
    # through main our own checks judge: an empty spec passes restricted, so "a" disagrees too
    assert "0 of 3 specs agree" in capsys.readouterr().out


def test_ours_judges_at_the_latest_policy_of_the_release_that_answered(tmp_path, capsys):
    """The apiserver's `latest` is its own release's policy: a v1.34 server refuses an unmasked /proc in a user namespace
    at baseline, a v1.35 one admits it there (the user-namespace relaxation)."""
    case = {"name": "unmasked-userns", "expected": "privileged",
            "spec": {"hostUsers": False, "containers": [{"name": "a", "image": "x", "securityContext": {"procMount": "Unmasked"}}]}}
    judged = {server: tool._pod_security().judged_version("latest", server)[0] for server in ("v1.34.4", "v1.35.4")}
    assert tool.our_level(judged["v1.34.4"])(case) == "privileged" and tool.our_level(judged["v1.35.4"])(case) == "baseline"
    refused = {"privileged": "admitted", "baseline": REFUSED, "restricted": REFUSED}
    (tmp_path / "corpus.yaml").write_text(json.dumps([case]))
    (tmp_path / "results.json").write_text(json.dumps({"server": "v1.34.4", "results": [{"name": "unmasked-userns", "verdicts": refused}]}))
    assert tool.main(["compare", str(tmp_path / "corpus.yaml"), str(tmp_path / "results.json")]) == 0
    assert "judged at policy v1.34 (the server's release" in capsys.readouterr().out


def test_recorded_levels_follow_the_policy_version_judged_at():
    case = {"name": "a", "expected": "baseline", "expected_from": {"v1.35": "restricted", "v1.37": "privileged"}, "spec": {}}
    assert [tool.recorded(case, v) for v in (None, (1, 34), (1, 35), (1, 36), (1, 37))] == \
        ["baseline", "baseline", "restricted", "restricted", "privileged"]
    results = [{"name": "a", "verdicts": {"privileged": "admitted", "baseline": "admitted", "restricted": "admitted"}}]
    assert tool.compare([case], results, lambda c: "restricted", (1, 35))[1] == 0
    assert tool.compare([case], results, lambda c: "restricted", (1, 34))[1] == 1     # the v1.34 apiserver answers baseline
