"""The terminal masking matrix fits 120 columns for any services (hypothesis): up to 60
services with names of up to 40 characters, the longest the manifest allows. The end-to-end
check at 25 measured services is in test_reports_at_scale_e2e.py."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.report import masking

ROW = re.compile(r"(\S+) +\d+ +\[")  # a row of the summary: name, statements, [own figure]
NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,39}", fullmatch=True)


@st.composite
def matrices(draw: st.DrawFn) -> masking.MaskingMatrix:
    names = tuple(draw(st.lists(NAME, min_size=1, max_size=60, unique_by=str.lower)))
    statements = {name: draw(st.integers(0, 5000)) for name in names}
    covered = {}
    whole = {}
    for row in names:
        cells = [draw(st.integers(0, statements[row])) for _ in names]
        covered.update(zip(((row, column) for column in names), cells, strict=True))
        whole[row] = draw(st.integers(max(cells, default=0), statements[row]))
    return masking.MaskingMatrix(services=names, statements=statements, covered=covered, whole=whole)


def borrowed(matrix: masking.MaskingMatrix, row: str) -> float:
    total = matrix.statements[row]
    return 100.0 * (matrix.whole[row] - matrix.covered[row, row]) / total if total else 0.0


@settings(max_examples=200, deadline=None)
@given(matrices())
def test_terminal__every_line_fits_120_columns_and_a_summary_says_where_the_full_matrix_is(
    matrix: masking.MaskingMatrix,
) -> None:
    text = masking.terminal(matrix)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 120, max(lines, key=len)
    if lines[0] == masking.TITLE:  # the full matrix: every service a row and a column
        assert len(lines) == len(matrix.services) + 4
        assert all(f"{name} tests" in lines[1] for name in matrix.services)
        return
    assert "reports/masking.md" in text and "reports/index.html" in text
    shown = []
    rule = next((index for index, line in enumerate(lines) if line and set(line) == {"-"}), None)
    for line in lines[rule + 1 :] if rule is not None else []:
        match = ROW.match(line)
        if match is None:
            break
        shown.append(match.group(1))
    borrowing = [name for name in matrix.services if borrowed(matrix, name) > masking.BORROWS]
    assert set(shown) <= set(borrowing) and len(shown) == min(len(borrowing), masking.TOP_ROWS)
    figures = [borrowed(matrix, name) for name in shown]
    assert figures == sorted(figures, reverse=True)
    # Nothing the terminal leaves out borrows more than what it shows.
    left_out = [borrowed(matrix, name) for name in borrowing if name not in shown]
    assert max(left_out, default=0) <= min(figures, default=0)
