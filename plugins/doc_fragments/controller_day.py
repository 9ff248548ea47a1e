# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The option of the modules that judge a node by the day: waivers' expiry, releases' end of life."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  today:
    description:
      - The day (C(YYYY-MM-DD), UTC) waivers expire and Kubernetes releases end their upstream support by. Its action
        fills in the controller's day, so that a node's clock - wrong, or set back by someone - decides nothing.
      - Omitted (the module called without its action), the node's own day in UTC.
    type: str
"""
