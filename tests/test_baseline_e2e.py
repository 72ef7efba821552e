"""The history through real nox sessions on the example under git: baseline, regression
gate, status, compare, export and import. Recorded figures are checked against strict
coverage.py runs of each service."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tasks.history.store import History
from tests.conftest import commit_all, git, in_process, nox, run, tasks
from tests.oracle import EXAMPLE_ROOT as ROOT
from tests.oracle import example_isolated, example_source_files

pytestmark = pytest.mark.e2e

REMOVED = "tests/auth/test_auth_passwords.py"
HISTORY_DB = ".coverage-history/history.db"


def isolated_truth(project: Path, service: str, tmp: Path) -> tuple[int, int, int, int]:
    """(statements, covered, branches, covered branches) of `service` by its own tests."""
    truth = example_isolated(project, service, tmp)
    return truth.statements, truth.covered, truth.branches, truth.covered_branches


def pct(covered: int, total: int) -> float:
    return 100.0 * covered / total


def remeasure_auth(project: Path) -> None:
    result = tasks(project, "run", "auth")
    assert result.returncode == 0, result.output
    combined = in_process(project, "combine")
    assert combined.returncode == 0, combined.output


@pytest.fixture
def on_git(measured_copy: Path) -> Path:
    git(measured_copy, "init", "-q", "-b", "main")
    commit_all(measured_copy, "base")
    return measured_copy


def test_baseline_regression_gate_status_compare(on_git: Path, tmp_path: Path) -> None:
    project = on_git
    recorded = in_process(project, "baseline", "--set")
    assert recorded.returncode == 0, recorded.output
    assert "recorded snapshot #1 (main @" in recorded.stdout
    assert "baseline of 'main' is now snapshot #1" in recorded.stdout
    assert (project / "reports/trend.svg").is_file()

    # What was recorded equals strict per-service coverage runs.
    with History.open(project / HISTORY_DB, "h", create=False) as store:
        (snapshot,) = store.snapshots(files=True)
    assert len(snapshot.files) == example_source_files(project)
    before = {}
    for record in snapshot.services:
        before[record.name] = isolated_truth(project, record.name, tmp_path / "before")
        figures = record.isolated
        assert (figures.statements, figures.covered, figures.branches, figures.covered_branches) == before[
            record.name
        ]

    # A feature branch drops one of auth's test files: auth's own coverage falls.
    git(project, "checkout", "-q", "-b", "feature")
    (project / ROOT / REMOVED).unlink()
    commit_all(project, "drop the password tests")
    remeasure_auth(project)
    after = isolated_truth(project, "auth", tmp_path / "after")
    line_delta = pct(after[1], after[0]) - pct(before["auth"][1], before["auth"][0])
    branch_delta = pct(after[3], after[2]) - pct(before["auth"][3], before["auth"][2])
    assert line_delta > -2.0 > branch_delta  # the line drop is tolerated, the branch drop is not

    gate = in_process(project, "gate", "--base", "main")
    assert gate.returncode == 1, gate.output
    rows = [line.split() for line in gate.stdout.splitlines() if line.startswith("regression")]
    auth_branch = next(row for row in rows if row[1:3] == ["auth", "branch"])
    assert auth_branch[-2:] == [f"({branch_delta:+.1f})", "fail"]
    auth_line = next(row for row in rows if row[1:3] == ["auth", "line"])
    assert auth_line[-2:] == [f"({line_delta:+.1f})", "warn"]
    assert all(row[-1] == "pass" for row in rows if row[1] in ("xp", "discord"))
    assert "baseline of 'main': snapshot #1" in gate.stdout
    assert "gate: FAIL" in gate.stdout
    dropped = in_process(project, "baseline")
    assert dropped.returncode == 0 and "recorded snapshot #2 (feature @" in dropped.stdout

    compare = in_process(project, "baseline", "--compare", "#1", "#2")
    assert compare.returncode == 1, compare.output
    assert f"auth branch {branch_delta:+.1f}" in compare.stdout
    assert "▼" in compare.stdout and "\x1b[" not in compare.stdout  # arrows, no colour off a terminal
    coloured = run(
        [sys.executable, "-m", "tasks", "baseline", "--compare", "#1", "#2"],
        project,
        env={"FORCE_COLOR": "1", "NO_COLOR": ""},
    )
    assert f"\x1b[31m▼ {branch_delta:+.1f}\x1b[0m" in coloured.stdout  # beyond tolerance: red
    assert f"\x1b[33m▼ {line_delta:+.1f}\x1b[0m" in coloured.stdout  # within tolerance: yellow

    # Restore the tests: the gate passes again.
    git(project, "checkout", "-q", "main", "--", f"{ROOT}/{REMOVED}")
    commit_all(project, "restore the password tests")
    remeasure_auth(project)
    gate = in_process(project, "gate", "--base", "main")
    assert gate.returncode == 0, gate.output
    restored = in_process(project, "baseline")
    assert "recorded snapshot #3 (feature @" in restored.stdout

    latest = in_process(project, "baseline", "--latest")
    assert latest.returncode == 0, latest.output
    assert f"▲ {-branch_delta:+.1f}" in latest.stdout

    status = in_process(project, "baseline", "--status")
    assert status.returncode == 0, status.output
    text = status.stdout
    assert "2 snapshots of 'feature' (3 in all)" in text
    assert "Baseline: none for 'feature'" in text
    assert "Goals (as of" in text and "total  line     90%" in text
    day = snapshot.when[:10]
    assert f"total        80%  {day} (#2)" in text  # first reached on this branch: its first snapshot
    xp_now = pct(before["xp"][1], before["xp"][0])  # xp's own tests, by a strict run: unchanged since
    assert f"xp           50%  not yet (now {xp_now:.1f}%)" in text
    history_rows = [line for line in text.splitlines() if line.startswith(("2 ", "3 "))]
    assert len(history_rows) == 2
    assert f"({-line_delta:+.1f})" in history_rows[1]  # auth's line change from #2 to #3
    main_status = in_process(project, "baseline", "--status", "--branch", "main")
    assert "<- baseline" in main_status.stdout and "Baseline of 'main': snapshot #1" in main_status.stdout


def test_export_import_through_nox_carries_the_history(on_git: Path, tmp_path: Path) -> None:
    project = on_git
    assert nox(project, "-s", "baseline", "--", "--set").returncode == 0
    export = nox(project, "-s", "baseline", "--", "--export", "history.jsonl")
    assert export.returncode == 0, export.output
    assert "exported 1 snapshot and 1 baseline" in export.stdout
    shutil.rmtree(project / ".coverage-history")  # a fresh CI runner
    imported = nox(project, "-s", "baseline", "--", "--import", "history.jsonl")
    assert imported.returncode == 0, imported.output
    assert "1 new snapshot of 1" in imported.stdout
    gate = nox(project, "-s", "gate", "--", "--base", "main", "--policy", "regression")
    assert gate.returncode == 0 and "baseline of 'main': snapshot #1" in gate.stdout
    again = in_process(project, "baseline", "--set")
    assert again.returncode == 0, again.output  # the same data: the same snapshot, already the baseline
    assert "already recorded" in again.stdout


def test_baseline__user_mistakes_are_one_line_errors(on_git: Path) -> None:
    project = on_git
    no_history = in_process(project, "baseline", "--status")
    assert no_history.returncode == 3 and "no history yet" in no_history.stderr
    assert in_process(project, "baseline").returncode == 0
    cases = [
        (("baseline", "--compare", "#1", "#9"), 2, "no snapshot matches '#9'"),
        (("baseline", "--compare", "99999999999999999999", "#1"), 2, "no snapshot matches '9999"),
        (("baseline", "--export", "."), 2, "is a folder"),
        (("baseline", "--latest"), 2, "needs two snapshots of 'main', found 1"),
        (("baseline", "--force"), 2, "--force only goes with --set"),
        (("baseline", "--status", "--latest"), 2, "not allowed with argument"),
        (("baseline", "--import", "missing.jsonl"), 2, "missing.jsonl: no such file to import"),
    ]
    for argv, code, message in cases:
        result = tasks(project, *argv)
        assert result.returncode == code, (argv, result.output)
        assert message in result.stderr, (argv, result.stderr)
        assert "Traceback" not in result.stderr
    (project / ".coverage-history/history.db").write_text("garbage " * 1000)
    corrupt = in_process(project, "baseline", "--status")
    assert corrupt.returncode == 3 and "not a readable history database" in corrupt.stderr
    git(project, "checkout", "-q", "--detach")
    detached = in_process(project, "baseline", "--force", "--set")
    assert detached.returncode == 2 and "HEAD is detached" in detached.stderr


def test_baseline__commit_is_looked_up_and_filed_by_its_full_id(on_git: Path) -> None:
    full = git(on_git, "rev-parse", "HEAD").strip()
    recorded = in_process(on_git, "baseline", "--commit", full[:7])
    assert recorded.returncode == 0, recorded.output
    with History.open(on_git / HISTORY_DB, "h", create=False) as store:
        (snapshot,) = store.snapshots()
    assert snapshot.commit == full
    # A commit the repository lacks is refused, and nothing is recorded.
    refused = in_process(on_git, "baseline", "--commit", "0" * 40)
    assert refused.returncode == 2, refused.output
    assert f"--commit {'0' * 40}: this repository has no such commit" in refused.stderr
    with History.open(on_git / HISTORY_DB, "h", create=False) as store:
        assert len(store.snapshots()) == 1
