"""`ratchet`: raise floors to the current figures minus a margin; never lower them.

Raises the line and branch floors of the total (`[settings.thresholds]`) and of each
service in the manifest, and `fail_under` in the measured repository's pyproject.toml.
Only floors that exist are raised; none is added. Files are edited with tomlkit, so
everything but the raised numbers (comments, order, spacing, quoting) stays byte for byte.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions

from ..analyze.analysis import Figures, ServiceFigures, headline_figures
from ..config.manifest import TOTAL, Manifest, Thresholds
from ..errors import ConfigError
from ..measure import datafiles
from ..report import render

FAIL_UNDER_KEYS = ("tool", "coverage", "report", "fail_under")


@dataclass(frozen=True, kw_only=True)
class Raise:
    file: Path
    keys: tuple[str, ...]  # where the floor is, e.g. ("services", "xp", "thresholds", "line")
    old: float
    new: float
    figure: float  # the current figure the floor follows


def floor_below(figure: float, margin: float) -> float:
    """The new floor for `figure`: `margin` points below it, rounded down to a tenth."""
    return math.floor(round((figure - margin) * 10, 6)) / 10


def plan(manifest: Manifest, services: Sequence[ServiceFigures]) -> list[Raise]:
    """Every floor that can rise, from the figures measured now."""
    margin = manifest.ratchet.margin
    headline = headline_figures(services)
    scopes: list[tuple[str, tuple[str, ...], Thresholds]] = [
        (TOTAL, ("settings", "thresholds"), manifest.thresholds),
        *((s.name, ("services", s.name, "thresholds"), s.thresholds) for s in manifest.services),
    ]
    raises = []
    for scope, prefix, thresholds in scopes:
        figures = headline.get(scope)
        if figures is None:
            continue
        for metric, figure in (("line", figures.line_pct), ("branch", figures.branch_pct)):
            old = getattr(thresholds, metric)
            if old is None or figure is None:
                continue
            new = floor_below(figure, margin)
            if new > old:
                raises.append(
                    Raise(file=manifest.path, keys=(*prefix, metric), old=old, new=new, figure=figure)
                )
    if manifest.ratchet.pyproject is not None:
        raises += _fail_under(manifest.ratchet.pyproject, headline[TOTAL], margin)
    return raises


def _fail_under(pyproject: Path, total: Figures, margin: float) -> list[Raise]:
    """`coverage report` compares fail_under with its TOTAL, which counts statements and,
    whenever the data has branches (the kit's always does), branches together."""
    document = _read_toml(pyproject)
    old = document.get("tool", {}).get("coverage", {}).get("report", {}).get("fail_under")
    if isinstance(old, bool) or not isinstance(old, int | float):
        return []
    figure = total.combined_pct
    if figure is None:
        return []
    if floor_below(figure, margin) <= old:
        return []
    return [
        Raise(
            file=pyproject,
            keys=FAIL_UNDER_KEYS,
            old=float(old),
            new=floor_below(figure, margin),
            figure=figure,
        )
    ]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it as TOML: {exc}.") from None


def edited(path: Path, raises: Sequence[Raise]) -> tuple[str, str]:
    """The file's text before and after raising `raises` (all in this file)."""
    with path.open(encoding="utf-8", newline="") as handle:  # keep \r\n line ends as they are
        text = handle.read()
    try:
        document = tomlkit.parse(text)
    except tomlkit.exceptions.TOMLKitError as exc:
        raise ConfigError(f"{path}: cannot parse it to edit: {exc}.") from None
    for item in raises:
        table: Any = document
        for key in item.keys[:-1]:
            table = table[key]
        table[item.keys[-1]] = int(item.new) if item.new.is_integer() else item.new
    return text, tomlkit.dumps(document)


def run(
    manifest: Manifest, services: Sequence[ServiceFigures], *, check: bool
) -> tuple[list[Raise], list[str]]:
    """Plan the raises and (unless `check`) write them; return them and the diff lines."""
    raises = plan(manifest, services)
    diff: list[str] = []
    files = list(dict.fromkeys(item.file for item in raises))
    new_texts = {}
    for path in files:
        before, after = edited(path, [item for item in raises if item.file == path])
        shown = manifest.display(path)
        diff += difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), shown, f"{shown} (ratcheted)"
        )
        new_texts[path] = after
    if not check:
        for path, text in new_texts.items():
            with datafiles.atomic_path(path) as temporary:
                temporary.write_bytes(text.encode("utf-8"))
    return raises, diff


def table(manifest: Manifest, raises: Sequence[Raise]) -> str:
    rows = [("File", "Floor", "Was", "Figure", "New")]
    for item in raises:
        rows.append(
            (
                manifest.display(item.file),
                ".".join(item.keys),
                f"{item.old:g}",
                render.pct(item.figure),
                f"{item.new:g}",
            )
        )
    return "\n".join(render.columns(rows, right=(2, 3, 4)))
