"""`.github/scripts/coverage-history.sh` against a real (local) remote: the history and
main's badges travel on the coverage-history branch, a run without badges keeps them, and
runs of main that save at the same time all land on the branch."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KIT, Result, commit_all, flat, git, in_process, run

# git and the history script, the same on every Python and coverage.py: the first tests pass only.
pytestmark = [pytest.mark.e2e, pytest.mark.one_pass]

SCRIPT = KIT / ".github/scripts/coverage-history.sh"
BRANCH = "coverage-history"


def nox_shim(folder: Path, *, before_export: str = "") -> dict[str, str]:
    """PATH with a `nox` that runs the sessions in this environment, as the runner's would;
    the shell commands `before_export`, if any, run before each history export."""
    folder.mkdir()
    shim = folder / "nox"
    hook = f'case "$*" in *--export*) {before_export} ;; esac\n' if before_export else ""
    shim.write_text(f'#!/bin/sh\n{hook}exec "{sys.executable}" -m nox --no-venv --no-install "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def history_script(project: Path, action: str, env: dict[str, str]) -> Result:
    result = run(["bash", str(SCRIPT), action], project, env=env)
    assert result.returncode == 0, result.output
    return result


def branch_files(project: Path) -> list[str]:
    git(project, "fetch", "-q", "origin", BRANCH)
    return git(project, "ls-tree", "-r", "--name-only", "FETCH_HEAD").split()


def publish(project: Path, origin: Path) -> None:
    """Make `project` a git repository whose main is on `origin`, a new bare repository."""
    git(origin.parent, "init", "-q", "--bare", str(origin))
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "measured")
    git(project, "remote", "add", "origin", str(origin))
    git(project, "push", "-q", "origin", "main")


def fresh_runner(project: Path, runner: Path) -> Path:
    """A job's checkout on a runner of its own: a copy of `project` (its clone of the origin
    and its measured data) with no history yet (the job's restore brings it)."""
    checkout = Path(shutil.copytree(project, runner, symlinks=True))
    shutil.rmtree(checkout / ".coverage-history", ignore_errors=True)
    return checkout


def history_job_of_a_push(project: Path, runner: Path, message: str) -> Path:
    """The history job of a new push to main: a fresh runner's checkout of one more commit."""
    checkout = fresh_runner(project, runner)
    git(checkout, "commit", "-q", "--allow-empty", "-m", message)
    return checkout


def head(project: Path) -> str:
    return git(project, "rev-parse", "HEAD").strip()


def exported(text: str) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """An export's snapshot lines (by commit: each commit here has one snapshot) and its
    baseline lines."""
    records = [json.loads(line) for line in text.splitlines()[1:]]
    snapshots = [r for r in records if r["type"] == "snapshot"]
    by_commit = {snapshot["commit"]: snapshot for snapshot in snapshots}
    assert len(by_commit) == len(snapshots), "one snapshot per commit"
    return by_commit, [r for r in records if r["type"] == "baseline"]


def local_history(project: Path, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """The snapshots in `project`'s own history, as its export has them."""
    target = tmp_path / f"{project.name}-own.jsonl"
    assert in_process(project, "baseline", "--export", str(target)).returncode == 0
    return exported(target.read_text(encoding="utf-8"))[0]


def saves_in(project: Path, env: dict[str, str]) -> str:
    """Shell commands that run the history script's save in `project`, failing the shim
    that runs them when the save fails."""
    return f'(cd "{project}" && PATH="{env["PATH"]}" bash "{SCRIPT}" save) || exit 1'


def test_history_branch__carries_history_badges_and_trend_and_keeps_those_it_was_not_given(
    measured_copy: Path, tmp_path: Path
) -> None:
    env = nox_shim(tmp_path / "bin")
    origin = tmp_path / "origin.git"
    publish(measured_copy, origin)

    assert in_process(measured_copy, "baseline", "--set").returncode == 0
    assert in_process(measured_copy, "report", "--format", "badges").returncode == 0
    history_script(measured_copy, "save", env)
    badges = ["badges/" + p.name for p in sorted((measured_copy / "reports/badges").iterdir())]
    assert branch_files(measured_copy) == sorted(["history.jsonl", "trend.svg", *badges])
    total = git(measured_copy, "show", "FETCH_HEAD:badges/total.json")
    assert total == (measured_copy / "reports/badges/total.json").read_text()
    trend = git(measured_copy, "show", "FETCH_HEAD:trend.svg")  # the baseline session drew it
    assert trend == (measured_copy / "reports/trend.svg").read_text() and trend.startswith("<svg")

    # The weekly maintenance run has no reports: the badges and the trend on the branch stay.
    (measured_copy / "reports").rename(tmp_path / "reports-aside")
    history_script(measured_copy, "save", env)
    assert branch_files(measured_copy) == sorted(["history.jsonl", "trend.svg", *badges])
    assert git(measured_copy, "show", "FETCH_HEAD:trend.svg") == trend
    assert git(measured_copy, "rev-list", "--count", "FETCH_HEAD").strip() == "2"

    # A fresh runner restores the history from the branch.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "-b", "main", str(origin), str(clone))
    history_script(clone, "restore", env)
    status = in_process(clone, "baseline", "--status", "--branch", "main")
    assert status.returncode == 0, status.output
    assert "1 snapshot of 'main'" in status.stdout


@pytest.mark.parametrize(
    "earlier_run", [True, False], ids=["onto-an-earlier-snapshot", "creating-the-branch"]
)
@pytest.mark.parametrize("other_saves", ["before", "between-its-fetch-and-its-push"])
def test_history_branch__two_history_jobs_at_once_both_land_on_the_branch(
    measured_copy: Path, tmp_path: Path, earlier_run: bool, other_saves: str
) -> None:
    origin = tmp_path / "origin.git"
    publish(measured_copy, origin)
    if earlier_run:
        assert in_process(measured_copy, "baseline", "--set").returncode == 0
        history_script(measured_copy, "save", nox_shim(tmp_path / "earlier-bin"))
    earlier = {head(measured_copy)} if earlier_run else set()
    # Two pushes to main in quick succession: both history jobs restore before either saves.
    first = history_job_of_a_push(measured_copy, tmp_path / "first", "first push")
    second = history_job_of_a_push(first, tmp_path / "second", "second push")
    second_env = nox_shim(tmp_path / "second-bin")
    if other_saves == "before":
        first_env = nox_shim(tmp_path / "first-bin")
    else:  # the second job's push lands after the first job's save fetched the branch
        once = f'if mkdir "{tmp_path / "second-saved"}" 2>/dev/null; then {saves_in(second, second_env)}; fi'
        first_env = nox_shim(tmp_path / "first-bin", before_export=once)
    for job, env in ((first, first_env), (second, second_env)):
        history_script(job, "restore", env)
        recorded = in_process(job, "baseline")
        assert recorded.returncode == 0, recorded.output
    recorded_by_each = {**local_history(first, tmp_path), **local_history(second, tmp_path)}

    if other_saves == "before":
        history_script(second, "save", second_env)
    history_script(first, "save", first_env)

    snapshots, baselines = exported(git(origin, "show", f"{BRANCH}:history.jsonl"))
    assert set(snapshots) == {head(first), head(second), *earlier}
    assert snapshots == recorded_by_each  # every snapshot with its figures as its job recorded them
    assert [b["snapshot"]["commit"] for b in baselines] == sorted(earlier)
    assert (tmp_path / "second-saved").is_dir() == (other_saves != "before")
    # The first job's commit is on top of the second's: one line of commits, nothing forced.
    assert git(origin, "rev-list", "--count", BRANCH).strip() == str(2 + len(earlier))


def test_history_branch__maintenance_thins_the_branch_it_restored(
    measured_copy: Path, tmp_path: Path
) -> None:
    manifest = measured_copy / "configs/services.toml"
    manifest.write_text(manifest.read_text() + "\n[maintenance]\nkeep_snapshots = 1\n")
    origin = tmp_path / "origin.git"
    publish(measured_copy, origin)
    env = nox_shim(tmp_path / "bin")
    assert in_process(measured_copy, "baseline").returncode == 0
    git(measured_copy, "commit", "-q", "--allow-empty", "-m", "next push")
    assert in_process(measured_copy, "baseline").returncode == 0
    history_script(measured_copy, "save", env)
    maintenance = fresh_runner(measured_copy, tmp_path / "maintenance")

    history_script(maintenance, "restore", env)
    thinned = in_process(maintenance, "maintenance", "--branch", "main")
    assert "removed 1 snapshot beyond the newest 1" in flat(thinned.stdout), thinned.output
    history_script(maintenance, "save", env)

    # The save merges no branch commit back whose history the restore brought: the thinning stays.
    snapshots, _ = exported(git(origin, "show", f"{BRANCH}:history.jsonl"))
    assert set(snapshots) == {head(measured_copy)}


def test_history_branch__a_push_refused_for_another_reason_stops_at_once_saying_so(
    measured_copy: Path, tmp_path: Path
) -> None:
    origin = tmp_path / "origin.git"
    publish(measured_copy, origin)
    pushes = tmp_path / "pushes"
    refusal = origin / "hooks/pre-receive"
    refusal.write_text(f'#!/bin/sh\necho push >> "{pushes}"\necho "no write access here" >&2\nexit 1\n')
    refusal.chmod(refusal.stat().st_mode | stat.S_IXUSR)
    assert in_process(measured_copy, "baseline").returncode == 0

    result = run(["bash", str(SCRIPT), "save"], measured_copy, env=nox_shim(tmp_path / "bin"))

    assert result.returncode != 0
    assert pushes.read_text().splitlines() == ["push"]  # no retry: nobody else pushed
    assert "no write access here" in result.stderr  # git's own reason comes through
    said = flat(result.stderr)
    assert f"could not push {BRANCH}" in said
    assert "contents: write" in said


def test_history_branch__a_save_that_other_runs_keep_beating_gives_up_after_five_attempts(
    measured_copy: Path, tmp_path: Path
) -> None:
    origin = tmp_path / "origin.git"
    publish(measured_copy, origin)
    rival = history_job_of_a_push(measured_copy, tmp_path / "rival", "rival push")
    rival_env = nox_shim(tmp_path / "rival-bin")
    assert in_process(rival, "baseline").returncode == 0
    assert in_process(measured_copy, "baseline").returncode == 0
    # Before each of this job's exports, the rival pushes: every push of this job comes too late.
    env = nox_shim(tmp_path / "bin", before_export=saves_in(rival, rival_env))

    result = run(["bash", str(SCRIPT), "save"], measured_copy, env=env)

    assert result.returncode != 0
    said = flat(result.stderr)
    assert f"{BRANCH}: gave up after 5 attempts" in said
    assert "run this job again" in said
    assert git(origin, "rev-list", "--count", BRANCH).strip() == "5"  # the rival's five pushes, nothing lost
    snapshots, _ = exported(git(origin, "show", f"{BRANCH}:history.jsonl"))
    assert set(snapshots) == {head(rival)}
