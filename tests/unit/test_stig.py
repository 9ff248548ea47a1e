"""The DISA Kubernetes STIG V2R6 as a benchmark over the catalogue's checks (catalogue/stig_v2r6.yml): every rule
decided somehow on every platform, judged from a node's real state, waivers and platform exemptions carried
part by part."""

from __future__ import annotations

import collections
import os
import re

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import release_support, services
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit, reports
from conftest import generated_is_current
from test_audit import by_id, manifest_command, start

DATA = catalogue.load()
RULES = DATA["benchmarks"]["entries"]["stig-v2r6"]["rules"]
PLATFORMS = catalogue.load_platforms()
STIG = "stig-v2r6"


def test_the_rule_list_is_v2r6s_ninety_two_with_their_ids_severities_and_ccis():
    ids = [r["id"] for r in RULES]
    assert len(ids) == 92 and len(set(ids)) == 92
    assert collections.Counter(r["severity"] for r in RULES) == {"high": 18, "medium": 74}
    for rule in RULES:
        assert re.fullmatch(r"V-2\d{5}", rule["id"]), rule["id"]
        assert re.fullmatch(r"CNTR-K8-\d{6}", rule["stig_id"]), rule["id"]
        assert re.fullmatch(r"SV-" + rule["id"][2:] + r"r\d+_rule", rule["rule_id"]), rule["id"]
        assert rule["title"] and rule["check_text"] and rule["cci"] and rule["nist"], rule["id"]
        assert all(re.fullmatch(r"CCI-\d{6}", c) for c in rule["cci"]), rule["id"]
    # the two CAT I rules V2R5 removed (insecure port and bind address) are not there
    assert not {"V-242386", "V-242388"} & set(ids)


def test_every_rule_has_a_status_on_every_platform_and_seventy_or_more_are_automated():
    counts = {}
    for platform, data in PLATFORMS.items():
        statuses = {}
        for rule in RULES:
            status, why = catalogue.rule_status(rule, platform, data)
            assert status in catalogue.RULE_STATUSES and why.strip(), (platform, rule["id"], status, why)
            statuses[rule["id"]] = status
        counts[platform] = collections.Counter(statuses.values())
        assert counts[platform]["automated"] >= 70, (platform, counts[platform])
        for rule in RULES:   # CAT I: automated, or a written reason (what decides it, or why it does not apply)
            if rule["severity"] == "high" and statuses[rule["id"]] != "automated":
                assert len(catalogue.rule_status(rule, platform, data)[1]) > 40, (platform, rule["id"])
    assert counts["kubeadm"]["automated"] > counts["kubespray"]["automated"]   # V-242397: kubespray's nginx-proxy


def test_a_rule_without_a_decision_has_no_status():
    assert catalogue.rule_status({"id": "V-1", "title": "t"}, "kubeadm", PLATFORMS["kubeadm"]) == ("", "no check, no reason")


def test_each_rule_is_decided_one_way_and_its_checks_name_real_checks_and_components():
    ids = {str(c["id"]) for c in DATA["controls"]}
    components = set(audit.COMPONENT_ROLES) | {"files"}
    for rule in RULES:
        ways = [way for way in ("cluster", "manual", "not_applicable") if rule.get(way)]
        assert len(ways) <= 1 and (ways or rule.get("cis") or rule.get("checks")), rule["id"]
        assert set(rule.get("cis") or []) <= ids and set(rule.get("cis_related") or []) <= ids, rule["id"]
        for check in rule.get("checks") or []:
            assert check["component"] in components, rule["id"]
            if check["component"] in ("files", "node"):
                assert check.get("role") in audit.ROLE_NAMES, rule["id"]
        for name in (rule.get("not_applicable") or {}):
            assert name == "all" or name in PLATFORMS, rule["id"]


def test_nodes_get_only_what_judges_a_rule():
    part = catalogue.audit_part(DATA)["benchmarks"]["entries"][STIG]["rules"]
    assert {key for rule in part for key in rule} <= set(catalogue.RULE_FIELDS_ON_NODES)
    assert [r["id"] for r in part] == [r["id"] for r in RULES]


def stig_report(state, roles, waivers=None, layout="kubeadm"):
    return audit.node_report(state, roles, waivers or {}, catalogue.audit_part(DATA), "cp1", layout,
                             kubernetes={"version": "v1.34.4"}, benchmark=STIG)


