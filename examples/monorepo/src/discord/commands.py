"""Command parsing and reply formatting for the chat bot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from discord.models import CommandError, CommandName, ParsedCommand, UnknownCommandError

DEFAULT_PREFIX = "!"
DEFAULT_TOP = 5
MAX_TOP = 25

ALIASES: dict[str, CommandName] = {
    "level": CommandName.XP,
    "lvl": CommandName.XP,
    "leaderboard": CommandName.TOP,
    "lb": CommandName.TOP,
}

# (min args, max args) per command.
ARITY: dict[CommandName, tuple[int, int]] = {
    CommandName.XP: (0, 0),
    CommandName.RANK: (0, 0),
    CommandName.STREAK: (0, 0),
    CommandName.TOP: (0, 1),
    CommandName.LINK: (1, 1),
    CommandName.HELP: (0, 0),
}

USAGE: dict[CommandName, str] = {
    CommandName.XP: "{p}xp - your XP, level and progress",
    CommandName.RANK: "{p}rank - your position on the leaderboard",
    CommandName.STREAK: "{p}streak - your daily login streak",
    CommandName.TOP: "{p}top [n] - the n best players (default 5, max 25)",
    CommandName.LINK: "{p}link <token> - link this chat account to your login",
    CommandName.HELP: "{p}help - this message",
}


def parse_command(content: str, prefix: str = DEFAULT_PREFIX) -> ParsedCommand | None:
    """Parse ``content`` as a command; ``None`` means it is ordinary chat."""
    text = content.strip()
    if not text.startswith(prefix) or len(text) == len(prefix):
        return None
    word, *args = text[len(prefix) :].split()
    key = word.lower()
    if key in ALIASES:
        name = ALIASES[key]
    else:
        try:
            name = CommandName(key)
        except ValueError:
            raise UnknownCommandError(word) from None
    low, high = ARITY[name]
    if not low <= len(args) <= high:
        raise CommandError("usage: " + USAGE[name].format(p=prefix))
    return ParsedCommand(name, tuple(args))


def parse_top_limit(args: Sequence[str]) -> int:
    if not args:
        return DEFAULT_TOP
    try:
        limit = int(args[0])
    except ValueError:
        raise CommandError(f"{args[0]!r} is not a number") from None
    if not 1 <= limit <= MAX_TOP:
        raise CommandError(f"pick a number between 1 and {MAX_TOP}")
    return limit


def progress_bar(percent: int, width: int = 10) -> str:
    filled = max(0, min(width, percent * width // 100))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def format_profile(name: str, profile: dict[str, Any]) -> str:
    progress = profile["progress"]
    return (
        f"{name}: level {profile['level']} {profile['title']}, {profile['xp']} XP "
        f"{progress_bar(progress['percent'])} {progress['percent']}% "
        f"({progress['xp_into_level']}/{progress['xp_needed']} to next level)"
    )


def format_leaderboard(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return "Nobody is on the leaderboard yet."
    lines = ["Top players:"]
    for entry in entries:
        name, level, xp = entry["display_name"], entry["level"], entry["xp"]
        lines.append(f"{entry['rank']:>2}. {name} - level {level}, {xp} XP")
    return "\n".join(lines)


def help_text(prefix: str = DEFAULT_PREFIX) -> str:
    return "Commands:\n" + "\n".join(usage.format(p=prefix) for usage in USAGE.values())
