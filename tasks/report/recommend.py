"""Recommendations: where the next test buys the most.

A file's impact is the number of its statements its own service's tests miss
(statements x (100 - coverage) / 100): covering them all moves the service's figure by
exactly that many lines. Files are ranked by impact, grouped by service and by the
components the manifest declares, and each service is told how many more lines its own
tests must cover to reach its floor and its goal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..analyze.analysis import ServiceFigures, SharedAnalysis, context_pattern
from ..config.manifest import Manifest
from ..errors import plain
from ..text import WIDTH, fold
from . import render

DEFAULT_TOP = 10
UNASSIGNED = "(no component)"


@dataclass(frozen=True, kw_only=True)
class FileAdvice:
    path: str
    service: str
    component: str | None
    statements: int
    missed: int  # the impact: lines a complete test of this file adds to its service
    line_pct: float | None
    uncovered: str  # uncovered line ranges, as coverage.py writes them ("3-5, 9")


@dataclass(frozen=True, kw_only=True)
class Target:
    kind: str  # "floor" or "goal"
    percent: float
    lines_needed: int  # more statements the service's own tests must cover; 0 when met


@dataclass(frozen=True, kw_only=True)
class ServiceAdvice:
    name: str
    statements: int
    missed: int
    line_pct: float | None
    targets: tuple[Target, ...]
    components: tuple[tuple[str, int, int], ...]  # (name, statements, missed), most missed first


@dataclass(frozen=True, kw_only=True)
class Advice:
    services: tuple[ServiceAdvice, ...]
    files: tuple[FileAdvice, ...]  # every file with missed lines, highest impact first


def lines_needed(statements: int, covered: int, percent: float) -> int:
    """How many more covered statements reach `percent` of `statements`."""
    # The small epsilon keeps 70% of 10 statements at 7, not 8 (70 * 10 / 100 = 7.000000000000001).
    return max(0, math.ceil(percent * statements / 100 - 1e-9) - covered)


def build(shared: SharedAnalysis, manifest: Manifest, services: Sequence[ServiceFigures]) -> Advice:
    goals = {goal.scope: goal for goal in manifest.goals}
    files: list[FileAdvice] = []
    per_service = []
    for figures in services:
        service = manifest.service(figures.name)
        components: dict[str, list[int]] = {}
        for file in figures.files:
            component = service.component((manifest.project_dir / file.path).resolve())
            counts = components.setdefault(component or UNASSIGNED, [0, 0])
            counts[0] += file.isolated.statements
            counts[1] += file.isolated.missed
            if not file.isolated.missed:
                continue
            analysis = shared.analysis(file.path, (context_pattern(service.name),))
            files.append(
                FileAdvice(
                    path=file.path,
                    service=service.name,
                    component=component,
                    statements=file.isolated.statements,
                    missed=file.isolated.missed,
                    line_pct=file.isolated.line_pct,
                    uncovered=analysis.missing_formatted(),
                )
            )
        targets = []
        isolated = figures.isolated
        goal = goals.get(service.name)
        for kind, percent in (("floor", service.thresholds.line), ("goal", goal.line if goal else None)):
            if percent is not None:
                needed = lines_needed(isolated.statements, isolated.covered, percent)
                targets.append(Target(kind=kind, percent=percent, lines_needed=needed))
        ranked = sorted(components.items(), key=lambda item: (-item[1][1], item[0]))
        per_service.append(
            ServiceAdvice(
                name=service.name,
                statements=isolated.statements,
                missed=isolated.missed,
                line_pct=isolated.line_pct,
                targets=tuple(targets),
                components=tuple((name, s, m) for name, (s, m) in ranked) if service.components else (),
            )
        )
    files.sort(key=lambda f: (-f.missed, f.path))
    return Advice(services=tuple(per_service), files=tuple(files))


def _target_text(target: Target) -> str:
    if not target.lines_needed:
        return f"{target.kind} {target.percent:g}% met"
    noun = "line" if target.lines_needed == 1 else "lines"
    return f"{target.kind} {target.percent:g}%: {target.lines_needed} more {noun}"


TERMINAL_RANGES = 60  # characters of uncovered ranges per file in the terminal; Markdown has all
MIN_RANGES = 24  # the least of them, beside long paths


def shortened(ranges: str, limit: int = TERMINAL_RANGES) -> str:
    """Uncovered ranges cut after the last whole range within `limit` characters."""
    if len(ranges) <= limit:
        return ranges
    cut = ranges.rfind(", ", 0, limit)
    return (ranges[:cut] if cut > 0 else ranges[:limit]) + ", ..."


def terminal(advice: Advice, top: int = DEFAULT_TOP) -> str:
    out = ["Where the next test buys the most (impact = statements its own service's tests miss)", ""]
    rows: list[tuple[str, ...]] = [("Service", "Stmts", "Miss", "Line", "To reach")]
    for service in advice.services:
        reach = "; ".join(_target_text(t) for t in service.targets) or "-"
        rows.append(
            (service.name, str(service.statements), str(service.missed), render.pct(service.line_pct), reach)
        )
    out += render.columns(rows, right=(1, 2, 3), wrap=(0,))
    for service in advice.services:
        if service.components:
            parts = ", ".join(f"{name} {missed} of {stmts}" for name, stmts, missed in service.components)
            out.append(fold(f"  {service.name} components (missed of statements): {parts}"))
    out += ["", f"Top {min(top, len(advice.files))} files by impact:"]
    shown = advice.files[:top]
    files: list[tuple[str, ...]] = [("Impact", "Service", "Component", "File", "Line")]
    files += [
        (str(file.missed), file.service, file.component or "-", plain(file.path), render.pct(file.line_pct))
        for file in shown
    ]
    # The ranges get what the other columns leave of the width (at least MIN_RANGES), so that
    # paths stay whole on their rows.
    used = sum(max(len(row[i]) for row in files) + 2 for i in range(len(files[0])))
    limit = min(TERMINAL_RANGES, max(MIN_RANGES, WIDTH - used - len(", ...")))
    files[0] += ("Uncovered lines",)
    files[1:] = [(*row, shortened(file.uncovered, limit)) for row, file in zip(files[1:], shown, strict=True)]
    if len(files) == 1:
        out.append("  none: every service's own tests cover all of its statements.")
    else:
        out += render.columns(files, right=(0, 4), wrap=(1, 3))
    return "\n".join(out)


def markdown(advice: Advice, top: int = DEFAULT_TOP) -> str:
    out = [
        "## Where the next test buys the most",
        "",
        "Impact: statements the service's own tests miss; covering them all adds exactly that many lines.",
        "",
        "| Service | Statements | Missed | Line (own tests) | To reach |",
        "|---|---:|---:|---:|---|",
    ]
    for service in advice.services:
        reach = "; ".join(_target_text(t) for t in service.targets) or "-"
        out.append(
            f"| {render.md_escape(service.name)} | {service.statements} | {service.missed} "
            f"| {render.pct(service.line_pct)} | {render.md_escape(reach)} |"
        )
    components = [s for s in advice.services if s.components]
    if components:
        out += ["", "| Service | Component | Statements | Missed |", "|---|---|---:|---:|"]
        for service in components:
            for name, stmts, missed in service.components:
                out.append(
                    f"| {render.md_escape(service.name)} | {render.md_escape(name)} | {stmts} | {missed} |"
                )
    out += [
        "",
        f"Top {min(top, len(advice.files))} files by impact:",
        "",
        "| Impact | Service | Component | File | Line | Uncovered lines |",
        "|---:|---|---|---|---:|---|",
    ]
    for file in advice.files[:top]:
        out.append(
            f"| {file.missed} | {render.md_escape(file.service)} | {render.md_escape(file.component or '-')} "
            f"| {render.md_escape(file.path)} | {render.pct(file.line_pct)} "
            f"| {render.md_escape(file.uncovered)} |"
        )
    return "\n".join(out) + "\n"
