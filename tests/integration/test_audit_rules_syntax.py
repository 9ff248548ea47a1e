"""Our audit rules files, as each platform's node would get them, parsed by Debian's own auditctl (unpacked by
testbed/setup.sh): the kernel-facing libaudit calls are replaced by a shim that sends nothing, and auditctl runs
in a new user namespace where the kernel refuses audit requests anyway - nothing reaches the host's audit rules."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.catalogue import catalogue
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import node_audit

TOOLS = os.path.join(os.environ.get("KG_CACHE", os.path.expanduser("~/.cache/kubeguard-testbed")), "auditd")
AUDITCTL = os.path.join(TOOLS, "root", "sbin", "auditctl")
SHIM = os.path.join(TOOLS, "offline.so")

if not (os.path.exists(AUDITCTL) and os.path.exists(SHIM)) or shutil.which("unshare") is None:
    if os.environ.get("CI"):
        raise RuntimeError(f"{AUDITCTL} / {SHIM} missing: testbed/setup.sh unpacks Debian's auditd and builds the shim")
    pytest.skip("Debian's auditctl is not unpacked (run testbed/setup.sh)", allow_module_level=True)


def auditctl_parse(path: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LD_PRELOAD": SHIM,
           "LD_LIBRARY_PATH": os.pathsep.join([os.path.join(TOOLS, "root", "lib", "x86_64-linux-gnu"),
                                               os.path.join(TOOLS, "root", "usr", "lib", "x86_64-linux-gnu")])}
    return subprocess.run(["unshare", "--user", "--map-root-user", AUDITCTL, "-R", path],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def _rules(platform: str) -> str:
    layout = catalogue.layout_for(platform)
    watched = node_audit.watches(layout.audit_rules, layout.as_dict(), exists=lambda p: True,
                                 locate=lambda b: f"/usr/local/bin/{b}")
    excluded = node_audit.exclusions(layout.audit_rules, ["/srv/scratch"], exists=lambda p: True)
    return node_audit.rules_text(watched, excluded, 8192)


@pytest.mark.parametrize("platform", ["kubeadm", "kubespray", "k3s"])
def test_every_line_of_the_rules_parses(tmp_path, platform):
    text = _rules(platform)
    rules = tmp_path / "20-kubeguard-kubernetes.rules"
    rules.write_text(text)
    done = auditctl_parse(str(rules))
    assert done.returncode == 0, done.stderr + done.stdout
    # every -a and -w line reached the (stubbed) kernel as a rule
    expected = sum(1 for line in text.splitlines() if line.startswith(("-a ", "-w ")))
    assert f"offline: {expected} rules accepted" in done.stderr


def test_a_bad_line_is_found_by_auditctl(tmp_path):
    rules = tmp_path / "bad.rules"
    rules.write_text(_rules("kubeadm") + "-w etc/kubernetes -p wa -k relative\n")
    done = auditctl_parse(str(rules))
    line = len(rules.read_text().splitlines())
    assert done.returncode != 0 and f"error in line {line}" in done.stderr + done.stdout
