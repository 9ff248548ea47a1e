"""examples/large-fleet/ansible.cfg is what docs/scale.md says: ansible-core reads every setting as meant
(a typo in a key would be silently ignored otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(REPO, "examples", "large-fleet", "ansible.cfg")


def test_ansible_reads_every_setting_of_the_example():
    env = dict(os.environ, ANSIBLE_CONFIG=CONFIG)
    env.pop("ANSIBLE_STDOUT_CALLBACK", None)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-config"), "dump", "--only-changed",
                           "-t", "all"], env=env, capture_output=True, text=True, check=True)
    changed = proc.stdout
    for setting in ("DEFAULT_FORKS(" + CONFIG + ") = 50", "DEFAULT_STRATEGY(" + CONFIG + ") = linear",
                    "DEFAULT_GATHERING(" + CONFIG + ") = explicit", "DISPLAY_SKIPPED_HOSTS(" + CONFIG + ") = False",
                    "CALLBACKS_ENABLED(" + CONFIG + ") = ['ansible.posix.profile_tasks']"):
        assert setting in changed, setting
    assert "pipelining(" + CONFIG + ") = True" in changed
    assert "ControlPersist=300s" in changed
    # every key in the file is one ansible knows (unknown keys are ignored silently)
    keys = [line.split("=")[0].strip() for line in open(CONFIG, encoding="utf-8")
            if "=" in line and not line.lstrip().startswith("#")]
    from_file = [line.split("(")[0].lower() for line in changed.splitlines() if "(" + CONFIG + ")" in line]
    unread = [key for key in keys if not any(name.endswith(key) for name in from_file)]
    assert not unread, f"settings ansible does not know: {unread}"
