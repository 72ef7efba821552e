"""Daily activity streaks.

A streak counts consecutive calendar days with at least one login. Longer
streaks earn a multiplier on the daily login reward.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

# Streak length -> multiplier on the login reward, checked longest first.
MILESTONES: tuple[tuple[int, float], ...] = (
    (30, 2.0),
    (7, 1.5),
    (3, 1.2),
)


class StreakError(ValueError):
    """Raised when activity is recorded out of order."""


class StreakOutcome(StrEnum):
    STARTED = "started"
    CONTINUED = "continued"
    ALREADY_COUNTED = "already_counted"
    BROKEN = "broken"


@dataclass
class StreakState:
    """Mutable streak bookkeeping kept on each player."""

    current: int = 0
    longest: int = 0
    last_day: date | None = None


@dataclass(frozen=True)
class StreakUpdate:
    """What happened to a streak when activity was recorded."""

    outcome: StreakOutcome
    current: int
    longest: int
    bonus_multiplier: float

    @property
    def is_milestone(self) -> bool:
        return self.outcome is StreakOutcome.CONTINUED and any(
            self.current == days for days, _ in MILESTONES
        )


def bonus_multiplier(current: int) -> float:
    """Reward multiplier for a streak of ``current`` days."""
    for days, multiplier in MILESTONES:
        if current >= days:
            return multiplier
    return 1.0


def register_activity(state: StreakState, day: date) -> StreakUpdate:
    """Record activity on ``day`` and update ``state`` in place."""
    if state.last_day is None:
        outcome = StreakOutcome.STARTED
        state.current = 1
    elif day < state.last_day:
        raise StreakError(f"activity on {day} precedes last recorded day {state.last_day}")
    elif day == state.last_day:
        outcome = StreakOutcome.ALREADY_COUNTED
    elif day - state.last_day == timedelta(days=1):
        outcome = StreakOutcome.CONTINUED
        state.current += 1
    else:
        outcome = StreakOutcome.BROKEN
        state.current = 1
    state.last_day = day
    state.longest = max(state.longest, state.current)
    return StreakUpdate(outcome, state.current, state.longest, bonus_multiplier(state.current))


def is_at_risk(state: StreakState, today: date) -> bool:
    """True when the streak will be lost unless the player is active today."""
    if state.last_day is None or state.current == 0:
        return False
    return today - state.last_day == timedelta(days=1)
