"""Keep coverage.py's parse of each source file between invocations, keyed by its content.

Parsing is what every report and gate pays for per file: the statements, the possible
arcs, the excluded lines and the functions and classes (each an `ast.parse` of the file).
None of it depends on the measured data, only on the file's text, the exclusion settings
and coverage.py's version; so the second `report` or `gate` on unchanged sources reads it
back instead of parsing again.

The cache is a convenience: an unreadable, locked or corrupt cache file is set aside
or skipped, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import signal
import sqlite3
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import coverage
from coverage.exceptions import CoverageException
from coverage.plugin import FileReporter
from coverage.python import PythonFileReporter

from ..measure.parallel import machine_cores
from .parsed import FORMAT, CachedFileReporter, Entry, pack_tokens

if TYPE_CHECKING:
    from coverage import Coverage

KEEP_SECONDS = 14 * 24 * 3600  # entries no invocation used for this long are dropped
# Fewer files than this are parsed in line: starting the worker processes would cost more.
PARALLEL_PARSE_MIN = 8


class AnalysisCache:
    """Entries by (file content, exclusion settings, coverage.py version), in one SQLite file."""

    def __init__(self, path: Path, cov: Coverage) -> None:
        self.path = path
        self._cov = cov
        self._new: dict[str, Entry] = {}
        self._found: dict[str, Entry] = {}  # read by `prefetch`, for `reporter`
        self._tokens: dict[str, bytes] = {}  # key -> packed HTML tokens, read or made by `prefetch`
        self._new_tokens: dict[str, bytes] = {}
        self._keys: dict[str, str] = {}  # file name -> key, this invocation
        self._used: list[str] = []
        config = cov.config
        self._settings = json.dumps(
            [
                FORMAT,
                coverage.__version__,
                sys.implementation.cache_tag,  # the parse depends on the interpreter's AST and bytecode
                cov.get_exclude_list("exclude"),
                config.partial_list,
                config.partial_always_list,
            ]
        )
        self._db = self._open()

    def _open(self) -> sqlite3.Connection | None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS entries "
                "(key TEXT PRIMARY KEY, entry TEXT NOT NULL, used REAL NOT NULL)"
            )
            # The HTML's syntax-coloured tokens, kept apart: only HTML reports read them.
            db.execute("CREATE TABLE IF NOT EXISTS tokens (key TEXT PRIMARY KEY, tokens BLOB NOT NULL)")
            return db
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                return None  # locked by another invocation, or unreadable: parse without it
            # Not a database, or a damaged one: set aside (for anyone who wants to look), with
            # its journal, and the next run starts anew.
            with contextlib.suppress(OSError):
                for suffix in ("", "-wal", "-shm"):
                    damaged = self.path.with_name(self.path.name + suffix)
                    if damaged.exists():
                        damaged.replace(damaged.with_name(damaged.name + ".corrupt"))
            return None
        except (OSError, sqlite3.Error):
            return None

    def key(self, text: bytes) -> str:
        return hashlib.sha256(self._settings.encode() + b"\0" + text).hexdigest()

    def _key_of(self, filename: str) -> str:
        key = self._keys.get(filename)
        if key is None:
            key = self._keys[filename] = self.key(Path(filename).read_bytes())
        return key

    def prefetch(self, reals: Sequence[FileReporter], *, tokens: bool = False) -> None:
        """Read the entries of `reals` (and, with `tokens`, their HTML tokens) and parse what
        the cache lacks, on every core, so that `reporter` finds it all: a first `report` or
        `gate` parses in parallel, and the HTML pages are written without tokenizing."""
        jobs: dict[str, tuple[str, bool, bool]] = {}  # key -> (file name, entry?, tokens?)
        for real in reals:
            if type(real) is not PythonFileReporter:
                continue
            try:
                key = self._key_of(real.filename)
            except OSError:
                continue  # `reporter` leaves it to coverage.py, which says what is wrong
            if key in jobs:
                continue
            need_entry = key not in self._new and key not in self._found
            if need_entry and (entry := self._load(key)) is not None:
                self._found[key] = entry
                need_entry = False
            need_tokens = tokens and key not in self._tokens
            if need_tokens and (packed := self._load_tokens(key)) is not None:
                self._tokens[key] = packed
                need_tokens = False
            if need_entry or need_tokens:
                jobs[key] = (real.filename, need_entry, need_tokens)
        for key, (entry, packed) in zip(jobs, self._parse_all(list(jobs.values())), strict=True):
            if entry is not None:
                self._new[key] = entry
            if packed is not None and (key in self._new or key in self._found):
                self._tokens[key] = self._new_tokens[key] = packed  # kept only beside an entry

    def _parse_all(self, jobs: list[tuple[str, bool, bool]]) -> list[tuple[Entry | None, bytes | None]]:
        workers = machine_cores()
        if len(jobs) < PARALLEL_PARSE_MIN or workers < 2 or not _can_fork():
            return [_parse_one(self._cov, job) for job in jobs]
        self.close()  # no SQLite connection may cross a fork
        try:
            return _parse_in_workers(self._cov, jobs, workers)
        finally:
            self._db = self._open()

    def reporter(self, real: FileReporter) -> FileReporter:
        """`real` answering from the cache when it is coverage.py's Python reporter."""
        if type(real) is not PythonFileReporter:
            return real  # a plugin's reporter (templates, say): its parse is not ours to keep
        try:
            key = self._key_of(real.filename)
        except OSError:
            return real  # coverage.py's own error, in its own words, when it reads the file
        entry = self._new.get(key) or self._found.get(key) or self._load(key)
        if entry is None:
            try:
                entry = Entry.of(real)
            except CoverageException:
                # Not Python, say: coverage.py reports it its own way when it gets there, from a
                # reporter of its own (this one's parser is left half done by the failed parse).
                return PythonFileReporter(real.filename, self._cov)
            if entry is None:
                return real
            self._new[key] = entry
        if key not in self._new:
            self._used.append(key)
        return CachedFileReporter(real, entry, self._tokens.get(key))

    def _load(self, key: str) -> Entry | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT entry FROM entries WHERE key = ?", (key,)).fetchone()
            return Entry.from_json(row[0]) if row else None
        except (sqlite3.Error, ValueError, KeyError, TypeError):
            return None  # locked or damaged: parse this file as if uncached

    def _load_tokens(self, key: str) -> bytes | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT tokens FROM tokens WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row and isinstance(row[0], bytes) else None

    def save(self) -> None:
        """Store this invocation's new entries, mark the ones it used, drop long-unused ones."""
        if self._db is None or not (self._new or self._used or self._new_tokens):
            return  # nothing parsed or read since the last save: no write transaction
        now = time.time()
        try:
            with contextlib.closing(self._db.cursor()) as cursor:
                cursor.execute("BEGIN IMMEDIATE")
                cursor.executemany(
                    "INSERT OR REPLACE INTO entries (key, entry, used) VALUES (?, ?, ?)",
                    [(key, entry.to_json(), now) for key, entry in self._new.items()],
                )
                cursor.executemany(
                    "UPDATE entries SET used = ? WHERE key = ?", [(now, key) for key in self._used]
                )
                cursor.executemany(
                    "INSERT OR REPLACE INTO tokens (key, tokens) VALUES (?, ?)", self._new_tokens.items()
                )
                cursor.execute("DELETE FROM entries WHERE used < ?", (now - KEEP_SECONDS,))
                cursor.execute("DELETE FROM tokens WHERE key NOT IN (SELECT key FROM entries)")
                cursor.execute("COMMIT")
        except sqlite3.Error:
            # Another invocation holds the lock, or the disk is full: this one's parse is lost, no more.
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
        finally:
            self._new.clear()
            self._used.clear()
            self._new_tokens.clear()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


