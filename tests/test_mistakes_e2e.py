"""Every user mistake of docs/reliability.md, made for real and run through the command
line: the documented exit code, a message that names what is wrong, and no traceback."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from coverage import CoverageData
from coverage.exceptions import DataError as CoverageDataError

from tasks.errors import is_locked
from tasks.history import exchange
from tests.conftest import Result, audit_hook_env, commit_all, flat, git, init_repo, private_copy, run

pytestmark = pytest.mark.e2e

MANIFEST = "configs/services.toml"
REPO = "examples/monorepo"


def edit_manifest(old: str, new: str) -> Callable[[Path], None]:
    def apply(project: Path) -> None:
        path = project / MANIFEST
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return apply


def append_manifest(extra: str) -> Callable[[Path], None]:
    def apply(project: Path) -> None:
        path = project / MANIFEST
        path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")

    return apply


def escaping_path(project: Path) -> None:
    (project.parent / "outside").mkdir()  # it exists: refused for where it is, not for being absent
    edit_manifest('source = ["src/auth"]', 'source = ["../../../outside"]')(project)


def symlink_out(project: Path) -> None:
    outside = project.parent / "outside"
    outside.mkdir()
    (project / REPO / "src" / "link").symlink_to(outside, target_is_directory=True)
    edit_manifest('source = ["src/auth"]', 'source = ["src/link"]')(project)


def no_data(project: Path) -> None:
    shutil.rmtree(project / ".coverage-data")


def truncated_data(project: Path) -> None:
    combined = project / ".coverage-data" / "combined"
    combined.write_bytes(combined.read_bytes()[: combined.stat().st_size // 3])


def not_sqlite(project: Path) -> None:
    (project / ".coverage-data" / "auth").write_text("this is not coverage data\n", encoding="utf-8")


def newer_coverage_schema(project: Path) -> None:
    db = sqlite3.connect(project / ".coverage-data" / "combined")
    db.execute("UPDATE coverage_schema SET version = 99")
    db.commit()
    db.close()


def line_only_data(project: Path) -> None:
    target = project / ".coverage-data" / "auth"
    target.unlink()
    data = CoverageData(basename=str(target))
    data.add_lines({str(project / REPO / "src" / "auth" / "__init__.py"): {1}})
    data.write()


def foreign_data(project: Path) -> None:
    """Another repository's data file, copied in as auth's: its paths are nothing here."""
    target = project / ".coverage-data" / "auth"
    target.unlink()
    data = CoverageData(basename=str(target))
    data.add_arcs({"/elsewhere/repo/src/payments/api.py": {(-1, 1), (1, -1)}})
    data.write()


def lost_service_data(project: Path) -> None:
    (project / ".coverage-data" / "discord").unlink()


def bad_import(project: Path) -> None:
    header = json.dumps({"format": exchange.FORMAT, "version": exchange.VERSION})
    (project / "history.jsonl").write_text(f"{header}\nnot json at all\n", encoding="utf-8")


def git_repo(project: Path) -> None:
    init_repo(project)
    commit_all(project, "base")


def detached_head(project: Path) -> None:
    git_repo(project)
    git(project, "checkout", "-q", "--detach")


def no_git_on_path(project: Path) -> None:
    (project / ".no-git").mkdir()


@pytest.fixture(scope="module")
def measured_unparseable(measured_example: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The measured example with a source file no test imports and coverage.py cannot
    parse, measured and combined (read only: copied)."""
    project = tmp_path_factory.mktemp("unparseable") / "kit"
    shutil.copytree(measured_example, project)
    (project / REPO / "src" / "xp" / "broken.py").write_text("def broken(:\n    pass\n", encoding="utf-8")
    for service in ("xp", "auth", "discord"):
        run([sys.executable, "-m", "tasks", "run", service], project)
    run([sys.executable, "-m", "tasks", "combine"], project)
    return project


def as_measured(project: Path) -> None:
    """Nothing more to make: the mistake is in the project it starts from."""


def folder_for_combined(project: Path) -> None:
    (project / ".coverage-data" / "combined").unlink()
    (project / ".coverage-data" / "combined").mkdir()


@dataclass(frozen=True)
class Mistake:
    make: Callable[[Path], None]
    command: tuple[str, ...]
    code: int
    says: str  # part of the one-paragraph error
    start: str = "measured_example"  # the read-only fixture the project is a copy of


