"""The kube_proxy_config module through Ansible, against a kubectl whose cluster is a JSON file (fake_kubectl.py):
--check --diff writes nothing, apply saves both objects first and changes only metricsBindAddress, a second run changes
nothing, a rollout that never becomes available puts both objects back and fails, no kube-proxy is said and left alone."""

from __future__ import annotations

import json

import pytest

from test_cluster_policy_module import cluster, run

CONFIG = ("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nbindAddress: 0.0.0.0\nclientConnection:\n"
          "  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\nenableProfiling: false\nkind: KubeProxyConfiguration\n"
          "metricsBindAddress: 0.0.0.0:10249\nmode: \"\"")
CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-proxy", "namespace": "kube-system",
                                                                    "uid": "cm1", "resourceVersion": "5"},
              "data": {"config.conf": CONFIG, "kubeconfig.conf": "apiVersion: v1\nkind: Config\n"}}
DAEMONSET = {"apiVersion": "apps/v1", "kind": "DaemonSet",
             "metadata": {"name": "kube-proxy", "namespace": "kube-system", "uid": "ds1", "resourceVersion": "6", "generation": 1},
             "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                      "template": {"metadata": {"labels": {"k8s-app": "kube-proxy"}},
                                   "spec": {"containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.34.4"}]}}},
             "status": {"desiredNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": 2, "observedGeneration": 1}}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kube-proxy-a", "namespace": "kube-system",
                                                       "ownerReferences": [{"kind": "DaemonSet", "name": "kube-proxy"}]},
       "status": {"containerStatuses": [{"name": "kube-proxy", "restartCount": 0}]}}
KEY_CM, KEY_DS = ("ConfigMap", "kube-system", "kube-proxy"), ("DaemonSet", "kube-system", "kube-proxy")


@pytest.fixture
def fake(tmp_path):
    (tmp_path / "cluster.json").write_text(json.dumps([CONFIG_MAP, DAEMONSET, POD]))
    return tmp_path


def args(tmp_path, **more):
    # settle 1: the fake cluster's pods do not start; the default 5 s is for real ones
    return dict({"backup_root": str(tmp_path / "backups"), "backup_set": "20261205T080000Z", "timeout": 4, "settle": 1}, **more)


def test_check_mode_shows_the_one_line_and_writes_nothing(fake):
    result = run(fake, "kube_proxy_config", check=True, **args(fake))
    assert result["changed"] is True and "failed" not in result
    config_diff, rollout_diff = result["diff"]
    before, after = config_diff["before"], config_diff["after"]
    assert "pods rolled node by node: metricsBindAddress set to 127.0.0.1:10249" in rollout_diff["after"]
    assert "metricsBindAddress: 0.0.0.0:10249" in before and 'metricsBindAddress: "127.0.0.1:10249"' in after
    assert [line for line in after.splitlines() if line not in before.splitlines()] == ['metricsBindAddress: "127.0.0.1:10249"']
    assert cluster(fake)[KEY_CM]["data"]["config.conf"] == CONFIG and not (fake / "backups").exists()


def test_apply_saves_both_first_rolls_the_pods_and_a_second_run_changes_nothing(fake):
    result = run(fake, "kube_proxy_config", **args(fake))
    assert result["changed"] is True, result
    now = cluster(fake)
    assert now[KEY_CM]["data"]["config.conf"] == CONFIG.replace("metricsBindAddress: 0.0.0.0:10249", 'metricsBindAddress: "127.0.0.1:10249"')
    assert now[KEY_CM]["data"]["kubeconfig.conf"] == CONFIG_MAP["data"]["kubeconfig.conf"]
    assert "kubeguard.io/kube-proxy-config" in now[KEY_DS]["spec"]["template"]["metadata"]["annotations"]
    saved = fake / "backups" / "20261205T080000Z" / ".cluster-objects"
    assert json.loads((saved / "kube-system.configmap.kube-proxy.json").read_text())["data"]["config.conf"] == CONFIG
    assert (saved / "kube-system.daemonset.kube-proxy.json.left.json").exists()
    again = run(fake, "kube_proxy_config", **args(fake))
    assert again["changed"] is False and "failed" not in again
    # the restore the rollback runs puts both back as they were
    restored = run(fake, "cluster_restore", directory=str(saved), timeout=4, settle=1)
    assert restored["changed"] is True, restored
    assert cluster(fake)[KEY_CM]["data"]["config.conf"] == CONFIG
    assert "annotations" not in (cluster(fake)[KEY_DS]["spec"]["template"].get("metadata") or {})
    # the rollback waited for the pods it rolled before saying done
    assert restored["restored"][-1] == "DaemonSet/kube-system/kube-proxy rolled out (2/2 updated, 2/2 available)", restored


