"""Prove our Pod Security Standards checks against the apiserver's PodSecurity admission.

    python3 pod_security_agreement.py probe CORPUS_JSON --kubeconfig /etc/kubernetes/admin.conf > results.json
        (on a control plane: each corpus spec created with --dry-run=server in namespaces enforcing
         privileged, baseline and restricted at the latest policy; an ephemeral case is added to a
         running pod of the base spec through the ephemeralcontainers subresource, also dry-run)
    python3 pod_security_agreement.py compare CORPUS_YAML RESULTS_JSON
        (on the controller: the apiserver's strictest admitting level beside ours, spec by spec)

compare prints one line per spec and a summary, and exits 1 when any spec disagrees, when the
apiserver refused a spec in the privileged namespace (an invalid spec proves nothing), or when a
spec's recorded level is not what the apiserver says.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List, Tuple

LEVELS = ("privileged", "baseline", "restricted")
NAMESPACE = "kg-pss-{level}"
BASE_POD = "kg-pss-base"


def _kubectl(kubeconfig: str, args: List[str], stdin: str = "") -> Tuple[int, str]:
    proc = subprocess.run(["kubectl", "--kubeconfig", kubeconfig] + args, input=stdin, capture_output=True,
                          text=True, check=False)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def _pod(name: str, case: Dict[str, Any]) -> Dict[str, Any]:
    metadata = copy.deepcopy(case.get("metadata") or {})
    metadata["name"] = name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": copy.deepcopy(case["spec"])}


def probe(corpus: List[Dict[str, Any]], kubeconfig: str) -> List[Dict[str, Any]]:
    base = next(c for c in corpus if c.get("ephemeral"))          # the base spec ephemeral cases extend
    for level in LEVELS:
        namespace = NAMESPACE.format(level=level)
        _kubectl(kubeconfig, ["create", "namespace", namespace])
        _kubectl(kubeconfig, ["label", "--overwrite", "namespace", namespace,
                              f"pod-security.kubernetes.io/enforce={level}",
                              "pod-security.kubernetes.io/enforce-version=latest"])
        for _ignored in range(60):   # the ServiceAccount admission needs the namespace's default account
            if _kubectl(kubeconfig, ["-n", namespace, "get", "serviceaccount", "default"])[0] == 0:
                break
            time.sleep(1)
        _kubectl(kubeconfig, ["-n", namespace, "apply", "-f", "-"], json.dumps(_pod(BASE_POD, base)))
    results = []
    for index, case in enumerate(corpus):
        verdicts = {}
        for level in LEVELS:
            namespace = NAMESPACE.format(level=level)
            if case.get("ephemeral"):
                patch = json.dumps({"spec": {"ephemeralContainers": [case["ephemeral"]]}})
                rc, out = _kubectl(kubeconfig, ["-n", namespace, "patch", "pod", BASE_POD, "--subresource=ephemeralcontainers",
                                                "--type=strategic", "-p", patch, "--dry-run=server"])
            else:
                rc, out = _kubectl(kubeconfig, ["-n", namespace, "create", "--dry-run=server", "-f", "-"],
                                   json.dumps(_pod(f"kg-pss-{index}", case)))
            verdicts[level] = "admitted" if rc == 0 else out.splitlines()[-1] if out else f"refused (rc {rc})"
        results.append({"name": case["name"], "verdicts": verdicts})
    # the release whose `latest` policy answered (ours judges at the same version)
    rc, out = _kubectl(kubeconfig, ["get", "--raw", "/version"])
    server = json.loads(out).get("gitVersion") if rc == 0 else None
    return {"server": server, "results": results}


def apiserver_level(verdicts: Dict[str, str]) -> str:
    """The strictest level whose namespace admitted the spec ('invalid' if not even privileged did)."""
    if verdicts.get("privileged") != "admitted":
        return "invalid"
    return "restricted" if verdicts.get("restricted") == "admitted" else \
        "baseline" if verdicts.get("baseline") == "admitted" else "privileged"


def recorded(case: Dict[str, Any], version: Any = None) -> str:
    """The level the corpus records for the case at a policy version (a (major, minor) tuple): `expected` is the
    pinned release's answer; `expected_from` maps a later version ("v1.35") to what the apiserver answers from it."""
    level = case["expected"]
    for since, then in sorted((tuple(int(p) for p in str(k).lstrip("v").split(".")[:2]), v)
                              for k, v in (case.get("expected_from") or {}).items()):
        if version is not None and tuple(version) >= since:
            level = then
    return level


def compare(corpus: List[Dict[str, Any]], results: List[Dict[str, Any]], ours, version: Any = None) -> Tuple[List[str], int]:
    """(printable lines, number of problems). ours(case) -> our strictest level; version: the policy version judged
    at (recorded levels follow it)."""
    by_name = {r["name"]: r for r in results}
    lines, problems = [], 0
    for case in corpus:
        result = by_name.get(case["name"])
        theirs = apiserver_level(result["verdicts"]) if result else "missing"
        mine = ours(case)
        expected = recorded(case, version)
        ok = theirs == mine == expected
        problems += not ok
        detail = "" if ok else f"  (recorded {expected}; apiserver: {result['verdicts'] if result else 'no result'})"
        lines.append(f"{'agree   ' if ok else 'DISAGREE'} {case['name']:<40} apiserver={theirs:<10} ours={mine}{detail}")
    return lines, problems


def _pod_security():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(here, "plugins", "module_utils", "cluster"))
    import pod_security  # noqa: E402  (the module itself, without the collection's namespace)
    return pod_security


def our_level(version: str):
    """ours(case) judging at the policy version the apiserver judges `latest` at (pod_security.judged_version)."""
    pod_security = _pod_security()

    def level(case: Dict[str, Any]) -> str:
        spec = copy.deepcopy(case["spec"])
        if case.get("ephemeral"):
            spec["ephemeralContainers"] = [case["ephemeral"]]
        return pod_security.strictest_level(case.get("metadata") or {}, spec, version)
    return level


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_probe = sub.add_parser("probe")
    p_probe.add_argument("corpus")
    p_probe.add_argument("--kubeconfig", default="/etc/kubernetes/admin.conf")
    p_compare = sub.add_parser("compare")
    p_compare.add_argument("corpus")
    p_compare.add_argument("results")
    args = parser.parse_args(argv)
    if args.command == "probe":
        with open(args.corpus, encoding="utf-8") as handle:
            print(json.dumps(probe(json.load(handle), args.kubeconfig), indent=1))
        return 0
    import yaml
    with open(args.corpus, encoding="utf-8") as handle:
        corpus = yaml.safe_load(handle)
    with open(args.results, encoding="utf-8") as handle:
        probed = json.load(handle)
    server = probed.get("server") if isinstance(probed, dict) else None
    results = probed.get("results", []) if isinstance(probed, dict) else probed
    version, why = _pod_security().judged_version("latest", server)
    lines, problems = compare(corpus, results, our_level(version), version)
    print(f"judged at policy {why}")
    for line in lines:
        print(line)
    print(f"pod security agreement: {len(lines) - problems} of {len(lines)} specs agree with the apiserver, {problems} do not")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
