"""`gate`: evaluate every policy in one pass over the combined data and say why it fails.

The edge of the policy engine: reads the combined data (each file analysed once), takes
the diff from git, and writes the verdict as a terminal table, a JSON file, a Markdown
file (appended to the step summary when GITHUB_STEP_SUMMARY is set; CI's pull-request
comment quotes it) and GitHub annotations (in Actions).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TextIO

from coverage.exceptions import CoverageException

from ..analyze.analysis import Figures, ServiceFigures, SharedAnalysis, context_pattern
from ..analyze.combined import combined_figures, fresh_combined, open_coverage
from ..config.manifest import Manifest
from ..errors import DataError, plain
from ..measure import datafiles, freshness, incomplete, provenance
from ..report import render
from . import comment, gitdiff, noisy, policies
from .policies import FAIL, INCOMPLETE, PASS, WARN, ChangedFile, Verdict

ANNOTATION_CAP = 10  # GitHub shows only so many per step; the rest are counted
WORST_FILES = 5


FIGURE_POLICIES = ("total", "service", "file", "regression")  # those that need every file's figures


@dataclass(frozen=True, kw_only=True)
class GateRun:
    verdict: Verdict
    diff: gitdiff.Diff | None
    services: tuple[ServiceFigures, ...]
    baseline: dict[str, Figures] | None = None  # the base branch's baseline, when one was found
    compared: dict[str, Figures] | None = None  # what was set against it, when not the measured figures
    stale: tuple[str, ...] = ()  # the services judged on stale data (--allow-stale)


def changed_files(
    manifest: Manifest, shared: SharedAnalysis, diff: gitdiff.Diff
) -> tuple[list[ChangedFile], list[str]]:
    """The diff seen through coverage: per owned source file, its changed statements and
    which of them the owner's own tests cover; plus changed Python files nobody owns."""
    changed: list[ChangedFile] = []
    unowned: list[str] = []
    nobodys = manifest.owned_by_nobody()
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
        elif change.added:
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
    if any(policies.active_mode(manifest, p, selected) for p in FIGURE_POLICIES):
        shared, services, stale = combined_figures(manifest, allow_stale=allow_stale)
        # A service with no data has no figure to judge (not 0%): the rest are judged, and
        # the total is theirs, as the report's is; the notice says who is left out.
        unmeasured = incomplete.unmeasured_services(manifest)
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
            incomplete.warning(missing, manifest.display(manifest.reports_dir / "summary.md")),
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
        verdict = _incomplete(verdict, manifest)
    return GateRun(
        verdict=verdict,
        diff=diff,
        services=services,
        baseline=baseline,
        compared=compared,
        stale=tuple(stale),
    )


def _incomplete(verdict: Verdict, manifest: Manifest) -> Verdict:
    """Data combined without some services: no check may pass on it. Failing checks still
    fail; the others are INCOMPLETE, and so is the gate (a failure), with a note saying why,
    and a check of its own, so that a gate with no other check fails too."""
    checks = tuple(c if c.status == FAIL else replace(c, status=INCOMPLETE) for c in verdict.checks)
    count = len(manifest.names)
    measured = count - len(incomplete.unmeasured_services(manifest) & set(manifest.names))
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


# -- output -----------------------------------------------------------------------------


# Passing service checks past this many fold into one row, as passing file checks always do.
SHOWN_PASSING_SERVICES = 12


