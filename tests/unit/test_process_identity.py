"""Which process is the component: not whatever is named like it. A process counts only when argv[0],
the binary it executes (/proc/<pid>/exe, which `exec -a` cannot fake), its user (root) and its network (the
node's) agree; several
that disagree are never decided by picking one (audit: manual listing the pids, health gate: not healthy
yet); integrity hashes the binary that runs; k3s' log lines count only in k3s' own format; the rollback
quotes only the component's own static pod log."""

from __future__ import annotations

import functools
import glob
import hashlib
import importlib.util
import os
import re

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import health, integrity
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import never_weaker

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOBODY = 65534


def start(proc, pid, args, exe, uid=0, euid=None, environ=None):
    """A process as /proc shows it: cmdline, status (its Uid line), environ and the exe link."""
    piddir = proc / str(pid)
    piddir.mkdir(parents=True)
    (piddir / "cmdline").write_bytes(b"\0".join(a.encode() for a in args) + (b"\0" if args else b""))
    euid = uid if euid is None else euid
    (piddir / "status").write_text(f"Name:\tx\nState:\tS (sleeping)\nUid:\t{uid}\t{euid}\t{euid}\t{euid}\nGid:\t0\t0\t0\t0\n")
    (piddir / "environ").write_bytes(b"\0".join(f"{k}={v}".encode() for k, v in (environ or {}).items()))
    if exe is not None:
        os.symlink(exe, piddir / "exe")


