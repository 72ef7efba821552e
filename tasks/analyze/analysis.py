"""Analyse each source file once per invocation and derive per-service figures from contexts.

Parsing sources is the dominant cost of coverage reporting. coverage.py's reporters each
ask the Coverage object for a file reporter and an analysis per file; `SharedAnalysis`
memoises both on that object, so the terminal figures, HTML, XML, JSON and LCOV of one
invocation share a single parse of every file. Per-service (isolated) figures reuse the
same parsed file reporter with the data narrowed to the service's static context.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from coverage.exceptions import CoverageException
from coverage.results import Analysis

from ..config.manifest import TOTAL
from ..measure import coverage_internals

if TYPE_CHECKING:
    from coverage import Coverage
    from coverage.plugin import FileReporter

    from ..config.manifest import Manifest
    from .cache import AnalysisCache


@dataclass(frozen=True, kw_only=True)
class Figures:
    """Counts behind one coverage figure; percentages are derived, never stored."""

    statements: int = 0
    covered: int = 0
    branches: int = 0
    covered_branches: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            statements=self.statements + other.statements,
            covered=self.covered + other.covered,
            branches=self.branches + other.branches,
            covered_branches=self.covered_branches + other.covered_branches,
        )

    @property
    def missed(self) -> int:
        return self.statements - self.covered

    @property
    def line_pct(self) -> float | None:
        return 100.0 * self.covered / self.statements if self.statements else None

    @property
    def branch_pct(self) -> float | None:
        return 100.0 * self.covered_branches / self.branches if self.branches else None

    @property
    def combined_pct(self) -> float | None:
        """Statements and branches counted together, as coverage.py's own reports (its HTML,
        its TOTAL, fail_under) count them."""
        counted = self.statements + self.branches
        return 100.0 * (self.covered + self.covered_branches) / counted if counted else None

    @classmethod
    def of(cls, analysis: Analysis) -> Figures:
        numbers = analysis.numbers
        return cls(
            statements=numbers.n_statements,
            covered=numbers.n_executed,
            branches=numbers.n_branches,
            covered_branches=numbers.n_executed_branches,
        )


@dataclass(frozen=True, kw_only=True)
class FileFigures:
    """One source file: its owner, what its owner's tests cover, what all tests cover."""

    path: str  # relative to the project directory, POSIX separators
    service: str | None
    isolated: Figures
    whole: Figures
    isolated_missing: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class ServiceFigures:
    name: str
    isolated: Figures
    whole: Figures
    files: tuple[FileFigures, ...]

    @property
    def gap(self) -> float | None:
        """Masking gap in points: line coverage borrowed from other services' tests."""
        if self.isolated.line_pct is None or self.whole.line_pct is None:
            return None
        return self.whole.line_pct - self.isolated.line_pct


def split_context(context: str) -> tuple[str, str]:
    """A recorded context as (service, test): the static part is the service's name, the
    dynamic part (after "|", only with per-test contexts) the test's."""
    service, _, test = context.partition("|")
    return service, test


def context_pattern(service: str) -> str:
    """The regular expression matching exactly one service's static context."""
    return f"^{re.escape(service)}$"


class SharedAnalysis:
    """Memoises coverage.py's per-file reporter and analysis on one Coverage object; with a
    cache, file reporters answer from the previous invocations' parse of unchanged files."""

    def __init__(self, cov: Coverage, cache: AnalysisCache | None = None) -> None:
        self.cov = cov
        self.cache = cache
        self.parses = 0  # file reporters created: one per file is the promise
        self._reporters: dict[str, FileReporter] = {}
        self._analyses: dict[tuple[str, tuple[str, ...]], Analysis] = {}
        self._original_reporter = coverage_internals.hook_analysis(cov, self.file_reporter, self._analyze)

    def file_reporter(self, morf: Any) -> FileReporter:
        key = str(morf)
        reporter = self._reporters.get(key)
        if reporter is None:
            reporter = self._original_reporter(morf)
            if self.cache is not None:
                reporter = self.cache.reporter(reporter)
            self._reporters[key] = reporter
            self.parses += 1
        return reporter

    def prepare(self, filenames: Iterable[str], *, tokens: bool = False) -> None:
        """Make the file reporters of `filenames` at once: what the cache lacks is then parsed
        on every core, instead of one file at a time as each is asked for; with `tokens`,
        the HTML's tokens too."""
        todo = [name for name in dict.fromkeys(filenames) if name not in self._reporters]
        if self.cache is None or not todo:
            return
        originals = {}
        for name in todo:
            with contextlib.suppress(CoverageException):  # coverage.py says it again when asked
                originals[name] = self._original_reporter(name)
        self.cache.prefetch(list(originals.values()), tokens=tokens)
        for name, original in originals.items():
            self._reporters[name] = self.cache.reporter(original)
            self.parses += 1

    def adopt(self, other: SharedAnalysis) -> None:
        """Answer from `other`'s file reporters and analyses (same data, another Coverage
        object: a forked process's own)."""
        self._reporters.update(other._reporters)
        self._analyses.update(other._analyses)

    def save_cache(self) -> None:
        """Keep what this invocation parsed for the next one."""
        if self.cache is not None:
            self.cache.save()

    def close_cache(self) -> None:
        """Done with the cache (before a fork: no SQLite connection may cross one)."""
        if self.cache is not None:
            self.cache.close()
            self.cache = None

    def _analyze(self, morf: Any, file_reporter: FileReporter | None = None) -> Analysis:
        # HTML and JSON narrow the data to `report_contexts`; keep their analyses apart.
        contexts = tuple(self.cov.config.report_contexts or ())
        return self.analysis(str(morf), contexts, file_reporter)

    def analysis(
        self, filename: str, contexts: tuple[str, ...] = (), file_reporter: FileReporter | None = None
    ) -> Analysis:
        key = (filename, contexts)
        cached = self._analyses.get(key)
        if cached is not None:
            return cached
        reporter = file_reporter or self.file_reporter(filename)
        data = self.cov.get_data()
        data.set_query_contexts(list(contexts) or None)
        try:
            result: Analysis = coverage_internals.analyze(self.cov, data, reporter)
        finally:
            data.set_query_contexts(None)
        self._analyses[key] = result
        return result


