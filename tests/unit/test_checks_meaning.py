"""Checks judge a value's meaning, not its presence (issue 23, item 2): a limit of 0 or -1 is unlimited, an
empty path turns the feature off, and an encryption config must really cover secrets. The audit (a node as it
is), never-weaker and the node plan (the node as a run would leave it) judge with the same checks, so each
meaning is proven on all of them; valid values still pass."""

from __future__ import annotations

import copy

import pytest
import yaml
from test_catalogue import control_index, flag_checks
from test_never_weaker import with_flag   # one copy of the state helper the never-weaker tests use

from ansible_collections.kubeguard.hardening.plugins.module_utils.base import api_resources
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue, checks
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import never_weaker


@pytest.fixture
def kubeadm_state(kubeadm_files):
    root, layout = kubeadm_files
    return layout, audit.observe(layout, str(root / "proc"))


def control(cid):
    return control_index(catalogue.controls())[cid]


def judged(state, cid):
    outcome = audit.judge_control(control(cid), state, file_reader=lambda *_ignored: [])
    return outcome.passed, outcome.found


def with_field(state, path, value):
    state = copy.deepcopy(state)
    node = state["kubelet_config"]
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return state


# --- the operators ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("found, passed", [
    (None, False), ("", False), ("  ", False), ("\t", False), ('""', False), ("''", False),
    ("/etc/kubernetes/pki/ca.crt", True), ("-", True), ("0", True)])
def test_nonempty_refuses_blank_values(found, passed):
    assert checks.compare("nonempty", found, None) is passed


@pytest.mark.parametrize("found, passed", [
    (None, False), ("0", False), ("-1", False), ("", False), ("  ", False), ("unlimited", False), ("nan", False),
    ("inf", False), ("0s", False), ("0m0s", False), ("-5m", False), ("4096", True), ("1", True), ("0.5", True),
    ("5m", True), ("4h0m0s", True), ("300ms", True), ("1h30m", True)])
def test_gt_zero_judges_numbers_and_durations(found, passed):
    assert checks.compare("gt", found, 0) is passed


def test_presence_alone_still_means_presence():
    """op: set is kept for other catalogues; ours no longer uses it (every such check was reviewed)."""
    assert checks.compare("set", "", None) and not checks.compare("set", None, None)
    leaves = [leaf for c in catalogue.controls() for leaf in flag_checks(c)]
    assert not [leaf for leaf in leaves if leaf.get("op") == "set"]


# --- every check that only asked for presence: a blank value fails it, a real one passes ----------------

def _nonempty_leaves():
    for c in catalogue.controls():
        for leaf in checks.leaves(c.get("check") or {}):
            if leaf.get("op") == "nonempty":
                yield str(c["id"]), c["component"], leaf


NONEMPTY = list(_nonempty_leaves())


def test_every_former_presence_check_is_reviewed():
    ids = {cid for cid, _component, _leaf in NONEMPTY}
    assert ids >= {"1.2.1", "1.2.4", "1.2.5", "1.2.16", "1.2.22", "1.2.23", "1.2.24", "1.2.25", "1.2.26", "1.2.27",
                   "1.3.4", "1.3.5", "2.1", "2.4", "2.7", "3.2.1", "4.2.3", "4.2.9"}
    for cid, op in (("1.3.1", "gt"), ("4.2.13", "gt"), ("4.2.5", "gt")):
        assert [leaf["op"] for leaf in flag_checks(control(cid))] == [op]


@pytest.mark.parametrize("cid, component, leaf", NONEMPTY, ids=[f"{c}-{leaf['flag']}" for c, _x, leaf in NONEMPTY])
@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_path_fails_what_presence_passed(cid, component, leaf, blank):
    view = {"flags": {leaf["flag"]: blank}, "config": {}}
    assert checks.evaluate(leaf, view).passed is False
    assert checks.evaluate({**leaf, "op": "set"}, view).passed is True          # what the catalogue said before
    assert checks.evaluate(leaf, {"flags": {leaf["flag"]: "/etc/kubernetes/pki/x.crt"}, "config": {}}).passed is True


def test_kubelet_client_ca_file_empty_fails_4_2_3(kubeadm_state):
    _layout, state = kubeadm_state
    assert judged(state, "4.2.3")[0] is True                         # kubeadm's /etc/kubernetes/pki/ca.crt
    for blank in ("", "  "):
        passed, found = judged(with_field(state, "authentication.x509.clientCAFile", blank), "4.2.3")
        assert passed is False and "clientCAFile" in found
    # the flag wins over the config file, and --client-ca-file= is as empty
    assert judged(with_flag(state, "kubelet", "client-ca-file", ""), "4.2.3")[0] is False
    assert judged(with_flag(state, "kubelet", "client-ca-file", "/etc/kubernetes/pki/ca.crt"), "4.2.3")[0] is True


