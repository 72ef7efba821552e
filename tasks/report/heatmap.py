"""The dashboard's masking heat map: the full matrix as an HTML table, with its legend.

Three colour scales, so the diagonal stands out whatever the figures: green for a service's
own tests (the outlined diagonal), orange for other services' tests (borrowed), blue for all
tests together. The borrowed scale ends below where the own scale starts, so no borrowed cell is
drawn stronger than a diagonal one. Cells show whole percents, to fit 25 and more services on
a screen; each cell's title has the figure to a tenth, as masking.md does.
"""

from __future__ import annotations

from . import render
from .masking import MaskingMatrix

# Okabe-Ito colours, distinguishable with the common colour-vision deficiencies.
OWN = (0, 158, 115)  # bluish green: the diagonal, a service's own tests
BORROWED = (230, 159, 0)  # orange: other services' tests
WHOLE = (0, 114, 178)  # blue: all tests together
# Opacity from 0% to 100%: borrowed cells stay paler than any diagonal cell. The text is dark
# on all of them (contrast 4.5:1 or more at the strongest).
SCALES = {"own": (OWN, 0.45, 1.0), "borrowed": (BORROWED, 0.0, 0.4), "whole": (WHOLE, 0.0, 0.7)}
LEGEND = (
    ("own", "Own tests: the diagonal, outlined (each service's own figure)"),
    ("borrowed", "Other services' tests: coverage borrowed"),
    ("whole", "All tests together"),
)
STEPS = (0.0, 25.0, 50.0, 75.0, 100.0)

STYLE = """
.scroll { overflow-x: auto; max-width: 100%; }
table.heat td, table.heat th { padding: 0.15rem 0.3rem; font-size: 0.8rem; }
table.heat td.num { min-width: 1.6rem; }
table.heat th.column { vertical-align: bottom; }
table.heat th.column span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }
table.heat td.diagonal { outline: 2px solid #222; outline-offset: -2px; font-weight: bold; }
#heat-legend table td { width: 2.4rem; text-align: center; font-size: 0.8rem; }
#heat-legend table th { font-weight: normal; background: none; border: none; }
"""


_e = render.html_text


def style(scale: str, share: float | None) -> str:
    """A cell's inline style on one of the three scales."""
    if share is None:
        return "background: #eeeeee; color: #222222"
    (red, green, blue), low, high = SCALES[scale]
    alpha = low + (high - low) * share / 100
    text = "#666666" if scale == "borrowed" and not share else "#222222"  # nothing borrowed: quiet
    return f"background: rgba({red}, {green}, {blue}, {alpha:.2f}); color: {text}"


def whole_percent(share: float | None) -> str:
    """A share rounded to a whole percent, never to 0 or 100 unless it is exactly that."""
    if share is None:
        return "n/a"
    if 0 < share < 1:
        return "1"
    if 99 < share < 100:
        return "99"
    return f"{share:.0f}"


def legend() -> list[str]:
    out = ['<div id="heat-legend"><table>']
    steps = "".join(f"<th>{step:.0f}%</th>" for step in STEPS)
    out.append(f"<tr><th></th>{steps}</tr>")
    for scale, text in LEGEND:
        css = ' class="diagonal"' if scale == "own" else ""
        cells = "".join(
            f'<td{css} data-scale="{scale}" style="{style(scale, step)}">{step:.0f}</td>' for step in STEPS
        )
        out.append(f"<tr><th>{_e(text)}</th>{cells}</tr>")
    out.append("</table></div>")
    return out


def table(matrix: MaskingMatrix) -> list[str]:
    """The full matrix: a row per service's code, a column per service's tests."""
    head = "".join(f'<th class="column"><span>{_e(column)}</span></th>' for column in matrix.services)
    out = [
        '<div class="scroll"><table id="masking" class="heat">',
        '<tr><th>Code of \u2193, tests of \u2192</th><th class="column"><span>Statements</span></th>'
        f'{head}<th class="column"><span>All tests</span></th></tr>',
    ]
    for row in matrix.services:
        cells = []
        for column in matrix.services:
            share = matrix.share(row, column)
            scale, css = ("own", "num diagonal") if column == row else ("borrowed", "num")
            title = f"{column}'s tests run {render.pct(share)} of {row}'s statements"
            cells.append(
                f'<td class="{css}" data-scale="{scale}" title="{_e(title)}" style="{style(scale, share)}">'
                f"{whole_percent(share)}</td>"
            )
        whole = matrix.whole_share(row)
        title = f"All tests run {render.pct(whole)} of {row}'s statements"
        out.append(
            f"<tr><th>{_e(row)}</th><td class=num>{matrix.statements[row]}</td>{''.join(cells)}"
            f'<td class=num data-scale="whole" title="{_e(title)}" style="{style("whole", whole)}">'
            f"{whole_percent(whole)}</td></tr>"
        )
    out.append("</table></div>")
    return out
