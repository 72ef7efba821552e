"""Faults from outside the kit: a run killed with SIGKILL, a full disk, writers at once.

Each fault is made real (a killed process group, a file-size limit the kernel enforces,
eight processes on one database) and repeated five times, because a fault that strikes at
a different moment each time is what finds the window where something is half written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest
from coverage import CoverageData

from tasks.config.layout import UNFINISHED_NAME
from tasks.history.store import History
from tasks.measure.scratch_folders import ALIVE_NAME
from tasks.measure.scratch_folders import clear_abandoned as clear_abandoned_scratch
from tasks.report.publish import STAGING_NAME, SWAPPED_PREFIX
from tasks.report.reuse import RECORD_NAME
from tests.conftest import (
    OPENS_FOR_WRITING,
    Result,
    audit_hook_env,
    flat,
    in_process,
    run,
    tasks,
    turn_fork_server_off,
)
from tests.oracle import example_source_files

pytestmark = pytest.mark.e2e

ROUNDS = 5

SLOW_SERVICE = {
    "configs/services.toml": """
        [services.slow]
        source = ["src/slow"]
        tests = ["tests/slow"]

        [services.quick]
        source = ["src/quick"]
        tests = ["tests/quick"]
    """,
    "pytest.ini": """
        [pytest]
        # The measured repository's own settings, not the kit's (which turn warnings into errors).
    """,
    "conftest.py": """
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).parent / "src"))
    """,
    "src/slow/__init__.py": "",
    "src/slow/work.py": """
        def double(n):
            if n < 0:
                return 0
            return 2 * n
    """,
    "tests/slow/test_work.py": """
        import os
        import time
        from pathlib import Path

        from slow.work import double


        def test_double():
            assert double(2) == 4


        def test_waits_to_be_killed():
            marker = os.environ.get("KILL_MARKER")
            if marker:  # tell the test we are mid-run, then wait for the SIGKILL
                Path(marker).write_text("running", encoding="utf-8")
                time.sleep(120)
    """,
    "src/quick/__init__.py": "",
    "src/quick/core.py": """
        def name():
            return "quick"
    """,
    "tests/quick/test_core.py": """
        from quick.core import name


        def test_name():
            assert name() == "quick"
    """,
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output, result.output


# When each round's SIGKILL strikes: so many seconds after the run starts (wherever the run
# has got to by then, from the kit's start to pytest's collection), and (None) once its
# tests are running. The deterministic kills at chosen moments are further down.
KILL_AFTER = (0.0, 0.2, 0.5, 1.0, None)
assert len(KILL_AFTER) == ROUNDS


def killed_mid_run(project: Path, marker: Path, *args: str, after: float | None = None) -> None:
    """Start `python -m tasks run ARGS` and SIGKILL the lot `after` seconds later, or once
    its tests are running (None). Its slow test waits for the kill, so the run cannot end
    before it."""
    marker.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "tasks", "run", *args],
        cwd=project,
        env={**os.environ, "KILL_MARKER": str(marker)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kit, pytest and coverage die together
    )
    if after is not None:
        time.sleep(after)
    deadline = time.monotonic() + 120
    while after is None and not marker.exists():
        assert process.poll() is None, f"the run ended (exit {process.returncode}) before it was killed"
        assert time.monotonic() < deadline, "the run never reached its slow test"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL


def test_sigkill_mid_run__last_good_data_is_kept_and_combine_names_a_shard_that_never_arrived(
    make_project, tmp_path: Path
) -> None:
    project = make_project(SLOW_SERVICE)
    for name in ("slow", "quick"):
        first = tasks(project, "run", name)
        assert first.returncode == 0, first.output
    data = project / ".coverage-data" / "slow"
    good = digest(data)
    before = CoverageData(basename=str(data))
    before.read()
    good_files = before.measured_files()
    assert len(good_files) == 4
    marker = tmp_path / "running"
    for after in KILL_AFTER:
        killed_mid_run(project, marker, "slow", after=after)
        assert digest(data) == good  # the last good data, byte for byte
        combined = tasks(project, "combine")
        assert combined.returncode == 0, combined.output
    reread = CoverageData(basename=str(data))
    reread.read()
    assert reread.measured_files() == good_files
    # What the killed runs left behind (their scratch folders) is cleared by the next run.
    again = tasks(project, "run", "slow")
    assert again.returncode == 0, again.output
    assert not list((project / ".coverage-data").glob(".run-*"))

    # A shard killed before it ever wrote data: combine names it, with the command to run.
    killed_mid_run(project, marker, "slow", "--shards", "2", "--shard", "2")
    shard_one = tasks(project, "run", "slow", "--shards", "2", "--shard", "1")
    assert shard_one.returncode == 0, shard_one.output
    missing = tasks(project, "combine")
    assert missing.returncode == 3, missing.output
    assert "slow: shard 2 of 2 has no data" in missing.stderr
    assert "--shards 2 --shard 2" in missing.stderr
    assert_no_traceback(missing)


def file_size_limited(limit: int):
    """Files may grow to `limit` bytes and no further; a write beyond fails with EFBIG ("File
    too large"), as a full disk fails one with ENOSPC, at whatever point it comes."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error from write(), not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def run_limited(project: Path, limit: int, *args: str) -> Result:
    return run([sys.executable, "-m", "tasks", *args], project, preexec_fn=file_size_limited(limit))


def reports_to_rewrite(project: Path) -> tuple[Path, dict[str, str]]:
    """Published reports that the next report must write anew (nothing vouches for them,
    so none is reused): the reports folder and its digests."""
    built = tasks(project, "report")
    assert built.returncode == 0, built.output
    reports = project / "reports"
    (reports / RECORD_NAME).unlink()
    return reports, tree_digest(reports)


def test_full_disk__report_and_combine_fail_with_exit_4_and_keep_what_was_published(
    measured_copy: Path,
) -> None:
    project = measured_copy
    reports, published = reports_to_rewrite(project)
    largest = max(p.stat().st_size for p in reports.rglob("*") if p.is_file())
    combined = project / ".coverage-data" / "combined"
    good_data = digest(combined)
    seen_limits: list[int] = []
    # The disk fills at a different point each round: at the first write, ..., at the largest file.
    for limit in (0, 1_000, 8_000, largest // 2, largest - 1)[:ROUNDS]:
        failed = run_limited(project, limit, "report")
        assert failed.returncode == 4, (limit, failed.output)
        assert "error: cannot write or read" in failed.stderr
        assert "File too large" in failed.stderr
        assert_no_traceback(failed)
        assert tree_digest(reports) == published, limit
        assert not (reports / ".coverage-workflows-staging").exists()

        refused = run_limited(project, (0, 1_024, 4_096, 12_288, 16_384)[len(seen_limits)], "combine")
        seen_limits.append(limit)
        assert refused.returncode == 4, (limit, refused.output)
        assert "combined: could not be written" in refused.stderr
        assert_no_traceback(refused)
        assert digest(combined) == good_data
        assert not [p.name for p in combined.parent.glob(".combined.*")]
    rebuilt = tasks(project, "report")
    assert rebuilt.returncode == 0, rebuilt.output


def test_full_disk__history_write_fails_whole_and_the_history_stays_readable(measured_copy: Path) -> None:
    """The disk fills while the history is opened (its shared-memory file is 32 KiB) and, past
    that, while a snapshot's pages go to the write-ahead log: every run records all of its
    snapshot (exit 0) or none of it (exit 4), and the database stays intact."""
    project = measured_copy
    first = tasks(project, "baseline", "--commit", "a" * 40, "--branch", "main")
    assert first.returncode == 0, first.output
    db = project / ".coverage-history" / "history.db"

    def snapshots() -> int:
        check = sqlite3.connect(db)
        try:
            assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            return int(check.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0])
        finally:
            check.close()

    count = snapshots()
    failed_limits = []
    for index, limit in enumerate([0, 8_192, 32_767, *range(33_000, 60_000, 2_000)]):
        outcome = run_limited(project, limit, "baseline", "--commit", f"{index + 1:040x}", "--branch", "main")
        assert_no_traceback(outcome)
        if outcome.returncode == 4:
            assert "the history database could not be written" in outcome.stderr
            assert snapshots() == count, limit  # none of it
            failed_limits.append(limit)
        else:
            assert outcome.returncode == 0, outcome.output
            count += 1
            assert snapshots() == count, limit  # all of it
    assert len(failed_limits) >= ROUNDS, failed_limits
    assert [limit for limit in failed_limits if limit > 32_768], failed_limits  # some mid-transaction
    recorded = tasks(project, "baseline", "--commit", "b" * 40, "--branch", "main")
    assert recorded.returncode == 0, recorded.output
    assert snapshots() == count + 1


def test_eight_history_writers_at_once__five_rounds(measured_copy: Path) -> None:
    """Real `python -m tasks baseline` processes, started together on one database."""
    db = measured_copy / ".coverage-history" / "history.db"
    for round_index in range(ROUNDS):
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tasks",
                    "baseline",
                    "--commit",
                    f"{round_index}{n:039x}",
                    "--branch",
                    "main",
                ],
                cwd=measured_copy,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(8)
        ]
        outcomes = [(p.wait(timeout=120), *p.communicate()) for p in processes]
        for code, out, err in outcomes:
            assert code == 0, out + err
            assert "recorded snapshot #" in out
        with History.open(db, "h", create=False) as store:
            stored = [s for s in store.snapshots(files=True) if s.commit.startswith(str(round_index))]
        assert sorted(s.commit for s in stored) == [f"{round_index}{n:039x}" for n in range(8)]
        assert all(len(s.files) == example_source_files(measured_copy) for s in stored)
        check = sqlite3.connect(db)
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert check.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0] == 8 * (round_index + 1)
        check.close()
    with History.open(db, "h", create=False) as store:
        assert sorted(s.id or 0 for s in store.snapshots()) == list(range(1, 8 * ROUNDS + 1))
    status = run([sys.executable, "-m", "tasks", "baseline", "--status", "--branch", "main"], measured_copy)
    assert f"{8 * ROUNDS} snapshots of 'main'" in status.stdout


