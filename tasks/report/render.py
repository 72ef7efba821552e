"""Turn per-service figures into text people read: the terminal table and Markdown.

Pure functions of figures in, text out. Markdown escapes every name it did not write.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from ..analyze.analysis import Figures, ServiceFigures, sum_figures
from ..config.manifest import Thresholds
from ..measure import unsaved
from ..text import WIDTH, fold, natural_key


@dataclass(frozen=True, kw_only=True)
class Row:
    """One line of the per-service table (a service, or the total)."""

    label: str
    isolated: Figures
    whole: Figures
    thresholds: Thresholds
    is_total: bool = False
    # A service the combined data holds nothing of (its run failed): no figure, not 0%.
    no_data: bool = False
    # Processes of its run (of the counted services' runs, for the total) that saved no
    # coverage: the figure lacks what they ran, and says INCOMPLETE.
    unsaved: int = 0

    @property
    def gap(self) -> float | None:
        if self.no_data or self.isolated.line_pct is None or self.whole.line_pct is None:
            return None
        return self.whole.line_pct - self.isolated.line_pct


def rows(
    services: Sequence[ServiceFigures],
    thresholds: dict[str, Thresholds],
    total: Thresholds,
    unmeasured: frozenset[str] = frozenset(),
    lacking: Mapping[str, int] | None = None,
) -> list[Row]:
    """Service rows in manifest order, then the total row (thresholds on the total apply
    to the whole-suite figure, which is what a single classic run would report). Services
    in `unmeasured` have no data: shown so, and left out of the total, which says so.
    Services in `lacking` lost processes' data: their rows and the total say INCOMPLETE.
    A manifest that lists its services sorted as text (svc1, svc10, svc100, svc2) meant
    them sorted: they are shown in natural order (svc1, svc2, ..., svc10)."""
    lacking = lacking or {}
    names = [s.name for s in services]
    if names == sorted(names) and names != sorted(names, key=natural_key):
        services = sorted(services, key=lambda s: natural_key(s.name))
    table = [
        Row(
            label=s.name,
            isolated=s.isolated,
            whole=s.whole,
            thresholds=thresholds[s.name],
            no_data=s.name in unmeasured,
            unsaved=lacking.get(s.name, 0),
        )
        for s in services
    ]
    counted = [s for s in services if s.name not in unmeasured]
    lost = sum(lacking.get(s.name, 0) for s in counted)
    isolated_total = sum_figures(s.isolated for s in counted)
    whole_total = sum_figures(s.whole for s in counted)
    label = "Total" if len(counted) == len(services) else f"Total ({len(counted)} of {len(services)})"
    table.append(
        Row(
            label=label,
            isolated=isolated_total,
            whole=whole_total,
            thresholds=total,
            is_total=True,
            unsaved=lost,
        )
    )
    return table


NO_DATA = "no data"


def plural(number: int, noun: str) -> str:
    """ "1 line", "2 lines"."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def points(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}"


# Masking gaps, in points, from which the dashboard colours a gap (amber), and from which it
# also names the service (red) as one whose own tests cover far less than the suite does.
GAP_WARN = 10.0
GAP_LARGE = 25.0


def gap_level(gap: float | None) -> str | None:
    """ "large", "warn", or None for a gap below GAP_WARN points (or none at all)."""
    if gap is None or gap < GAP_WARN:
        return None
    return "large" if gap >= GAP_LARGE else "warn"


def html_text(text: object) -> str:
    """Text for an HTML page or attribute, escaped (file names come from the repository)."""
    return html.escape(str(text), quote=True)


def verdict(row: Row) -> str:
    """'ok', or which floors the row misses (service floors apply to the isolated figure),
    after INCOMPLETE where processes of its runs saved no coverage."""
    if row.no_data:
        return "not measured"
    floors = _floors(row)
    if row.unsaved:
        return unsaved.short(row.unsaved) + ("" if floors == "-" else f"; {floors}")
    return floors


