"""Write docs/controls.md: every CIS control with the variables that decide it, the role that applies it
and what each platform does about it - read from the catalogue, the variable model and the platform data
files, the same rows apply and verify read, so the page cannot drift from the code.

    python tools/gen_controls_doc.py          # write docs/controls.md
    python tools/gen_controls_doc.py --check  # exit 1 when it is out of date (used by the tests)
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, List, Mapping

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generated_files import write_or_check  # noqa: E402  pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "controls.md")
# the role that writes a component's settings on kubeadm and kubespray nodes (on k3s: the k3s role)
COMPONENT_ROLES = {"kube-apiserver": "apiserver", "kube-controller-manager": "controller_manager",
                   "kube-scheduler": "scheduler", "etcd": "etcd", "kubelet": "kubelet"}


def load():
    sys.path.insert(0, os.environ.get("KG_TEST_COLLECTIONS")
                    or os.path.join(os.path.expanduser("~"), ".cache", "kubeguard-testbed", "collections"))
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars
    return catalogue, hardening_vars


def platform_cell(platform: Mapping[str, Any], control: Mapping[str, Any], settings: List[Any]) -> str:
    """What the platform does about the control: applies it, satisfies it its own way, or only verifies."""
    components = platform.get("components") or {}
    if str(control["id"]) in (platform.get("not_applicable") or {}):
        return "n/a"
    if control.get("applied_by") == "file_permissions":
        return "applied" if platform.get("file_modes") else "verified"
    if control.get("applied_by") and not settings:  # a role's own work beside the flags (etcd's data directory)
        writes_there = components.get("kind") != "k3s_config" or control["applied_by"] in (components.get("arg_lists") or {}) \
            or control["component"] in (components.get("arg_values") or {})
        return "applied" if writes_there else "verified"
    if not settings:
        return "verified" if control.get("automated") else "reported"
    if components.get("kind") != "k3s_config":
        return "applied"
    keys = [f"{s.component}.{s.key}" for s in settings]
    if all(key in (platform.get("skip") or {}) for key in keys):
        return "k3s' own"
    writable = set(components.get("arg_lists") or {}) | {k.split(".")[0] for k in components.get("top_level") or {}}
    return "applied" if any(s.component in writable for s in settings) else "verified"


def rows(catalogue, hardening_vars) -> List[List[str]]:
    known = set(hardening_vars.VARIABLES_BY_NAME)
    platforms = catalogue.load_platforms()
    settings = catalogue.settings()
    out = []
    for control in catalogue.controls():
        deciding = [s for s in settings if control["id"] in s.controls]
        variables = {v for s in deciding for v in s.variables}
        # manual controls name their variables in the remediation text (a test holds them to real names)
        variables |= {word for word in re.findall(r"[a-z][a-z0-9_]+", control.get("remediation") or "") if word in known}
        roles = {COMPONENT_ROLES[s.component] for s in deciding if s.component in COMPONENT_ROLES}
        if control.get("applied_by"):
            roles.add(control["applied_by"])
        if any(hardening_vars.VARIABLES_BY_NAME[v].component == "policy" for v in variables):
            roles.add("policy")
        out.append([control["id"], control["title"], str(control.get("level", 1)),
                    "yes" if control.get("automated") else "no",
                    ", ".join(f"`{v}`" for v in sorted(variables)) or "-",
                    ", ".join(sorted(roles)) or "verify only",
                    # cluster objects are the same on every platform
                    *[("applied" if "policy" in roles else platform_cell(platforms[name], control, deciding))
                      for name in sorted(platforms)]])
    return out


def benchmark_lines(catalogue) -> List[str]:
    """The benchmarks over these checks: the Kubernetes minors each is the benchmark of, and where it differs
    from the table below (the catalogue's own benchmark)."""
    data = catalogue.load()
    registry = data.get("benchmarks") or {}
    mapped = sorted(tuple(int(part) for part in str(minor).split(".")) for entry in (registry.get("entries") or {}).values()
                    for minor in entry.get("kubernetes") or [])
    newest = ".".join(map(str, mapped[-1])) if mapped else "?"
    newer = f"{mapped[-1][0]}.{mapped[-1][1] + 1}" if mapped else "?"
    lines = ["## Benchmarks", "",
             "The checks below are written once; each benchmark is data over them (`benchmarks` in the catalogue).",
             "`kubeguard_benchmark: auto` (the default) judges a node by the benchmark of the release it runs; reports name",
             f"the benchmark they judged by and why. A release newer than every mapped one ({newer} and later, which no",
             "benchmark covers yet) gets the benchmark of the newest mapped release before it - the newest published -",
             f"as kube-bench steps a newer release down; the report says so (`the benchmark of Kubernetes {newest}, the",
             f"newest mapped release before {newer}`). A release older than every mapped one, or none known:"
             f" `{registry.get('default')}`.",
             "",
             "| Benchmark | Title | Kubernetes | Differs from the table |", "|---|---|---|---|"]
    for name, entry in (registry.get("entries") or {}).items():
        if "rules" in entry:   # its own rules over these checks: chosen by name only
            lines.append(f"| `{name}` | {entry.get('title', name)} | by name (`kubeguard_benchmark: {name}`) |"
                         f" its own {len(entry['rules'])} rules: [stig-rules.md](stig-rules.md) |")
            continue
        changes = entry.get("changes") or {}
        differs = [f"{cid}: {', '.join(sorted(change))}" for cid, change in changes.items()]
        differs += [f"{cid}: not in it" for cid in entry.get("removed") or []]
        lines.append(f"| `{name}` | {entry.get('title', name)} | {', '.join(map(str, entry.get('kubernetes') or []))} |"
                     f" {'; '.join(differs) or '-'} |")
    return lines


def render() -> str:
    catalogue, hardening_vars = load()
    names = sorted(catalogue.load_platforms())
    table = rows(catalogue, hardening_vars)
    header = ["Control", "Title", "Level", "Automated", "Variables", "Role", *names]
    lines = ["# CIS controls: variables, roles, platforms", "",
             "<!-- Generated by tools/gen_controls_doc.py from plugins/module_utils/catalogue/cis_catalogue.yml, the variable model and",
             "     plugins/module_utils/platform/platforms/*.yml; do not edit by hand (a test fails when it is out of date). -->", "",
             f"Benchmark `{catalogue.load()['benchmark']}`, {len(table)} controls (section K: our own checks beside CIS).",
             "**Variables** decide the control (settings that write it, or the variables its remediation names);",
             "**Role** writes it; per platform: *applied* (written and verified), *k3s' own* (the platform already",
             "satisfies it its own way; verified), *verified* (read from the node, not changed by us), *reported*",
             "(manual: the report shows what was found, a person decides), *n/a* (does not apply on that platform;",
             "the report says why). Every report can waive a control with",
             "`kubeguard_waivers`, and a hardened setting is only overridden with `kubeguard_allow_override`.", "",
             ""]
    lines += benchmark_lines(catalogue) + ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table]
    counts = {name: sum(1 for row in table if row[6 + i] == "applied") for i, name in enumerate(names)}
    lines += ["", "Applied per platform: " + ", ".join(f"{name} {count}" for name, count in counts.items()) + "."]
    return "\n".join(lines) + "\n"


def main(argv: List[str]) -> int:
    return write_or_check({OUT: render()}, "--check" in argv, "python tools/gen_controls_doc.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
