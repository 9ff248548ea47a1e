"""The execution environment: ansible-builder reads the collection's own requirements
(meta/execution-environment.yml) and makes a build context from execution-environment.yml with the
collection tarball, the pinned ansible-core and the SSH client. No image is built (no registry here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def run(*argv, cwd=REPO):
    proc = subprocess.run([os.path.join(BIN, argv[0]), *argv[1:]], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_the_collections_own_requirements_are_introspected(tmp_path):
    collections = tmp_path / "ansible_collections" / "kubeguard"
    collections.mkdir(parents=True)
    os.symlink(REPO, collections / "hardening")
    data = yaml.safe_load(run("ansible-builder", "introspect", str(tmp_path)).split("\n", 1)[1])
    system = " ".join(data["system"])
    assert "openssh-clients [platform:rpm]" in system and "openssh-client [platform:dpkg]" in system
    assert "from collection kubeguard.hardening" in system


def test_the_build_context_holds_the_collection_and_the_pins(tmp_path):
    galaxy = yaml.safe_load(open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8"))
    wanted = yaml.safe_load(open(os.path.join(REPO, "ee", "requirements.yml"), encoding="utf-8"))["collections"][0]["name"]
    assert wanted.endswith(f"kubeguard-hardening-{galaxy['version']}.tar.gz"), "ee/requirements.yml names another version"
    project = tmp_path / "project"
    shutil.copytree(REPO, project, ignore=shutil.ignore_patterns(".git", "tests", "testbed", "molecule", "*.tar.gz"))
    run("ansible-galaxy", "collection", "build", "--output-path", str(project / "ee" / "collections"), ".", cwd=project)
    run("ansible-builder", "create", "-f", "execution-environment.yml", "-c", str(tmp_path / "context"), cwd=project)
    containerfile = (tmp_path / "context" / "Containerfile").read_text()
    pins = [line for line in open(os.path.join(REPO, "requirements-dev.txt"), encoding="utf-8") if line.startswith("ansible-core==")]
    assert pins and pins[0].strip() in containerfile
    assert (tmp_path / "context" / "_build" / "collections" / os.path.basename(wanted)).is_file()
    assert "openssh-clients" in (tmp_path / "context" / "_build" / "bindep.txt").read_text()
