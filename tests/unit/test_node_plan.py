"""Plan, then act: node_plan evaluates exactly the writes the roles make (the operations they take
their arguments from), with the writer modules' own code. On kubeadm's real files: a fresh node has
changes per component; once those same operations are applied, the plan is empty; any drift of a
managed file shows again under the right component."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import multifile, permissions
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import never_weaker, node_operations, node_plan
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.envfile import edit as edit_env
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.kubelet_config import merge_fields
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.manifest import dump_yaml, edit_manifest, load_manifest

SEED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "molecule", "shared", "vars", "hardening-seed.yml")


@pytest.fixture
def node(kubeadm_node):
    return kubeadm_node


def fixture_platform(layout):
    """The fixture node's layout as platform data (what node_plan reads)."""
    return {"name": "fixture", "detect": "default",
            "layout": {k: v for k, v in layout.as_dict().items()
                       if k not in ("name", "config_dir", "files", "components", "skip", "file_modes",
                                    "audit_rules", "container_runtime", "not_applicable")},
            "file_modes": list(layout.file_modes), "audit_rules": dict(layout.audit_rules),
            "container_runtime": dict(layout.container_runtime), "not_applicable": dict(layout.not_applicable)}


def build(values, layout, root, settings):
    values = dict(values, etcd_data_dir=str(root / "etcd-data"), audit_log_path=str(root / "audit" / "audit.log"),
                  audit_policy_file=str(root / "etc" / "audit-policy.yaml"))
    os.makedirs(values["etcd_data_dir"], exist_ok=True)
    state = audit.observe(layout, str(root / "proc"))
    plan = never_weaker.plan(values, layout, state)
    return node_operations.operations(values, layout, plan, {"control_plane": True, "etcd_host": False,
                                                             "kubelet_running": False, "kubelet_allowed": ["localhost"]},
                                      settings)


def apply(ops):
    """What the writer modules do with the same arguments (their module_utils functions)."""
    for component, kinds in ops.items():
        encryption = None
        for kind, args in kinds.items():
            if kind == "static_pod":
                annotations = {}
                if "config_hash_files" in kinds:
                    annotations["kubeguard.io/config-hash"] = node_operations.config_hash([kinds["config_hash_files"], encryption])
                with open(args["path"], encoding="utf-8") as handle:
                    pod, _ignored = edit_manifest(load_manifest(handle.read()), args["flags"], args.get("host_paths") or [],
                                                  None, annotations, args.get("probe_host"))
                with open(args["path"], "w", encoding="utf-8") as handle:
                    handle.write(dump_yaml(pod))
                os.chmod(args["path"], int(args["mode"], 8))
            elif kind == "kubelet_config":
                with open(args["path"], encoding="utf-8") as handle:
                    config, _ignored = merge_fields(yaml.safe_load(handle), args["fields"])
                with open(args["path"], "w", encoding="utf-8") as handle:
                    handle.write(dump_yaml(config))
                os.chmod(args["path"], int(args["mode"], 8))
            elif kind == "config_files":
                multifile.apply_files(args["files"], False, False, "/nonexistent", "x")
            elif kind == "file_modes":
                permissions.apply(permissions.plan(args["entries"]))
            elif kind == "directory":
                os.makedirs(args["path"], exist_ok=True)
                os.chmod(args["path"], int(args["mode"], 8))
            elif kind == "env_file":
                with open(args["path"], encoding="utf-8") as handle:
                    text, _ignored = edit_env(handle.read(), args["variables"])
                with open(args["path"], "w", encoding="utf-8") as handle:
                    handle.write(text)


def test_fresh_node_has_a_plan_per_component_and_none_once_applied(node):
    root, layout, settings = node
    with open(SEED, encoding="utf-8") as handle:
        seed = yaml.safe_load(handle)
    seed.pop("kube_encrypt_secret_data")          # encryption keys: tested below
    values = hv.validate(dict(seed, etcd_deployment_type="kubeadm"))
    ops = build(values, layout, root, settings)
    changes, _ignored = node_plan.evaluate(ops)
    pending = {c for c, found in changes.items() if found}
    assert pending >= {"sysctl", "etcd", "audit", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
                       "kubelet", "file_permissions"}
    assert any("--profiling=false" in line or "profiling" in line for line in changes["kube-scheduler"])
    apply(ops)
    changes, _ignored = node_plan.evaluate(build(values, layout, root, settings))
    assert {c: found for c, found in changes.items() if found} == {}


