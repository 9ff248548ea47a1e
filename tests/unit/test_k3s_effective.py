"""What k3s really starts with: config.yaml, config.yaml.d drop-ins and the unit's command line,
and a plan that refuses (or waives) what they undo."""

from __future__ import annotations

import dataclasses

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars
from ansible_collections.kubeguard.hardening.plugins.module_utils.report import audit
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import never_weaker, node_operations, node_plan
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.k3s_config import K3sConfigError
from ansible_collections.kubeguard.hardening.plugins.module_utils.formats.k3s_effective import (
    COMMAND_LINE, Source, command_line_options, dropin_files, merge, overrides, sources, unit_command)

# As K3s' install script writes ExecStart (one quoted word per line) for
# `sh -s - server --kube-apiserver-arg profiling=true --protect-kernel-defaults`.
INSTALLED_UNIT = """[Service]
Type=notify
EnvironmentFile=-/etc/systemd/system/k3s.service.env
ExecStart=/usr/local/bin/k3s \\
    server \\
\t'--kube-apiserver-arg' \\
\t'profiling=true' \\
\t'--protect-kernel-defaults' \\
\t'--write-kubeconfig-mode=0600' \\
"""


def test_merge_replaces_unless_the_key_appends():
    options, origins = merge([
        Source("config.yaml", {"kube-apiserver-arg": ["profiling=false", "request-timeout=300s"], "node-label": "a=1"}),
        Source("10.yaml", {"kube-apiserver-arg+": ["audit-log-maxage=30"], "node-label": "b=2"}),
        Source("20.yaml", {"kubelet-arg+": "max-pods=10"}),   # first occurrence with + : set, not appended
    ])
    assert options["kube-apiserver-arg"] == ["profiling=false", "request-timeout=300s", "audit-log-maxage=30"]
    assert origins["kube-apiserver-arg"] == ["config.yaml", "10.yaml"]
    assert options["node-label"] == "b=2" and origins["node-label"] == ["10.yaml"]
    assert options["kubelet-arg"] == "max-pods=10"
    replaced, origins = merge([Source("config.yaml", {"kubelet-arg": ["read-only-port=0"]}),
                               Source("50.yaml", {"kubelet-arg": ["max-pods=10"]})])
    assert replaced["kubelet-arg"] == ["max-pods=10"] and origins["kubelet-arg"] == ["50.yaml"]


def test_dropins_in_k3s_order(tmp_path):
    config = tmp_path / "config.yaml"
    directory = tmp_path / "config.yaml.d"
    directory.mkdir()
    for name in ("20-b.yml", "10-a.yaml", "05-notes.txt", "30-C.YAML"):
        (directory / name).write_text("{}\n")
    (directory / "40-dir.yaml").mkdir()
    assert [p.rsplit("/", 1)[1] for p in dropin_files(str(config))] == ["10-a.yaml", "20-b.yml", "30-C.YAML"]
    assert dropin_files(str(tmp_path / "missing.yaml")) == []


def test_unit_command_line_as_the_install_script_writes_it():
    words = unit_command(INSTALLED_UNIT)
    assert words[:3] == ["/usr/local/bin/k3s", "server", "--kube-apiserver-arg"]
    assert command_line_options(words) == {"kube-apiserver-arg+": ["profiling=true"], "protect-kernel-defaults+": ["true"],
                                           "write-kubeconfig-mode+": ["0600"]}
    # a reset (empty ExecStart=) then a new one: the last counts; no subcommand: nothing
    assert unit_command("ExecStart=/bin/a server\nExecStart=\nExecStart=-/bin/k3s agent --kubelet-arg=a=b\n") == [
        "/bin/k3s", "agent", "--kubelet-arg=a=b"]
    assert command_line_options(["/bin/k3s", "--debug"]) == {}
    assert command_line_options(["k3s", "server", "--cluster-init", "--token", "t", "--selinux"]) == {
        "cluster-init+": ["true"], "token+": ["t"], "selinux+": ["true"]}


def _files(tmp_path, config, dropins, unit=None):
    path = tmp_path / "config.yaml"
    path.write_text(config)
    (tmp_path / "config.yaml.d").mkdir()
    for name, text in dropins.items():
        (tmp_path / "config.yaml.d" / name).write_text(text)
    unit_path = None
    if unit is not None:
        unit_path = tmp_path / "k3s.service"
        unit_path.write_text(unit)
    return str(path), (str(unit_path) if unit_path else None)


