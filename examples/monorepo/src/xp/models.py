"""Domain models and errors for the XP (gamification) service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from xp.streaks import StreakState, StreakUpdate


class XPError(Exception):
    """Base class for every error raised by the XP service."""


class PlayerNotFoundError(XPError):
    """Raised when a player id is not known to the service."""

    def __init__(self, player_id: str) -> None:
        super().__init__(f"unknown player: {player_id!r}")
        self.player_id = player_id


class DuplicatePlayerError(XPError):
    """Raised when a player id is registered twice."""

    def __init__(self, player_id: str) -> None:
        super().__init__(f"player already exists: {player_id!r}")
        self.player_id = player_id


class InvalidAmountError(XPError):
    """Raised when an XP amount is missing, zero or negative."""


class DailyCapReachedError(XPError):
    """Raised when a player has already earned the daily maximum for an event kind."""


class XPEventKind(StrEnum):
    """Why XP was granted (or taken away)."""

    REGISTRATION = "registration"
    LOGIN = "login"
    MESSAGE = "message"
    QUEST = "quest"
    ADMIN_GRANT = "admin_grant"
    ADMIN_REVOKE = "admin_revoke"

    @classmethod
    def parse(cls, value: str) -> XPEventKind:
        """Parse a user-supplied kind, case-insensitively."""
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise XPError(f"unknown event kind: {value!r}") from None

    @property
    def is_admin(self) -> bool:
        return self in (XPEventKind.ADMIN_GRANT, XPEventKind.ADMIN_REVOKE)


@dataclass(frozen=True)
class XPEvent:
    """One entry of a player's XP history."""

    player_id: str
    kind: XPEventKind
    amount: int
    at: datetime
    reason: str = ""


@dataclass
class Player:
    """A player and their current standing."""

    player_id: str
    display_name: str
    xp: int = 0
    level: int = 1
    streak: StreakState = field(default_factory=StreakState)
    joined_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "player_id": self.player_id,
            "display_name": self.display_name,
            "xp": self.xp,
            "level": self.level,
        }


@dataclass(frozen=True)
class LeaderboardEntry:
    """A row of the leaderboard; tied players share a rank."""

    rank: int
    player_id: str
    display_name: str
    xp: int
    level: int


@dataclass(frozen=True)
class AwardResult:
    """The outcome of granting (or revoking) XP for one player."""

    player: Player
    awarded: int
    old_level: int
    new_level: int
    streak: StreakUpdate | None = None

    @property
    def leveled_up(self) -> bool:
        return self.new_level > self.old_level

    @property
    def levels_gained(self) -> list[int]:
        return list(range(self.old_level + 1, self.new_level + 1))
