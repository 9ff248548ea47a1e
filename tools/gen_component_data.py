"""Write plugins/module_utils/platform/components/v1.<minor>.yml: what the test bed's built binaries say about
themselves, so the validation judges values with the components' own facts instead of hand lists.

For kube-apiserver, kube-controller-manager, kube-scheduler and the kubelet:
  - flags and their types (`--help`: pflag's type names; int is 64 bits, int32 is 32),
  - feature gates with stage, default and lock: alpha and beta ones as `--help` lists them; GA and deprecated
    ones (`--help` hides them) as a running kube-scheduler and kube-controller-manager report them
    (`kubernetes_feature_enabled` on /metrics); then each binary is asked to set every gate to the opposite
    of its default, and says which it does not know and which are locked,
  - the TLS cipher suites it calls preferred and insecure, and the TLS versions it accepts.
For etcd: its flags, feature gates and TLS versions from `--help`.

    python tools/gen_component_data.py            # write the file for the test bed's binaries
    python tools/gen_component_data.py --check    # exit 1 when the checked-in file differs
    python tools/gen_component_data.py --bin DIR --etcd-bin DIR   # other builds (another release)

Another release's binaries (v1.35.4 with its kubeadm's etcd, v3.6.6; v1.36.3 with v3.6.8), cached beside the pinned:
    KG_KUBE_VERSION=v1.35.4 bash testbed/build-k8s.sh && KG_ETCD_VERSION=v3.6.6 bash testbed/build-live-bins.sh
    python tools/gen_component_data.py --bin $KG_CACHE/k8s/v1.35.4/bin --etcd-bin $KG_CACHE/live/v3.6.6/bin

The processes it starts run niced on loopback for a few seconds (tools/component_harness.py).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from typing import Any, Dict, List, Mapping, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import component_harness as harness  # noqa: E402  pylint: disable=wrong-import-position
from generated_files import write_or_check  # noqa: E402  pylint: disable=wrong-import-position

OUT_DIR = os.path.join(harness.ROOT, "plugins", "module_utils", "platform", "components")
KUBE_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet")
# Components that serve /metrics without a cluster (a kubeconfig pointing nowhere is enough).
METRICS_COMPONENTS = ("kube-scheduler", "kube-controller-manager")
_FLAG_RE = re.compile(r"^\s{2,}(?:-[A-Za-z], )?--([a-z0-9][a-z0-9-]*)(?: (\S+))?(?:\s{2,}(.*))?$")
_GATE_RE = re.compile(r"^\s+(?:kube:)?([A-Za-z0-9]+)=true\|false \((ALPHA|BETA|GA|DEPRECATED) - default=(true|false)\)")
_UNKNOWN_RE = re.compile(r"unrecognized feature gate: ([A-Za-z0-9]+)")
_LOCKED_RE = re.compile(r"cannot set feature gate ([A-Za-z0-9]+) to (?:true|false), feature is locked to (true|false)")
_METRIC_RE = re.compile(r'^kubernetes_feature_enabled\{name="([A-Za-z0-9]+)",stage="([A-Z]*)"\} ([01])$', re.M)


# --- reading --help ---------------------------------------------------------------------------------------

def parse_kube_help(text: str) -> Dict[str, Any]:
    """{flags: {name: {type}}, feature_gates: {name: {stage, default}}, tls: {...}} from a Kubernetes
    component's --help (pflag's layout: `--name type   usage`, usage lines continued below)."""
    flags: Dict[str, Dict[str, Any]] = {}
    usage: Dict[str, List[str]] = {}
    current: Optional[str] = None
    for line in text.splitlines():
        match = _FLAG_RE.match(line)
        if match:
            current = match.group(1)
            flags[current] = {"type": match.group(2) or "bool"}
            usage[current] = [match.group(3) or ""]
        elif current and line.startswith("   "):
            usage[current].append(line.strip())
        elif not line.strip() or re.match(r"^\S", line):
            current = None
    for name, lines in usage.items():
        if "DEPRECATED:" in " ".join(lines) or "(DEPRECATED" in " ".join(lines):
            flags[name]["deprecated"] = True
    gates = {}
    for line in usage.get("feature-gates", []):
        match = _GATE_RE.match("  " + line)
        if match:
            gates[match.group(1)] = {"stage": match.group(2).lower(), "default": match.group(3) == "true"}
    suites = " ".join(usage.get("tls-cipher-suites", []))
    tls = {"cipher_suites": {kind: _names(suites, f"{kind.capitalize()} values:") for kind in ("preferred", "insecure")},
           "versions": _names(" ".join(usage.get("tls-min-version", [])), "Possible values:")}
    return {"flags": dict(sorted(flags.items())), "feature_gates": gates, "tls": tls}


def _names(text: str, label: str) -> List[str]:
    """The comma-separated names after label, up to the sentence's end ("a, b, c." -> [a, b, c])."""
    match = re.search(re.escape(label) + r"\s*((?:[A-Za-z0-9_.]+, )*[A-Za-z0-9_.]+)", text)
    return [name.rstrip(".") for name in match.group(1).split(", ")] if match else []


