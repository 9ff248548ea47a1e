# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The option of the modules that audit a node, for its binaries' checksums."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  checksums:
    description:
      - The digests the node's binaries must have, as the C(kubeguard_validate) filter returns them in C(_checksums)
        from C(kubelet_checksums), C(kubeadm_checksums), C(kubectl_checksums), C(runc_checksums) (kubespray's shape)
        and C(kubeguard_binary_checksums_file) - binary -> architecture (or C(*)) -> list of C(sha256:<hex>) /
        C(sha512:<hex>) - and, under C(images), the static pods' images -> list of C(sha256:<hex>) (C(kubeguard_image_digests)).
      - What is named here is hashed or looked up and reported by the C(kubeguard.integrity) checks (K.15-K.20, K.27);
        nothing is hashed when it is empty.
    type: dict
    default: {}
"""
