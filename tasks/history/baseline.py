"""`baseline`: record snapshots, mark baselines, and read the history back to people.

The edge of the history store: reads the combined data, asks git which commit and branch
it belongs to, and prints the status, comparisons and the trend picture.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from ..analyze.analysis import Figures, metric_pct
from ..analyze.combined import combined_figures
from ..config.manifest import Manifest
from ..errors import EXIT_FAILED, EXIT_OK, ConfigError, plain
from ..gate import gitdiff, policies
from ..measure import toolinfo
from ..report import render
from . import exchange, goals, trend
from .snapshot import Baseline, Recorded, Snapshot, from_measured, now
from .store import History

RECENT = 10  # snapshots listed by --status


# -- recording ----------------------------------------------------------------------------


def record(
    manifest: Manifest,
    *,
    commit: str | None,
    branch: str | None,
    set_baseline: bool,
    force: bool,
    out: TextIO,
    environ: Mapping[str, str] | None = None,
) -> Recorded:
    """Record the combined data as a snapshot (and mark it the baseline with `set_baseline`)."""
    environ = os.environ if environ is None else environ
    if commit is not None:
        commit = _known_commit(manifest.root, commit)
    _, services, _ = combined_figures(manifest)  # stale data is never recorded
    commit, branch = gitdiff.identify(manifest.root, commit, branch, environ)
    snapshot = from_measured(services, commit=commit, branch=branch, environment=toolinfo.current(), at=now())
    shown = manifest.display(manifest.history)
    with History.open(manifest.history, shown, create=True) as store:
        result = store.record(snapshot, set_baseline=set_baseline, force=force)
        recent = store.snapshots(branch, limit=trend.TREND_POINTS)
    stored = result.snapshot
    if result.reused:
        print(f"already recorded: snapshot {stored.label} has the same commit, branch and figures.", file=out)
    else:
        print(f"recorded snapshot {stored.label} in {shown}", file=out)
    if set_baseline and result.was_baseline:
        print(f"baseline of {branch!r} was already snapshot #{stored.id}", file=out)
    elif set_baseline:
        replaced = f" (replacing {result.replaced.label})" if result.replaced else ""
        print(f"baseline of {branch!r} is now snapshot #{stored.id}{replaced}", file=out)
    earlier = [s for s in recent if (s.recorded_at, s.id or 0) < (stored.recorded_at, stored.id or 0)]
    previous = earlier[-1] if earlier else None
    header = ("Scope", "Line", "Branch", f"vs {'#' + str(previous.id) if previous else 'previous'}")
    rows = [header]
    before = previous.headline() if previous else {}
    for scope, figures in stored.headline().items():
        old = before.get(scope)
        change = (
            render.points(_delta(figures.line_pct, old.line_pct if old else None)) if previous else "first"
        )
        rows.append((scope, render.pct(figures.line_pct), render.pct(figures.branch_pct), change))
    print("\n".join(render.columns(rows, right=(1, 2, 3))), file=out)
    written = trend.write_trend(manifest, recent)
    print(f"wrote {manifest.display(written)}", file=out)
    return result


def _known_commit(root: Path, commit: str) -> str:
    """The full id of the commit given with --commit. Outside a git checkout (or without
    git) it is taken as written: that is how a snapshot is filed where git cannot say."""
    if not gitdiff.is_checkout(root):
        return commit
    found = gitdiff.resolve(root, commit)
    if found is None:
        raise ConfigError(
            f"--commit {plain(commit)}: this repository has no such commit, so no snapshot was recorded. "
            "Pass one of its commits (git log lists them), or leave --commit out to file the snapshot "
            "under HEAD; in a shallow clone, fetch the commit first (git fetch --deepen)."
        )
    return found


def _delta(new: float | None, old: float | None) -> float | None:
    return None if new is None or old is None else new - old


# -- status -------------------------------------------------------------------------------


def status(
    manifest: Manifest,
    *,
    branch: str | None,
    out: TextIO,
    today: datetime.date | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Baseline, goals, milestones and recent history of one branch."""
    environ = os.environ if environ is None else environ
    today = today or datetime.datetime.now(datetime.UTC).date()
    name = gitdiff.current_branch(manifest.root, branch, environ)
    shown = manifest.display(manifest.history)
    with History.open(manifest.history, shown, create=False) as store:
        snapshots = store.snapshots(name)
        everything = store.count()
        baseline = store.baseline(name)
    if not snapshots:
        raise ConfigError(
            f"{shown}: no snapshots of branch {name!r} ({everything} of other branches). "
            "Record one: nox -s baseline, or pass --branch NAME."
        )
    latest = snapshots[-1]
    current = latest.headline()
    print(
        f"History {shown}: {render.plural(len(snapshots), 'snapshot')} of {name!r} ({everything} in all); "
        f"newest {latest.label}, measured with Python {latest.environment.python}, "
        f"coverage {latest.environment.coverage} ({latest.environment.core}).",
        file=out,
    )
    print("", file=out)
    _print_baseline(baseline, current, name, out)
    _print_goals(manifest, current, snapshots, today, out)
    _print_recent(snapshots[-RECENT:], baseline.snapshot.id if baseline else None, out)
    written = trend.write_trend(manifest, snapshots[-trend.TREND_POINTS :])
    print(f"wrote {manifest.display(written)}", file=out)