def test_apiserver_empty_client_ca_and_audit_log_path_fail(kubeadm_state):
    _layout, state = kubeadm_state
    assert judged(state, "1.2.25")[0] is True
    assert judged(with_flag(state, "kube-apiserver", "client-ca-file", ""), "1.2.25")[0] is False
    assert judged(with_flag(state, "kube-apiserver", "audit-log-path", ""), "1.2.16")[0] is False
    assert judged(with_flag(state, "kube-apiserver", "audit-log-path", "-"), "1.2.16")[0] is True    # standard output
    assert judged(with_flag(state, "kube-apiserver", "audit-log-path", "/var/log/audit.log"), "1.2.16")[0] is True


def test_empty_kubelet_serving_files_fail_4_2_9(kubeadm_state):
    """Empty tlsCertFile/tlsPrivateKeyFile: the kubelet serves a self-signed certificate of its own."""
    _layout, state = kubeadm_state
    state = with_field(with_field(state, "tlsCertFile", ""), "tlsPrivateKeyFile", "")
    assert judged(state, "4.2.9")[0] is False
    state = with_field(with_field(state, "tlsCertFile", "/var/lib/kubelet/pki/kubelet.crt"), "tlsPrivateKeyFile",
                       "/var/lib/kubelet/pki/kubelet.key")
    assert judged(state, "4.2.9")[0] is True
    assert judged(with_field(state, "serverTLSBootstrap", True), "4.2.9")[0] is True


# --- limits where 0 or -1 mean unlimited ----------------------------------------------------------------

@pytest.mark.parametrize("limit, passed", [(0, False), (-1, False), ("0", False), (4096, True), (1, True)])
def test_pod_pids_limit_0_or_minus_1_fails_4_2_13(kubeadm_state, limit, passed):
    _layout, state = kubeadm_state
    assert judged(with_field(state, "podPidsLimit", limit), "4.2.13")[0] is passed
    assert judged(with_flag(state, "kubelet", "pod-max-pids", str(limit)), "4.2.13")[0] is passed


@pytest.mark.parametrize("threshold, passed", [("0", False), ("-1", False), ("", False), ("12500", True), ("50", True)])
def test_terminated_pod_gc_threshold_off_fails_1_3_1(threshold, passed):
    assert checks.evaluate(control("1.3.1")["check"], {"flags": {"terminated-pod-gc-threshold": threshold}}).passed is passed


@pytest.mark.parametrize("timeout, passed", [("0", False), ("0s", False), ("0m0s", False), ("5m", True), ("4h0m0s", True)])
def test_streaming_idle_timeout_of_zero_in_any_spelling_fails_4_2_5(kubeadm_state, timeout, passed):
    _layout, state = kubeadm_state
    assert judged(with_field(state, "streamingConnectionIdleTimeout", timeout), "4.2.5")[0] is passed


def test_streaming_idle_timeout_unset_is_the_kubelets_4h_default(kubeadm_state):
    _layout, state = kubeadm_state
    state = copy.deepcopy(state)
    state["kubelet_config"].pop("streamingConnectionIdleTimeout", None)
    assert judged(state, "4.2.5")[0] is True


@pytest.mark.parametrize("qps, passed", [(0, True), (5, True), (50, True)])
def test_event_qps_0_stays_a_pass(kubeadm_state, qps, passed):
    """CIS 4.2.8's audit: 0 ensures all events are captured (kube-bench agrees)."""
    _layout, state = kubeadm_state
    assert judged(with_field(state, "eventRecordQPS", qps), "4.2.8")[0] is passed


def test_an_empty_cipher_list_is_go_defaults_not_a_strong_subset(kubeadm_state):
    _layout, state = kubeadm_state
    strong = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    assert judged(with_flag(state, "kube-apiserver", "tls-cipher-suites", ""), "1.2.29")[0] is False
    passed, found = judged(with_flag(state, "kube-apiserver", "tls-cipher-suites", strong), "1.2.29")
    assert passed is True and found == f"--tls-cipher-suites={strong}"          # said once, not per part
    assert judged(with_field(state, "tlsCipherSuites", []), "4.2.12")[0] is False
    assert judged(with_field(state, "tlsCipherSuites", strong.split(",")), "4.2.12")[0] is True


# --- the plan predicts the same failures ----------------------------------------------------------------

