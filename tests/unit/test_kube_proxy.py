"""kube-proxy as it really runs: with --config the file in its own root decides and the flags beside it are
ignored (kube-proxy's own rule), unset addresses take its defaults, a look-alike process is not kube-proxy, and a
file that cannot be read is not judged. The writer's one-line edit; the variable's validation and waiver."""

from __future__ import annotations

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import kube_proxy
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import never_weaker
from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import yaml

from test_process_identity import start

PROXY = "/usr/local/bin/kube-proxy"
CONTROL = next(c for c in catalogue.controls() if str(c["id"]) == "4.3.1")


def run_proxy(tmp_path, args, config=None, exe=PROXY, pid=300):
    """A kube-proxy pod's process: its own root holds the file its --config names."""
    proc = tmp_path / "proc"
    start(proc, pid, [PROXY] + args, exe)
    if config is not None:
        target = proc / str(pid) / "root" / "var" / "lib" / "kube-proxy"
        target.mkdir(parents=True)
        (target / "config.conf").write_text(config)
    return str(proc)


def judge(tmp_path, args, config=None, **kw):
    proc_root = run_proxy(tmp_path, args, config, **kw)
    layout = catalogue.layout_for("kubeadm")
    observed = audit.component_flags("kube-proxy", layout, proc_root)
    state = {"layout": layout.as_dict(), "etcd_data_dir": "/var/lib/etcd", "components": {"kube-proxy": observed}}
    return observed, audit.judge_control(CONTROL, state)


CONFIG = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmetricsBindAddress: {}\n"


@pytest.mark.parametrize("metrics, passed, shown", [
    ("0.0.0.0:10249", False, "0.0.0.0:10249"),
    ('"[::]:10249"', False, "[::]:10249"),
    ("127.0.0.1:10249", True, "127.0.0.1:10249"),
    ("127.0.0.2:9999", True, "127.0.0.2:9999"),
    ("'[::1]:10249'", True, "[::1]:10249"),
    ('""', True, "127.0.0.1:10249"),              # blank: kube-proxy's default
    ("127.0.0.1", True, "127.0.0.1:10249"),        # no port: kube-proxy appends its own
    ("10.0.0.5:10249", False, "10.0.0.5:10249"),
    ("127.0.0.1.evil:10249", False, "127.0.0.1.evil:10249"),   # not an address at all
])
def test_the_file_its_config_flag_names_decides(tmp_path, metrics, passed, shown):
    args = ["--config=/var/lib/kube-proxy/config.conf", "--hostname-override=node1"]
    observed, outcome = judge(tmp_path, args, CONFIG.format(metrics))
    assert outcome.passed is passed and shown in outcome.found, outcome
    assert observed["flags"]["hostname-override"] == "node1"


def test_a_flag_beside_config_is_ignored_as_kube_proxy_ignores_it(tmp_path):
    # kube-bench reads this flag and passes 4.3.1; kube-proxy serves metrics on every interface
    args = ["--config=/var/lib/kube-proxy/config.conf", "--metrics-bind-address=127.0.0.1:10249"]
    _observed, outcome = judge(tmp_path, args, CONFIG.format("0.0.0.0:10249"))
    assert outcome.passed is False and "0.0.0.0:10249" in outcome.found


def test_without_config_the_flags_decide_and_unset_is_the_default(tmp_path):
    assert judge(tmp_path / "a", ["--metrics-bind-address=0.0.0.0:10249"])[1].passed is False
    observed, outcome = judge(tmp_path / "b", ["--kubeconfig=/etc/kubernetes/proxy.conf"])
    assert outcome.passed is True and observed["flags"]["metrics-bind-address"] == "127.0.0.1:10249"


