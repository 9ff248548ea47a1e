"""containerd's config.toml hardened in place: only the keys we set change, every version containerd reads,
nothing placed by guesswork; the audit reads the config, socket and runc back; the restart gate sees lost
or restarted containers."""

from __future__ import annotations

import os
import tomllib

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import toml_edit
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import containerd
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv
from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_plan

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "containerd")
with open(os.path.join(FIXTURES, "config-v2-debian.toml"), encoding="utf-8") as _handle:
    DEBIAN = _handle.read()      # `containerd config default` of Debian's containerd 1.6.20
CRI = '[plugins."io.containerd.grpc.v1.cri"]'
# the shape of a containerd 2.x config (version 3): its defaults allow unprivileged ports and ICMP
V3 = """version = 3
root = '/var/lib/containerd'

[grpc]
  address = '/run/containerd/containerd.sock'
  tcp_address = '0.0.0.0:2376'   # someone's remote access

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'

  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false

  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '0.0.0.0'
    stream_server_port = '0'
"""


def values(**given):
    return hv.validate(given)


def loosened(text: str) -> str:
    return (text.replace('stream_server_address = "127.0.0.1"', 'stream_server_address = ""')
            .replace("enable_unprivileged_ports = false", "enable_unprivileged_ports = true"))


def test_debian_default_is_already_hardened_and_stays_byte_identical():
    text, changes, version = containerd.edit(DEBIAN, values())
    assert (text, changes, version) == (DEBIAN, [], 2)


def test_a_loosened_v2_config_changes_only_those_lines():
    before = loosened(DEBIAN)
    after, changes, _version = containerd.edit(before, values())
    assert after == DEBIAN
    assert sorted(changes) == ["plugins.'io.containerd.grpc.v1.cri'.enable_unprivileged_ports: true -> false",
                               "plugins.'io.containerd.grpc.v1.cri'.stream_server_address: \"\" -> \"127.0.0.1\""]
    assert containerd.edit(after, values())[1] == []          # idempotent


def test_v3_keys_go_to_the_runtime_plugin_and_missing_ones_are_added_under_their_table():
    after, changes, version = containerd.edit(V3, values())
    assert version == 3
    document = tomllib.loads(after)
    assert document["grpc"]["tcp_address"] == "" and document["grpc"]["uid"] == 0 and document["grpc"]["gid"] == 0
    runtime = document["plugins"]["io.containerd.cri.v1.runtime"]
    assert runtime["enable_unprivileged_ports"] is False and runtime["enable_unprivileged_icmp"] is False
    assert runtime["enable_selinux"] is False
    assert document["plugins"]["io.containerd.grpc.v1.cri"]["stream_server_address"] == "127.0.0.1"
    assert document["metrics"] == {"address": ""}
    # the comment, order and indentation of the untouched lines stay
    assert "root = '/var/lib/containerd'\n" in after and "    snapshotter = 'overlayfs'\n" in after
    assert "    enable_unprivileged_ports = false\n" in after.split("[plugins.'io.containerd.cri.v1.runtime']")[1]
    assert any("tcp_address" in c and "0.0.0.0:2376" in c for c in changes)
    assert containerd.edit(after, values())[1] == []


