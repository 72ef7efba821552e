"""The dashboard: one static index.html over every report, readable from disk and offline.

It links coverage.py's HTML for the combined data and for each service, and shows the
per-service table (masking gaps shaded from render.GAP_WARN points, and the services named
from render.GAP_LARGE), the two totals (lines; lines and branches together, as coverage.py's
HTML counts), the masking heat map (heatmap.py), the trend from the history and the
recommendations (long paths wrap). No scripts, no fonts or styles fetched: the page is
complete as written, and every name in it is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import heatmap, render
from .masking import MaskingMatrix
from .recommend import Advice, shortened

TOP_FILES = 10
RANGES = 160  # characters of uncovered ranges per file; recommendations.md has them all


@dataclass(frozen=True, kw_only=True)
class Page:
    title: str
    generated: str  # when, in UTC
    rows: Sequence[render.Row]
    matrix: MaskingMatrix
    advice: Advice
    trend_svg: str | None  # None: no history to draw
    trend_note: str  # what the trend shows, or how to get one
    links: Sequence[tuple[str, str]]  # (relative href, text), each a file that exists
    service_links: dict[str, str]  # service -> relative href of its own HTML report
    badges: dict[str, str]  # scope -> relative href of its badge
    warnings: Sequence[str] = ()  # e.g. data combined with shards missing


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 72rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.bad { color: #b00020; font-weight: bold; } .ok { color: #1b5e20; }
td.gap-warn { background: #fff3cd; color: #6b4a00; }
td.gap-large { background: #f8d7da; color: #8a0018; font-weight: bold; }
.wrap { overflow-wrap: anywhere; word-break: break-word; } .nowrap { white-space: nowrap; }
table.fill { width: 100%; min-width: 48rem; table-layout: fixed; }
.warning { background: #fff3cd; border: 1px solid #e0c060; padding: 0.6rem; }
.note { color: #555; font-size: 0.9rem; }
#totals dt { font-weight: bold; margin-top: 0.4rem; } #totals dd { margin-left: 1.5rem; }
code { font-size: 0.9em; }
"""


_e = render.html_text


GAP_WORDS = {"warn": "notable", "large": "large"}


def _gap_cell(gap: float | None) -> str:
    """The masking gap, coloured from GAP_WARN points and marked with a word, so the colour
    is never the only sign."""
    level = render.gap_level(gap)
    if level is None:
        return f"<td class=num>{render.points(gap)}</td>"
    return f'<td class="num gap-{level}">{render.points(gap)} {GAP_WORDS[level]}</td>'


def _service_table(page: Page) -> list[str]:
    out = [
        '<table id="services">',
        "<tr><th>Service</th><th>Badge</th><th>Statements</th><th>Missed</th><th>Line (own tests)</th>"
        "<th>Branch (own tests)</th><th>Whole-suite line</th><th>Masking gap</th><th>Thresholds</th></tr>",
    ]
    for row in page.rows:
        scope = "total" if row.is_total else row.label
        link = page.service_links.get(row.label)
        both = "coverage.py's page counts lines and branches together: "
        both += render.pct(row.isolated.combined_pct)
        name = f'<a href="{_e(link)}" title="{_e(both)}">{_e(row.label)}</a>' if link else _e(row.label)
        badge = page.badges.get(scope)
        image = f'<img src="{_e(badge)}" alt="{_e(scope)} badge">' if badge else ""
        verdict = render.verdict(row)
        css = "ok" if verdict in ("ok", "-") else "bad"
        out.append(
            f"<tr><td>{name}</td><td>{image}</td><td class=num>{row.isolated.statements}</td>"
            f"<td class=num>{row.isolated.missed}</td><td class=num>{render.pct(row.isolated.line_pct)}</td>"
            f"<td class=num>{render.pct(row.isolated.branch_pct)}</td>"
            f"<td class=num>{render.pct(row.whole.line_pct)}</td>{_gap_cell(row.gap)}"
            f'<td class="{css}">{_e(verdict)}</td></tr>'
        )
    out.append("</table>")
    return out


def _gap_notes(page: Page) -> tuple[list[str], list[str]]:
    """The services whose gaps are large, named above the table; the scale below it."""
    large = [row for row in page.rows if not row.is_total and render.gap_level(row.gap) == "large"]
    out = []
    if large:
        named = "; ".join(
            f"{_e(row.label)} {render.points(row.gap)} (own tests {render.pct(row.isolated.line_pct)}, "
            f"whole suite {render.pct(row.whole.line_pct)})"
            for row in large
        )
        whose = "this service's" if len(large) == 1 else "these services'"
        out.append(
            f'<p class="warning" id="large-gaps">Large masking {"gap" if len(large) == 1 else "gaps"} '
            f"({render.GAP_LARGE:g} points or more): {named}. The whole-suite figure hides how little "
            f"{whose} own tests cover.</p>"
        )
    note = (
        '<p class="note" id="gap-scale">Masking gap: whole-suite line minus own-tests line, in points. '
        f"From {render.GAP_WARN:g} points it is shaded amber (notable), from {render.GAP_LARGE:g} red "
        "(large, and the service is named above the table).</p>"
    )
    return out, [note]