def test_a_rollback_whose_pods_never_become_available_fails_naming_the_workload(fake):
    assert run(fake, "kube_proxy_config", **args(fake))["changed"] is True
    saved = fake / "backups" / "20261205T080000Z" / ".cluster-objects"
    copy = saved / "kube-system.daemonset.kube-proxy.json"   # the template it puts back never comes up (the fake's rule)
    daemonset = json.loads(copy.read_text())
    daemonset["spec"]["template"].setdefault("metadata", {})["annotations"] = {"kubeguard.io/broken": "1"}
    copy.write_text(json.dumps(daemonset))
    result = run(fake, "cluster_restore", env_extra={"FAKE_ROLLOUT_FAILS": "1"}, directory=str(saved), timeout=3, settle=1)
    assert result.get("failed") is True, result
    assert result["msg"].startswith("DaemonSet/kube-system/kube-proxy was put back but its pods did not come back healthy:"
                                    " not rolled out within 3s (2/2 updated, 0/2 available)"), result["msg"]
    assert "replace DaemonSet/kube-system/kube-proxy" in result["restored"]


@pytest.mark.parametrize("given", [{"timeout": -1}, {"settle": 601}])
def test_a_rollback_wait_that_is_no_number_of_seconds_is_refused(fake, given):
    result = run(fake, "cluster_restore", directory=str(fake / "none"), **given)
    assert result.get("failed") is True and result["msg"].startswith(next(iter(given))), result


def test_already_on_loopback_unquoted_is_left_alone(fake):
    objects = json.loads((fake / "cluster.json").read_text())
    objects[0]["data"]["config.conf"] = CONFIG.replace("0.0.0.0:10249", "127.0.0.1:10249")
    (fake / "cluster.json").write_text(json.dumps(objects))
    result = run(fake, "kube_proxy_config", **args(fake))
    assert result["changed"] is False and not (fake / "backups").exists()


def test_a_rollout_that_never_becomes_available_puts_both_back_and_fails(fake):
    result = run(fake, "kube_proxy_config", env_extra={"FAKE_ROLLOUT_FAILS": "1"}, **args(fake))
    assert result.get("failed") is True
    assert "put back" in result["msg"] and "kube-proxy is healthy again" in result["msg"], result["msg"]
    now = cluster(fake)
    assert now[KEY_CM]["data"]["config.conf"] == CONFIG
    assert "annotations" not in (now[KEY_DS]["spec"]["template"].get("metadata") or {})


def test_no_kubeadm_kube_proxy_is_said_and_left_alone(tmp_path):
    (tmp_path / "cluster.json").write_text(json.dumps([]))
    result = run(tmp_path, "kube_proxy_config", **args(tmp_path))
    assert result["changed"] is False and "nothing to write" in result["skipped_reason"]


def test_a_bad_address_is_refused_naming_it(fake):
    result = run(fake, "kube_proxy_config", **args(fake, metrics_bind_address="localhost:10249"))
    assert result.get("failed") is True and "'localhost:10249'" in result["msg"]
    assert cluster(fake)[KEY_CM]["data"]["config.conf"] == CONFIG


@pytest.mark.parametrize("given, message", [({"settle": -1}, "settle: -1"), ({"timeout": -5}, "timeout: -5"),
                                            ({"settle": 10 ** 6}, "settle: 1000000")])
def test_a_wait_that_is_no_number_of_seconds_is_refused_before_anything_is_written(fake, given, message):
    result = run(fake, "kube_proxy_config", **dict(args(fake), **given))
    assert result.get("failed") is True and result["msg"].startswith(message)
    assert cluster(fake)[KEY_CM]["data"]["config.conf"] == CONFIG


