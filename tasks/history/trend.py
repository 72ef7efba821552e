"""The trend picture of a branch's history: for `baseline` (reports/trend.svg) and the
dashboard."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..config.manifest import TOTAL, Manifest
from ..errors import KitError
from ..gate import gitdiff
from ..measure import datafiles
from ..report import chart
from .snapshot import Snapshot
from .store import History

TREND_POINTS = 60  # snapshots drawn in the trend picture
TREND_FILE = "trend.svg"


def scopes(snapshots: Sequence[Snapshot]) -> list[str]:
    """The total, then every service recorded in any of `snapshots`, in recorded order."""
    scopes: dict[str, None] = {TOTAL: None}
    for snapshot in snapshots:
        scopes.update(dict.fromkeys(s.name for s in snapshot.services))
    return list(scopes)


def trend_svg(snapshots: Sequence[Snapshot]) -> str:
    """The trend picture of `snapshots` (oldest first): the total and every service."""
    series = {
        scope: [f.line_pct if (f := s.headline().get(scope)) else None for s in snapshots]
        for scope in scopes(snapshots)
    }
    labels = [f"#{s.id} {s.when[:10]}" for s in snapshots]
    branch = snapshots[-1].branch if snapshots else "?"
    title = f"Line coverage on {branch} (total: whole suite; services: own tests)"
    return chart.trend_svg(series, labels, title)


def write_trend(manifest: Manifest, snapshots: Sequence[Snapshot]) -> Path:
    """The trend picture of `snapshots` (oldest first) in the reports folder."""
    target = manifest.reports_dir / TREND_FILE
    with datafiles.atomic_path(target) as temporary:
        temporary.write_text(trend_svg(snapshots), encoding="utf-8")
    return target


def recent_trend(manifest: Manifest, environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """The current branch's trend picture for the dashboard, and a line saying what it
    shows; no picture, and how to get one, when there is no history to draw. A report
    never fails for want of a history."""
    shown = manifest.display(manifest.history)
    if not manifest.history.exists():
        return None, f"No history yet at {shown}: record snapshots with nox -s baseline."
    try:
        name = gitdiff.current_branch(manifest.root, None, os.environ if environ is None else environ)
        with History.open(manifest.history, shown, create=False) as store:
            snapshots = store.snapshots(name, limit=TREND_POINTS)
    except KitError as exc:
        return None, f"No trend: {exc.message}"
    if not snapshots:
        return None, f"No snapshots of branch {name!r} in {shown} yet: record one with nox -s baseline."
    count = "snapshot" if len(snapshots) == 1 else f"{len(snapshots)} snapshots"
    return trend_svg(snapshots), f"The last {count} of {name!r} from {shown}."