def test_kubeadms_files_judged_by_the_stig(kubeadm_files):
    root, layout = kubeadm_files
    state = audit.observe(layout, str(root / "proc"))
    report = stig_report(state, ["control_plane", "etcd"])
    results = by_id(report["results"])
    assert report["benchmark"] == STIG and report["benchmark_title"] == "DISA Kubernetes STIG V2R6"
    assert len(results) == 92 and set(report["summary"]) == {"CAT I", "CAT II", "total"}
    # stricter than CIS: an absent --auto-tls passes CIS 2.3 and fails the STIG
    assert by_id(audit.audit(state, ["etcd"]))["2.3"]["status"] == "pass"
    assert results["V-242379"]["status"] == "fail" and results["V-242379"]["found"] == "--auto-tls not set"
    # one rule, three checks of the catalogue (authorization mode)
    assert results["V-242382"]["status"] == "pass" and results["V-242382"]["expected"].count("--authorization-mode") == 3
    assert results["V-242381"]["level"] == 1 and results["V-242381"]["section"] == "CAT I"
    # the STIG's 644 on the manifests: kubeadm's 600 passes, as any file of the directory does
    assert results["V-242408"]["status"] == "pass"
    os.chmod(os.path.join(layout.manifests_dir, "kube-scheduler.yaml"), 0o664)
    assert by_id(stig_report(audit.observe(layout, str(root / "proc")), ["control_plane"])["results"])["V-242408"]["status"] == "fail"
    # the kubelet found makes the node a worker too (as for CIS): its rules are judged; the rule's own
    # not-applicable reason, manual and cluster rules say so
    assert results["V-242391"]["status"] == "pass" and "worker" in report["roles"]
    alone = by_id(audit.audit(state, ["etcd"], controls=catalogue.benchmark_view(DATA, STIG)["controls"]))
    assert alone["V-242391"]["status"] == "not_applicable" and "not a worker" in alone["V-242391"]["found"]
    assert results["V-242437"]["status"] == "not_applicable" and "1.25" in results["V-242437"]["found"]
    # the apiserver does not run here (its manifest only): its listeners are not judged, never passed
    assert results["V-242410"]["status"] == "manual" and "not judged" in results["V-242410"]["found"]
    assert results["V-242415"]["status"] == "manual" and results["V-242415"]["found"].startswith("cluster scope")


def test_a_rule_judges_the_running_process_and_each_part_its_own_component(kubeadm_files):
    root, layout = kubeadm_files
    command = manifest_command(layout, "kube-apiserver")
    start(root / "proc", 100, command + ["--tls-min-version=VersionTLS12"])
    start(root / "proc", 101, manifest_command(layout, "kube-scheduler") + ["--feature-gates=AllAlpha=true"])
    results = by_id(stig_report(audit.observe(layout, str(root / "proc")), ["control_plane"])["results"])
    assert results["V-242378"]["status"] == "pass" and results["V-242378"]["found"] == "--tls-min-version=VersionTLS12"
    assert results["V-242377"]["status"] == "fail"      # the scheduler's own: not set
    # AllAlpha: apiserver, controller manager and scheduler each judged from their own flags
    assert results["V-242400"]["status"] == "fail" and "AllAlpha=true" in results["V-242400"]["found"]


def test_a_waiver_of_one_check_waives_that_part_of_each_rule_it_is_in(kubeadm_files):
    root, layout = kubeadm_files
    state = audit.observe(layout, str(root / "proc"))
    # V-274882 is CIS 1.2.27 (a config named) and 1.2.28 (its first provider): waiving one leaves the other judged
    one = by_id(stig_report(state, ["control_plane"], {"1.2.27": "encryption by the disk"})["results"])
    assert one["V-274882"]["status"] == "fail" and one["V-274882"]["found"] == "no encryption config"
    both = by_id(stig_report(state, ["control_plane"], {"1.2.27": "by the disk", "1.2.28": "by the disk"})["results"])
    assert both["V-274882"]["status"] == "waived" and both["V-274882"]["waiver"] == "CIS 1.2.27: by the disk; CIS 1.2.28: by the disk"
    # the plan's waiver (the user's variable that weakens 1.2.16) shows in both STIG rules of the audit log path
    logged = by_id(stig_report(state, ["control_plane"], {"1.2.16": "kubernetes_audit: false (kubeguard_allow_override)"})["results"])
    assert logged["V-242402"]["status"] == logged["V-242465"]["status"] == "waived"
    assert "kubernetes_audit" in logged["V-242465"]["waiver"]
    # a rule's own id, with a record that expired: judged as without it
    gone = {"V-242379": {"reason": "etcd on loopback", "owner": "ops", "expires": "2020-01-01"}}
    results = by_id(stig_report(state, ["etcd"], gone)["results"])
    assert results["V-242379"]["status"] == "fail" and results["V-242379"]["waiver_expired"]["owner"] == "ops"
    assert "waiver expired 2020-01-01" in reports.expired_note(results["V-242379"])
    with pytest.raises(ValueError, match=r"\['V-999999'\] are not control ids of stig-v2r6"):
        stig_report(state, ["etcd"], {"V-999999": "x"})


