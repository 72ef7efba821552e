"""`gate`: evaluate every policy in one pass over the combined data and say why it fails.

The edge of the policy engine: reads the combined data (each file analysed once) and takes
the diff from git; verdict.py writes what it decided."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from coverage.exceptions import CoverageException

from ..analyze.analysis import Figures, SharedAnalysis, context_pattern, reported_by
from ..analyze.combined import combined_figures, fresh_combined, open_coverage
from ..config.manifest import TOTAL, Manifest
from ..errors import DataError
from ..measure import datafiles, freshness, incomplete, provenance
from ..report import render
from . import gitdiff, noisy, policies
from .policies import FAIL, INCOMPLETE, WARN, ChangedFile, Verdict
from .verdict import GateRun

FIGURE_POLICIES = ("total", "service", "file", "regression")  # those that need every file's figures


def changed_files(
    manifest: Manifest, shared: SharedAnalysis, diff: gitdiff.Diff
) -> tuple[list[ChangedFile], list[str]]:
    """The diff seen through coverage: per owned source file, its changed statements and
    which of them the owner's own tests cover; plus changed Python files nobody owns."""
    changed: list[ChangedFile] = []
    unowned: list[str] = []
    nobodys = manifest.owned_by_nobody()
    shown = reported_by(shared.cov)  # a file the reports leave out (omit) is not judged either
    owned = []
    for change in diff.files:
        absolute = (diff.toplevel / change.path).resolve()
        if change.binary or absolute.suffix != ".py":
            continue
        owner = manifest.owner(absolute)
        try:
            relative = absolute.relative_to(manifest.project_dir).as_posix()
        except ValueError:
            relative = change.path
        if owner is None:
            if not absolute.is_relative_to(manifest.root) or any(absolute.is_relative_to(f) for f in nobodys):
                continue
            unowned.append(relative)
        elif change.added and shown(relative):
            owned.append((change, absolute, relative, owner))
    shared.prepare(relative for _, _, relative, _ in owned)
    for change, absolute, relative, owner in owned:
        try:
            analysis = shared.analysis(relative, (context_pattern(owner.name),))
        except CoverageException as exc:
            raise DataError(f"{relative}: cannot analyse this changed file: {exc}") from None
        noisy_lines = noisy.lines_of(manifest, absolute, change.added & analysis.statements)
        lines = sorted(change.added & analysis.statements - noisy_lines)
        uncovered = tuple(line for line in lines if line in analysis.missing)
        stats = {
            line: counts
            for line, counts in analysis.branch_stats().items()
            if line in change.added and line not in noisy_lines
        }
        changed.append(
            ChangedFile(
                path=relative,
                service=owner.name,
                lines=tuple(lines),
                uncovered=uncovered,
                uncovered_ranges=policies.ranges(uncovered, analysis.statements, change.added),
                branches=sum(total for total, _ in stats.values()),
                covered_branches=sum(taken for _, taken in stats.values()),
                noisy=len(noisy_lines),
            )
        )
    return changed, unowned


# The base branch's baseline figures (or None), and a note saying what they are or why none.
# The history is a later stage, so whoever calls run() (the command line) reads it.
BaselineLookup = Callable[[Manifest, str], tuple[dict[str, Figures] | None, str]]


