"""XP service: players, XP events, levels, daily streaks and the leaderboard."""

from xp.models import (
    AwardResult,
    DailyCapReachedError,
    DuplicatePlayerError,
    InvalidAmountError,
    LeaderboardEntry,
    Player,
    PlayerNotFoundError,
    XPError,
    XPEvent,
    XPEventKind,
)
from xp.service import XPService

__all__ = [
    "AwardResult",
    "DailyCapReachedError",
    "DuplicatePlayerError",
    "InvalidAmountError",
    "LeaderboardEntry",
    "Player",
    "PlayerNotFoundError",
    "XPError",
    "XPEvent",
    "XPEventKind",
    "XPService",
]
