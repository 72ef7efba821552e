"""The history store on real SQLite: records, baselines, migrations, faults and concurrency."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tasks.analyze.analysis import Figures
from tasks.errors import EXIT_CONFIG, EXIT_DATA, ConfigError, DataError
from tasks.history import store as history
from tasks.history.snapshot import FileRecord, ServiceRecord, Snapshot
from tasks.history.store import History
from tasks.measure.toolinfo import Environment
from tests.conftest import KIT

ENV = Environment(python="3.11.7", coverage="7.17.3", core="ctrace")


def snapshot(commit: str = "a" * 40, branch: str = "main", covered: int = 40, files: int = 3) -> Snapshot:
    """A snapshot of two services; `covered` sets xp's isolated line figure (of 100)."""
    return Snapshot(
        commit=commit,
        branch=branch,
        recorded_at="2026-11-20T10:00:00Z",
        environment=ENV,
        services=(
            ServiceRecord(
                name="xp",
                isolated=Figures(statements=100, covered=covered, branches=10, covered_branches=5),
                whole=Figures(statements=100, covered=90, branches=10, covered_branches=9),
            ),
            ServiceRecord(
                name="auth",
                isolated=Figures(statements=50, covered=45, branches=4, covered_branches=4),
                whole=Figures(statements=50, covered=45, branches=4, covered_branches=4),
            ),
        ),
        files=tuple(
            FileRecord(
                path=f"src/xp/m{i}.py",
                service="xp",
                isolated=Figures(statements=10, covered=i % 10),
                whole=Figures(statements=10, covered=10),
            )
            for i in range(files)
        ),
    )


def history_with_one_snapshot(tmp_path: Path) -> Path:
    """h.db holding one snapshot, of commit 111..."""
    db = tmp_path / "h.db"
    with History.open(db, "h.db", create=True) as store:
        store.record(snapshot(commit="1" * 40))
    return db