@pytest.mark.parametrize("drift, component", [
    (lambda root, layout: os.chmod(os.path.join(layout.manifests_dir, "kube-scheduler.yaml"), 0o644), "kube-scheduler"),
    (lambda root, layout: os.chmod(os.path.join(layout.manifests_dir, "kube-scheduler.yaml"), 0o644), "file_permissions"),
    (lambda root, layout: _edit_kubelet(layout, readOnlyPort=10255), "kubelet"),
    (lambda root, layout: os.remove(root / "90-firewall.conf"), "kubelet"),
    (lambda root, layout: (root / "sysctl.conf").write_text("vm.overcommit_memory=0\n"), "sysctl"),
    (lambda root, layout: _edit_manifest_flag(layout, "kube-apiserver", "--profiling=true"), "kube-apiserver"),
    (lambda root, layout: (root / "etc" / "admission-controls" / "podsecurity.yaml").write_text("x: 1\n"), "kube-apiserver"),
    (lambda root, layout: os.chmod(root / "etcd-data", 0o755), "etcd"),
    (lambda root, layout: os.chmod(root / "etc" / "pki" / "ca.key", 0o644), "file_permissions"),
])
def test_drift_of_a_managed_file_shows_in_the_plan(node, drift, component):
    root, layout, settings = node
    with open(SEED, encoding="utf-8") as handle:
        seed = yaml.safe_load(handle)
    seed.pop("kube_encrypt_secret_data")
    values = hv.validate(dict(seed, etcd_deployment_type="kubeadm"))
    apply(build(values, layout, root, settings))
    drift(root, layout)
    changes, _ignored = node_plan.evaluate(build(values, layout, root, settings))
    assert changes[component], changes


def _edit_kubelet(layout, **fields):
    with open(layout.kubelet_config, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    config.update(fields)
    with open(layout.kubelet_config, "w", encoding="utf-8") as handle:
        handle.write(dump_yaml(config))


def _edit_manifest_flag(layout, component, flag):
    path = os.path.join(layout.manifests_dir, f"{component}.yaml")
    with open(path, encoding="utf-8") as handle:
        pod = yaml.safe_load(handle)
    name = flag.split("=")[0]
    command = [a for a in pod["spec"]["containers"][0]["command"] if not a.startswith(name + "=")] + [flag]
    pod["spec"]["containers"][0]["command"] = command
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(dump_yaml(pod))


def test_encryption_config_plan_keeps_keys_out_and_sees_a_missing_or_changed_config(node):
    root, layout, settings = node
    values = hv.validate({"kube_encrypt_secret_data": True})
    ops = build(values, layout, root, settings)
    changes, fingerprint = node_plan.evaluate(ops)
    assert any("created" in line for line in changes["kube-apiserver"]) and fingerprint is None
    from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired
    config = desired.encryption_config(None, "secretbox", ["secrets"], lambda n: b"s" * n)
    path = ops["kube-apiserver"]["encryption"]["path"]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(yaml.safe_dump(config, sort_keys=False))
    os.chmod(path, 0o600)
    changes, fingerprint = node_plan.evaluate({"kube-apiserver": {"encryption": ops["kube-apiserver"]["encryption"]}})
    assert changes["kube-apiserver"] == [] and len(fingerprint) == 64
    changes, _ignored = node_plan.evaluate({"kube-apiserver": {"encryption": dict(ops["kube-apiserver"]["encryption"], algorithm="aescbc")}})
    assert changes["kube-apiserver"] and all("c2Nj" not in line and "sss" not in line for line in changes["kube-apiserver"])


def test_unknown_operation_is_an_error():
    with pytest.raises(ValueError, match="unknown operation"):
        node_plan.evaluate({"kubelet": {"reboot": {}}})


RELEASES = [None] + sorted(os.listdir(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "releases")))


