"""What the regression policy compares with once a drop has reached main: a change against
main as it is (its newest snapshot, recorded after the baseline, that the change contains),
main's own run against its baseline, saying how to restore or accept the drop."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tasks.history.snapshot import Snapshot
from tasks.history.store import History
from tests.conftest import commit_all, flat, git, in_process, tasks
from tests.oracle import EXAMPLE_ROOT as ROOT

# Which snapshot the gate compares with is git and SQLite, the same on every Python and
# coverage.py: the first tests pass only.
pytestmark = [pytest.mark.e2e, pytest.mark.one_pass]

REMOVED = "tests/auth/test_auth_passwords.py"  # auth's branch coverage falls beyond the tolerance
HISTORY_DB = ".coverage-history/history.db"
REGRESSION = ("gate", "--base", "main", "--policy", "regression")


def remeasure_auth(project: Path) -> None:
    result = tasks(project, "run", "auth")
    assert result.returncode == 0, result.output
    combined = in_process(project, "combine")
    assert combined.returncode == 0, combined.output


def stored(project: Path) -> tuple[Snapshot, list[Snapshot]]:
    """main's baseline snapshot, and every snapshot in the history."""
    with History.open(project / HISTORY_DB, "h", create=False) as history:
        baseline = history.baseline("main")
        assert baseline is not None
        return baseline.snapshot, history.snapshots()


def compared_with(project: Path) -> dict[tuple[str, str], float]:
    """The figures the verdict's regression checks set the current ones against."""
    verdict = json.loads((project / "reports/gate.json").read_text())
    return {
        (c["scope"], c["metric"]): c["baseline"] for c in verdict["checks"] if c["policy"] == "regression"
    }


def figures_of(snapshot: Snapshot) -> dict[tuple[str, str], float]:
    found = {}
    for scope, figures in snapshot.headline().items():
        for metric, value in (("line", figures.line_pct), ("branch", figures.branch_pct)):
            if value is not None:
                found[scope, metric] = value
    return found


def commit_docs(project: Path, branch: str, start: str) -> None:
    """A branch off `start` whose one commit changes documentation only."""
    git(project, "checkout", "-q", "-b", branch, start)
    (project / "NOTES.md").write_text(f"A note of {branch}'s.\n")
    commit_all(project, f"{branch}: docs only")


@pytest.fixture
def regressed_main(measured_copy: Path) -> Path:
    """main with a baseline (#1), then a commit dropping auth's password tests, measured and
    recorded (#2) without --set, as CI records a push whose gate failed."""
    project = measured_copy
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "base")
    assert in_process(project, "baseline", "--set").returncode == 0
    git(project, "branch", "before-the-drop")
    (project / ROOT / REMOVED).unlink()
    commit_all(project, "drop the password tests")
    remeasure_auth(project)
    # The push's own gate, before its snapshot is recorded: it fails, saying how to proceed.
    push = in_process(project, *REGRESSION)
    assert push.returncode == 1, push.output
    text = flat(push.stdout)
    assert "This is main's own run: if the regression policy fails, restore the coverage" in text
    assert "nox -s baseline -- --set --force" in text and "Snapshots of main recorded since" not in text
    recorded = in_process(project, "baseline")
    assert recorded.returncode == 0, recorded.output
    assert "recorded snapshot #2 (main @" in recorded.stdout
    return project


def test_regression__a_change_is_judged_against_main_as_it_is(regressed_main: Path) -> None:
    project = regressed_main
    baseline, snapshots = stored(project)
    newer = snapshots[-1]
    assert (baseline.id, newer.id, newer.commit) == (1, 2, git(project, "rev-parse", "main").strip())
    drops = {
        key: figures_of(newer)[key] - before
        for key, before in figures_of(baseline).items()
        if key in figures_of(newer)
    }
    assert drops[("auth", "branch")] < -2.0  # beyond the default tolerance

    # A docs-only change on top of it: main as it is (#2) is what it is compared with.
    commit_docs(project, "docs", "main")
    change = in_process(project, *REGRESSION)
    assert change.returncode == 0, change.output
    assert compared_with(project) == figures_of(newer)
    text = flat(change.stdout)
    assert (
        f"Regression measured against main as it is: snapshot #2 (commit {newer.commit[:7]}, {newer.when}), "
        "recorded after its baseline #1, which main's own gate has not passed since" in text
    ), text
    assert "docs/gate.md" in text
    assert "gate: PASS" in text

    # main's own run: against its baseline, as before, failing, and saying how to proceed.
    git(project, "checkout", "-q", "main")
    on_main = in_process(project, *REGRESSION)
    assert on_main.returncode == 1, on_main.output
    assert compared_with(project) == figures_of(baseline)
    text = flat(on_main.stdout)
    assert "baseline of 'main': snapshot #1" in text
    assert "nox -s baseline -- --set --force" in text
    assert "gh workflow run coverage.yml --ref main -f accept-baseline=true" in text
    assert "docs/ci.md" in text
    assert (
        "recorded since (the newest #2) were not made its baseline: its own gate has not passed since" in text
    )


def test_regression__a_change_without_the_newer_snapshot_is_judged_against_the_baseline(
    regressed_main: Path,
) -> None:
    """A branch taken before the drop does not contain #2's commit: the baseline it is."""
    project = regressed_main
    baseline, snapshots = stored(project)
    commit_docs(project, "early", "before-the-drop")
    remeasure_auth(project)  # the password tests are back on this branch
    result = in_process(project, *REGRESSION)
    assert result.returncode == 0, result.output
    assert compared_with(project) == figures_of(baseline) != figures_of(snapshots[-1])
    text = flat(result.stdout)
    assert "Regression measured against the baseline of 'main': snapshot #1" in text
    assert "as it is" not in text


def test_regression__a_snapshot_of_a_commit_git_does_not_know_is_skipped(regressed_main: Path) -> None:
    """A snapshot of main recorded at a commit this clone lacks (a shallow clone, or one
    imported from elsewhere): passed over for the newest one git knows."""
    project = regressed_main
    unknown = "f" * 40
    with History.open(project / HISTORY_DB, "h", create=False) as history:
        newest = history.snapshots()[-1]
        later = replace(newest, id=None, commit=unknown, recorded_at="2999-01-01T00:00:00Z")
        assert history.merge([later], []) == 1
    _, snapshots = stored(project)
    assert [s.commit for s in snapshots][-2:] == [newest.commit, unknown]
    commit_docs(project, "docs", "main")
    result = in_process(project, *REGRESSION)
    assert result.returncode == 0, result.output
    assert compared_with(project) == figures_of(newest)
    assert "Regression measured against main as it is: snapshot #2" in flat(result.stdout)