def run(
    manifest: Manifest,
    *,
    base: str | None,
    staged: bool,
    only: Iterable[str] | None,
    baseline_of: BaselineLookup,
    include_untracked: bool = True,
    allow_stale: bool = False,
    allow_missing: bool = False,
) -> GateRun:
    selected = set(only) if only is not None else None
    unmeasured = incomplete.unmeasured_services(manifest)
    if any(policies.active_mode(manifest, p, selected) for p in FIGURE_POLICIES):
        shared, services, stale = combined_figures(manifest, allow_stale=allow_stale)
        # A service with no data has no figure to judge (not 0%): the rest are judged, and
        # the total is theirs, as the report's is; the notice says who is left out.
        services = tuple(s for s in services if s.name not in unmeasured)
    else:
        # The changed-line policy alone reads only the files in the diff: nothing else is
        # parsed or analysed, and there is no per-service table to show.
        data_file, stale = fresh_combined(manifest, allow_stale=allow_stale)
        _, shared = open_coverage(manifest, data_file)
        services = ()
    base_ref = base or manifest.gate.base
    diff = None
    changed: list[ChangedFile] | None = None
    unowned: list[str] = []
    if policies.active_mode(manifest, "changed", selected):
        diff = gitdiff.changed_lines(
            manifest.project_dir, base_ref, staged=staged, include_untracked=include_untracked
        )
        changed, unowned = changed_files(manifest, shared, diff)
        shared.save_cache()
    baseline: dict[str, Figures] | None = None
    missing = incomplete.missing_inputs(manifest)
    notes = [
        " ".join(line.strip() for line in warning)
        for warning in (
            freshness.stale_warning(manifest, stale),
            incomplete.warning(manifest, missing),
            provenance.note(
                provenance.recorded(datafiles.combined_file(manifest)),
                provenance.head(manifest.project_dir),
                stale=stale,
            ),
        )
    ]
    notes = [note for note in notes if note]
    compared: dict[str, Figures] | None = None
    forgiven = 0
    if policies.active_mode(manifest, "regression", selected):
        baseline, note = baseline_of(manifest, base_ref)
        notes.append(note)
        if baseline is not None and manifest.gate.noisy:
            adjusted = noisy.adjusted_headline(manifest, shared, services)
            compared, forgiven = adjusted.headline, adjusted.lines
    if manifest.gate.noisy:
        left_out = sum(file.noisy for file in changed or ())
        notes.append(
            f"Noisy lines (gate.noisy): {render.plural(left_out, 'line')} left out of the changed-line "
            f"policy, {render.plural(forgiven, 'line')} this run missed counted as covered by the "
            "regression policy."
        )
    verdict = policies.evaluate(
        manifest, services, changed, unowned, selected, baseline=baseline, notes=notes, compared=compared
    )
    if missing and not allow_missing:
        verdict = _incomplete(verdict, manifest, unmeasured)
    lacking = incomplete.unsaved_processes(manifest)
    verdict = _drops_not_judged(verdict, lacking)
    return GateRun(
        verdict=verdict,
        diff=diff,
        services=services,
        baseline=baseline,
        compared=compared,
        stale=tuple(stale),
        unsaved=lacking,
    )


def _drops_not_judged(verdict: Verdict, lacking: dict[str, int]) -> Verdict:
    """A figure short of what processes that saved nothing ran (and the total holding it)
    may fall for that alone: the regression policy warns of its drop, never fails on it."""
    if not lacking:
        return verdict
    scopes = {*lacking, TOTAL}
    checks = tuple(
        replace(c, status=WARN) if c.policy == "regression" and c.scope in scopes and c.status == FAIL else c
        for c in verdict.checks
    )
    return replace(verdict, checks=checks)


def _incomplete(verdict: Verdict, manifest: Manifest, unmeasured: frozenset[str]) -> Verdict:
    """Data combined without some services: no check may pass on it. Failing checks still
    fail; the others are INCOMPLETE, and so is the gate (a failure), with a note saying why,
    and a check of its own, so that a gate with no other check fails too."""
    checks = tuple(c if c.status == FAIL else replace(c, status=INCOMPLETE) for c in verdict.checks)
    count = len(manifest.names)
    measured = count - len(unmeasured & set(manifest.names))
    whole = policies.Check(
        policy="complete",
        scope="combined data",
        metric="services",
        target=100.0,
        actual=100.0 * measured / count if count else None,
        status=INCOMPLETE,
        covered=measured,
        total=count,
    )
    checks = (*checks, whole)
    note = (
        "INCOMPLETE: the combined data lacks some services (combine --allow-missing), so no check "
        "can pass on it. Measure what is missing and combine again, or judge the rest with "
        "gate --allow-missing."
    )
    return replace(verdict, checks=checks, notes=(*verdict.notes, note))