def test_record__round_trip_with_files(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with History.open(db, "h.db", create=True) as store:
        recorded = store.record(snapshot())
        loaded = store.get(recorded.snapshot.id or 0, files=True)
    assert recorded.snapshot.id == 1 and not recorded.reused
    expected = snapshot()
    assert loaded.services == expected.services
    assert loaded.files == expected.files
    assert loaded.environment == ENV
    assert loaded.headline()["total"] == Figures(
        statements=150, covered=135, branches=14, covered_branches=13
    )
    assert loaded.headline()["xp"].line_pct == 40.0


def test_record__same_commit_and_figures_is_stored_once(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with History.open(db, "h.db", create=True) as store:
        first = store.record(snapshot())
        again = store.record(snapshot())
        changed = store.record(snapshot(covered=41))
        assert again.reused and again.snapshot.id == first.snapshot.id
        assert not changed.reused
        assert [s.id for s in store.snapshots()] == [1, 2]


def test_set_baseline__refuses_to_replace_without_force_and_records_nothing(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with History.open(db, "h.db", create=True) as store:
        store.record(snapshot(commit="1" * 40), set_baseline=True)
        with pytest.raises(ConfigError) as refused:
            store.record(snapshot(commit="2" * 40, covered=50), set_baseline=True)
        assert refused.value.exit_code == EXIT_CONFIG
        assert "already has a baseline" in refused.value.message and "--force" in refused.value.message
        assert len(store.snapshots()) == 1  # the refused record was rolled back with it
        forced = store.record(snapshot(commit="2" * 40, covered=50), set_baseline=True, force=True)
        assert forced.replaced is not None and forced.replaced.id == 1
        baseline = store.baseline("main")
        assert baseline is not None and baseline.snapshot.id == forced.snapshot.id
        assert store.baseline("feature") is None


def test_snapshots__newest_limit_and_branch_filter(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with History.open(db, "h.db", create=True) as store:
        for number in range(5):
            store.record(snapshot(commit=f"{number:040d}", covered=40 + number))
        store.record(snapshot(commit="f" * 40, branch="feature"))
        assert [s.id for s in store.snapshots("main", limit=2)] == [4, 5]
        assert [s.id for s in store.snapshots("main")] == [1, 2, 3, 4, 5]
        assert len(store.snapshots()) == 6
        assert [s.id for s in store.with_commit("0000")] == [1, 2, 3, 4, 5]


def test_open__migrates_a_version_1_database_keeping_its_snapshots(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    old = sqlite3.connect(db)
    for statement in history.MIGRATIONS[0]:
        old.execute(statement)
    old.execute(
        "INSERT INTO snapshots (commit_sha, branch, recorded_at, python, coverage, core) "
        "VALUES ('abc1234', 'main', '2026-01-02T03:04:05Z', '3.11.0', '7.10.0', 'ctrace')"
    )
    old.execute("INSERT INTO service_figures VALUES (1, 'xp', 0, 'isolated', 10, 5, 2, 1)")
    old.execute("INSERT INTO service_figures VALUES (1, 'xp', 0, 'whole', 10, 9, 2, 2)")
    old.execute("INSERT INTO baselines VALUES ('main', 1, '2026-01-02T03:05:00Z')")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    with History.open(db, "h.db", create=False) as store:
        kept = store.get(1, files=True)
        assert kept.headline()["xp"] == Figures(statements=10, covered=5, branches=2, covered_branches=1)
        assert kept.files == ()
        baseline = store.baseline("main")
        assert baseline is not None and baseline.snapshot.id == 1
        store.record(snapshot())  # the new columns and tables work
        assert len(store.get(2, files=True).files) == 3
        again = store.record(kept)  # the v1 snapshot got its digest: recording it again adds nothing
        assert again.reused and again.snapshot.id == 1
    check = sqlite3.connect(db)
    assert check.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION == 2
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    check.close()


def test_open__newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    newer = sqlite3.connect(db)
    newer.execute("PRAGMA user_version = 99")
    newer.close()
    with pytest.raises(DataError) as refused, History.open(db, "h.db", create=True):
        pass
    assert "newer version of the kit (schema 99" in refused.value.message


def test_open__not_a_database_is_a_data_error_and_the_file_is_untouched(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    db.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(DataError) as caught, History.open(db, "h.db", create=True) as store:
        store.record(snapshot())
    assert caught.value.exit_code == EXIT_DATA
    assert "not a readable history database" in caught.value.message and "--import" in caught.value.message
    assert db.read_bytes() == b"this is not SQLite" * 100


def test_open__missing_history_for_reading_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught, History.open(tmp_path / "none.db", "none.db", create=False):
        pass
    assert "no history yet" in caught.value.message and "nox -s baseline" in caught.value.message
    assert not (tmp_path / "none.db").exists()


def test_record__locked_by_another_writer_fails_cleanly_then_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = history_with_one_snapshot(tmp_path)
    monkeypatch.setattr(history, "BUSY_TIMEOUT_S", 0.2)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        with pytest.raises(DataError) as caught, History.open(db, "h.db", create=True) as store:
            store.record(snapshot(commit="2" * 40))
        assert "locked by another process" in caught.value.message
        assert "Nothing was written" in caught.value.message
    finally:
        other.execute("ROLLBACK")
        other.close()
    with History.open(db, "h.db", create=True) as store:
        store.record(snapshot(commit="2" * 40))
        assert [s.commit[0] for s in store.snapshots()] == ["1", "2"]


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tasks.history import store as history
    from tests.test_history import snapshot

    original = history.History._insert_files

    def stall(self, snapshot_id, files):
        files = list(files)
        original(self, snapshot_id, files[: len(files) // 2])  # half the rows are in
        print("writing", flush=True)
        time.sleep(60)  # killed here, inside the transaction

    history.History._insert_files = stall
    with history.History.open(Path(sys.argv[1]), "h.db", create=True) as store:
        store.record(snapshot(commit="9" * 40, files=400))
    """
)


def test_record__killed_mid_write_leaves_no_partial_snapshot(tmp_path: Path) -> None:
    db = history_with_one_snapshot(tmp_path)
    for _ in range(5):
        with subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(db)], cwd=KIT, stdout=subprocess.PIPE, text=True
        ) as child:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "writing"
            child.send_signal(signal.SIGKILL)
            child.wait()
        assert child.returncode == -signal.SIGKILL
        with History.open(db, "h.db", create=False) as store:
            assert [s.commit[0] for s in store.snapshots()] == ["1"]
            assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            rows = store.conn.execute("SELECT count(*) FROM file_figures").fetchone()[0]
            assert rows == 3 * 2  # only the first snapshot's files, isolated and whole
    with History.open(db, "h.db", create=True) as store:
        assert not store.record(snapshot(commit="9" * 40, files=400)).reused


def test_open__another_programs_database_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    other = sqlite3.connect(db)
    other.execute("CREATE TABLE users (name TEXT)")
    other.commit()
    other.close()
    with pytest.raises(DataError) as refused, History.open(db, "app.db", create=False):
        pass
    assert "database of something else" in refused.value.message
    check = sqlite3.connect(db)
    assert [r[0] for r in check.execute("SELECT name FROM sqlite_master")] == ["users"]
    check.close()


def test_merge__a_failure_halfway_keeps_nothing_of_the_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = history_with_one_snapshot(tmp_path)
    calls = []
    original = History._insert_files

    def fail_second(self: History, snapshot_id: int, files: object) -> None:
        calls.append(snapshot_id)
        if len(calls) == 2:
            raise sqlite3.IntegrityError("disk trouble")
        original(self, snapshot_id, files)  # type: ignore[arg-type]

    monkeypatch.setattr(History, "_insert_files", fail_second)
    incoming = [snapshot(commit=f"{n}" * 40, covered=40 + n) for n in (2, 3, 4)]
    with pytest.raises(DataError), History.open(db, "h.db", create=True) as store:
        store.merge(incoming, [("main", incoming[0], "2026-11-21T00:00:00Z")])
    monkeypatch.undo()
    with History.open(db, "h.db", create=False) as store:
        assert [s.commit[0] for s in store.snapshots()] == ["1"]
        assert store.baseline("main") is None
        assert store.conn.execute("SELECT count(*) FROM service_figures").fetchone()[0] == 4


def test_snapshots__a_snapshot_recorded_between_the_reads_changes_nothing(tmp_path: Path) -> None:
    """The reads of one listing come from one state of the database: here another writer
    records a snapshot right after the first SELECT (eight writers at once did it by luck)."""
    db = history_with_one_snapshot(tmp_path)

    class WriterAfterFirstRead:
        def __init__(self, real: sqlite3.Connection) -> None:
            self.real, self.written = real, False

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            cursor = self.real.execute(sql, *args)
            if not self.written and sql.startswith("SELECT s.id"):
                self.written = True
                with History.open(db, "other writer", create=False) as other:
                    other.record(snapshot(commit="2" * 40))
            return cursor

        def __getattr__(self, name: str) -> object:
            return getattr(self.real, name)

    with History.open(db, "h.db", create=False) as store:
        store.conn = WriterAfterFirstRead(store.conn)  # type: ignore[assignment]
        (newest,) = store.snapshots(limit=1)
        assert store.conn.written  # type: ignore[attr-defined]
    assert newest.commit == "1" * 40
    assert [s.name for s in newest.services] == ["xp", "auth"]  # its own figures, whole
    with History.open(db, "h.db", create=False) as store:
        assert [s.commit[0] for s in store.snapshots()] == ["1", "2"]