LISTS = {"kube-apiserver-arg": {"profiling": "false", "request-timeout": "300s", "insecure-port": None},
         "kubelet-arg": {"read-only-port": 0}}
TOP = {"protect-kernel-defaults": True}
CONFIG = ("kube-apiserver-arg:\n  - profiling=false\n  - request-timeout=300s\nkubelet-arg:\n  - read-only-port=0\n"
          "protect-kernel-defaults: true\n")


def test_no_dropins_no_overrides(tmp_path):
    path, _ignored = _files(tmp_path, CONFIG, {"10-same.yaml": "kube-apiserver-arg+: [profiling=false]\nnode-label+: [x=y]\n"})
    assert overrides(sources(path), LISTS, TOP) == []


def test_a_dropin_that_replaces_a_list_or_appends_a_weaker_flag_is_named(tmp_path):
    path, _ignored = _files(tmp_path, CONFIG, {
        "50-user.yaml": "kube-apiserver-arg:\n  - request-timeout=300s\n",     # no '+': replaces the list
        "60-debug.yml": "kubelet-arg+:\n  - read-only-port=10255\nkube-apiserver-arg+: [insecure-port=8080]\n",
        "70-pkd.yaml": "protect-kernel-defaults: false\n"})
    found = {(o.option, o.flag): o for o in overrides(sources(path), LISTS, TOP)}
    assert set(found) == {("kube-apiserver-arg", "profiling"), ("kube-apiserver-arg", "insecure-port"),
                          ("kubelet-arg", "read-only-port"), ("protect-kernel-defaults", None)}
    profiling = found[("kube-apiserver-arg", "profiling")]
    assert profiling.effective is None and profiling.by == (str(tmp_path / "config.yaml.d/50-user.yaml"),
                                                            str(tmp_path / "config.yaml.d/60-debug.yml"))
    assert found[("kubelet-arg", "read-only-port")].describe() == (
        f"{tmp_path}/config.yaml.d/60-debug.yml makes kubelet-arg: read-only-port 10255 (this run sets 0)")
    assert found[("kube-apiserver-arg", "insecure-port")].describe().endswith("insecure-port 8080 (this run sets absent)")
    assert found[("protect-kernel-defaults", None)].effective == "false"


def test_the_units_command_line_comes_last(tmp_path):
    path, unit = _files(tmp_path, CONFIG, {}, INSTALLED_UNIT)
    found = overrides(sources(path, None, unit), LISTS, TOP)
    assert [(o.option, o.flag, o.effective, o.by) for o in found] == [
        ("kube-apiserver-arg", "profiling", "true", (COMMAND_LINE,))]


def test_k3s_pointed_at_another_config_file_is_refused(tmp_path):
    path, unit = _files(tmp_path, CONFIG, {}, "[Service]\nExecStart=/usr/local/bin/k3s server --config /srv/k3s.yaml\n")
    with pytest.raises(K3sConfigError, match="k3s is told to read /srv/k3s.yaml"):
        sources(path, None, unit)
    env = tmp_path / "k3s.service.env"
    env.write_text("K3S_TOKEN=abc\nK3S_CONFIG_FILE='/srv/other.yaml'\n")
    (tmp_path / "k3s.service").write_text(f"[Service]\nEnvironmentFile=-{env}\nExecStart=/usr/local/bin/k3s server\n")
    with pytest.raises(K3sConfigError, match=f"/srv/other.yaml .*in {env}"):
        sources(path, None, unit)
    # pointed at the same file: fine
    env.write_text(f"K3S_CONFIG_FILE={path}\n")
    assert sources(path, None, unit)[0].name == path


def test_a_broken_dropin_is_refused_naming_it(tmp_path):
    path, _ignored = _files(tmp_path, CONFIG, {"10-bad.yaml": "kubelet-arg: [unclosed\n"})
    with pytest.raises(K3sConfigError, match="10-bad.yaml: not valid YAML"):
        sources(path)
    other = tmp_path / "other"
    other.mkdir()
    path2, _ignored = _files(other, CONFIG, {"10-list.yaml": "- a\n"})
    with pytest.raises(K3sConfigError, match="10-list.yaml: must hold a YAML mapping"):
        sources(path2)


# ---- the node's plan ---------------------------------------------------------------------------------

