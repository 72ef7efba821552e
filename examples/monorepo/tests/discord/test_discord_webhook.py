import json
from datetime import UTC, datetime

import pytest

from auth import AuthService
from auth.passwords import PasswordHasher
from discord import BotService
from discord.handlers import SIGNATURE_HEADER, handle_webhook, sign
from xp import XPService

SECRET = b"webhook-signing-secret"
PASSWORD = "opensesame42"


def fixed_clock() -> datetime:
    return datetime(2024, 7, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def services():
    xp = XPService(clock=fixed_clock)
    auth = AuthService(
        xp, b"webhook-auth-secret-key", clock=fixed_clock, hasher=PasswordHasher(1_000)
    )
    return xp, auth, BotService(xp, auth, clock=fixed_clock)


def deliver(bot, event, secret=SECRET):
    raw = json.dumps(event)
    return handle_webhook(
        bot, {"headers": {SIGNATURE_HEADER: sign(secret, raw)}, "raw_body": raw}, SECRET
    )


def message_event(content, author_id="42", username="ada"):
    return {
        "type": "MESSAGE_CREATE",
        "data": {
            "id": "m1",
            "channel_id": "general",
            "content": content,
            "author": {"id": author_id, "username": username},
        },
    }


def test_ping_gets_pong(services):
    assert deliver(services[2], {"type": "PING"}) == {"status": 200, "body": {"type": "PONG"}}


def test_bad_signature_is_rejected(services):
    response = deliver(services[2], {"type": "PING"}, secret=b"not-the-right-secret")
    assert response == {"status": 401, "body": {"error": "bad signature"}}


def test_missing_body(services):
    assert handle_webhook(services[2], {"headers": {}}, SECRET)["status"] == 400


def test_unsupported_event_type(services):
    response = deliver(services[2], {"type": "GUILD_CREATE"})
    assert response == {"status": 400, "body": {"error": "unsupported event type: 'GUILD_CREATE'"}}


def test_malformed_message_payload(services):
    response = deliver(services[2], {"type": "MESSAGE_CREATE", "data": {"id": "m1"}})
    assert response["status"] == 400
    assert "malformed message payload" in response["body"]["error"]


def test_message_create_runs_commands_and_pays_xp(services):
    xp, auth, bot = services
    auth.register("ada", "ada@example.com", PASSWORD)
    link_token = auth.issue_link_token(auth.login("ada", PASSWORD).token)

    linked = deliver(bot, message_event(f"!link {link_token}"))
    assert linked["body"]["replies"] == [
        {"channel_id": "general", "content": "Linked! You are now ada.", "ephemeral": True}
    ]
    assert deliver(bot, message_event("good morning"))["body"] == {"replies": []}
    assert xp.get_player("u0001").xp == 65

    rank = deliver(bot, message_event("!rank"))
    assert rank["status"] == 200
    assert rank["body"]["replies"][0]["content"] == "ada is #1 with 65 XP"