def _rows(verdict: Verdict) -> list[tuple[str, str, str, str, str, str]]:
    """Table rows: every check, except passing per-file checks, which fold into one row, and
    passing per-service checks when there are many."""
    rows = []
    passing_files = [c for c in verdict.checks if c.policy == "file" and c.status == PASS]
    passing_services = [c for c in verdict.checks if c.policy == "service" and c.status == PASS]
    folded = {"file"} | ({"service"} if len(passing_services) > SHOWN_PASSING_SERVICES else set())
    for check in verdict.checks:
        if check.policy in folded and check.status == PASS:
            continue
        if check.baseline is not None:  # regression: the delta matters more than the floor
            target = f"baseline {render.pct(check.baseline)}"
            actual = f"{render.pct(check.actual)} ({render.points(check.delta)})"
        else:
            target, actual = f"{check.target:g}%", render.pct(check.actual)
        rows.append((check.policy, check.scope, check.metric, target, actual, check.status))
    if "service" in folded:
        checked = len({c.scope for c in passing_services})
        rows.append(("service", f"{checked} other services", "floors", "floors", "at or above", PASS))
    if passing_files:
        rows.append(("file", f"{len(passing_files)} other files", "line", "floors", "at or above", PASS))
    return rows


def terminal(run_result: GateRun, manifest: Manifest) -> str:
    verdict = run_result.verdict
    header = ("Policy", "Scope", "Metric", "Target", "Actual", "Status")
    rows = [(policy, plain(scope), *rest) for policy, scope, *rest in _rows(verdict)]
    lines = render.columns([header, *rows], wrap=(1,))
    lines += ["", *details(run_result, markdown=False)]
    lines.append(f"gate: {verdict.status.upper()}{_on_stale(run_result.stale)}")
    return "\n".join(lines)


def details(run_result: GateRun, *, markdown: bool) -> list[str]:
    """What a reviewer acts on: worst files of failing services, uncovered changed ranges."""
    verdict = run_result.verdict

    def name(text: str) -> str:
        return render.md_escape(text) if markdown else plain(text)

    bullet = "- " if markdown else "  "
    out: list[str] = []
    failing_services = {c.scope for c in verdict.failing("service")}
    for service in run_result.services:
        if service.name not in failing_services:
            continue
        out.append(f"Worst files of {name(service.name)} (most statements its own tests miss):")
        worst = sorted(service.files, key=lambda f: (-f.isolated.missed, f.path))[:WORST_FILES]
        for worst_file in worst:
            figures = worst_file.isolated
            out.append(
                f"{bullet}{name(worst_file.path)}: {figures.missed} missed, {render.pct(figures.line_pct)}"
            )
    failing_files = verdict.failing("file")
    if failing_files:
        out.append("Files below their floor:")
        for check in sorted(failing_files, key=lambda c: c.actual or 0.0)[: WORST_FILES * 2]:
            out.append(f"{bullet}{name(check.scope)}: {render.pct(check.actual)} < {check.target:g}%")
    uncovered = [f for f in verdict.changed if f.uncovered]
    if uncovered:
        out.append("Changed lines not covered by their service's own tests:")
        for file in uncovered:
            runs = policies.format_ranges(file.uncovered_ranges)
            out.append(f"{bullet}{name(file.service)}: {name(file.path)}: lines {runs}")
    if verdict.unowned:
        out.append(
            "Changed Python files that no service owns (not measured; add them to a service's source):"
        )
        out += [f"{bullet}{name(path)}" for path in verdict.unowned]
    if verdict.notes:
        # A paragraph of its own, not a list item.
        out += [*([""] if out else []), *(name(note) for note in verdict.notes)]
    if out:
        out.append("")
    return out


def markdown(run_result: GateRun, manifest: Manifest) -> str:
    verdict = run_result.verdict
    icon = {PASS: "pass", WARN: "warn", FAIL: "**fail**", INCOMPLETE: "**incomplete**"}
    lines = [
        f"## Coverage gate: {verdict.status}{render.md_escape(_on_stale(run_result.stale))}",
        "",
        "| Policy | Scope | Metric | Target | Actual | Status |",
        "|---|---|---|---:|---:|---|",
    ]
    for policy, scope, metric, target, actual, status in _rows(verdict):
        lines.append(
            f"| {policy} | {render.md_escape(scope)} | {metric} | {target} | {actual} "
            f"| {icon.get(status, status)} |"
        )
    lines.append("")
    lines += details(run_result, markdown=True)
    return "\n".join(lines) + "\n"