def _floors(row: Row) -> str:
    figures = row.whole if row.is_total else row.isolated
    misses = []
    if row.thresholds.line is not None and figures.line_pct is None:
        misses.append("no statements measured")  # a floor over nothing is a broken setup
    for kind, floor, actual in (
        ("line", row.thresholds.line, figures.line_pct),
        ("branch", row.thresholds.branch, figures.branch_pct),  # no branches: nothing to miss
    ):
        if floor is not None and actual is not None and actual < floor:
            misses.append(f"{kind} < {floor:g}%")
    if row.thresholds.line is None and row.thresholds.branch is None:
        return "-"
    return "below: " + ", ".join(misses) if misses else "ok"


HEADERS = ("Service", "Stmts", "Miss", "Line", "Branch", "Whole-suite", "Gap", "Thresholds")


def terminal_table(table: Sequence[Row]) -> str:
    """Fixed-width table: isolated figures, whole-suite figure, masking gap, verdict."""
    cells = [HEADERS] + [
        (
            row.label,
            str(row.isolated.statements),
            "-" if row.no_data else str(row.isolated.missed),
            NO_DATA if row.no_data else pct(row.isolated.line_pct),
            NO_DATA if row.no_data else pct(row.isolated.branch_pct),
            NO_DATA if row.no_data else pct(row.whole.line_pct),
            points(row.gap),
            verdict(row),
        )
        for row in table
    ]
    # Long service names go on a line of their own, the figures below them (WIDTH).
    header, *body, total = row_lines(cells, right=range(1, len(HEADERS) - 1), wrap=(0,))
    rule = rule_of(cells, (0,), WIDTH, [line for group in (header, *body, total) for line in group])
    return "\n".join([*header, rule, *(line for group in body for line in group), rule, *total])


# Up to this many services, the report ends with a sentence on each one's masking; beyond,
# the masking section above it (the services that borrow most) says it shorter.
SUMMARY_SERVICES = 12


def masking_summary(table: Sequence[Row]) -> str:
    """One sentence per service whose whole-suite figure borrows from other services."""
    lines: list[str] = []
    if len(table) - 1 > SUMMARY_SERVICES:
        return ""
    for row in table[:-1]:
        if row.gap is None:  # no figure, or no data
            continue
        if row.gap > 0.05:
            lines.append(
                f"Masking gap for {row.label}: its own tests cover {pct(row.isolated.line_pct)} "
                "of its lines, "
                f"the whole suite {pct(row.whole.line_pct)}: {row.gap:.1f} points come from other "
                "services' tests."
            )
        else:
            lines.append(f"No masking for {row.label}: its own tests reach {pct(row.isolated.line_pct)}.")
    return fold("\n".join(lines))


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def md_escape(text: str) -> str:
    """Make any text safe in a Markdown table cell: no markup, no HTML, no broken pipes."""
    # Quotes are not markup; escaping them to entities would show "&#x27;" once the
    # entity's "#" is escaped in turn.
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    return escaped.replace("\r", " ").replace("\n", " ")


def md_code(text: str) -> str:
    """Any text as a Markdown code span (outside tables): shown literally, markup and HTML
    inert, with a fence longer than any run of backticks inside."""
    text = text.replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_table(table: Sequence[Row], *, title: str = "Coverage by service") -> str:
    head = (
        "| Service | Statements | Missed | Line (own tests) | Branch (own tests) "
        "| Whole-suite line | Masking gap | Thresholds |"
    )
    align = "|---|---:|---:|---:|---:|---:|---:|---|"
    body = []
    for row in table:
        label = f"**{md_escape(row.label)}**" if row is table[-1] else md_escape(row.label)
        if row.no_data:
            cells = [
                label,
                str(row.isolated.statements),
                "-",
                NO_DATA,
                NO_DATA,
                NO_DATA,
                "n/a",
                "not measured",
            ]
            body.append(f"| {' | '.join(cells)} |")
            continue
        body.append(
            f"| {label} | {row.isolated.statements} | {row.isolated.missed} | {pct(row.isolated.line_pct)} | "
            f"{pct(row.isolated.branch_pct)} | {pct(row.whole.line_pct)} | {points(row.gap)} | "
            f"{md_escape(verdict(row))} |"
        )
    return "\n".join([f"## {title}", "", head, align, *body, ""])


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def columns(
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[int] = (),
    rule: bool = True,
    wrap: Sequence[int] = (),
    width: int = WIDTH,
) -> list[str]:
    """Rows of cells as fixed-width lines: the first row is the header (underlined with
    `rule`), columns in `right` are right-aligned. Colour codes take no width.

    A table wider than `width` narrows the columns in `wrap` (names, paths): a cell longer
    than its narrowed column is written whole, and the rest of its row goes on below, each
    cell under its own header."""
    lines = [line for group in row_lines(rows, right=right, wrap=wrap, width=width) for line in group]
    if rule:
        lines.insert(1, rule_of(rows, wrap, width, lines))
    return lines


