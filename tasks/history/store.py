"""The coverage history: snapshots of per-service and per-file figures in SQLite.

One database file (settings.history) holds every snapshot: keyed by commit, branch and
time, with the environment that measured it, the figures of each service (isolated and
whole-suite) and of each file, plus one baseline per branch. Several CI jobs or local
processes may write at once: the database runs in WAL mode, writers wait for each other
(a busy timeout) and every write is one transaction, so a snapshot is either all there or
not there at all. Every statement takes its values as parameters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..analyze.analysis import Figures
from ..errors import ConfigError, DataError, StorageError, is_locked, is_storage_failure
from ..measure.toolinfo import Environment
from .schema import MIGRATIONS, SCHEMA_VERSION
from .snapshot import COUNTS, KINDS, Baseline, FileRecord, Recorded, ServiceRecord, Snapshot, now

BUSY_TIMEOUT_S = 30.0  # how long a writer waits for another one before giving up

MAX_INTEGER = 2**63  # SQLite's integers are signed 64-bit


class History:
    """An open history database. Use `History.open(...)` as a context manager."""

    def __init__(self, connection: sqlite3.Connection, shown: str) -> None:
        self.conn = connection
        self.shown = shown

    @classmethod
    @contextmanager
    def open(cls, path: Path, shown: str, *, create: bool, check: bool = True) -> Iterator[History]:
        """Open (and, with `create`, make or migrate) the database; translate SQLite's
        errors into DataErrors that say what to do. With `check`, a damaged database is
        refused before anything reads or writes it (an export reads what it still can)."""
        if not create and not path.exists():
            raise DataError(
                f"{shown}: no history yet. Record a snapshot first: nox -s baseline "
                "(or import one: nox -s baseline -- --import FILE)."
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise DataError(f"{shown}: cannot open the history database: {exc}.") from None
        try:
            history = cls(connection, shown)
            if check and path.stat().st_size:
                history._check()
            history._prepare()
            yield history
        except (sqlite3.Error, OverflowError) as exc:
            raise _explain(exc, shown) from None
        finally:
            connection.close()

    def _prepare(self) -> None:
        self.conn.execute("PRAGMA foreign_keys = ON")
        # WAL lets readers go on while one process writes, and makes a killed writer's
        # transaction vanish on the next open instead of leaving half a snapshot.
        self.conn.execute("PRAGMA journal_mode = WAL")
        if self._version() == SCHEMA_VERSION:
            return
        with self._transaction():
            version = self._version()  # again: another process may have migrated meanwhile
            if version > SCHEMA_VERSION:
                raise DataError(
                    f"{self.shown}: written by a newer version of the kit (schema {version}, "
                    f"this one knows {SCHEMA_VERSION}). Upgrade coverage-workflows to read it."
                )
            tables = self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if version == 0 and tables:
                raise DataError(
                    f"{self.shown}: an SQLite database of something else (it has tables but no history "
                    "schema); it was left as it was. Point settings.history at another file."
                )
            for migration in MIGRATIONS[version:]:
                for statement in migration:
                    self.conn.execute(statement)
            if version == 1:
                # Version 1 had no digests; without them re-recording would duplicate snapshots.
                for snapshot in self._load("s.digest = ''", (), files=True):
                    self.conn.execute(
                        "UPDATE snapshots SET digest = ? WHERE id = ?", (snapshot.digest(), snapshot.id)
                    )
            # PRAGMA takes no parameters; the value is this module's own constant.
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")

    def _check(self) -> None:
        problems = [str(row[0]) for row in self.conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise DataError(
                f"{self.shown}: the history database is damaged ({'; '.join(problems)}). Nothing was "
                "read or written. To recover: export what it still holds (nox -s baseline -- --export "
                "recovered.jsonl), move the damaged file aside, then import the export (nox -s baseline "
                "-- --import recovered.jsonl); or import your last export, or the history branch's."
            )

    def _version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: all of it is stored, or none of it."""
        self.conn.execute("BEGIN IMMEDIATE")  # take the write lock now; waits up to the busy timeout
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- writing ----------------------------------------------------------------------------

    def record(self, snapshot: Snapshot, *, set_baseline: bool = False, force: bool = False) -> Recorded:
        """Store `snapshot` (unless the same figures are already stored for its commit and
        branch) and, with `set_baseline`, make it its branch's baseline."""
        digest = snapshot.digest()
        with self._transaction():
            row = self.conn.execute(
                "SELECT id FROM snapshots WHERE commit_sha = ? AND branch = ? AND digest = ? "
                "ORDER BY id DESC LIMIT 1",
                (snapshot.commit, snapshot.branch, digest),
            ).fetchone()
            reused = row is not None
            snapshot_id = int(row[0]) if reused else self._insert(snapshot, digest)
            stored = self.get(snapshot_id)
            current = self.baseline(stored.branch)
            was_baseline = current is not None and current.snapshot.id == snapshot_id
            replaced = self._mark_baseline(stored, current, force=force) if set_baseline else None
        return Recorded(snapshot=stored, reused=reused, was_baseline=was_baseline, replaced=replaced)

    def _mark_baseline(self, snapshot: Snapshot, current: Baseline | None, *, force: bool) -> Snapshot | None:
        """Make `snapshot` its branch's baseline in place of `current`, the one it has now."""
        assert snapshot.id is not None
        if current is not None and current.snapshot.id == snapshot.id:
            return None
        if current is not None and not force:
            raise ConfigError(
                f"branch {snapshot.branch!r} already has a baseline: {current.snapshot.label}, set "
                f"{current.set_at.replace('T', ' ')[:16]}. Nothing was recorded. Pass --force to "
                "replace it."
            )
        self.conn.execute(
            "INSERT INTO baselines (branch, snapshot_id, set_at) VALUES (?, ?, ?) "
            "ON CONFLICT (branch) DO UPDATE SET snapshot_id = excluded.snapshot_id, set_at = excluded.set_at",
            (snapshot.branch, snapshot.id, now()),
        )
        return current.snapshot if current else None

    def _insert(self, snapshot: Snapshot, digest: str) -> int:
        env = snapshot.environment
        cursor = self.conn.execute(
            "INSERT INTO snapshots (commit_sha, branch, recorded_at, python, coverage, core, digest) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                snapshot.commit,
                snapshot.branch,
                snapshot.recorded_at,
                env.python,
                env.coverage,
                env.core,
                digest,
            ),
        )
        snapshot_id = cursor.lastrowid
        assert snapshot_id is not None
        self.conn.executemany(
            "INSERT INTO service_figures (snapshot_id, service, position, kind, statements, covered, "
            "branches, covered_branches) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (snapshot_id, s.name, position, kind, *_counts(getattr(s, kind)))
                for position, s in enumerate(snapshot.services)
                for kind in KINDS
            ],
        )
        self._insert_files(snapshot_id, snapshot.files)
        return snapshot_id

    def _insert_files(self, snapshot_id: int, files: Iterable[FileRecord]) -> None:
        self.conn.executemany(
            "INSERT INTO file_figures (snapshot_id, path, service, kind, statements, covered, "
            "branches, covered_branches) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (snapshot_id, f.path, f.service, kind, *_counts(getattr(f, kind)))
                for f in files
                for kind in KINDS
            ],
        )

    def merge(self, snapshots: Sequence[Snapshot], baselines: Sequence[tuple[str, Snapshot, str]]) -> int:
        """Add imported snapshots not stored yet, and their baselines (the newer `set_at`
        wins), in one transaction. Returns how many snapshots were new."""
        added = 0
        ids: dict[tuple[str, str, str, str], int] = {}
        with self._transaction():
            for snapshot in snapshots:
                key = snapshot.key()
                row = self.conn.execute(
                    "SELECT id FROM snapshots WHERE commit_sha = ? AND branch = ? AND recorded_at = ? "
                    "AND digest = ?",
                    key,
                ).fetchone()
                if row is None:
                    ids[key] = self._insert(snapshot, key[3])
                    added += 1
                else:
                    ids[key] = int(row[0])
            for branch, snapshot, set_at in baselines:
                snapshot_id = ids[snapshot.key()]
                self.conn.execute(
                    "INSERT INTO baselines (branch, snapshot_id, set_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (branch) DO UPDATE SET snapshot_id = excluded.snapshot_id, "
                    "set_at = excluded.set_at WHERE excluded.set_at > baselines.set_at",
                    (branch, snapshot_id, set_at),
                )
        return added

    # -- reading ----------------------------------------------------------------------------

    # -- upkeep -----------------------------------------------------------------------------

    _BEYOND_KEEP = (
        # Snapshots older than their branch's newest `keep`, except any branch's baseline.
        "s.id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY branch "
        "ORDER BY recorded_at DESC, id DESC) AS age FROM snapshots) WHERE age > ?) "
        "AND s.id NOT IN (SELECT snapshot_id FROM baselines)"
    )

    def beyond_keep(self, keep: int) -> list[Snapshot]:
        """The snapshots `thin(keep)` would delete, oldest first."""
        return self._load(self._BEYOND_KEEP, (keep,), files=False)

    def thin(self, keep: int) -> list[Snapshot]:
        """Delete each branch's snapshots beyond its newest `keep` (baselines stay), in one
        transaction; the deleted snapshots."""
        with self._transaction():
            doomed = self.beyond_keep(keep)
            self.conn.executemany("DELETE FROM snapshots WHERE id = ?", [(s.id,) for s in doomed])
        return doomed

    def compact(self) -> None:
        """Give the space of deleted rows back to the file system (VACUUM, then truncate the
        write-ahead log)."""
        self.conn.execute("VACUUM")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM snapshots").fetchone()[0])

    def find_id(self, snapshot_id: int, *, files: bool = False) -> Snapshot | None:
        if not 0 < snapshot_id < MAX_INTEGER:
            return None
        found = self._load("s.id = ?", (snapshot_id,), files=files)
        return found[0] if found else None

    def get(self, snapshot_id: int, *, files: bool = False) -> Snapshot:
        found = self.find_id(snapshot_id, files=files)
        if found is None:
            raise ConfigError(f"{self.shown}: no snapshot #{snapshot_id}.")
        return found

    def snapshots(
        self, branch: str | None = None, *, limit: int | None = None, files: bool = False
    ) -> list[Snapshot]:
        """Snapshots, oldest first (of `branch` when given); only the newest `limit` when given."""
        return self._load(
            "s.id IN (SELECT id FROM snapshots WHERE ? IS NULL OR branch = ? "
            "ORDER BY recorded_at DESC, id DESC LIMIT ?)",
            (branch, branch, -1 if limit is None else limit),  # LIMIT -1: no limit
            files=files,
        )

    def with_commit(self, prefix: str) -> list[Snapshot]:
        """Snapshots whose commit starts with `prefix` (hex digits only)."""
        return self._load("s.commit_sha LIKE ?", (prefix.lower() + "%",), files=False)

    def baseline(self, branch: str) -> Baseline | None:
        row = self.conn.execute(
            "SELECT snapshot_id, set_at FROM baselines WHERE branch = ?", (branch,)
        ).fetchone()
        if row is None:
            return None
        return Baseline(branch=branch, snapshot=self.get(int(row[0])), set_at=str(row[1]))

    def since(self, baseline: Baseline) -> list[Snapshot]:
        """Snapshots of the baseline's branch newer than it, recorded since it was set; oldest first."""
        first = baseline.snapshot
        return self._load(
            "s.branch = ? AND s.recorded_at >= ? AND (s.recorded_at, s.id) > (?, ?)",
            (baseline.branch, baseline.set_at, first.recorded_at, first.id),
            files=False,
        )

    def baselines(self) -> list[Baseline]:
        rows = self.conn.execute(
            "SELECT branch, snapshot_id, set_at FROM baselines ORDER BY branch"
        ).fetchall()
        return [
            Baseline(branch=str(b), snapshot=self.get(int(i), files=True), set_at=str(t)) for b, i, t in rows
        ]

    def _load(self, where: str, params: tuple[object, ...], *, files: bool) -> list[Snapshot]:
        with self._one_read():
            return self._read_snapshots(where, params, files=files)

    @contextmanager
    def _one_read(self) -> Iterator[None]:
        """Several SELECTs that answer one question, from one state of the database: under WAL
        each statement outside a transaction reads the newest commit, so a snapshot recorded
        between two of them would make them disagree (a figure of a snapshot not listed)."""
        if self.conn.in_transaction:  # a write transaction of this connection reads its own state
            yield
            return
        self.conn.execute("BEGIN")  # deferred: the first read fixes what every later one sees
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def _read_snapshots(self, where: str, params: tuple[object, ...], *, files: bool) -> list[Snapshot]:
        # `where` is always one of this module's fixed fragments; values go in `params`.
        heads = self.conn.execute(
            "SELECT s.id, s.commit_sha, s.branch, s.recorded_at, s.python, s.coverage, s.core "  # noqa: S608
            f"FROM snapshots s WHERE {where} ORDER BY s.recorded_at, s.id",
            params,
        ).fetchall()
        if not heads:
            return []
        ids = [row[0] for row in heads]
        services: dict[int, dict[str, dict[str, Figures]]] = {i: {} for i in ids}
        for snapshot_id, name, kind, *counts in self.conn.execute(
            "SELECT f.snapshot_id, f.service, f.kind, f.statements, f.covered, f.branches, "  # noqa: S608
            f"f.covered_branches FROM service_figures f JOIN snapshots s ON s.id = f.snapshot_id "
            f"WHERE {where} ORDER BY f.snapshot_id, f.position",
            params,
        ):
            services[snapshot_id].setdefault(name, {})[kind] = Figures(
                **dict(zip(COUNTS, counts, strict=True))
            )
        file_rows: dict[int, dict[tuple[str, str], dict[str, Figures]]] = {i: {} for i in ids}
        if files:
            for snapshot_id, path, service, kind, *counts in self.conn.execute(
                "SELECT f.snapshot_id, f.path, f.service, f.kind, f.statements, f.covered, "  # noqa: S608
                "f.branches, f.covered_branches FROM file_figures f "
                f"JOIN snapshots s ON s.id = f.snapshot_id WHERE {where} ORDER BY f.snapshot_id, f.path",
                params,
            ):
                figures = Figures(**dict(zip(COUNTS, counts, strict=True)))
                file_rows[snapshot_id].setdefault((path, service), {})[kind] = figures
        return [
            Snapshot(
                id=snapshot_id,
                commit=commit,
                branch=branch,
                recorded_at=recorded_at,
                environment=Environment(python=python, coverage=coverage, core=core),
                services=tuple(
                    ServiceRecord(name=name, isolated=kinds["isolated"], whole=kinds["whole"])
                    for name, kinds in services[snapshot_id].items()
                ),
                files=tuple(
                    FileRecord(path=path, service=service, isolated=kinds["isolated"], whole=kinds["whole"])
                    for (path, service), kinds in file_rows[snapshot_id].items()
                ),
            )
            for snapshot_id, commit, branch, recorded_at, python, coverage, core in heads
        ]


def _counts(figures: Figures) -> tuple[int, int, int, int]:
    return (figures.statements, figures.covered, figures.branches, figures.covered_branches)


def _explain(exc: sqlite3.Error | OverflowError, shown: str) -> DataError | StorageError:
    text = str(exc)
    if is_storage_failure(exc):
        return StorageError(
            f"{shown}: the history database could not be written ({text}). Nothing was written: "
            "the history is as it was. Check the disk (is it full?) and run the command again."
        )
    if is_locked(exc):
        return DataError(
            f"{shown}: the history database is locked by another process (waited "
            f"{BUSY_TIMEOUT_S:g} s). Nothing was written. Run the command again once the other "
            "process has finished."
        )
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return DataError(
            f"{shown}: not a readable history database ({text}). Nothing was written. Move the "
            "file aside and record again, or import your last export: nox -s baseline -- --import FILE."
        )
    return DataError(f"{shown}: the history database failed: {text}. Nothing was written.")
