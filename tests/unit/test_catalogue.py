"""The catalogue is one consistent source: settings only use modelled variables and known controls,
every variable has an effect, and the controls a setting claims pass on what that setting writes."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue, checks
from ansible_collections.kubeguard.hardening.plugins.module_utils.platform import component_registry
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.manifest import edit_manifest, parse_flags
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.kubelet_config import merge_fields


def flag_checks(control):
    """The leaf flag/kubelet checks of a control."""
    return [leaf for leaf in checks.leaves(control.get("check") or {}) if "flag" in leaf or "kubelet" in leaf]


def control_index(controls):
    return {str(c["id"]): c for c in controls}


FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
KUBEADM = catalogue.layout_for("kubeadm")
MANIFESTS = {"kube-apiserver": "kube-apiserver.yaml", "kube-controller-manager": "kube-controller-manager.yaml",
             "kube-scheduler": "kube-scheduler.yaml", "etcd": "etcd.yaml"}


def test_catalogue_shape():
    controls = catalogue.controls()
    ids = [str(c["id"]) for c in controls]
    assert len(ids) == len(set(ids)) >= 120
    for control in controls:
        assert {"id", "title", "component", "level", "automated", "remediation"} <= set(control)
        if "check" in control:
            for leaf in flag_checks(control):
                assert leaf["op"] in ("eq", "noteq", "has", "nothave", "gte", "gt", "nonempty", "unset", "valid_elements", "loopback")


def test_settings_reference_known_variables_and_controls():
    ids = {str(c["id"]) for c in catalogue.controls()}
    for setting in catalogue.settings():
        assert set(setting.variables) <= set(hv.VARIABLES_BY_NAME), setting
        assert set(setting.controls) <= ids, setting
        assert setting.component in component_registry.WRITTEN


# A valid non-default value for each variable; the test proves it changes what we compute.
ALTERNATIVES = {
    "authorization_modes": ["RBAC", "Node"], "kube_api_anonymous_auth": False,
    "kube_apiserver_feature_gates": ["APIServerIdentity=false"], "kube_apiserver_request_timeout": "120s",
    "kube_apiserver_service_account_lookup": False, "kube_profiling": True,
    "kube_kubeadm_apiserver_extra_args": {"event-ttl": "1h"}, "kubernetes_audit": True,
    "audit_log_path": "/var/log/k.json", "audit_log_maxage": 31, "audit_log_maxbackups": 11, "audit_log_maxsize": 101,
    "audit_policy_file": "/etc/kubernetes/p/policy.yaml", "audit_policy_custom_rules": [{"level": "Metadata"}],
    "tls_min_version": "VersionTLS13", "tls_cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    "kube_encrypt_secret_data": True, "kube_encryption_resources": ["secrets", "configmaps"],
    "kube_encryption_algorithm": "aescbc",
    "kube_apiserver_enable_admission_plugins": ["NodeRestriction", "AlwaysPullImages"],
    "kube_apiserver_disable_admission_plugins": ["DefaultStorageClass"],
    "kube_apiserver_admission_control_config_file": True,
    "kube_apiserver_admission_plugins_needs_configuration": ["EventRateLimit"],
    "kube_apiserver_admission_event_rate_limits": {"l": {"type": "Server", "qps": 9, "burst": 9}},
    "kube_apiserver_admission_plugins_podnodeselector_default_node_selector": "os=linux",
    "kube_pod_security_use_default": True, "kube_pod_security_default_enforce": "restricted",
    "kube_pod_security_default_enforce_version": "v1.33", "kube_pod_security_default_audit": "baseline",
    "kube_pod_security_default_audit_version": "v1.33", "kube_pod_security_default_warn": "baseline",
    "kube_pod_security_default_warn_version": "v1.33", "kube_pod_security_exemptions_usernames": ["ci"],
    "kube_pod_security_exemptions_runtime_class_names": ["kata"], "kube_pod_security_exemptions_namespaces": ["kube-system", "x"],
    "kube_controller_manager_bind_address": "10.0.0.5", "kube_controller_terminated_pod_gc_threshold": 50,
    "kube_apiserver_service_account_extend_token_expiration": False,
    "kube_controller_feature_gates": ["RotateKubeletServerCertificate=true"],
    "kube_kubeadm_controller_extra_args": {"node-monitor-period": "5s"}, "kube_scheduler_bind_address": "10.0.0.5",
    "kube_scheduler_feature_gates": ["SchedulerAsyncAPICalls=false"], "kube_kubeadm_scheduler_extra_args": {"v": "2"},
    "etcd_extra_vars": {"listen-metrics-urls": "http://0.0.0.0:2381"}, "etcd_auto_tls_explicit": True,
    "kubelet_authentication_token_webhook": False, "kubelet_authorization_mode_webhook": False,
    "kube_read_only_port": 10255, "kubelet_rotate_server_certificates": True, "kubelet_protect_kernel_defaults": False,
    "kubelet_event_record_qps": 1, "kubelet_rotate_certificates": False, "kubelet_streaming_connection_idle_timeout": "5m",
    "kubelet_make_iptables_util_chains": False, "kubelet_feature_gates": ["RotateKubeletServerCertificate=true"],
    "kubelet_seccomp_default": True, "kubelet_pod_pids_limit": 4096, "kubelet_config_extra_args": {"maxPods": 50}, "kubelet_secure_addresses": "192.168.10.110",
    "kube_pods_subnet": "10.244.0.0/16", "kube_config_dir": "/srv/kubernetes", "kube_version": "v1.28.6",
    "kube_pods_subnet_ipv6": "fd85:ee78:d8a6:8607::1:0000/112", "kube_pods_subnets": "10.244.0.0/16,fd00::/64",
    "kube_feature_gates": ["ContextualLogging=false"],
    "kube_resource_quota_limited_resources": [{"apiGroup": "", "resource": "persistentvolumeclaims",
                                               "matchContains": [".storageclass.storage.k8s.io/requests.storage"]}],
}
# Variables that act through a role task rather than computed settings (tested with the roles).
ROLE_LEVEL = {"remove_anonymous_access", "kubelet_systemd_hardening", "etcd_deployment_type", "etcd_data_dir",
              "kube_owner", "kube_cert_group",
              "kubeguard_allow_override", "kubeguard_strict_variables",   # tested in test_hardening_vars and test_never_weaker
              "kubeguard_profile",   # tested in test_profiles
              "kubeguard_benchmark",   # tested in test_benchmarks
              "kubeguard_approved_ports", "kubeguard_release_floor",   # judged, never applied: test_stig
              "kubeguard_stale_image_days",   # judged, never applied: test_stale_images
              "kubeguard_backup_set", "kubeguard_backup_root",   # test_backup_sets, the faults scenario
              # where the roles write their own files: the write policy (test_backup_sets), every scenario
              *[v.name for v in hv.VARIABLES if v.component == "files" and v.name in hv.PATH_KINDS],
              # the policy role's: module arguments (test_cluster_policy, integration test_cluster_policy_module, live)
              *[v.name for v in hv.VARIABLES if v.component == "policy"],
              "kubeguard_metrics_allowed_sources",   # test_metrics_firewall and the live scenario
              # verified, never applied: test_integrity and the default scenario's tampered binary
              *[v.name for v in hv.VARIABLES if v.component == "integrity"],
              # the node_audit role's rules file: test_node_audit, test_audit_rules_syntax and every scenario
              *[v.name for v in hv.VARIABLES if v.component == "node_audit"],
              # the container_runtime role's: test_containerd, the live scenario (pods survive) and the faults scenario
              *[v.name for v in hv.VARIABLES if v.component == "runtime"],
              # the kube_proxy role's module argument: test_kube_proxy (writer, audit, waiver) and the live scenario
              "kube_proxy_metrics_bind_address"}
# Variables whose effect shows only together with another one.
PREREQUISITES = {
    "kube_apiserver_admission_plugins_needs_configuration": {"kube_apiserver_admission_control_config_file": True,
                                                             "kube_apiserver_enable_admission_plugins": ["EventRateLimit", "PodNodeSelector"],
                                                             "kube_apiserver_admission_event_rate_limits": {"l": {"type": "Server", "qps": 1, "burst": 1}}},
    "kube_apiserver_admission_event_rate_limits": {"kube_apiserver_admission_control_config_file": True,
                                                   "kube_apiserver_enable_admission_plugins": ["EventRateLimit"],
                                                   "kube_apiserver_admission_event_rate_limits": {"l": {"type": "User", "qps": 1, "burst": 1}}},
    "kube_apiserver_admission_plugins_podnodeselector_default_node_selector": {
        "kube_apiserver_admission_control_config_file": True, "kube_apiserver_enable_admission_plugins": ["PodNodeSelector"]},
    "kube_apiserver_admission_control_config_file": {"kube_apiserver_enable_admission_plugins": ["PodNodeSelector"]},
    "kube_resource_quota_limited_resources": {"kube_apiserver_admission_control_config_file": True,
                                              "kube_apiserver_enable_admission_plugins": ["ResourceQuota"]},
}
for _name in ("audit_log_path", "audit_log_maxage", "audit_log_maxbackups", "audit_log_maxsize", "audit_policy_file",
              "audit_policy_custom_rules"):
    PREREQUISITES[_name] = {"kubernetes_audit": True}
for _name in [n for n in ALTERNATIVES if n.startswith("kube_pod_security_") and n != "kube_pod_security_use_default"]:
    PREREQUISITES[_name] = {"kube_pod_security_use_default": True}
PREREQUISITES["kube_config_dir"] = {"kube_pod_security_use_default": True}
PREREQUISITES["kube_version"] = {"kubelet_feature_gates": ["SeccompDefault=true"]}
for _name in ("kube_encryption_resources", "kube_encryption_algorithm"):
    PREREQUISITES[_name] = {"kube_encrypt_secret_data": True}


def everything_computed(values):
    layout = catalogue.layout_for("kubeadm", values["kube_config_dir"])
    return {
        "flags": {c: desired.component_flags(values, layout, c) for c in desired.FLAG_COMPONENTS},
        "kubelet": desired.kubelet_fields(values, layout),
        "files": desired.apiserver_files(values, layout),
        "mounts": desired.apiserver_host_paths(values, layout),
        "secure": desired.kubelet_secure_addresses(values, ["10.0.0.1"], ["10.0.0.9"]),
        "encryption": catalogue.hardening_paths(values, layout)["encryption_config"] if values["kube_encrypt_secret_data"] else None,
        "encryption_config": desired.encryption_config(None, values["kube_encryption_algorithm"],
                                                       values["kube_encryption_resources"], lambda n: b"k" * n),
    }


def test_every_variable_is_covered_by_this_test():
    assert set(hv.VARIABLES_BY_NAME) == set(ALTERNATIVES) | ROLE_LEVEL


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_every_variable_has_an_effect(name):
    base = dict(PREREQUISITES.get(name, {}))
    before = everything_computed(hv.validate(base))
    after = everything_computed(hv.validate(dict(base, **{name: ALTERNATIVES[name]})))
    assert before != after, f"{name} changes nothing"


# What kubeadm writes at each release the collection has component data for: the pinned one's in tests/fixtures,
# the others' in tests/fixtures/releases/<release> (testbed/make-fixtures.sh with KG_KUBE_VERSION)
RELEASE_FIXTURES = {None: FIXTURES, **{name: os.path.join(FIXTURES, "releases", name)
                                       for name in sorted(os.listdir(os.path.join(FIXTURES, "releases")))}}


with open(os.path.join(os.path.dirname(FIXTURES), "..", "testbed", "versions.env"), encoding="utf-8") as _handle:
    PINNED_RELEASE = next(line.split("=", 1)[1].split("#")[0].strip() for line in _handle if line.startswith("KUBE_VERSION="))


def test_every_release_with_component_data_has_kubeadms_fixtures():
    from ansible_collections.kubeguard.hardening.plugins.module_utils.platform import component_data
    pinned = component_data.known_minors()[0]
    have = sorted(int(name.split(".")[1]) for name in RELEASE_FIXTURES if name)
    assert have == [m for m in component_data.known_minors() if m != pinned]
    for name, root in RELEASE_FIXTURES.items():
        with open(os.path.join(root, "kubeadm", "etc-kubernetes", "manifests", "kube-apiserver.yaml"), encoding="utf-8") as handle:
            image = yaml.safe_load(handle)["spec"]["containers"][0]["image"]
        assert image.endswith(":" + (name or PINNED_RELEASE)), (name, image)


def _load(name, root=FIXTURES):
    with open(os.path.join(root, "kubeadm", "etc-kubernetes", "manifests", name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("release", list(RELEASE_FIXTURES))
def test_controls_claimed_by_settings_pass_after_apply(seed_vars, release):
    """Apply and verify read the same catalogue: after applying the seed, the controls its settings
    relate to pass, except where the seed itself chose otherwise - on what kubeadm writes at each release."""
    root = RELEASE_FIXTURES[release]
    values = hv.validate(dict(seed_vars, **({"kube_version": release} if release else {})))
    context = catalogue.expression_context(values, KUBEADM)
    index = control_index(catalogue.controls())
    state = {}
    for component, manifest in MANIFESTS.items():
        pod, _ignored = edit_manifest(_load(manifest, root), desired.component_flags(values, KUBEADM, component))
        state[component] = {"flags": parse_flags(pod["spec"]["containers"][0]["command"])}
    encryption = desired.encryption_config(None, values["kube_encryption_algorithm"], values["kube_encryption_resources"])
    state["kube-apiserver"]["encryption_providers"] = [next(iter(p)) for p in encryption["resources"][0]["providers"]]
    with open(os.path.join(root, "kubeadm", "var-lib-kubelet", "config.yaml"), encoding="utf-8") as handle:
        kubelet_config, _ignored = merge_fields(yaml.safe_load(handle), desired.kubelet_fields(values, KUBEADM))
    state["kubelet"] = {"flags": {}, "config": kubelet_config}
    checked, failing = 0, set()
    for setting in catalogue.settings():
        if setting.when is not None and not catalogue.evaluate(setting.when, context):
            continue  # not applied with these variables
        for control_id in setting.controls:
            control = index[control_id]
            if "check" not in control or control["component"] not in state:
                continue
            outcome = checks.evaluate(audit.rendered_check(control, context), state[control["component"]])
            if not outcome.passed:
                failing.add(control_id)
            checked += 1
    assert checked >= 30
    # The seed's plugin list lacks DenyServiceExternalIPs (CIS 1.2.3, a Manual control); all else passes.
    assert failing == {"1.2.3"}


@pytest.mark.parametrize("release", list(RELEASE_FIXTURES))
def test_unhardened_kubeadm_fails_the_controls_hardening_fixes(seed_vars, release):
    context = catalogue.expression_context(hv.validate(seed_vars), KUBEADM)
    index = control_index(catalogue.controls())
    flags = parse_flags(_load("kube-apiserver.yaml", RELEASE_FIXTURES[release])["spec"]["containers"][0]["command"])
    failing = [cid for cid in ("1.2.9", "1.2.11", "1.2.15", "1.2.16", "1.2.27")
               if not checks.evaluate(audit.rendered_check({"check": index[cid]["check"]}, context), {"flags": flags}).passed]
    assert failing == ["1.2.9", "1.2.11", "1.2.15", "1.2.16", "1.2.27"]


@pytest.mark.parametrize("op,found,expected,result", [
    ("eq", "false", False, True), ("eq", "true", "false", False), ("noteq", "0", "0", False),
    ("has", "Node,RBAC", "RBAC", True), ("has", "Node", "RBAC", False), ("nothave", "Node,RBAC", "AlwaysAllow", True),
    ("gte", "30", 30, True), ("gte", "29", 30, False), ("gte", "abc", 30, False), ("set", None, None, False),
    ("unset", None, None, True), ("valid_elements", "A,B", ["A", "B", "C"], True), ("valid_elements", "A,D", "A,B", False),
    ("eq", None, "x", False),
])
def test_compare_ops(op, found, expected, result):
    assert checks.compare(op, found, expected) is result


def test_kubelet_flag_wins_over_config():
    check = {"kubelet": "readOnlyPort", "flag": "read-only-port", "op": "eq", "value": "0", "default": "0"}
    assert checks.evaluate(check, {"flags": {}, "config": {"readOnlyPort": 0}}).passed
    assert not checks.evaluate(check, {"flags": {"read-only-port": "10255"}, "config": {"readOnlyPort": 0}}).passed
    assert checks.evaluate(check, {"flags": {}, "config": {}}).passed  # kubelet default for config files is 0


def _roles():
    return sorted(name for name in os.listdir(os.path.join(os.path.dirname(FIXTURES), "..", "roles")))


def _collection_settings():
    """kubeguard_* settings the roles define (roles/*/defaults/main.yml)."""
    names = set()
    roles_dir = os.path.join(os.path.dirname(FIXTURES), "..", "roles")
    for role in os.listdir(roles_dir):
        path = os.path.join(roles_dir, role, "defaults", "main.yml")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                names.update((yaml.safe_load(handle) or {}).keys())
    return names


def test_remediation_names_only_real_variables_and_roles():
    """Every snake_case name in a remediation text is a hardening variable, a role or a collection setting."""
    import re
    known = set(hv.VARIABLES_BY_NAME) | set(_roles()) | _collection_settings()
    unknown = {}
    for control in catalogue.controls():
        for name in re.findall(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", str(control.get("remediation") or "")):
            if name not in known:
                unknown.setdefault(name, []).append(str(control["id"]))
    assert not unknown, f"remediation names that are no variable, role or setting: {unknown}"


def test_settings_list_every_control_they_decide_and_only_those():
    """Both ways: a control whose check reads a setting's flag or field is listed by that setting; a
    control a setting lists reads its key, or its remediation names one of the setting's variables."""
    def reads_key(control, key):
        """A leaf reads the key, a parent of it or a child of it (authentication -> authentication.anonymous.enabled);
        the encryption check reads the file --encryption-provider-config names. (The catalogue's own consistency:
        never-weaker does not use such a list, it judges the node with and without each key.)"""
        reads = ["encryption-provider-config" if "encryption_providers" in leaf else leaf[name]
                 for leaf in checks.leaves(control.get("check") or {}) for name in ("kubelet", "flag", "encryption_providers")
                 if name in leaf]
        return any(read == key or read.startswith(key + ".") or key.startswith(read + ".") for read in reads)

    controls = {str(c["id"]): c for c in catalogue.controls()}
    problems = []
    for setting in catalogue.settings():
        reading = {cid for cid, c in controls.items() if c["component"] == setting.component and reads_key(c, setting.key)}
        for cid in sorted(reading - set(setting.controls)):
            problems.append(f"{setting.component} {setting.key} does not list {cid}, whose check reads it")
        for cid in sorted(set(setting.controls) - reading):
            control = controls[cid]
            named = any(v in str(control.get("remediation")) for v in setting.variables)
            if not named:
                problems.append(f"{setting.component} {setting.key} lists {cid}, which neither reads it nor names its variables")
    assert not problems, "\n".join(problems)


def test_every_file_control_names_the_role_that_changes_it():
    for control in catalogue.controls():
        if control["component"] == "files":
            assert control.get("applied_by") in _roles(), control["id"]


def test_role_readmes_separate_changed_from_verified_controls():
    with open(os.path.join(os.path.dirname(FIXTURES), "..", "roles", "kubelet", "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    changes, _ignored, verifies = text.partition("## Controls of its components it only verifies")
    assert "| 4.2.1 |" in changes and "| 4.2.3 |" in verifies and "| 4.2.3 |" not in changes
    assert "| 4.2.14 |" in changes      # seccompDefault remediates it


@pytest.mark.parametrize("algorithm", hv.ENCRYPTION_ALGORITHMS)
def test_every_encryption_algorithm_apply_accepts_passes_1_2_28(algorithm):
    config = desired.encryption_config(None, algorithm, ["secrets"], lambda n: b"k" * n)
    providers = [next(iter(p)) for p in config["resources"][0]["providers"]]
    control = control_index(catalogue.controls())["1.2.28"]
    check = audit.rendered_check(control, {"layout": KUBEADM.as_dict(), "etcd_data_dir": "/var/lib/etcd"})
    assert checks.evaluate(check, {"encryption_providers": providers}).passed
    assert not checks.evaluate(check, {"encryption_providers": ["identity", algorithm]}).passed


def test_every_setting_is_verified_or_says_why_not():
    """A setting with no control must carry a written reason (unverified); one with controls must not."""
    raw = catalogue.load()["settings"]
    missing = [f"{s['component']} {s.get('flag') or s.get('field')}" for s in raw if not s.get("controls") and not s.get("unverified")]
    both = [f"{s['component']} {s.get('flag') or s.get('field')}" for s in raw if s.get("controls") and s.get("unverified")]
    assert missing == [] and both == []
    assert all(len(str(s["unverified"])) > 30 for s in raw if s.get("unverified"))


def test_platforms_are_data(tmp_path):
    """Detection and paths come from platforms/*.yml; a new platform is one more entry, no code."""
    platforms = catalogue.load_platforms()
    assert set(platforms) >= {"kubeadm", "kubespray", "k3s"}
    (tmp_path / "kubelet-config.yaml").write_text("kind: KubeletConfiguration\n")
    assert catalogue.detect_layout(str(tmp_path)) == "kubespray"
    assert catalogue.detect_layout(str(tmp_path / "empty")) == "kubeadm"
    # kubespray inherits kubeadm's permission targets; k3s has its own
    assert platforms["kubespray"]["file_modes"] == platforms["kubeadm"]["file_modes"]
    assert catalogue.layout_for("k3s").file_modes != catalogue.layout_for("kubeadm").file_modes
    rke2 = {"name": "rke2", "detect": {"file_exists": str(tmp_path / "rke2")},
            "layout": dict(platforms["kubeadm"]["layout"], pki_dir="/var/lib/rancher/rke2/server/tls")}
    extra = dict(platforms, rke2=rke2)
    assert catalogue.detect_layout(str(tmp_path / "empty"), extra) == "kubeadm"
    (tmp_path / "rke2").mkdir()
    assert catalogue.detect_layout(str(tmp_path / "empty"), extra) == "rke2"
    assert catalogue.layout_for("rke2", "/etc/kubernetes", extra).pki_dir == "/var/lib/rancher/rke2/server/tls"
    assert catalogue.layout_for("kubespray", "/srv/k8s").kubelet_env == "/srv/k8s/kubelet.env"
    with pytest.raises(ValueError, match="must be one of: k3s, kubeadm, kubespray"):
        catalogue.layout_for("rke2")
    with pytest.raises(ValueError, match="detect: default"):
        catalogue.detect_layout("/nonexistent", {"x": {"name": "x", "detect": {"file_exists": "/nonexistent/y"}, "layout": {}}})


def test_kubelet_flag_table_covers_every_kubelet_setting_and_agrees_with_the_checks():
    """k3s writes kubelet fields as flags: the table must know each field we set, and say the same
    flag the controls' checks read for that field."""
    table = catalogue.load()["kubelet_flags"]
    assert [s.key for s in catalogue.settings() if s.is_field and s.key not in table] == []
    pairs = {(leaf["kubelet"].split(".featureGates")[0], leaf["flag"])
             for control in catalogue.controls() if control.get("component") == "kubelet"
             for leaf in checks.leaves(control.get("check") or {}) if "kubelet" in leaf and "flag" in leaf}
    disagree = [(field, flag) for field, flag in pairs if field in table and table[field] != flag]
    assert disagree == [] and len(pairs) > 10


def test_platform_skips_name_real_settings():
    """A platform's skip list names settings of the catalogue (a typo would silently write them)."""
    keys = {f"{s.component}.{s.key}" for s in catalogue.settings()}
    for name, data in catalogue.load_platforms().items():
        assert set(data.get("skip") or {}) <= keys, name
        for setting in (data.get("components") or {}).get("top_level") or {}:
            assert setting in keys, (name, setting)


def _jinja(expression, context):
    from jinja2.nativetypes import NativeEnvironment
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import expressions
    env = NativeEnvironment()
    env.filters.update({"kbool": expressions.FILTERS["kbool"], "feature_gate_map": expressions.FILTERS["feature_gate_map"]})
    return env.compile_expression(expression, undefined_to_none=False)(**context)


@pytest.mark.parametrize("variables", ["defaults", "seed", "alternatives"])
def test_one_expression_language_means_what_jinja_means(variables, seed_vars):
    """The catalogue's expressions (module_utils/catalogue/expressions.py, no Jinja on nodes) give what the
    same text gives in Jinja, for every setting and condition, with three sets of variables."""
    chosen = {"defaults": {}, "seed": seed_vars, "alternatives": dict(ALTERNATIVES, kube_version="v1.34.4")}[variables]
    values = hv.validate(chosen)
    context = catalogue.expression_context(values, KUBEADM)
    for setting in catalogue.settings():
        for expression in filter(None, (setting.value, setting.when)):
            assert catalogue.evaluate(expression, context) == _jinja(expression, context), expression


@pytest.mark.parametrize("expression, message", [
    ("__import__('os')", "Call"), ("kube_profiling.__class__", "no '__class__'"), ("x | shell", "unknown filter"),
    ("unknown_name", "unknown name"), ("kube_profiling[0]", "Subscript"), ("lambda: 1", "Lambda"), ("a b", "expression"),
])
def test_expression_language_refuses_anything_else(expression, message):
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import expressions
    with pytest.raises(expressions.ExpressionError, match=message):
        expressions.evaluate(expression, {"kube_profiling": False, "x": 1})


@pytest.mark.parametrize("platform", sorted(catalogue.load_platforms()))
def test_every_file_control_is_a_permission_target_of_every_platform(platform):
    """A file control file_permissions applies (applied_by) must be covered, on every platform, by a
    permission target (platform data file_modes) at least as strict: mode no looser, same owner.
    The two are kept as data in two places (CIS' wording, the platform's paths); this holds them together."""
    import fnmatch
    from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_operations
    layout = catalogue.layout_for(platform)
    values = hv.validate({})
    paths = catalogue.node_paths(values, layout)
    targets = node_operations.file_mode_entries(paths, "root", "root", layout)
    state = {"layout": layout.as_dict(), "etcd_data_dir": values["etcd_data_dir"]}
    uncovered = []
    for control in catalogue.controls():
        if control.get("applied_by") != "file_permissions":
            continue
        check = audit.rendered_check(control, state)
        for leaf in checks.leaves(check):
            files = leaf["file"] if isinstance(leaf["file"], list) else [leaf["file"]]
            for pattern in files:
                def covers(target):
                    inside = target.get("recurse") and pattern.startswith(target["path"].rstrip("/") + "/")
                    same = fnmatch.fnmatch(pattern, target["path"]) or pattern == target["path"] or inside
                    if not same and not (target.get("recurse") and pattern == target["path"]):
                        return False
                    mode_ok = "mode" not in leaf or not (int(str(target["mode"]), 8) & ~int(str(leaf["mode"]), 8))
                    owner_ok = "owner" not in leaf or f"{target.get('owner')}:{target.get('group')}" == leaf["owner"]
                    return mode_ok and owner_ok
                if not any(covers(t) for t in targets):
                    uncovered.append(f"{control['id']} {pattern}")
    assert uncovered == [], "\n".join(uncovered)
