"""`maintenance` and `audit` on fixture repositories that each have exactly one flaw:
retention with files of chosen ages (times set, not slept), history thinning, the audit's
findings, the digest."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import sqlite3
import time
from pathlib import Path

import pytest

from tasks.history.store import History
from tests.conftest import nox, tasks
from tests.test_history import snapshot

pytestmark = pytest.mark.e2e

DAY = 86400


def age(path: Path, days: float) -> None:
    """Set a file's (or folder's) modification time `days` in the past."""
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp))


def make_archives(reports: Path, ages: dict[str, float]) -> None:
    for name, days in ages.items():
        folder = reports / "archive" / name
        folder.mkdir(parents=True)
        (folder / "summary.md").write_text("old report\n")
        age(folder, days)


def test_maintenance__dry_run_lists_exactly_the_old_archives(kit_copy: Path) -> None:
    reports = kit_copy / "reports"
    make_archives(reports, {"20260901T000000Z": 81, "20261001T000000Z": 51, "20261115T000000Z": 6})
    logs = reports / "logs"
    logs.mkdir()
    (logs / "xp.log").write_text("log\n")
    age(logs / "xp.log", 45)
    (logs / "auth.log").write_text("log\n")

    dry = nox(kit_copy, "-s", "maintenance", "--", "--dry-run")
    assert dry.returncode == 0, dry.output
    listed = [line for line in dry.stdout.splitlines() if line.startswith("- Would remove")]
    assert listed == [
        "- Would remove report archive `reports/archive/20260901T000000Z` (81 days old)",
        "- Would remove report archive `reports/archive/20261001T000000Z` (51 days old)",
        "- Would remove run log `reports/logs/xp.log` (45 days old)",
    ]
    assert sorted(p.name for p in (reports / "archive").iterdir()) == [
        "20260901T000000Z",
        "20261001T000000Z",
        "20261115T000000Z",
    ]
    assert (logs / "xp.log").exists()

    real = tasks(kit_copy, "maintenance")
    assert real.returncode == 0, real.output
    assert sorted(p.name for p in (reports / "archive").iterdir()) == ["20261115T000000Z"]
    assert sorted(p.name for p in logs.iterdir()) == ["auth.log"]
    assert "- Removed report archive `reports/archive/20260901T000000Z`" in real.stdout


def test_maintenance__retention_period_comes_from_the_manifest(kit_copy: Path) -> None:
    manifest = kit_copy / "configs/services.toml"
    manifest.write_text(manifest.read_text() + "\n[maintenance]\nretention_days = 7\n")
    make_archives(kit_copy / "reports", {"20261101T000000Z": 8, "20261102T000000Z": 6})
    result = tasks(kit_copy, "maintenance", "--dry-run")
    assert result.returncode == 0, result.output
    assert "## Retention (7 days)" in result.stdout
    assert "`reports/archive/20261101T000000Z` (8 days old)" in result.stdout
    assert "20261102T000000Z" not in result.stdout


def test_maintenance__touches_only_the_kits_own_names(kit_copy: Path) -> None:
    """reports_dir and data_dir may hold other things (even be the project folder)."""
    reports, data = kit_copy / "reports", kit_copy / ".coverage-data"
    make_archives(reports, {"notes": 90, "20260101T000000Z": 90})
    (reports / "logs").mkdir()
    (data / "stale").mkdir(parents=True)
    for path in (
        reports / "logs/build.log",
        reports / "logs/xp.log",
        data / "stale/README",
        data / "stale/xp.shard-1-of-2",
        data / ".xp.k3j9x0q2.tmp",  # a data write a killed run never finished
        data / ".notes.k3j9x0q2.tmp",  # the same name pattern, but not a data file of the kit
        data / ".xp.tmp",
    ):
        path.write_text("x\n")
        age(path, 90)
    result = tasks(kit_copy, "maintenance")
    assert result.returncode == 0, result.output
    assert sorted(p.name for p in (reports / "archive").iterdir()) == ["notes"]
    assert sorted(p.name for p in (reports / "logs").iterdir()) == ["build.log"]
    assert sorted(p.name for p in (data / "stale").iterdir()) == ["README"]
    assert sorted(p.name for p in data.glob(".*.tmp")) == [".notes.k3j9x0q2.tmp", ".xp.tmp"]
    assert "- Removed unfinished write `.coverage-data/.xp.k3j9x0q2.tmp` (90 days old)" in result.stdout


def test_report_archive__is_what_retention_acts_on(measured_copy: Path) -> None:
    result = tasks(measured_copy, "report", "--archive", "--format", "markdown")
    assert result.returncode == 0, result.output
    (archive,) = (measured_copy / "reports/archive").iterdir()
    assert (archive / "summary.md").read_text() == (measured_copy / "reports/summary.md").read_text()
    age(archive, 31)
    listed = tasks(measured_copy, "maintenance", "--dry-run")
    assert f"- Would remove report archive `reports/archive/{archive.name}` (31 days old)" in listed.stdout


def test_maintenance__thins_the_history_keeping_baselines(kit_copy: Path) -> None:
    manifest = kit_copy / "configs/services.toml"
    manifest.write_text(manifest.read_text() + "\n[maintenance]\nkeep_snapshots = 2\n")
    database = kit_copy / ".coverage-history/history.db"
    with History.open(database, "history", create=True) as history:
        for day in range(1, 6):
            recorded = snapshot(commit=f"{day:040x}", covered=40 + day)
            recorded = dataclasses.replace(recorded, recorded_at=f"2026-11-0{day}T10:00:00Z")
            history.record(recorded, set_baseline=day == 1)
        history.record(dataclasses.replace(snapshot(commit="f" * 40), branch="feature"))
    result = tasks(kit_copy, "maintenance", "--branch", "main")
    assert result.returncode == 0, result.output
    assert "History: removed 2 snapshots beyond the newest 2 per branch (baselines kept); 4 kept" in (
        result.stdout
    )
    with History.open(database, "history", create=False) as history:
        kept = [(s.branch, s.recorded_at[:10]) for s in history.snapshots()]
        assert history.baseline("main") is not None
    assert sorted(kept) == [
        ("feature", "2026-11-20"),
        ("main", "2026-11-01"),  # the baseline
        ("main", "2026-11-04"),
        ("main", "2026-11-05"),
    ]


def test_maintenance__digest_shows_the_week(kit_copy: Path) -> None:
    database = kit_copy / ".coverage-history/history.db"
    now = datetime.datetime.now(datetime.UTC)
    with History.open(database, "history", create=True) as history:
        for days_ago, covered, commit in ((10, 40, "a"), (2, 52, "b")):
            stamp = (now - datetime.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
            history.record(
                dataclasses.replace(snapshot(commit=commit * 40, covered=covered), recorded_at=stamp)
            )
    result = tasks(kit_copy, "maintenance", "--branch", "main")
    assert result.returncode == 0, result.output
    digest = (kit_copy / "reports/maintenance/digest.md").read_text()
    assert digest == result.stdout.split("\ndigest written to")[0]
    assert "| xp | 40.0% | 52.0% | +12.0 |" in digest
    assert "(1 snapshot this week)" in digest
    assert "Biggest gain: xp (+12.0). Biggest drop: none." in digest
    assert "| coverage | " in digest and "| ok |" in digest


def test_maintenance__says_when_no_snapshot_came_this_week(kit_copy: Path) -> None:
    database = kit_copy / ".coverage-history/history.db"
    with History.open(database, "history", create=True) as history:
        history.record(dataclasses.replace(snapshot(), recorded_at="2000-01-01T00:00:00Z"))
    result = tasks(kit_copy, "maintenance", "--dry-run", "--branch", "main")
    assert result.returncode == 0, result.output
    assert "**No snapshot of `main` was recorded this week.**" in result.stdout
    other = tasks(kit_copy, "maintenance", "--dry-run", "--branch", "release")
    assert "No snapshot of `release` in the history yet." in other.stdout


def test_audit__one_source_spanning_three_services_is_the_masking_setup(kit_copy: Path) -> None:
    pyproject = kit_copy / "examples/monorepo/pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("branch = true", 'branch = true\nsource = ["src"]'))
    result = nox(kit_copy, "-s", "audit")
    assert result.returncode == 1, result.output
    assert (
        "error: examples/monorepo/pyproject.toml [tool.coverage.run] source = 'src': one coverage source "
        "spans 3 services (xp, auth, discord)." in result.stdout
    )
    assert (
        "fix: measure each service with its own tests: nox -s coverage-xp coverage-auth coverage-discord"
        in (result.stdout)
    )
    maintenance = tasks(kit_copy, "maintenance")
    assert maintenance.returncode == 1  # an error finding fails the weekly job
    assert "**error** `examples/monorepo/pyproject.toml" in maintenance.stdout


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"examples/monorepo/.coveragerc": "[run]\nsource =\n    src\n"}, ".coveragerc [run] source = 'src'"),
        (
            {"examples/monorepo/setup.cfg": "[coverage:run]\nsource = src\n"},
            "setup.cfg [coverage:run] source",
        ),
        (
            {"examples/monorepo/pytest.ini": "[pytest]\naddopts = --cov=src -q\n"},
            "pytest-cov measures 3 services",
        ),
        ({"examples/monorepo/tox.ini": "[pytest]\naddopts = --cov src\n"}, "--cov=src"),
    ],
)
def test_audit__masking_in_other_config_files(kit_copy: Path, files: dict[str, str], expected: str) -> None:
    for relative, text in files.items():
        (kit_copy / relative).write_text(text)
    result = tasks(kit_copy, "audit")
    assert result.returncode == 1, result.output
    assert expected in result.stdout


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pytest.ini", '[pytest]\naddopts = -k "unbalanced --cov=src\n'),
        ("pyproject.toml", "[tool.pytest.ini_options]\naddopts = 3\n"),
        ("pyproject.toml", "[tool.pytest\nbroken"),
    ],
)
def test_audit__odd_config_files_are_read_without_a_traceback(kit_copy: Path, name: str, text: str) -> None:
    (kit_copy / "examples/monorepo" / name).write_text(text)
    result = tasks(kit_copy, "audit")
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 1)
    assert ("pytest-cov measures 3 services" in result.stdout) is (name == "pytest.ini")


def test_audit__one_service_source_is_not_masking(kit_copy: Path) -> None:
    (kit_copy / "examples/monorepo/.coveragerc").write_text("[run]\nsource = src/xp\n")
    result = tasks(kit_copy, "audit")
    assert result.returncode == 0, result.output
    assert "0 findings, 0 at error severity." in result.stdout


def test_audit__missing_floor_and_a_floor_far_below_the_baseline(measured_copy: Path) -> None:
    manifest = measured_copy / "configs/services.toml"
    text = manifest.read_text().replace("[services.discord.thresholds]\nline = 80\nbranch = 60\n", "")
    manifest.write_text(text)
    recorded = tasks(measured_copy, "baseline", "--set", "--branch", "main", "--commit", "a" * 40)
    assert recorded.returncode == 0, recorded.output
    result = tasks(measured_copy, "audit", "--branch", "main")
    assert result.returncode == 0, result.output  # warnings only
    assert "warning: configs/services.toml [services.discord.thresholds]: discord has no line floor." in (
        result.stdout
    )
    # auth's branch floor is 60 and its baseline 80.6%: 20.6 points of slack.
    assert (
        "[services.auth.thresholds] branch = 60: the branch floor of auth is 20.6 points below its baseline"
        in (result.stdout)
    )


def test_audit__data_from_another_coverage_version(measured_copy: Path) -> None:
    data = measured_copy / ".coverage-data/auth"
    with contextlib.closing(sqlite3.connect(data)) as connection, connection:
        connection.execute("UPDATE meta SET value = '6.5.0' WHERE key = 'version'")
    result = tasks(measured_copy, "audit")
    assert "warning: .coverage-data/auth: written by coverage.py 6.5.0" in result.stdout
    assert result.returncode == 0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[maintenance]\nretention_days = 0\n", "maintenance.retention_days"),
        ("[maintenance]\nkeep = 3\n", "keep"),
    ],
)
def test_maintenance__bad_settings_exit_2(kit_copy: Path, table: str, message: str) -> None:
    manifest = kit_copy / "configs/services.toml"
    manifest.write_text(manifest.read_text() + "\n" + table)
    result = tasks(kit_copy, "maintenance")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
