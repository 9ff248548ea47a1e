# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by every module that writes a file: backup before any change, one set per run."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  backup:
    description: Copy the file to the backup set before changing it.
    type: bool
    default: true
  backup_root:
    description: Directory that holds backup sets.
    type: path
    default: /var/lib/kubeguard/backups
  backup_set:
    description:
      - Name of the backup set. One per run, so a rollback restores the files as they were before the run
        (the first copy of a file in a set is kept).
    type: str
    default: manual
"""
