"""Kubernetes release strings are read in one place (base/releases.py): "v1.34.4", kubespray's "1.34.4", a minor
alone, a release candidate's "-rc.1" and a distribution's "+k3s1". What names no release - not a string, empty, a
word, a huge string, a control character - is None there; each caller keeps its own answer to that."""

from __future__ import annotations

import pytest

from ansible_collections.kubeguard.hardening.plugins.filter.hardening import kubeguard_cluster_version
from ansible_collections.kubeguard.hardening.plugins.module_utils.base import releases
from ansible_collections.kubeguard.hardening.plugins.module_utils.base.releases import Release
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_plan
from ansible_collections.kubeguard.hardening.plugins.module_utils.platform import component_data


@pytest.mark.parametrize("text, found", [
    ("v1.34.4", Release(1, 34, 4)), ("1.34.4", Release(1, 34, 4)), ("v1.34", Release(1, 34)), ("1.34", Release(1, 34)),
    ("v1.35.0-rc.1", Release(1, 35, 0, pre="rc.1")), ("v1.36.3+k3s1", Release(1, 36, 3, build="k3s1")),
    ("v1.35.0-rc.1+k3s1", Release(1, 35, 0, "rc.1", "k3s1")), ("v1.33.1-alpha.0.123+abcdef", Release(1, 33, 1, "alpha.0.123", "abcdef")),
    ("v0.9", Release(0, 9)), ("v2.0.0", Release(2, 0, 0)), ("v1.30.0", Release(1, 30, 0)), ("v1.0", Release(1, 0)),
    ("v1.34.10", Release(1, 34, 10)), ("v1.35.0-rc.0", Release(1, 35, 0, pre="rc.0")),
    ("v1.35.0-x-y.1-a", Release(1, 35, 0, pre="x-y.1-a")), ("v1.34.4+rke2r1.b-1", Release(1, 34, 4, build="rke2r1.b-1"))])
def test_a_release_is_read(text, found):
    assert releases.parse(text) == found
    assert releases.minor_of(text) == (found.major, found.minor)


@pytest.mark.parametrize("text", [
    None, 0, 1, 134, 1.34, True, b"v1.34", ["v1.34"], ("1", "34"), {"v1.34": 1},
    "", "v", "vv1.34", "V1.34", "v1", "1", "1.", ".34", "1.x", "1.34.x", "x.34", "1.34.4.5", "latest", "v1..34",
    " v1.34", "v1.34 ", "v1.34\n", "v1.34\r\n", "\tv1.34", "v1.34\x00", "v1.\x1b34", "v1.34.4+k3s1\n", "v1.34.4\u200b",
    "v1.\uff13\uff14", "v1.\u0663\u0664.0", "v1.34.\u00b2",                  # other scripts' digits, a superscript
    "v1.34-rc.1", "v1.34+k3s1", "v1.34.4-", "v1.34.4+", "v1.34.4-+k3s1", "v1.34.4+k3s1+k3s2", "v1.34.4-rc 1",
    "1234.1", "1.1234", "1.34.12345", "v-1.34",
    # leading zeros are no release (Kubernetes never writes them; semver forbids them)
    "v1.034", "1.034", "1.34.04", "v1.034.04", "v1.34.00", "v01.34", "01.34.4", "v1.00",
    # pre-release and build: dot-separated identifiers, none empty
    "v1.35.0-rc..1", "v1.35.0-rc.", "v1.35.0-.rc1", "v1.35.0-rc.1.", "v1.34.4+k3s..1", "v1.34.4+k3s.", "v1.34.4+.k3s1",
    "v1.35.0-rc..1+k3s1", "v1.35.0-rc.1+k3s1.",
    "1." + "9" * 100_000, "v1.34.4+" + "k" * 100_000, "v1.34.4-" + "rc." * 30, "\x00" * 1_000_000])
def test_what_names_no_release_is_none(text):
    assert releases.parse(text) is None
    assert releases.minor_of(text) is None


def test_a_long_suffix_is_refused_before_the_pattern_runs():
    at_limit = "v1.34.4+" + "k" * (releases.MAX_LENGTH - len("v1.34.4+"))
    assert releases.parse(at_limit) == Release(1, 34, 4, build="k" * (releases.MAX_LENGTH - 8))
    assert releases.parse(at_limit + "k") is None


def test_a_str_subclass_is_a_string():
    class Tagged(str):   # what ansible-core 2.19 hands filters
        pass
    assert releases.parse(Tagged("v1.34.4")) == Release(1, 34, 4)


# --- each caller keeps its own answer to what names no release --------------------------------------------------

BENCHMARKS = {"benchmark": "b-1", "controls": [],
              "benchmarks": {"default": "b-1", "entries": {"b-1": {"title": "B v1", "kubernetes": ["1.32", "1.33"]},
                                                           "b-2": {"title": "B v2", "kubernetes": ["1.34", 1.35]}}}}


@pytest.mark.parametrize("version, name", [
    ("v1.35.0-rc.1", "b-2"), ("v1.36.3+k3s1", "b-2"), ("1.33", "b-1"), ("v1.34", "b-2"),
    (None, "b-1"), ("", "b-1"), (0, "b-1"), (134, "b-1"), ("v1", "b-1"), ("1.x", "b-1"), ("v1.34\n", "b-1"),
    ("1." + "9" * 10_000, "b-1"), ("v1.31.0", "b-1"), ("v1.034", "b-1"), ("1.35.04", "b-1"), ("v1.35.0-rc.", "b-1")])
