"""HMAC-signed, expiring tokens.

A token is ``<base64url(JSON claims)>.<hex HMAC-SHA256 of that part>``. The
clock is injectable, so expiry is testable without sleeping.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from auth.models import TokenExpiredError, TokenInvalidError

MIN_SECRET_BYTES = 16


class TokenPurpose(StrEnum):
    SESSION = "session"
    LINK = "link"  # one-shot token that links a chat account to a user


DEFAULT_TTLS: Mapping[TokenPurpose, int] = {
    TokenPurpose.SESSION: 60 * 60 * 24,
    TokenPurpose.LINK: 60 * 10,
}


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    purpose: TokenPurpose
    issued_at: int
    expires_at: int
    token_id: str


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues, verifies and revokes tokens signed with a shared secret."""

    def __init__(
        self,
        secret: bytes,
        clock: Callable[[], datetime],
        ttls: Mapping[TokenPurpose, int] | None = None,
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._clock = clock
        self._ttls = dict(DEFAULT_TTLS if ttls is None else ttls)
        self._ids = itertools.count(1)
        self._revoked: set[str] = set()

    def issue(self, subject: str, purpose: TokenPurpose = TokenPurpose.SESSION) -> str:
        now = int(self._clock().timestamp())
        claims = {
            "sub": subject,
            "pur": purpose.value,
            "iat": now,
            "exp": now + self._ttls[purpose],
            "jti": f"t{next(self._ids)}",
        }
        body = _b64encode(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str, purpose: TokenPurpose = TokenPurpose.SESSION) -> TokenClaims:
        """Return the claims of a valid token or raise a ``TokenError``."""
        body, dot, signature = token.partition(".")
        if not dot or not body or not hmac.compare_digest(self._sign(body), signature):
            raise TokenInvalidError("bad token signature")
        try:
            raw = json.loads(_b64decode(body))
            claims = TokenClaims(
                raw["sub"], TokenPurpose(raw["pur"]), raw["iat"], raw["exp"], raw["jti"]
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenInvalidError(f"unreadable token: {exc}") from None
        if claims.purpose is not purpose:
            raise TokenInvalidError(f"expected a {purpose.value} token")
        if claims.token_id in self._revoked:
            raise TokenInvalidError("token has been revoked")
        if self._clock().timestamp() >= claims.expires_at:
            raise TokenExpiredError("token has expired")
        return claims

    def refresh(self, token: str) -> str:
        """Swap a session token for a fresh one once less than half its lifetime is left."""
        claims = self.verify(token, TokenPurpose.SESSION)
        remaining = claims.expires_at - self._clock().timestamp()
        if remaining > self._ttls[TokenPurpose.SESSION] / 2:
            return token
        self.revoke(claims.token_id)
        return self.issue(claims.subject, TokenPurpose.SESSION)

    def revoke(self, token_id: str) -> None:
        self._revoked.add(token_id)

    def _sign(self, body: str) -> str:
        return hmac.new(self._secret, body.encode("utf-8"), hashlib.sha256).hexdigest()