def test_a_check_the_platform_exempts_leaves_the_rule_to_its_other_parts(kubeadm_files):
    root, layout = kubeadm_files
    state = audit.observe(layout, str(root / "proc"))
    state["layout"] = dict(state["layout"], name="k3s", not_applicable={"1.1.12": "k3s runs etcd as root"})
    results = by_id(stig_report(state, ["control_plane", "etcd"], layout="k3s")["results"])
    assert results["V-242445"]["status"] == "not_applicable" and results["V-242445"]["found"] == "CIS 1.1.12: k3s runs etcd as root"
    # the report and the rules page decide it in one place: the same status, the same reason
    rule = next(r for r in RULES if r["id"] == "V-242445")
    assert catalogue.rule_status(rule, "k3s", state["layout"]) == ("not_applicable", results["V-242445"]["found"])
    # the rule's own per-platform reason
    assert results["V-242397"]["status"] == "not_applicable" and "k3s agent" in results["V-242397"]["found"]


def test_sshd_on_workers_is_read_from_processes_and_boot_links(tmp_path):
    proc, root = tmp_path / "proc", tmp_path / "root"
    start(proc, 300, ["sshd: /usr/sbin/sshd -D [listener]"], exe="/usr/sbin/sshd")
    start(proc, 301, ["/usr/bin/bash"], exe="/usr/bin/bash")
    wants = root / "etc" / "systemd" / "system" / "multi-user.target.wants"
    wants.mkdir(parents=True)
    os.symlink("/usr/lib/systemd/system/ssh.service", wants / "ssh.service")
    seen = services.observe(str(proc), str(root))
    assert seen == {"sshd": {"running": ["300"], "enabled": ["/etc/systemd/system/multi-user.target.wants/ssh.service"]}}
    state = {"services": seen}
    running = services.evaluate({"service": "sshd", "op": "not_running"}, state)
    enabled = services.evaluate({"service": "sshd", "op": "not_enabled"}, state)
    assert running.passed is False and "pids 300" in running.found and enabled.passed is False
    assert services.evaluate({"service": "sshd", "op": "not_running"}, {}).passed is None   # not observed: not judged
    (tmp_path / "empty").mkdir()
    quiet = services.observe(str(tmp_path / "empty"), str(tmp_path / "empty"))
    assert services.evaluate({"service": "sshd", "op": "not_enabled"}, {"services": quiet}).passed is True
    assert services.evaluate({"service": "sshd", "op": "not_running"}, {"services": quiet}).passed is True
    # socket activation: systemd listens on 22 until the first connection starts sshd
    socket = {"services": quiet, "listeners": [{"address": "0.0.0.0", "port": 22, "pid": 1, "process": "systemd"}]}
    activated = services.evaluate({"service": "sshd", "op": "not_running"}, socket)
    assert activated.passed is False and "systemd (pid 1) on 0.0.0.0:22" in activated.found
    # a look that cannot see every process judges nothing: no /proc, or not root (others' binaries hidden)
    assert services.observe(str(tmp_path / "no-such-proc"), str(root)) == {"sshd": None}
    import unittest.mock
    with unittest.mock.patch.object(services.os, "geteuid", return_value=1000):
        assert services.observe(str(proc), str(root)) == {"sshd": None}


def test_sshd_rules_judge_workers_not_control_planes(kubeadm_files):
    root, layout = kubeadm_files
    state = audit.observe(layout, str(root / "proc"))
    state["services"] = {"sshd": {"running": ["7"], "enabled": []}}
    worker = by_id(stig_report(state, ["worker"])["results"])
    assert worker["V-242393"]["status"] == "fail" and worker["V-242394"]["status"] == "pass"
    plane = by_id(stig_report(state, ["control_plane", "worker"])["results"])
    assert plane["V-242393"]["status"] == "not_applicable" and "not judged on a control plane" in plane["V-242393"]["found"]


def test_the_stig_is_chosen_by_name_only_and_reports_render_it(kubeadm_files):
    assert catalogue.choose_benchmark(DATA, "auto", "v1.34.4")[0] == "cis-1.12"
    assert catalogue.choose_benchmark(DATA, STIG, "v1.34.4") == (STIG, "kubeguard_benchmark")
    root, layout = kubeadm_files
    report = stig_report(audit.observe(layout, str(root / "proc")), ["control_plane", "etcd"])
    text = "\n".join(reports.summary_table(report))
    assert "CAT I STIG high severity" in text
    assert "V-242379" in reports.markdown(report) and "V-242379" in reports.junit(report)
    yaml.safe_dump(report)   # plain data


def test_the_stig_rules_page_is_current():
    """docs/stig-rules.md is generated from the STIG's data and the platform data."""
    generated_is_current("gen_stig_doc.py")