def test_the_benchmark_choice_takes_the_default_for_no_release(version, name):
    chosen, why = catalogue.choose_benchmark(BENCHMARKS, "auto", version)
    assert chosen == name
    if releases.parse(version) is None:
        assert why.startswith("the default")


@pytest.mark.parametrize("version, minor", [
    ("v1.34.4", 34), ("1.29", 29), ("v1.36.3+k3s1", 36), ("v1.35.0-rc.1", 35),
    ("", 0), ("v1", 0), ("1.x", 0), ("latest", 0), ("v2.5", 0), ("v1.34\x00", 0), ("1." + "9" * 10_000, 0),
    ("v1.034", 0), ("1.34.04", 0), ("v1.35.0-rc..1", 0)])
def test_the_variable_model_reads_minor_0_for_no_kubernetes_1_release(version, minor):
    assert hv._minor(version) == minor   # pylint: disable=protected-access


NEWEST = component_data.known_minors()[-1]


@pytest.mark.parametrize("version, minor, exact", [
    ("v1.34.4+k3s1", 34, True), ("v1.34.0-rc.1", 34, True),
    (None, NEWEST, False), (134, NEWEST, False), ("", NEWEST, False), ("v1", NEWEST, False), ("v2.34.0", NEWEST, False),
    ("v1.34\n", NEWEST, False), ("v1.034.4", NEWEST, False), ("v1.34.4-rc..1", NEWEST, False)])
def test_the_component_data_of_no_release_is_the_newest(version, minor, exact):
    release = component_data.for_version(version)
    assert (release.minor, release.exact, release.note) == (minor, exact, None)


def nodes(**versions):
    return {host: {"kubeguard_node_plan": {"version": {"version": version}}} for host, version in versions.items()}


def test_the_cluster_version_orders_releases_with_a_build_and_refuses_no_release():
    hostvars = nodes(cp1="v1.34.4+k3s1", cp2="v1.34.2+k3s1", w1="v1.33.9+k3s1")
    assert kubeguard_cluster_version(list(hostvars), hostvars, ["cp1", "cp2"])["version"] == "v1.34.2+k3s1"
    hostvars = nodes(cp1="v1.34.10", cp2="v1.34.9", cp3="v1.34")
    assert kubeguard_cluster_version(list(hostvars), hostvars, list(hostvars))["version"] == "v1.34"
    for bad in ("latest", "v1", "1.x", "v1.34\n", "v1.34.04", "v1.034", "v1.34.4+k3s."):
        hostvars = nodes(cp1="v1.34.4", cp2=bad)
        with pytest.raises(ValueError, match="is not a Kubernetes release"):
            kubeguard_cluster_version(list(hostvars), hostvars, ["cp1", "cp2"])


@pytest.mark.parametrize("given, running, same", [
    ("v1.34", "v1.34.4", True), ("1.34", "v1.34.0", True), ("v1.34.4", "v1.34.4", True), ("1.34.4", "v1.34.4", True),
    ("v1.34", "v1.35.0", False), ("v1.34.4", "v1.34.5", False), ("v1.34.4", "v1.34", False), ("v1.3", "v1.34.0", False),
    ("v1.34.4", "v1.34.4+k3s1", True), ("v1.34", "v1.34.4+k3s1", True), ("v1.35.0", "v1.35.0-rc.1", False),
    ("v1.34.4", "garbage", False), ("garbage", "garbage", True), ("v1.34", "", False),
    ("v1.034", "v1.34.0", False), ("v1.34.04", "v1.34.4", False), ("v1.35.0-rc..1", "v1.35.0-rc.1", False)])
def test_the_node_plan_says_when_a_node_runs_another_release(given, running, same):
    assert node_plan._same_release(given, running) is same   # pylint: disable=protected-access


@pytest.mark.parametrize("version", ["v1.034", "1.034.4", "v1.34.04", "1.34.00", "v1.00"])
def test_the_variable_model_refuses_a_kube_version_with_leading_zeros(version):
    """What the release reading takes for no release is no kube_version either (else v1.034 would be judged at minor 0,
    and the Pod Security default versions it sets, v1.034, are refused by kube-apiserver)."""
    with pytest.raises(hv.HardeningVarsError, match="kube_version"):
        hv.validate({"kube_version": version})
    assert hv.validate({"kube_version": "1.34.0"})["kube_pod_security_default_enforce_version"] == "v1.34"


@pytest.mark.parametrize("older, newer", [
    ("v1.35.0-rc.1", "v1.35.0"), ("v1.34.9", "v1.35.0-rc.1"), ("v1.35", "v1.35.1"), ("v1.35.4", "v1.35.10"),
    ("v1.9.0", "v1.10.0")])
def test_releases_order_as_kubernetes_ships_them(older, newer):
    assert releases.order(releases.parse(older)) < releases.order(releases.parse(newer))


def test_a_build_suffix_is_its_release_and_a_minor_alone_its_dot_zero():
    assert releases.order(releases.parse("v1.36.3+k3s1")) == releases.order(releases.parse("1.36.3"))
    assert releases.order(releases.parse("v1.36")) == releases.order(releases.parse("v1.36.0"))
