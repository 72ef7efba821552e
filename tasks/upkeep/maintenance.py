"""`nox -s maintenance`: the weekly upkeep, written up as one digest (digest.py).

Retention (old report archives, run logs, set-aside data files and the temporary files of
writes a killed process never finished; history snapshots beyond
the newest per branch, baselines kept; then the database compacted), the configuration
audit, the tools' versions against the project's pins, and the week's figures from the
history. `--dry-run` lists what retention would remove and removes nothing.
"""

from __future__ import annotations

import datetime
import shutil
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from ..analyze.analysis import metric_pct
from ..config.layout import (
    ARCHIVE_DIR,
    ARCHIVE_NAME,
    FAILED_DIR,
    LOGS_DIR,
    SLICES_DIR,
    STALE_DIR,
    UNFINISHED_NAME,
    is_data_name,
    service_file,
    shard_files,
)
from ..config.manifest import Manifest
from ..history.snapshot import Snapshot
from ..history.store import History
from ..measure import toolinfo
from .findings import BaselineFigures

DIGEST = "maintenance/digest.md"  # under reports_dir
TOOLS = (*toolinfo.RUN_TOOLS, "nox")
WEEK = datetime.timedelta(days=7)


@dataclass(frozen=True, kw_only=True)
class Expired:
    path: Path
    age_days: float
    kind: str  # "report archive", "run log", "set-aside data", "unfinished write"


def expired(manifest: Manifest, now: datetime.datetime) -> list[Expired]:
    """The kit's own files and archive folders older than the retention period, oldest
    first. Only names the kit writes count: reports_dir or data_dir may be a folder that
    holds other things too (even the project itself), and those are never touched."""
    limit = manifest.maintenance.retention_days
    candidates: list[tuple[Path, str]] = []
    archive = manifest.reports_dir / ARCHIVE_DIR
    if archive.is_dir():
        candidates += [
            (path, "report archive")
            for path in archive.iterdir()
            if ARCHIVE_NAME.match(path.name) and path.is_dir() and not path.is_symlink()
        ]
    for folder, kind, suffix in (
        (manifest.reports_dir / LOGS_DIR, "run log", ".log"),
        *((manifest.data_dir / name, "set-aside data", "") for name in (STALE_DIR, FAILED_DIR, SLICES_DIR)),
    ):
        if folder.is_dir():
            candidates += [
                (path, kind)
                for path in folder.iterdir()
                if is_data_name(manifest, path.name.removesuffix(suffix))
                and path.is_file()
                and not path.is_symlink()
            ]
    if manifest.data_dir.is_dir():
        candidates += [
            (path, "unfinished write")
            for path in manifest.data_dir.iterdir()
            if (unfinished := UNFINISHED_NAME.match(path.name))
            and is_data_name(manifest, unfinished["target"])
            and path.is_file()
            and not path.is_symlink()
        ]
    found = []
    for path, kind in candidates:
        modified = datetime.datetime.fromtimestamp(path.stat().st_mtime, tz=datetime.UTC)
        age = (now - modified).total_seconds() / 86400
        if age > limit:
            found.append(Expired(path=path, age_days=age, kind=kind))
    return sorted(found, key=lambda e: -e.age_days)


def remove(items: Sequence[Expired]) -> None:
    for item in items:
        if item.path.is_dir():
            shutil.rmtree(item.path)
        else:
            item.path.unlink(missing_ok=True)


@dataclass(frozen=True, kw_only=True)
class Thinned:
    snapshots: tuple[Snapshot, ...]  # removed (or, in a dry run, to be removed)
    kept: int
    bytes_before: int
    bytes_after: int


def thin_history(manifest: Manifest, *, dry_run: bool) -> Thinned | None:
    """Keep each branch's newest snapshots and every baseline; compact. None: no history."""
    path = manifest.history
    if not path.exists():
        return None
    shown = manifest.display(path)
    before = _size(path)
    keep = manifest.maintenance.keep_snapshots
    with History.open(path, shown, create=False) as history:
        if dry_run:
            doomed = history.beyond_keep(keep)
        else:
            doomed = history.thin(keep)
            history.compact()
        kept = history.count() - (len(doomed) if dry_run else 0)
    return Thinned(snapshots=tuple(doomed), kept=kept, bytes_before=before, bytes_after=_size(path))


def _size(database: Path) -> int:
    return sum(p.stat().st_size for p in (database, Path(f"{database}-wal")) if p.exists())


@dataclass(frozen=True, kw_only=True)
class Tool:
    name: str
    # each version found (None: not installed) and the services whose runs recorded it
    versions: tuple[tuple[str | None, tuple[str, ...]], ...]
    measured_in: tuple[str, ...]  # the services whose runs recorded it; () for this session's
    pinned: str  # the specifier of the project's `coverage` dependency group, or ""
    ok: bool


