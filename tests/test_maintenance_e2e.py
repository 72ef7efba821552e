"""`maintenance` and `audit` on fixture repositories that each have exactly one flaw:
retention with files of chosen ages (times set, not slept), history thinning, the audit's
findings, the digest."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import re
import sqlite3
import time
from importlib import metadata
from pathlib import Path

import pytest

from tasks.history.store import History
from tests.conftest import flat, in_process, nox
from tests.oracle import example_isolated
from tests.test_history import snapshot

pytestmark = pytest.mark.e2e

DAY = 86400


def age(path: Path, days: float) -> None:
    """Set a file's (or folder's) modification time `days` in the past."""
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp))


def digest_page(project: Path) -> str:
    """The Markdown page maintenance wrote (the terminal gets it in plain text)."""
    return (project / "reports/maintenance/digest.md").read_text(encoding="utf-8")


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
    listed = [line for line in digest_page(kit_copy).splitlines() if line.startswith("- Would remove")]
    assert listed == [
        "- Would remove report archive `reports/archive/20260901T000000Z` (81 days old)",
        "- Would remove report archive `reports/archive/20261001T000000Z` (51 days old)",
        "- Would remove run log `reports/logs/xp.log` (45 days old)",
    ]
    # The terminal has the same lines in plain text.
    assert [line for line in dry.stdout.splitlines() if line.startswith("- Would remove")] == [
        line.replace("`", "") for line in listed
    ]
    assert sorted(p.name for p in (reports / "archive").iterdir()) == [
        "20260901T000000Z",
        "20261001T000000Z",
        "20261115T000000Z",
    ]
    assert (logs / "xp.log").exists()

    real = in_process(kit_copy, "maintenance")
    assert real.returncode == 0, real.output
    assert sorted(p.name for p in (reports / "archive").iterdir()) == ["20261115T000000Z"]
    assert sorted(p.name for p in logs.iterdir()) == ["auth.log"]
    assert "- Removed report archive reports/archive/20260901T000000Z (81 days old)" in real.stdout


def test_maintenance__retention_period_comes_from_the_manifest(kit_copy: Path) -> None:
    manifest = kit_copy / "configs/services.toml"
    manifest.write_text(manifest.read_text() + "\n[maintenance]\nretention_days = 7\n")
    make_archives(kit_copy / "reports", {"20261101T000000Z": 8, "20261102T000000Z": 6})
    result = in_process(kit_copy, "maintenance", "--dry-run")
    assert result.returncode == 0, result.output
    assert "\nRetention (7 days)\n------------------\n" in result.stdout
    assert "reports/archive/20261101T000000Z (8 days old)" in result.stdout
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
    result = in_process(kit_copy, "maintenance")
    assert result.returncode == 0, result.output
    assert sorted(p.name for p in (reports / "archive").iterdir()) == ["notes"]
    assert sorted(p.name for p in (reports / "logs").iterdir()) == ["build.log"]
    assert sorted(p.name for p in (data / "stale").iterdir()) == ["README"]
    assert sorted(p.name for p in data.glob(".*.tmp")) == [".notes.k3j9x0q2.tmp", ".xp.tmp"]
    assert "- Removed unfinished write .coverage-data/.xp.k3j9x0q2.tmp (90 days old)" in result.stdout


def test_report_archive__is_what_retention_acts_on(measured_copy: Path) -> None:
    result = in_process(measured_copy, "report", "--archive", "--format", "markdown")
    assert result.returncode == 0, result.output
    (archive,) = (measured_copy / "reports/archive").iterdir()
    assert (archive / "summary.md").read_text() == (measured_copy / "reports/summary.md").read_text()
    age(archive, 31)
    listed = in_process(measured_copy, "maintenance", "--dry-run")
    assert f"- Would remove report archive reports/archive/{archive.name} (31 days old)" in listed.stdout


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
    result = in_process(kit_copy, "maintenance", "--branch", "main")
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
    result = in_process(kit_copy, "maintenance", "--branch", "main")
    assert result.returncode == 0, result.output
    digest = digest_page(kit_copy)
    assert "| xp | 40.0% | 52.0% | +12.0 |" in digest
    assert "(1 snapshot this week)" in digest
    assert "Biggest gain: xp (+12.0). Biggest drop: none." in digest
    assert "| coverage | " in digest and "| ok |" in digest
    # The terminal: the same page, its tables in columns.
    terminal = result.stdout
    assert re.search(r"^xp +40\.0% +52\.0% +\+12\.0$", terminal, re.MULTILINE), terminal
    assert "(1 snapshot this week)" in flat(terminal) and "Biggest gain: xp (+12.0)." in flat(terminal)
    assert "|" not in terminal and "##" not in terminal, terminal


def test_maintenance__says_when_no_snapshot_came_this_week(kit_copy: Path) -> None:
    database = kit_copy / ".coverage-history/history.db"
    with History.open(database, "history", create=True) as history:
        history.record(dataclasses.replace(snapshot(), recorded_at="2000-01-01T00:00:00Z"))
    result = in_process(kit_copy, "maintenance", "--dry-run", "--branch", "main")
    assert result.returncode == 0, result.output
    assert "**No snapshot of `main` was recorded this week.**" in digest_page(kit_copy)
    assert "\nNo snapshot of main was recorded this week.\n" in result.stdout
    other = in_process(kit_copy, "maintenance", "--dry-run", "--branch", "release")
    assert "No snapshot of `release` in the history yet." in digest_page(kit_copy)
    assert "No snapshot of release in the history yet." in other.stdout


def test_audit__one_source_spanning_three_services_is_the_masking_setup(kit_copy: Path) -> None:
    pyproject = kit_copy / "examples/monorepo/pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("branch = true", 'branch = true\nsource = ["src"]'))
    result = nox(kit_copy, "-s", "audit")
    assert result.returncode == 1, result.output
    assert (
        "error: examples/monorepo/pyproject.toml [tool.coverage.run] source = 'src': one coverage source "
        "spans 3 services (xp, auth, discord)." in flat(result.stdout)
    )
    assert (
        "fix: measure each service with its own tests: nox -s coverage-xp coverage-auth coverage-discord"
        in flat(result.stdout)
    )
    maintenance = in_process(kit_copy, "maintenance")
    assert maintenance.returncode == 1  # an error finding fails the weekly job
    assert "- **error** `examples/monorepo/pyproject.toml [tool.coverage.run] source = 'src'`: one " in (
        digest_page(kit_copy)
    )
    assert (
        "\nerror: examples/monorepo/pyproject.toml [tool.coverage.run] source = 'src': " in maintenance.stdout
    )
    assert "src': one coverage source spans 3 services (xp, auth, discord). why: " in flat(maintenance.stdout)


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
    result = in_process(kit_copy, "audit")
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
    result = in_process(kit_copy, "audit")
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 1)
    assert ("pytest-cov measures 3 services" in result.stdout) is (name == "pytest.ini")


def test_audit__one_service_source_is_not_masking(kit_copy: Path) -> None:
    (kit_copy / "examples/monorepo/.coveragerc").write_text("[run]\nsource = src/xp\n")
    result = in_process(kit_copy, "audit")
    assert result.returncode == 0, result.output
    assert "0 findings, 0 at error severity." in result.stdout


def test_audit__missing_floor_and_a_floor_far_below_the_baseline(measured_copy: Path, tmp_path: Path) -> None:
    manifest = measured_copy / "configs/services.toml"
    text = manifest.read_text().replace("[services.discord.thresholds]\nline = 80\nbranch = 60\n", "")
    manifest.write_text(text)
    recorded = in_process(measured_copy, "baseline", "--set", "--branch", "main", "--commit", "a" * 40)
    assert recorded.returncode == 0, recorded.output
    result = in_process(measured_copy, "audit", "--branch", "main")
    assert result.returncode == 0, result.output  # warnings only
    assert "warning: configs/services.toml [services.discord.thresholds]: discord has no line floor." in (
        result.stdout
    )
    # auth's branch floor is 60; its baseline is what its own tests reach, by a strict run.
    slack = example_isolated(measured_copy, "auth", tmp_path).branch_pct - 60
    assert slack > 10  # far enough below for the audit to speak
    # Three floors far below their baselines: one warning of that kind, auth's first.
    assert (
        "[services.auth.thresholds] branch = 60 and 2 more places: 3 warnings of one kind: the branch "
        f"floor of auth is {slack:.1f} points below its baseline" in flat(result.stdout)
    )


def test_audit__data_from_another_coverage_version(measured_copy: Path) -> None:
    data = measured_copy / ".coverage-data/auth"
    with contextlib.closing(sqlite3.connect(data)) as connection, connection:
        connection.execute("UPDATE meta SET value = '6.5.0' WHERE key = 'version'")
    result = in_process(measured_copy, "audit")
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
    result = in_process(kit_copy, "maintenance")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_maintenance__terminal_digest_is_plain_text_and_the_file_markdown(kit_copy: Path) -> None:
    """Two error findings whose text has what each format must treat: a quote and `&&` (the
    kit's own words around pytest's), an underscore, and an escape character from a CI
    workflow (repository text, which must not reach a terminal raw)."""
    (kit_copy / "examples/monorepo/tests/xp/test_helpers.py").write_text("import xp_helpers\n")
    workflow = kit_copy / "examples/monorepo/.github/workflows/ci.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("jobs:\n  t:\n    steps:\n      - run: pytest --cov=src  # \x1b[2J\n")
    result = in_process(kit_copy, "maintenance")
    assert result.returncode == 1, result.output  # error findings fail the weekly job
    assert "Traceback" not in result.output, result.output
    terminal, page = result.stdout, digest_page(kit_copy)

    collecting = "collecting xp's tests failed (pytest exit status 2: tests/xp/test_helpers.py: "
    command = "cd examples/monorepo && python -m pytest --collect-only tests/xp"
    assert f"{collecting}ModuleNotFoundError: No module named 'xp_helpers')." in flat(terminal), terminal
    assert f"{command}." in flat(terminal)
    assert "examples/monorepo/.github/workflows/ci.yml:4 run: pytest --cov=src # \\x1b[2J: one coverage" in (
        flat(terminal)
    )
    for markup in ("&#x27;", "&amp;", "`", "**", "\\_", "\x1b"):
        assert markup not in terminal, (markup, terminal)

    # The file: Markdown, where a quote and `&&` need no escape and an underscore does.
    assert (
        "- **error** `configs/services.toml [services.xp] tests = ['tests/xp']`: collecting xp's tests "
        "failed (pytest exit status 2: tests/xp/test\\_helpers.py: ModuleNotFoundError: No module named "
        "'xp\\_helpers'). Why: " in page
    ), page
    assert f"{command}." in page
    assert "&#x27;" not in page and "&amp;" not in page


def recorded_tools(data_file: Path) -> dict[str, str | None]:
    with contextlib.closing(sqlite3.connect(data_file)) as connection:
        (text,) = connection.execute(
            "SELECT value FROM meta WHERE key = 'coverage_workflows:tools'"
        ).fetchone()
    return json.loads(text)


def record_tools(data_file: Path, versions: dict[str, str | None] | None) -> None:
    with contextlib.closing(sqlite3.connect(data_file)) as connection, connection:
        if versions is None:
            connection.execute("DELETE FROM meta WHERE key = 'coverage_workflows:tools'")
        else:
            connection.execute(
                "UPDATE meta SET value = ? WHERE key = 'coverage_workflows:tools'", (json.dumps(versions),)
            )


TOOLS_OF_A_RUN = ("coverage", "pytest", "pytest-cov", "pytest-xdist", "pytest-split")


def test_maintenance__tools_are_the_versions_the_service_runs_recorded(measured_copy: Path) -> None:
    data = measured_copy / ".coverage-data"
    # Each run recorded the tools of the environment it ran in (here: this one).
    here: dict[str, str | None] = {name: metadata.version(name) for name in TOOLS_OF_A_RUN}
    for service in ("xp", "auth", "discord"):
        assert recorded_tools(data / service) == here, service
    # auth's session had an older pytest, outside the project's pin (>=8).
    record_tools(data / "auth", {**here, "pytest": "7.4.4"})
    result = in_process(measured_copy, "maintenance", "--dry-run")
    assert result.returncode == 0, result.output
    page = digest_page(measured_copy)
    assert (
        f"| pytest | `{here['pytest']}` (xp, discord); `7.4.4` (auth) | the runs of xp, auth, discord "
        "| `>=8` | **outside the pin** |" in page
    ), page
    assert f"| coverage | `{here['coverage']}` | the runs of xp, auth, discord |" in page
    assert re.search(
        rf"^pytest +{re.escape(here['pytest'])} \(xp, discord\); 7\.4\.4 \(auth\) +the runs of xp, auth, "
        r"discord +>=8 +outside the pin$",
        result.stdout,
        re.MULTILINE,
    ), result.stdout
    # nox runs the sessions from outside them: its version is this session's.
    assert f"| nox | `{metadata.version('nox')}` | this session |" in page

    # Data from before the runs recorded their tools: the versions installed here, so marked.
    for service in ("xp", "auth", "discord"):
        record_tools(data / service, None)
    fallback = in_process(measured_copy, "maintenance", "--dry-run")
    assert fallback.returncode == 0, fallback.output
    assert f"| pytest | `{here['pytest']}` | this session | `>=8` | ok |" in digest_page(measured_copy)


def test_prune_envs__removes_the_kit_s_environments_no_session_uses_and_nothing_else(
    kit_copy: Path, tmp_path: Path
) -> None:
    """An install list changed twice leaves two environments behind; `nox -s prune-envs`
    removes them and their records, says how much that freed, and leaves the one in use, a
    session of the team's own and a link alone (`maintenance` runs the same)."""
    envdir = kit_copy / ".nox"
    records = envdir / ".cache/coverage-workflows-envs"
    records.mkdir(parents=True)
    for name, size in (("shared-env-deadbeef", 3 * 2**20), ("shared-env-0badf00d", 2**20)):
        (envdir / name / "lib").mkdir(parents=True)
        (envdir / name / "lib" / "blob").write_bytes(b"x" * size)
        (records / name).write_text(str(envdir / name / "bin"))
    (envdir / "shared-env").mkdir()  # the example's one environment: in use
    (envdir / "lint").mkdir()  # a session of the team's own noxfile
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (envdir / "shared-env-12345678").symlink_to(elsewhere)  # never followed, never removed

    dry = nox(kit_copy, "-s", "prune-envs", "--", "--dry-run")
    assert dry.returncode == 0, dry.output
    said = flat(dry.stdout)
    assert "environments: would remove shared-env-0badf00d (1.0 MiB)" in said, dry.output
    assert "environments: would remove shared-env-deadbeef (3.0 MiB)" in said
    assert "would remove 2 no session uses, 4.0 MiB to free" in said
    assert (envdir / "shared-env-deadbeef").is_dir()

    pruned = nox(kit_copy, "-s", "prune-envs")
    assert pruned.returncode == 0, pruned.output
    assert "environments: removed 2 no session uses, 4.0 MiB freed" in flat(pruned.stdout), pruned.output
    left = {path.name for path in envdir.iterdir()}
    assert left == {".cache", "shared-env", "lint", "shared-env-12345678"}, left
    assert not (records / "shared-env-deadbeef").exists() and not (records / "shared-env-0badf00d").exists()
    assert elsewhere.is_dir()
    again = nox(kit_copy, "-s", "prune-envs")
    assert "environments: none unused in" in flat(again.stdout), again.output