@pytest.mark.parametrize("kubeadm_files", RELEASES, indirect=True, ids=lambda release: release or "pinned")
def test_one_call_observes_plans_evaluates_and_audits(node, request):
    """plan_node (the node_plan module): the whole run of a node from one look - the same operations
    the roles get, the changes, and a report equal to cis_audit's on the same state. On what kubeadm writes
    at each release the collection has component data for."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    root, layout, settings = node
    platform = fixture_platform(layout)
    release = request.node.callspec.params["kubeadm_files"]
    values = hv.validate(dict(yaml.safe_load(open(SEED, encoding="utf-8")), **({"kube_version": release} if release else {}),
                              etcd_data_dir=str(root / "etcd-data"),
                              audit_log_path=str(root / "audit" / "audit.log"),
                              audit_policy_file=str(root / "etc" / "audit-policy.yaml"),
                              kube_encrypt_secret_data=False))   # (apply() here writes no key material)
    os.makedirs(values["etcd_data_dir"], exist_ok=True)
    params = {"values": values, "catalogue": catalogue.load(), "platforms": {"fixture": platform},
              "config_dir": str(root / "etc"), "layout": "auto",
              "node": {"name": "cp1", "control_plane": True, "etcd_host": False},
              "peer_addresses": ["192.0.2.7"], "control_plane_endpoints": [], "settings": settings,
              "reencrypt_marker": str(root / "marker"), "audit_roles": ["control_plane"],
              "waivers": {"1.2.30": "clients that never refresh tokens"},
              "proc_root": str(root / "proc")}   # nothing runs: the host's processes (a live cluster beside) stay out
    result = node_plan.plan_node(params, lambda argv: (0, "2: eth0    inet 192.0.2.5/24 brd 192.0.2.255 scope global eth0\n", ""))
    assert result["layout"] == "fixture" and result["addresses"] == ["192.0.2.5"]
    assert result["kube_proxy_behind"] is None   # no kube-proxy runs here
    assert set(result["pending"]) >= {"kube-apiserver", "kubelet", "file_permissions"}
    assert result["operations"]["kube-apiserver"]["static_pod"]["flags"]["profiling"] == "false"
    # the kubelet firewall admits this node, its peers, and nothing it was not told about
    allowed = result["operations"]["kubelet"]["config_files"]["files"][0]["content"]
    assert "192.0.2.5" in allowed and "192.0.2.7" in allowed
    report = result["report"]
    expected = audit.node_report(audit.observe(catalogue.layout_for("fixture", str(root / "etc"), {"fixture": platform}), params["proc_root"]),
                                 ["control_plane"], {**result["plan"]["waived"], **params["waivers"]},
                                 catalogue.load(), "cp1", "fixture", result["version"])   # judged at the same release
    assert report["kubernetes"]["version"] == (release or hv.DEFAULT_KUBE_VERSION)

    def strip(report):
        return [dict(result) for result in report["results"]]
    assert strip(report) == strip(expected) and report["summary"] == expected["summary"]
    assert {r["id"]: r["status"] for r in report["results"]}["1.2.30"] == "waived"
    # applying the operations empties the next plan
    apply(result["operations"])
    again = node_plan.plan_node(params, lambda argv: (0, "", ""))
    assert [c for c in again["pending"] if c != "kubelet"] == [], again["changes"]


def test_etcd_is_hardened_as_the_node_runs_it_whatever_the_deployment_type_says(node):
    """kubespray's current guide says etcd_deployment_type: host; on a kubeadm node etcd is a static pod
    and is hardened as one (said in the summary), never skipped."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    root, layout, settings = node
    platform = fixture_platform(layout)
    base = {"values": None, "catalogue": catalogue.load(), "platforms": {"fixture": platform},
            "config_dir": str(root / "etc"), "layout": "auto", "peer_addresses": [], "control_plane_endpoints": [],
            "settings": settings, "reencrypt_marker": str(root / "marker")}
    values = hv.validate({"etcd_deployment_type": "host", "etcd_data_dir": str(root / "etcd-data")})
    control_plane = node_plan.plan_node(dict(base, values=values, node={"name": "cp1", "control_plane": True, "etcd_host": True}),
                                        lambda argv: (0, "", ""))
    etcd = control_plane["operations"]["etcd"]
    assert etcd["static_pod"]["path"] == f"{layout.manifests_dir}/etcd.yaml" and "env_file" not in etcd
    assert etcd["static_pod"]["flags"]["client-cert-auth"] == "true"
    assert any("etcd_deployment_type is host, but etcd runs here as a static pod" in line
               for line in control_plane["plan"]["summary"])
    # an etcd host without a static pod: the env file, as kubespray deploys it
    os.rename(f"{layout.manifests_dir}/etcd.yaml", str(root / "etcd.yaml.away"))
    (root / "etcd.env").write_text("ETCD_DATA_DIR=/var/lib/etcd\n")
    host = node_plan.plan_node(dict(base, values=values, node={"name": "e1", "control_plane": True, "etcd_host": True}),
                               lambda argv: (0, "", ""))
    assert "env_file" in host["operations"]["etcd"] and "static_pod" not in host["operations"]["etcd"]
    assert not any("etcd_deployment_type" in line for line in host["plan"]["summary"])


