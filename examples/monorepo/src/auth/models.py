"""Users, roles, validation rules and errors for the auth service."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

USERNAME_RE = re.compile(r"^[a-z0-9_]{3,20}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)


class AuthError(Exception):
    """Base class for every error raised by the auth service."""


class ValidationError(AuthError):
    """Raised when registration or password input is malformed."""


class UserExistsError(AuthError):
    """Raised when a username or email is already registered."""


class InvalidCredentialsError(AuthError):
    """Raised for a wrong username/password pair (deliberately vague)."""

    def __init__(self) -> None:
        super().__init__("invalid username or password")


class AccountLockedError(AuthError):
    """Raised while an account is locked after too many failed logins."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"account locked until {until.isoformat()}")
        self.until = until


class PermissionDeniedError(AuthError):
    """Raised when the caller lacks the role an operation requires."""


class TokenError(AuthError):
    """Base class for token problems."""


class TokenInvalidError(TokenError):
    """Raised for malformed, tampered, revoked or wrong-purpose tokens."""


class TokenExpiredError(TokenError):
    """Raised when a token's expiry time has passed."""


class Role(StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"


@dataclass
class User:
    """A registered account. ``user_id`` doubles as the player id in the XP service."""

    user_id: str
    username: str
    email: str
    password_hash: str
    created_at: datetime
    role: Role = Role.MEMBER
    is_active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def to_public_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "username": self.username,
            "role": self.role.value,
            "created_at": self.created_at.isoformat(),
        }


def validate_username(username: str) -> str:
    """Normalise and validate a username: 3-20 of a-z, 0-9 and underscore."""
    normalised = username.strip().lower()
    if not USERNAME_RE.match(normalised):
        raise ValidationError("username must be 3-20 characters of a-z, 0-9 or _")
    return normalised


def validate_email(email: str) -> str:
    normalised = email.strip().lower()
    if not EMAIL_RE.match(normalised):
        raise ValidationError(f"not a valid email address: {email!r}")
    return normalised
