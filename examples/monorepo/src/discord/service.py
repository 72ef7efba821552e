"""The bot itself: routes chat messages to commands and pays XP for chatting.

The bot talks to the XP service only through its public request handlers, the
way it would over HTTP, and to the auth service to redeem link tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from auth import AuthService, TokenError
from discord import commands
from discord.models import (
    BotError,
    ChatMessage,
    CommandError,
    CommandName,
    Link,
    NotLinkedError,
    ParsedCommand,
    Reply,
    UpstreamError,
)
from xp import XPService
from xp import handlers as xp_api

DEFAULT_COOLDOWN = timedelta(seconds=60)


class BotService:
    def __init__(
        self,
        xp_service: XPService,
        auth_service: AuthService,
        clock: Callable[[], datetime] | None = None,
        prefix: str = commands.DEFAULT_PREFIX,
        message_cooldown: timedelta = DEFAULT_COOLDOWN,
    ) -> None:
        self._xp = xp_service
        self._auth = auth_service
        self._clock = clock or (lambda: datetime.now(UTC))
        self._prefix = prefix
        self._cooldown = message_cooldown
        self._links: dict[str, Link] = {}
        self._last_paid: dict[str, datetime] = {}

    @property
    def prefix(self) -> str:
        return self._prefix

    def linked_user(self, chat_user_id: str) -> str | None:
        link = self._links.get(chat_user_id)
        return link.user_id if link else None

    def handle_message(self, message: ChatMessage) -> list[Reply]:
        """Everything the bot says in response to ``message`` (often nothing)."""
        if message.is_bot:
            return []
        try:
            parsed = commands.parse_command(message.content, self._prefix)
            if parsed is None:
                return self._on_chat(message)
            return [self._dispatch(parsed, message)]
        except NotLinkedError:
            text = f"Link your account first: log in and send {self._prefix}link <token>."
            return [Reply(message.channel_id, text, ephemeral=True)]
        except CommandError as exc:
            return [Reply(message.channel_id, f"Sorry, {exc}", ephemeral=True)]

    def _dispatch(self, parsed: ParsedCommand, message: ChatMessage) -> Reply:
        channel, name = message.channel_id, parsed.name
        if name is CommandName.HELP:
            return Reply(channel, commands.help_text(self._prefix), ephemeral=True)
        if name is CommandName.LINK:
            return self._link(parsed.args[0], message)
        if name is CommandName.TOP:
            limit = commands.parse_top_limit(parsed.args)
            body = self._call(xp_api.handle_leaderboard, {"limit": limit})
            return Reply(channel, commands.format_leaderboard(body["entries"]))
        player_id = self._require_link(message.author_id)
        if name is CommandName.STREAK:
            streak = self._call(xp_api.handle_streak, {"player_id": player_id})
            days = "day" if streak["current"] == 1 else "days"
            text = f"{message.author_name}: {streak['current']} {days} in a row"
            return Reply(channel, f"{text} (best {streak['longest']})")
        profile = self._call(xp_api.handle_get_profile, {"player_id": player_id})
        if name is CommandName.RANK:
            text = f"{message.author_name} is #{profile['rank']} with {profile['xp']} XP"
            return Reply(channel, text)
        return Reply(channel, commands.format_profile(message.author_name, profile))

    def _link(self, token: str, message: ChatMessage) -> Reply:
        try:
            user = self._auth.redeem_link_token(token)
        except TokenError as exc:
            raise CommandError(f"that link token did not work ({exc})") from None
        self._links[message.author_id] = Link(message.author_id, user.user_id, self._clock())
        return Reply(message.channel_id, f"Linked! You are now {user.username}.", ephemeral=True)

    def _on_chat(self, message: ChatMessage) -> list[Reply]:
        """Pay message XP to linked users, at most once per cooldown; announce level-ups."""
        player_id = self.linked_user(message.author_id)
        if player_id is None or not message.content.strip():
            return []
        now = self._clock()
        last = self._last_paid.get(message.author_id)
        if last is not None and now - last < self._cooldown:
            return []
        response = xp_api.handle_award(self._xp, {"player_id": player_id, "kind": "message"})
        if response["status"] == 429:  # daily message cap reached: stay quiet
            return []
        body = self._unwrap(response)
        self._last_paid[message.author_id] = now
        if not body["leveled_up"]:
            return []
        text = f"{message.author_name} reached level {body['level']} ({body['title']})!"
        return [Reply(message.channel_id, text)]

    def _require_link(self, chat_user_id: str) -> str:
        player_id = self.linked_user(chat_user_id)
        if player_id is None:
            raise NotLinkedError(chat_user_id)
        return player_id

    def _call(self, handler: Callable[..., dict[str, Any]], request: dict[str, Any]) -> Any:
        return self._unwrap(handler(self._xp, request))

    @staticmethod
    def _unwrap(response: dict[str, Any]) -> Any:
        if response["status"] != 200:
            raise UpstreamError(response["status"], response["body"].get("error", "unknown"))
        return response["body"]

    def daily_digest(self, channel_id: str) -> Reply:
        """The scheduled morning post: the top three and whose streak ends today."""
        board = self._call(xp_api.handle_leaderboard, {"limit": 3})
        lines = [commands.format_leaderboard(board["entries"])]
        yesterday = (self._clock() - timedelta(days=1)).date().isoformat()
        at_risk = []
        for link in self._links.values():
            streak = self._call(xp_api.handle_streak, {"player_id": link.user_id})
            if streak["current"] >= 2 and streak["last_day"] == yesterday:
                at_risk.append(f"{link.user_id} ({streak['current']} days)")
        if at_risk:
            lines.append("Log in today to keep your streak: " + ", ".join(sorted(at_risk)))
        return Reply(channel_id, "\n".join(lines))

    def unlink(self, chat_user_id: str) -> None:
        if self._links.pop(chat_user_id, None) is None:
            raise BotError(f"{chat_user_id} is not linked")
        self._last_paid.pop(chat_user_id, None)