def test_user_settings_and_opt_ins_are_written():
    extra = {"plugins.'io.containerd.grpc.v1.cri'": {"max_container_log_line_size": 16384}, "grpc": {"max_recv_message_size": 33554432}}
    after, _changes, _version = containerd.edit(DEBIAN, values(kubeguard_containerd_settings=extra, containerd_enable_unprivileged_icmp=True,
                                                               containerd_metrics_address="127.0.0.1:1338"))
    document = tomllib.loads(after)
    cri = document["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["max_container_log_line_size"] == 16384 and cri["enable_unprivileged_icmp"] is True
    assert document["grpc"]["max_recv_message_size"] == 33554432 and document["metrics"]["address"] == "127.0.0.1:1338"


@pytest.mark.parametrize("text, message", [
    ('version = 1\n[plugins.cri]\n  stream_server_address = ""\n', "version 1 is not supported"),
    ("version = 2\ngrpc = { tcp_address = '0.0.0.0:1' }\n", "inline table or dotted keys.*set it by hand"),
    ('version = 2\ngrpc.tcp_address = "0.0.0.0:1"\n', "dotted key.*set it by hand"),
    ('version = 2\n[grpc]\n  tcp_address = ""\n  tcp_address = "x"\n', "not valid TOML|twice"),
    ('version = 2\n[grpc\n', "not valid TOML"),
])
def test_what_cannot_be_edited_with_certainty_is_refused(text, message):
    with pytest.raises(ValueError, match=message):
        containerd.edit(text, values())


def test_multiline_strings_and_arrays_are_not_mistaken_for_keys():
    text = ('version = 2\nnote = """\n[grpc]\ntcp_address = "in a string"\n"""\nlist = [\n  "a",\n  "[metrics]",\n]\n'
            '[grpc]\n  address = "/run/containerd/containerd.sock"\n')
    after, _changes, _version = containerd.edit(text, values())
    document = tomllib.loads(after)
    assert "tcp_address = \"in a string\"" in document["note"] and document["grpc"]["tcp_address"] == ""


def test_quoted_and_bare_table_names_are_the_same_table():
    assert toml_edit._split_keys("plugins.\"io.containerd.grpc.v1.cri\" . cni") == ("plugins", "io.containerd.grpc.v1.cri", "cni")
    assert toml_edit._split_keys("plugins.'io.containerd.cri.v1.runtime'") == ("plugins", "io.containerd.cri.v1.runtime")


@pytest.mark.parametrize("given, problem", [
    ({"kubeguard_containerd_settings": {"grpc": {"tcp_address": "0.0.0.0:1"}}}, "set by the runtime hardening"),
    ({"kubeguard_containerd_settings": {"plugins.'io.containerd.grpc.v1.cri'": {"stream_server_address": "0.0.0.0"}}}, "set by the runtime"),
    ({"kubeguard_containerd_settings": {"grpc": {"max_recv_message_size": [1]}}}, "string, integer or boolean"),
    ({"kubeguard_containerd_settings": {"grpc": {"a b": 1}}}, "bare TOML key"),
    ({"kubeguard_containerd_settings": {"plugins.'unterminated": {"a": 1}}}, "TOML table path"),
    ({"kubeguard_containerd_settings": {"grpc": {}}}, "non-empty"),
    ({"kubeguard_containerd_settings": ["grpc"]}, "mapping of TOML table"),
    ({"containerd_metrics_address": "0.0.0.0"}, "host:port"),
    ({"containerd_metrics_address": "127.0.0.1:99999"}, "host:port"),
    ({"containerd_metrics_address": "127.0.0.1:1338\n[grpc]"}, "control character"),
    ({"kubeguard_containerd_settings": {"grpc": {"note": "x\n[grpc]"}}}, "control character"),
    ({"containerd_enable_unprivileged_ports": "yes"}, "containerd_enable_unprivileged_ports"),
])
def test_runtime_variables_are_validated_before_anything(given, problem):
    with pytest.raises(ValueError, match=problem):
        hv.validate(given)


def test_a_string_value_with_quotes_stays_one_toml_string():
    extra = {"grpc": {"note": 'x" tcp_address = "0.0.0.0:1'}}
    after, _changes, _version = containerd.edit(DEBIAN, values(kubeguard_containerd_settings=extra))
    document = tomllib.loads(after)
    assert document["grpc"]["tcp_address"] == "" and document["grpc"]["note"] == extra["grpc"]["note"]


def test_credentials_never_show_in_the_diff():
    text = DEBIAN + '\n[plugins."io.containerd.grpc.v1.cri".registry.configs."r.example".auth]\n  password = "hunter2"\n'
    assert "hunter2" not in containerd.mask_secrets(text) and "<hidden>" in containerd.mask_secrets(text)


def test_opting_out_or_weakening_is_waived_naming_the_variable():
    assert node_plan.opted_out(values()) == {}
    waived = node_plan.opted_out(values(containerd_enable_unprivileged_ports=True, containerd_metrics_address="0.0.0.0:1338"))
    assert "containerd_enable_unprivileged_ports=true" in waived["K.24"] and "0.0.0.0:1338" in waived["K.23"]
    assert node_plan.opted_out(values(containerd_metrics_address="[::1]:1338")) == {}
    assert set(node_plan.opted_out(values(kubeguard_container_runtime_hardening=False))) == {"K.23", "K.24", "K.25"}


def _state(tmp_path, text, socket_mode=0o660, runc='{"linux": {"seccomp": {"enabled": true}}}', dir_mode=0o711):
    config = tmp_path / "config.toml"
    config.write_text(text)
    sock = tmp_path / "run" / "containerd.sock"
    sock.parent.mkdir(exist_ok=True)
    sock.write_text("")
    os.chmod(sock, socket_mode)
    os.chmod(sock.parent, dir_mode)
    seen = containerd.observe({"config": str(config), "socket": str(sock)},
                              run=lambda argv: (0, runc) if runc else (127, "runc: not installed"))
    return {"container_runtime": seen}


def test_the_audit_reads_the_config_the_socket_and_runc(tmp_path):
    outcome = containerd.evaluate("listeners", _state(tmp_path, DEBIAN))
    assert outcome.passed and "streams on 127.0.0.1" in outcome.found
    outcome = containerd.evaluate("listeners", _state(tmp_path, V3))
    assert not outcome.passed and "0.0.0.0:2376" in outcome.found and "'0.0.0.0'" in outcome.found
    outcome = containerd.evaluate("unprivileged", _state(tmp_path, V3))   # containerd 2.x's defaults: both on
    assert not outcome.passed and "enable_unprivileged_ports = true" in outcome.found
    assert containerd.evaluate("unprivileged", _state(tmp_path, loosened(DEBIAN))).passed is False
    assert containerd.evaluate("socket", _state(tmp_path, DEBIAN)).passed          # owned by the test's uid 0
    outcome = containerd.evaluate("socket", _state(tmp_path, DEBIAN, socket_mode=0o666))
    assert not outcome.passed and "others may connect" in outcome.found
    outcome = containerd.evaluate("socket", _state(tmp_path, DEBIAN, dir_mode=0o755))
    assert not outcome.passed and "mode 0755" in outcome.found
    assert containerd.evaluate("seccomp", _state(tmp_path, DEBIAN)).passed
    assert containerd.evaluate("seccomp", _state(tmp_path, DEBIAN, runc='{"linux": {"seccomp": {"enabled": false}}}')).passed is False
    assert containerd.evaluate("seccomp", _state(tmp_path, DEBIAN, runc="")).passed is None
    broken = containerd.evaluate("listeners", _state(tmp_path, "version = 2\n[grpc\n"))
    assert broken.passed is False and "not valid TOML" in broken.found


def test_the_restart_gate_sees_lost_and_restarted_containers():
    listing = "TASK    PID     STATUS\nabc123  4242    RUNNING\ndef456  4343    RUNNING\nold999  0       STOPPED\n"
    tasks, why = containerd.running_tasks("/run/containerd/containerd.sock", run=lambda argv: (0, listing))
    assert tasks == {"abc123": 4242, "def456": 4343} and why == ""
    assert containerd.survivors_problem(tasks, tasks, "") is None
    assert "1 of 2 containers no longer running" in containerd.survivors_problem(tasks, {"abc123": 4242}, "")
    assert "restarted with a new process" in containerd.survivors_problem(tasks, {"abc123": 4242, "def456": 1}, "")
    assert "does not answer: connection refused" in containerd.survivors_problem(tasks, None, "connection refused")
    assert containerd.running_tasks("/x", run=lambda argv: (1, "ctr: connection refused\n")) == (None, "ctr: connection refused")


def test_seccomp_default_needs_a_kubernetes_that_has_it():
    with pytest.raises(ValueError, match="kubelet_seccomp_default: true needs Kubernetes 1.25"):
        hv.validate({"kubelet_seccomp_default": True, "kube_version": "v1.24.17"})
    assert hv.validate({"kubelet_seccomp_default": True, "kube_version": "1.25.0"})["kubelet_seccomp_default"] is True


def test_the_node_plan_sees_what_the_role_would_change(tmp_path):
    from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
    from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_operations
    import dataclasses
    config = tmp_path / "config.toml"
    config.write_text(loosened(DEBIAN))
    layout = dataclasses.replace(catalogue.layout_for("kubeadm"),
                                 container_runtime={"kind": "containerd", "config": str(config), "socket": "/s", "unit": "containerd"})
    node = {"control_plane": False, "etcd_host": False, "kubelet_allowed": ["localhost"], "container_runtime": {"config_found": True}}
    settings = {"node_audit_rules_file": str(tmp_path / "a.rules"), "sysctl_file": str(tmp_path / "s.conf"),
                "kubelet_firewall_dropin": str(tmp_path / "fw.conf"), "metrics_firewall_dir": str(tmp_path / "mf"),
                "metrics_firewall_unit_file": str(tmp_path / "mf.service"), "kubelet_serving_cert": "/x"}
    plan = {"settings": {"kubelet": {}}, "pki_owner": None, "pki_group": None}
    ops = node_operations.operations(values(), layout, plan, node, settings)
    runtime = {"container_runtime": ops["container_runtime"]}
    assert runtime["container_runtime"]["service"] == {"unit": "containerd", "socket": "/s"}
    changes, _fingerprint = node_plan.evaluate(runtime)
    assert len(changes["container_runtime"]) == 2 and all(c.startswith(str(config)) for c in changes["container_runtime"])
    config.write_text(DEBIAN)
    assert node_plan.evaluate(runtime)[0] == {"container_runtime": []}
    # k3s' runtime is audited, never written; nor where the user opts out or no config exists
    opted_out = values(kubeguard_container_runtime_hardening=False)
    assert "container_runtime" not in node_operations.operations(opted_out, layout, plan, node, settings)
    assert "container_runtime" not in node_operations.operations(values(), layout, plan, dict(node, container_runtime=None), settings)
    k3s = dataclasses.replace(layout, container_runtime={"kind": "containerd", "config": str(config), "socket": "/s"})
    assert "container_runtime" not in node_operations.operations(values(), k3s, plan, node, settings)
