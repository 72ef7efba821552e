"""Runs side by side: pytest-xdist workers inside a run, every shard of every service at
once (coverage-all) with its limits and failure reporting, and nox --parallel."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from coverage import CoverageData

from tasks.config.layout import Shard
from tasks.config.loader import load
from tasks.measure import parallel
from tests.conftest import flat, in_process, nox, tasks, write_files

pytestmark = pytest.mark.e2e

DATA = ".coverage-data"


def lines_and_arcs(path: Path) -> dict[str, tuple[list[int], list[tuple[int, int]], set[str]]]:
    """Every measured file's lines, arcs and contexts: the data, compared line for line."""
    data = CoverageData(basename=str(path))
    data.read()
    return {
        name: (
            sorted(data.lines(name) or []),
            sorted(data.arcs(name) or []),
            {context for contexts in data.contexts_by_lineno(name).values() for context in contexts},
        )
        for name in data.measured_files()
    }


def test_workers__xdist_run_records_exactly_the_single_process_data(measured_copy: Path) -> None:
    single = measured_copy / DATA / "xp"
    kept = measured_copy.parent / "xp-single"
    shutil.copy2(single, kept)
    result = tasks(measured_copy, "run", "xp", "--workers", "2")
    assert result.returncode == 0, result.output
    assert "--numprocesses 2" in result.stdout
    assert re.search(r"\[gw[01]\]|2 workers|created: 2/2 workers", result.stdout), result.stdout
    assert lines_and_arcs(single) == lines_and_arcs(kept)


def test_run_all__failed_shard_is_named_and_the_rest_is_kept(kit_copy: Path) -> None:
    write_files(
        kit_copy / "examples/monorepo",
        {"tests/auth/test_broken.py": "def test_broken():\n    assert False\n"},
    )
    result = tasks(kit_copy, "run-all", "--shards", "2", "--jobs", "2")
    assert result.returncode == 1, result.output
    failed = re.search(r"^auth shard (\d)/2: FAILED with exit status 1 \(tests failed\)", result.stdout, re.M)
    assert failed, result.stdout
    index = int(failed.group(1))
    assert "test_broken" in result.stdout  # the log's tail shows what failed
    table = result.stdout[result.stdout.index("6 service runs in ") :]
    assert "5 passed, 1 failed." in table.splitlines()[0], table
    assert f"  auth shard {index}/2  FAILED (exit 1): tests failed" in table, table
    assert "FAILED tests/auth/test_broken.py::test_broken - assert False" in table, table
    # It failed beside the other runs, and again alone: a real failure, named with that run's log.
    assert f"auth shard {index}/2: its tests failed beside other runs; running it alone once" in result.stdout
    rerun = f"again: nox -s coverage-auth -- --shards 2 --shard {index}"
    assert f"log: reports/logs/auth.shard-{index}-of-2.alone.log; {rerun}" in table, table
    data = kit_copy / DATA
    kept = {p.name for p in data.iterdir() if p.is_file()}
    expected = {f"{name}.shard-{k}-of-2" for name in ("xp", "auth", "discord") for k in (1, 2)}
    assert kept == expected - {f"auth.shard-{index}-of-2"}
    assert (data / "failed" / f"auth.shard-{index}-of-2").exists()

    combined = in_process(kit_copy, "combine")
    assert combined.returncode == 0, combined.output
    assert f"auth shard {index}/2: its last run failed (tests failed)" in combined.stdout, combined.stdout


def test_run_all__sharded_together_combine_to_the_separate_runs(measured_copy: Path) -> None:
    expected = in_process(measured_copy, "report", "--format", "json")
    assert expected.returncode == 0, expected.output
    result = tasks(measured_copy, "run-all", "--shards", "2", "--jobs", "2", "--workers", "1")
    assert result.returncode == 0, result.output
    assert "running 6 runs, 2 at a time, 1 worker each" in result.stdout
    assert "warning" not in result.stdout
    assert in_process(measured_copy, "combine").returncode == 0
    again = in_process(measured_copy, "report", "--format", "json")

    def tables(output: str) -> list[str]:
        """The per-service table's rows and the masking matrix's, in order."""
        return [
            line for line in output.splitlines() if line.startswith(("xp ", "auth ", "discord ", "Total "))
        ]

    assert tables(again.stdout) == tables(expected.stdout)
    assert len(tables(again.stdout)) == 4 + 3


RENDEZVOUS = """
import time
from pathlib import Path

MEET = Path(__file__).resolve().parents[2] / ".meet"


def test_meets_the_other_service():
    MEET.mkdir(exist_ok=True)
    (MEET / "{me}").touch()
    deadline = time.monotonic() + 60
    while not (MEET / "{other}").exists():
        assert time.monotonic() < deadline, "the other service's tests never ran at the same time"
        time.sleep(0.05)
"""


