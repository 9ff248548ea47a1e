"""The cluster's version is read, never assumed (issue 23): without kube_version each node's plan reads the
release it runs (the running kube-apiserver or kubelet asked through /proc/<pid>/exe, else the apiserver's static
pod image tag or the kubelet binary on disk, else the documented default) and says which; gates and the Pod
Security default versions follow it. A kube_version that differs from what runs is said, not failed. Nodes that
disagree are said and the lowest control plane's release is the cluster's. The cluster audit and the policy role
judge Pod Security at the server's release."""

from __future__ import annotations

import os

import pytest
import yaml

from test_node_plan import SEED, fixture_platform, version_runner as runner
from test_process_identity import start

from ansible_collections.kubeguard.hardening.plugins.filter.hardening import kubeguard_cluster_version
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import node_facts
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import reports
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_plan
from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import cluster_audit, cluster_policy as cp, pod_security as ps

APISERVER, KUBELET = "/usr/local/bin/kube-apiserver", "/usr/bin/kubelet"
L = "pod-security.kubernetes.io/"


@pytest.fixture
def node(kubeadm_node):
    root, layout, settings = kubeadm_node
    (root / "fakeproc").mkdir()
    return root, layout, settings


def plan(node, values, answers, control_plane=True):
    root, layout, settings = node
    values = dict(values, etcd_data_dir=str(root / "etcd-data"), audit_log_path=str(root / "audit" / "audit.log"),
                  audit_policy_file=str(root / "etc" / "audit-policy.yaml"))
    os.makedirs(values["etcd_data_dir"], exist_ok=True)
    params = {"values": values, "catalogue": catalogue.load(), "platforms": {"fixture": fixture_platform(layout)},
              "config_dir": str(root / "etc"), "layout": "auto", "peer_addresses": [], "control_plane_endpoints": [],
              "node": {"name": "cp1", "control_plane": control_plane, "etcd_host": False}, "settings": settings,
              "reencrypt_marker": str(root / "marker"), "proc_root": str(root / "fakeproc")}
    return node_plan.plan_node(params, runner(answers))


def seed(**changes):
    with open(SEED, encoding="utf-8") as handle:
        return hv.validate(dict(yaml.safe_load(handle), kube_encrypt_secret_data=False, **changes))


def defaults_of(result):
    """The Pod Security admission defaults the apiserver would get (enforce, enforce-version, ...)."""
    docs = [yaml.safe_load(f["content"]) for f in result["operations"]["kube-apiserver"]["config_files"]["files"]]
    return next(doc["defaults"] for doc in docs if isinstance(doc, dict) and doc.get("kind") == "PodSecurityConfiguration")


def kubelet_gates(result):
    return result["operations"]["kubelet"]["kubelet_config"]["fields"].get("featureGates") or {}


# --- the plan reads what the node runs --------------------------------------------------------------------

def test_without_kube_version_the_running_apiserver_tells_the_release_and_the_plan_says_so(node):
    root = node[0]
    start(root / "fakeproc", 100, ["kube-apiserver", "--secure-port=6443"], APISERVER)
    start(root / "fakeproc", 200, [KUBELET, "--config=/var/lib/kubelet/config.yaml"], KUBELET)
    result = plan(node, seed(), {APISERVER: "Kubernetes v1.31.4\n", KUBELET: "Kubernetes v1.30.9\n"})
    version = result["version"]
    assert version["version"] == version["used"] == "v1.31.4" and version["given"] is None
    assert version["source"] == f"the running kube-apiserver (pid 100: {APISERVER} --version)"
    said = result["plan"]["summary"][0]
    assert said.startswith("kube_version not set: judged at v1.31.4, read from the running kube-apiserver (pid 100")
    # the Pod Security defaults follow what runs, not the v1.34 the collection used to assume
    defaults = defaults_of(result)
    assert defaults["enforce"] == "restricted"
    assert {defaults[f"{mode}-version"] for mode in ("enforce", "audit", "warn")} == {"v1.31"}


