"""Keep coverage.py's parse of each source file between invocations, keyed by its content.

Parsing is what every report and gate pays for per file: the statements, the possible
arcs, the excluded lines and the functions and classes (each an `ast.parse` of the file).
None of it depends on the measured data, only on the file's text, the exclusion settings
and coverage.py's version; so the second `report` or `gate` on unchanged sources reads it
back instead of parsing again.

`CachedFileReporter` is a coverage.py FileReporter (the plugin API) that answers the
parse-dependent questions from a stored entry and everything else (the source text, its
tokens for HTML) from coverage.py's own PythonFileReporter, which parses only if asked
something the entry lacks. A test checks every report and figure against an uncached run.

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
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import coverage
from coverage.exceptions import CoverageException
from coverage.plugin import CodeRegion, FileReporter
from coverage.python import PythonFileReporter

from ..measure.parallel import machine_cores

if TYPE_CHECKING:
    from coverage import Coverage

FORMAT = 1  # bump when the entry's layout changes: old entries then never match
KEEP_SECONDS = 14 * 24 * 3600  # entries no invocation used for this long are dropped
# Fewer files than this are parsed in line: starting the worker processes would cost more.
PARALLEL_PARSE_MIN = 8

Arc = tuple[int, int]


@dataclass(frozen=True, kw_only=True)
class Entry:
    """What coverage.py's parser says about one file's text."""

    statements: frozenset[int]
    excluded: frozenset[int]
    multiline: dict[int, int]  # line -> first line of its statement
    arcs: frozenset[Arc]
    exit_counts: dict[int, int]
    no_branch: frozenset[int]
    with_fixers: dict[Arc, Arc | None]  # arcs Python 3.10+ traces around `with` exits, and their fix
    regions: tuple[CodeRegion, ...]
    descriptions: dict[Arc, tuple[str, str]]  # branch arc -> (arc, missing-arc) description

    @classmethod
    def of(cls, real: PythonFileReporter) -> Entry | None:
        """The entry for a parsed file, or None when this coverage.py keeps its parse elsewhere."""
        statements = real.lines()
        arcs = real.arcs()  # first: the arc analysis is what sets the `with` fixers
        fixers = getattr(real.parser, "_with_jump_fixers", None)
        if not isinstance(fixers, dict):
            return None  # a coverage.py whose parser we do not know: parse every time
        exits = real.exit_counts()
        branch_arcs = [(a, b) for a, b in arcs if exits.get(a, 0) > 1]
        return cls(
            statements=frozenset(statements),
            excluded=frozenset(real.excluded_lines()),
            multiline=dict(real.multiline_map()),
            arcs=frozenset(arcs),
            exit_counts=dict(exits),
            no_branch=frozenset(real.no_branch_lines()),
            with_fixers=dict(fixers),
            regions=tuple(real.code_regions()),
            descriptions={
                (a, b): (real.arc_description(a, b), real.missing_arc_description(a, b))
                for a, b in branch_arcs
            },
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "statements": sorted(self.statements),
                "excluded": sorted(self.excluded),
                "multiline": sorted(self.multiline.items()),
                "arcs": sorted(self.arcs),
                "exit_counts": sorted(self.exit_counts.items()),
                "no_branch": sorted(self.no_branch),
                "with_fixers": [[list(k), list(v) if v else None] for k, v in self.with_fixers.items()],
                "regions": [[r.kind, r.name, r.start, sorted(r.lines)] for r in self.regions],
                "descriptions": [
                    [a, b, text, missing] for (a, b), (text, missing) in self.descriptions.items()
                ],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Entry:
        raw = json.loads(text)
        return cls(
            statements=frozenset(raw["statements"]),
            excluded=frozenset(raw["excluded"]),
            multiline={a: b for a, b in raw["multiline"]},
            arcs=frozenset((a, b) for a, b in raw["arcs"]),
            exit_counts={a: b for a, b in raw["exit_counts"]},
            no_branch=frozenset(raw["no_branch"]),
            with_fixers={(k[0], k[1]): (v[0], v[1]) if v else None for k, v in raw["with_fixers"]},
            regions=tuple(
                CodeRegion(kind=kind, name=name, start=start, lines=set(lines))
                for kind, name, start, lines in raw["regions"]
            ),
            descriptions={(a, b): (text, missing) for a, b, text, missing in raw["descriptions"]},
        )


class CachedFileReporter(FileReporter):
    """coverage.py's FileReporter for one Python file, its parse read from an Entry."""

    def __init__(self, real: PythonFileReporter, entry: Entry, tokens: bytes | None = None) -> None:
        super().__init__(real.filename)
        self.real = real
        self.entry = entry
        self.tokens = tokens  # packed HTML tokens, when the cache has them

    def __repr__(self) -> str:
        return f"<CachedFileReporter {self.filename!r}>"

    # Asked of the text, which is cheap to read: coverage.py's own reporter answers.
    def relative_filename(self) -> str:
        return self.real.relative_filename()

    def source(self) -> str:
        return self.real.source()

    def source_token_lines(self) -> Any:
        if self.tokens is not None:
            return unpack_tokens(self.tokens)
        return self.real.source_token_lines()

    def should_be_python(self) -> bool:
        return self.real.should_be_python()

    def code_region_kinds(self) -> Iterable[tuple[str, str]]:
        return self.real.code_region_kinds()

    # Asked of the parse: answered from the entry.
    def lines(self) -> set[int]:
        return set(self.entry.statements)

    def excluded_lines(self) -> set[int]:
        return set(self.entry.excluded)

    def multiline_map(self) -> dict[int, int]:
        return dict(self.entry.multiline)

    def arcs(self) -> set[Arc]:
        return set(self.entry.arcs)

    def exit_counts(self) -> dict[int, int]:
        return dict(self.entry.exit_counts)

    def no_branch_lines(self) -> set[int]:
        return set(self.entry.no_branch)

    def code_regions(self) -> Iterable[CodeRegion]:
        return list(self.entry.regions)

    def _first_line(self, line: int) -> int:
        # As coverage.py's parser maps a line: negative numbers are code objects' exits.
        if line < 0:
            return -self.entry.multiline.get(-line, -line)
        return self.entry.multiline.get(line, line)

    def translate_lines(self, lines: Iterable[int]) -> set[int]:
        return {self._first_line(line) for line in lines}

    def translate_arcs(self, arcs: Iterable[Arc]) -> set[Arc]:
        fixers = self.entry.with_fixers
        fixed = {fixers.get(arc, arc) for arc in arcs}
        return {(self._first_line(a), self._first_line(b)) for a, b in (arc for arc in fixed if arc)}

    def arc_description(self, start: int, end: int) -> str:
        known = self.entry.descriptions.get((start, end))
        return known[0] if known else self.real.arc_description(start, end)

    def missing_arc_description(
        self, start: int, end: int, executed_arcs: Iterable[Arc] | None = None
    ) -> str:
        known = self.entry.descriptions.get((start, end))
        return known[1] if known else self.real.missing_arc_description(start, end, executed_arcs)


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
                return real  # not Python, say: coverage.py reports it its own way when it gets there
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


def pack_tokens(lines: Iterable[list[tuple[str, str]]]) -> bytes:
    """coverage.py's HTML tokens of a file, compact: a big repository's fit in memory."""
    return zlib.compress(json.dumps(list(lines), separators=(",", ":")).encode(), 1)


def unpack_tokens(packed: bytes) -> list[list[tuple[str, str]]]:
    return [[(kind, text) for kind, text in line] for line in json.loads(zlib.decompress(packed))]
