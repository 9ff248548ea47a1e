# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The option of the modules that audit a node, for its binaries' checksums."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  checksums:
    description:
      - The digests the node's binaries must have, as the C(kubeguard_binary_checksums) filter computes them from
        C(kubelet_checksums), C(kubeadm_checksums), C(kubectl_checksums), C(runc_checksums) (kubespray's shape) and
        C(kubeguard_binary_checksums_file) - binary -> architecture (or C(*)) -> list of C(sha256:<hex>) / C(sha512:<hex>).
      - The binaries named here are hashed and reported by the C(kubeguard.integrity) checks (K.15-K.20); nothing
        is hashed when it is empty.
    type: dict
    default: {}
"""
