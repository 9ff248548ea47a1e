"""tools/changelog_check.py: a change to plugins/, roles/ or playbooks/ without a changelog fragment is named;
changes before the changelog existed, docs-only changes and changes with a fragment pass."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools"))
import changelog_check  # noqa: E402  pylint: disable=wrong-import-position


def commit(repo, files, message):
    for path, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(repo, path)) or repo, exist_ok=True)
        with open(os.path.join(repo, path), "w", encoding="utf-8") as handle:
            handle.write(text)
    subprocess.run(["git", "-C", repo, "add", "-A"], check=True)
    subprocess.run(["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], check=True)


@pytest.fixture(name="repo")
def fixture_repo(tmp_path):
    repo = str(tmp_path)
    subprocess.run(["git", "init", "-q", repo], check=True)
    commit(repo, {"plugins/modules/a.py": "1"}, "before the changelog: not checked")
    commit(repo, {"changelogs/config.yaml": "title: t\n"}, "changelog set up")
    return repo


def test_a_plugin_change_with_a_fragment_passes_and_docs_need_none(repo):
    commit(repo, {"plugins/modules/a.py": "2", "changelogs/fragments/a.yml": "bugfixes: [a]\n"}, "fix a")
    commit(repo, {"docs/x.md": "x"}, "docs only")
    assert changelog_check.missing(repo) == []


def test_a_role_change_without_a_fragment_is_named_with_its_commit(repo):
    commit(repo, {"roles/r/tasks/main.yml": "- x\n"}, "quiet role change")
    problems = changelog_check.missing(repo)
    assert len(problems) == 1 and "quiet role change" in problems[0] and "roles/" in problems[0]
    assert changelog_check.main(["x", repo]) == 1


def test_uncommitted_changes_count_too(repo):
    os.makedirs(os.path.join(repo, "playbooks"))
    with open(os.path.join(repo, "playbooks", "p.yml"), "w", encoding="utf-8") as handle:
        handle.write("- hosts: all\n")
    assert changelog_check.missing(repo) == [
        "uncommitted changes to plugins/, roles/ or playbooks/ without a fragment in changelogs/fragments/"]
    with open(os.path.join(repo, "changelogs", "fragments.yml"), "w", encoding="utf-8"):
        pass  # beside the directory, not in it: still missing
    assert len(changelog_check.missing(repo)) == 1
    os.makedirs(os.path.join(repo, "changelogs", "fragments"))
    with open(os.path.join(repo, "changelogs", "fragments", "p.yml"), "w", encoding="utf-8") as handle:
        handle.write("minor_changes: [p]\n")
    assert changelog_check.missing(repo) == []


def test_a_repository_without_the_changelog_config_is_told_to_set_it_up(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    commit(str(tmp_path), {"plugins/a.py": "1"}, "x")
    assert "antsibull-changelog init" in changelog_check.missing(str(tmp_path))[0]