def parse_etcd_help(text: str) -> Dict[str, Any]:
    """etcd's hand-written --help: `  --name 'default'` then the usage indented by four."""
    flags: Dict[str, Dict[str, Any]] = {}
    gates: Dict[str, Dict[str, Any]] = {}
    versions: List[str] = []
    current = None
    for line in text.splitlines():
        match = re.match(r"^  --([a-z0-9][a-z0-9-]*)(?: (.*))?$", line)
        if match:
            current = match.group(1)
            default = match.group(2)
            # no types in etcd's help: the default it shows, if any
            flags[current] = {} if default is None else {"default": default.strip("'")}
            continue
        gate = _GATE_RE.match(line)
        if current == "feature-gates" and gate:
            gates[gate.group(1)] = {"stage": gate.group(2).lower(), "default": gate.group(3) == "true", "locked": False}
        if current == "tls-min-version" and "Possible values:" in line:
            versions = _names(line, "Possible values:")
        if current and re.search(r"Deprecated in v3\.\d+", line):
            flags[current]["deprecated"] = True
    return {"flags": dict(sorted(flags.items())), "feature_gates": gates, "tls": {"versions": versions}}


# --- feature gates the help hides, and which are locked -----------------------------------------------------

FAKE_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


def metrics_gates(kube_bin: str, component: str, workdir: str) -> Dict[str, Tuple[str, bool]]:
    """{gate: (stage, enabled by default)} as a running component reports every registered gate. The scheduler and
    controller-manager serve /metrics before they reach an apiserver (here: none, the kubeconfig points nowhere)."""
    kubeconfig = os.path.join(workdir, "nowhere.conf")
    with open(kubeconfig, "w", encoding="utf-8") as handle:
        handle.write(FAKE_KUBECONFIG)
    port = harness.free_port()
    cmd = [os.path.join(kube_bin, component), f"--kubeconfig={kubeconfig}", f"--secure-port={port}", "--bind-address=127.0.0.1",
           "--authorization-always-allow-paths=/metrics,/healthz", f"--cert-dir={os.path.join(workdir, component + '-certs')}",
           "--leader-elect=false"]
    proc = harness.Process(component, cmd, workdir)
    body = ""
    try:
        def answered() -> bool:
            nonlocal body
            status, body = harness.https_get(f"https://127.0.0.1:{port}/metrics", timeout=5)
            return status == 200 and "kubernetes_feature_enabled{" in body
        if not proc.wait_until(answered, 60):
            raise RuntimeError(f"{component} served no /metrics:\n{proc.log()[-2000:]}")
    finally:
        proc.stop()
    stages = {"": "ga", "DEPRECATED": "deprecated", "ALPHA": "alpha", "BETA": "beta"}
    return {name: (stages[stage], value == "1") for name, stage, value in _METRIC_RE.findall(body)}