def _print_baseline(
    baseline: Baseline | None, current: Mapping[str, Figures], branch: str, out: TextIO
) -> None:
    if baseline is None:
        print(f"Baseline: none for {branch!r}. Set one: nox -s baseline -- --set", file=out)
        print("", file=out)
        return
    print(f"Baseline of {branch!r}: snapshot {baseline.snapshot.label}, set {baseline.set_at[:10]}", file=out)
    header = ("Scope", "Baseline line", "Now", "Change", "Baseline branch", "Now ", "Change ")

    def change(scope: str, metric: str, old: float | None, new: float | None) -> str:
        return render.points(_delta(new, old))

    rows = _was_now_rows(header, baseline.snapshot.headline(), current, change, scopes=list(current))
    print("\n".join(render.columns(rows, right=range(1, 7))), file=out)
    print("", file=out)


def _print_goals(
    manifest: Manifest,
    current: Mapping[str, Figures],
    snapshots: Sequence[Snapshot],
    today: datetime.date,
    out: TextIO,
) -> None:
    if not manifest.goals:
        where = manifest.display(manifest.path)
        print(f"Goals: none declared. Add [goals.total] or [goals.<service>] to {where}.", file=out)
        print("", file=out)
        return
    statuses = goals.goal_statuses(manifest.goals, current, snapshots, today)
    if statuses:
        print(f"Goals (as of {today.isoformat()})", file=out)
        rows = [("Scope", "Metric", "Goal", "Now", "By", "Status")]
        for goal in statuses:
            rows.append(
                (
                    goal.scope,
                    goal.metric,
                    f"{goal.target:g}%",
                    render.pct(goal.current),
                    goal.by.isoformat() if goal.by else "-",
                    _goal_state(goal),
                )
            )
        print("\n".join(render.columns(rows, right=(2, 3))), file=out)
        print("", file=out)
    marks = goals.milestone_statuses(manifest.goals, current, snapshots)
    if marks:
        print("Milestones (line coverage; first reached in this branch's history)", file=out)
        mark_rows = [("Scope", "Milestone", "First reached")]
        for mark in marks:
            reached = (
                f"{mark.first_reached.when[:10]} (#{mark.first_reached.id})"
                if mark.first_reached
                else f"not yet (now {render.pct(mark.current)})"
            )
            mark_rows.append((mark.scope, f"{mark.mark:g}%", reached))
        print("\n".join(render.columns(mark_rows, right=(1,))), file=out)
        print("", file=out)


