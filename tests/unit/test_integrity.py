"""Binary integrity: kubespray's checksum variables and sha256sum/sha512sum files become the digests a
node's binaries must have; the node hashes what runs (else what is installed) and reports both digests on a
mismatch; a binary it cannot find is not judged (tests/unit/test_process_identity.py: the running one)."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import integrity
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(name="bins")
def fixture_bins(tmp_path):
    (tmp_path / "kubelet").write_bytes(b"kubelet binary")
    (tmp_path / "kubectl").write_bytes(b"kubectl binary")
    return tmp_path


def test_kubespray_shape_picks_the_version_and_every_architecture():
    values = hv.validate({"kube_version": "v1.34.4", "kubelet_checksums": {
        "amd64": {"1.34.4": sha256(b"a"), "1.34.3": sha256(b"old")}, "arm64": {"1.34.4": sha256(b"b").split(":")[1]}}})
    assert integrity.expected(values) == {"kubelet": {"amd64": [sha256(b"a")], "arm64": [sha256(b"b")]}}


def test_a_sums_file_names_binaries_by_basename_and_either_algorithm():
    sha512 = hashlib.sha512(b"etcd").hexdigest()
    text = f"# official\n{hashlib.sha256(b'c').hexdigest()}  ./bin/containerd\n{sha512} *etcd\n{'0' * 64}  README.md\n"
    assert integrity.expected(hv.validate({}), text) == {"containerd": {"*": [sha256(b"c")]}, "etcd": {"*": [f"sha512:{sha512}"]}}
    with pytest.raises(ValueError, match="line 2"):
        integrity.parse_sums_file(f"{'0' * 64}  kubelet\nnot a checksum line\n")


@pytest.mark.parametrize("value, problem", [
    ({"amd64": {"1.34.4": "sha256:xyz"}}, "must be sha256:<64 hex>"),
    ({"amd64": ["sha256:" + "0" * 64]}, "must be a mapping of version"),
    ({"AMD 64": {}}, "architecture"),
    ({"amd64": {"latest": "0" * 64}}, "must look like 1.34.4"),
    ("sha256:" + "0" * 64, "kubespray's shape"),
])
def test_bad_checksum_variables_are_refused_naming_the_entry(value, problem):
    with pytest.raises(hv.HardeningVarsError, match="kubectl_checksums") as err:
        hv.validate({"kubectl_checksums": value})
    assert problem in str(err.value)


def test_untouched_binaries_pass_a_changed_byte_fails_with_both_digests(bins):
    good, tampered = sha256(b"kubelet binary"), sha256(b"kubectl binary")
    (bins / "kubectl").write_bytes(b"kubectl binarY")   # one byte changed
    wanted = {"kubelet": {"amd64": [good]}, "kubectl": {"*": [tampered]}, "kubeadm": {"amd64": [sha256(b"x")]},
              "runc": {"arm64": [sha256(b"r")]}}
    results = integrity.verify(wanted, "x86_64", lambda name: integrity.locate(name, [str(bins)]), proc_root=str(bins / "proc"))
    assert results["kubelet"]["passed"] is True and good in results["kubelet"]["found"]
    assert results["kubectl"]["passed"] is False
    assert sha256(b"kubectl binarY") in results["kubectl"]["found"] and tampered in results["kubectl"]["found"]
    # neither running nor installed: not judged (manual), never a pass
    assert results["kubeadm"]["passed"] is None and "not installed" in results["kubeadm"]["found"]
    assert "runc" not in results   # nothing given for this node's architecture


def test_the_report_has_a_kubeguard_integrity_check_per_binary(bins):
    (bins / "kubectl").write_bytes(b"tampered")
    state = {"layout": catalogue.layout_for("kubeadm").as_dict(), "etcd_data_dir": "/var/lib/etcd", "components": {},
             "listeners": [],
             "integrity": integrity.verify({"kubelet": {"*": [sha256(b"kubelet binary")]}, "kubectl": {"*": [sha256(b"kubectl binary")]}},
                                           "x86_64", lambda name: integrity.locate(name, [str(bins)]), str(bins / "proc"))}
    results = {r["id"]: r for r in audit.audit(state, ["worker"], file_reader=lambda *_ignored: [])}
    assert results["K.15"]["title"].startswith("kubeguard.integrity.kubelet") and results["K.15"]["status"] == "pass"
    assert results["K.17"]["status"] == "fail" and sha256(b"tampered") in results["K.17"]["found"]
    # no checksum given: not judged, the remediation says how to give one
    assert results["K.16"]["status"] == "manual" and "kubeadm_checksums" in results["K.16"]["remediation"]


def test_validation_brings_the_expected_digests(tmp_path):
    """The node_plan action's validation (plugin_utils/node_inputs.validated): the digests from the variables and the
    sums file, read on the controller, come with the values; a bad or unreadable sums file fails with the rest."""
    from ansible_collections.kubeguard.hardening.plugins.plugin_utils import node_inputs
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{hashlib.sha256(b'etcd').hexdigest()}  etcd\n")
    values, _notes = node_inputs.validated({"kubeguard_binary_checksums_file": str(sums)})
    assert values["_checksums"] == {"etcd": {"*": [sha256(b"etcd")]}}
    sums.write_text("not a checksum line\n")
    with pytest.raises(ValueError, match="kubeguard_binary_checksums_file line 1"):
        node_inputs.validated({"kubeguard_binary_checksums_file": str(sums)})
    with pytest.raises(ValueError, match="cannot be read on the controller"):
        node_inputs.validated({"kubeguard_binary_checksums_file": str(tmp_path / "missing")})


APISERVER_POD = """apiVersion: v1
kind: Pod
metadata: {name: kube-apiserver, namespace: kube-system}
spec:
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.34.4
"""
ETCD_POD = """apiVersion: v1
kind: Pod
metadata: {name: etcd, namespace: kube-system}
spec:
  containers:
  - name: etcd
    image: registry.k8s.io/etcd@sha256:%s
