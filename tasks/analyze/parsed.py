"""One file's parse as the analysis cache stores it, and the FileReporter that answers from it.

`CachedFileReporter` is a coverage.py FileReporter (the plugin API) that answers the
parse-dependent questions from a stored entry and everything else (the source text, its
tokens for HTML) from coverage.py's own PythonFileReporter, which parses only if asked
something the entry lacks. A test checks every report and figure against an uncached run.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from coverage.plugin import CodeRegion, FileReporter
from coverage.python import PythonFileReporter

from ..measure import coverage_internals

FORMAT = 1  # bump when the entry's layout changes: old entries then never match

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
        fixers = coverage_internals.with_jump_fixers(real.parser)
        if fixers is None:
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


def pack_tokens(lines: Iterable[list[tuple[str, str]]]) -> bytes:
    """coverage.py's HTML tokens of a file, compact: a big repository's fit in memory."""
    return zlib.compress(json.dumps(list(lines), separators=(",", ":")).encode(), 1)


def unpack_tokens(packed: bytes) -> list[list[tuple[str, str]]]:
    return [[(kind, text) for kind, text in line] for line in json.loads(zlib.decompress(packed))]