def test_a_worker_is_judged_at_its_kubelets_release_and_gates_follow_it(node):
    """SeccompDefault was removed in v1.29: the seed's SeccompDefault=true is dropped at 1.31, kept at 1.28."""
    root = node[0]
    start(root / "fakeproc", 200, [KUBELET], KUBELET)
    result = plan(node, seed(), {KUBELET: "Kubernetes v1.28.15\n"}, control_plane=False)
    assert result["version"]["used"] == "v1.28.15" and "the running kubelet (pid 200" in result["version"]["source"]
    assert kubelet_gates(result).get("SeccompDefault") is True
    newer = plan(node, seed(), {KUBELET: "Kubernetes v1.36.1\n"}, control_plane=False)
    assert "SeccompDefault" not in kubelet_gates(newer) and kubelet_gates(newer).get("RotateKubeletServerCertificate") is True
    assert any("SeccompDefault" in line and "removed in v1.29" in line for line in newer["plan"]["summary"])


def test_a_given_kube_version_that_differs_from_what_runs_is_said_not_failed(node):
    root = node[0]
    start(root / "fakeproc", 100, ["kube-apiserver"], APISERVER)
    result = plan(node, seed(kube_version="1.34.4"), {APISERVER: "Kubernetes v1.31.4\n"})
    assert result["version"] == {"version": "v1.31.4", "release": "v1.31.4", "given": "v1.34.4", "used": "v1.34.4",
                                 "source": f"the running kube-apiserver (pid 100: {APISERVER} --version)"}
    assert result["plan"]["summary"][0].startswith("kube_version is v1.34.4, but this node runs v1.31.4 (the running kube-apiserver")
    assert defaults_of(result)["enforce-version"] == "v1.34"
    # the same release (v1.34 names every v1.34.x): nothing to say
    same = plan(node, seed(kube_version="v1.34"), {APISERVER: "Kubernetes v1.34.4\n"})
    assert not [line for line in same["plan"]["summary"] if line.startswith("kube_version")], same["plan"]["summary"]


def test_nothing_running_falls_back_to_what_is_on_disk_then_to_the_default_and_says_which(node, tmp_path, monkeypatch):
    root, layout, _settings = node
    # the fixture's apiserver static pod: registry.k8s.io/kube-apiserver:v1.34.4, not running
    result = plan(node, seed(), {})
    manifest = os.path.join(layout.manifests_dir, "kube-apiserver.yaml")
    assert result["version"]["used"] == "v1.34.4"
    assert result["version"]["source"] == f"the kube-apiserver static pod's image tag ({manifest}; it does not run)"
    # an image pinned by digest alone has no tag: the kubelet binary on disk answers
    with open(manifest, encoding="utf-8") as handle:
        text = handle.read()
    with open(manifest, "w", encoding="utf-8") as handle:
        handle.write(text.replace("kube-apiserver:v1.34.4", "kube-apiserver@sha256:" + "a" * 64))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubelet").write_text("#!/bin/sh\n")
    os.chmod(bin_dir / "kubelet", 0o755)
    monkeypatch.setattr(node_facts, "BIN_DIRS", (str(bin_dir),))
    # the test's directory is not root's alone (a temporary one): the binary is never run as root, and the plan says why
    if os.getuid() != 0 or node_facts.untrusted(str(bin_dir / "kubelet")):
        refused = plan(node, seed(), {str(bin_dir / "kubelet"): "Kubernetes v1.33.2\n"})
        assert refused["version"]["version"] is None and "binary on disk is not run: " in refused["version"]["source"]
    monkeypatch.setattr(node_facts, "untrusted", lambda path: None)   # as if root's alone
    result = plan(node, seed(), {str(bin_dir / "kubelet"): "Kubernetes v1.33.2\n"})
    assert result["version"]["used"] == "v1.33.2"
    assert result["version"]["source"].startswith(f"the kubelet binary on disk ({bin_dir / 'kubelet'} --version")
    assert defaults_of(result)["warn-version"] == "v1.33"
    # nothing tells: the documented default, said as such
    os.unlink(bin_dir / "kubelet")
    result = plan(node, seed(), {})
    assert result["version"]["version"] is None and result["version"]["used"] == hv.DEFAULT_KUBE_VERSION == "v1.34.4"
    assert result["plan"]["summary"][0].startswith(
        "kube_version not set and no version could be read (nothing here runs or holds a Kubernetes binary that tells its version):"
        " judged at the documented default v1.34.4; set kube_version")