def test_a_config_file_that_cannot_be_read_is_not_judged(tmp_path):
    _observed, outcome = judge(tmp_path / "a", ["--config=/var/lib/kube-proxy/config.conf"])   # no file in its root
    assert outcome.passed is None and "could not be read" in outcome.found
    _observed, outcome = judge(tmp_path / "b", ["--config=/var/lib/kube-proxy/config.conf"], "metricsBindAddress: [unclosed\n")
    assert outcome.passed is None


def test_a_look_alike_is_not_kube_proxy(tmp_path):
    # named kube-proxy, runs sleep, "serves" on loopback: the real one is absent, nothing is judged from the fake
    observed, outcome = judge(tmp_path, ["--metrics-bind-address=127.0.0.1:10249"], exe="/bin/sleep")
    assert observed["source"] == "absent" and "does not run" in outcome.found


def test_the_writer_changes_one_line_and_nothing_when_it_already_says_so():
    text = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nbindAddress: 0.0.0.0\nmetricsBindAddress: 0.0.0.0:10249\nmode: \"\""
    after = kube_proxy.hardened_config(text, "127.0.0.1:10249")
    assert after.splitlines() == [*text.splitlines()[:2], 'metricsBindAddress: "127.0.0.1:10249"', 'mode: ""']
    assert yaml.safe_load(after)["metricsBindAddress"] == "127.0.0.1:10249"
    for same in ("metricsBindAddress: 127.0.0.1:10249", "metricsBindAddress: '127.0.0.1:10249'", 'metricsBindAddress: "127.0.0.1:10249"'):
        assert kube_proxy.hardened_config(f"kind: KubeProxyConfiguration\n{same}\n", "127.0.0.1:10249") == f"kind: KubeProxyConfiguration\n{same}\n"
    # absent: added; a nested key of the same name is not the top-level one
    nested = "iptables:\n  metricsBindAddress: x\nkind: KubeProxyConfiguration"
    added = kube_proxy.hardened_config(nested, "127.0.0.1:10249")
    assert yaml.safe_load(added) == {"iptables": {"metricsBindAddress": "x"}, "kind": "KubeProxyConfiguration",
                                     "metricsBindAddress": "127.0.0.1:10249"}
    assert kube_proxy.hardened_config(added, "127.0.0.1:10249") == added


def test_the_plan_restarts_only_for_a_change():
    cm = {"data": {"config.conf": "metricsBindAddress: 127.0.0.1:10249"}}
    ds = {"spec": {"template": {"metadata": {}}}}
    assert kube_proxy.plan(cm, ds, "127.0.0.1:10249")["restart"] is False
    assert kube_proxy.plan(cm, ds, "[::1]:10249")["restart"] is True
    assert "nothing to write" in kube_proxy.plan(None, ds, "127.0.0.1:10249")["skip"]
    assert "config.conf" in kube_proxy.plan({"data": {"other": "x"}}, ds, "127.0.0.1:10249")["skip"]


def test_the_variable_defaults_to_kubesprays_and_beyond_loopback_is_the_users_waiver():
    assert hv.validate({})["kube_proxy_metrics_bind_address"] == "127.0.0.1:10249"
    assert never_weaker.kube_proxy_waivers(hv.validate({})) == {}
    wide = hv.validate({"kube_proxy_metrics_bind_address": "0.0.0.0:10249"})
    assert "kube_proxy_metrics_bind_address=0.0.0.0:10249" in never_weaker.kube_proxy_waivers(wide)["4.3.1"]
    reasoned = hv.validate({"kube_proxy_metrics_bind_address": "0.0.0.0:10249",
                            "kubeguard_allow_override": {"kube-proxy.metrics-bind-address": "scraped by prometheus"}})
    assert never_weaker.kube_proxy_waivers(reasoned)["4.3.1"].endswith(": scraped by prometheus")
    with pytest.raises(hv.HardeningVarsError) as refused:
        hv.validate({"kube_proxy_metrics_bind_address": "0.0.0.0"})
    assert "kube_proxy_metrics_bind_address: '0.0.0.0'" in str(refused.value)
