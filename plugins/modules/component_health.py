#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: component_health
short_description: Wait until a Kubernetes component runs with the expected flags and is healthy
version_added: "0.1.0"
description:
  - Polls C(/proc) for the component's process and compares its real arguments with the flags we
    wrote (so an old process still answering does not count), then polls its health endpoint until
    it answers 200 several times in a row.
  - A process is the component only when its argv[0], the binary it executes (C(/proc/<pid>/exe)) and
    its real and effective user (root) all say so. Several such processes with different arguments are
    not judged - the component is not healthy yet while they remain.
  - With C(only_if_running_before=true) and the component not running when the play started, the
    gate reports C(skipped_reason) instead of failing (nodes prepared offline, file-only tests).
  - Never changes anything.
options:
  process:
    description: Executable base name (C(kube-apiserver), C(etcd), C(kubelet), ...).
    type: str
    required: true
  flags:
    description: Flags the running process must have (null - must not have).
    type: dict
    default: {}
  environ:
    description: Environment variables the running process must have (null - must not have), for
      components configured by an EnvironmentFile such as etcd on the host.
    type: dict
    default: {}
  url:
    description: Health endpoint, for example C(https://127.0.0.1:6443/readyz).
    type: str
  ca:
    description: CA file to verify the endpoint; without it the certificate is not verified (local endpoint).
    type: path
  client_cert:
    description: Client certificate (etcd health needs one).
    type: path
  client_key:
    description: Client key.
    type: path
  timeout:
    description: Seconds to wait.
    type: int
    default: 300
  interval:
    description: Seconds between polls.
    type: int
    default: 2
  stable_for:
    description: Consecutive good answers required.
    type: int
    default: 3
  unit:
    description:
      - A systemd unit whose one process runs every component (k3s, k3s-agent). The component's
        arguments are then those the unit's current run logged (C(Running <component> --...)), not
        a process of its own.
    type: str
  was_running:
    description: Whether the process ran before our change (from a C(component_health) call with C(timeout=0)).
    type: bool
    default: true
author:
  - kubeguard.hardening developers (@kubeguard)
"""

EXAMPLES = r"""
- name: Wait for kube-apiserver with the new flags
  kubeguard.hardening.component_health:
    process: kube-apiserver
    flags: "{{ kg_apiserver_flags }}"
    url: https://127.0.0.1:6443/readyz
    timeout: 300
"""

RETURN = r"""
healthy:
  description: Whether the component came back.
  returned: always
  type: bool
running:
  description: Whether the process runs now.
  returned: always
  type: bool
detail:
  description: The last observation (process flags or endpoint answer).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import require_yaml
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import health


def main():
    module = AnsibleModule(
        argument_spec=dict(
            process=dict(type="str", required=True),
            flags=dict(type="dict", default={}),
            environ=dict(type="dict", default={}),
            url=dict(type="str"),
            ca=dict(type="path"),
            client_cert=dict(type="path"),
            client_key=dict(type="path"),
            timeout=dict(type="int", default=300),
            interval=dict(type="int", default=2),
            stable_for=dict(type="int", default=3),
            was_running=dict(type="bool", default=True),
            unit=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    require_yaml(module)
    p = module.params

    def processes_of(name):
        if p["unit"]:
            logged = health.journal_running_args([p["unit"]]).get(name)
            return [health.Proc(f"{p['unit']} log", logged, {}, "")] if logged else []
        return health.component_processes(name)

    running = bool(processes_of(p["process"]))
    if not p["was_running"] and not running:
        module.exit_json(changed=False, healthy=True, running=False,
                         detail=f"{p['process']} was not running before the change; health gate skipped")
    if p["timeout"] == 0:
        module.exit_json(changed=False, healthy=running, running=running,
                         detail=f"{p['process']} is {'running' if running else 'not running'}")
    flags = {k: (None if v is None else str(v).lower() if isinstance(v, bool) else str(v)) for k, v in p["flags"].items()}
    environ = {k: (None if v is None else str(v)) for k, v in p["environ"].items()}
    ok, detail = health.wait_healthy(p["process"], flags, p["url"], p["timeout"], p["interval"], p["stable_for"],
                                     expected_environ=environ, processes_of=processes_of, ca=p["ca"], cert=p["client_cert"],
                                     key=p["client_key"])
    result = dict(changed=False, healthy=ok, running=bool(processes_of(p["process"])), detail=detail)
    if not ok:
        module.fail_json(msg=f"{p['process']} did not become healthy within {p['timeout']}s: {detail}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