"""
CTR_IMAGES = """REF                                      TYPE                                                 DIGEST   SIZE PLATFORMS LABELS
registry.k8s.io/kube-apiserver:v1.34.4   application/vnd.oci.image.index.v1+json  sha256:%s 27.1 MiB linux/amd64 -
"""


@pytest.fixture(name="manifests")
def fixture_manifests(tmp_path):
    (tmp_path / "kube-apiserver.yaml").write_text(APISERVER_POD)
    (tmp_path / "etcd.yaml").write_text(ETCD_POD % ("e" * 64))
    (tmp_path / "broken.yaml").write_text("spec: [")
    return tmp_path


def test_static_pod_images_are_judged_by_the_runtime_or_by_their_pinned_digest(manifests):
    wanted = integrity.expected(hv.validate({"kubeguard_image_digests": {
        "registry.k8s.io/kube-apiserver:v1.34.4": "sha256:" + "a" * 64, "registry.k8s.io/etcd": "sha256:" + "e" * 64}}))

    def store(digest):
        return lambda argv: (0, CTR_IMAGES % (digest * 64))
    verdict = integrity.verify_images(wanted[integrity.IMAGES], str(manifests), "/run/containerd/containerd.sock", store("a"))
    assert verdict == {"passed": True, "found": "2 images match: registry.k8s.io/etcd@sha256:" + "e" * 64
                                                + ", registry.k8s.io/kube-apiserver:v1.34.4"}
    verdict = integrity.verify_images(wanted[integrity.IMAGES], str(manifests), "/s", store("b"))
    assert verdict["passed"] is False
    assert verdict["found"] == (f"kube-apiserver.yaml:kube-apiserver registry.k8s.io/kube-apiserver:v1.34.4 is sha256:{'b' * 64};"
                                f" expected sha256:{'a' * 64}")
    assert "not in the runtime" in integrity.verify_images(wanted[integrity.IMAGES], str(manifests), "/s",
                                                           lambda argv: (1, "connection refused"))["found"]
    # no digest given for any image these pods use: not judged
    assert integrity.verify_images({"registry.k8s.io/pause:3.10.1": ["sha256:" + "c" * 64]}, str(manifests), "/s", store("b")) is None
    assert integrity.verify({"images": {"x": ["sha256:" + "c" * 64]}}) == {}


@pytest.mark.parametrize("value, problem", [
    (["registry.k8s.io/kube-apiserver:v1.34.4"], "mapping of image reference"),
    ({"Registry.k8s.io/Kube Apiserver": "sha256:" + "a" * 64}, "image reference"),
    ({"registry.k8s.io/kube-apiserver:v1.34.4": "sha512:" + "a" * 128}, "sha256:<64 hex>"),
    ({"registry.k8s.io/kube-apiserver:v1.34.4": "latest"}, "sha256:<64 hex>"),
])
def test_image_digests_are_validated(value, problem):
    with pytest.raises(ValueError, match=problem):
        hv.validate({"kubeguard_image_digests": value})


def test_a_stopped_service_is_hashed_where_its_unit_starts_it(tmp_path):
    """Not running: the binary its unit's ExecStart names is what runs next - not the first one a directory list finds."""
    started = tmp_path / "opt" / "kubelet"
    started.parent.mkdir()
    started.write_bytes(b"kubelet binary")
    decoy = tmp_path / "bin" / "kubelet"
    decoy.parent.mkdir()
    decoy.write_bytes(b"other kubelet")
    show = f"{{ path={started} ; argv[]={started} --config=/var/lib/kubelet/config.yaml ; ignore_errors=no }}\n"
    assert integrity.unit_binary("kubelet", run=lambda argv: show) == str(started)
    assert integrity.unit_binary("kubelet", run=lambda argv: "{ path=/usr/bin/env ; argv[]=/usr/bin/env kubelet }") is None
    assert integrity.unit_binary("kubelet", run=lambda argv: "") is None
    (tmp_path / "proc").mkdir()
    result = integrity.verify({"kubelet": {"*": [sha256(b"kubelet binary")]}}, "x86_64",
                              lambda name: str(decoy), proc_root=str(tmp_path / "proc"),
                              unit_exec=lambda name: str(started))
    assert result["kubelet"]["passed"] is True and "ExecStart of kubelet.service" in result["kubelet"]["found"]
