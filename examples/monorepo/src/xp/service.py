"""The XP service: creates players, awards XP, tracks streaks and ranks players."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

from xp import levels
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
from xp.streaks import StreakOutcome, register_activity

Clock = Callable[[], datetime]

DEFAULT_REWARDS: Mapping[XPEventKind, int] = {
    XPEventKind.REGISTRATION: 50,
    XPEventKind.LOGIN: 10,
    XPEventKind.MESSAGE: 5,
    XPEventKind.QUEST: 100,
}
# Maximum XP a player can earn per calendar day from each capped kind.
DAILY_CAPS: Mapping[XPEventKind, int] = {XPEventKind.MESSAGE: 50}
MAX_DISPLAY_NAME = 32


def _utc_now() -> datetime:
    return datetime.now(UTC)


class XPService:
    """In-memory XP service. ``clock`` is injectable so days and streaks are testable."""

    def __init__(
        self,
        clock: Clock | None = None,
        rewards: Mapping[XPEventKind, int] | None = None,
        daily_caps: Mapping[XPEventKind, int] | None = None,
    ) -> None:
        self._clock = clock or _utc_now
        self._rewards = dict(DEFAULT_REWARDS if rewards is None else rewards)
        self._caps = dict(DAILY_CAPS if daily_caps is None else daily_caps)
        self._players: dict[str, Player] = {}
        self._events: list[XPEvent] = []
        self._earned_today: dict[tuple[str, XPEventKind, date], int] = defaultdict(int)

    def create_player(self, player_id: str, display_name: str) -> Player:
        player_id, display_name = player_id.strip(), display_name.strip()
        if not player_id:
            raise XPError("player id must not be empty")
        if not display_name or len(display_name) > MAX_DISPLAY_NAME:
            raise XPError(f"display name must be 1-{MAX_DISPLAY_NAME} characters")
        if player_id in self._players:
            raise DuplicatePlayerError(player_id)
        player = Player(player_id, display_name, joined_at=self._clock())
        self._players[player_id] = player
        return player

    def get_player(self, player_id: str) -> Player:
        try:
            return self._players[player_id]
        except KeyError:
            raise PlayerNotFoundError(player_id) from None

    def has_player(self, player_id: str) -> bool:
        return player_id in self._players

    def award(
        self, player_id: str, kind: XPEventKind, amount: int | None = None, reason: str = ""
    ) -> AwardResult:
        """Grant XP for ``kind``; ``amount`` defaults to the configured reward."""
        player = self.get_player(player_id)
        if kind is XPEventKind.ADMIN_REVOKE:
            raise XPError("use revoke() to take XP away")
        if amount is None:
            if kind not in self._rewards:
                raise InvalidAmountError(f"no default reward for {kind.value!r}")
            amount = self._rewards[kind]
        if amount <= 0:
            raise InvalidAmountError(f"amount must be positive, got {amount}")
        amount = self._apply_daily_cap(player_id, kind, amount)
        return self._apply(player, kind, amount, reason)

    def record_daily_login(self, player_id: str) -> AwardResult:
        """Count today towards the player's streak and pay the (boosted) login reward once."""
        player = self.get_player(player_id)
        update = register_activity(player.streak, self._clock().date())
        if update.outcome is StreakOutcome.ALREADY_COUNTED:
            return AwardResult(player, 0, player.level, player.level, update)
        amount = round(self._rewards[XPEventKind.LOGIN] * update.bonus_multiplier)
        result = self._apply(
            player, XPEventKind.LOGIN, amount, f"daily login, day {update.current}"
        )
        return AwardResult(player, result.awarded, result.old_level, result.new_level, update)

    def revoke(self, player_id: str, amount: int, reason: str) -> AwardResult:
        """Admin correction: remove XP (never below zero); the level may drop."""
        player = self.get_player(player_id)
        if amount <= 0:
            raise InvalidAmountError(f"amount must be positive, got {amount}")
        if not reason.strip():
            raise XPError("a reason is required when revoking XP")
        return self._apply(player, XPEventKind.ADMIN_REVOKE, -min(amount, player.xp), reason)

    def _apply_daily_cap(self, player_id: str, kind: XPEventKind, amount: int) -> int:
        cap = self._caps.get(kind)
        if cap is None:
            return amount
        key = (player_id, kind, self._clock().date())
        remaining = cap - self._earned_today[key]
        if remaining <= 0:
            raise DailyCapReachedError(f"daily {kind.value} cap of {cap} XP reached")
        granted = min(amount, remaining)
        self._earned_today[key] += granted
        return granted

    def _apply(self, player: Player, kind: XPEventKind, amount: int, reason: str) -> AwardResult:
        old_level = player.level
        player.xp = max(0, player.xp + amount)
        player.level = levels.level_for_xp(player.xp)
        self._events.append(XPEvent(player.player_id, kind, amount, self._clock(), reason))
        return AwardResult(player, amount, old_level, player.level)

    def history(self, player_id: str, limit: int | None = None) -> list[XPEvent]:
        """A player's events, newest first."""
        self.get_player(player_id)
        events = [event for event in reversed(self._events) if event.player_id == player_id]
        return events if limit is None else events[:limit]

    def leaderboard(self, limit: int = 10) -> list[LeaderboardEntry]:
        """Top players by XP; ties share a rank (1, 2, 2, 4) and are ordered by id."""
        if limit < 1:
            raise XPError("limit must be at least 1")
        ordered = sorted(self._players.values(), key=lambda p: (-p.xp, p.player_id))
        entries: list[LeaderboardEntry] = []
        rank, previous_xp = 0, None
        for position, player in enumerate(ordered, start=1):
            if len(entries) == limit:
                break
            if player.xp != previous_xp:
                rank, previous_xp = position, player.xp
            entries.append(
                LeaderboardEntry(
                    rank, player.player_id, player.display_name, player.xp, player.level
                )
            )
        return entries

    def rank_of(self, player_id: str) -> int:
        player = self.get_player(player_id)
        return 1 + sum(1 for other in self._players.values() if other.xp > player.xp)