def test_nox_parallel__service_sessions_run_side_by_side(kit_copy: Path) -> None:
    """Each service's tests wait for the other's: they pass only if both run at once. One
    of discord's tests fails besides: the end table says that side by side, a failure may
    be a file the two share, and how to run it alone."""
    example = kit_copy / "examples/monorepo"
    write_files(
        example,
        {
            "tests/auth/test_meet.py": RENDEZVOUS.format(me="auth", other="discord"),
            "tests/discord/test_meet.py": RENDEZVOUS.format(me="discord", other="auth"),
            "tests/discord/test_fails.py": "def test_fails():\n    assert 1 == 2\n",
        },
    )
    result = nox(kit_copy, "-j", "2", "-s", "coverage-auth", "coverage-discord")
    assert result.returncode == 1, result.output
    # Both, after the one environment they share was built (once, before either).
    assert "Ran 3 sessions" in result.stderr
    assert result.stderr.count("* shared-env: success") == 1
    assert (kit_copy / DATA / "auth").exists()
    said = flat(result.stderr)
    assert "discord FAILED (exit 1): tests failed" in said, result.stderr
    assert "ran side by side (nox --parallel): a service whose tests failed may pass alone" in said
    (example / "tests/discord/test_meet.py").unlink()  # alone, there is no one to meet
    alone = nox(kit_copy, "-s", "coverage-discord")  # one after another: no such words
    assert alone.returncode == 1, alone.output
    assert "discord FAILED (exit 1)" in flat(alone.stderr) and "side by side" not in alone.stderr


def test_limits__default_to_one_test_process_per_core() -> None:
    assert parallel.limits(None, 1, cores=4) == parallel.Limits(jobs=4, workers=1, cores=4)
    assert parallel.limits(None, 2, cores=4).jobs == 2
    assert parallel.limits(None, 8, cores=4).jobs == 1
    assert parallel.limits(None, 1, cores=4).warning() is None


def test_limits__warn_beyond_twice_the_cores() -> None:
    assert parallel.limits(4, 1, cores=2).warning() is None  # exactly twice: fine
    warning = parallel.limits(3, 2, cores=2).warning()
    assert warning is not None
    assert "3 runs at a time x 2 workers = 6 test processes on 2 cores" in warning
    assert "--jobs 2" in warning


def test_run_all__warns_before_starting(kit_copy: Path) -> None:
    result = tasks(kit_copy, "run-all", "discord", "--jobs", "1", "--workers", "5")
    assert result.returncode == 0, result.output
    assert result.stdout.startswith("warning: 1 runs at a time x 5 workers = 5 test processes")


def test_plan__manifest_shards_win_over_the_option(kit_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(kit_copy)
    manifest = load()
    jobs = parallel.plan(manifest, [], shards=3)
    assert [(j.service, j.shard) for j in jobs] == [
        ("xp", Shard(1, 2)),
        ("xp", Shard(2, 2)),
        *[(name, Shard(k, 3)) for name in ("auth", "discord") for k in (1, 2, 3)],
    ]
    assert [(j.service, j.shard) for j in parallel.plan(manifest, ["auth"], shards=None)] == [("auth", None)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--jobs", "0"), "--jobs 0: give a number of runs at a time of at least 1"),
        (("--workers", "0"), "--workers 0: give from 1 to 64"),
        (("--shards", "0"), "--shards 0: give from 1 to 256"),
        (("nosuch",), "nosuch"),
    ],
)
def test_run_all__option_mistakes(kit_copy: Path, argv: tuple[str, ...], message: str) -> None:
    result = tasks(kit_copy, "run-all", *argv)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


SHARED_DATABASE = {
    "configs/services.toml": """
        [settings]
        root = "repo"
        env = { SHARED = "{shared}" }

        [services.left]
        source = ["src/left"]
        tests = ["tests/left"]

        [services.right]
        source = ["src/right"]
        tests = ["tests/right"]
    """,
    "repo/pytest.ini": "[pytest]\npythonpath = src\n",
    "repo/src/left/__init__.py": "def name():\n    return 'left'\n",
    "repo/src/right/__init__.py": "def name():\n    return 'right'\n",
}
# Both services' tests use one SQLite file, as tests that share a fixture database do: each
# waits until the other has started (so that side by side they meet), then creates its table.
SHARED_TABLE_TEST = """
import os
import sqlite3
import time
from pathlib import Path

from {name} import name


def test_table():
    shared = Path(os.environ["SHARED"])
    (shared / f"started-{name}").touch()
    deadline = time.monotonic() + 30
    while not (shared / "started-{other}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    with sqlite3.connect(shared / "fixtures.db", timeout=30) as db:
        db.execute("CREATE TABLE fixtures (service TEXT)")  # a second one fails: it exists
    time.sleep(0.5)
    with sqlite3.connect(shared / "fixtures.db", timeout=30) as db:
        db.execute("DROP TABLE fixtures")
    assert name() == "{name}"
"""


def test_run_all__a_run_that_fails_only_side_by_side_is_run_alone_and_kept_saying_so(
    make_project, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    files = {key: value.replace("{shared}", str(shared)) for key, value in SHARED_DATABASE.items()}
    for name, other in (("left", "right"), ("right", "left")):
        files[f"repo/tests/{name}/test_{name}.py"] = SHARED_TABLE_TEST.format(name=name, other=other)
    project = make_project(files)
    result = tasks(project, "run-all", "--jobs", "2")
    assert result.returncode == 0, result.output
    (failed,) = re.findall(r"^(left|right): FAILED with exit status 1", result.stdout, re.M)
    table = result.stdout[result.stdout.index("service runs in") :]
    assert f"{failed}  failed only side by side: passed when run alone" in table, table
    assert "a file, port or database the services share" in " ".join(table.split()), table
    assert 'env = { NAME = "...{service}..." }' in " ".join(table.split()), table
    assert (project / DATA / failed).is_file()  # the run alone's data is kept
    combined = in_process(project, "combine")
    assert combined.returncode == 0, combined.output
    assert "INCOMPLETE" not in combined.stdout