def github_annotations(verdict: Verdict, diff: gitdiff.Diff | None, manifest: Manifest) -> list[str]:
    """GitHub workflow commands for uncovered changed ranges, capped, with a count of the rest."""
    out = []
    for file in verdict.changed:
        relevant = [
            c for c in verdict.failing("changed") if c.scope in (f"changed:{file.service}", "changed:all")
        ]
        if not relevant:
            continue
        level = "error" if any(c.status == FAIL for c in relevant) else "warning"
        path = _repo_path(manifest, diff, file.path)
        for start, end in file.uncovered_ranges:
            message = (
                f"{file.service}: changed lines {start}-{end} are not covered by {file.service}'s own tests"
            )
            out.append(
                f"::{level} file={_escape_property(path)},line={start},endLine={end},"
                f"title={_escape_property('Uncovered changed lines')}::{_escape_data(message)}"
            )
    if len(out) > ANNOTATION_CAP:
        rest = len(out) - ANNOTATION_CAP
        more = f"::notice::{rest} more uncovered changed ranges; see the gate's summary."
        out = [*out[:ANNOTATION_CAP], more]
    return out


def _repo_path(manifest: Manifest, diff: gitdiff.Diff | None, path: str) -> str:
    absolute = (manifest.project_dir / path).resolve()
    if diff is not None:
        try:
            return absolute.relative_to(diff.toplevel).as_posix()
        except ValueError:
            pass
    return path


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _on_stale(stale: tuple[str, ...]) -> str:
    """What the verdict line adds when it judged stale data: never a bare PASS."""
    return f" on STALE data ({', '.join(stale)}: measured on code that has changed since)" if stale else ""


def verdict_json(
    verdict: Verdict, diff: gitdiff.Diff | None, stale: tuple[str, ...] = ()
) -> dict[str, object]:
    return {
        "status": verdict.status,
        # --allow-stale: the figures judged were measured on code that has changed since.
        "stale": bool(stale),
        "stale_services": list(stale),
        "base": diff.base if diff else None,
        "merge_base": diff.merge_base if diff else None,
        "checks": [asdict(check) for check in verdict.checks],
        "changed_files": [asdict(file) for file in verdict.changed],
        "unowned_files": list(verdict.unowned),
        "notes": list(verdict.notes),
    }


def report_link(environ: dict[str, str]) -> str:
    """Where the full report is: the Actions run (its artifact) on CI, else the dashboard
    beside the comment file."""
    parts = [environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if all(parts):
        server, repository, run_id = parts
        return f"{server}/{repository}/actions/runs/{run_id}"
    return "index.html"


def write_outputs(
    run_result: GateRun,
    manifest: Manifest,
    out: TextIO,
    environ: dict[str, str] | None = None,
    link: str | None = None,
) -> Path:
    environ = dict(os.environ) if environ is None else environ
    verdict = run_result.verdict
    print(terminal(run_result, manifest), file=out)
    target = manifest.reports_dir / "gate.json"
    with datafiles.atomic_path(target) as temporary:
        temporary.write_text(
            json.dumps(verdict_json(verdict, run_result.diff, run_result.stale), indent=2) + "\n",
            encoding="utf-8",
        )
    text = markdown(run_result, manifest)
    with datafiles.atomic_path(manifest.reports_dir / "gate.md") as temporary:
        temporary.write_text(text, encoding="utf-8")
    body = comment.build(
        run_result.services,
        verdict,
        run_result.baseline,
        link or report_link(environ),
        details=details(run_result, markdown=True),
        compared=run_result.compared,
        on_stale=_on_stale(run_result.stale),
    )
    with datafiles.atomic_path(manifest.reports_dir / "comment.md") as temporary:
        temporary.write_text(body, encoding="utf-8")
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(text)
    if environ.get("GITHUB_ACTIONS") == "true":
        for line in github_annotations(verdict, run_result.diff, manifest):
            print(line, file=out)
    return target