def test_a_manifest_kubeadm_regenerated_is_not_restarted_for_the_annotation_alone(node):
    """kubeadm upgrade rewrites the apiserver manifest without our config-hash annotation; the pod it
    restarts reads the current files. The plan is empty for that; a changed file still restarts it."""
    root, layout, settings = node
    values = hv.validate(dict(yaml.safe_load(open(SEED, encoding="utf-8")), kube_encrypt_secret_data=False))
    ops = build(values, layout, root, settings)
    apply(ops)
    manifest = f"{layout.manifests_dir}/kube-apiserver.yaml"
    with open(manifest, encoding="utf-8") as handle:
        pod = load_manifest(handle.read())
    del pod["metadata"]["annotations"]["kubeguard.io/config-hash"]          # what kubeadm upgrade writes
    with open(manifest, "w", encoding="utf-8") as handle:
        handle.write(dump_yaml(pod))
    changes, _ignored = node_plan.evaluate(build(values, layout, root, settings))
    assert changes["kube-apiserver"] == [], changes["kube-apiserver"]
    # one of the files the apiserver reads changes: the annotation comes back, so the pod restarts
    admission = next(f["path"] for f in ops["kube-apiserver"]["config_files"]["files"] if f["path"].endswith("eventratelimit.yaml"))
    with open(admission, "a", encoding="utf-8") as handle:
        handle.write("# edited\n")
    changes, _ignored = node_plan.evaluate(build(values, layout, root, settings))
    assert any("annotation kubeguard.io/config-hash: None ->" in c for c in changes["kube-apiserver"]), changes
    # the audit policy (written by the audit step, read by the pod) changes alone: the pod restarts too
    apply(build(values, layout, root, settings))
    with open(manifest, encoding="utf-8") as handle:
        pod3 = load_manifest(handle.read())
    del pod3["metadata"]["annotations"]["kubeguard.io/config-hash"]
    with open(manifest, "w", encoding="utf-8") as handle:
        handle.write(dump_yaml(pod3))
    with open(ops["audit"]["config_files"]["files"][0]["path"], "a", encoding="utf-8") as handle:
        handle.write("# edited\n")
    changes, _ignored = node_plan.evaluate(build(values, layout, root, settings))
    assert any("annotation kubeguard.io/config-hash: None ->" in c for c in changes["kube-apiserver"]), changes
    # a flag changed by hand brings the annotation back with it
    pod2, found = edit_manifest(pod, {"profiling": "true"}, annotations={"kubeguard.io/config-hash": "x"}, restart_required=False)
    assert pod2["metadata"]["annotations"]["kubeguard.io/config-hash"] == "x" and len(found) == 2