def reported_files(cov: Coverage) -> list[str]:
    """The measured files coverage.py's own reports show (reported_by)."""
    shown = reported_by(cov)
    return [name for name in sorted(cov.get_data().measured_files()) if shown(name)]


def reported_by(cov: Coverage) -> Callable[[str], bool]:
    """Whether coverage.py's reports show a file (a recorded path): what the configuration's
    [report] include and omit let through (report_settings writes them for the recorded
    paths, and adds the files each service's own configuration leaves out), matched as
    coverage.py's reporters match them: against the recorded path."""
    from coverage.files import GlobMatcher, prep_patterns

    config = cov.config
    included = GlobMatcher(prep_patterns(config.report_include), "include") if config.report_include else None
    omitted = GlobMatcher(prep_patterns(config.report_omit), "omit") if config.report_omit else None

    def shown(name: str) -> bool:
        return (included is None or included.match(name)) and not (
            omitted is not None and omitted.match(name)
        )

    return shown


def service_figures(
    shared: SharedAnalysis, manifest: Manifest, only: str | None = None
) -> tuple[ServiceFigures, ...]:
    """Isolated and whole-suite figures for every declared service, from one combined file.

    A file's isolated figure counts only lines run under its owner's context; the
    whole-suite figure counts lines run under any context. Files no service owns are
    left out (they cannot be, with sources measured by service path). `only` limits the
    work to one service's files.
    """
    names = (only,) if only else manifest.names
    by_service: dict[str, list[FileFigures]] = {name: [] for name in names}
    owned = []
    for filename in reported_files(shared.cov):
        owner = manifest.owner((manifest.project_dir / filename).resolve())
        if owner is not None and owner.name in by_service:
            owned.append((filename, owner))
    shared.prepare(filename for filename, _ in owned)
    for filename, owner in owned:
        whole = shared.analysis(filename)
        isolated = shared.analysis(filename, (context_pattern(owner.name),))
        by_service[owner.name].append(
            FileFigures(
                path=Path(filename).as_posix(),
                service=owner.name,
                isolated=Figures.of(isolated),
                whole=Figures.of(whole),
                isolated_missing=tuple(sorted(isolated.missing)),
            )
        )
    return tuple(
        ServiceFigures(
            name=name,
            isolated=sum_figures(f.isolated for f in files),
            whole=sum_figures(f.whole for f in files),
            files=tuple(files),
        )
        for name, files in by_service.items()
    )


def sum_figures(figures: Iterable[Figures]) -> Figures:
    total = Figures()
    for figure in figures:
        total = total + figure
    return total


def metric_pct(figures: Figures | None, metric: str) -> float | None:
    """A figure's "line" or "branch" percentage; None when there is nothing to measure."""
    if figures is None:
        return None
    return figures.line_pct if metric == "line" else figures.branch_pct


class HasFigures(Protocol):
    """A service's figures, measured now (ServiceFigures) or recorded (history)."""

    @property
    def name(self) -> str: ...
    @property
    def isolated(self) -> Figures: ...
    @property
    def whole(self) -> Figures: ...


def headline_figures(services: Iterable[HasFigures]) -> dict[str, Figures]:
    """The figure each scope is judged by everywhere in the kit (floors, goals, regression,
    ratchet): the whole-suite figure for the total, each service's isolated figure."""
    listed = list(services)
    figures = {TOTAL: sum_figures(s.whole for s in listed)}
    figures.update({s.name: s.isolated for s in listed})
    return figures