def test_a_process_that_does_not_answer_is_said_and_the_next_source_used(node):
    root = node[0]
    start(root / "fakeproc", 100, ["kube-apiserver"], APISERVER)
    result = plan(node, seed(), {})
    assert result["version"]["used"] == "v1.34.4"
    assert result["version"]["source"].endswith("(" + os.path.join(node[1].manifests_dir, "kube-apiserver.yaml")
                                                + "; it runs; kube-apiserver pid 100 did not answer --version)")


def test_k3s_asks_k3s(tmp_path, monkeypatch):
    layout = catalogue.layout_for("k3s", "/etc/kubernetes")
    start(tmp_path / "proc", 300, ["/usr/local/bin/k3s", "server"], "/usr/local/bin/k3s")
    found = node_facts.kube_version(layout, runner({"/usr/local/bin/k3s": "k3s version v1.31.4+k3s1 (abcd1234)\ngo version go1.22\n"}),
                                    str(tmp_path / "proc"))
    assert found == {"version": "v1.31.4", "release": "v1.31.4", "source": "the running k3s (pid 300: /usr/local/bin/k3s --version)"}
    monkeypatch.setattr(node_facts, "BIN_DIRS", (str(tmp_path / "nothing"),))
    assert node_facts.kube_version(layout, runner({}), str(tmp_path / "empty"))["version"] is None


@pytest.mark.parametrize("said, release", [
    ("Kubernetes v1.37.0-rc.1\n", "v1.37.0-rc.1"), ("Kubernetes v1.37.0-alpha.2\n", "v1.37.0-alpha.2"),
    ("k3s version v1.37.0-rc1+k3s1 (abcd1234)\n", "v1.37.0-rc1"),
    ("Kubernetes v1.34.4-dirty\n", "v1.34.4"),   # a source build's tree state, not a pre-release
    ("Kubernetes v1.34.4\n", "v1.34.4")])
def test_a_release_candidate_is_reported_as_one_and_planned_at_its_release(tmp_path, said, release):
    layout = catalogue.layout_for("k3s" if "k3s" in said else "kubeadm", "/etc/kubernetes")
    binary = "/usr/local/bin/k3s" if "k3s" in said else APISERVER
    start(tmp_path / "proc", 300, [binary], binary)
    found = node_facts.kube_version(layout, runner({binary: said}), str(tmp_path / "proc"))
    assert found["release"] == release and found["version"] == release.split("-")[0]
    # the report's running release keeps it: the STIG's floor judges an rc older than its release
    assert reports.kubernetes_field(dict(found, used=found["version"]))["running"] == release


@pytest.mark.parametrize("said", ["Kubernetes v1.37.0-RC.1\n", "Kubernetes v1.37.0-rc.1234\n", "Kubernetes v1.37.0-gke.1\n"])
def test_a_suffix_that_is_no_release_of_ours_tells_no_version(tmp_path, said):
    """Read as its release, a pre-release would pass for it: nothing is taken instead (the next source is asked)."""
    layout = catalogue.layout_for("kubeadm", "/etc/kubernetes")
    start(tmp_path / "proc", 300, [APISERVER], APISERVER)
    found = node_facts.kube_version(layout, runner({APISERVER: said}), str(tmp_path / "proc"))
    assert found["release"] is None or not found["source"].startswith("the running")