def tools(manifest: Manifest) -> list[Tool]:
    """The measuring tools' versions as the services' runs recorded them in their data files
    (their sessions install their own), checked against the project's pins. Where no run
    recorded them (no data yet, or data from before the kit recorded them), and for nox,
    which runs the sessions from outside, the versions installed here."""
    pins = _pins(manifest.project_dir / "pyproject.toml")
    runs = _recorded_by_runs(manifest)
    found = []
    for name in TOOLS:
        from_runs = bool(runs) and name in toolinfo.RUN_TOOLS
        used = _used_by_runs(name, runs) if from_runs else {toolinfo.installed(name): ()}
        pin = pins.get(name)
        ok = pin is None or all(v is not None and pin.specifier.contains(v, prereleases=True) for v in used)
        found.append(
            Tool(
                name=name,
                versions=tuple(used.items()),
                measured_in=tuple(runs) if from_runs else (),
                pinned=str(pin.specifier) if pin else "",
                ok=ok,
            )
        )
    return found


def _recorded_by_runs(manifest: Manifest) -> dict[str, list[dict[str, str | None]]]:
    """Each service's tool versions as its data files (one per shard) recorded them."""
    found = {}
    for service in manifest.services:
        paths = [service_file(manifest, service.name), *shard_files(manifest, service.name).values()]
        records = [record for path in paths if path.is_file() and (record := toolinfo.recorded_tools(path))]
        if records:
            found[service.name] = records
    return found


def _used_by_runs(
    name: str, runs: dict[str, list[dict[str, str | None]]]
) -> dict[str | None, tuple[str, ...]]:
    used: dict[str | None, list[str]] = {}
    for service, records in runs.items():
        for version in dict.fromkeys(record.get(name) for record in records):
            used.setdefault(version, []).append(service)
    return {version: tuple(services) for version, services in used.items()}


def _pins(pyproject: Path) -> dict[str, Requirement]:
    """The requirements of the `coverage` dependency group (what the sessions install)."""
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    group = document.get("dependency-groups", {}).get("coverage", [])
    pins = {}
    for item in group if isinstance(group, list) else []:
        if isinstance(item, str):
            try:
                requirement = Requirement(item)
            except InvalidRequirement:
                continue
            pins[requirement.name.lower()] = requirement
    return pins


@dataclass(frozen=True, kw_only=True)
class Week:
    """The week's movement of each scope's line figure on one branch."""

    branch: str
    newest: Snapshot | None
    week_ago: Snapshot | None  # the newest snapshot recorded more than 7 days before now
    recorded: int  # snapshots recorded in the last 7 days


def week(manifest: Manifest, branch: str, now: datetime.datetime) -> Week | None:
    path = manifest.history
    if not path.exists():
        return None
    with History.open(path, manifest.display(path), create=False) as history:
        snapshots = history.snapshots(branch)
    if not snapshots:
        return Week(branch=branch, newest=None, week_ago=None, recorded=0)
    stamp = now - WEEK
    recent = [s for s in snapshots if _when(s) >= stamp]
    before = [s for s in snapshots if _when(s) < stamp]
    return Week(
        branch=branch,
        newest=snapshots[-1],
        week_ago=before[-1] if before else None,
        recorded=len(recent),
    )


def _when(snapshot: Snapshot) -> datetime.datetime:
    return datetime.datetime.fromisoformat(snapshot.recorded_at.replace("Z", "+00:00"))


def movements(this_week: Week) -> list[tuple[str, float, float]]:
    """(scope, line figure a week ago, now) for each scope in both snapshots, biggest move first."""
    if this_week.newest is None or this_week.week_ago is None:
        return []
    then, now = this_week.week_ago.headline(), this_week.newest.headline()
    rows = []
    for scope, figures in now.items():
        before, after = metric_pct(then.get(scope), "line"), metric_pct(figures, "line")
        if before is not None and after is not None:
            rows.append((scope, before, after))
    return sorted(rows, key=lambda row: -abs(row[2] - row[1]))


def baseline_snapshot(manifest: Manifest, branch: str) -> Snapshot | None:
    """`branch`'s baseline snapshot, when there is a history and a baseline."""
    path = manifest.history
    if not path.exists():
        return None
    with History.open(path, manifest.display(path), create=False) as history:
        found = history.baseline(branch)
    return found.snapshot if found else None


def core_change(baseline: Snapshot | None, branch: str) -> str | None:
    """A warning when the base branch's baseline was measured with another core or version."""
    if baseline is None:
        return None
    then, now = baseline.environment, toolinfo.current()
    if (then.core, then.coverage) == (now.core, now.coverage):
        return None
    return (
        f"The baseline of {branch} was measured with coverage.py {then.coverage} ({then.core} core); "
        f"this machine has {now.coverage} ({now.core} core). Figures may shift without any change to "
        "the code; set a new baseline after the next run on that branch."
    )


def baseline_figures(baseline: Snapshot | None) -> BaselineFigures | None:
    """Each scope's (line, branch) figure in a baseline, for the threshold audit."""
    if baseline is None:
        return None
    return {
        scope: (metric_pct(figures, "line"), metric_pct(figures, "branch"))
        for scope, figures in baseline.headline().items()
    }
