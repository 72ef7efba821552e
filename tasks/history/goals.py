"""Goals and milestones: where each scope stands against what the manifest declares. Pure.

A goal is a line and/or branch target for a scope (a service's isolated figure, or the
whole-suite total), optionally by a date; milestones are line figures worth marking on the
way, each with the date it was first reached in the recorded history.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..analyze.analysis import Figures, metric_pct
from ..config.manifest import Goal
from .snapshot import Snapshot

PACE_WINDOW_DAYS = 28  # the observed pace is measured over the last four weeks of snapshots

REACHED, ON_TRACK, BEHIND, OVERDUE, OPEN = "reached", "on track", "behind", "overdue", "open"
NO_TREND = "no trend yet"  # a deadline, but fewer than two recent snapshots to judge the pace by


@dataclass(frozen=True, kw_only=True)
class GoalStatus:
    scope: str
    metric: str  # "line" or "branch"
    target: float
    current: float | None
    by: datetime.date | None
    first_reached: Snapshot | None  # the first snapshot at or above the target
    state: str  # REACHED, ON_TRACK, BEHIND, NO_TREND, OVERDUE or OPEN (no deadline)
    days_left: int | None
    needed_per_week: float | None  # points a week still needed to make the deadline
    observed_per_week: float | None  # points a week over the recent snapshots


@dataclass(frozen=True, kw_only=True)
class MilestoneStatus:
    scope: str
    mark: float
    first_reached: Snapshot | None
    current: float | None


def _day(snapshot: Snapshot) -> datetime.date:
    return datetime.date.fromisoformat(snapshot.recorded_at[:10])


def first_reached(history: Sequence[Snapshot], scope: str, metric: str, mark: float) -> Snapshot | None:
    for snapshot in history:
        value = metric_pct(snapshot.headline().get(scope), metric)
        if value is not None and value >= mark:
            return snapshot
    return None


def observed_pace(history: Sequence[Snapshot], scope: str, metric: str, today: datetime.date) -> float | None:
    """Points a week between the first and last snapshot of the recent window."""
    start = today - datetime.timedelta(days=PACE_WINDOW_DAYS)
    points = [
        (_day(s), value)
        for s in history
        if _day(s) >= start and (value := metric_pct(s.headline().get(scope), metric)) is not None
    ]
    if len(points) < 2 or points[-1][0] == points[0][0]:
        return None
    days = (points[-1][0] - points[0][0]).days
    return (points[-1][1] - points[0][1]) * 7 / days


def goal_statuses(
    goals: Sequence[Goal], current: Mapping[str, Figures], history: Sequence[Snapshot], today: datetime.date
) -> list[GoalStatus]:
    """One status per declared target; `history` is oldest first."""
    statuses = []
    for goal in goals:
        for metric, target in (("line", goal.line), ("branch", goal.branch)):
            if target is None:
                continue
            now = metric_pct(current.get(goal.scope), metric)
            days_left = (goal.by - today).days if goal.by else None
            pace = observed_pace(history, goal.scope, metric, today)
            needed = None
            if now is not None and now >= target:
                state = REACHED
            elif goal.by is None or days_left is None:
                state = OPEN
            elif days_left < 0:
                state = OVERDUE
            else:
                needed = (target - (now or 0.0)) * 7 / max(days_left, 1)
                state = NO_TREND if pace is None else ON_TRACK if pace >= needed else BEHIND
            statuses.append(
                GoalStatus(
                    scope=goal.scope,
                    metric=metric,
                    target=target,
                    current=now,
                    by=goal.by,
                    first_reached=first_reached(history, goal.scope, metric, target),
                    state=state,
                    days_left=days_left,
                    needed_per_week=needed,
                    observed_per_week=pace,
                )
            )
    return statuses


def milestone_statuses(
    goals: Sequence[Goal], current: Mapping[str, Figures], history: Sequence[Snapshot]
) -> list[MilestoneStatus]:
    return [
        MilestoneStatus(
            scope=goal.scope,
            mark=mark,
            first_reached=first_reached(history, goal.scope, "line", mark),
            current=metric_pct(current.get(goal.scope), "line"),
        )
        for goal in goals
        for mark in goal.milestones
    ]