def test_a_given_kube_version_is_compared_with_the_release_candidate_that_runs(node):
    root = node[0]
    start(root / "fakeproc", 100, ["kube-apiserver"], APISERVER)
    said = plan(node, seed(kube_version="v1.34.4"), {APISERVER: "Kubernetes v1.34.4-rc.1\n"})["plan"]["summary"][0]
    assert said.startswith("kube_version is v1.34.4, but this node runs v1.34.4-rc.1 (the running kube-apiserver")


def _cluster_cidr(node, cidr):
    manifest = node[1].manifests_dir + "/kube-controller-manager.yaml"
    with open(manifest, encoding="utf-8") as handle:
        text = handle.read()
    with open(manifest, "w", encoding="utf-8") as handle:
        handle.write(text.replace("--cluster-cidr=10.233.64.0/18", f"--cluster-cidr={cidr}"))


@pytest.mark.parametrize("cidr, taken", [("10.244.0.0/16", True), ("10.244.0.0/16,fd00:10:244::/56", True),
                                         ("0.0.0.0/0", False), ("10.244.0.0/16,::/0", False), ("not-a-network", False)])
def test_without_kube_pods_subnet_the_firewalls_let_the_pod_network_the_node_runs_with_through(node, cidr, taken):
    """A kubeadm cluster's podSubnet (10.244.0.0/16 is flannel's and many guides') is rarely kubespray's default:
    the kubelet's firewall would shut its pods' scrapers out. Read from the controller-manager, never wider than /8."""
    _cluster_cidr(node, cidr)
    result = plan(node, seed(kubelet_systemd_hardening=True), {})
    summary = " ".join(result["plan"]["summary"])
    unit = result["operations"]["kubelet"]["config_files"]["files"][0]["content"]   # the kubelet unit drop-in: IPAddressAllow=
    assert "IPAddressAllow=" in unit
    if taken:
        assert f"the pod network {cidr} read from {node[1].manifests_dir}/kube-controller-manager.yaml (--cluster-cidr)" in summary
        assert all(part in unit for part in cidr.split(",")) and "10.233.64.0/18" not in unit
    else:
        assert "not one to open the firewalls to" in summary and "10.233.64.0/18" in unit
        assert "0.0.0.0/0" not in unit and "::/0" not in unit
    # kubespray's default, which the roles' defaults always carry, is read over as if unset
    default = plan(node, seed(kubelet_systemd_hardening=True, kube_pods_subnet="10.233.64.0/18"), {})
    assert ("kube-controller-manager.yaml (--cluster-cidr)" in " ".join(default["plan"]["summary"])) is taken
    # yours wins, and nothing is read
    given = plan(node, seed(kubelet_systemd_hardening=True, kube_pods_subnet="10.100.0.0/16"), {})
    assert "10.100.0.0/16" in given["operations"]["kubelet"]["config_files"]["files"][0]["content"]
    assert "--cluster-cidr" not in " ".join(given["plan"]["summary"])


def test_a_process_named_like_the_controller_manager_never_chooses_what_the_firewalls_admit(node):
    """A pod may run a binary called kube-controller-manager as root: only root's manifest tells the pod network."""
    _cluster_cidr(node, "10.244.0.0/16")
    start(node[0] / "fakeproc", 400, ["kube-controller-manager", "--cluster-cidr=10.0.0.0/8"], "/usr/local/bin/kube-controller-manager")
    result = plan(node, seed(kubelet_systemd_hardening=True), {})
    unit = result["operations"]["kubelet"]["config_files"]["files"][0]["content"]
    assert "10.244.0.0/16" in unit and "10.0.0.0/8" not in unit