def test_metrics_beyond_loopback_are_firewalled_or_said_not_to_be(node, monkeypatch):
    """The seed's etcd metrics listener on 0.0.0.0: the plan carries the firewall where iptables-restore
    exists, and says loudly that it is not firewalled where it does not."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    root, layout, settings = node
    platform = fixture_platform(layout)
    values = hv.validate(dict(yaml.safe_load(open(SEED, encoding="utf-8")), etcd_data_dir=str(root / "etcd-data"),
                              kube_encrypt_secret_data=False, etcd_deployment_type="kubeadm",
                              kube_controller_manager_bind_address="0.0.0.0"))
    os.makedirs(values["etcd_data_dir"], exist_ok=True)
    params = {"values": values, "catalogue": catalogue.load(), "platforms": {"fixture": platform},
              "config_dir": str(root / "etc"), "layout": "auto", "node": {"name": "cp1", "control_plane": True, "etcd_host": False},
              "peer_addresses": [], "control_plane_endpoints": [], "settings": settings, "reencrypt_marker": str(root / "m")}
    real_access = os.access
    monkeypatch.setattr(node_plan.os, "access", lambda path, mode: path.endswith("/iptables") or real_access(path, mode))
    planned = node_plan.plan_node(params, lambda argv: (0, "-P INPUT ACCEPT\n", ""))
    assert planned["operations"]["metrics_firewall"]["exposed"] == ["kube-controller-manager 10257"]
    assert "metrics_firewall" in planned["pending"]

    # iptables there but not allowed (a container without NET_ADMIN), or not there at all
    def denied(argv):
        if argv[-2:] == ["-S", "INPUT"]:
            return 4, "", "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied\n"
        return 0, "", ""
    without = node_plan.plan_node(params, denied)
    assert "metrics_firewall" not in without["operations"]
    assert any("kube-controller-manager 10257) are NOT firewalled: iptables does not work on this node "
               "(iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied)" in line
               for line in without["plan"]["summary"])
    monkeypatch.setattr(node_plan.os, "access", lambda path, mode: not path.endswith("/iptables") and real_access(path, mode))
    assert any("(no iptables)" in line for line in node_plan.plan_node(params, denied)["plan"]["summary"])

    # Under systemd the probe runs as the unit will: a transient service. A session with more capabilities
    # than its services (iptables answers it directly) still gets "NOT firewalled", not a failed unit later.
    tools = ("/iptables", "/systemd-run")
    monkeypatch.setattr(node_plan.os, "access", lambda path, mode: path.endswith(tools) or real_access(path, mode))
    real_isdir = os.path.isdir
    monkeypatch.setattr(node_plan.os.path, "isdir", lambda path: path == "/run/systemd/system" or real_isdir(path))
    asked = []

    def session_only(argv):
        asked.append(argv)
        if argv[-2:] == ["-S", "INPUT"] and argv[0].endswith("/systemd-run"):
            return 4, "", "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied\n"
        return 0, "-P INPUT ACCEPT\n", ""
    as_service = node_plan.plan_node(params, session_only)
    probes = [argv for argv in asked if argv[-2:] == ["-S", "INPUT"]]
    assert len(probes) == 1 and probes[0][0].endswith("/systemd-run") and "--wait" in probes[0] and "--pipe" in probes[0]
    assert probes[0][-5].endswith("/iptables") and probes[0][-4:-2] == ["-t", "mangle"]   # the table the chain hangs off
    assert "metrics_firewall" not in as_service["operations"]
    assert any("are NOT firewalled: iptables does not work on this node (iptables v1.8.9" in line
               for line in as_service["plan"]["summary"])
    # and where the service may use iptables, the firewall is planned
    asked.clear()
    assert "metrics_firewall" in node_plan.plan_node(params, lambda argv: (0, "-P INPUT ACCEPT\n", ""))["operations"]


# --- the report carries the release the node was judged at (and where it was read) ----------------------------

APISERVER, KUBELET = "/usr/local/bin/kube-apiserver", "/usr/bin/kubelet"


def version_runner(answers):
    """run_command: `<binary> --version` answered from {binary: output} through the exe link; the rest as a node answers."""
    def run(argv):
        if argv[-1] != "--version":
            return 0, "2: eth0    inet 192.0.2.5/24 brd 192.0.2.255 scope global eth0\n", ""
        binary = os.readlink(argv[0]) if os.path.islink(argv[0]) else argv[0]
        return (0, answers[binary], "") if binary in answers else (1, "", "no such file")
    return run


def plan_with_report(node, answers, control_plane=True, **changes):
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    root, layout, settings = node
    with open(SEED, encoding="utf-8") as handle:
        values = hv.validate(dict(yaml.safe_load(handle), kube_encrypt_secret_data=False, etcd_data_dir=str(root / "etcd-data"),
                                  audit_log_path=str(root / "audit" / "audit.log"),
                                  audit_policy_file=str(root / "etc" / "audit-policy.yaml"), **changes))
    os.makedirs(values["etcd_data_dir"], exist_ok=True)
    params = {"values": values, "catalogue": catalogue.load(), "platforms": {"fixture": fixture_platform(layout)},
              "config_dir": str(root / "etc"), "layout": "auto", "peer_addresses": [], "control_plane_endpoints": [],
              "node": {"name": "cp1" if control_plane else "w1", "control_plane": control_plane, "etcd_host": False},
              "settings": settings, "reencrypt_marker": str(root / "marker"), "proc_root": str(root / "fakeproc"),
              "audit_roles": ["control_plane"] if control_plane else ["worker"]}
    return node_plan.plan_node(params, version_runner(answers))


def test_without_kube_version_the_report_carries_the_release_the_node_runs_and_where_it_was_read(node):
    """The seed sets no kube_version (as the live scenario): a control plane's report names the running
    kube-apiserver, a worker's its running kubelet; nothing running: the apiserver static pod's image tag."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.report import reports
    from test_process_identity import start  # pylint: disable=import-error
    root = node[0]
    (root / "fakeproc").mkdir()
    assert "kube_version" not in hv.validate(yaml.safe_load(open(SEED, encoding="utf-8")))["_given"]
    start(root / "fakeproc", 100, ["kube-apiserver", "--secure-port=6443"], APISERVER)
    start(root / "fakeproc", 200, [KUBELET, "--config=/var/lib/kubelet/config.yaml"], KUBELET)
    answers = {APISERVER: "Kubernetes v1.34.4\n", KUBELET: "Kubernetes v1.34.4\n"}
    result = plan_with_report(node, answers)
    read = f"the running kube-apiserver (pid 100: {APISERVER} --version)"
    assert result["report"]["kubernetes"] == {"version": "v1.34.4", "source": read, "running": "v1.34.4", "running_source": read}
    assert result["report"]["kubernetes"]["version"] == result["version"]["used"] == "v1.34.4"
    assert list(result["report"])[:7] == ["schema", "benchmark", "node", "generated_at", "roles", "layout", "kubernetes"]
    assert f"\nKubernetes v1.34.4, read from {read}.\n" in reports.markdown(result["report"])
    # a worker: its kubelet is what runs there
    os.unlink(root / "fakeproc" / "100" / "exe")
    (root / "fakeproc" / "100" / "cmdline").write_bytes(b"sleep\0")
    worker = plan_with_report(node, answers, control_plane=False)["report"]["kubernetes"]
    assert worker["version"] == "v1.34.4" and worker["source"] == f"the running kubelet (pid 200: {KUBELET} --version)"
    # nothing runs: what is on disk, said as such
    os.unlink(root / "fakeproc" / "200" / "exe")
    (root / "fakeproc" / "200" / "cmdline").write_bytes(b"sleep\0")
    on_disk = plan_with_report(node, {})["report"]["kubernetes"]
    assert on_disk["version"] == on_disk["running"] == "v1.34.4"
    assert on_disk["source"].startswith("the kube-apiserver static pod's image tag (") and on_disk["source"].endswith("; it does not run)")


