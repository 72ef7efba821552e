"""HTTP-style handlers for the auth service: dict request in, ``{"status", "body"}`` out."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from auth.models import (
    AccountLockedError,
    AuthError,
    InvalidCredentialsError,
    PermissionDeniedError,
    Role,
    TokenError,
    UserExistsError,
    ValidationError,
)
from auth.service import AuthService

Request = dict[str, Any]
Response = dict[str, Any]
Handler = Callable[[AuthService, Request], Response]

# Most specific first: the first matching class decides the status.
ERROR_STATUS: tuple[tuple[type[AuthError], int], ...] = (
    (ValidationError, 400),
    (InvalidCredentialsError, 401),
    (TokenError, 401),
    (PermissionDeniedError, 403),
    (UserExistsError, 409),
    (AccountLockedError, 423),
    (AuthError, 403),
)


def _handles_errors(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def wrapper(service: AuthService, request: Request) -> Response:
        try:
            return handler(service, request)
        except AuthError as exc:
            status = next(code for cls, code in ERROR_STATUS if isinstance(exc, cls))
            return {"status": status, "body": {"error": str(exc)}}

    return wrapper


def _field(request: Request, name: str) -> str:
    value = request.get("body", {}).get(name)
    if not isinstance(value, str):
        raise ValidationError(f"missing field: {name}")
    return value


def _bearer(request: Request) -> str:
    header = request.get("headers", {}).get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise TokenError("missing bearer token")
    return token


@_handles_errors
def handle_register(service: AuthService, request: Request) -> Response:
    result = service.register(
        _field(request, "username"),
        _field(request, "email"),
        _field(request, "password"),
        request.get("body", {}).get("display_name"),
    )
    body: dict[str, Any] = {"user": result.user.to_public_dict(), "xp_awarded": 0}
    if result.xp is not None:
        body.update(xp_awarded=result.xp.awarded, level=result.xp.new_level)
    return {"status": 201, "body": body}


@_handles_errors
def handle_login(service: AuthService, request: Request) -> Response:
    result = service.login(_field(request, "username"), _field(request, "password"))
    streak = result.xp.streak
    return {
        "status": 200,
        "body": {
            "token": result.token,
            "user": result.user.to_public_dict(),
            "xp": {
                "awarded": result.xp.awarded,
                "level": result.xp.new_level,
                "leveled_up": result.xp.leveled_up,
                "streak": streak.current if streak else 0,
            },
        },
    }


@_handles_errors
def handle_logout(service: AuthService, request: Request) -> Response:
    service.logout(_bearer(request))
    return {"status": 204, "body": {}}


@_handles_errors
def handle_me(service: AuthService, request: Request) -> Response:
    return {"status": 200, "body": service.authenticate(_bearer(request)).to_public_dict()}


@_handles_errors
def handle_link_token(service: AuthService, request: Request) -> Response:
    return {"status": 201, "body": {"link_token": service.issue_link_token(_bearer(request))}}


@_handles_errors
def handle_admin_deactivate(service: AuthService, request: Request) -> Response:
    user = service.deactivate(_bearer(request), _field(request, "user_id"))
    return {"status": 200, "body": {"user_id": user.user_id, "is_active": user.is_active}}


@_handles_errors
def handle_change_password(service: AuthService, request: Request) -> Response:
    token = service.change_password(
        _bearer(request), _field(request, "old_password"), _field(request, "new_password")
    )
    return {"status": 200, "body": {"token": token}}


@_handles_errors
def handle_admin_set_role(service: AuthService, request: Request) -> Response:
    try:
        role = Role(_field(request, "role"))
    except ValueError:
        raise ValidationError(f"unknown role: {request['body']['role']!r}") from None
    user = service.set_role(_bearer(request), _field(request, "user_id"), role)
    return {"status": 200, "body": user.to_public_dict()}