MISTAKES = {
    "malformed TOML": Mistake(append_manifest("\n[services.xp\n"), ("services",), 2, "not valid TOML"),
    "unknown key": Mistake(
        edit_manifest('tests = ["tests/xp"]', 'tets = ["tests/xp"]'), ("services",), 2, "unknown key"
    ),
    "wrong type": Mistake(edit_manifest("line = 40", 'line = "forty"'), ("services",), 2, "got a string"),
    "duplicate service": Mistake(
        append_manifest('\n[services.auth]\nsource = ["src/auth"]\n'), ("services",), 2, "twice"
    ),
    "path through ..": Mistake(escaping_path, ("services",), 2, "outside the repository"),
    "absolute path": Mistake(
        edit_manifest('source = ["src/auth"]', 'source = ["/etc"]'), ("services",), 2, "absolute"
    ),
    "symlink out of the repository": Mistake(symlink_out, ("services",), 2, "outside the repository"),
    "unsafe service name": Mistake(
        edit_manifest("[services.discord]", '[services."dis cord"]'), ("services",), 2, "service name"
    ),
    "overlapping sources": Mistake(
        edit_manifest('source = ["src/auth"]', 'source = ["src"]'), ("services",), 2, "overlaps"
    ),
    "test path that does not exist": Mistake(
        edit_manifest('tests = ["tests/auth"]', 'tests = ["tests/nope"]'), ("services",), 2, "does not exist"
    ),
    "unknown service": Mistake(lambda project: None, ("run", "payments"), 2, "unknown service 'payments'"),
    "no data at report": Mistake(no_data, ("report",), 3, "no combined data"),
    "no data at gate": Mistake(no_data, ("gate", "--policy", "total"), 3, "no combined data"),
    "truncated data file": Mistake(truncated_data, ("report",), 3, "not usable coverage data"),
    "non-SQLite data file": Mistake(not_sqlite, ("combine",), 3, "not usable coverage data"),
    "data from an incompatible coverage.py": Mistake(newer_coverage_schema, ("report",), 3, "schema"),
    "line data mixed with branch data": Mistake(line_only_data, ("combine",), 3, "measured branches"),
    "a service's data that never arrived": Mistake(lost_service_data, ("combine",), 3, "discord: no data"),
    "another repository's data file": Mistake(
        foreign_data,
        ("combine",),
        3,
        ".coverage-data/auth: holds data for /elsewhere/repo/src/payments/api.py, which is in no "
        "service's source",
    ),
    "an unparseable source at run": Mistake(
        lambda project: (project / REPO / "src" / "xp" / "broken.py").write_text("def broken(:\n"),
        ("run", "xp"),
        3,
        "Couldn't parse 'examples/monorepo/src/xp/broken.py' as Python source: 'invalid syntax' at line 1.",
    ),
    "an unparseable source at report": Mistake(
        as_measured, ("report",), 3, "with `omit` in", start="measured_unparseable"
    ),
    "an unparseable source at gate": Mistake(
        as_measured, ("gate", "--policy", "total"), 3, "broken.py", start="measured_unparseable"
    ),
    "malformed history import": Mistake(
        bad_import, ("baseline", "--import", "history.jsonl"), 2, "history.jsonl:2"
    ),
    "git missing": Mistake(no_git_on_path, ("gate", "--policy", "changed"), 2, "git is not installed"),
    "not a git repository": Mistake(
        lambda project: None, ("gate", "--policy", "changed"), 2, "is not inside a git repository"
    ),
    "detached HEAD": Mistake(detached_head, ("baseline", "--set"), 2, "detached"),
    "a folder where the combined file goes": Mistake(
        folder_for_combined,
        ("combine",),
        3,
        ".coverage-data/combined is a folder, where the kit writes the combined data file; nothing was "
        "combined. Move the folder out of the way",
    ),
    "a commit the repository does not have": Mistake(
        git_repo,
        ("baseline", "--commit", "abc1234"),
        2,
        "--commit abc1234: this repository has no such commit",
    ),
    "base ref that does not exist": Mistake(
        git_repo, ("gate", "--policy", "changed", "--base", "no-such-branch"), 2, "'no-such-branch'"
    ),
}


def kit_command(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    # Without git: a PATH of one empty folder (python is called by its full path).
    no_git = {"PATH": str(project / ".no-git")} if (project / ".no-git").exists() else {}
    return run([sys.executable, "-m", "tasks", *args], project, env={**no_git, **(env or {})})


# SQLite's busy timeout, cut to half a second in the kit's process: the kit waits 30 s for the
# history's write lock, coverage.py 5 s for a data file at each open. The refusal under test
# comes when the wait runs out, whatever its length; the test need not sit through it.
SHORT_LOCK_WAITS = """
import sqlite3

_connect = sqlite3.connect


def connect(database, timeout=5.0, *args, **kwargs):
    return _connect(database, min(timeout, 0.5), *args, **kwargs)


sqlite3.connect = connect
"""


@pytest.mark.parametrize("name", list(MISTAKES))
def test_mistake__documented_exit_code_clear_message_no_traceback(
    request: pytest.FixtureRequest, tmp_path: Path, name: str
) -> None:
    mistake = MISTAKES[name]
    project = private_copy(request.getfixturevalue(mistake.start), tmp_path)
    mistake.make(project)
    result = kit_command(project, *mistake.command)
    assert result.returncode == mistake.code, result.output
    assert "Traceback" not in result.output, result.output
    assert result.stderr.startswith("error: "), result.stderr
    assert flat(mistake.says) in flat(result.stderr), result.stderr


def short_waits(tmp_path: Path) -> dict[str, str]:
    return audit_hook_env(tmp_path / "short-waits", SHORT_LOCK_WAITS)


@contextmanager
def locked_by_another_process(database: Path, mode: str) -> Iterator[None]:
    """`database` held by a transaction of this test process (BEGIN `mode`) meanwhile."""
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute(f"BEGIN {mode}")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_mistake__history_locked_by_another_writer(measured_copy: Path, tmp_path: Path) -> None:
    """Another process holds the write lock longer than the kit waits: exit 3, nothing written."""
    first = kit_command(measured_copy, "baseline", "--commit", "a" * 40, "--branch", "main")
    assert first.returncode == 0, first.output
    db = measured_copy / ".coverage-history" / "history.db"
    # The write lock, held for longer than the kit waits.
    with locked_by_another_process(db, "IMMEDIATE"):
        result = kit_command(
            measured_copy, "baseline", "--commit", "b" * 40, "--branch", "main", env=short_waits(tmp_path)
        )
    assert result.returncode == 3, result.output
    assert "Traceback" not in result.output, result.output
    assert "locked by another process" in result.stderr
    check = sqlite3.connect(db)
    assert check.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0] == 1
    check.close()


