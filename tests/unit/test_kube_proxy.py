"""kube-proxy as it really runs: with --config the file in its own root decides and the flags beside it are
ignored (kube-proxy's own rule), unset addresses take its defaults, a look-alike process is not kube-proxy, and a
file that cannot be read is not judged. The writer's one-line edit; the variable's validation and waiver."""

from __future__ import annotations

import os

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import kube_proxy
from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import never_weaker
from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import load_unique_keys, yaml

from test_exposure import fake_proc
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


HEAD = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"


def edit(text):
    return kube_proxy.hardened_config(text, "127.0.0.1:10249", load_unique_keys)


def test_the_writer_changes_one_line_and_nothing_when_it_already_says_so():
    text = HEAD + "bindAddress: 0.0.0.0\nmetricsBindAddress: 0.0.0.0:10249\nmode: \"\""
    after = edit(text)
    assert after.splitlines() == [*text.splitlines()[:3], 'metricsBindAddress: "127.0.0.1:10249"', 'mode: ""']
    assert yaml.safe_load(after)["metricsBindAddress"] == "127.0.0.1:10249"
    for same in ("metricsBindAddress: 127.0.0.1:10249", "metricsBindAddress: '127.0.0.1:10249'", 'metricsBindAddress: "127.0.0.1:10249"',
                 "metricsBindAddress:\n  127.0.0.1:10249", "metricsBindAddress: 127.0.0.1:10249  # scraped locally"):
        assert edit(HEAD + same + "\n") == HEAD + same + "\n"
    # absent: added; a nested key of the same name, or one inside a multi-line value, is not the top-level one
    nested = HEAD + "iptables:\n  metricsBindAddress: x\nnote: |\n  metricsBindAddress: 0.0.0.0:1\n"
    added = edit(nested)
    assert yaml.safe_load(added) == dict(yaml.safe_load(nested), metricsBindAddress="127.0.0.1:10249")
    assert edit(added) == added


@pytest.mark.parametrize("text, says", [
    (HEAD + "metricsBindAddress: 127.0.0.1:10249\nmetricsBindAddress: 0.0.0.0:10249\n", "given twice"),   # the last wins
    (HEAD + "metricsBindAddress:\n  0.0.0.0:10249\n", "line edit"),                  # the value on the next line
    (HEAD + 'note: "a\nmetricsBindAddress: b"\nmetricsBindAddress: 0.0.0.0:10249\n', "more than one"),
    (HEAD + "metricsBindAddress: &a 0.0.0.0:10249\nhealthzBindAddress: *a\n", "line edit"),
    ("{apiVersion: kubeproxy.config.k8s.io/v1alpha1, kind: KubeProxyConfiguration, metricsBindAddress: 0.0.0.0:10249}", "parse"),
    ("apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration\n", "not edited"),
    ("- a\n", "mapping"),
])
def test_a_text_a_line_edit_could_get_wrong_is_refused(text, says):
    with pytest.raises(kube_proxy.KubeProxyConfigError) as refused:
        edit(text)
    assert says in str(refused.value)


def test_the_plan_rolls_for_a_change_or_a_text_changed_since_our_rollout():
    text = HEAD + "metricsBindAddress: 127.0.0.1:10249"
    cm = {"data": {"config.conf": text}}

    def plan(address, annotation=None):
        ds = {"spec": {"template": {"metadata": {"annotations": {kube_proxy.HASH_ANNOTATION: annotation}} if annotation else {}}}}
        return kube_proxy.plan(cm, ds, address, load_unique_keys)
    assert plan("127.0.0.1:10249")["restart"] == []                                        # kubespray's default, never rolled
    assert plan("127.0.0.1:10249", kube_proxy.config_hash(text) + "-1733380000")["restart"] == []
    assert plan("[::1]:10249")["restart"] == ["metricsBindAddress set to [::1]:10249"]
    assert plan("127.0.0.1:10249", "0123456789abcdef-1733380000")["restart"] == [
        "the ConfigMap changed since our last rollout of its pods"]
    # a node whose kube-proxy started from an older copy: rolled though the text is right, saying which node
    ds = {"spec": {"template": {"metadata": {"annotations": {kube_proxy.HASH_ANNOTATION: kube_proxy.config_hash(text) + "-1"}}}}}
    behind = ["w1: kube-proxy (pid 9) serves its metrics on [::]:10249 though its file says 127.0.0.1:10249"]
    assert kube_proxy.plan(cm, ds, "127.0.0.1:10249", load_unique_keys, behind)["restart"] == behind
    ds = {"spec": {"template": {"metadata": {}}}}
    assert "nothing to write" in kube_proxy.plan(None, ds, "127.0.0.1:10249", load_unique_keys)["skip"]
    assert "config.conf" in kube_proxy.plan({"data": {"other": "x"}}, ds, "127.0.0.1:10249", load_unique_keys)["skip"]


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