def test_clear_abandoned_scratch__only_folders_no_run_holds(tmp_path: Path) -> None:
    """A live run (its lock held), a run just starting (no lock file yet) and a killed run
    (its lock file, unlocked): only the killed run's folder goes."""
    import fcntl

    live, starting, killed = (tmp_path / f".run-xp-{name}" for name in ("live", "starting", "killed"))
    for folder in (live, starting, killed):
        folder.mkdir()
    (killed / ALIVE_NAME).touch()
    with (live / ALIVE_NAME).open("wb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        clear_abandoned_scratch(tmp_path)
        assert live.is_dir()
    assert starting.is_dir()
    assert not killed.exists()


# Imported at start-up by every Python process the command starts: the process kills
# itself (SIGKILL, no clean-up) at the chosen moment, the `nth` audit event (PEP 578) of
# this kind whose argument matches. A moment a timer would hit only by luck.
KILL_AT_MOMENT = """
import json, os, re, signal, sys

EVENT, ARGUMENT, PATTERN, NTH = json.loads(os.environ["KILL_AT"])
seen = 0

def hook(event, args):
    global seen
    if event == EVENT and (
        ARGUMENT < 0 or len(args) > ARGUMENT and re.search(PATTERN, os.fsdecode(str(args[ARGUMENT])))
    ):
        seen += 1
        if seen == NTH:
            os.kill(os.getpid(), signal.SIGKILL)

sys.addaudithook(hook)
"""


def killed_at(project: Path, tmp_path: Path, moment: tuple[str, int, str, int], *args: str) -> Result:
    env = {"KILL_AT": json.dumps(moment), **audit_hook_env(tmp_path / "kill-hooks", KILL_AT_MOMENT)}
    return run([sys.executable, "-m", "tasks", *args], project, env=env)


# Each moment a write can be cut short: the event, which argument, what it matches, which one.
# (An argument of -1: the event has none to match.)
RUN_MOMENTS = {
    "as the tests start, forked": ("os.fork", -1, "", 1),
    "as the tests start, a process of their own": ("subprocess.Popen", 0, r"python", 1),
    "as the new data file is created": ("sqlite3.connect", 0, r"/\.quick\.[^./]+\.tmp$", 1),
    "just before the data file's rename": ("os.rename", 1, r"/\.coverage-data/quick$", 1),
}
COMBINE_MOMENTS = {
    "as the combined file is created": ("sqlite3.connect", 0, r"/\.combined\.[^./]+\.tmp$", 1),
    "just before the combined file's rename": ("os.rename", 1, r"/\.coverage-data/combined$", 1),
}
# Between the two renames of a folder's swap: the old html/ moved aside, the new not yet in.
SWAP = "in the middle of swapping html/"
REPORT_MOMENTS = {
    "while the reports are staged": ("open", 0, rf"/{STAGING_NAME}/.*\.html$", 5),
    "halfway through publishing": ("os.rename", 0, rf"/{STAGING_NAME}/[^/]+$", 3),
    SWAP: ("os.rename", 0, rf"/{STAGING_NAME}/html$", 1),
}


def whole_reports(reports: Path) -> set[str]:
    """Every published report file parses (a half-written one would not); their names but
    the record of what they were made from."""
    names = set()
    for path in reports.rglob("*"):
        relative = path.relative_to(reports)
        if STAGING_NAME in relative.parts or path.is_dir() or path.name == RECORD_NAME:
            continue  # not published: a killed report's staging folder is cleared by the next
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix in (".xml", ".svg"):
            ElementTree.parse(path)
        elif path.suffix == ".html":
            assert path.read_text(encoding="utf-8").rstrip().endswith("</html>"), path
        names.add(relative.as_posix())
    return names


def test_sigkill_at_each_moment_of_a_write__the_old_file_stays_or_the_new_one_is_whole(
    make_project, tmp_path: Path
) -> None:
    """Deterministic kills (the process kills itself at a chosen audit event) at every
    moment of run, combine and report that writes: before a temporary file, in it, before
    its rename, in the middle of publishing the reports."""
    project = make_project(SLOW_SERVICE)
    for argv in (("run", "slow"), ("run", "quick"), ("combine",), ("report",)):
        done = tasks(project, *argv)
        assert done.returncode == 0, done.output
    data_dir = project / ".coverage-data"
    data, combined = data_dir / "quick", data_dir / "combined"
    good_data, good_combined = digest(data), digest(combined)
    # The user's own things beside the reports, named like the kit's leftovers: never touched.
    users = project / "reports" / ".old-notes"
    users.mkdir()
    (users / "keep.txt").write_text("mine\n", encoding="utf-8")
    (project / "reports" / f"{SWAPPED_PREFIX}file").write_text("also mine\n", encoding="utf-8")

    def leftovers() -> list[str]:
        """What killed processes left in the data folder: only scratch and unfinished writes."""
        return sorted(
            p.name
            for p in data_dir.iterdir()
            if p.name.startswith((".run-", ".quick.", ".combined.")) and p.name != ".quick"
        )

    manifest = project / "configs" / "services.toml"
    forked = manifest.read_text(encoding="utf-8")
    for moment, spec in RUN_MOMENTS.items():
        # The fork server (the default) forks the tests; turned off, they start anew.
        manifest.write_text(forked, encoding="utf-8")
        if spec[0] == "subprocess.Popen":
            turn_fork_server_off(project)
        killed = killed_at(project, tmp_path, spec, "run", "quick")
        assert killed.returncode == -signal.SIGKILL, (moment, killed.output)
        assert digest(data) == good_data, moment
        assert all(name.startswith(".run-quick-") or UNFINISHED_NAME.match(name) for name in leftovers()), (
            moment,
            leftovers(),
        )
        assert tasks(project, "combine").returncode == 0, moment
        assert digest(combined) == good_combined, moment  # the same inputs, combined the same
    for moment, spec in COMBINE_MOMENTS.items():
        killed = killed_at(project, tmp_path, spec, "combine")
        assert killed.returncode == -signal.SIGKILL, (moment, killed.output)
        assert digest(combined) == good_combined, moment
    reports = project / "reports"
    published = whole_reports(reports)
    for moment, spec in REPORT_MOMENTS.items():
        killed = killed_at(project, tmp_path, spec, "report")
        assert killed.returncode == -signal.SIGKILL, (moment, killed.output)
        if moment == SWAP:
            # The old html/ is whole, aside; the next report puts it back first, even one
            # killed before it publishes anything.
            (aside,) = (path for path in reports.glob(f"{SWAPPED_PREFIX}*") if path.is_dir())
            assert {f"html/{p}" for p in whole_reports(aside / "html")} == {
                name for name in published if name.startswith("html/")
            }
            staged = killed_at(project, tmp_path, REPORT_MOMENTS["while the reports are staged"], "report")
            assert staged.returncode == -signal.SIGKILL, staged.output
            assert not [path for path in reports.glob(f"{SWAPPED_PREFIX}*") if path.is_dir()]
        # Every report still there, and whole: the old copy or the new one.
        assert whole_reports(reports) == published, (moment, whole_reports(reports) ^ published)
        # Nothing vouches for a set the kill may have left half new: the next report rewrites all.
        assert not (reports / RECORD_NAME).exists() or moment == "while the reports are staged"
        again = tasks(project, "report")
        assert again.returncode == 0, (moment, again.output)
        assert "reused" not in again.stdout or moment == "while the reports are staged"
        assert not (reports / STAGING_NAME).exists()
        assert (reports / RECORD_NAME).exists()
    assert (users / "keep.txt").read_text(encoding="utf-8") == "mine\n"
    assert (project / "reports" / f"{SWAPPED_PREFIX}file").read_text(encoding="utf-8") == "also mine\n"
    # A stability check killed as its tests start leaves its scratch folder too.
    stability = killed_at(project, tmp_path, RUN_MOMENTS["as the tests start, forked"], "stability", "quick")
    assert stability.returncode == -signal.SIGKILL, stability.output
    assert list(data_dir.glob(".run-quick-stability-*"))
    # The next run clears every killed run's scratch.
    again = tasks(project, "run", "quick")
    assert again.returncode == 0, again.output
    assert not list(data_dir.glob(".run-*"))


# Imported at start-up by the command: the chosen writes (a file opened for writing, a
# folder made, a rename from or onto the path) whose path matches fail as in a folder this user
# may not write. (CI runs the tests as root, whom chmod does not stop.)
DENY_WRITES = (
    OPENS_FOR_WRITING
    + """
import errno, json, re, sys

EVENTS, PATTERN = json.loads(os.environ["DENY"])

def hook(event, args):
    if event not in EVENTS:
        return
    if event == "open":
        paths = [args[0]] if opens_for_writing(args) else []
    else:
        paths = list(args[:2]) if event == "os.rename" else [args[0]]  # a rename: from, to
    for path in paths:
        named = isinstance(path, (str, bytes, os.PathLike))  # not a file descriptor
        if named and re.search(PATTERN, os.path.abspath(os.fsdecode(path))):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))

sys.addaudithook(hook)
"""
)
EVERY_WRITE = ["open", "os.mkdir", "os.rename"]


def denied(project: Path, tmp_path: Path, events: list[str], pattern: str, *args: str) -> Result:
    env = {"DENY": json.dumps([events, pattern]), **audit_hook_env(tmp_path / "deny-hooks", DENY_WRITES)}
    result = run([sys.executable, "-m", "tasks", *args], project, env=env)
    assert result.returncode == 4, (args, result.output)
    assert_no_traceback(result)
    assert re.search(
        r"^error: cannot write or read \S*reports/\S*: Permission denied\. Make it writable",
        flat(result.stderr),
    ), result.stderr
    return result


def test_reports_folder_not_writable__exit_4_naming_it_and_the_old_reports_kept(
    measured_copy: Path, tmp_path: Path
) -> None:
    """Writes refused at each stage: the reports folder (the lock file is the first write),
    the staging folder, and one folder's rename while publishing."""
    project = measured_copy
    reports, published = reports_to_rewrite(project)
    for args in (("report",), ("report", "--format", "xml"), ("gate", "--policy", "total")):
        denied(project, tmp_path, EVERY_WRITE, r"/reports/", *args)
        assert tree_digest(reports) == published, args
    denied(project, tmp_path, ["open"], rf"/{re.escape(STAGING_NAME)}/", "report")
    assert tree_digest(reports) == published
    assert not (reports / STAGING_NAME).exists()
    # Refused halfway through publishing: the formats before html/ are new, html/ and those
    # after it old; every file is whole and none is missing, and nothing vouches for the
    # mix, so the next report rewrites every format.
    names = whole_reports(reports)
    denied(project, tmp_path, ["os.rename"], rf"/{re.escape(STAGING_NAME)}/html$", "report")
    assert whole_reports(reports) == names
    assert not (reports / RECORD_NAME).exists()
    assert tree_digest(reports / "html") == {
        name.removeprefix("html/"): value for name, value in published.items() if name.startswith("html/")
    }
    again = tasks(project, "report")
    assert again.returncode == 0, again.output
    assert (reports / RECORD_NAME).exists()


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupted_mid_test(project: Path, marker: Path, *command: str) -> tuple[int, str, str]:
    """Run a command of the kit, and once the slow test is under way send Ctrl-C as a
    terminal does (SIGINT to the whole process group): its exit status, stdout and stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tasks", *command],
        cwd=project,
        env={**os.environ, "KILL_MARKER": str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # As a terminal starts it: Ctrl-C not ignored, whatever this process inherited (a job
        # started with `&` by a non-interactive shell ignores SIGINT, and so do its children).
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never reached its slow test"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_ctrl_c_during_run_all__exit_130_the_data_kept_and_no_traceback(make_project, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while the first of
    two runs is in its tests: run-all stops, starts nothing more, and keeps the data."""
    project = make_project(SLOW_SERVICE)
    for name in ("slow", "quick"):
        first = tasks(project, "run", name)
        assert first.returncode == 0, first.output
    data = project / ".coverage-data"
    good = {name: digest(data / name) for name in ("slow", "quick")}
    inodes = {name: (data / name).stat().st_ino for name in good}
    shutil.rmtree(project / "reports" / "logs")  # the logs of the runs above
    marker = tmp_path / "running"
    for _ in range(ROUNDS):
        marker.unlink(missing_ok=True)
        code, out, err = interrupted_mid_test(project, marker, "run-all", "--jobs", "1")
        assert code == 130, out + err
        assert "interrupted: the runs not yet started were not run." in out
        assert "Traceback" not in out + err, out + err
        assert {name: digest(data / name) for name in good} == good
        assert {name: (data / name).stat().st_ino for name in good} == inodes  # not even rewritten
        assert not (project / "reports" / "logs" / "quick.log").exists()  # quick never started


@pytest.mark.parametrize("fork_server", [True, False], ids=["forked", "a new process"])
def test_ctrl_c_during_run__exit_130_no_traceback_and_the_last_good_data_kept(
    make_project, tmp_path: Path, fork_server: bool
) -> None:
    """Ctrl-C (SIGINT to the whole process group) while a single run's tests are going: the
    command ends with 130 and one line, not a traceback, and keeps the last good data."""
    project = make_project(SLOW_SERVICE)
    if not fork_server:
        turn_fork_server_off(project)
    assert tasks(project, "run", "slow").returncode == 0
    data = project / ".coverage-data" / "slow"
    good = digest(data)
    code, out, err = interrupted_mid_test(project, tmp_path / "running", "run", "slow")
    assert code == 130, out + err
    assert err.rstrip().endswith(
        "interrupted: nothing half-written was kept; what was there before is unchanged."
    )
    assert "Traceback" not in out + err, out + err
    assert digest(data) == good


def test_scratch_lock__never_seen_unlocked_by_a_run_starting_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `.alive` file appears with its lock already held: a cleanup running at any moment
    of a run's start finds either no lock file or a held one, never one to take for dead."""
    from tasks.measure import filelock

    folder = tmp_path / ".run-xp-starting"
    folder.mkdir()
    seen = []
    original_replace = Path.replace

    def replace_then_look(self: Path, target: Path) -> Path:
        moved = original_replace(self, target)
        seen.append(filelock.abandoned(folder / ALIVE_NAME))  # the instant the name appears
        return moved

    monkeypatch.setattr(Path, "replace", replace_then_look)
    with filelock.born_held(folder / ALIVE_NAME):
        clear_abandoned_scratch(tmp_path)
        assert folder.is_dir()
    monkeypatch.undo()
    assert seen == [False]
    assert filelock.abandoned(folder / ALIVE_NAME)  # let go: now a dead run's


@pytest.mark.parametrize("fork_server", [True, False], ids=["forked", "a new process"])
def test_timeout__a_hanging_test_ends_every_process_of_the_run_and_keeps_the_good_data(
    make_project, tmp_path: Path, fork_server: bool
) -> None:
    project = make_project(SLOW_SERVICE)
    if not fork_server:
        turn_fork_server_off(project)
    assert tasks(project, "run", "slow").returncode == 0  # no marker: nothing hangs
    data = project / ".coverage-data" / "slow"
    good = digest(data)
    manifest = project / "configs" / "services.toml"
    manifest.write_text(
        manifest.read_text().replace('tests = ["tests/slow"]', 'tests = ["tests/slow"]\ntimeout = 3')
    )
    marker = tmp_path / "running"
    hung = tasks(project, "run", "slow", env={"KILL_MARKER": str(marker)})
    assert marker.exists()  # the hanging test did start
    assert hung.returncode == 1, hung.output
    assert "slow: the tests ran past their time limit of 3 s (services.slow.timeout" in hung.stderr
    assert "Traceback" not in hung.output
    assert digest(data) == good
    assert not list((project / ".coverage-data").glob(".run-*"))  # its scratch folder removed
    left = [
        entry.name
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and (str(project).encode() in _cmdline(entry) or _works_in(entry, project))
    ]
    assert left == []  # no process of the run lives on
    # combine then answers as after a run whose tests failed (docs/exit-codes.md): the service
    # is left out, named with why, never carried on its older data; the reports say no data.
    assert tasks(project, "run", "quick").returncode == 0
    combined = in_process(project, "combine")
    assert combined.returncode == 0, combined.output
    said = flat(combined.stdout)
    assert "INCOMPLETE: combined without these" in said, said
    assert "slow: its last run failed (timeout)" in said and "CARRIED" not in said, said
    report = in_process(project, "report", "--format", "json")
    row = next(line for line in report.stdout.splitlines() if line.startswith("slow "))  # the table's
    assert "no data" in row, report.stdout
    gate = in_process(project, "gate", "--policy", "total")
    assert gate.returncode == 1, gate.output  # no check passes on incomplete data


def _works_in(entry: Path, project: Path) -> bool:
    """Whether the process's working folder is in `project` (a forked run's command line is
    its parent's, which names no file of the project)."""
    try:
        return (entry / "cwd").readlink().is_relative_to(project.resolve())
    except OSError:
        return False


def _cmdline(entry: Path) -> bytes:
    try:
        return (entry / "cmdline").read_bytes()
    except OSError:
        return b""


# Ctrl-C (a SIGINT to the process) at the moment a module is imported, once.
INTERRUPT_AT_IMPORT = """
import os, signal, sys

_sent = []

def _hook(event, args):
    if event == "import" and args[0] == os.environ["INTERRUPT_AT"] and not _sent:
        _sent.append(True)
        os.kill(os.getpid(), signal.SIGINT)

sys.addaudithook(_hook)
"""


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("tasks.cli.main", ("services",)),  # the kit's start-up imports, before main() runs
        ("coverage", ("report",)),  # a command's own imports, inside main()
    ],
)
def test_ctrl_c_during_imports__one_line_exit_130_no_traceback(
    kit_copy: Path, tmp_path: Path, module: str, argv: tuple[str, ...]
) -> None:
    env = {"INTERRUPT_AT": module, **audit_hook_env(tmp_path / "hooks", INTERRUPT_AT_IMPORT)}
    result = run([sys.executable, "-m", "tasks", *argv], kit_copy, env=env)
    assert result.returncode == 130, result.output
    assert "Traceback" not in result.output, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        "interrupted: nothing half-written was kept; what was there before is unchanged."
    )