def test_mistake__data_file_locked_by_another_process(measured_copy: Path, tmp_path: Path) -> None:
    """A tool holds a service's data file locked: combine names it, says the file is fine
    (not "delete it"), exits 3, and changes nothing."""
    data = measured_copy / ".coverage-data" / "auth"
    combined = measured_copy / ".coverage-data" / "combined"
    before = (data.read_bytes(), combined.read_bytes())
    with locked_by_another_process(data, "EXCLUSIVE"):  # not even a reader gets in
        result = kit_command(measured_copy, "combine", env=short_waits(tmp_path))
    assert result.returncode == 3, result.output
    assert "Traceback" not in result.output, result.output
    assert ".coverage-data/auth: locked by another process" in result.stderr
    assert "The file is fine" in result.stderr and "delete" not in result.stderr
    assert (data.read_bytes(), combined.read_bytes()) == before
    assert kit_command(measured_copy, "combine").returncode == 0  # once the lock is gone


def test_is_locked__by_sqlite_s_words_not_by_a_path_that_holds_them() -> None:
    """coverage.py's messages hold the data file's path: a corrupt file in a folder named
    'locked' or 'busy' is still corrupt, not locked."""
    corrupt = CoverageDataError("Couldn't use data file '/srv/busy/locked/xp': file is not a database")
    assert not is_locked(corrupt)
    assert is_locked(CoverageDataError("Couldn't use data file '/srv/xp': database is locked: (SQLITE_BUSY)"))
    assert is_locked(sqlite3.OperationalError("database is locked"))


def test_mistake__a_damaged_history_page__refused_before_any_write(measured_copy: Path) -> None:
    project = measured_copy
    for number in range(3):
        recorded = kit_command(project, "baseline", "--commit", f"{number}" * 40, "--branch", "main")
        assert recorded.returncode == 0, recorded.output
    database = project / ".coverage-history" / "history.db"
    with contextlib.closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    assert pages >= 4
    with database.open("r+b") as handle:  # a page in the middle: garbage where a b-tree was
        handle.seek(page_size * (pages // 2))
        handle.write(b"\xff" * page_size)
    damaged = database.read_bytes()
    for command in (
        ("baseline", "--status", "--branch", "main"),
        ("baseline", "--commit", "9" * 40, "--branch", "main"),
        ("gate", "--policy", "regression", "--base", "main"),
    ):
        result = kit_command(project, *command)
        assert result.returncode == 3, (command, result.output)
        assert "Traceback" not in result.output
        assert "history.db" in result.stderr and "--export" in result.stderr, result.stderr
        assert database.read_bytes() == damaged, command  # nothing written into it
    exported = kit_command(project, "baseline", "--export", "recovered.jsonl")
    assert "Traceback" not in exported.output
    assert exported.returncode in (0, 3), exported.output  # what it still can, or why not


def test_mistake__a_folder_in_the_way_of_retired_data__set_aside_not_an_error(measured_copy: Path) -> None:
    """A folder named `combined` in the data folder, set aside by a run into stale/, must not
    stop every later run from setting the next combined file aside (it did: exit 4, "the
    data are unchanged", while the run's new data was already written)."""
    data = measured_copy / ".coverage-data"
    (data / "combined").unlink()
    (data / "combined").mkdir()
    (data / "combined" / "notes.txt").write_text("mine\n")
    for _ in range(2):  # the folder goes to stale/ first; then a combined file must go beside it
        ran = kit_command(measured_copy, "run", "auth")
        assert ran.returncode == 0, ran.output
        combined = kit_command(measured_copy, "combine")
        assert combined.returncode == 0, combined.output
    assert (data / "stale" / "combined" / "notes.txt").read_text() == "mine\n"  # nothing lost
    assert (data / "stale" / "combined.1").is_file()  # the combined file the second run set aside
    assert (data / "combined").is_file()
