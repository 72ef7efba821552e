"""Coverage badges: an SVG per service and for the total, and shields.io endpoint JSON.

Each service's badge shows its isolated line figure (its own tests), the total's the
whole-suite figure: the figures the gate judges. The colour says where the figure stands
against its floor (red below it) and on the usual scale above it. The SVG is
self-contained (no fonts or scripts fetched), so it renders from disk, in an artifact or
in a README; the JSON feeds https://shields.io/badges/endpoint-badge for hosted badges.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape  # not xml.sax.saxutils: it imports urllib, a cost every command paid

from ..analyze.analysis import Figures

# shields.io's named colours and the hex it draws them with.
COLOURS = {
    "red": "#e05d44",
    "orange": "#fe7d37",
    "yellow": "#dfb317",
    "yellowgreen": "#a4a61d",
    "green": "#97ca00",
    "brightgreen": "#4c1",
    "lightgrey": "#9f9f9f",
}
SCALE = ((90.0, "brightgreen"), (80.0, "green"), (70.0, "yellowgreen"), (60.0, "yellow"))
CHAR_WIDTH = 7.0  # Verdana 11px averages about this; a badge only needs to fit its text
PADDING = 10


@dataclass(frozen=True, kw_only=True)
class Badge:
    name: str  # file stem: a service name or "total"
    label: str
    message: str
    colour: str  # one of COLOURS


def colour(percent: float | None, floor: float | None) -> str:
    if percent is None:
        return "lightgrey"
    if floor is not None and percent < floor:
        return "red"
    for bound, name in SCALE:
        if percent >= bound:
            return name
    return "orange"


def badge(name: str, label: str, figures: Figures, floor: float | None) -> Badge:
    percent = figures.line_pct
    message = "no data" if percent is None else f"{percent:.1f}%"
    return Badge(name=name, label=label, message=message, colour=colour(percent, floor))


def endpoint_json(item: Badge) -> str:
    """The shields.io endpoint schema (version 1)."""
    payload = {"schemaVersion": 1, "label": item.label, "message": item.message, "color": item.colour}
    return json.dumps(payload, indent=2) + "\n"


def svg(item: Badge) -> str:
    """A flat two-part badge: label on grey, message on the colour."""
    left = round(len(item.label) * CHAR_WIDTH + PADDING)
    right = round(len(item.message) * CHAR_WIDTH + PADDING)
    width = left + right
    fill = COLOURS[item.colour]
    text = f"{item.label}: {item.message}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{escape(text)}">'
        f"<title>{escape(text)}</title>"
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{fill}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2}" y="14">{escape(item.label)}</text>'
        f'<text x="{left + right / 2}" y="14">{escape(item.message)}</text>'
        "</g></svg>\n"
    )