def probe_gates(kube_bin: str, component: str, wanted: Mapping[str, bool], workdir: str) -> Tuple[List[str], Dict[str, bool]]:
    """(gates the binary does not know, {locked gate: the value it is locked to}) when asked to set each gate of
    `wanted` to its value. The flag parser reports every bad gate at once; the kubelet's config loader may report
    some: asked again without those until it names none."""
    unknown: List[str] = []
    locked: Dict[str, bool] = {}
    left = dict(wanted)
    for _attempt in range(50):
        if not left:
            break
        text = _try_gates(kube_bin, component, left, workdir)
        found_unknown = _UNKNOWN_RE.findall(text)
        found_locked = {name: value == "true" for name, value in _LOCKED_RE.findall(text)}
        if not found_unknown and not found_locked:
            break
        unknown += found_unknown
        locked.update(found_locked)
        for name in found_unknown + list(found_locked):
            left.pop(name, None)
    else:
        raise RuntimeError(f"{component}: feature gate probe did not settle")
    return sorted(set(unknown)), dict(sorted(locked.items()))


def _try_gates(kube_bin: str, component: str, gates: Mapping[str, bool], workdir: str) -> str:
    binary = os.path.join(kube_bin, component)
    if component != "kubelet":
        spec = ",".join(f"{name}={str(value).lower()}" for name, value in sorted(gates.items()))
        result = harness.run([binary, f"--feature-gates={spec}", "--version"], timeout=60)
        return result.stdout + result.stderr
    # the kubelet reads its gates from its config file; it exits before it needs a cluster or a runtime
    config = os.path.join(workdir, "kubelet-gates.yaml")
    lines = ["apiVersion: kubelet.config.k8s.io/v1beta1", "kind: KubeletConfiguration",
             "authentication: {webhook: {enabled: true}}", "authorization: {mode: Webhook}", "featureGates:"]
    lines += [f"  {name}: {str(value).lower()}" for name, value in sorted(gates.items())]
    with open(config, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    root = os.path.join(workdir, "kubelet-root")
    result = harness.run([binary, f"--config={config}", f"--root-dir={root}", f"--cert-dir={root}/pki"], timeout=60)
    return result.stdout + result.stderr


def feature_gates(kube_bin: str, helps: Mapping[str, Dict[str, Any]], workdir: str) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """{component: {gate: {stage, default, locked}}}, every gate each binary knows."""
    reported = {component: metrics_gates(kube_bin, component, workdir) for component in METRICS_COMPONENTS}
    registry: Dict[str, Tuple[str, bool]] = {}
    for component in METRICS_COMPONENTS:
        registry.update(reported[component])
    result: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for component in KUBE_COMPONENTS:
        own = reported.get(component, {})
        gates: Dict[str, Dict[str, Any]] = {}
        for name in sorted(set(registry) | set(helps[component]["feature_gates"])):
            listed = helps[component]["feature_gates"].get(name)
            if listed:
                gates[name] = dict(listed)
            else:   # hidden from --help (GA, deprecated): as the component itself, else the shared registry, reports it
                stage, default = own.get(name) or registry[name]
                gates[name] = {"stage": stage, "default": default}
        wanted = {name: not spec["default"] for name, spec in gates.items() if name not in ("AllAlpha", "AllBeta")}
        unknown, locked = probe_gates(kube_bin, component, wanted, workdir)
        for name in unknown:
            gates.pop(name)
        for name, spec in gates.items():
            spec["locked"] = name in locked
            if name in locked:
                spec["default"] = locked[name]
        result[component] = dict(sorted(gates.items()))
    return result


# --- the data file ------------------------------------------------------------------------------------------

def version_of(binary: str) -> str:
    text = harness.run([binary, "--version"]).stdout
    match = re.search(r"v?(\d+\.\d+\.\d+)", text)
    if not match:
        raise RuntimeError(f"{binary} --version: {text!r}")
    return "v" + match.group(1)


def collect(kube_bin: str, etcd_bin: str) -> Dict[str, Any]:
    helps: Dict[str, Dict[str, Any]] = {}
    for component in KUBE_COMPONENTS:
        result = harness.run([os.path.join(kube_bin, component), "--help"])
        helps[component] = parse_kube_help(result.stdout + result.stderr)
    etcd_help = harness.run([os.path.join(etcd_bin, "etcd"), "--help"])
    with tempfile.TemporaryDirectory(prefix="kg-gen-") as workdir:
        gates = feature_gates(kube_bin, helps, workdir)
    components: Dict[str, Any] = {}
    for component in KUBE_COMPONENTS:
        components[component] = {"flags": helps[component]["flags"], "feature_gates": gates[component],
                                 "tls": helps[component]["tls"]}
    components["etcd"] = parse_etcd_help(etcd_help.stdout + etcd_help.stderr)
    return {"kubernetes": version_of(os.path.join(kube_bin, "kube-apiserver")),
            "etcd": version_of(os.path.join(etcd_bin, "etcd")), "components": components}


def _flow(value: Any) -> str:
    """One YAML flow value (plain scalars where YAML reads them back the same)."""
    import json
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", text) and text not in ("true", "false", "null", "yes", "no", "on", "off") \
        else json.dumps(text)


def render(data: Mapping[str, Any]) -> str:
    lines = ["# Generated by tools/gen_component_data.py from the test bed's binaries (--help, /metrics, probes): do not edit.",
             "# flags: pflag type names (int: 64 bits, int32: 32); feature_gates: stage alpha|beta|ga|deprecated, default,",
             "# locked (the binary refuses the other value); tls: cipher suite names as the binary classes them, TLS versions.",
             f"kubernetes: {data['kubernetes']}", f"etcd: {data['etcd']}", "components:"]
    for component, spec in data["components"].items():
        lines.append(f"  {component}:")
        for part in ("flags", "feature_gates"):
            lines.append(f"    {part}:")
            lines += [f"      {name}: {_flow(item)}" for name, item in spec[part].items()]
        lines.append("    tls:")   # one name a line: lines stay within yamllint's 160
        for key, item in spec["tls"].items():
            groups = item if isinstance(item, dict) else {None: item}
            lines.append(f"      {key}:")
            for group, names in groups.items():
                indent = "        " if group is None else "          "
                if group is not None:
                    lines.append(f"        {group}:")
                lines += [f"{indent}- {_flow(name)}" for name in names]
    return "\n".join(lines) + "\n"


def output_path(data: Mapping[str, Any], out_dir: str = OUT_DIR) -> str:
    major_minor = ".".join(str(data["kubernetes"]).split(".")[:2])
    return os.path.join(out_dir, f"{major_minor}.yml")


def generate(kube_bin: Optional[str] = None, etcd_bin: Optional[str] = None) -> Tuple[str, str]:
    """(path, text) of the data file for these binaries (the test bed's by default)."""
    kube_bin, etcd_bin = kube_bin or harness.kube_bin_dir(), etcd_bin or harness.etcd_bin_dir()
    problem = harness.missing_binaries(kube_bin, etcd_bin)
    if problem:
        raise RuntimeError(problem)
    data = collect(kube_bin, etcd_bin)
    return output_path(data), render(data)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--bin", help="directory of kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kubeadm")
    parser.add_argument("--etcd-bin", help="directory of etcd")
    parser.add_argument("--check", action="store_true", help="exit 1 when the checked-in file differs")
    args = parser.parse_args(argv)
    path, text = generate(args.bin, args.etcd_bin)
    return write_or_check({path: text}, args.check, "python tools/gen_component_data.py")


if __name__ == "__main__":
    sys.exit(main())
