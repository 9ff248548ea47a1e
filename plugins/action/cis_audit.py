# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cis_audit, controller side: hand the module the catalogue and the platform data (read here, in-process, rather
than templated into every host's arguments), then run it on the node."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.kubeguard.hardening.plugins.plugin_utils import node_inputs


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        for name, data in node_inputs.data_files("controls").items():
            args.setdefault(name, data)   # given: a test's own catalogue or platforms
        args.setdefault("today", node_inputs.today())   # the controller's day, never the node's clock
        audited = self._execute_module(module_name="kubeguard.hardening.cis_audit", module_args=args, task_vars=task_vars)
        audited.pop("invocation", None)   # the data files again, tens of kB per host for every callback to copy
        result.update(audited)
        return result