def test_a_text_changed_since_our_rollout_rolls_the_pods_though_it_is_right(fake):
    assert run(fake, "kube_proxy_config", **args(fake))["changed"] is True
    objects = json.loads((fake / "cluster.json").read_text())   # someone writes the same address their way; no rollout
    for obj in objects:
        if obj["kind"] == "ConfigMap":
            obj["data"]["config.conf"] = CONFIG.replace("0.0.0.0:10249", "127.0.0.1:10249")
    (fake / "cluster.json").write_text(json.dumps(objects))
    result = run(fake, "kube_proxy_config", **args(fake))
    assert result["changed"] is True and result["why"] == ["the ConfigMap changed since our last rollout of its pods"]
    assert cluster(fake)[KEY_CM]["data"]["config.conf"] == CONFIG.replace("0.0.0.0:10249", "127.0.0.1:10249")   # left as it is
    assert run(fake, "kube_proxy_config", **args(fake))["changed"] is False


def test_every_rollout_changes_the_template_even_back_to_an_earlier_text(fake):
    first = run(fake, "kube_proxy_config", **args(fake))
    annotation = cluster(fake)[KEY_DS]["spec"]["template"]["metadata"]["annotations"]["kubeguard.io/kube-proxy-config"]
    objects = json.loads((fake / "cluster.json").read_text())   # someone puts 0.0.0.0 back
    for obj in objects:
        if obj["kind"] == "ConfigMap":
            obj["data"]["config.conf"] = CONFIG
    (fake / "cluster.json").write_text(json.dumps(objects))
    import time
    time.sleep(1.1)
    second = run(fake, "kube_proxy_config", **args(fake))
    assert first["changed"] and second["changed"]
    again = cluster(fake)[KEY_DS]["spec"]["template"]["metadata"]["annotations"]["kubeguard.io/kube-proxy-config"]
    assert again != annotation and again.split("-")[0] == annotation.split("-")[0]


def test_a_conflict_writes_nothing_and_puts_nothing_back(fake):
    result = run(fake, "kube_proxy_config", env_extra={"FAKE_REPLACE_CONFLICT": "ConfigMap"}, **args(fake))
    assert result.get("failed") is True and "were not changed" in result["msg"] and "Conflict" in result["msg"]
    log = (fake / "cluster.json.log").read_text() if (fake / "cluster.json.log").exists() else ""
    assert "replace" not in log


def test_a_config_that_cannot_be_edited_safely_is_refused_before_any_write(fake):
    objects = json.loads((fake / "cluster.json").read_text())
    objects[0]["data"]["config.conf"] = CONFIG + "\nmetricsBindAddress: 0.0.0.0:10249"   # given twice: the last wins
    (fake / "cluster.json").write_text(json.dumps(objects))
    result = run(fake, "kube_proxy_config", **args(fake))
    assert result.get("failed") is True and "given twice" in result["msg"] and "nothing was changed" in result["msg"]
    assert cluster(fake)[KEY_CM]["data"]["config.conf"] == objects[0]["data"]["config.conf"]


def test_a_node_whose_kube_proxy_is_behind_its_file_rolls_the_pods_though_the_text_is_right(fake):
    assert run(fake, "kube_proxy_config", **args(fake))["changed"] is True
    said = "w1: kube-proxy (pid 9) serves its metrics on [::]:10249 though its file says 127.0.0.1:10249"
    dry = run(fake, "kube_proxy_config", check=True, **args(fake, behind=[said]))
    assert dry["changed"] is True and dry["why"] == [said] and [d["before"] for d in dry["diff"]] == [""]   # no text change
    annotation = cluster(fake)[KEY_DS]["spec"]["template"]["metadata"]["annotations"]
    import time
    time.sleep(1.1)
    rolled = run(fake, "kube_proxy_config", **args(fake, behind=[said]))
    assert rolled["changed"] is True and rolled["why"] == [said]
    assert cluster(fake)[KEY_DS]["spec"]["template"]["metadata"]["annotations"] != annotation
    assert run(fake, "kube_proxy_config", **args(fake))["changed"] is False
