"""Goals, milestones and the trend picture, from snapshots built in the test."""

from __future__ import annotations

import dataclasses
import datetime
import xml.etree.ElementTree as ET

import pytest

from tasks.config.manifest import Goal
from tasks.history import goals
from tasks.history.snapshot import Snapshot
from tasks.report import chart
from tests.test_history import snapshot

TODAY = datetime.date(2026, 11, 21)


def dated(day: str, covered: int, number: int) -> Snapshot:
    """xp at `covered`% (isolated line) on `day`."""
    return dataclasses.replace(snapshot(covered=covered), recorded_at=f"{day}T12:00:00Z", id=number)


HISTORY = [
    dated("2026-10-01", 30, 1),
    dated("2026-10-30", 45, 2),  # the 40 milestone is first reached here
    dated("2026-11-07", 48, 3),
    dated("2026-11-21", 52, 4),  # +4 points a week over the last two weeks
]


def status_of(goal: Goal, history: list[Snapshot] = HISTORY) -> goals.GoalStatus:
    (found,) = goals.goal_statuses([goal], history[-1].headline(), history, TODAY)
    return found


@pytest.mark.parametrize(
    ("goal", "state", "needed"),
    [
        (Goal(scope="xp", line=50), goals.REACHED, None),
        (Goal(scope="xp", line=60), goals.OPEN, None),
        (Goal(scope="xp", line=60, by=datetime.date(2026, 11, 1)), goals.OVERDUE, None),
        # 8 points in 28 days needs 2 a week; the last four weeks gave (52-45)/22*7 = 2.2 a week
        (Goal(scope="xp", line=60, by=datetime.date(2026, 12, 19)), goals.ON_TRACK, 2.0),
        # 8 points in 14 days needs 4 a week
        (Goal(scope="xp", line=60, by=datetime.date(2026, 12, 5)), goals.BEHIND, 4.0),
    ],
)
def test_goal_statuses__state_and_pace(goal: Goal, state: str, needed: float | None) -> None:
    found = status_of(goal)
    assert found.state == state
    assert found.needed_per_week == (pytest.approx(needed) if needed is not None else None)
    assert found.current == 52.0


def test_goal_statuses__reached_date_and_observed_pace() -> None:
    found = status_of(Goal(scope="xp", line=45, by=datetime.date(2027, 1, 1)))
    assert found.first_reached is not None and found.first_reached.id == 2
    assert found.observed_per_week == pytest.approx((52 - 45) * 7 / 22)


def test_goal_statuses__one_snapshot_has_no_trend_yet() -> None:
    found = status_of(Goal(scope="xp", line=60, by=datetime.date(2027, 1, 1)), HISTORY[-1:])
    assert found.state == goals.NO_TREND and found.observed_per_week is None


def test_goal_statuses__total_uses_the_whole_suite_figure() -> None:
    (line, branch) = goals.goal_statuses(
        [Goal(scope="total", line=95, branch=90)], HISTORY[-1].headline(), HISTORY, TODAY
    )
    assert line.current == pytest.approx(100 * 135 / 150) and line.state == goals.OPEN
    assert branch.current == pytest.approx(100 * 13 / 14) and branch.state == goals.REACHED


def test_milestones__first_reached_or_not_yet() -> None:
    marks = goals.milestone_statuses(
        [Goal(scope="xp", milestones=(40.0, 50.0, 60.0))], HISTORY[-1].headline(), HISTORY
    )
    assert [(m.mark, m.first_reached.id if m.first_reached else None) for m in marks] == [
        (40.0, 2),
        (50.0, 4),
        (60.0, None),
    ]


def test_trend_svg__well_formed_escaped_with_a_line_per_scope() -> None:
    series = {"total": [80.0, None, 82.5, 83.0], "<script>&x": [10.0, 20.0, 30.0, 40.0]}
    svg = chart.trend_svg(series, ["#1", "#2", "#3", "#4"], 'Line coverage on "main" <b>')
    root = ET.fromstring(svg)  # parses: well-formed XML
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert "<script>" not in svg and "&lt;script&gt;&amp;x" in svg
    # total's gap splits it into a lone point and a run of two; the service is one run
    assert len(root.findall("svg:polyline", ns)) == 2
    assert len(root.findall("svg:circle", ns)) == 3 + 4
    assert root.find("svg:title", ns) is not None


def test_trend_svg__no_snapshots() -> None:
    assert "no snapshots" in chart.trend_svg({"total": []}, [], "empty")