def _goal_state(goal: goals.GoalStatus) -> str:
    if goal.state == goals.REACHED:
        first = goal.first_reached
        return f"reached {first.when[:10]} (#{first.id})" if first else "reached"
    short = goal.target - (goal.current or 0.0)
    if goal.state == goals.OPEN:
        return f"{short:.1f} points to go"
    if goal.state == goals.OVERDUE:
        return f"overdue since {goal.by}, {short:.1f} points short"
    lately = (
        f", lately {render.points(goal.observed_per_week)}/week" if goal.observed_per_week is not None else ""
    )
    return (
        f"{goal.state}: {short:.1f} points in {goal.days_left} days, "
        f"needs {render.points(goal.needed_per_week)}/week{lately}"
    )


def _print_recent(recent: Sequence[Snapshot], baseline_id: int | None, out: TextIO) -> None:
    print("Recent history (newest last; line coverage, change from the row above)", file=out)
    scopes = trend.scopes(recent)
    rows = [("#", "Recorded (UTC)", "Commit", *scopes, "")]
    previous: dict[str, Figures] = {}
    for snapshot in recent:
        figures = snapshot.headline()
        cells = []
        for scope in scopes:
            now, old = figures.get(scope), previous.get(scope)
            value = render.pct(now.line_pct if now else None)
            if now is not None and old is not None:
                value += f" ({render.points(_delta(now.line_pct, old.line_pct))})"
            cells.append(value)
        marker = "<- baseline" if snapshot.id == baseline_id else ""
        rows.append((str(snapshot.id), snapshot.when, snapshot.commit[:7], *cells, marker))
        previous = figures
    print("\n".join(render.columns(rows, right=range(3, 3 + len(scopes)))), file=out)
    print("", file=out)


# -- compare ------------------------------------------------------------------------------


def find(store: History, ref: str, cwd: Path) -> Snapshot:
    """A snapshot by id (#12 or 12), by commit (a sha prefix), or by any git ref whose
    commit was recorded (main, HEAD~1, a tag); the newest one of that commit."""
    if re.fullmatch(r"#?\d+", ref):
        found = store.find_id(int(ref.lstrip("#")))
        if found is not None:
            return found
    candidates: list[Snapshot] = []
    if re.fullmatch(r"[0-9a-fA-F]{4,64}", ref):
        candidates = store.with_commit(ref)
    if not candidates and (commit := gitdiff.resolve(cwd, ref)):
        candidates = store.with_commit(commit)
    commits = {s.commit for s in candidates}
    if len(commits) > 1:
        shown = ", ".join(sorted(c[:12] for c in commits))
        raise ConfigError(f"{ref!r} matches snapshots of several commits ({shown}); give more of the sha.")
    if not candidates:
        recent = ", ".join(s.label for s in store.snapshots(limit=3))
        raise ConfigError(
            f"no snapshot matches {ref!r}: give a snapshot id (#12), a recorded commit, or a git ref "
            f"whose commit was recorded. Newest snapshots: {recent or 'none'}."
        )
    return candidates[-1]