def manifest_command(layout, component):
    with open(os.path.join(layout.manifests_dir, f"{component}.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["spec"]["containers"][0]["command"]


def by_id(results):
    return {r["id"]: r for r in results}


APISERVER = "/usr/local/bin/kube-apiserver"


# --- who is the component ------------------------------------------------------------------------------

def test_only_root_running_the_binary_it_is_named_after_counts(tmp_path):
    proc = tmp_path / "proc"
    fake = ["kube-apiserver", "--encryption-provider-config=/tmp/fake.yaml"]
    start(proc, 50, fake, "/bin/sleep", uid=NOBODY)                          # nobody: exec -a kube-apiserver /bin/sleep
    start(proc, 60, fake, "/bin/sleep")                                      # root, but exe says sleep
    start(proc, 70, ["/home/u/kube-apiserver", "--profiling=true"], "/home/u/kube-apiserver", uid=1000)   # a user's copy
    start(proc, 75, ["/usr/local/bin/kube-apiserver"], APISERVER, uid=0, euid=1000)   # effective uid not root
    start(proc, 80, [], None)                                                # kernel thread: no cmdline, no exe
    start(proc, 85, ["kube-apiserver"], None)                                # exe unreadable (zombie, gone)
    start(proc, 100, [APISERVER, "--profiling=false"], APISERVER, environ={"A": "1"})
    start(proc, 7, ["/usr/bin/kubelet"], "/usr/bin/kubelet")                 # another component
    (proc / "self").mkdir()                                                  # not a pid
    found = health.component_processes("kube-apiserver", str(proc))
    assert [(p.pid, p.args, p.environ, p.exe) for p in found] == [("100", [APISERVER, "--profiling=false"], {"A": "1"}, APISERVER)]
    assert health.process_args("kube-apiserver", str(proc)) == [[APISERVER, "--profiling=false"]]
    assert health.component_processes("kube-apiserver", str(tmp_path / "missing")) == []


def test_a_pods_own_root_process_off_the_host_network_is_no_component(tmp_path):
    """A tenant's pod may run as root a binary of its own named kube-proxy (Pod Security's baseline allows root, not
    hostNetwork): every component runs in the node's network namespace, PID 1's."""
    proc = tmp_path / "proc"
    start(proc, 1, ["/sbin/init"], "/sbin/init")
    proxy = ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf"]
    start(proc, 300, proxy, "/usr/local/bin/kube-proxy")                   # kube-proxy's pod: hostNetwork
    start(proc, 400, proxy, "/usr/local/bin/kube-proxy")                   # a tenant's root pod, its own network
    start(proc, 500, proxy, "/usr/local/bin/kube-proxy")                   # namespace not readable
    for pid, namespace in ((1, "net:[4026531840]"), (300, "net:[4026531840]"), (400, "net:[4026532999]")):
        (proc / str(pid) / "ns").mkdir()
        os.symlink(namespace, proc / str(pid) / "ns" / "net")
    assert [p.pid for p in health.component_processes("kube-proxy", str(proc))] == ["300"]
    # without PID 1's namespace to compare with (no namespaces under this root) it decides nothing
    os.unlink(proc / "1" / "ns" / "net")
    assert [p.pid for p in health.component_processes("kube-proxy", str(proc))] == ["300", "400", "500"]


def test_k3s_retitled_by_itself_still_counts_and_a_name_alone_does_not(tmp_path):
    """k3s sets its title to "/usr/local/bin/k3s server" (one argument); argv[0] is that argument's first word."""
    start(tmp_path, 40, ["/usr/local/bin/k3s server"], "/usr/local/bin/k3s")
    start(tmp_path, 41, ["/usr/local/bin/k3s server"], "/bin/sleep")                  # the title without the binary
    start(tmp_path, 42, ["/usr/local/bin/kube-apiserver x"], APISERVER)              # only k3s is read by its first word
    assert [p.pid for p in health.component_processes("k3s", str(tmp_path))] == ["40"]
    assert health.component_processes("kube-apiserver", str(tmp_path)) == []


def test_a_binary_replaced_while_it_runs_still_counts(tmp_path):
    """After an upgrade /proc/<pid>/exe reads '/usr/bin/kubelet (deleted)'."""
    start(tmp_path, 300, ["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml"], "/usr/bin/kubelet (deleted)")
    found = health.component_processes("kubelet", str(tmp_path))
    assert [p.pid for p in found] == ["300"] and found[0].exe == "/usr/bin/kubelet"


def test_in_a_container_the_exe_is_the_containers_own_path(tmp_path):
    """A static pod's process: argv[0] without a directory, exe the path in the image, root, no host PID namespace needed."""
    start(tmp_path, 4242, ["kube-apiserver", "--profiling=false"], APISERVER)
    assert health.process_args("kube-apiserver", str(tmp_path)) == [["kube-apiserver", "--profiling=false"]]


# --- the audit -----------------------------------------------------------------------------------------

def test_a_fake_named_like_the_apiserver_does_not_decide_the_audit(kubeadm_files):
    root, layout = kubeadm_files
    proc = root / "proc"
    command = manifest_command(layout, "kube-apiserver")
    # lowest pid: nobody's exec -a fake claiming encryption and every flag CIS wants
    start(proc, 10, ["kube-apiserver", "--encryption-provider-config=/tmp/fake.yaml", "--profiling=false",
                     "--audit-log-path=/var/log/a.log"], "/bin/sleep", uid=NOBODY)
    start(proc, 11, ["/home/u/kube-apiserver", "--profiling=false"], "/home/u/kube-apiserver", uid=1000)
    start(proc, 500, command + ["--profiling=true"], APISERVER)
    state = audit.observe(layout, str(proc))
    observed = state["components"]["kube-apiserver"]
    assert observed["source"] == "process" and "pids" not in observed and "disputed" not in observed
    assert "encryption-provider-config" not in observed["flags"] and state["encryption_providers"] == []
    results = by_id(audit.audit(state, ["control_plane"]))
    assert results["1.2.15"]["status"] == "fail" and results["1.2.15"]["found"] == "--profiling=true"
    assert results["1.2.16"]["status"] == "fail"
    assert results["1.2.28"]["check_passed"] is False and results["1.2.28"]["found"] == "no encryption config"


@pytest.mark.parametrize("fake_first", [True, False])
def test_two_root_apiservers_that_differ_make_what_they_disagree_on_manual(kubeadm_files, fake_first):
    root, layout = kubeadm_files
    proc = root / "proc"
    command = manifest_command(layout, "kube-apiserver")
    real_pid, fake_pid = (900, 100) if fake_first else (100, 900)
    start(proc, real_pid, command + ["--profiling=true"], APISERVER)
    start(proc, fake_pid, command + ["--profiling=false", "--audit-log-path=/var/log/a.log",
                                     "--encryption-provider-config=/tmp/fake.yaml"], "/opt/evil/kube-apiserver")
    state = audit.observe(layout, str(proc))
    observed = state["components"]["kube-apiserver"]
    assert observed["pids"] == ["100", "900"]
    assert set(observed["disputed"]) == {"profiling", "audit-log-path", "encryption-provider-config"}
    assert "profiling" not in observed["flags"] and observed["flags"]["secure-port"] == "6443"   # agreed: still judged
    results = by_id(audit.audit(state, ["control_plane"]))
    for cid in ("1.2.15", "1.2.16", "1.2.27", "1.2.28"):
        assert results[cid]["status"] == "manual", cid
        assert results[cid]["check_passed"] is None, cid
        assert "pids 100, 900" in results[cid]["found"] and "not judged" in results[cid]["found"], cid
    assert f"--profiling=true in pid {real_pid}" in results["1.2.15"]["found"]
    assert f"--profiling=false in pid {fake_pid}" in results["1.2.15"]["found"]
    assert f"--audit-log-path not set in pid {real_pid}" in results["1.2.16"]["found"]
    # what both run with is judged as with one process (the scheduler's manifest is untouched: still judged)
    single = by_id(audit.audit(audit.observe(layout, str(root / "none")), ["control_plane"]))
    assert results["1.4.1"]["status"] == single["1.4.1"]["status"] == "fail"
    agreed = [cid for cid, r in results.items() if r["component"] == "kube-apiserver" and r["automated"]
              and r["status"] in ("pass", "fail")]
    assert agreed and all(results[cid]["status"] == single[cid]["status"] for cid in agreed)


def test_never_weaker_does_not_count_a_disputed_control_as_passing(kubeadm_files):
    root, layout = kubeadm_files
    proc = root / "proc"
    command = manifest_command(layout, "kube-apiserver")
    start(proc, 100, command + ["--profiling=false"], "/opt/evil/kube-apiserver")
    start(proc, 200, command + ["--profiling=true"], APISERVER)
    state = audit.observe(layout, str(proc))
    control = next(c for c in catalogue.controls() if str(c["id"]) == "1.2.15")
    assert audit.judge_control(control, state, file_reader=lambda *_ignored: []).passed is None
    assert not never_weaker._judge(control, state)
    # the flag we write decides it again (never_weaker's view of the node after the change)
    after = never_weaker.overlay(state, "kube-apiserver", {"profiling": "false"})
    assert never_weaker._judge(control, after)


def test_all_and_any_decide_only_when_the_judged_parts_decide():
    assert audit._combine(True, [True, None]) is None and audit._combine(True, [False, None]) is False
    assert audit._combine(False, [True, None]) is True and audit._combine(False, [False, None]) is None
    assert audit._combine(True, [True, True]) is True and audit._combine(False, [False, False]) is False


def test_parent_and_child_with_the_same_arguments_agree(kubeadm_files):
    root, layout = kubeadm_files
    proc = root / "proc"
    command = manifest_command(layout, "kube-apiserver") + ["--profiling=false"]
    start(proc, 100, command, APISERVER)
    start(proc, 101, command, APISERVER)
    state = audit.observe(layout, str(proc))
    assert "pids" not in state["components"]["kube-apiserver"]
    results = by_id(audit.audit(state, ["control_plane"]))
    assert results["1.2.15"]["status"] == "pass" and results["1.2.15"]["found"] == "--profiling=false"


def test_host_etcd_copies_with_different_environments_are_not_judged(kubeadm_files):
    root, layout = kubeadm_files
    proc = root / "proc"
    os.unlink(os.path.join(layout.manifests_dir, "etcd.yaml"))
    start(proc, 300, ["/usr/local/bin/etcd"], "/usr/local/bin/etcd", environ={"ETCD_CLIENT_CERT_AUTH": "true"})
    start(proc, 301, ["/usr/local/bin/etcd"], "/usr/local/bin/etcd", environ={"ETCD_CLIENT_CERT_AUTH": "false"})
    results = by_id(audit.audit(audit.observe(layout, str(proc)), ["etcd"]))
    assert results["2.2"]["status"] == "manual" and "pids 300, 301" in results["2.2"]["found"]


# --- the health gate -------------------------------------------------------------------------------------

def test_the_health_gate_refuses_to_judge_two_differing_apiservers(tmp_path):
    proc = tmp_path / "proc"
    start(proc, 100, [APISERVER, "--profiling=false"], APISERVER)
    start(proc, 200, [APISERVER, "--profiling=true"], "/opt/evil/kube-apiserver")
    processes_of = functools.partial(health.component_processes, proc_root=str(proc))
    ok, detail = health.wait_healthy("kube-apiserver", {"profiling": "false"}, None, timeout=0, interval=0,
                                     stable_for=1, processes_of=processes_of)
    assert ok is False
    assert detail.startswith("not healthy yet: 2 processes named kube-apiserver (pids 100, 200)")
    # the second one gone: judged, and it runs with the flags we wrote
    os.unlink(proc / "200" / "exe")
    ok, detail = health.wait_healthy("kube-apiserver", {"profiling": "false"}, None, timeout=0, interval=0,
                                     stable_for=1, processes_of=processes_of)
    assert ok is True and detail == "kube-apiserver runs with the new flags"


def test_the_health_gate_ignores_fakes_and_accepts_identical_copies(tmp_path):
    proc = tmp_path / "proc"
    start(proc, 5, ["kube-apiserver", "--profiling=true"], "/bin/sleep", uid=NOBODY)
    start(proc, 100, [APISERVER, "--profiling=false"], APISERVER)
    start(proc, 101, [APISERVER, "--profiling=false"], APISERVER)
    processes_of = functools.partial(health.component_processes, proc_root=str(proc))
    assert health.wait_healthy("kube-apiserver", {"profiling": "false"}, None, timeout=0, interval=0, stable_for=1,
                               processes_of=processes_of) == (True, "kube-apiserver runs with the new flags")


def test_the_health_gate_compares_the_environment_of_each_copy(tmp_path):
    start(tmp_path, 1, ["/usr/local/bin/etcd"], "/usr/local/bin/etcd", environ={"ETCD_AUTO_TLS": "false"})
    start(tmp_path, 2, ["/usr/local/bin/etcd"], "/usr/local/bin/etcd", environ={"ETCD_AUTO_TLS": "true"})
    ok, detail = health.wait_healthy("etcd", {}, None, timeout=0, interval=0, stable_for=1,
                                     expected_environ={"ETCD_AUTO_TLS": "false"},
                                     processes_of=functools.partial(health.component_processes, proc_root=str(tmp_path)))
    assert ok is False and "different environments" in detail and "pids 1, 2" in detail


# --- k3s' log lines --------------------------------------------------------------------------------------

def _journal(lines):
    text = "\n".join(lines) + "\n"
    return lambda argv: "0123abcd\n" if argv[0] == "systemctl" else text


def test_only_k3s_own_running_lines_count_and_the_last_wins():
    found = health.journal_running_args(["k3s"], run=_journal([
        'time="2026-11-23T10:00:01Z" level=info msg="Running kube-apiserver --profiling=false --anonymous-auth=false"',
        # a message that merely quotes the words (a pod's event, an error) - after the real line, must not win
        'time="2026-11-23T10:00:02Z" level=error msg="pod tenant/x: Running kube-apiserver --profiling=true"',
        'Running kube-apiserver --profiling=true',
        'time="2026-11-23T10:00:03Z" level=info msg="Running kube-apiserver --profiling=true" and more',
        'time="2026-11-23T10:00:04Z" level=warning msg="Running kube-apiserver --profiling=true"',
        'time="2026-11-23T10:00:05Z" level=info msg="Running kube-apiserverx --profiling=true"',
        'time="2026-11-23T10:00:06Z" level=info msg="Running evil --profiling=true"',
        # k3s restarting the kubelet: the later well-formed line wins
        'time="2026-11-23T10:00:07Z" level=info msg="Running kubelet --read-only-port=10255"',
        'time="2026-11-23T10:00:08Z" level=info msg="Running kubelet --read-only-port=0 --node-labels=a=\\"b c\\""',
    ]))
    assert found == {"kube-apiserver": ["kube-apiserver", "--profiling=false", "--anonymous-auth=false"],
                     "kubelet": ["kubelet", "--read-only-port=0", '--node-labels=a="b c"']}


def test_the_test_beds_k3s_lines_are_read(capsys):
    spec = importlib.util.spec_from_file_location("k3s_standin", os.path.join(REPO, "testbed", "k3s", "k3s-standin.py"))
    standin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(standin)
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"):
        args = standin.DEFAULTS[component]
        standin.log("info", f"Running {component} " + " ".join(f"--{k}={v}" for k, v in sorted(args.items())))
    lines = capsys.readouterr().err.splitlines()
    found = health.journal_running_args(["k3s"], run=_journal(lines))
    assert set(found) == {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"}
    assert "--eviction-hard=imagefs.available<5%,nodefs.available<5%" in found["kubelet"]
    assert "--profiling=false" in found["kube-apiserver"]


# --- integrity -------------------------------------------------------------------------------------------

def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_integrity_hashes_the_running_binary_not_a_file_of_that_name(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "kubelet").write_bytes(b"the published kubelet")      # installed, not what runs
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "kubelet").write_bytes(b"a kubelet someone swapped in")
    proc = tmp_path / "proc"
    start(proc, 300, ["/usr/bin/kubelet"], str(tmp_path / "run" / "kubelet"))
    wanted = {"kubelet": {"*": [sha256(b"the published kubelet")]}}

    def find(name):
        return integrity.locate(name, [str(tmp_path / "bin")])
    verdict = integrity.verify(wanted, "x86_64", find, proc_root=str(proc))["kubelet"]
    assert verdict["passed"] is False and "(running, pid 300)" in verdict["found"]
    assert sha256(b"a kubelet someone swapped in") in verdict["found"]
    # nothing runs: the installed one is hashed
    verdict = integrity.verify(wanted, "x86_64", find, proc_root=str(tmp_path / "noproc"))["kubelet"]
    assert verdict["passed"] is True and str(tmp_path / "bin" / "kubelet") in verdict["found"]
    # a binary replaced on disk while it runs: the running one (through the exe link) is what counts
    (tmp_path / "run" / "kubelet (deleted)").write_bytes(b"the published kubelet")
    os.unlink(proc / "300" / "exe")
    os.symlink(str(tmp_path / "run" / "kubelet (deleted)"), proc / "300" / "exe")
    verdict = integrity.verify(wanted, "x86_64", find, proc_root=str(proc))["kubelet"]
    assert verdict["passed"] is True and f"{tmp_path / 'run' / 'kubelet'} (running, pid 300)" in verdict["found"]


def test_integrity_checks_every_running_copy_and_ignores_fakes(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "etcd").write_bytes(b"etcd")
    (tmp_path / "b" / "etcd").write_bytes(b"other etcd")
    proc = tmp_path / "proc"
    start(proc, 1, ["etcd"], "/bin/sleep", uid=NOBODY)                         # a fake: not hashed
    start(proc, 2, ["/usr/local/bin/etcd"], str(tmp_path / "a" / "etcd"))
    start(proc, 3, ["/usr/local/bin/etcd"], str(tmp_path / "a" / "etcd"))   # the same file: hashed once
    wanted = {"etcd": {"*": [sha256(b"etcd")]}}
    verdict = integrity.verify(wanted, "x86_64", lambda name: None, proc_root=str(proc))["etcd"]
    assert verdict == {"passed": True, "found": f"{tmp_path / 'a' / 'etcd'} (running, pid 2) {sha256(b'etcd')} matches"}
    start(proc, 4, ["/usr/local/bin/etcd"], str(tmp_path / "b" / "etcd"))
    verdict = integrity.verify(wanted, "x86_64", lambda name: None, proc_root=str(proc))["etcd"]
    assert verdict["passed"] is False and "pid 4) is " + sha256(b"other etcd") in verdict["found"]


def test_integrity_of_a_binary_neither_running_nor_installed_is_manual(tmp_path):
    verdicts = integrity.verify({"kubelet": {"*": [sha256(b"k")]}, "containerd": {"*": [sha256(b"c")]}}, "x86_64",
                                lambda name: None, proc_root=str(tmp_path))
    assert all(v["passed"] is None and "not installed" in v["found"] and "does not run" in v["found"]
               for v in verdicts.values())
    state = {"layout": catalogue.layout_for("kubeadm").as_dict(), "etcd_data_dir": "/var/lib/etcd", "components": {},
             "listeners": [], "integrity": verdicts}
    results = by_id(audit.audit(state, ["worker"], file_reader=lambda *_ignored: []))
    assert results["K.15"]["status"] == "manual" and "does not run on this node" in results["K.15"]["found"]
    assert results["K.18"]["status"] == "manual"


def test_the_audit_hashes_what_runs_in_its_proc(kubeadm_files):
    root, layout = kubeadm_files
    (root / "bin").mkdir()
    (root / "bin" / "kubelet").write_bytes(b"kubelet")
    start(root / "proc", 300, ["/usr/bin/kubelet", f"--config={layout.kubelet_config}"], str(root / "bin" / "kubelet"))
    state = audit.observe(layout, str(root / "proc"), checksums={"kubelet": {"*": [sha256(b"kubelet")]}})
    assert state["integrity"]["kubelet"]["passed"] is True and "(running, pid 300)" in state["integrity"]["kubelet"]["found"]


# --- the rollback's log ----------------------------------------------------------------------------------

def test_the_rollback_quotes_only_the_components_static_pod_log(tmp_path):
    with open(os.path.join(REPO, "roles", "common", "tasks", "rollback_component.yml"), encoding="utf-8") as handle:
        task = yaml.safe_load(handle)[0]
    pattern = re.search(r"ls -t (/var/log/pods/.+?\.log)", task["ansible.builtin.shell"]["cmd"]).group(1)
    assert pattern.startswith("/var/log/pods/kube-system_")
    pattern = pattern.replace("{{ kubeguard_rb_process }}", "kube-apiserver").replace("/var/log/pods", str(tmp_path))
    for pod in ("kube-system_kube-apiserver-node1_0a1b", "tenant_kube-apiserver-x_9f9f",
                "kube-systemx_kube-apiserver-y_1234", "other_kube-system_kube-apiserver-z_5678"):
        (tmp_path / pod / "kube-apiserver").mkdir(parents=True)
        (tmp_path / pod / "kube-apiserver" / "0.log").write_text("line\n")
    assert glob.glob(pattern) == [str(tmp_path / "kube-system_kube-apiserver-node1_0a1b" / "kube-apiserver" / "0.log")]