def rule_of(rows: Sequence[Sequence[str]], wrap: Sequence[int], width: int, lines: Sequence[str]) -> str:
    """The rule under a table's header: as wide as the table, not as a cell that ran on."""
    widths = _fitted([[_visible(cell) for cell in row] for row in rows], wrap, width)
    return "-" * min(max(_visible(line) for line in lines), sum(widths) + 2 * (len(widths) - 1))


def _visible(cell: str) -> int:
    return len(_ANSI.sub("", cell))


def row_lines(
    rows: Sequence[Sequence[str]], *, right: Sequence[int] = (), wrap: Sequence[int] = (), width: int = WIDTH
) -> list[list[str]]:
    """The lines of each row of `columns` (one, or more where a cell ran on)."""
    widths = _fitted([[_visible(cell) for cell in row] for row in rows], wrap, width)
    starts = [sum(widths[:i]) + 2 * i for i in range(len(widths))]

    def pad(cell: str, index: int) -> str:
        space = " " * max(widths[index] - _visible(cell), 0)
        return space + cell if index in right else cell + space

    grouped = []
    for row in rows:
        lines, line = [], ""
        for index, cell in enumerate(row):
            if index and _visible(line.rstrip()) > starts[index] - 2:  # the cell before ran on
                lines.append(line.rstrip())
                line = ""
            line += " " * (starts[index] - _visible(line)) + pad(cell, index)
        grouped.append([*lines, line.rstrip()])
    return grouped


def _fitted(lengths: Sequence[Sequence[int]], wrap: Sequence[int], width: int) -> list[int]:
    """Column widths: each its longest cell, then, while the table is wider than `width`, the
    widest column of `wrap` narrowed to its next shorter cell (never below its header)."""
    widths = [max(row[i] for row in lengths) for i in range(len(lengths[0]))]
    while sum(widths) + 2 * (len(widths) - 1) > width:
        narrowable = [i for i in wrap if widths[i] > lengths[0][i]]
        if not narrowable:
            break
        index = max(narrowable, key=lambda i: widths[i])
        shorter = [row[index] for row in lengths if row[index] < widths[index]]
        widths[index] = max(max(shorter, default=0), lengths[0][index])
    return widths


def services_json(services: Sequence[ServiceFigures], rows: Sequence[Row]) -> dict[str, object]:
    """services.json: per service its figures, its files' and whether processes of its run
    saved no coverage; and the total."""

    def numbers(figures: Figures) -> dict[str, object]:
        return {**asdict(figures), "line_pct": figures.line_pct, "branch_pct": figures.branch_pct}

    return {
        "services": [
            {
                "name": s.name,
                "isolated": numbers(s.isolated),
                "whole_suite": numbers(s.whole),
                "masking_gap": s.gap,
                # Processes of its run that saved no coverage: the figures above lack their lines.
                "incomplete": row.unsaved > 0,
                "unsaved_processes": row.unsaved,
                "files": [
                    {"path": f.path, "isolated": numbers(f.isolated), "whole_suite": numbers(f.whole)}
                    for f in s.files
                ],
            }
            for s, row in zip(services, rows, strict=False)
        ],
        "total": {"isolated": numbers(rows[-1].isolated), "whole_suite": numbers(rows[-1].whole)},
    }
