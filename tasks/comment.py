"""The pull-request comment: what a reviewer needs on one screen, within GitHub's limit.

The per-service table (own-tests figures, the masking gap, the change against the base
branch's baseline, the change's own lines), the checks that failed, the uncovered
changed lines, and a link to the full report. GitHub refuses a comment over 65,536
characters; a long list is cut at a line, saying how much was left out, never mid-table.
Every name is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tasks import render
from tasks.analysis import Figures, ServiceFigures, headline_figures, sum_figures
from tasks.manifest import TOTAL
from tasks.policies import FAIL, ChangedFile, Verdict, format_ranges

MARKER = "<!-- coverage-workflows -->"  # how CI finds its own comment to update it
GITHUB_LIMIT = 65_536


def _changed(files: Sequence[ChangedFile]) -> str:
    lines = sum(len(f.lines) for f in files)
    if not lines:
        return "-"
    covered = lines - sum(len(f.uncovered) for f in files)
    return f"{covered} of {lines} ({render.pct(100.0 * covered / lines)})"


def _delta(now: Figures, before: Mapping[str, Figures] | None, scope: str) -> str:
    old = before.get(scope) if before else None
    if old is None or now.line_pct is None or old.line_pct is None:
        return "-"
    return render.points(now.line_pct - old.line_pct)


def table(
    services: Sequence[ServiceFigures], verdict: Verdict, baseline: Mapping[str, Figures] | None
) -> list[str]:
    headline = headline_figures(services)
    out = [
        "| Service | Line (own tests) | Branch (own tests) | Whole-suite line | Masking gap "
        "| vs baseline | Changed lines (own tests) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for service in services:
        changed = [f for f in verdict.changed if f.service == service.name]
        out.append(
            f"| {render.md_escape(service.name)} | {render.pct(service.isolated.line_pct)} "
            f"| {render.pct(service.isolated.branch_pct)} | {render.pct(service.whole.line_pct)} "
            f"| {render.points(service.gap)} | {_delta(headline[service.name], baseline, service.name)} "
            f"| {_changed(changed)} |"
        )
    isolated = sum_figures(s.isolated for s in services)
    whole = headline[TOTAL]
    gap = None if isolated.line_pct is None or whole.line_pct is None else whole.line_pct - isolated.line_pct
    out.append(
        f"| **Total** | {render.pct(isolated.line_pct)} | {render.pct(isolated.branch_pct)} "
        f"| {render.pct(whole.line_pct)} | {render.points(gap)} | {_delta(whole, baseline, TOTAL)} "
        f"| {_changed(verdict.changed)} |"
    )
    return out


def build(
    services: Sequence[ServiceFigures],
    verdict: Verdict,
    baseline: Mapping[str, Figures] | None,
    link: str,
    limit: int = GITHUB_LIMIT,
) -> str:
    """The comment's Markdown, at most `limit` characters."""
    status = "**fail**" if verdict.status == FAIL else verdict.status
    head = [
        MARKER,
        f"## Coverage: {status}",
        "",
        *table(services, verdict, baseline),
        "",
        "*vs baseline*: the change in points of the figure the gate judges (own tests for a service, "
        "the whole suite for the total) against the base branch's baseline.",
        "",
    ]
    failing = verdict.failing()
    details: list[str] = []
    if failing:
        details.append("Checks that did not pass:")
        for check in failing:
            if check.baseline is not None:
                target = f"baseline {render.pct(check.baseline)}"
            else:
                target = f"{check.target:g}%"
            details.append(
                f"- {check.status}: {check.policy} {render.md_escape(check.scope)} {check.metric}: "
                f"{render.pct(check.actual)} (target {target})"
            )
    uncovered = [f for f in verdict.changed if f.uncovered]
    if uncovered:
        details.append("")
        details.append("Changed lines not covered by their service's own tests:")
        for file in uncovered:
            details.append(
                f"- {render.md_escape(file.service)}: {render.md_escape(file.path)}: "
                f"lines {format_ranges(file.uncovered_ranges)}"
            )
    if verdict.unowned:
        details.append("")
        details.append("Changed Python files no service owns:")
        details += [f"- {render.md_escape(path)}" for path in verdict.unowned]
    if verdict.notes:
        details += ["", *(render.md_escape(note) for note in verdict.notes)]
    while details and not details[0]:
        details.pop(0)
    tail = ["", f"[Full report]({_url(link)})", ""]
    return _fit(head, details, tail, limit)


def _url(link: str) -> str:
    """A link target that cannot break out of the Markdown link."""
    return link.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C")


def _fit(head: list[str], details: list[str], tail: list[str], limit: int) -> str:
    """head + as many detail lines as fit + tail; a line saying what was cut when some were."""
    fixed = "\n".join(head + tail)
    kept: list[str] = []
    used = len(fixed) + 1
    for number, line in enumerate(details):
        left = len(details) - number
        cut_note = f"... {left} more lines cut to fit GitHub's comment limit; see the full report."
        # Room for this line, and for the cut note in case a later line does not fit.
        reserve = len(cut_note) + 1 if left > 1 else 0
        if used + len(line) + 1 + reserve > limit:
            kept.append(cut_note)
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(head + kept + tail)
