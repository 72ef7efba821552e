"""Webhook entry point for the chat platform.

The platform POSTs events as JSON and signs the raw body with a shared secret
(``X-Signature-SHA256`` header, hex HMAC-SHA256). The handler verifies the
signature, routes the event and returns ``{"status", "body"}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from discord.models import BotError, ChatMessage, UpstreamError
from discord.service import BotService

SIGNATURE_HEADER = "X-Signature-SHA256"


def sign(secret: bytes, raw_body: str) -> str:
    """The signature the platform sends for ``raw_body``."""
    return hmac.new(secret, raw_body.encode("utf-8"), hashlib.sha256).hexdigest()


def _error(status: int, message: str) -> dict[str, Any]:
    return {"status": status, "body": {"error": message}}


def handle_webhook(bot: BotService, request: dict[str, Any], secret: bytes) -> dict[str, Any]:
    """Handle one webhook delivery: ``request = {"headers": {...}, "raw_body": "<json>"}``."""
    raw_body = request.get("raw_body")
    if not isinstance(raw_body, str):
        return _error(400, "missing body")
    signature = request.get("headers", {}).get(SIGNATURE_HEADER, "")
    if not hmac.compare_digest(sign(secret, raw_body), signature):
        return _error(401, "bad signature")
    try:
        event = json.loads(raw_body)
    except json.JSONDecodeError:
        return _error(400, "body is not JSON")
    if not isinstance(event, dict):
        return _error(400, "event must be an object")

    kind = event.get("type")
    if kind == "PING":
        return {"status": 200, "body": {"type": "PONG"}}
    if kind != "MESSAGE_CREATE":
        return _error(400, f"unsupported event type: {kind!r}")
    try:
        message = ChatMessage.from_payload(event.get("data", {}))
        replies = bot.handle_message(message)
    except UpstreamError as exc:
        return _error(502, str(exc))
    except BotError as exc:
        return _error(400, str(exc))
    return {"status": 200, "body": {"replies": [reply.to_dict() for reply in replies]}}


def handle_scheduled_digest(bot: BotService, request: dict[str, Any]) -> dict[str, Any]:
    """Called by the scheduler each morning with ``{"channel_id": ...}``."""
    channel_id = request.get("channel_id")
    if not isinstance(channel_id, str) or not channel_id:
        return _error(400, "channel_id is required")
    try:
        reply = bot.daily_digest(channel_id)
    except UpstreamError as exc:
        return _error(502, str(exc))
    return {"status": 200, "body": {"replies": [reply.to_dict()]}}


def handle_health(bot: BotService, request: dict[str, Any]) -> dict[str, Any]:
    """Liveness probe for the load balancer."""
    return {"status": 200, "body": {"ok": True, "prefix": bot.prefix}}
