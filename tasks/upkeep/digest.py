"""The weekly digest of `nox -s maintenance`: one page, in Markdown for the file and the job
summary, in plain text for the terminal. The same content in both; only the writing differs,
and repository text (names, branches, commands, pytest's words) is escaped for each.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..config.manifest import Manifest
from ..errors import plain
from ..report import render
from . import audit
from .findings import Finding
from .maintenance import Expired, Thinned, Tool, Week, movements


@dataclass(frozen=True, kw_only=True)
class Style:
    """How the digest is written: Markdown for the file and the job summary, plain text for a
    terminal. Repository text (names, branches, commands, pytest's words) goes through it."""

    markdown: bool

    def code(self, text: str) -> str:  # a name or label, shown literally
        return render.md_code(text) if self.markdown else plain(text)

    def text(self, text: str) -> str:  # repository text in a sentence or a table cell
        return render.md_escape(text) if self.markdown else plain(text)

    def prose(self, text: str) -> str:  # the kit's sentences, which quote repository text
        return _md_prose(text) if self.markdown else plain(text)

    def strong(self, text: str) -> str:
        return f"**{text}**" if self.markdown else text

    def heading(self, level: int, title: str) -> list[str]:
        return [f"{'#' * level} {title}"] if self.markdown else [title, "=-"[level > 1] * len(title)]

    def table(self, rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
        """The first row is the header; columns in `right` are right-aligned."""
        if not self.markdown:
            return render.columns(rows, right=right)
        align = "|" + "|".join("---:" if i in right else "---" for i in range(len(rows[0]))) + "|"
        lines = [f"| {' | '.join(row)} |" for row in rows]
        return [lines[0], align, *lines[1:]]


MARKDOWN = Style(markdown=True)
PLAIN = Style(markdown=False)
# Mid-line, only these start Markdown markup, HTML or an entity; the digest's sentences never
# begin a line, so `#`, `-` or a number in them is text (escaping those too would litter the file).
_INLINE_MARKUP = re.compile(r"([\\`*_\[\]<>~|]|&(?=#?\w+;))")


def _md_prose(text: str) -> str:
    return _INLINE_MARKUP.sub(r"\\\1", text.replace("\r", " ").replace("\n", " "))


@dataclass(frozen=True, kw_only=True)
class Digest:
    """What one maintenance run did and found: the content of its page."""

    now: datetime.datetime
    removed: Sequence[Expired]
    thinned: Thinned | None
    findings: Sequence[Finding]
    tool_list: Sequence[Tool]
    this_week: Week | None
    core_note: str | None
    dry_run: bool


def digest(manifest: Manifest, page: Digest, style: Style = MARKDOWN) -> str:
    """The week's page, in `style`; names from the repository are escaped for it."""
    lines = style.heading(1, f"Coverage maintenance, week of {page.now.date().isoformat()}")
    lines += ["", *style.heading(2, "Figures this week"), "", *_figures_section(page.this_week, style)]
    lines += ["", *style.heading(2, f"Audit: {_count(page.findings, 'finding')}"), ""]
    lines += _audit_section(page.findings, style)
    lines += ["", *style.heading(2, "Tools"), "", *_tools_section(page.tool_list, page.core_note, style)]
    lines += ["", *style.heading(2, f"Retention ({manifest.maintenance.retention_days} days)"), ""]
    lines += _retention_section(manifest, page.removed, page.thinned, page.dry_run, style)
    return "\n".join(lines) + "\n"


def _figures_section(this_week: Week | None, style: Style) -> list[str]:
    code = style.code  # branch names come from git: user text
    if this_week is None:
        return ["No history yet: record snapshots with nox -s baseline (docs/history.md)."]
    branch = code(this_week.branch)
    if this_week.newest is None:
        return [f"No snapshot of {branch} in the history yet."]
    lines = []
    if this_week.recorded == 0:
        lines += [style.strong(f"No snapshot of {branch} was recorded this week."), ""]
    rows = movements(this_week)
    if not rows or this_week.week_ago is None:
        return [*lines, f"Newest snapshot {code(this_week.newest.label)}; none a week older to compare with."]
    table = [["Scope", "A week ago", "Now", "Change"]]
    table += [[style.text(scope), render.pct(a), render.pct(b), f"{b - a:+.1f}"] for scope, a, b in rows]
    lines += [
        f"Line coverage on {branch}, from {code(this_week.week_ago.label)} to {code(this_week.newest.label)} "
        f"({render.plural(this_week.recorded, 'snapshot')} this week):",
        "",
        *style.table(table, right=(1, 2, 3)),
        "",
    ]
    gains = [row for row in rows if row[2] > row[1]]
    drops = [row for row in rows if row[2] < row[1]]
    gain = f"{style.text(gains[0][0])} ({gains[0][2] - gains[0][1]:+.1f})" if gains else "none"
    drop = f"{style.text(drops[0][0])} ({drops[0][2] - drops[0][1]:+.1f})" if drops else "none"
    return [*lines, f"Biggest gain: {gain}. Biggest drop: {drop}."]  # rows are biggest move first


def _audit_section(findings: Sequence[Finding], style: Style) -> list[str]:
    if not findings:
        return ["Nothing found."]
    if not style.markdown:
        return [line for finding in findings for line in audit.as_text(finding)]
    # `where` holds file names (a code span keeps them literal); the rest is the kit's prose,
    # which quotes repository text (pytest's errors, commands from workflows).
    return [
        f"- **{f.severity}** {style.code(f.where)}: {style.prose(f.what)}. Why: {style.prose(f.why)}. "
        f"Fix: {style.prose(f.fix)}."
        for f in findings
    ]


def _tools_section(tool_list: Sequence[Tool], core_note: str | None, style: Style) -> list[str]:
    rows = [["Tool", "Version", "Used by", "Project pins", ""]]
    for tool in tool_list:
        verdict = "ok" if tool.ok else style.strong("outside the pin")
        pinned = style.code(tool.pinned) if tool.pinned else "-"
        rows.append([tool.name, _versions(tool, style), _used_by(tool), pinned, verdict])
    return style.table(rows) + (["", style.text(core_note)] if core_note else [])


def _versions(tool: Tool, style: Style) -> str:
    # Versions are read from data files (repository text); service names are identifiers.
    def shown(version: str | None) -> str:
        return style.code(version) if version else "not installed"

    if len(tool.versions) == 1:
        return shown(tool.versions[0][0])
    return "; ".join(f"{shown(version)} ({', '.join(services)})" for version, services in tool.versions)


def _used_by(tool: Tool) -> str:
    return f"the runs of {', '.join(tool.measured_in)}" if tool.measured_in else "this session"


def _retention_section(
    manifest: Manifest, removed: Sequence[Expired], thinned: Thinned | None, dry_run: bool, style: Style
) -> list[str]:
    verb = "Would remove" if dry_run else "Removed"
    lines = [] if removed else ["No file older than the retention period."]
    for item in removed:
        lines.append(
            f"- {verb} {item.kind} {style.code(manifest.display(item.path))} ({item.age_days:.0f} days old)"
        )
    if thinned is not None:
        compacted = "" if dry_run else f"; {_kib(thinned.bytes_before)} -> {_kib(thinned.bytes_after)}"
        lines += [
            "",
            f"History: {verb.lower()} {_count(thinned.snapshots, 'snapshot')} beyond the newest "
            f"{manifest.maintenance.keep_snapshots} per branch (baselines kept); {thinned.kept} kept"
            f"{compacted}.",
        ]
    return lines


def _count(items: Sequence[object], noun: str) -> str:
    return render.plural(len(items), noun)


def _kib(size: int) -> str:
    return f"{size / 1024:.0f} KiB"
