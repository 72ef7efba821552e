"""The pull-request comment: what a reviewer needs on one screen, within GitHub's limit.

The per-service table (own-tests figures, the masking gap, the change against the base
branch's baseline, the change's own lines), the checks that failed, the uncovered
changed lines, and a link to the full report. GitHub refuses a comment over 65,536
characters; a long list is cut at a line, saying how much was left out, never mid-table.
Every name is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..analyze.analysis import Figures, ServiceFigures, headline_figures, sum_figures
from ..config.manifest import TOTAL
from ..report import render
from .policies import FAIL, ChangedFile, Verdict

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
    services: Sequence[ServiceFigures],
    verdict: Verdict,
    baseline: Mapping[str, Figures] | None,
    compared: Mapping[str, Figures] | None = None,
) -> list[str]:
    """The per-service table; `compared` are the figures the regression policy set against
    the baseline (noisy lines forgiven), when they differ from the measured ones."""
    headline = dict(compared) if compared is not None else headline_figures(services)
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
    whole = sum_figures(s.whole for s in services)
    gap = None if isolated.line_pct is None or whole.line_pct is None else whole.line_pct - isolated.line_pct
    out.append(
        f"| **Total** | {render.pct(isolated.line_pct)} | {render.pct(isolated.branch_pct)} "
        f"| {render.pct(whole.line_pct)} | {render.points(gap)} | {_delta(headline[TOTAL], baseline, TOTAL)} "
        f"| {_changed(verdict.changed)} |"
    )
    return out


def build(
    services: Sequence[ServiceFigures],
    verdict: Verdict,
    baseline: Mapping[str, Figures] | None,
    link: str,
    *,
    details: Sequence[str] = (),
    compared: Mapping[str, Figures] | None = None,
    limit: int = GITHUB_LIMIT,
    on_stale: str = "",
) -> str:
    """The comment's Markdown, at most `limit` characters. `details` are the gate's own
    Markdown details (worst files, uncovered changed lines, unowned files, notes); `on_stale`
    what the heading adds when the verdict judged stale data."""
    status = ("**fail**" if verdict.status == FAIL else verdict.status) + render.md_escape(on_stale)
    head = [MARKER, f"## Coverage: {status}", ""]
    body = [
        *table(services, verdict, baseline, compared),
        "",
        "*vs baseline*: the change in points of the figure the gate judges (own tests for a service, "
        "the whole suite for the total) against the base branch's baseline.",
        "",
    ]
    lines: list[str] = []
    failing = verdict.failing()
    if failing:
        lines.append("Checks that did not pass:")
        for check in failing:
            if check.baseline is not None:
                target = f"baseline {render.pct(check.baseline)}"
            else:
                target = f"{check.target:g}%"
            lines.append(
                f"- {check.status}: {check.policy} {render.md_escape(check.scope)} {check.metric}: "
                f"{render.pct(check.actual)} (target {target})"
            )
        lines.append("")
    lines += details
    while lines and not lines[-1]:
        lines.pop()
    tail = ["", f"[Full report]({_url(link)})", ""]
    if len("\n".join(head + body + tail)) > limit:
        # More services than a comment holds: the link is all that fits.
        body = ["The per-service table is too long for a comment; see the full report.", ""]
        lines = []
    return _fit(head + body, lines, tail, limit)


def _url(link: str) -> str:
    """A link target that cannot break out of the Markdown link."""
    for raw, encoded in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E")):
        link = link.replace(raw, encoded)
    return link.replace("\n", "").replace("\r", "")


def _fit(head: list[str], details: list[str], tail: list[str], limit: int) -> str:
    """head + as many detail lines as fit + tail; a line saying what was cut when some were,
    never longer than `limit`."""
    used = len("\n".join(head + tail)) + 1
    kept: list[str] = []
    for number, line in enumerate(details):
        left = len(details) - number
        cut_note = (
            f"... {render.plural(left, 'more line')} cut to fit GitHub's comment limit; see the full report."
        )
        # Room for this line, and for the cut note in case a later line does not fit.
        reserve = len(cut_note) + 1 if left > 1 else 0
        if used + len(line) + 1 + reserve > limit:
            if used + len(cut_note) + 1 <= limit:
                kept.append(cut_note)
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(head + kept + tail)
