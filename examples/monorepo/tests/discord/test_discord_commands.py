import re

import pytest

from discord.commands import (
    format_leaderboard,
    format_profile,
    help_text,
    parse_command,
    parse_top_limit,
    progress_bar,
)
from discord.models import CommandError, CommandName, ParsedCommand, UnknownCommandError


@pytest.mark.parametrize("content", ["hello there", "", "   ", "!", "what is !xp"])
def test_ordinary_chat_is_not_a_command(content):
    assert parse_command(content) is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("!xp", ParsedCommand(CommandName.XP)),
        ("  !RANK ", ParsedCommand(CommandName.RANK)),
        ("!lvl", ParsedCommand(CommandName.XP)),
        ("!top 5", ParsedCommand(CommandName.TOP, ("5",))),
        ("!lb", ParsedCommand(CommandName.TOP)),
        ("!link abc.def", ParsedCommand(CommandName.LINK, ("abc.def",))),
    ],
)
def test_commands_and_aliases(content, expected):
    assert parse_command(content) == expected


def test_custom_prefix():
    assert parse_command("?streak", prefix="?") == ParsedCommand(CommandName.STREAK)
    assert parse_command("!streak", prefix="?") is None


def test_unknown_command():
    with pytest.raises(UnknownCommandError) as info:
        parse_command("!dance now")
    assert info.value.word == "dance"


@pytest.mark.parametrize(
    ("content", "usage"), [("!link", "!link <token>"), ("!xp me", "!xp"), ("!top 1 2", "!top [n]")]
)
def test_wrong_number_of_arguments_shows_usage(content, usage):
    with pytest.raises(CommandError, match=re.escape(f"usage: {usage}")):
        parse_command(content)


def test_top_limit():
    assert parse_top_limit([]) == 5
    assert parse_top_limit(["25"]) == 25
    with pytest.raises(CommandError, match="not a number"):
        parse_top_limit(["ten"])
    with pytest.raises(CommandError, match="between 1 and 25"):
        parse_top_limit(["0"])


@pytest.mark.parametrize(
    ("percent", "bar"), [(0, "[----------]"), (35, "[###-------]"), (100, "[##########]")]
)
def test_progress_bar(percent, bar):
    assert progress_bar(percent) == bar


def test_format_profile():
    profile = {
        "level": 3,
        "title": "Regular",
        "xp": 450,
        "progress": {"percent": 50, "xp_into_level": 150, "xp_needed": 300},
    }
    assert format_profile("ada", profile) == (
        "ada: level 3 Regular, 450 XP [#####-----] 50% (150/300 to next level)"
    )


def test_format_leaderboard():
    assert format_leaderboard([]) == "Nobody is on the leaderboard yet."
    entries = [
        {"rank": 1, "display_name": "ada", "level": 2, "xp": 120},
        {"rank": 2, "display_name": "bob", "level": 1, "xp": 60},
    ]
    assert format_leaderboard(entries) == (
        "Top players:\n 1. ada - level 2, 120 XP\n 2. bob - level 1, 60 XP"
    )


def test_help_lists_every_command():
    text = help_text("?")
    assert text.startswith("Commands:")
    assert all(f"?{name.value}" in text for name in CommandName)
