"""The masking matrix: which service's tests cover whose code.

Every service's run measures all services' sources under a static context named after
the service, so the combined data already says, for each line, which services' tests ran
it. Row R, column C is the share of R's statements that C's tests cover; the diagonal is
R's isolated figure, and a row whose coverage sits off the diagonal is masked.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from ..analyze.analysis import SharedAnalysis, reported_files, split_context
from ..config.manifest import Manifest
from ..measure import incomplete
from . import render


@dataclass(frozen=True, kw_only=True)
class MaskingMatrix:
    services: tuple[str, ...]  # rows and columns, in manifest order
    statements: dict[str, int]  # row service -> its statements
    covered: dict[tuple[str, str], int]  # (row, column) -> row statements run by column's tests
    whole: dict[str, int]  # row service -> its statements run by any service's tests
    reports: str = "reports"  # where `report` writes the full matrix (masking.md, index.html)
    # Services whose tests did not run (their run failed): their column is no 0%, but n/a.
    unmeasured: frozenset[str] = frozenset()

    def share(self, row: str, column: str) -> float | None:
        total = self.statements[row]
        if column in self.unmeasured:
            return None
        return 100.0 * self.covered[row, column] / total if total else None

    def whole_share(self, row: str) -> float | None:
        total = self.statements[row]
        if row in self.unmeasured:  # its own tests did not run: no figure of all tests
            return None
        return 100.0 * self.whole[row] / total if total else None

    def borrowed(self, row: str) -> float | None:
        """Points of the row's whole-suite figure that only other services' tests reach."""
        total = self.statements[row]
        if row in self.unmeasured:
            return None
        return 100.0 * (self.whole[row] - self.covered[row, row]) / total if total else None


def build(shared: SharedAnalysis, manifest: Manifest) -> MaskingMatrix:
    """One query of the per-line contexts per file, against the statements already parsed
    for the reports."""
    names = manifest.names
    statements = dict.fromkeys(names, 0)
    whole = dict.fromkeys(names, 0)
    covered = {(row, column): 0 for row in names for column in names}
    covered_columns = set(names)
    data = shared.cov.get_data()
    for filename in reported_files(shared.cov):
        owner = manifest.owner((manifest.project_dir / filename).resolve())
        if owner is None:
            continue
        statements_here = shared.analysis(filename).statements
        reporter = shared.file_reporter(filename)
        by_context: dict[str, set[int]] = {}
        for line, contexts in data.contexts_by_lineno(filename).items():
            for context in contexts:
                by_context.setdefault(split_context(context)[0], set()).add(line)
        run_by_any: set[int] = set()
        statements[owner.name] += len(statements_here)
        for context, lines in by_context.items():
            # As coverage.py's own analysis does: a line of a multi-line statement counts
            # for the statement's first line.
            run = reporter.translate_lines(lines) & statements_here
            run_by_any |= run
            if context in covered_columns:
                covered[owner.name, context] += len(run)
        whole[owner.name] += len(run_by_any)
    return MaskingMatrix(
        services=names,
        statements=statements,
        covered=covered,
        whole=whole,
        reports=manifest.display(manifest.reports_dir),
        unmeasured=incomplete.unmeasured_services(manifest),
    )


TITLE = "Masking matrix: share of each service's statements (rows) run by each service's tests (columns)"
NOTE = "The diagonal is each service's own figure; coverage off the diagonal is borrowed."


WIDTH = 120  # terminal columns the printed matrix fits
TOP_ROWS = 10  # rows the summary shows when the full matrix is wider than WIDTH
BORROWS = 0.05  # points: less is rounding, not borrowing


def terminal(matrix: MaskingMatrix, width: int = WIDTH) -> str:
    """The full matrix when it fits `width` columns; otherwise the rows that borrow the most,
    and where the full matrix is."""
    full = _full(matrix)
    if max(len(line) for line in full) <= width:
        return "\n".join([TITLE, *full, NOTE])
    return "\n".join(_summary(matrix, width))


def _full(matrix: MaskingMatrix) -> list[str]:
    header = ["Code of", "Stmts", *(f"{name} tests" for name in matrix.services), "All tests"]
    body = []
    for row in matrix.services:
        cells = [render.pct(matrix.share(row, column)) for column in matrix.services]
        diagonal = matrix.services.index(row)
        cells[diagonal] = f"[{cells[diagonal]}]"
        body.append([row, str(matrix.statements[row]), *cells, render.pct(matrix.whole_share(row))])
    return render.columns([header, *body], right=tuple(range(1, len(header))))


def _summary(matrix: MaskingMatrix, width: int) -> list[str]:
    count = len(matrix.services)
    borrowing = sorted(
        (row for row in matrix.services if (matrix.borrowed(row) or 0.0) > BORROWS),
        key=lambda row: (-(matrix.borrowed(row) or 0.0), matrix.services.index(row)),
    )
    shown, rest = borrowing[:TOP_ROWS], len(borrowing) - TOP_ROWS
    title = (
        f"Masking: the {len(shown)} of {count} services that borrow "
        f"{'most' if rest > 0 else 'their'} coverage from other services' tests"
        if shown
        else f"Masking matrix of {count} services"
    )
    out = _wrapped(title, width)
    if shown:
        header = ["Code of", "Stmts", "Own tests", "All tests", "Borrowed"]
        rows = [
            [
                row,
                str(matrix.statements[row]),
                f"[{render.pct(matrix.share(row, row))}]",
                render.pct(matrix.whole_share(row)),
                render.points(matrix.borrowed(row)),
            ]
            for row in shown
        ]
        fixed = render.columns([header, *rows], right=(1, 2, 3, 4), rule=False)
        room = width - max(len(line) for line in fixed) - 2
        lenders = ["Other services' tests", *(_lenders(matrix, row, room) for row in shown)]
        table = [[*cells, lender] for cells, lender in zip([header, *rows], lenders, strict=True)]
        out += render.columns(table, right=(1, 2, 3, 4))
    else:
        out.append("No service's figure borrows from other services' tests.")
    # The rest in one line, whatever the count: a report at 300 services stays the table and
    # twenty lines.
    counts = []
    if rest > 0:
        most = render.points(max(matrix.borrowed(row) or 0.0 for row in borrowing[TOP_ROWS:]))
        counts.append(
            f"1 more service borrows {most} points."
            if rest == 1
            else f"{rest} more services borrow, none more than {most} points."
        )
    unmasked = count - len(borrowing)
    if shown and unmasked:
        counts.append(
            f"{render.plural(unmasked, 'service')} {'borrows' if unmasked == 1 else 'borrow'} nothing."
        )
    if counts:
        out += _wrapped(" ".join(counts), width)
    out += _wrapped(
        "Own tests (in brackets) is the diagonal; borrowed: all tests minus own tests, in points; "
        "other services' tests: the share of the row's statements each one runs.",
        width,
    )
    out += _wrapped(
        f"Full {count} x {count} matrix: {matrix.reports}/masking.md, {matrix.reports}/index.html "
        "(nox -s report); in Markdown: nox -s masking -- --markdown",
        width,
    )
    return out


def _lenders(matrix: MaskingMatrix, row: str, room: int) -> str:
    """The other services whose tests run most of `row`'s statements, as many as fit `room`."""
    shares = [(column, matrix.share(row, column) or 0.0) for column in matrix.services if column != row]
    entries = [
        f"{column} {render.pct(share)}" for column, share in sorted(shares, key=lambda c: -c[1]) if share
    ]
    for count in range(len(entries), 0, -1):
        left = len(entries) - count
        text = ", ".join(entries[:count]) + (f", +{left} more" if left else "")
        if len(text) <= room:
            return text
    return entries[0][: max(room - 3, 1)] + "..." if entries else "-"


def _wrapped(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def markdown(matrix: MaskingMatrix) -> str:
    columns: Sequence[str] = matrix.services
    head = "| Code of | Statements | " + " | ".join(f"{render.md_escape(c)} tests" for c in columns)
    lines = [
        "## Masking matrix",
        "",
        "Share of each service's statements (rows) run by each service's tests (columns). "
        "The diagonal (bold) is each service's own figure; coverage off the diagonal is borrowed.",
        "",
        head + " | All tests |",
        "|---|---:|" + "---:|" * len(columns) + "---:|",
    ]
    for row in matrix.services:
        cells = [
            f"**{render.pct(matrix.share(row, c))}**" if c == row else render.pct(matrix.share(row, c))
            for c in columns
        ]
        lines.append(
            f"| {render.md_escape(row)} | {matrix.statements[row]} | "
            + " | ".join(cells)
            + f" | {render.pct(matrix.whole_share(row))} |"
        )
    return "\n".join(lines) + "\n"