def test_variables_wrong_at_the_release_that_runs_are_refused_by_the_plan_before_any_change(node):
    """MutatingAdmissionPolicy resources are served from v1.32: accepted while the release is unknown, refused on a
    v1.31 node, accepted on a v1.32 one. A name wrong at every release is refused before any node is read."""
    root = node[0]
    mutating = "mutatingadmissionpolicies.admissionregistration.k8s.io"
    values = seed(kube_encryption_resources=["secrets", mutating])
    start(root / "fakeproc", 100, ["kube-apiserver"], APISERVER)
    with pytest.raises(ValueError, match=r"(?s)kube_version is not set and this node is judged at v1\.31\.4 \(the running kube-apiserver"
                                         r".*not a resource of the admissionregistration\.k8s\.io group in v1\.31"):
        plan(node, values, {APISERVER: "Kubernetes v1.31.4\n"})
    assert plan(node, values, {APISERVER: "Kubernetes v1.32.0\n"})["version"]["used"] == "v1.32.0"
    with pytest.raises(hv.HardeningVarsError, match="'secret' is singular"):
        hv.validate({"kube_encryption_resources": ["secret"]})


def test_validation_keeps_what_the_user_asked_for_so_a_node_can_judge_it_again():
    """validate at the default drops SeccompDefault (removed in 1.29); a 1.28 node gets it back. Re-validating the
    output (filters do) keeps the list asked for; a given kube_version is never re-judged."""
    rotate = "RotateKubeletServerCertificate=true"
    values = hv.validate({"kube_feature_gates": ["SeccompDefault=true"], "kubelet_feature_gates": [rotate]})
    assert values["kubelet_feature_gates"] == [rotate]
    again = hv.validate(values)
    assert again["_feature_gates_asked"] == values["_feature_gates_asked"] and again["kubelet_feature_gates"] == [rotate]
    older, notes = hv.at_version(again, "1.28.6")
    assert older["kubelet_feature_gates"] == ["SeccompDefault=true", rotate] and notes == []
    assert older["kube_version"] == "v1.28.6" and older["kube_pod_security_default_audit_version"] == "v1.28"
    pinned = hv.validate({"kube_pod_security_default_audit_version": "v1.30"})
    assert hv.at_version(pinned, "v1.36.1")[0]["kube_pod_security_default_audit_version"] == "v1.30"   # yours stays
    assert "_feature_gates_asked" not in hv.validate({"kube_version": "v1.33.1"})


