"""Account flows: register, login, logout, session checks and chat-account linking.

The auth service embeds the XP service: the first registration of a user pays
the welcome bonus and every successful login counts towards the daily streak.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from auth import passwords
from auth.models import (
    AccountLockedError,
    AuthError,
    InvalidCredentialsError,
    PermissionDeniedError,
    Role,
    TokenInvalidError,
    User,
    UserExistsError,
    ValidationError,
    validate_email,
    validate_username,
)
from auth.tokens import TokenPurpose, TokenSigner
from xp import AwardResult, XPEventKind, XPService

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class RegistrationResult:
    user: User
    xp: AwardResult | None  # None when the player already had their welcome bonus


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str
    xp: AwardResult


class AuthService:
    def __init__(
        self,
        xp_service: XPService,
        secret: bytes,
        clock: Callable[[], datetime] | None = None,
        hasher: passwords.PasswordHasher | None = None,
    ) -> None:
        self._xp = xp_service
        self._clock = clock or (lambda: datetime.now(UTC))
        self._hasher = hasher or passwords.PasswordHasher()
        self._signer = TokenSigner(secret, self._clock)
        self._users: dict[str, User] = {}
        self._by_username: dict[str, User] = {}
        self._emails: set[str] = set()

    def register(
        self, username: str, email: str, password: str, display_name: str | None = None
    ) -> RegistrationResult:
        username, email = validate_username(username), validate_email(email)
        passwords.check_policy(password)
        if username in self._by_username:
            raise UserExistsError(f"username {username!r} is taken")
        if email in self._emails:
            raise UserExistsError("email is already registered")
        user = User(
            user_id=f"u{len(self._users) + 1:04d}",
            username=username,
            email=email,
            password_hash=self._hasher.hash(password),
            created_at=self._clock(),
        )
        self._users[user.user_id] = user
        self._by_username[username] = user
        self._emails.add(email)
        if self._xp.has_player(user.user_id):
            return RegistrationResult(user, None)
        self._xp.create_player(user.user_id, display_name or username)
        bonus = self._xp.award(user.user_id, XPEventKind.REGISTRATION, reason="welcome bonus")
        return RegistrationResult(user, bonus)

    def login(self, username: str, password: str) -> LoginResult:
        user = self._by_username.get(username.strip().lower())
        if user is None:
            raise InvalidCredentialsError()
        now = self._clock()
        if not user.is_active:
            raise AuthError("account is deactivated")
        if user.is_locked(now):
            raise AccountLockedError(user.locked_until)  # type: ignore[arg-type]
        if not self._hasher.verify(password, user.password_hash):
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.failed_logins, user.locked_until = 0, now + LOCKOUT
            raise InvalidCredentialsError()
        user.failed_logins, user.locked_until = 0, None
        if self._hasher.needs_rehash(user.password_hash):
            user.password_hash = self._hasher.hash(password)
        token = self._signer.issue(user.user_id)
        return LoginResult(user, token, self._xp.record_daily_login(user.user_id))

    def authenticate(self, token: str) -> User:
        """The active user a session token belongs to."""
        claims = self._signer.verify(token, TokenPurpose.SESSION)
        user = self._users.get(claims.subject)
        if user is None or not user.is_active:
            raise TokenInvalidError("token subject is not an active user")
        return user

    def logout(self, token: str) -> None:
        self._signer.revoke(self._signer.verify(token, TokenPurpose.SESSION).token_id)

    def issue_link_token(self, session_token: str) -> str:
        """A short-lived, single-use token the user pastes into chat as ``!link <token>``."""
        return self._signer.issue(self.authenticate(session_token).user_id, TokenPurpose.LINK)

    def redeem_link_token(self, link_token: str) -> User:
        claims = self._signer.verify(link_token, TokenPurpose.LINK)
        self._signer.revoke(claims.token_id)
        user = self._users.get(claims.subject)
        if user is None or not user.is_active:
            raise TokenInvalidError("link token subject is not an active user")
        return user

    def change_password(self, session_token: str, old: str, new: str) -> str:
        """Change the password and return a fresh session token; other sessions stay valid."""
        user = self.authenticate(session_token)
        if not self._hasher.verify(old, user.password_hash):
            raise InvalidCredentialsError()
        if old == new:
            raise ValidationError("new password must differ from the old one")
        passwords.check_policy(new)
        user.password_hash = self._hasher.hash(new)
        self.logout(session_token)
        return self._signer.issue(user.user_id)

    # -- admin -----------------------------------------------------------------
    def _admin_target(self, admin_token: str, user_id: str) -> User:
        if self.authenticate(admin_token).role is not Role.ADMIN:
            raise PermissionDeniedError("admin role required")
        try:
            return self._users[user_id]
        except KeyError:
            raise AuthError(f"unknown user: {user_id!r}") from None

    def set_role(self, admin_token: str, user_id: str, role: Role) -> User:
        user = self._admin_target(admin_token, user_id)
        user.role = role
        return user

    def deactivate(self, admin_token: str, user_id: str) -> User:
        user = self._admin_target(admin_token, user_id)
        user.is_active = False
        return user
