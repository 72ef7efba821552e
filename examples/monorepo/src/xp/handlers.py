"""Request handlers: the XP service's public API.

Every handler takes the service and an already-decoded JSON request (a dict)
and returns ``{"status": <http status>, "body": <dict>}``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from xp import levels
from xp.models import DailyCapReachedError, Player, PlayerNotFoundError, XPError, XPEventKind
from xp.service import XPService

Request = dict[str, Any]
Response = dict[str, Any]
Handler = Callable[[XPService, Request], Response]

MAX_LEADERBOARD = 100


def _ok(body: dict[str, Any], status: int = 200) -> Response:
    return {"status": status, "body": body}


def _error(status: int, message: str) -> Response:
    return {"status": status, "body": {"error": message}}


def _handles_errors(handler: Handler) -> Handler:
    """Map service exceptions onto HTTP statuses."""

    @functools.wraps(handler)
    def wrapper(service: XPService, request: Request) -> Response:
        try:
            return handler(service, request)
        except PlayerNotFoundError as exc:
            return _error(404, str(exc))
        except DailyCapReachedError as exc:
            return _error(429, str(exc))
        except XPError as exc:
            return _error(400, str(exc))

    return wrapper


def _require_str(request: Request, key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or not value.strip():
        raise XPError(f"{key!r} must be a non-empty string")
    return value.strip()


def _optional_int(request: Request, key: str, default: int | None) -> int | None:
    value = request.get(key, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise XPError(f"{key!r} must be an integer")
    return value


def _profile(service: XPService, player: Player) -> dict[str, Any]:
    progress = levels.progress(player.xp)
    return {
        **player.to_dict(),
        "rank": service.rank_of(player.player_id),
        "title": levels.title_for_level(player.level),
        "progress": {
            "percent": progress.percent,
            "xp_into_level": progress.xp_into_level,
            "xp_needed": progress.xp_needed,
        },
    }


@_handles_errors
def handle_get_profile(service: XPService, request: Request) -> Response:
    player = service.get_player(_require_str(request, "player_id"))
    return _ok(_profile(service, player))


@_handles_errors
def handle_award(service: XPService, request: Request) -> Response:
    kind = XPEventKind.parse(_require_str(request, "kind"))
    if kind.is_admin:
        return _error(403, "admin grants must go through the admin API")
    amount = _optional_int(request, "amount", None)
    result = service.award(
        _require_str(request, "player_id"), kind, amount, str(request.get("reason", ""))
    )
    return _ok(
        {
            "awarded": result.awarded,
            "xp": result.player.xp,
            "level": result.new_level,
            "leveled_up": result.leveled_up,
            "levels_gained": result.levels_gained,
            "title": levels.title_for_level(result.new_level),
        }
    )


@_handles_errors
def handle_leaderboard(service: XPService, request: Request) -> Response:
    limit = _optional_int(request, "limit", 10)
    if limit is None or not 1 <= limit <= MAX_LEADERBOARD:
        raise XPError(f"'limit' must be between 1 and {MAX_LEADERBOARD}")
    entries = service.leaderboard(limit)
    return _ok({"entries": [entry.__dict__ for entry in entries]})


@_handles_errors
def handle_streak(service: XPService, request: Request) -> Response:
    player = service.get_player(_require_str(request, "player_id"))
    streak = player.streak
    last_day = streak.last_day.isoformat() if streak.last_day else None
    return _ok({"current": streak.current, "longest": streak.longest, "last_day": last_day})


@_handles_errors
def handle_history(service: XPService, request: Request) -> Response:
    events = service.history(
        _require_str(request, "player_id"), _optional_int(request, "limit", None)
    )
    return _ok(
        {
            "events": [
                {
                    "kind": e.kind.value,
                    "amount": e.amount,
                    "at": e.at.isoformat(),
                    "reason": e.reason,
                }
                for e in events
            ]
        }
    )


@_handles_errors
def handle_admin_adjust(service: XPService, request: Request) -> Response:
    """Grant or revoke XP by hand; requires ``role == "admin"``."""
    if request.get("role") != "admin":
        return _error(403, "admin role required")
    player_id = _require_str(request, "player_id")
    amount = _optional_int(request, "amount", None)
    if not amount:
        raise XPError("'amount' must be a non-zero integer")
    reason = _require_str(request, "reason")
    if amount > 0:
        result = service.award(player_id, XPEventKind.ADMIN_GRANT, amount, reason)
    else:
        result = service.revoke(player_id, -amount, reason)
    return _ok({"xp": result.player.xp, "level": result.new_level, "delta": result.awarded})