def _model(**variables):
    """Validated values with some set past validation (the plan must judge them even so)."""
    values = hv.validate({})
    values.update(variables)
    values["_given"] = sorted(set(values["_given"]) | set(variables))
    return values


@pytest.mark.parametrize("limit", [0, -1])
def test_plan_predicts_4_2_13_fail_for_an_unlimited_pids_limit(kubeadm_state, limit):
    layout, state = kubeadm_state
    state = with_field(state, "podPidsLimit", 4096)                      # the node limits PIDs now
    values = hv.validate({"kubelet_pod_pids_limit": limit}) if limit == 0 else _model(kubelet_pod_pids_limit=limit)
    result = never_weaker.plan(values, layout, state)
    after = never_weaker.overlay(state, "kubelet", result["settings"]["kubelet"], values)
    if limit == 0:       # written: 0 is unlimited, so the user's value weakens 4.2.13 and is waived naming it
        assert result["settings"]["kubelet"]["podPidsLimit"] == 0
        assert judged(after, "4.2.13")[0] is False
        assert "kubelet_pod_pids_limit=0" in result["waived"]["4.2.13"]
    else:                # -1 writes nothing: the node keeps its limit
        assert "podPidsLimit" not in result["settings"]["kubelet"] and judged(after, "4.2.13")[0] is True


def test_plan_predicts_4_2_3_fail_for_an_empty_client_ca_file(kubeadm_state):
    layout, state = kubeadm_state
    variables = {"kubelet_config_extra_args": {"authentication": {"x509": {"clientCAFile": ""}}},
                 "kubeguard_allow_override": {"kubelet.authentication.x509.clientCAFile": "testing the plan"}}
    values = hv.validate(variables)
    result = never_weaker.plan(values, layout, state)
    after = never_weaker.overlay(state, "kubelet", result["settings"]["kubelet"], values)
    assert judged(after, "4.2.3")[0] is False
    assert "kubelet_config_extra_args=" in result["waived"]["4.2.3"]


# --- encryption: the config must cover secrets ----------------------------------------------------------

def _config(*entries):
    return {"kind": "EncryptionConfiguration",
            "resources": [{"resources": names, "providers": [{p: {}} for p in providers]} for names, providers in entries]}


@pytest.mark.parametrize("names, providers", [
    (["secrets"], ["secretbox", "identity"]), (["secrets."], ["secretbox", "identity"]),
    (["*."], ["secretbox", "identity"]), (["*.*"], ["secretbox", "identity"]),
    (["configmaps", "secrets"], ["secretbox", "identity"]),
    (["secret"], []), (["Secrets"], []), (["secrets.apps"], []), (["*.apps"], []), (["configmaps"], []), ([], [])])
def test_which_resource_names_cover_secrets(names, providers):
    assert checks.encryption_providers_for(_config((names, ["secretbox", "identity"]))) == providers
    assert checks.covers(names) is bool(providers)


def test_the_apiserver_lookup_order_exact_then_group_wildcard_then_all():
    config = _config((["*.*"], ["aescbc"]), (["secrets"], ["secretbox", "identity"]), (["secrets"], ["aesgcm"]))
    assert checks.encryption_providers_for(config) == ["secretbox", "identity", "aesgcm"]
    assert checks.encryption_providers_for(_config((["configmaps"], ["aescbc"]), (["*.*"], ["identity"]))) == ["identity"]


@pytest.mark.parametrize("config", [None, [], "text", {"resources": "secrets"}, {"resources": [None, "x", {"resources": "secrets"}]},
                                    {"resources": [{"resources": [None, 3], "providers": [None, "aescbc", {}]}]}])
def test_a_malformed_encryption_config_covers_nothing_and_never_raises(config):
    assert checks.encryption_providers_for(config) == []


def _write_config(root, config):
    path = root / "encryption.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.mark.parametrize("names, passed", [(["secret"], False), (["Secrets"], False), (["configmaps"], False),
                                           (["secrets"], True), (["*."], True), (["*.*"], True)])
def test_audit_judges_1_2_28_on_what_the_config_covers(kubeadm_files, names, passed):
    root, layout = kubeadm_files
    state = audit.observe(layout, str(root / "proc"))
    path = _write_config(root, _config((names, ["secretbox", "identity"])))
    state = with_flag(state, "kube-apiserver", "encryption-provider-config", path)
    config = audit._encryption_config(path)          # as observe reads the file --encryption-provider-config names
    state["encryption_providers"], state["encryption_resources"] = audit._encryption_providers(config), audit._encryption_resources(config)
    outcome = audit.judge_control(control("1.2.28"), state)
    assert outcome.passed is passed
    if not passed:
        assert f"covers {', '.join(names)}, not secrets" in outcome.found


