# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of every module that rolls a workload's pods and waits for them (module_utils/cluster/rollouts.py)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  timeout:
    description: Seconds a rollout may take (every pod on the new template and available), from 1 to 86400.
    type: int
    default: 300
  settle:
    description:
      - Seconds the rolled pods must keep running before the rollout counts as healthy (a pod that crashes at start
        is Running for a moment first), from 0 to 600; the rollout is also polled at most this often (every 3
        seconds at most).
    type: int
    default: 5
"""
