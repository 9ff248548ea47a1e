"""podman run options for a node started as a molecule scenario starts it (fleet.sh's nodes).

    python3 benchmarks/scenario_node.py molecule/kubespray/molecule.yml kube_control_plane
prints the options of the scenario's first platform in that group: image, systemd, capabilities,
privileges and extra options, one per word.
"""
import sys

import yaml


def options(scenario_file: str, group: str) -> list:
    with open(scenario_file, encoding="utf-8") as handle:
        platforms = yaml.safe_load(handle)["platforms"]
    node = next((p for p in platforms if group in p.get("groups", [])), None)
    if node is None:
        raise SystemExit(f"{scenario_file}: no platform in group {group}")
    found = ["--systemd=always"] if node.get("systemd") == "always" else []
    found += [f"--cap-add={cap}" for cap in node.get("capabilities", [])]
    found += ["--privileged"] if node.get("privileged") else []
    found += list(node.get("extra_opts", []))
    found += [f"--volume={volume}" for volume in node.get("volumes", [])]
    return found + [node["image"]]


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(" ".join(options(sys.argv[1], sys.argv[2])))