def test_observe_reads_the_providers_that_cover_secrets(kubeadm_files):
    root, layout = kubeadm_files
    path = _write_config(root, _config((["secret"], ["aescbc"]), (["*."], ["secretbox", "identity"])))
    manifest = root / "etc" / "manifests" / "kube-apiserver.yaml"
    doc = yaml.safe_load(manifest.read_text())
    doc["spec"]["containers"][0]["command"].append(f"--encryption-provider-config={path}")
    manifest.write_text(yaml.safe_dump(doc))
    state = audit.observe(layout, str(root / "proc"))
    assert state["encryption_providers"] == ["secretbox", "identity"]
    assert state["encryption_resources"] == ["secret", "*."]
    (root / "encryption.yaml").write_text("- not: a config\n")        # a YAML list: no providers, no error
    assert audit.observe(layout, str(root / "proc"))["encryption_providers"] == []


@pytest.mark.parametrize("names, passed", [(["secret"], False), (["Secrets"], False), (["configmaps"], False),
                                           (["secrets"], True), (["secrets", "configmaps"], True)])
def test_plan_predicts_1_2_28_from_the_resources_it_would_write(kubeadm_state, names, passed):
    layout, state = kubeadm_state
    values = _model(kube_encrypt_secret_data=True, kube_encryption_resources=names)
    result = never_weaker.plan(values, layout, state)
    after = never_weaker.overlay(state, "kube-apiserver", result["settings"]["kube-apiserver"], values)
    assert judged(after, "1.2.28")[0] is passed


def test_a_user_list_that_drops_secrets_is_waived_naming_it(kubeadm_state):
    layout, state = kubeadm_state
    state = with_flag(state, "kube-apiserver", "encryption-provider-config", "/etc/kubernetes/ssl/secrets_encryption.yaml")
    state["encryption_providers"], state["encryption_resources"] = ["secretbox", "identity"], ["secrets"]
    values = hv.validate({"kube_encrypt_secret_data": True, "kube_encryption_resources": ["configmaps"]})
    result = never_weaker.plan(values, layout, state)
    assert "kube_encryption_resources=['configmaps']" in result["waived"]["1.2.28"]


# --- the variable: only resource names kube-apiserver matches ---------------------------------------------

@pytest.mark.parametrize("names, says", [
    (["secret"], "'secret' is singular"), (["Secrets"], "'Secrets' has capital letters"),
    (["Secret"], "use 'secrets'"), (["foo"], "'foo' is not a resource of the core group in v1.34"),
    (["deployment.apps"], "use 'deployments.apps'"), (["secrets.apps"], "not a resource of the apps group"),
    (["*."], "wildcard"), (["*.*"], "wildcard"), (["secrets."], "ends in a dot"),
    (["events.events.k8s.io"], "use 'events'"), (["serviceipallocations"], "no REST API"),
    (["Foos.example.com"], "not a resource name"), (["secrets", "secrets"], "given more than once"),
    (["podsecuritypolicies.policy"], "not a resource of the policy group in v1.34")])
def test_resource_names_that_are_no_resource_are_refused(names, says):
    with pytest.raises(hv.HardeningVarsError) as error:
        hv.validate({"kube_encrypt_secret_data": True, "kube_encryption_resources": names})
    message = next(p for p in error.value.problems if p.startswith("kube_encryption_resources:"))
    assert says in message and repr(names) in message and "allowed: resource names as kube-apiserver v1.34.4" in message


@pytest.mark.parametrize("names", [["secrets"], ["secrets", "configmaps"], ["deployments.apps", "secrets"],
                                   ["foos.example.com", "secrets"], ["leases.coordination.k8s.io"], ["events"]])
def test_real_resource_names_are_accepted(names):
    assert hv.validate({"kube_encrypt_secret_data": True, "kube_encryption_resources": names})["kube_encryption_resources"] == names


def test_resource_names_are_judged_at_the_clusters_version():
    mutating = "mutatingadmissionpolicies.admissionregistration.k8s.io"
    assert hv.validate({"kube_version": "v1.32.0", "kube_encryption_resources": [mutating]})
    with pytest.raises(hv.HardeningVarsError, match="not a resource of the admissionregistration.k8s.io group in v1.31"):
        hv.validate({"kube_version": "v1.31.2", "kube_encryption_resources": [mutating]})
    assert hv.validate({"kube_version": "1.24.6", "kube_encryption_resources": ["podsecuritypolicies.policy"]})
    assert api_resources.served("", "secrets", 20) and not api_resources.served("policy", "podsecuritypolicies", 25)