# The Coverage object the parsing workers use: set before they fork, so they inherit it.
_worker_coverage: Coverage | None = None


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _parse_in_workers(
    cov: Coverage, jobs: list[tuple[str, bool, bool]], workers: int
) -> list[tuple[Entry | None, bytes | None]]:
    """`_parse_one` of every job, in `workers` forked processes.

    Forked, not spawned: the workers inherit the Coverage object and its settings. They use
    neither its data object (coverage.py would take a worker for a new process to measure
    and erase the data file) nor any SQLite connection, which must not cross a fork."""
    global _worker_coverage
    _worker_coverage = cov
    chunk = max(1, len(jobs) // (workers * 4))
    try:
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_ignore_interrupts,
        ) as pool:
            return list(pool.map(_parse_in_worker, jobs, chunksize=chunk))
    except (OSError, RuntimeError):  # no processes to be had, or one died: parse in line
        return [_parse_one(cov, job) for job in jobs]
    finally:
        _worker_coverage = None


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group: the parent stops the pool, the workers stay quiet.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _parse_in_worker(job: tuple[str, bool, bool]) -> tuple[Entry | None, bytes | None]:
    assert _worker_coverage is not None  # set by _parse_in_workers before the fork
    return _parse_one(_worker_coverage, job)


def _parse_one(cov: Coverage, job: tuple[str, bool, bool]) -> tuple[Entry | None, bytes | None]:
    """One file's entry and packed tokens, as asked; None for what could not be made (the
    file's reporter then parses it as coverage.py does, and says what is wrong with it)."""
    filename, need_entry, need_tokens = job
    real = PythonFileReporter(filename, cov)
    entry = packed = None
    with contextlib.suppress(Exception):
        entry = Entry.of(real) if need_entry else None
    with contextlib.suppress(Exception):
        packed = pack_tokens(real.source_token_lines()) if need_tokens else None
    return entry, packed
