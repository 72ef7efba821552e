"""Noisy lines: spots the manifest declares flaky (`gate.noisy`), found by `stability`.

Their coverage changes from run to run with no change of code, so the gate does not let
them decide a verdict: the changed-line policy leaves them out of a change's lines, and
the regression policy counts a noisy line this run missed as covered (as it was in other
runs), so the comparison with the baseline measures the code, not the jitter. Every
other figure (floors, reports, the history) stays as measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..analyze.analysis import Figures, ServiceFigures, SharedAnalysis, context_pattern
from ..config.manifest import TOTAL, Manifest


def declared(manifest: Manifest, path: Path, line: int) -> bool:
    """Whether line `line` of the absolute file `path` is declared noisy."""
    return any(spot.holds(path, line) for spot in manifest.gate.noisy)


def lines_of(manifest: Manifest, path: Path, lines: frozenset[int] | set[int]) -> set[int]:
    """Those of `lines` in `path` that are declared noisy."""
    return {line for line in lines if declared(manifest, path, line)}


@dataclass(frozen=True, kw_only=True)
class Adjusted:
    headline: dict[str, Figures]  # as analysis.headline_figures, noisy misses counted as covered
    lines: int  # noisy statements this run missed, counted as covered


def adjusted_headline(
    manifest: Manifest, shared: SharedAnalysis, services: Sequence[ServiceFigures]
) -> Adjusted:
    """The figures the regression policy compares with the baseline."""
    headline: dict[str, Figures] = {}
    total = Figures()
    forgiven: set[tuple[str, int]] = set()
    for service in services:
        isolated = Figures()
        for file in service.files:
            absolute = (manifest.project_dir / file.path).resolve()
            own, own_lines = _forgive(manifest, shared, file.path, absolute, file.isolated, service.name)
            whole, whole_lines = _forgive(manifest, shared, file.path, absolute, file.whole, None)
            isolated, total = isolated + own, total + whole
            forgiven |= {(file.path, line) for line in own_lines | whole_lines}
        headline[service.name] = isolated
    return Adjusted(headline={TOTAL: total, **headline}, lines=len(forgiven))


def _forgive(
    manifest: Manifest,
    shared: SharedAnalysis,
    filename: str,
    path: Path,
    figures: Figures,
    service: str | None,
) -> tuple[Figures, set[int]]:
    """`figures` of one file with its missed noisy statements and branch exits counted as
    covered (by `service`'s own tests, or by any when None); and those statements."""
    if not any(spot.path == path for spot in manifest.gate.noisy):
        return figures, set()
    contexts = (context_pattern(service),) if service else ()
    analysis = shared.analysis(filename, contexts)
    missed = lines_of(manifest, path, analysis.missing)
    missed_exits = sum(
        total - taken
        for line, (total, taken) in analysis.branch_stats().items()
        if declared(manifest, path, line)
    )
    return (
        Figures(
            statements=figures.statements,
            covered=figures.covered + len(missed),
            branches=figures.branches,
            covered_branches=figures.covered_branches + missed_exits,
        ),
        missed,
    )
