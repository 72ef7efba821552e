"""`nox -s maintenance`: the weekly upkeep, written up as one Markdown digest.

Retention (old report archives, run logs, set-aside data files and the temporary files of
writes a killed process never finished; history snapshots beyond
the newest per branch, baselines kept; then the database compacted), the configuration
audit, the tools' versions against the project's pins, and the week's figures from the
history. `--dry-run` lists what retention would remove and removes nothing.
"""

from __future__ import annotations

import datetime
import html
import shutil
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
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
)
from ..config.manifest import Manifest
from ..history.snapshot import Snapshot
from ..history.store import History
from ..measure import toolinfo
from ..report import render
from .findings import BaselineFigures, Finding

DIGEST = "maintenance/digest.md"  # under reports_dir
TOOLS = ("coverage", "pytest", "pytest-cov", "pytest-xdist", "pytest-split", "nox")
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
    installed: str | None
    pinned: str  # the specifier of the project's `coverage` dependency group, or ""
    ok: bool


def tools(manifest: Manifest) -> list[Tool]:
    """Installed versions of the measuring tools, checked against the project's pins."""
    pins = _pins(manifest.project_dir / "pyproject.toml")
    found = []
    for name in TOOLS:
        try:
            installed: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        pin = pins.get(name)
        ok = pin is None or (installed is not None and pin.specifier.contains(installed, prereleases=True))
        found.append(Tool(name=name, installed=installed, pinned=str(pin.specifier) if pin else "", ok=ok))
    return found


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


def digest(
    manifest: Manifest,
    *,
    now: datetime.datetime,
    removed: Sequence[Expired],
    thinned: Thinned | None,
    findings: Sequence[Finding],
    tool_list: Sequence[Tool],
    this_week: Week | None,
    core_note: str | None,
    dry_run: bool,
) -> str:
    """The week's page, in Markdown; names from the repository are escaped."""
    lines = [f"# Coverage maintenance, week of {now.date().isoformat()}", ""]
    lines += ["## Figures this week", "", *_figures_section(this_week)]
    lines += ["", f"## Audit: {_count(findings, 'finding')}", "", *_audit_section(findings)]
    lines += ["", "## Tools", "", *_tools_section(tool_list, core_note)]
    lines += ["", f"## Retention ({manifest.maintenance.retention_days} days)", ""]
    lines += _retention_section(manifest, removed, thinned, dry_run)
    return "\n".join(lines) + "\n"


def _figures_section(this_week: Week | None) -> list[str]:
    esc, code = render.md_escape, render.md_code  # branch names come from git: user text
    if this_week is None:
        return ["No history yet: record snapshots with nox -s baseline (docs/history.md)."]
    branch = code(this_week.branch)
    if this_week.newest is None:
        return [f"No snapshot of {branch} in the history yet."]
    lines = []
    if this_week.recorded == 0:
        lines += [f"**No snapshot of {branch} was recorded this week.**", ""]
    rows = movements(this_week)
    if not rows or this_week.week_ago is None:
        return [*lines, f"Newest snapshot {code(this_week.newest.label)}; none a week older to compare with."]
    lines += [
        f"Line coverage on {branch}, from {code(this_week.week_ago.label)} to {code(this_week.newest.label)} "
        f"({render.plural(this_week.recorded, 'snapshot')} this week):",
        "",
        "| Scope | A week ago | Now | Change |",
        "|---|---:|---:|---:|",
        *(f"| {esc(scope)} | {render.pct(a)} | {render.pct(b)} | {b - a:+.1f} |" for scope, a, b in rows),
        "",
    ]
    gains = [row for row in rows if row[2] > row[1]]
    drops = [row for row in rows if row[2] < row[1]]
    gain = f"{esc(gains[0][0])} ({gains[0][2] - gains[0][1]:+.1f})" if gains else "none"
    drop = f"{esc(drops[0][0])} ({drops[0][2] - drops[0][1]:+.1f})" if drops else "none"
    return [*lines, f"Biggest gain: {gain}. Biggest drop: {drop}."]  # rows are biggest move first


def _audit_section(findings: Sequence[Finding]) -> list[str]:
    esc = html.escape
    if not findings:
        return ["Nothing found."]
    # `where` holds file names (a code span keeps them literal); the rest is the kit's own
    # prose around service names, which are safe identifiers: HTML-escaping is enough.
    return [
        f"- **{f.severity}** {render.md_code(f.where)}: {esc(f.what)}. Why: {esc(f.why)}. Fix: {esc(f.fix)}."
        for f in findings
    ]


def _tools_section(tool_list: Sequence[Tool], core_note: str | None) -> list[str]:
    lines = ["| Tool | Installed | Project pins | |", "|---|---|---|---|"]
    for tool in tool_list:
        verdict = "ok" if tool.ok else "**outside the pin**"
        pinned = f"`{tool.pinned}`" if tool.pinned else "-"  # packaging's specifiers have no backticks
        lines.append(f"| {tool.name} | {tool.installed or 'not installed'} | {pinned} | {verdict} |")
    return lines + (["", render.md_escape(core_note)] if core_note else [])


def _retention_section(
    manifest: Manifest, removed: Sequence[Expired], thinned: Thinned | None, dry_run: bool
) -> list[str]:
    verb = "Would remove" if dry_run else "Removed"
    lines = [] if removed else ["No file older than the retention period."]
    for item in removed:
        shown = render.md_code(manifest.display(item.path))
        lines.append(f"- {verb} {item.kind} {shown} ({item.age_days:.0f} days old)")
    if thinned is not None:
        compacted = "" if dry_run else f"; {_kib(thinned.bytes_before)} -> {_kib(thinned.bytes_after)}"
        lines += [
            "",
            f"History: {verb.lower()} {_count(thinned.snapshots, 'snapshot')} beyond the newest "
            f"{manifest.maintenance.keep_snapshots} per branch (baselines kept); {thinned.kept} kept"
            f"{compacted}.",
        ]
    return lines


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


def _count(items: Sequence[object], noun: str) -> str:
    return render.plural(len(items), noun)


def _kib(size: int) -> str:
    return f"{size / 1024:.0f} KiB"