SETTINGS = {"node_audit_rules_file": "/etc/audit/rules.d/20-kubeguard-kubernetes.rules", "sysctl_file": "/s",
            "audit_shared_log_dirs": [], "etcd_user": "etcd", "etcd_env_file": "/e", "kubelet_firewall_dropin": "/x",
            "metrics_firewall_dir": "/nonexistent/kubeguard",
            "metrics_firewall_unit_file": "/nonexistent/kubeguard-metrics-firewall.service", "kubelet_serving_cert": "/y"}
LOG = """time="2026-11-23T10:00:01Z" level=info msg="Running kube-apiserver --advertise-port=6443 --anonymous-auth=false --profiling=false"
time="2026-11-23T10:00:02Z" level=info msg="Running kubelet --read-only-port=0 --anonymous-auth=false"
"""


def _k3s_plan(tmp_path, variables, dropins, control_plane=True):
    config = tmp_path / "config.yaml"
    config.write_text("token: s3cret\n")
    (tmp_path / "config.yaml.d").mkdir()
    for name, text in dropins.items():
        (tmp_path / "config.yaml.d" / name).write_text(text)
    layout = dataclasses.replace(catalogue.layout_for("k3s"), components={
        **catalogue.layout_for("k3s").components, "config": str(config),
        "unit_files": {"server": str(tmp_path / "none.service"), "agent": str(tmp_path / "none.service")}})
    values = hardening_vars.validate(variables)
    state = audit.observe(layout, journal_reader=lambda argv: "0123\n" if argv[0] == "systemctl" else LOG)
    plan = never_weaker.plan(values, layout, state)
    plan["summary"] = []
    node = {"control_plane": control_plane, "etcd_host": False, "kubelet_allowed": [], "kubelet_running": True}
    ops = node_operations.operations(values, layout, plan, node, SETTINGS)
    node_plan.k3s_overrides(ops, layout, values, node, plan)
    return ops, plan


def test_plan_refuses_dropins_that_undo_the_hardening(tmp_path):
    dropins = {"90-tuning.yaml": "kube-apiserver-arg+: [profiling=true]\nkubelet-arg+: [read-only-port=10255]\n"
                                 "secrets-encryption: false\n"}
    with pytest.raises(ValueError) as error:
        _k3s_plan(tmp_path, {"kube_encrypt_secret_data": True}, dropins)
    message = str(error.value)
    assert f"k3s reads more than {tmp_path}/config.yaml" in message
    assert f"{tmp_path}/config.yaml.d/90-tuning.yaml makes kube-apiserver-arg: profiling true (this run sets false)" in message
    assert "kubeguard_allow_override: {kube-apiserver.profiling: <your reason>}" in message
    # kubelet flags are named by the field kubeguard_allow_override takes
    assert "kubeguard_allow_override: {kubelet.readOnlyPort: <your reason>}" in message
    assert "makes secrets-encryption false (this run sets true)" in message
    assert "kube-apiserver.encryption-provider-config" in message
    assert message.endswith("Remove those values (or append with `<option>+:` and the hardened value), then run again")


def test_plan_waives_what_kubeguard_allow_override_names(tmp_path):
    ops, plan = _k3s_plan(tmp_path, {"kubeguard_allow_override": {"kubelet.readOnlyPort": "legacy metrics scraper"}},
                          {"90-tuning.yaml": "kubelet-arg+: [read-only-port=10255]\n"}, control_plane=False)
    assert plan["waived"]["4.2.4"].startswith(f"{tmp_path}/config.yaml.d/90-tuning.yaml makes kubelet-arg: read-only-port 10255")
    assert "legacy metrics scraper" in plan["waived"]["4.2.4"]
    assert any(line.startswith("waived: ") and "read-only-port" in line for line in plan["summary"])
    # the restart gate no longer expects our value k3s will not start with
    assert "read-only-port" not in ops["k3s"]["service"]["components"]["kubelet"]
    assert "anonymous-auth" in ops["k3s"]["service"]["components"]["kubelet"]


# ---- embedded etcd -----------------------------------------------------------------------------------

