"""Messages, commands, replies and errors for the chat bot."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class BotError(Exception):
    """Base class for errors raised by the bot."""


class CommandError(BotError):
    """A user mistake in a command; the message is shown to the user."""


class UnknownCommandError(CommandError):
    def __init__(self, word: str) -> None:
        super().__init__(f"unknown command {word!r}, try !help")
        self.word = word


class NotLinkedError(BotError):
    """Raised when a command needs a linked account and the author has none."""


class UpstreamError(BotError):
    """Raised when the XP or auth service rejects a call the bot made."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"upstream error {status}: {message}")
        self.status = status


class CommandName(StrEnum):
    XP = "xp"
    RANK = "rank"
    STREAK = "streak"
    TOP = "top"
    LINK = "link"
    HELP = "help"

    @property
    def needs_link(self) -> bool:
        return self in (CommandName.XP, CommandName.RANK, CommandName.STREAK)


@dataclass(frozen=True)
class ChatMessage:
    """An incoming chat message."""

    message_id: str
    channel_id: str
    author_id: str
    author_name: str
    content: str
    is_bot: bool = False

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> ChatMessage:
        """Build a message from a webhook ``MESSAGE_CREATE`` payload."""
        try:
            author = data["author"]
            return cls(
                message_id=str(data["id"]),
                channel_id=str(data["channel_id"]),
                author_id=str(author["id"]),
                author_name=str(author.get("username", "someone")),
                content=str(data.get("content", "")),
                is_bot=bool(author.get("bot", False)),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise BotError(f"malformed message payload: {exc!r}") from None


@dataclass(frozen=True)
class ParsedCommand:
    name: CommandName
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    """A message the bot sends back; ephemeral replies are shown only to the author."""

    channel_id: str
    content: str
    ephemeral: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"channel_id": self.channel_id, "content": self.content, "ephemeral": self.ephemeral}


@dataclass
class Link:
    """A chat account linked to an auth user (whose id is also their XP player id)."""

    chat_user_id: str
    user_id: str
    linked_at: datetime
    channels: set[str] = field(default_factory=set)