def test_the_stigs_cluster_rules_are_judged_from_the_api_in_the_cluster_report():
    from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import cluster_audit

    def pod(namespace, name, images, labels=None, host_port=None, owned=False):
        meta = {"namespace": namespace, "name": name, "labels": labels or {}}
        if owned:
            meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": "x", "controller": True}]
        containers = [{"name": f"c{i}", "image": image, **({"ports": [{"containerPort": 80, "hostPort": host_port}]} if host_port else {})}
                      for i, image in enumerate(images)]
        return {"kind": "Pod", "metadata": meta, "spec": {"containers": containers}, "status": {"phase": "Running"}}

    clean = [pod("kube-system", "dns", ["registry.k8s.io/coredns/coredns:v1.12.1"], owned=True),
             pod("apps", "web", ["nginx:1.27@sha256:" + "a" * 64], host_port=8080),
             {"kind": "Service", "metadata": {"namespace": "default", "name": "kubernetes"}, "spec": {}}]
    stig = [c for c in catalogue.benchmark_view(DATA, STIG)["controls"] if catalogue.judged_from_the_api(c)]
    controls = [c for c in DATA["controls"] if str(c["id"]).startswith("5.")] + stig
    judged = {r["id"]: r for r in cluster_audit.section_5(clean, {}, controls, "baseline", {})}
    assert all(judged[rid]["check_passed"] for rid in ("V-242383", "V-242395", "V-242414", "V-242415", "V-242442")), judged
    dirty = clean + [pod("kube-public", "stray", ["busybox:1.36"]),
                     pod("ui", "dash", ["kubernetesui/dashboard:v2.7.0"], labels={"k8s-app": "kubernetes-dashboard"}),
                     pod("apps", "low", ["nginx:1.26"], host_port=80),
                     pod("kube-system", "agent", ["registry.k8s.io/coredns/coredns:v1.11.3"], host_port=53, owned=True)]
    judged = {r["id"]: r for r in cluster_audit.section_5(dirty, {}, controls, "baseline", {})}
    assert judged["V-242383"]["check_passed"] is False and "kube-public/Pod/stray" in judged["V-242383"]["found"]
    assert judged["V-242395"]["check_passed"] is False and "ui/dash" in judged["V-242395"]["found"]
    # a user namespace's port 80 is a finding; kube-system's 53 is the platform's
    assert judged["V-242414"]["check_passed"] is False and "apps/low" in judged["V-242414"]["found"] and "agent" not in judged["V-242414"]["found"]
    # one repository however it is spelled (docker.io/library/nginx), one version per tag with or without a digest
    assert judged["V-242442"]["check_passed"] is False and "docker.io/library/nginx (1.26, 1.27)" in judged["V-242442"]["found"]
    assert "registry.k8s.io/coredns/coredns (v1.11.3, v1.12.1)" in judged["V-242442"]["found"]
    # rows of the cluster report, in their category, the verdict in found
    rows = {r["id"]: r for r in cluster_audit.report(list(judged.values()), controls, "cis-1.12", "now")["results"]}
    assert rows["V-242395"]["section"] == "CAT II" and rows["V-242395"]["found"].startswith("FAIL (judged from the API)")
    # a rule judged from the API is its verdict (the evidence formats show it Open), CIS section 5 stays manual
    assert rows["V-242395"]["status"] == "fail" and rows["V-242415"]["status"] == "pass" and rows["5.6.4"]["status"] == "manual"
    from ansible_collections.kubeguard.hardening.plugins.module_utils.report import checklist
    cluster = cluster_audit.report(list(judged.values()), controls, "cis-1.12", "now")
    ckl = checklist.ckl(cluster, catalogue.benchmark_meta(DATA, "cis-1.12"))
    assert "<ATTRIBUTE_DATA>CNTR-K8-000420</ATTRIBUTE_DATA>" in ckl   # V-242395: the STIG's own ids in the cluster's checklist
    assert "V-274883" not in rows   # a review by people: reported manual on the nodes only
    # not asked for (a CIS run): none of them
    assert not [r for r in cluster_audit.section_5(dirty, {}, controls[:-len(stig)], "baseline", {}) if r["id"].startswith("V-")]


def test_the_cluster_audits_controls_carry_the_stigs_cluster_rules_when_it_is_chosen():
    from ansible_collections.kubeguard.hardening.plugins.filter.hardening import kubeguard_cis_catalogue
    view = kubeguard_cis_catalogue("controls", STIG, "v1.34.4")
    assert view["benchmark"] == "cis-1.12"
    assert {c["id"] for c in view["controls"] if c["id"].startswith("V-")} == \
        {r["id"] for r in RULES if r.get("cluster")}
    assert not [c for c in kubeguard_cis_catalogue("controls", "auto", "v1.34.4")["controls"] if c["id"].startswith("V-")]


@pytest.mark.parametrize("gates, on", [
    ("AllAlpha=true", True), ("AllAlpha=True", True), ("AllAlpha=1", True), ("Foo=false, AllAlpha=t", True),
    (" AllAlpha = TRUE ", True), ("AllAlpha=false", False), ("AllAlpha=0", False), ("AllAlphaX=true", False), (None, False)])