def test_a_given_kube_version_is_the_reports_release_and_its_source_says_so(node):
    from ansible_collections.kubeguard.hardening.plugins.module_utils.report import reports
    from test_process_identity import start  # pylint: disable=import-error
    root = node[0]
    (root / "fakeproc").mkdir()
    start(root / "fakeproc", 100, ["kube-apiserver"], APISERVER)
    result = plan_with_report(node, {APISERVER: "Kubernetes v1.31.4\n"}, kube_version="1.34.4")
    read = f"the running kube-apiserver (pid 100: {APISERVER} --version)"
    report = result["report"]
    assert report["kubernetes"] == {"version": "v1.34.4", "source": "kube_version", "running": "v1.31.4", "running_source": read}
    assert f"\nKubernetes v1.34.4, your kube_version (this node runs v1.31.4, read from {read}).\n" in reports.markdown(report)
    same = plan_with_report(node, {APISERVER: "Kubernetes v1.34.4\n"}, kube_version="v1.34.4")["report"]["kubernetes"]
    assert same["source"] == "kube_version" and same["running"] == same["version"] == "v1.34.4"
    assert "Kubernetes v1.34.4, your kube_version (this node runs it, read from the running kube-apiserver" in reports.markdown(
        dict(report, kubernetes=same))


def test_verify_audit_after_the_rollout_carries_the_release_too(node, monkeypatch, capsys):
    """cis_audit (verify's audit of a node this run changed) reads the release again, as the plan did: the
    report it returns has the same `kubernetes` field; kube_version given, that is the report's release."""
    import json
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import health
    from ansible_collections.kubeguard.hardening.plugins.modules import cis_audit
    root, layout, _settings = node
    monkeypatch.setattr(health, "component_processes", lambda name, proc_root="/proc": [])   # nothing runs here
    args = {"node_name": "cp1", "roles": ["control_plane"], "config_dir": str(root / "etc"), "layout": "fixture",
            "platforms": {"fixture": fixture_platform(layout)}, "catalogue": catalogue.load()}
    manifest = os.path.join(layout.manifests_dir, "kube-apiserver.yaml")

    def audit_with(extra):
        with patch_module_args(dict(args, **extra)), pytest.raises(SystemExit):
            cis_audit.main()
        return json.loads(capsys.readouterr().out)["report"]["kubernetes"]
    read = f"the kube-apiserver static pod's image tag ({manifest}; it does not run)"
    assert audit_with({}) == {"version": "v1.34.4", "source": read, "running": "v1.34.4", "running_source": read}
    assert audit_with({"kube_version": "1.34"}) == {"version": "v1.34", "source": "kube_version", "running": "v1.34.4",
                                                    "running_source": read}