def test_its_socket_wins_over_its_file(tmp_path):
    """A pod started before its ConfigMap changed serves the old address: judged by the socket it listens on."""
    proc = tmp_path / "proc"
    fake_proc(proc, [("tcp", "00000000:2809", "0A", "501"), ("tcp", "00000000:2810", "0A", "502")], {})   # *:10249, *:10256
    start(proc, 300, [PROXY, "--config=/var/lib/kube-proxy/config.conf"], PROXY)
    (proc / "300" / "fd").mkdir()
    for n, inode in enumerate(("501", "502")):
        os.symlink(f"socket:[{inode}]", proc / "300" / "fd" / str(n + 3))
    target = proc / "300" / "root" / "var" / "lib" / "kube-proxy"
    target.mkdir(parents=True)
    (target / "config.conf").write_text(CONFIG.format("127.0.0.1:10249"))
    layout = catalogue.layout_for("kubeadm")
    state = audit.observe(layout, proc_root=str(proc))
    outcome = audit.judge_control(CONTROL, state)
    assert outcome.passed is False and "0.0.0.0:10249 (its socket; its file says 127.0.0.1:10249)" in outcome.found
    # the plan says so too: the kube_proxy role rolls its pods though the ConfigMap is right
    loopback = "127.0.0.1:10249"
    assert audit.kube_proxy_behind(state, loopback) == (
        "kube-proxy (pid 300) serves its metrics on 0.0.0.0:10249 though its file says 127.0.0.1:10249: it started from an older copy")
    assert audit.kube_proxy_behind(state, "0.0.0.0:10249") is None   # your waiver: wide is what you asked for
    # the file says a port nothing of kube-proxy's listens on: not judged, and it says to roll the pods
    (target / "config.conf").write_text(CONFIG.format("127.0.0.1:10300"))
    state = audit.observe(layout, proc_root=str(proc))
    outcome = audit.judge_control(CONTROL, state)
    assert outcome.passed is None and "roll its pods" in outcome.found
    # not rolled for: another process may hold the port (anyone could make every run roll), and rolling would not help
    assert audit.kube_proxy_behind(state, loopback) is None
    # a file that says wide and a socket that is: the ConfigMap's writer rolls for that, not the node's plan
    (target / "config.conf").write_text(CONFIG.format("0.0.0.0:10249"))
    state = audit.observe(layout, proc_root=str(proc))
    assert audit.judge_control(CONTROL, state).passed is False and audit.kube_proxy_behind(state, loopback) is None
    # on loopback while its file says wide (a file changed since it started): what it serves is judged
    table = proc / "net" / "tcp"
    table.write_text(table.read_text().replace("00000000:2809", "0100007F:2809"))   # 127.0.0.1:10249
    state = audit.observe(layout, proc_root=str(proc))
    outcome = audit.judge_control(CONTROL, state)
    assert outcome.passed is True and "127.0.0.1:10249" in outcome.found and audit.kube_proxy_behind(state, loopback) is None
    # and on loopback as its file says, nothing is behind
    (target / "config.conf").write_text(CONFIG.format("127.0.0.1:10249"))
    state = audit.observe(layout, proc_root=str(proc))
    assert audit.judge_control(CONTROL, state).passed is True and audit.kube_proxy_behind(state, loopback) is None


def test_its_sockets_are_matched_to_the_processes_its_flags_were_read_from(tmp_path, monkeypatch):
    """The audit looks for each component's processes once: kube-proxy's sockets are matched to the processes its
    flags came from, never to a second walk of /proc."""
    proc = tmp_path / "proc"
    fake_proc(proc, [("tcp", "00000000:2809", "0A", "501")], {})   # *:10249
    start(proc, 300, [PROXY, "--config=/var/lib/kube-proxy/config.conf"], PROXY)
    (proc / "300" / "fd").mkdir()
    os.symlink("socket:[501]", proc / "300" / "fd" / "3")
    target = proc / "300" / "root" / "var" / "lib" / "kube-proxy"
    target.mkdir(parents=True)
    (target / "config.conf").write_text(CONFIG.format("127.0.0.1:10249"))
    looked = []
    find = audit.component_processes
    monkeypatch.setattr(audit, "component_processes", lambda name, root="/proc": looked.append(name) or find(name, root))
    state = audit.observe(catalogue.layout_for("kubeadm"), proc_root=str(proc))
    assert sorted(looked) == sorted(audit.FLAG_COMPONENTS)
    assert state["components"]["kube-proxy"]["flags"]["metrics-bind-address"] == "0.0.0.0:10249 (its socket; its file says 127.0.0.1:10249)"


