"""The gate's verdict as people and tools read it: a terminal table, a JSON file, a Markdown
file (appended to the step summary when GITHUB_STEP_SUMMARY is set; CI's pull-request
comment quotes it) and GitHub annotations (in Actions)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

from ..analyze.analysis import Figures, ServiceFigures
from ..config.manifest import Manifest
from ..errors import plain
from ..measure import datafiles
from ..report import render
from ..text import first_few
from . import comment, gitdiff, policies
from .policies import FAIL, INCOMPLETE, PASS, WARN, Verdict

ANNOTATION_CAP = 10  # GitHub shows only so many per step; the rest are counted
WORST_FILES = 5


@dataclass(frozen=True, kw_only=True)
class GateRun:
    verdict: Verdict
    diff: gitdiff.Diff | None
    services: tuple[ServiceFigures, ...]
    baseline: dict[str, Figures] | None = None  # the base branch's baseline, when one was found
    compared: dict[str, Figures] | None = None  # what was set against it, when not the measured figures
    stale: tuple[str, ...] = ()  # the services judged on stale data (--allow-stale)
    # Per service, the processes of its runs that saved no coverage: figures judged INCOMPLETE.
    unsaved: dict[str, int] = field(default_factory=dict)


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
    lines.append(f"gate: {verdict.status.upper()}{_qualified(run_result)}")
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
        f"## Coverage gate: {verdict.status}{render.md_escape(_qualified(run_result))}",
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


def _qualified(run_result: GateRun) -> str:
    """What the verdict line adds when it judged stale data or incomplete figures: never a
    bare PASS."""
    said = ""
    if run_result.stale:
        said += f" on STALE data ({', '.join(run_result.stale)}: measured on code that has changed since)"
    if run_result.unsaved:
        names = first_few(list(run_result.unsaved), 3)
        said += f" on INCOMPLETE figures ({names}: processes of their runs saved no coverage)"
    return said


def verdict_json(
    verdict: Verdict,
    diff: gitdiff.Diff | None,
    stale: tuple[str, ...] = (),
    unsaved: dict[str, int] | None = None,
) -> dict[str, object]:
    return {
        "status": verdict.status,
        # --allow-stale: the figures judged were measured on code that has changed since.
        "stale": bool(stale),
        "stale_services": list(stale),
        # Per service, processes of its runs that saved no coverage: its figure lacks their lines.
        "incomplete_figures": dict(unsaved or {}),
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
            json.dumps(verdict_json(verdict, run_result.diff, run_result.stale, run_result.unsaved), indent=2)
            + "\n",
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
        on_stale=_qualified(run_result),
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
