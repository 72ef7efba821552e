"""The masking matrix: which service's tests cover whose code.

Every service's run measures all services' sources under a static context named after
the service, so the combined data already says, for each line, which services' tests ran
it. Row R, column C is the share of R's statements that C's tests cover; the diagonal is
R's isolated figure, and a row whose coverage sits off the diagonal is masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..analyze.analysis import SharedAnalysis, split_context
from ..config.manifest import Manifest
from . import render


@dataclass(frozen=True, kw_only=True)
class MaskingMatrix:
    services: tuple[str, ...]  # rows and columns, in manifest order
    statements: dict[str, int]  # row service -> its statements
    covered: dict[tuple[str, str], int]  # (row, column) -> row statements run by column's tests
    whole: dict[str, int]  # row service -> its statements run by any service's tests

    def share(self, row: str, column: str) -> float | None:
        total = self.statements[row]
        return 100.0 * self.covered[row, column] / total if total else None

    def whole_share(self, row: str) -> float | None:
        total = self.statements[row]
        return 100.0 * self.whole[row] / total if total else None


def build(shared: SharedAnalysis, manifest: Manifest) -> MaskingMatrix:
    """One query of the per-line contexts per file, against the statements already parsed
    for the reports."""
    names = manifest.names
    statements = dict.fromkeys(names, 0)
    whole = dict.fromkeys(names, 0)
    covered = {(row, column): 0 for row in names for column in names}
    covered_columns = set(names)
    data = shared.cov.get_data()
    for filename in sorted(data.measured_files()):
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
    return MaskingMatrix(services=names, statements=statements, covered=covered, whole=whole)


TITLE = "Masking matrix: share of each service's statements (rows) run by each service's tests (columns)"
NOTE = "The diagonal is each service's own figure; coverage off the diagonal is borrowed."


def terminal(matrix: MaskingMatrix) -> str:
    header = ["Code of", "Stmts", *(f"{name} tests" for name in matrix.services), "All tests"]
    body = []
    for row in matrix.services:
        cells = [render.pct(matrix.share(row, column)) for column in matrix.services]
        diagonal = matrix.services.index(row)
        cells[diagonal] = f"[{cells[diagonal]}]"
        body.append([row, str(matrix.statements[row]), *cells, render.pct(matrix.whole_share(row))])
    right = tuple(range(1, len(header)))
    return "\n".join([TITLE, *render.columns([header, *body], right=right), NOTE])


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
