# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the roles and playbooks use: validate the hardening variables, read the platform data and the catalogue,
build encryption configs, judge node state and reports (thin wrappers over module_utils)."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired
from ansible_collections.kubeguard.hardening.plugins.module_utils.base import releases
from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import error_summary, yaml


def _plain(data):
    """Plain Python types: ansible-core 2.19 hands filters tagged str/dict subclasses that PyYAML
    and equality checks in the core do not expect."""
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, int):
        return int(data)
    if isinstance(data, float):
        return float(data)
    if isinstance(data, str):
        return str(data)
    if isinstance(data, dict):
        return {_plain(key): _plain(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(item) for item in data]
    return data


def _values(values):
    # Filters accept either the raw variables or the output of kubeguard_validate.
    try:
        return hardening_vars.validate(_plain(values))
    except hardening_vars.HardeningVarsError as exc:
        raise AnsibleFilterError(str(exc)) from None


def kubeguard_variable_names(_unused=None, part="names"):
    """Names of every hardening variable (to collect them from inventory and extra vars), or with
    part='lookalikes' a regex for the variables that could be misspelt ones of ours."""
    if part == "lookalikes":
        return "^(" + "|".join(re.escape(prefix) for prefix in hardening_vars.OUR_PREFIXES) + ")"
    if part != "names":
        raise AnsibleFilterError(f"kubeguard_variable_names: part must be names or lookalikes, not {part!r}")
    return [v.name for v in hardening_vars.VARIABLES]


def kubeguard_validate(variables, present=()):
    """All hardening variables with kubespray's defaults filled in; fails naming every bad variable.
    Adjustments (a removed feature gate dropped) and variables that look like misspelt ones of ours
    (present: every variable name in scope) are shown as warnings. `_checksums`: the digests the nodes'
    binaries and images must have (integrity.expected), with kubeguard_binary_checksums_file read here, on the
    controller - a bad sums file fails with the rest."""
    from ansible.utils.display import Display
    from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import integrity
    try:
        values = hardening_vars.validate(_plain(variables), _plain(list(present or ())))
        sums_text = ""
        if values["kubeguard_binary_checksums_file"]:
            try:
                with open(values["kubeguard_binary_checksums_file"], encoding="utf-8") as handle:
                    sums_text = handle.read(1 << 20)
            except (OSError, UnicodeDecodeError) as err:
                raise ValueError(f"kubeguard_binary_checksums_file: {values['kubeguard_binary_checksums_file']}: "
                                 f"cannot be read on the controller ({err.strerror or err})") from None
        values["_checksums"] = integrity.expected(values, sums_text)
    except (hardening_vars.HardeningVarsError, ValueError) as exc:
        raise AnsibleFilterError(str(exc)) from None
    for note in values.get("_notes", []):
        Display().warning(note)
    return values


def kubeguard_platforms(_unused=None):
    """The platform data files (plugins/module_utils/platform/platforms/*.yml), for modules that run on nodes."""
    return catalogue.load_platforms()


def kubeguard_health_urls(components, apiserver_port=6443):
    """Health endpoints of a platform's components (platform data components.health) that answer on
    loopback without credentials: what a rollback can probe knowing nothing else about the node."""
    found = {}
    for name, spec in (_plain(components).get("health") or {}).items():
        url = str(spec.get("url", ""))
        if url and "{host}" not in url and "client_cert" not in spec:
            found[name] = url.replace("{apiserver_port}", str(apiserver_port))
    return found


def kubeguard_encryption_config(existing_texts, values):
    """EncryptionConfiguration for all control planes; existing node keys are kept (see module_utils.plan.desired)."""
    values = _values(values)
    try:
        return desired.merge_node_encryption_configs(_plain(list(existing_texts)), values["kube_encryption_algorithm"],
                                                     values["kube_encryption_resources"])
    except yaml.YAMLError as exc:   # the line, never PyYAML's quote of it: the file holds keys
        raise AnsibleFilterError(f"a control plane's encryption config is not valid YAML: {error_summary(exc)}") from None
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def kubeguard_encryption_staged(config, existing_texts):
    """Step one of a new key on several control planes: readable everywhere before it is primary."""
    try:
        return desired.staged_encryption_config(_plain(config), _plain(list(existing_texts)))
    except yaml.YAMLError as exc:   # the line, never PyYAML's quote of it: the file holds keys
        raise AnsibleFilterError(f"a control plane's encryption config is not valid YAML: {error_summary(exc)}") from None


def kubeguard_encryption_rotation(existing_texts, index, values, step):
    """The encryption config one control plane gets in one step of a key rotation (see module_utils.formats.key_rotation)."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import key_rotation
    try:
        return key_rotation.rotation_config(_plain(list(existing_texts)), int(index),
                                            _values(values)["kube_encryption_algorithm"], str(step))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def kubeguard_newest_run(listings):
    """The backup set a rollback restores on every node (module_utils/formats/backup_sets.newest_run)."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.backup_sets import newest_run
    return newest_run(_plain(listings)) or ""


def kubeguard_config_hash(data):
    """Short stable hash of any data (config files a static pod reads), for a restart annotation."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_operations
    return node_operations.config_hash(_plain(data))


def kubeguard_node_addresses(hosts, hostvars):
    """Each host's IP as kubespray picks it: ip, then access_ip, then ansible_host, then the gathered
    default IPv4 address. Values that are
    not IP addresses (host names) are skipped: systemd's IPAddressAllow takes addresses only."""
    import ipaddress
    addresses = []
    for host in hosts:
        host_vars = hostvars[host]
        candidates = [host_vars.get("ip"), host_vars.get("access_ip"), host_vars.get("ansible_host"),
                      (host_vars.get("ansible_default_ipv4") or {}).get("address")]
        for value in candidates:
            value = str(value or "")
            try:
                ipaddress.ip_address(value)
            except ValueError:
                continue
            addresses.append(value)
            break
    return addresses


def kubeguard_cluster_version(hosts, hostvars, control_planes=()):
    """The cluster's release from every node's plan (kubeguard_node_plan.version, what each node runs): the
    lowest control plane's (nodes that disagree are an upgrade in progress: the older apiserver still serves),
    else the lowest of any node; None when no node told. {version, nodes: {host: release}, lines}: lines say
    when nodes disagree."""
    def release(version):
        # ordered by major, minor, patch (a minor alone before its patches); what names no release is an error
        found = releases.parse(version)
        if found is None:
            raise ValueError(f"kubeguard_cluster_version: {version!r} is not a Kubernetes release")
        return (found.major, found.minor) + (() if found.patch is None else (found.patch,))

    nodes = {}
    for host in hosts:
        told = ((hostvars[host].get("kubeguard_node_plan") or {}).get("version") or {}).get("version")
        if told:
            nodes[str(host)] = str(told)
    planes = [version for host, version in nodes.items() if host in list(control_planes or ())]
    lowest = min(planes or nodes.values(), key=release, default=None)
    lines = []
    if len(set(nodes.values())) > 1:
        lines.append(f"the nodes run different releases (an upgrade in progress?): "
                     f"{', '.join(f'{host} {version}' for host, version in sorted(nodes.items()))}; the cluster is judged at {lowest},"
                     f" the lowest {'control plane' if planes else 'node'}'s (Pod Security labels, the cluster audit)")
    return {"version": lowest, "nodes": nodes, "lines": lines}


def kubeguard_node_ready(objects, addresses, since=None):
    """Is the node registered with one of these addresses Ready and, when since (ISO time, the node's
    clock) is given, has its kubelet renewed its Lease after that? Input: the parsed output of
    `kubectl get nodes,leases -A -o json`. True when no node has the addresses (nothing to wait for)."""
    import datetime
    from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import serving_csr
    items = (_plain(objects) or {}).get("items", [])
    nodes = {i["metadata"]["name"]: i for i in items if i.get("kind") == "Node"}
    name = serving_csr.node_of_address(serving_csr.node_identities({"items": list(nodes.values())}), _plain(addresses))
    if name is None:
        return True
    conditions = (nodes[name].get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    if since is None:
        return ready
    leases = [i for i in items if i.get("kind") == "Lease" and i["metadata"].get("namespace") == "kube-node-lease"
              and i["metadata"].get("name") == name]
    renewed = (leases[0].get("spec") or {}).get("renewTime") if leases else None

    def parse(text):
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return ready and renewed is not None and parse(renewed) > parse(since)


def kubeguard_sysctl_mismatch(actual):
    """Kernel parameters (name=value lines or a dict) that differ from what protectKernelDefaults needs."""
    actual = _plain(actual)
    if isinstance(actual, (list, tuple)):
        actual = dict(line.split("=", 1) for line in actual if "=" in line)
    return {key: {"actual": actual.get(key), "wanted": value}
            for key, value in desired.KUBELET_SYSCTLS.items() if str(actual.get(key, "")).strip() != value}


def kubeguard_cis_catalogue(part="controls", benchmark=None, version=None):
    """The CIS control catalogue for modules on nodes: benchmark name, controls and the benchmarks over them
    (cis_audit chooses by the node's release), or with 'full' the whole file (node_plan: settings and kubelet
    flags too). With benchmark (kubeguard_benchmark, auto) and version (the cluster's release): the controls
    as that benchmark has them (the cluster audit)."""
    data = catalogue.load()
    if part == "full":
        return data
    if benchmark:
        try:
            return catalogue.benchmark_view(data, str(benchmark), str(version) if version else None)
        except ValueError as exc:
            raise AnsibleFilterError(str(exc)) from None
    return {"benchmark": data["benchmark"], "controls": data["controls"], "benchmarks": data.get("benchmarks") or {}}


def kubeguard_cis_table(report):
    """Console lines: pass / fail / manual / waived per CIS section."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.report import reports
    return reports.summary_table(_plain(report))


def kubeguard_cis_failures(report, fail_on="failed"):
    """Results that fail the play under verify_fail_on (never | failed | level1 | drift), as 'id title: found' lines."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.report import reports
    try:
        failed = reports.failures(_plain(report), str(fail_on))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None
    return [f"{r['id']} {r['title']}: {r['found']} (remediation: {r['remediation']})" for r in failed]


class FilterModule:
    def filters(self):
        return {name: func for name, func in globals().items() if name.startswith("kubeguard_")}