def test_a_gate_is_on_as_the_components_read_it(gates, on):
    """Go's ParseBool: True, TRUE, t and 1 turn a gate on as surely as true."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import checks
    assert checks.gate_on(gates, "AllAlpha") is on
    assert checks.compare("gate_off", gates, "AllAlpha") is not on


def test_all_alpha_is_found_in_the_flag_and_in_the_kubelets_config_alike(kubeadm_files):
    root, layout = kubeadm_files
    start(root / "proc", 100, manifest_command(layout, "kube-apiserver") + ["--feature-gates=AllAlpha=True"])
    results = by_id(stig_report(audit.observe(layout, str(root / "proc")), ["control_plane"])["results"])
    assert results["V-242400"]["status"] == "fail" and "AllAlpha=True" in results["V-242400"]["found"]
    # the kubelet's flag names other gates, its config file turns AllAlpha on: the kubelet merges both
    root2 = root / "proc2"
    (root2 / "net").mkdir(parents=True)
    for table in ("tcp", "tcp6"):
        (root2 / "net" / table).write_text((root / "proc" / "net" / table).read_text())
    with open(layout.kubelet_config, "a", encoding="utf-8") as handle:
        handle.write("featureGates:\n  AllAlpha: true\n")
    start(root2, 200, ["/usr/bin/kubelet", f"--config={layout.kubelet_config}", "--feature-gates=Foo=true"])
    results = by_id(stig_report(audit.observe(layout, str(root2)), ["worker"])["results"])
    assert results["V-242400"]["status"] == "fail" and "AllAlpha=true" in results["V-242400"]["found"]


def test_a_file_the_component_does_not_have_on_the_host_is_not_judged_and_the_kubelets_own_ca_is(kubeadm_files):
    root, layout = kubeadm_files
    state = audit.observe(layout, str(root / "proc"))
    results = by_id(stig_report(state, ["worker"])["results"])
    # kube-proxy does not run here: no kubeconfig it reads, nothing judged - not a pass
    assert results["V-242447"]["status"] == "manual" and "not judged" in results["V-242447"]["found"]
    assert results["V-242448"]["status"] == "manual"
    # the client CA file is the one the kubelet names in its config, not the layout's guess
    named = state["kubelet_config"]["authentication"]["x509"]["clientCAFile"]
    ca = root / "kubelet-ca.crt"
    ca.write_text("pem\n")
    os.chmod(ca, 0o666)
    state["kubelet_config"]["authentication"]["x509"]["clientCAFile"] = str(ca)
    results = by_id(stig_report(state, ["worker"])["results"])
    assert named != str(ca) and results["V-242449"]["status"] == "fail" and "kubelet-ca.crt mode 666" in results["V-242449"]["found"]
    state["kubelet_config"]["authentication"]["x509"]["clientCAFile"] = ""
    assert by_id(stig_report(state, ["worker"])["results"])["V-242449"]["status"] == "manual"


def test_kube_proxys_kubeconfig_is_judged_as_kube_proxy_opens_it_inside_its_pod(kubeadm_files, tmp_path):
    root, layout = kubeadm_files
    pod = tmp_path / "pod-root"
    data = pod / "var/lib/kube-proxy/..2026_12_06"
    data.mkdir(parents=True)
    (pod / "var/lib/kube-proxy/config.conf").write_text(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
        "clientConnection:\n  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\nmetricsBindAddress: 127.0.0.1:10249\n")
    (data / "kubeconfig.conf").write_text("apiVersion: v1\nkind: Config\n")
    os.chmod(data / "kubeconfig.conf", 0o644)
    # a ConfigMap volume: the file is a link to ..data/, itself a link to the dated directory; an absolute link
    # would start again at the pod's root, never the host's
    os.symlink("..2026_12_06", pod / "var/lib/kube-proxy/..data")
    os.symlink("/var/lib/kube-proxy/..data/kubeconfig.conf", pod / "var/lib/kube-proxy/kubeconfig.conf")
    start(root / "proc", 300, ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=w1"])
    os.symlink(pod, root / "proc" / "300" / "root")
    # it listens where its file says (else what it runs with is not told by the file, and nothing is judged)
    listening(root / "proc", [("0100007F:2809", "301")], {300: ["301"]})
    results = by_id(stig_report(audit.observe(layout, str(root / "proc")), ["worker"])["results"])
    assert results["V-242447"]["status"] == "pass", results["V-242447"]["found"]
    assert results["V-242447"]["found"].startswith("/var/lib/kube-proxy/kubeconfig.conf (as kube-proxy, pid 300, opens it) mode 644")
    os.chmod(data / "kubeconfig.conf", 0o666)
    results = by_id(stig_report(audit.observe(layout, str(root / "proc")), ["worker"])["results"])
    assert results["V-242447"]["status"] == "fail" and "mode 666" in results["V-242447"]["found"]
    # its owner, as the pod's files are owned (root in a real pod; the test's user here)
    owner = results["V-242448"]
    assert owner["status"] == ("pass" if os.getuid() == 0 and os.getgid() == 0 else "fail"), owner["found"]
    # the file gone from the pod: not judged, never a pass
    os.unlink(data / "kubeconfig.conf")
    results = by_id(stig_report(audit.observe(layout, str(root / "proc")), ["worker"])["results"])
    assert results["V-242447"]["status"] == "manual" and "not judged" in results["V-242447"]["found"]


def test_an_owner_reference_to_something_else_hides_nothing_in_the_default_namespaces():
    from ansible_collections.kubeguard.hardening.plugins.module_utils.cluster import cluster_audit
    configmap_owned = {"kind": "Pod", "metadata": {"namespace": "default", "name": "sneaky", "uid": "p1",
                                                   "ownerReferences": [{"kind": "ConfigMap", "name": "cm", "uid": "c1", "controller": True}]},
                       "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}, "status": {"phase": "Running"}}
    deployment = {"kind": "Deployment", "metadata": {"namespace": "default", "name": "web", "uid": "d1"},
                  "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}
    replicaset = {"kind": "ReplicaSet", "metadata": {"namespace": "default", "name": "web-1", "uid": "r1",
                                                     "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "d1", "controller": True}]},
                  "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}
    judged = {r["id"]: r for r in cluster_audit.stig_cluster([configmap_owned, deployment, replicaset], [])}
    found = judged["V-242383"]["found"]
    assert judged["V-242383"]["check_passed"] is False and "default/Pod/sneaky" in found and "default/Deployment/web" in found
    assert "ReplicaSet" not in found   # the Deployment's own: counted once, as the Deployment


def test_every_waiver_a_rule_rests_on_is_in_the_evidence(kubeadm_files):
    from ansible_collections.kubeguard.hardening.plugins.module_utils.report import checklist, evidence, oscal
    root, layout = kubeadm_files
    waivers = {"1.2.27": {"reason": "disk encryption", "owner": "alice", "expires": "2099-01-01"},
               "1.2.28": {"reason": "disk encryption", "owner": "bob", "expires": "2098-06-30", "ticket": "SEC-9"}}
    report = stig_report(audit.observe(layout, str(root / "proc")), ["control_plane"], waivers)
    result = by_id(report["results"])["V-274882"]
    assert result["status"] == "waived" and set(result["waiver_records"]) == {"CIS 1.2.27", "CIS 1.2.28"}
    text = evidence.waiver_text(result)
    assert "alice" in text and "bob" in text and "SEC-9" in text
    assert evidence.waiver_expiry(result) == "2098-06-30"   # the first day one of them lapses
    meta = catalogue.benchmark_meta(DATA, STIG)
    assert "bob" in checklist.ckl(report, meta) and '"deadline": "2098-06-30T23:59:59Z"' in oscal.oscal(report, meta)


def test_a_line_break_in_what_a_node_holds_cannot_forge_a_line_of_evidence(kubeadm_files):
    from ansible_collections.kubeguard.hardening.plugins.module_utils.report import evidence
    root, layout = kubeadm_files
    report = stig_report(audit.observe(layout, str(root / "proc")), ["control_plane"])
    forged = dict(by_id(report["results"])["V-242379"], found="x\nStatus: pass (kubeguard.hardening) \u202eDELIF")
    lines = evidence.details(forged).splitlines()
    assert [line.split(":")[0] for line in lines] == ["Status", "Found", "Expected", "Where", "Read from"]
    assert "\\x0a" in lines[1] and "\u202e" not in lines[1]


TCP_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def listening(proc, sockets, owners):
    """sockets: (hex address:port, inode) in LISTEN state; owners: pid -> inodes it holds (its fd links)."""
    (proc / "net").mkdir(parents=True, exist_ok=True)
    rows = [f"   {i}: {addr} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 {inode} 1\n"
            for i, (addr, inode) in enumerate(sockets)]
    (proc / "net" / "tcp").write_text(TCP_HEADER + "".join(rows))
    (proc / "net" / "tcp6").write_text(TCP_HEADER)
    for pid, inodes in owners.items():
        (proc / str(pid) / "fd").mkdir(parents=True, exist_ok=True)
        for n, inode in enumerate(inodes):
            os.symlink(f"socket:[{inode}]", proc / str(pid) / "fd" / str(n + 3))


def test_ppsm_rules_judge_the_real_components_listeners_against_the_approved_ports(kubeadm_files):
    root, layout = kubeadm_files
    proc = root / "proc"
    start(proc, 100, manifest_command(layout, "kube-apiserver"))
    start(proc, 101, manifest_command(layout, "kube-scheduler"))
    start(proc, 300, ["kube-apiserver", "--secure-port=9999"], exe="/bin/sleep")   # a look-alike (exec -a)
    listening(proc, [("00000000:192B", "201"), ("00000000:1F90", "202"), ("0100007F:283B", "203"), ("00000000:270F", "204")],
              {100: ["201", "202"], 101: ["203"], 300: ["204"]})   # 0.0.0.0:6443, 0.0.0.0:8080, 127.0.0.1:10299, 0.0.0.0:9999
    results = by_id(stig_report(audit.observe(layout, str(proc)), ["control_plane"])["results"])
    assert results["V-242410"]["status"] == "fail"
    assert "0.0.0.0:8080 kube-apiserver (pid 100)" in results["V-242410"]["found"] and "6443 kube" not in results["V-242410"]["found"]
    assert "9999" not in results["V-242410"]["found"]   # the look-alike's socket is nobody's
    # the scheduler on loopback only, whatever port: not a PPSM matter
    assert results["V-242411"]["status"] == "pass" and "loopback only" in results["V-242411"]["found"]
    # the controller manager does not run here: its listeners are not judged
    assert results["V-242412"]["status"] == "manual"
    # the apiserver's descriptors unreadable: its listeners cannot be told - not judged, never passed
    os.chmod(proc / "100" / "fd", 0)
    if not os.access(proc / "100" / "fd", os.R_OK):   # root reads it anyway
        results = by_id(stig_report(audit.observe(layout, str(proc)), ["control_plane"])["results"])
        assert results["V-242410"]["status"] == "manual"
    os.chmod(proc / "100" / "fd", 0o755)
    # your registration approves 8080: the apiserver passes, with the evidence of both ports
    approved = audit.expectations({"kube-apiserver": [6443, "8000-8100"]})
    results = by_id(stig_report(audit.observe(layout, str(proc), expected=approved), ["control_plane"])["results"])
    assert results["V-242410"]["status"] == "pass" and "6443, 8000-8100" in results["V-242410"]["found"]
    assert "0.0.0.0:8080" in results["V-242410"]["found"] and "0.0.0.0:6443" in results["V-242410"]["found"]
    # an empty registration approves nothing beyond loopback
    results = by_id(stig_report(audit.observe(layout, str(proc), expected=audit.expectations({"kube-apiserver": []})),
                                ["control_plane"])["results"])
    assert results["V-242410"]["status"] == "fail" and "(none," in results["V-242410"]["found"]


def test_ppsm_rules_never_pass_on_listeners_they_cannot_attribute():
    from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import exposure
    wide = [{"address": "0.0.0.0", "port": 9999, "pid": 40, "process": "k3s", "argv": [], "component": "k3s"},
            {"address": "127.0.0.1", "port": 10259, "pid": 40, "process": "k3s", "argv": [], "component": "k3s"}]
    ports = audit.expectations()["approved_ports"]
    # k3s' one process: judged against every component's ports; 9999 is none of them
    outcome = exposure.approved_listeners(wide, "kube-scheduler", ports, "process log", True, ["k3s"])
    assert outcome.passed is False and "0.0.0.0:9999 k3s (pid 40)" in outcome.found
    # k3s not identified (or its descriptors unreadable): not judged, never a pass
    assert exposure.approved_listeners(wide, "kube-scheduler", ports, "process log", True, []).passed is None
    # identified, but holding no socket this network namespace shows: not judged either
    assert exposure.approved_listeners([], "kube-apiserver", ports, "process", False, ["kube-apiserver"]).passed is None


def test_the_release_rules_judge_support_floor_and_kubectl(kubeadm_files, tmp_path):
    root, layout = kubeadm_files
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text("#!/bin/sh\n")
    os.chmod(bin_dir / "kubectl", 0o755)

    def trusted(_path):
        return None   # the test's own directory is not root's alone

    seen = release_support.kubectl(lambda argv: (0, "Client Version: v1.35.4\nKustomize Version: v5.7.1\n"),
                                   [str(tmp_path / "none"), str(bin_dir), str(bin_dir)], trusted)
    assert seen == [{"path": str(bin_dir / "kubectl"), "version": "v1.35.4"}]   # one per real file
    # kubectl before 1.28 says version.Info{...}: read too (else the oldest, the ones the rule is about, escape it)
    old_style = 'Client Version: version.Info{Major:"1", Minor:"12", GitVersion:"v1.12.8", GitCommit:"abc"}\n'
    assert release_support.kubectl(lambda argv: (0, old_style), [str(bin_dir)], trusted)[0]["version"] == "v1.12.8"
    # a kubectl whose file or directory is not root's alone is never run as root: not judged
    ran = []
    refused = release_support.kubectl(lambda argv: ran.append(argv) or (0, ""), [str(bin_dir)], lambda path: "writable by others")
    assert ran == [] and refused == [{"path": str(bin_dir / "kubectl"), "version": None, "said": "not run: writable by others"}]
    assert release_support.kubectl(lambda argv: (0, ""), [str(tmp_path / "none")], trusted) == []
    state = dict(audit.observe(layout, str(root / "proc")), kubectl=seen, today="2026-12-06")
    running_source = "the running kube-apiserver (pid 1: /usr/local/bin/kube-apiserver --version)"

    def judged(running, today="2026-12-06", floor=(), kubectl=None, source=running_source):
        one = dict(state, today=today, kubectl=seen if kubectl is None else kubectl, expectations=audit.expectations(None, list(floor)))
        report = audit.node_report(one, ["control_plane"], {}, catalogue.audit_part(DATA), "cp1", "kubeadm",
                                   kubernetes={"version": running, "running": running, "running_source": source}, benchmark=STIG)
        return by_id(report["results"])

    # v1.34 reached its end of life on 2026-10-27: out of support in December, supported in June
    assert judged("v1.34.4")["V-242443"]["status"] == "fail" and "2026-10-27" in judged("v1.34.4")["V-242443"]["found"]
    assert judged("v1.34.4", today="2026-06-01")["V-242443"]["status"] == "pass"
    assert judged("v1.35.4")["V-242443"]["status"] == "pass"
    # your floor: a patch older than it fails, the same passes; a release candidate is older than its release
    assert judged("v1.35.4", floor=["v1.35.5"])["V-242443"]["status"] == "fail"
    assert judged("v1.35.5", floor=["v1.35.5"], kubectl=[])["V-242443"]["status"] == "pass"
    assert judged("v1.35.5-rc.1", floor=["v1.35.5"], kubectl=[])["V-242443"]["status"] == "fail"
    # a minor newer than the support data is not judged; one older than all of it is out of support
    assert judged("v1.99.0", kubectl=[])["V-242443"]["status"] == "manual"
    assert judged("v1.20.1", kubectl=[])["V-242443"]["status"] == "fail"
    # kubectl: more than one minor from the node's release breaks the skew policy; V-242396's own bar is v1.12.9
    old = [{"path": "/usr/bin/kubectl", "version": "v1.33.1"}]
    results = judged("v1.35.4", today="2026-05-01", kubectl=old)
    assert results["V-242443"]["status"] == "fail" and "skew" in results["V-242443"]["found"]
    assert results["V-242396"]["status"] == "pass" and "at or above v1.12.9" in results["V-242396"]["found"]
    assert judged("v1.35.4", kubectl=[{"path": "/usr/bin/kubectl", "version": "v1.12.8"}])["V-242396"]["status"] == "fail"
    assert judged("v1.35.4", kubectl=[{"path": "/usr/bin/kubectl", "version": "v1.12.9-rc.0"}])["V-242396"]["status"] == "fail"
    # every kubectl on the node is judged: a good one first hides no old one behind it
    both = [{"path": "/usr/local/bin/kubectl", "version": "v1.35.4"}, {"path": "/usr/bin/kubectl", "version": "v1.12.8"}]
    assert judged("v1.35.4", kubectl=both)["V-242396"]["status"] == "fail"
    # no kubectl on the node: nothing to judge it by passes; one that does not tell its version is not judged
    assert judged("v1.35.4", kubectl=[])["V-242396"]["status"] == "pass"
    silent = judged("v1.35.4", kubectl=[{"path": "/usr/bin/kubectl", "version": None, "said": "boom"}])
    assert silent["V-242396"]["status"] == "manual" and "boom" in silent["V-242396"]["found"]
    # a node whose release could not be read is not judged; nor one read from a file rather than a running process
    assert judged(None, kubectl=[])["V-242443"]["status"] == "manual"
    tag = judged("v1.35.4", kubectl=[], source="the kube-apiserver static pod's image tag (/etc/kubernetes/manifests/kube-apiserver.yaml)")
    assert tag["V-242443"]["status"] == "manual" and "not from a running process" in tag["V-242443"]["found"]


@pytest.mark.parametrize("ports, problem", [
    ({"kube-apiserver": ["1-65535"]}, "approves 65535 ports: a range may approve at most 4096"),
    ({"kube-apiserver": ["9-3"]}, "low end (9) is above its high end (3)"),
    ({"kube-apiserver": [True]}, "must be a port (1-65535)"),
    ({"kube-apiserver": [0]}, "must be a port (1-65535)"),
    ({"kube-apiserver": ["6443-70000"]}, "must be a port (1-65535)"),
    ({"kubelet": 10250}, "must be a list of ports"),
    ({"dashboard": [443]}, "has key 'dashboard'"),
    ([6443], "must be a mapping of component"),
])
def test_approved_ports_that_approve_nothing_meaningful_are_refused(ports, problem):
    from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
    with pytest.raises(hv.HardeningVarsError, match=re.escape(problem)):
        hv.validate({"kubeguard_approved_ports": ports})
    # a port written as text is a port; the NodePort range is one range
    assert hv.validate({"kubeguard_approved_ports": {"kube-apiserver": ["6443", "30000-32767"]}})["kubeguard_approved_ports"]


@pytest.mark.parametrize("floor, problem", [
    (["v1.35.4", "v1.35.5"], "names v1.35 twice"), (["1.35"], "must be a release such as v1.35.4"),
    ("v1.35.4", "must be a list of releases"), (["v1.35.4-rc.1"], "must be a release such as v1.35.4")])
def test_a_release_floor_names_one_release_per_minor(floor, problem):
    from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
    with pytest.raises(hv.HardeningVarsError, match=re.escape(problem)):
        hv.validate({"kubeguard_release_floor": floor})


def test_the_support_data_names_each_minor_as_text_with_a_real_date():
    """An unquoted 1.40 in YAML is the float 1.4: every key must be a minor written as text."""
    import datetime
    support = DATA["kubernetes_support"]
    assert support and all(isinstance(k, str) and re.fullmatch(r"1\.[0-9]{2,3}", k) for k in support)
    assert all(datetime.date.fromisoformat(str(v)) for v in support.values())