def _totals(page: Page) -> list[str]:
    """The two totals side by side, each saying what it counts."""
    total = next((row for row in page.rows if row.is_total), None)
    if total is None:
        return []
    whole = total.whole
    return [
        '<dl id="totals">',
        f"<dt>Total, lines</dt><dd>{render.pct(whole.line_pct)}: {whole.covered} of "
        f"{render.plural(whole.statements, 'statement')} run by all tests (the whole-suite line figure "
        "in the table, on the total badge and in the gate).</dd>",
        f"<dt>Total, lines and branches together, as coverage.py's HTML counts</dt><dd>"
        f"{render.pct(whole.combined_pct)}: {whole.covered} of {whole.statements} statements and "
        f"{whole.covered_branches} of {whole.branches} {'branch' if whole.branches == 1 else 'branches'} "
        "(its page shows this figure, rounded to a whole percent unless [report] precision says "
        "otherwise).</dd>",
        "</dl>",
    ]


def _path(path: str) -> str:
    """A path escaped, with a break allowed after each slash (and anywhere, by its cell's
    style, in a name longer than the cell)."""
    return "/<wbr>".join(_e(part) for part in path.split("/"))


def _ranges(ranges: str) -> str:
    """Uncovered ranges that wrap between ranges, never inside one ("38-40")."""
    return ", ".join(f"<span class=nowrap>{_e(part)}</span>" for part in ranges.split(", "))


def _recommendations(advice: Advice) -> list[str]:
    out = [
        '<div class="scroll"><table id="recommendations" class="fill">',
        '<colgroup><col style="width: 5.5rem"><col style="width: 9rem"><col style="width: 8rem">'
        '<col><col style="width: 5.5rem"><col style="width: 30%"></colgroup>',
        "<tr><th>Impact</th><th>Service</th><th>Component</th><th>File</th><th>Line</th>"
        "<th>Uncovered lines</th></tr>",
    ]
    for file in advice.files[:TOP_FILES]:
        ranges = shortened(file.uncovered, RANGES)
        title = f' title="{_e(file.uncovered)}"' if ranges != file.uncovered else ""
        out.append(
            f"<tr><td class=num>{file.missed}</td><td class=wrap>{_e(file.service)}</td>"
            f"<td class=wrap>{_e(file.component or '-')}</td>"
            f"<td class=wrap><code>{_path(file.path)}</code></td>"
            f"<td class=num>{render.pct(file.line_pct)}</td>"
            f"<td class=wrap{title}>{_ranges(ranges)}</td></tr>"
        )
    out.append("</table></div>")
    reach = []
    for service in advice.services:
        for target in service.targets:
            if target.lines_needed:
                reach.append(
                    f"<li>{_e(service.name)}: {target.lines_needed} more lines of its own to reach its "
                    f"{_e(target.kind)} of {target.percent:g}%</li>"
                )
    if reach:
        out += ["<ul>", *reach, "</ul>"]
    return out


def page_html(page: Page) -> str:
    warnings = "".join(f'<p class="warning">{_e(text)}</p>' for text in page.warnings)
    links = "".join(f'<li><a href="{_e(href)}">{_e(text)}</a></li>' for href, text in page.links)
    trend = page.trend_svg if page.trend_svg is not None else ""
    large_gaps, gap_scale = _gap_notes(page)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(page.title)}</title><style>{STYLE}{heatmap.STYLE}</style></head><body>",
        f"<h1>{_e(page.title)}</h1>",
        f'<p class="note">Generated {_e(page.generated)}. Each service is measured by its own tests in '
        "their own process; the whole-suite figure counts every service's tests.</p>",
        warnings,
        "<h2>Services</h2>",
        *large_gaps,
        *_service_table(page),
        *gap_scale,
        *_totals(page),
        f"<h2>Reports</h2><ul id=links>{links}</ul>",
        "<h2>Masking heat map</h2>",
        "<p>Share of each service's statements (rows) run by each service's tests (columns), in whole "
        "percents (a cell's tooltip, and masking.md, give it to a tenth). The outlined green diagonal is "
        "the service's own figure; orange off the diagonal is coverage borrowed from other services' "
        "tests, and never drawn stronger than the diagonal.</p>",
        *heatmap.legend(),
        *heatmap.table(page.matrix),
        "<h2>Trend</h2>",
        f'<div id="trend">{trend}</div><p class="note">{_e(page.trend_note)}</p>',
        "<h2>Where the next test buys the most</h2>",
        "<p>Impact: statements the service's own tests miss; covering them adds exactly that many lines.</p>",
        *_recommendations(page.advice),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"
