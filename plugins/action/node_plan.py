# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_plan, controller side: validate the hardening variables in scope (bad input fails here, before the node is
asked anything), hand the module the validated values and the data files, and return its plan with the values.
One task per host does what three did (validate, plan, remember): a no-op run on a fleet pays per task and host."""

from __future__ import annotations

import json

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_operations
from ansible_collections.kubeguard.hardening.plugins.plugin_utils import node_inputs

display = Display()
FILLED_HERE = ("values", "catalogue", "platforms", "checksums", "config_dir", "backup_root", "reencrypt_marker", "today")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        given_here = sorted(set(args) & set(FILLED_HERE))
        if given_here:
            raise AnsibleActionFail(f"{', '.join(given_here)}: filled in by the action from the variables in scope, not arguments")
        # what the vars lookup would give for each of our variables that is set (inventory, -e, play vars)
        given = {name: self._templar.template(task_vars[name]) for name in node_inputs.NAMES if name in task_vars}
        try:
            values, notes = node_inputs.validated(given, node_inputs.lookalikes(task_vars))
        except ValueError as exc:
            raise AnsibleActionFail(str(exc)) from None
        for note in notes:   # now: said even when the node then cannot be reached
            display.warning(note)
        args.update(node_inputs.data_files("full"), values=values, checksums=values["_checksums"], today=node_inputs.today())
        # paths the run uses, returned in the plan's node_paths for the plays that run no role
        args.update(config_dir=values["kube_config_dir"], backup_root=values["kubeguard_backup_root"],
                    reencrypt_marker=values["kubeguard_reencrypt_marker"])
        planned = self._execute_module(module_name="kubeguard.hardening.node_plan", module_args=args,
                                       task_vars=task_vars)
        # the arguments echoed back are the data files again: tens of kB per host for every callback to copy
        planned.pop("invocation", None)
        if "report" in planned:
            # as text: the main process copies and converts every result for the callbacks node by node, and the
            # report (130 controls with evidence) is most of it; only cis_report and the verdict read it
            planned["report_json"] = json.dumps(planned.pop("report"), sort_keys=True)
        if "more_reports" in planned:   # the other benchmarks' (kubeguard_benchmark as a list), as text likewise
            planned["more_reports_json"] = json.dumps(planned.pop("more_reports"), sort_keys=True)
        result.update(planned)
        if planned.get("failed"):
            return result
        runs = (planned.get("version") or {}).get("version")
        wrong = node_inputs.problems_at_release(given, values["kube_version"], runs)
        if wrong:
            # still the plan play: nothing is written yet, and no component is restarted into what it refuses
            raise AnsibleActionFail(f"this node runs {runs} ({planned['version'].get('source')}); the hardening variables"
                                    f" are wrong {wrong}")
        result["variables"] = values
        # the roles to include, from the registry here: never role names a node's answer chose
        result["rollout"] = node_operations.rollout(planned.get("operations") or {})
        return result
