"""The trend picture: coverage of the total and of each service over snapshots, as SVG.

A self-contained SVG (no scripts, no external fonts or styles), so it works in the HTML
reports, in Markdown on GitHub and from disk. Every name in it is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from xml.sax.saxutils import escape, quoteattr

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 48, 150, 36, 40  # margins around the plot area
# Distinguishable on white and for common colour-vision deficiencies (Okabe-Ito).
PALETTE = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")


def trend_svg(series: Mapping[str, Sequence[float | None]], labels: Sequence[str], title: str) -> str:
    """One line per series (e.g. "total", then each service) over the x positions
    `labels` (snapshot labels, oldest first); values are percentages, None is a gap."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = len(labels)

    def x(index: int) -> float:
        return LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / 100)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11" role="img" '
        f"aria-label={quoteattr(title)}>",
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in range(0, 101, 25):
        out.append(
            f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{LEFT + plot_w}" y2="{y(tick):.1f}" stroke="#dddddd"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="#555555">{tick}%</text>'
        )
    if count:
        for index in sorted({0, count - 1}):
            anchor = "start" if index == 0 and count > 1 else "end" if count > 1 else "middle"
            out.append(
                f'<text x="{x(index):.1f}" y="{TOP + plot_h + 16}" text-anchor="{anchor}" '
                f'fill="#555555">{escape(labels[index])}</text>'
            )
    else:
        out.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle">no snapshots</text>'
        )
    for number, (name, values) in enumerate(series.items()):
        colour = PALETTE[number % len(PALETTE)]
        width = 3 if number == 0 else 2
        out.extend(_line(values, labels, name, colour, width, x, y))
        legend_y = TOP + 14 * number + 6
        out.append(
            f'<line x1="{WIDTH - RIGHT + 12}" y1="{legend_y}" x2="{WIDTH - RIGHT + 30}" y2="{legend_y}" '
            f'stroke="{colour}" stroke-width="{width}"/>'
            f'<text x="{WIDTH - RIGHT + 36}" y="{legend_y + 4}">{escape(name)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _line(
    values: Sequence[float | None],
    labels: Sequence[str],
    name: str,
    colour: str,
    width: int,
    x: Callable[[int], float],
    y: Callable[[float], float],
) -> list[str]:
    """A polyline per run of known values, and a dot with a tooltip on every point."""
    out: list[str] = []
    run: list[str] = []
    for index, value in enumerate(values):
        if value is None:
            if len(run) > 1:
                out.append(_polyline(run, colour, width))
            run = []
            continue
        px, py = x(index), y(value)
        run.append(f"{px:.1f},{py:.1f}")
        out.append(
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{width + 0.5}" fill="{colour}">'
            f"<title>{escape(f'{name}: {value:.1f}% at {labels[index]}')}</title></circle>"
        )
    if len(run) > 1:
        out.append(_polyline(run, colour, width))
    return out


def _polyline(points: list[str], colour: str, width: int) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="{width}"/>'
