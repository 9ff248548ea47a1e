"""Encryption at rest keeps the node's key, and the kubelet firewall list always keeps the safe base."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import key_rotation
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import desired


def test_new_config_has_a_32_byte_key_primary_then_identity():
    config = desired.encryption_config(None, "secretbox", ["secrets"])
    providers = config["resources"][0]["providers"]
    assert list(providers[0]) == ["secretbox"] and providers[-1] == {"identity": {}}
    assert len(base64.b64decode(providers[0]["secretbox"]["keys"][0]["secret"])) == 32


def test_keys_are_random():
    first = desired.encryption_config(None, "aescbc", ["secrets"])
    second = desired.encryption_config(None, "aescbc", ["secrets"])
    assert first != second


def test_existing_key_is_kept_never_regenerated():
    existing = desired.encryption_config(None, "secretbox", ["secrets"])
    again = desired.encryption_config(existing, "secretbox", ["secrets", "configmaps"])
    assert again["resources"][0]["providers"][0] == existing["resources"][0]["providers"][0]
    assert again["resources"][0]["resources"] == ["secrets", "configmaps"]


def test_algorithm_change_keeps_old_provider_readable():
    old = desired.encryption_config(None, "aescbc", ["secrets"], lambda n: b"a" * n)
    new = desired.encryption_config(old, "secretbox", ["secrets"], lambda n: b"b" * n)
    names = [next(iter(p)) for p in new["resources"][0]["providers"]]
    assert names == ["secretbox", "aescbc", "identity"]
    assert new["resources"][0]["providers"][1] == old["resources"][0]["providers"][0]


def test_redaction_hides_every_secret():
    config = desired.encryption_config(None, "secretbox", ["secrets"], lambda n: b"s" * n)
    secret = config["resources"][0]["providers"][0]["secretbox"]["keys"][0]["secret"]
    redacted = json.dumps(key_rotation.redact_encryption_config(config))
    assert secret not in redacted and "<redacted>" in redacted
    assert secret in json.dumps(config)  # the original is untouched


def test_secure_addresses_keep_safe_base_and_add_user_list(seed_vars):
    values = hv.validate(seed_vars)
    result = desired.kubelet_secure_addresses(values, ["10.89.0.10", "10.89.0.11"], ["10.89.0.100"])
    assert result[:3] == ["localhost", "link-local", "10.233.64.0/18"]
    for address in ("10.89.0.10", "10.89.0.11", "10.89.0.100", "192.168.10.110", "192.168.10.112"):
        assert address in result
    assert len(result) == len(set(result))


def test_secure_addresses_default_without_user_list():
    values = hv.validate({})
    assert desired.kubelet_secure_addresses(values, ["10.0.0.5"], []) == ["localhost", "link-local", "10.233.64.0/18", "10.0.0.5"]


@pytest.mark.parametrize("plugins,expected", [
    (["EventRateLimit", "PodNodeSelector"], ["EventRateLimit", "PodNodeSelector"]),
    (["PodNodeSelector"], ["PodNodeSelector"]),
])
def test_admission_config_sections(plugins, expected):
    values = hv.validate({"kube_apiserver_enable_admission_plugins": plugins, "kube_apiserver_admission_control_config_file": True,
                          "kube_apiserver_admission_event_rate_limits": {"l": {"type": "Namespace", "qps": 5, "burst": 10, "cache_size": 100}}})
    assert desired.configured_admission_plugins(values) == expected


def test_seed_admission_files(seed_vars):
    import yaml
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    files = {f["path"]: yaml.safe_load(f["content"]) for f in desired.apiserver_files(hv.validate(seed_vars), catalogue.layout_for("kubeadm"))}
    admission = files["/etc/kubernetes/admission-controls/admission-controls.yaml"]
    # kubespray's needs-configuration list: ResourceQuota (enabled by the seed) gets its file too
    assert [p["name"] for p in admission["plugins"]] == ["EventRateLimit", "PodSecurity", "PodNodeSelector", "ResourceQuota"]
    assert files["/etc/kubernetes/admission-controls/resourcequota.yaml"] == {
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "ResourceQuotaConfiguration"}
    rate = files["/etc/kubernetes/admission-controls/eventratelimit.yaml"]
    assert rate["limits"] == [{"type": "Namespace", "qps": 50, "burst": 100, "cacheSize": 2000},
                              {"type": "User", "qps": 50, "burst": 100}]
    pss = files["/etc/kubernetes/admission-controls/podsecurity.yaml"]
    assert pss["defaults"]["enforce"] == "restricted" and pss["exemptions"]["namespaces"] == ["kube-system"]
    policy = files["/etc/kubernetes/audit-policy/apiserver-audit-policy.yaml"]
    secrets_rule = next(r for r in policy["rules"] if any("secrets" in g.get("resources", []) for g in r.get("resources", [])))
    assert secrets_rule["level"] == "Metadata"  # never request bodies for secrets
    assert policy["rules"][-1] == {"level": "Metadata"}
    assert all(f["mode"] == "0600" for f in desired.apiserver_files(hv.validate(seed_vars), catalogue.layout_for("kubeadm")))


def test_host_name_endpoints_are_left_out_of_the_allow_list():
    values = hv.validate({})
    result = desired.kubelet_secure_addresses(values, ["10.0.0.5"], ["lb-apiserver.kubernetes.local", "10.0.0.100"])
    assert "lb-apiserver.kubernetes.local" not in result and "10.0.0.100" in result


def test_a_new_key_on_two_control_planes_goes_through_two_steps():
    import yaml
    # Step one, node 1: nothing encrypted yet, the new key goes behind identity.
    target = desired.merge_node_encryption_configs(["", ""], "secretbox", ["secrets"])
    staged1 = desired.staged_encryption_config(target, ["", ""])
    providers = staged1["resources"][0]["providers"]
    assert providers[0] == {"identity": {}} and "secretbox" in providers[1] and len(providers) == 2
    # Step one, node 2: it takes node 1's key, still behind identity.
    texts = [yaml.safe_dump(staged1), ""]
    target = desired.merge_node_encryption_configs(texts, "secretbox", ["secrets"])
    staged2 = desired.staged_encryption_config(target, texts)
    assert staged2 == staged1
    # Step two, node 1: every node can read the key, so it becomes primary.
    texts = [yaml.safe_dump(staged1), yaml.safe_dump(staged2)]
    target = desired.merge_node_encryption_configs(texts, "secretbox", ["secrets"])
    assert desired.staged_encryption_config(target, texts) == target
    assert target["resources"][0]["providers"] == [providers[1], {"identity": {}}]
    # Step two, node 2: node 1 already writes with the key, node 2 still reads it - not a conflict.
    texts = [yaml.safe_dump(target), yaml.safe_dump(staged2)]
    assert desired.merge_node_encryption_configs(texts, "secretbox", ["secrets"]) == target


def test_nodes_with_different_keys_are_refused():
    import yaml
    one = desired.encryption_config(None, "secretbox", ["secrets"], random_bytes=lambda n: b"a" * n)
    two = desired.encryption_config(None, "secretbox", ["secrets"], random_bytes=lambda n: b"b" * n)
    with pytest.raises(ValueError, match="different encryption configs"):
        desired.merge_node_encryption_configs([yaml.safe_dump(one), yaml.safe_dump(two)], "secretbox", ["secrets"])


def test_new_algorithm_is_staged_behind_the_old_key():
    import yaml
    old = desired.encryption_config(None, "aescbc", ["secrets"], random_bytes=lambda n: b"a" * n)
    texts = [yaml.safe_dump(old), yaml.safe_dump(old)]
    target = desired.merge_node_encryption_configs(texts, "secretbox", ["secrets"])
    staged = desired.staged_encryption_config(target, texts)
    names = [next(iter(p)) for p in staged["resources"][0]["providers"]]
    assert names == ["aescbc", "secretbox", "identity"]


def test_resource_quota_limited_resources_and_kubespray_needs_configuration_list():
    import yaml
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    limited = [{"apiGroup": "", "resource": "persistentvolumeclaims", "matchContains": [".storageclass.storage.k8s.io/requests.storage"]}]
    values = hv.validate({"kube_apiserver_enable_admission_plugins": ["ResourceQuota"],
                          "kube_apiserver_admission_control_config_file": True,
                          "kube_resource_quota_limited_resources": limited})
    assert values["kube_apiserver_admission_plugins_needs_configuration"] == [
        "EventRateLimit", "ImagePolicyWebhook", "PodSecurity", "PodNodeSelector", "ResourceQuota"]
    # ImagePolicyWebhook's config names the user's webhook: never generated (validation refuses it
    # with our admission file; with their own file, kube_apiserver_admission_control_config_file is false)
    assert desired.configured_admission_plugins(
        dict(values, kube_apiserver_enable_admission_plugins=["ResourceQuota", "ImagePolicyWebhook"])) == ["ResourceQuota"]
    files = {f["path"]: yaml.safe_load(f["content"]) for f in desired.apiserver_files(values, catalogue.layout_for("kubeadm"))}
    assert files["/etc/kubernetes/admission-controls/resourcequota.yaml"]["limitedResources"] == limited


@pytest.mark.parametrize("value,message", [
    ("pvc", "must be a list"),
    ([{"resource": "pvc", "scope": "x"}], "unknown key(s) ['scope']"),
    ([{"apiGroup": ""}], "resource None must be a resource name"),
    ([{"resource": "Persistent Volume"}], "must be a resource name"),
    ([{"resource": "pods", "matchContains": "cpu"}], "matchContains must be a list"),
    ([{"resource": "pods", "matchScopes": [{"scopeName": "BestEffort", "operator": "Equals"}]}], "matchScopes must be a list"),
])
def test_bad_limited_resources_are_refused(value, message):
    with pytest.raises(hv.HardeningVarsError) as error:
        hv.validate({"kube_resource_quota_limited_resources": value})
    assert "kube_resource_quota_limited_resources" in str(error.value) and message in str(error.value)


def test_own_addresses_inside_a_listed_network_are_left_out():
    """The CNI bridge (10.233.64.1, in the pod subnet) appears once pods run: the allow list must not change."""
    values = hv.validate({"kube_pods_subnets": "10.233.64.0/18,fd85:ee78::/64"})
    before = desired.kubelet_secure_addresses(values, ["10.88.0.171"], ["10.88.0.170"])
    after = desired.kubelet_secure_addresses(values, ["10.88.0.171", "10.233.64.1", "fd85:ee78::5"], ["10.88.0.170"])
    assert before == after == ["localhost", "link-local", "10.233.64.0/18", "fd85:ee78::/64", "10.88.0.171", "10.88.0.170"]
    # an address outside every listed network stays
    assert "10.234.0.1" in desired.kubelet_secure_addresses(values, ["10.234.0.1"], [])
