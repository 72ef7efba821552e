"""Auth service: users, password hashing, signed tokens and login/registration flows."""

from auth.models import (
    AccountLockedError,
    AuthError,
    InvalidCredentialsError,
    Role,
    TokenError,
    TokenExpiredError,
    TokenInvalidError,
    User,
    UserExistsError,
    ValidationError,
)
from auth.service import AuthService, LoginResult, RegistrationResult

__all__ = [
    "AccountLockedError",
    "AuthError",
    "AuthService",
    "InvalidCredentialsError",
    "LoginResult",
    "RegistrationResult",
    "Role",
    "TokenError",
    "TokenExpiredError",
    "TokenInvalidError",
    "User",
    "UserExistsError",
    "ValidationError",
]
