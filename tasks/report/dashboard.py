"""The dashboard: one static index.html over every report, readable from disk and offline.

It links coverage.py's HTML for the combined data and for each service, and shows the
per-service table, the masking heat map, the trend from the history and the
recommendations. No scripts, no fonts or styles fetched: the page is complete as written,
and every name in it is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from . import render
from .masking import MaskingMatrix
from .recommend import Advice

TOP_FILES = 10


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
td.diagonal { outline: 2px solid #222; outline-offset: -3px; font-weight: bold; }
.bad { color: #b00020; font-weight: bold; } .ok { color: #1b5e20; }
.warning { background: #fff3cd; border: 1px solid #e0c060; padding: 0.6rem; }
.note { color: #555; font-size: 0.9rem; }
code { font-size: 0.9em; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def heat(share: float | None) -> str:
    """A cell's inline style: white at 0%, strong blue at 100%, text readable on both."""
    if share is None:
        return "background: #eeeeee"
    alpha = share / 100
    text = "#ffffff" if share > 55 else "#222222"
    return f"background: rgba(0, 114, 178, {alpha:.2f}); color: {text}"


def _service_table(page: Page) -> list[str]:
    out = [
        '<table id="services">',
        "<tr><th>Service</th><th>Badge</th><th>Statements</th><th>Missed</th><th>Line (own tests)</th>"
        "<th>Branch (own tests)</th><th>Whole-suite line</th><th>Masking gap</th><th>Thresholds</th></tr>",
    ]
    for row in page.rows:
        scope = "total" if row.is_total else row.label
        link = page.service_links.get(row.label)
        name = f'<a href="{_e(link)}">{_e(row.label)}</a>' if link else _e(row.label)
        badge = page.badges.get(scope)
        image = f'<img src="{_e(badge)}" alt="{_e(scope)} badge">' if badge else ""
        verdict = render.verdict(row)
        css = "ok" if verdict in ("ok", "-") else "bad"
        out.append(
            f"<tr><td>{name}</td><td>{image}</td><td class=num>{row.isolated.statements}</td>"
            f"<td class=num>{row.isolated.missed}</td><td class=num>{render.pct(row.isolated.line_pct)}</td>"
            f"<td class=num>{render.pct(row.isolated.branch_pct)}</td>"
            f"<td class=num>{render.pct(row.whole.line_pct)}</td><td class=num>{render.points(row.gap)}</td>"
            f'<td class="{css}">{_e(verdict)}</td></tr>'
        )
    out.append("</table>")
    return out


def _heat_map(matrix: MaskingMatrix) -> list[str]:
    head = "".join(f"<th>{_e(column)} tests</th>" for column in matrix.services)
    out = [
        '<table id="masking">',
        f"<tr><th>Code of</th><th>Statements</th>{head}<th>All tests</th></tr>",
    ]
    for row in matrix.services:
        cells = []
        for column in matrix.services:
            share = matrix.share(row, column)
            css = "num diagonal" if column == row else "num"
            cells.append(f'<td class="{css}" style="{heat(share)}">{render.pct(share)}</td>')
        whole = matrix.whole_share(row)
        out.append(
            f"<tr><th>{_e(row)}</th><td class=num>{matrix.statements[row]}</td>{''.join(cells)}"
            f'<td class=num style="{heat(whole)}">{render.pct(whole)}</td></tr>'
        )
    out.append("</table>")
    return out


def _recommendations(advice: Advice) -> list[str]:
    out = ['<table id="recommendations">']
    out.append(
        "<tr><th>Impact</th><th>Service</th><th>Component</th><th>File</th><th>Line</th>"
        "<th>Uncovered lines</th></tr>"
    )
    for file in advice.files[:TOP_FILES]:
        out.append(
            f"<tr><td class=num>{file.missed}</td><td>{_e(file.service)}</td>"
            f"<td>{_e(file.component or '-')}</td>"
            f"<td><code>{_e(file.path)}</code></td><td class=num>{render.pct(file.line_pct)}</td>"
            f"<td>{_e(file.uncovered)}</td></tr>"
        )
    out.append("</table>")
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
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(page.title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(page.title)}</h1>",
        f'<p class="note">Generated {_e(page.generated)}. Each service is measured by its own tests in '
        "their own process; the whole-suite figure counts every service's tests.</p>",
        warnings,
        "<h2>Services</h2>",
        *_service_table(page),
        f"<h2>Reports</h2><ul id=links>{links}</ul>",
        "<h2>Masking heat map</h2>",
        "<p>Share of each service's statements (rows) run by each service's tests (columns). The outlined "
        "diagonal is the service's own figure; colour off the diagonal is coverage borrowed from other "
        "services' tests.</p>",
        *_heat_map(page.matrix),
        "<h2>Trend</h2>",
        f'<div id="trend">{trend}</div><p class="note">{_e(page.trend_note)}</p>',
        "<h2>Where the next test buys the most</h2>",
        "<p>Impact: statements the service's own tests miss; covering them adds exactly that many lines.</p>",
        *_recommendations(page.advice),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"
