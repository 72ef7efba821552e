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
import sqlite3
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import coverage
from coverage.exceptions import CoverageException
from coverage.plugin import CodeRegion, FileReporter
from coverage.python import PythonFileReporter

if TYPE_CHECKING:
    from coverage import Coverage

FORMAT = 1  # bump when the entry's layout changes: old entries then never match
KEEP_SECONDS = 14 * 24 * 3600  # entries no invocation used for this long are dropped

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

    def __init__(self, real: PythonFileReporter, entry: Entry) -> None:
        super().__init__(real.filename)
        self.real = real
        self.entry = entry

    def __repr__(self) -> str:
        return f"<CachedFileReporter {self.filename!r}>"

    # Asked of the text, which is cheap to read: coverage.py's own reporter answers.
    def relative_filename(self) -> str:
        return self.real.relative_filename()

    def source(self) -> str:
        return self.real.source()

    def source_token_lines(self) -> Any:
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
        self._new: dict[str, Entry] = {}
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

    def reporter(self, real: FileReporter) -> FileReporter:
        """`real` answering from the cache when it is coverage.py's Python reporter."""
        if type(real) is not PythonFileReporter:
            return real  # a plugin's reporter (templates, say): its parse is not ours to keep
        try:
            text = Path(real.filename).read_bytes()
        except OSError:
            return real  # coverage.py's own error, in its own words, when it reads the file
        key = self.key(text)
        entry = self._load(key)
        if entry is None:
            try:
                entry = Entry.of(real)
            except CoverageException:
                return real  # not Python, say: coverage.py reports it its own way when it gets there
            if entry is None:
                return real
            self._new[key] = entry
        self._used.append(key)
        return CachedFileReporter(real, entry)

    def _load(self, key: str) -> Entry | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT entry FROM entries WHERE key = ?", (key,)).fetchone()
            return Entry.from_json(row[0]) if row else None
        except (sqlite3.Error, ValueError, KeyError, TypeError):
            return None  # locked or damaged: parse this file as if uncached

    def save(self) -> None:
        """Store this invocation's new entries, mark the ones it used, drop long-unused ones."""
        if self._db is None or not (self._new or self._used):
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
                cursor.execute("DELETE FROM entries WHERE used < ?", (now - KEEP_SECONDS,))
                cursor.execute("COMMIT")
        except sqlite3.Error:
            # Another invocation holds the lock, or the disk is full: this one's parse is lost, no more.
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
        finally:
            self._new.clear()
            self._used.clear()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
