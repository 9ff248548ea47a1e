# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the roles and playbooks use: validate the hardening variables, read the platform data and the catalogue,
build encryption configs, judge node state and reports (thin wrappers over module_utils)."""

from __future__ import annotations

import json

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import key_rotation
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.backup_sets import newest_run
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_operations
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import serving_csr
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import reports
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired
from ansible_collections.kubeguard.hardening.plugins.module_utils.base import releases
from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import error_summary, yaml
from ansible_collections.kubeguard.hardening.plugins.plugin_utils import node_inputs


_plain = node_inputs.plain


def _validated(values, *names):
    """The plan's variables (kubeguard_node_plan.variables), validated once by node_plan's action: not again here."""
    values = _plain(values)
    missing = [name for name in names if not isinstance(values, dict) or name not in values]
    if missing:
        raise AnsibleFilterError(f"values: the validated hardening variables (kubeguard_node_plan.variables) are expected;"
                                 f" {', '.join(missing)} missing")
    return values


def kubeguard_variable_names(_unused=None, part="names"):
    """Names of every hardening variable (to collect them from inventory and extra vars), or with
    part='lookalikes' a regex for the variables that could be misspelt ones of ours."""
    if part == "lookalikes":
        return node_inputs.LOOKALIKES.pattern
    if part != "names":
        raise AnsibleFilterError(f"kubeguard_variable_names: part must be names or lookalikes, not {part!r}")
    return list(node_inputs.NAMES)


def kubeguard_validate(variables, present=()):
    """All hardening variables with kubespray's defaults filled in; fails naming every bad variable (the node_plan
    action's validation, for tests and your own plays). Adjustments (a removed feature gate dropped) and variables
    that look like misspelt ones of ours (present: every variable name in scope) are shown as warnings."""
    try:
        values, notes = node_inputs.validated(variables, present or ())
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None
    for note in notes:
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
    values = _validated(values, "kube_encryption_algorithm", "kube_encryption_resources")
    try:
        return desired.merge_node_encryption_configs(_plain(list(existing_texts)), values["kube_encryption_algorithm"],
                                                     values["kube_encryption_resources"])
    except yaml.YAMLError as exc:   # the line, never PyYAML's quote of it: the file holds keys
        raise AnsibleFilterError(f"a control plane's encryption config is not valid YAML: {error_summary(exc)}") from None
    except (ValueError, KeyError) as exc:   # KeyError: an algorithm validation would have refused
        raise AnsibleFilterError(f"kubeguard_encryption_config: {exc}") from None


def kubeguard_encryption_staged(config, existing_texts):
    """Step one of a new key on several control planes: readable everywhere before it is primary."""
    try:
        return desired.staged_encryption_config(_plain(config), _plain(list(existing_texts)))
    except yaml.YAMLError as exc:   # the line, never PyYAML's quote of it: the file holds keys
        raise AnsibleFilterError(f"a control plane's encryption config is not valid YAML: {error_summary(exc)}") from None


def kubeguard_encryption_rotation(existing_texts, index, values, step):
    """The encryption config one control plane gets in one step of a key rotation (see module_utils.formats.key_rotation)."""
    try:
        return key_rotation.rotation_config(_plain(list(existing_texts)), int(index),
                                            _validated(values, "kube_encryption_algorithm")["kube_encryption_algorithm"], str(step))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def kubeguard_newest_run(listings):
    """The backup set a rollback restores on every node (module_utils/formats/backup_sets.newest_run)."""
    return newest_run(_plain(listings)) or ""


def kubeguard_config_hash(data):
    """Short stable hash of any data (config files a static pod reads), for a restart annotation."""
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
        release = str(version) if version else None
        try:
            # the cluster audit judges CIS section 5 from the API, and a benchmark of rules (the STIG) adds its own
            # rules about the cluster's objects to it: the (first) CIS benchmark named, else the release's, with those rules
            views = [catalogue.benchmark_view(data, str(name), release) for name in (benchmark if isinstance(benchmark, list) else [benchmark])]
            cis = [view for view in views if view.get("kind") != "rules"]
            view = cis[0] if cis else catalogue.benchmark_view(data, "auto", release)
            rules = [c for other in views if other.get("kind") == "rules" for c in other["controls"]
                     if catalogue.judged_from_the_api(c)]
            return dict(view, controls=view["controls"] + rules) if rules else view
        except ValueError as exc:
            raise AnsibleFilterError(str(exc)) from None
    return catalogue.audit_part(data)


def kubeguard_cis_failures(report, fail_on="failed", named=False):
    """Results that fail the play under verify_fail_on (never | failed | level1 | drift), as 'id title: found' lines
    (named: each begins with the report's benchmark). report: a report, or one as JSON text (node_plan's report_json)."""
    try:
        report = _plain(json.loads(report) if isinstance(report, str) else report)
        failed = reports.failures(report, str(fail_on))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None
    prefix = f"{report.get('benchmark')}: " if named else ""
    return [f"{prefix}{r['id']} {r['title']}: {r['found']} (remediation: {r['remediation']})" + reports.expired_note(r, "; ")
            for r in failed]


class FilterModule:
    def filters(self):
        return {name: func for name, func in globals().items() if name.startswith("kubeguard_")}