def test_every_operation_of_a_node_is_applied_by_a_rollout_step(node):
    """What the plan evaluates is what the rollout applies: each key of a node's operations is some step's (or
    applied with one), so no write the plan counts is left without a role."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.platform import component_registry as registry
    root, layout, settings = node
    with open(SEED, encoding="utf-8") as handle:
        values = hv.validate(dict(yaml.safe_load(handle), etcd_deployment_type="kubeadm"))
    ops = build(values, layout, root, settings)
    steps = {s.operations for s in registry.ROLLOUT}
    assert set(ops) - steps <= set(registry.APPLIED_WITH), set(ops) - steps
    rolled = [s["role"] for phase in node_operations.rollout(ops).values() for s in phase]
    assert {"apiserver", "kubelet", "file_permissions", "etcd"} <= set(rolled)


def test_a_kube_proxy_serving_beyond_loopback_is_said_with_the_nodes_name(node, monkeypatch):
    """What the audit read of this node's kube-proxy sockets (test_kube_proxy) reaches the plan, judged against the
    address wanted and named, for the kube_proxy role."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    root, layout, settings = node
    observe = audit.observe

    def stale(*args, **kwargs):
        state = observe(*args, **kwargs)
        state["components"]["kube-proxy"].update(source="process", serves={"pids": ["9"], "addresses": ["[::]:10249"]},
                                                 configured="127.0.0.1:10249")
        return state
    monkeypatch.setattr(audit, "observe", stale)
    values = hv.validate(dict(yaml.safe_load(open(SEED, encoding="utf-8")), etcd_data_dir=str(root / "etcd-data"),
                              kube_encrypt_secret_data=False))
    params = {"values": values, "catalogue": catalogue.load(), "platforms": {"fixture": fixture_platform(layout)},
              "config_dir": str(root / "etc"), "layout": "auto", "node": {"name": "w1", "control_plane": False, "etcd_host": False},
              "peer_addresses": [], "control_plane_endpoints": [], "settings": settings, "proc_root": str(root / "proc")}
    result = node_plan.plan_node(params, lambda argv: (0, "", ""))
    assert result["kube_proxy_behind"] == ("w1: kube-proxy (pid 9) serves its metrics on [::]:10249 though its file says"
                                           " 127.0.0.1:10249: it started from an older copy")
