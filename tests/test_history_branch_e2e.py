"""`.github/scripts/coverage-history.sh` against a real (local) remote: the history and
main's badges travel on the coverage-history branch, and a run without badges keeps them."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from tests.conftest import KIT, commit_all, git, in_process, run

pytestmark = pytest.mark.e2e

SCRIPT = KIT / ".github/scripts/coverage-history.sh"


def nox_shim(folder: Path) -> dict[str, str]:
    """PATH with a `nox` that runs the sessions in this environment, as the runner's would."""
    folder.mkdir()
    shim = folder / "nox"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nox --no-venv --no-install "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def history_script(project: Path, action: str, env: dict[str, str]) -> None:
    result = run(["bash", str(SCRIPT), action], project, env=env)
    assert result.returncode == 0, result.output


def branch_files(project: Path) -> list[str]:
    git(project, "fetch", "-q", "origin", "coverage-history")
    return git(project, "ls-tree", "-r", "--name-only", "FETCH_HEAD").split()


def test_history_branch__carries_history_and_badges_and_keeps_badges_it_was_not_given(
    measured_copy: Path, tmp_path: Path
) -> None:
    env = nox_shim(tmp_path / "bin")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(measured_copy, "init", "-q", "-b", "main")
    commit_all(measured_copy, "measured")
    git(measured_copy, "remote", "add", "origin", str(origin))
    git(measured_copy, "push", "-q", "origin", "main")

    assert in_process(measured_copy, "baseline", "--set").returncode == 0
    assert in_process(measured_copy, "report", "--format", "badges").returncode == 0
    history_script(measured_copy, "save", env)
    badges = ["badges/" + p.name for p in sorted((measured_copy / "reports/badges").iterdir())]
    assert branch_files(measured_copy) == sorted(["history.jsonl", *badges])
    total = git(measured_copy, "show", "FETCH_HEAD:badges/total.json")
    assert total == (measured_copy / "reports/badges/total.json").read_text()

    # The weekly maintenance run has no reports: the badges on the branch stay.
    (measured_copy / "reports").rename(tmp_path / "reports-aside")
    history_script(measured_copy, "save", env)
    assert branch_files(measured_copy) == sorted(["history.jsonl", *badges])
    assert git(measured_copy, "rev-list", "--count", "FETCH_HEAD").strip() == "2"

    # A fresh runner restores the history from the branch.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "-b", "main", str(origin), str(clone))
    history_script(clone, "restore", env)
    status = in_process(clone, "baseline", "--status", "--branch", "main")
    assert status.returncode == 0, status.output
    assert "1 snapshot of 'main'" in status.stdout
