#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: containerd_health
short_description: The containers containerd runs, and the gate after its restart
version_added: "0.2.0"
description:
  - Without C(running_before), returns the containers running in the C(k8s.io) namespace with their
    processes (C(ctr tasks ls)).
  - With C(running_before), waits until containerd answers again and every one of those containers is
    running still as the same process - a containerd restart must not touch running pods (their shims
    keep them). Fails naming what is missing when C(timeout) passes.
  - Never changes anything.
options:
  socket:
    description: containerd's socket.
    type: path
    default: /run/containerd/containerd.sock
  running_before:
    description: C(running) as returned before the restart (container id to pid).
    type: dict
  timeout:
    description: Seconds to wait.
    type: int
    default: 120
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Containers running now
  kubeguard.hardening.containerd_health: {}
  register: before

- name: After the restart they all run still
  kubeguard.hardening.containerd_health:
    running_before: "{{ before.running }}"
"""

RETURN = r"""
running:
  description: Container id to the pid of its task, for each running container.
  returned: always
  type: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import containerd


def main():
    module = AnsibleModule(
        argument_spec=dict(socket=dict(type="path", default="/run/containerd/containerd.sock"),
                           running_before=dict(type="dict"), timeout=dict(type="int", default=120)),
        supports_check_mode=True,
    )
    params = module.params

    def run(argv):
        rc, out, err = module.run_command(argv)
        return rc, out if rc == 0 else (err or out)

    before = params["running_before"]
    deadline = time.monotonic() + params["timeout"]
    while True:
        running, why = containerd.running_tasks(params["socket"], run)
        if before is None:
            if running is None:
                module.fail_json(msg=f"containerd does not answer on {params['socket']}: {why}")
            module.exit_json(changed=False, running=running)
        problem = containerd.survivors_problem({k: int(v) for k, v in before.items()}, running, why)
        if problem is None:
            module.exit_json(changed=False, running=running)
        if time.monotonic() > deadline:
            module.fail_json(msg=f"containerd did not come back healthy: {problem}", running=running or {})
        time.sleep(2)


if __name__ == "__main__":
    main()