@pytest.mark.parametrize("plant", ["fifo", "zero", "absolute_link", "dotdot"])
def test_a_planted_config_path_never_reads_the_host_or_hangs(tmp_path, plant):
    """The file --config names is read inside the process's root only: a FIFO, a device, an absolute symlink (which
    the kernel would resolve against ours) or `..` climbing out are not judged from anything but that root."""
    host_file = tmp_path / "host.yaml"
    host_file.write_text(CONFIG.format("127.0.0.1:10249"))   # a host file that would pass
    proc_root = run_proxy(tmp_path, ["--config=/var/lib/kube-proxy/config.conf"], CONFIG.format("0.0.0.0:10249"))
    inside = tmp_path / "proc" / "300" / "root" / "var" / "lib" / "kube-proxy" / "config.conf"
    args = ["--config=/var/lib/kube-proxy/config.conf"]
    if plant == "fifo":
        inside.unlink()
        os.mkfifo(inside)
    elif plant == "zero":
        inside.unlink()
        os.symlink("/dev/zero", inside)
    elif plant == "absolute_link":
        inside.unlink()
        os.symlink(str(host_file), inside)
    else:
        args = [f"--config=/../../../..{host_file}"]
    layout = catalogue.layout_for("kubeadm")
    pid_dir = tmp_path / "proc" / "300"
    (pid_dir / "cmdline").write_bytes(b"\0".join(a.encode() for a in [PROXY] + args) + b"\0")
    observed = audit.component_flags("kube-proxy", layout, proc_root)
    outcome = audit.judge_control(CONTROL, {"layout": layout.as_dict(), "etcd_data_dir": "/var/lib/etcd",
                                            "components": {"kube-proxy": observed}})
    assert outcome.passed is not True, outcome   # never the host's passing file


def test_a_k3s_drop_in_kept_by_override_waives_the_control_its_flag_decides():
    """k3s' kube-proxy-arg has no catalogue setting: the waiver finds 4.3.1 by the flag its check reads."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_plan
    values = hv.validate({"kubeguard_allow_override": {"kube-proxy.metrics-bind-address": "scraped from the LAN"}})
    plan = {"summary": [], "waived": {}}
    found = [(("kube-proxy", "metrics-bind-address"), "config.yaml.d/50-metrics.yaml: kube-proxy-arg metrics-bind-address=0.0.0.0:10249")]
    assert node_plan.refuse_or_waive(found, values, plan, "refused", "") == [("kube-proxy", "metrics-bind-address")]
    assert set(plan["waived"]) == {"4.3.1"} and "scraped from the LAN" in plan["waived"]["4.3.1"]
    with pytest.raises(ValueError, match="kubeguard_allow_override: {kube-proxy.metrics-bind-address: <your reason>}"):
        node_plan.refuse_or_waive(found, hv.validate({}), {"summary": [], "waived": {}}, "refused", "")


def test_the_root_may_be_procs_own_link_to_a_process_root(tmp_path):
    """/proc/<pid>/root is a link (the kernel's); a ConfigMap volume is links too (config.conf -> ..data/config.conf,
    ..data -> ..<timestamp>): read as kube-proxy reads it."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.base import rooted
    volume = tmp_path / "var" / "lib" / "kube-proxy"
    (volume / "..2026_12_05").mkdir(parents=True)
    (volume / "..2026_12_05" / "config.conf").write_text("metricsBindAddress: 127.0.0.1:10249\n")
    os.symlink("..2026_12_05", volume / "..data")
    os.symlink("..data/config.conf", volume / "config.conf")
    os.symlink(tmp_path, tmp_path.parent / f"{tmp_path.name}-root-link")
    assert rooted.read_in_root(str(tmp_path.parent / f"{tmp_path.name}-root-link"), "/var/lib/kube-proxy/config.conf") \
        == "metricsBindAddress: 127.0.0.1:10249\n"
    own = f"/proc/{os.getpid()}/root"   # the real magic link: this process's root is the host's
    assert rooted.read_in_root(own, str(volume / "config.conf")) == "metricsBindAddress: 127.0.0.1:10249\n"
    with pytest.raises(rooted.RootedReadError):
        rooted.read_in_root(own, str(volume))   # a directory is not a file


def test_a_file_is_stat_ed_as_the_process_opens_it_never_the_hosts(tmp_path):
    """stat_in_root: the mode and owner of the file a process opens - an absolute link starts again at its root."""
    from ansible_collections.kubeguard.hardening.plugins.module_utils.base import rooted
    root, host = tmp_path / "pod", tmp_path / "host.conf"
    (root / "etc").mkdir(parents=True)
    host.write_text("the host's\n")
    os.chmod(host, 0o600)
    (root / "etc" / "kubeconfig").write_text("the pod's\n")
    os.chmod(root / "etc" / "kubeconfig", 0o644)
    os.symlink(f"/../../../..{host}", root / "etc" / "escape")   # on the host this would be host.conf
    os.symlink("/etc/kubeconfig", root / "etc" / "link")
    assert rooted.stat_in_root(str(root), "/etc/link").st_mode & 0o777 == 0o644
    with pytest.raises(rooted.RootedReadError):
        rooted.stat_in_root(str(root), "/etc/escape")   # resolved inside the pod: nothing there, never the host's file
    with pytest.raises(rooted.RootedReadError):
        rooted.stat_in_root(str(root), "/")