def compare(
    manifest: Manifest,
    *,
    refs: Sequence[str] | None,
    branch: str | None,
    out: TextIO,
    color: bool,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Deltas per scope from OLD to NEW (or the branch's two newest snapshots when `refs`
    is None); exit 1 when a figure dropped by more than the tolerance."""
    environ = os.environ if environ is None else environ
    shown = manifest.display(manifest.history)
    with History.open(manifest.history, shown, create=False) as store:
        if refs is None:
            name = gitdiff.current_branch(manifest.root, branch, environ)
            latest = store.snapshots(name, limit=2)
            if len(latest) < 2:
                raise ConfigError(
                    f"{shown}: --latest needs two snapshots of {name!r}, found {len(latest)}. "
                    "Record another, or name two: --compare OLD NEW."
                )
            old, new = latest
        else:
            old, new = (find(store, ref, manifest.root) for ref in refs)
    tolerance, noise = manifest.gate.tolerance, manifest.gate.noise
    checks = policies.regression_checks(
        new.headline(), old.headline(), tolerance=tolerance, noise=noise, mode="fail"
    )
    print(f"{old.label} -> {new.label}", file=out)
    header = ("Scope", "Line was", "now", "Change", "Branch was", "now", "Change")
    before, after = old.headline(), new.headline()

    def change(scope: str, metric: str, was: float | None, now: float | None) -> str:
        return _change(checks, scope, metric, noise, color)

    rows = _was_now_rows(header, before, after, change, scopes=list(dict.fromkeys([*after, *before])))
    print("\n".join(render.columns(rows, right=(1, 2, 3, 4, 5, 6))), file=out)
    failing = [c for c in checks if c.status == policies.FAIL]
    print("", file=out)
    if failing:
        listed = ", ".join(f"{c.scope} {c.metric} {render.points(c.delta)}" for c in failing)
        print(f"regression beyond the {tolerance:g}-point tolerance: {listed}", file=out)
        return EXIT_FAILED
    print(
        f"no drop beyond the {tolerance:g}-point tolerance (changes within {noise:g} count as none)", file=out
    )
    return EXIT_OK


def _was_now_rows(
    header: tuple[str, ...],
    before: Mapping[str, Figures],
    after: Mapping[str, Figures],
    change: Callable[[str, str, float | None, float | None], str],
    *,
    scopes: Sequence[str],
) -> list[tuple[str, ...]]:
    """Per scope: line was, now, change, branch was, now, change."""
    rows = [header]
    for scope in scopes:
        then, now = before.get(scope), after.get(scope)
        cells = [scope]
        for metric in ("line", "branch"):
            was, current = metric_pct(then, metric), metric_pct(now, metric)
            cells += [render.pct(was), render.pct(current), change(scope, metric, was, current)]
        rows.append(tuple(cells))
    return rows


GREEN, YELLOW, RED, RESET = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[0m"


def _change(checks: Sequence[policies.Check], scope: str, metric: str, noise: float, color: bool) -> str:
    check = next((c for c in checks if c.scope == scope and c.metric == metric), None)
    if check is None or check.delta is None:
        return "n/a"
    delta = check.delta
    if delta > noise:
        arrow, colour = "▲", GREEN
    elif check.status == policies.FAIL:
        arrow, colour = "▼", RED
    elif check.status == policies.WARN:
        arrow, colour = "▼", YELLOW
    else:
        arrow, colour = "=", ""
    text = f"{arrow} {render.points(delta)}"
    return f"{colour}{text}{RESET}" if color and colour else text


def wants_color(out: TextIO, environ: Mapping[str, str]) -> bool:
    """Colour on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it (https://no-color.org)."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return out.isatty()


# -- carrying the history between machines ------------------------------------------------


def export_history(manifest: Manifest, target: Path, out: TextIO) -> None:
    shown = manifest.display(manifest.history)
    if target.is_dir():
        raise ConfigError(
            f"{target} is a folder; name the file to export to, e.g. {target / 'history.jsonl'}."
        )
    # Unchecked: exporting what a damaged history still holds is how it is recovered.
    with History.open(manifest.history, shown, create=False, check=False) as store:
        try:
            snapshots, baselines = exchange.export(store, target)
        except OSError as exc:
            raise ConfigError(f"{target}: cannot write the export: {exc.strerror or exc}.") from None
    counts = f"{render.plural(snapshots, 'snapshot')} and {render.plural(baselines, 'baseline')}"
    print(f"exported {counts} from {shown} to {target}", file=out)


def import_history(manifest: Manifest, source: Path, out: TextIO) -> None:
    shown = manifest.display(manifest.history)
    snapshots, baselines = exchange.parse(source, str(source))  # all of it is checked before opening
    with History.open(manifest.history, shown, create=True) as store:
        added = store.merge(snapshots, baselines)
    print(
        f"imported {source}: {render.plural(added, 'new snapshot')} of {len(snapshots)} "
        f"({len(snapshots) - added} already there), {render.plural(len(baselines), 'baseline')}, "
        f"into {shown}",
        file=out,
    )