def test_without_kube_version_binary_checksums_of_any_listed_release_are_genuine():
    """kubespray's checksums list several releases; picking the default's would fail a node that runs another."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import integrity
    table = {"amd64": {"1.34.4": "sha256:" + "a" * 64, "1.36.1": "sha256:" + "b" * 64}}
    assert integrity.expected(hv.validate({"kubelet_checksums": table})) == {
        "kubelet": {"amd64": ["sha256:" + "a" * 64, "sha256:" + "b" * 64]}}
    assert integrity.expected(hv.validate({"kube_version": "1.36.1", "kubelet_checksums": table})) == {
        "kubelet": {"amd64": ["sha256:" + "b" * 64]}}


# --- the cluster's release: nodes that disagree --------------------------------------------------------------

def test_nodes_that_disagree_are_said_and_the_lowest_control_plane_is_the_clusters_release():
    def told(version):
        return {"kubeguard_node_plan": {"version": {"version": version}}}
    hostvars = {"cp1": told("v1.35.0"), "cp2": told("v1.34.4"), "w1": told("v1.33.7"), "w2": told(None), "e1": {}}
    found = kubeguard_cluster_version(list(hostvars), hostvars, ["cp1", "cp2"])
    assert found["version"] == "v1.34.4" and found["nodes"] == {"cp1": "v1.35.0", "cp2": "v1.34.4", "w1": "v1.33.7"}
    assert found["lines"] == ["the nodes run different releases (an upgrade in progress?): cp1 v1.35.0, cp2 v1.34.4, w1 v1.33.7;"
                              " the cluster is judged at v1.34.4, the lowest control plane's (Pod Security labels, the cluster audit)"]
    same = {"cp1": told("v1.36.1"), "w1": told("v1.36.1")}
    assert kubeguard_cluster_version(list(same), same, ["cp1"]) == {"version": "v1.36.1", "nodes": {"cp1": "v1.36.1", "w1": "v1.36.1"},
                                                                    "lines": []}
    workers = {"w1": told("v1.10.2"), "w2": told("v1.9.1")}       # no control plane told: the lowest node's; numbers, not text
    assert kubeguard_cluster_version(list(workers), workers, ["cp1"])["version"] == "v1.9.1"
    assert kubeguard_cluster_version(["e1"], {"e1": {}}, [])["version"] is None


# --- Pod Security at the server's release: the cluster audit and the policy role alike ---------------------------

TCP_RMEM = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
                                "sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}]},
            "containers": [{"name": "c", "image": "x", "securityContext": {
                "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}
OBJECTS = [{"kind": "Namespace", "metadata": {"name": "shop"}},
           {"kind": "Pod", "metadata": {"namespace": "shop", "name": "tuned"}, "spec": TCP_RMEM, "status": {"phase": "Running"}}]


def test_the_version_judged_at_is_the_servers_and_never_later():
    assert ps.judged_version("latest", "v1.31.4") == ((1, 31), "v1.31 (the server's release: kube-apiserver v1.31.4 answers /version)")
    assert ps.judged_version("v1.33", "v1.31.4")[0] == (1, 31)                      # a later policy is the server's own
    assert ps.judged_version("v1.29", "v1.31.4") == ((1, 29), "v1.29 (the version asked for (v1.29))")
    assert ps.judged_version("latest", "v1.35.0", "v1.34.4") == (
        (1, 34), "v1.34 (the lowest control plane's release, v1.34.4, as the nodes' plans read it)")
    assert ps.judged_version("latest", "v1.36.1")[1] == ("v1.35 (the newest modelled; the server's release: kube-apiserver v1.36.1"
                                                         " answers /version)")
    assert ps.judged_version("latest", None) == (ps.LATEST, "v1.35 (the newest modelled; the server's release could not be read)")
    with pytest.raises(ValueError, match="older than v1.25"):
        ps.judged_version("latest", "v1.24.17")


@pytest.mark.parametrize("server, level", [("v1.31.4", "privileged"), ("v1.34.4", "restricted")])
def test_a_tcp_rmem_pod_passes_restricted_only_where_the_server_allows_that_sysctl(server, level):
    """net.ipv4.tcp_rmem is a safe sysctl from v1.32: a v1.31 apiserver refuses the pod even at baseline."""
    version, _text = ps.judged_version("latest", server)
    advice = ps.advise(OBJECTS, version)
    assert advice["shop"]["level"] == level
    blocking = {(b["check"], b["value"]) for b in advice["shop"]["blocking"]}
    assert (("sysctls", "net.ipv4.tcp_rmem") in blocking) is (level == "privileged")
    results = {r["id"]: r for r in cluster_audit.section_5(OBJECTS, ps.with_labels(advice, OBJECTS[:1], []), [], "restricted", {})}
    assert results["5.2.1"]["check_passed"] is True   # the default enforces restricted: admission refuses it, as judged


def test_the_policy_labels_pin_the_servers_minor():
    version, _text = ps.judged_version("latest", "v1.31.4")
    result = cp.plan(OBJECTS, cp.Settings(pod_security_labels="soak", version=f"v{version[0]}.{version[1]}"))
    labels = next(c.apply for c in result["changes"] if c.kind == "Namespace")["metadata"]["labels"]
    assert labels[L + "audit-version"] == labels[L + "warn-version"] == "v1.31"
    assert labels[L + "audit"] == labels[L + "warn"] == "privileged"


def test_the_cluster_report_says_the_version_judged_at():
    report = cluster_audit.report([], [], "cis-1.12", "2025-01-01T00:00:00Z", {"pod-security": "policy v1.31 (the server's release)"})
    assert report["sources"] == {"pod-security": "policy v1.31 (the server's release)"}