# What k3s writes into its etcd data directory at each start with cluster-init (sigs.k8s.io/yaml, keys sorted).
ETCD_CONFIG = """advertise-client-urls: https://10.0.0.4:2379
client-transport-security:
  cert-file: /var/lib/rancher/k3s/server/tls/etcd/server-client.crt
  client-cert-auth: true
  key-file: /var/lib/rancher/k3s/server/tls/etcd/server-client.key
  trusted-ca-file: /var/lib/rancher/k3s/server/tls/etcd/server-ca.crt
data-dir: {data_dir}
election-timeout: 5000
heartbeat-interval: 500
listen-client-urls: https://10.0.0.4:2379,https://127.0.0.1:2379
log-outputs:
- stderr
logger: zap
name: server1-4bd8a7c3
peer-transport-security:
  cert-file: /var/lib/rancher/k3s/server/tls/etcd/peer-server-client.crt
  client-cert-auth: true
  key-file: /var/lib/rancher/k3s/server/tls/etcd/peer-server-client.key
  trusted-ca-file: /var/lib/rancher/k3s/server/tls/etcd/peer-ca.crt
"""


def _embedded(tmp_path, text):
    config = tmp_path / "etcd-config"
    if text is not None:
        config.write_text(text)
    base = catalogue.layout_for("k3s")
    return dataclasses.replace(base, components={**base.components, "etcd_config": str(config),
                                                 "config": str(tmp_path / "none.yaml")})


def test_embedded_etcd_is_audited_from_the_config_k3s_writes(tmp_path):
    data_dir = tmp_path / "db-etcd"
    data_dir.mkdir(mode=0o700)
    layout = _embedded(tmp_path, ETCD_CONFIG.format(data_dir=data_dir))
    state = audit.observe(layout, journal_reader=lambda argv: "0123\n" if argv[0] == "systemctl" else LOG)
    etcd = state["components"]["etcd"]
    assert etcd["source"] == "config file"
    assert etcd["flags"]["peer-client-cert-auth"] == "true" and etcd["flags"]["client-cert-auth"] == "true"
    assert etcd["flags"]["peer-trusted-ca-file"].endswith("/peer-ca.crt") and etcd["flags"]["log-outputs"] == "stderr"
    assert state["etcd_data_dir"] == str(data_dir)
    catalogue_data = catalogue.load()
    report = audit.node_report(state, ["control_plane"], {}, catalogue_data, "server1", "k3s")
    status = {r["id"]: r for r in report["results"]}
    assert "etcd" in report["roles"]    # a server that runs etcd is audited as an etcd node
    assert [status[c]["status"] for c in ("2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "1.1.11")] == ["pass"] * 7
    assert status["1.1.12"]["status"] == "not_applicable" and "inside its own process" in status["1.1.12"]["found"]
    # a weaker etcd is seen as such
    peer = "  key-file: /var/lib/rancher/k3s/server/tls/etcd/peer"
    weak = ETCD_CONFIG.format(data_dir=data_dir).replace("  client-cert-auth: true\n" + peer, "  client-cert-auth: false\n" + peer)
    (tmp_path / "etcd-config").write_text(weak + "auto-tls: true\n")
    state = audit.observe(layout, journal_reader=lambda argv: "0123\n" if argv[0] == "systemctl" else LOG)
    status = {r["id"]: r["status"] for r in audit.node_report(state, ["control_plane"], {}, catalogue_data, "s", "k3s")["results"]}
    assert status["2.5"] == "fail" and status["2.2"] == "pass" and status["2.3"] == "fail"


def test_no_embedded_etcd_no_etcd_role(tmp_path):
    layout = _embedded(tmp_path, None)     # kine (sqlite) or an agent: no etcd config
    state = audit.observe(layout, journal_reader=lambda argv: "0123\n" if argv[0] == "systemctl" else LOG)
    assert state["components"]["etcd"]["source"] == "absent"
    report = audit.node_report(state, ["control_plane"], {}, catalogue.load(), "server1", "k3s")
    assert "etcd" not in report["roles"]


def test_unit_dropins_and_unreadable_command_lines(tmp_path):
    path, unit = _files(tmp_path, CONFIG, {}, "[Service]\nExecStart=/usr/local/bin/k3s server\n")
    override = tmp_path / "k3s.service.d"
    override.mkdir()
    (override / "10-debug.conf").write_text("[Service]\nExecStart=\nExecStart=/usr/local/bin/k3s server --kubelet-arg=read-only-port=10255\n")
    found = overrides(sources(path, None, unit), LISTS, TOP)
    assert [(o.option, o.flag, o.effective, o.by) for o in found] == [("kubelet-arg", "read-only-port", "10255", (COMMAND_LINE,))]
    (override / "10-debug.conf").write_text("[Service]\nExecStart=\nExecStart=/usr/local/bin/k3s server '--unclosed\n")
    with pytest.raises(K3sConfigError, match="k3s.service: ExecStart cannot be read"):
        sources(path, None, unit)
