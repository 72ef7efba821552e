"""Bot flows against real auth and XP services."""

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from auth import AuthService
from auth.passwords import PasswordHasher
from discord import BotService, ChatMessage
from xp import XPService

PASSWORD = "opensesame42"
_ids = count(1)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 6, 3, 18, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def xp(clock):
    return XPService(clock=clock)


@pytest.fixture
def auth(xp, clock):
    return AuthService(xp, b"discord-tests-secret-key", clock=clock, hasher=PasswordHasher(1_000))


@pytest.fixture
def bot(xp, auth, clock):
    return BotService(xp, auth, clock=clock)


def say(bot, content, author="chat-ada", name="ada", is_bot=False):
    message = ChatMessage(str(next(_ids)), "general", author, name, content, is_bot)
    return [reply.content for reply in bot.handle_message(message)]


def link(bot, auth, username="ada", author="chat-ada"):
    """Register, log in and link a chat account; returns the user id."""
    user = auth.register(username, f"{username}@example.com", PASSWORD).user
    session = auth.login(username, PASSWORD).token
    assert say(bot, f"!link {auth.issue_link_token(session)}", author, username) == [
        f"Linked! You are now {username}."
    ]
    return user.user_id


def chat(bot, clock, times, author="chat-ada", name="ada"):
    replies = []
    for _ in range(times):
        replies += say(bot, "gg everyone", author, name)
        clock.advance(seconds=61)
    return replies


def test_link_connects_chat_account_to_user(bot, auth):
    user_id = link(bot, auth)
    assert bot.linked_user("chat-ada") == user_id
    assert bot.linked_user("chat-bob") is None


def test_bad_or_reused_link_token(bot, auth):
    assert say(bot, "!link nonsense") == [
        "Sorry, that link token did not work (bad token signature)"
    ]
    auth.register("ada", "ada@example.com", PASSWORD)
    token = auth.issue_link_token(auth.login("ada", PASSWORD).token)
    say(bot, f"!link {token}")
    assert "token has been revoked" in say(bot, f"!link {token}", author="chat-eve")[0]
    assert bot.linked_user("chat-eve") is None


def test_xp_shows_level_title_and_progress(bot, auth):
    link(bot, auth)
    # 50 welcome bonus + 10 for the first login of the day
    assert say(bot, "!xp") == [
        "ada: level 1 Newcomer, 60 XP [######----] 60% (60/100 to next level)"
    ]
    assert say(bot, "!lvl") == say(bot, "!xp")


def test_commands_need_a_linked_account(bot):
    for command in ("!xp", "!rank", "!streak"):
        assert say(bot, command) == ["Link your account first: log in and send !link <token>."]


def test_chatting_pays_xp_with_cooldown(bot, auth, xp, clock):
    user_id = link(bot, auth)
    say(bot, "hello")
    say(bot, "hello again")  # within the 60 second cooldown: not paid
    assert xp.get_player(user_id).xp == 65
    clock.advance(seconds=60)
    say(bot, "and again")
    assert xp.get_player(user_id).xp == 70


def test_unlinked_users_and_bots_earn_nothing(bot, auth, xp):
    user_id = link(bot, auth)
    assert say(bot, "hi", author="chat-stranger") == []
    assert say(bot, "beep", is_bot=True) == []
    assert say(bot, "   ") == []
    assert xp.get_player(user_id).xp == 60


def test_level_up_is_announced(bot, auth, xp, clock):
    user_id = link(bot, auth)
    replies = chat(bot, clock, 8)  # 60 + 8 * 5 = 100 XP
    assert replies == ["ada reached level 2 (Newcomer)!"]
    assert xp.get_player(user_id).level == 2
    assert say(bot, "!xp") == [
        "ada: level 2 Newcomer, 100 XP [----------] 0% (0/200 to next level)"
    ]


def test_daily_message_cap_then_next_day(bot, auth, xp, clock):
    user_id = link(bot, auth)
    chat(bot, clock, 12)
    assert xp.get_player(user_id).xp == 60 + 50  # capped at 50 XP of messages per day
    clock.advance(days=1)
    chat(bot, clock, 1)
    assert xp.get_player(user_id).xp == 115


def test_several_level_ups_reach_a_new_title(bot, auth, xp, clock):
    link(bot, auth)
    replies = []
    for _ in range(5):
        replies += chat(bot, clock, 10)
        clock.advance(days=1)
    assert replies == ["ada reached level 2 (Newcomer)!", "ada reached level 3 (Regular)!"]
    assert say(bot, "!xp")[0].startswith("ada: level 3 Regular, 310 XP")


def test_rank_and_top(bot, auth, clock):
    link(bot, auth, "ada", "chat-ada")
    link(bot, auth, "bob", "chat-bob")
    link(bot, auth, "cyd", "chat-cyd")
    chat(bot, clock, 3, author="chat-bob", name="bob")
    assert say(bot, "!rank", "chat-bob", "bob") == ["bob is #1 with 75 XP"]
    assert say(bot, "!rank", "chat-cyd", "cyd") == ["cyd is #2 with 60 XP"]
    assert say(bot, "!top 2") == [
        "Top players:\n 1. bob - level 1, 75 XP\n 2. ada - level 1, 60 XP"
    ]
    assert say(bot, "!lb")[0].count("\n") == 3


def test_top_on_an_empty_server(bot):
    assert say(bot, "!top") == ["Nobody is on the leaderboard yet."]


def test_streak_follows_daily_logins(bot, auth, clock):
    link(bot, auth)
    assert say(bot, "!streak") == ["ada: 1 day in a row (best 1)"]
    for _ in range(3):
        clock.advance(days=1)
        auth.login("ada", PASSWORD)
    assert say(bot, "!streak") == ["ada: 4 days in a row (best 4)"]
    clock.advance(days=2)
    auth.login("ada", PASSWORD)
    assert say(bot, "!streak") == ["ada: 1 day in a row (best 4)"]


def test_command_errors_are_explained(bot):
    assert say(bot, "!dance") == ["Sorry, unknown command 'dance', try !help"]
    assert say(bot, "!top 99") == ["Sorry, pick a number between 1 and 25"]
    assert say(bot, "!link") == [
        "Sorry, usage: !link <token> - link this chat account to your login"
    ]
    assert say(bot, "!help")[0].startswith("Commands:\n!xp")
