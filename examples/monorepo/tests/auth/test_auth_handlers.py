from datetime import UTC, datetime, timedelta

import pytest

from auth.handlers import (
    handle_link_token,
    handle_login,
    handle_logout,
    handle_me,
    handle_register,
)
from auth.passwords import PasswordHasher
from auth.service import AuthService
from xp import XPService

PASSWORD = "opensesame42"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 10, 20, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def service(clock):
    return AuthService(
        XPService(clock=clock),
        b"handler-tests-secret-key",
        clock=clock,
        hasher=PasswordHasher(iterations=1_000),
    )


def register(service, username="ada", password=PASSWORD):
    body = {"username": username, "email": f"{username}@example.com", "password": password}
    return handle_register(service, {"body": body})


def login(service, username="ada", password=PASSWORD):
    return handle_login(service, {"body": {"username": username, "password": password}})


def bearer(token):
    return {"headers": {"Authorization": f"Bearer {token}"}}


def test_register_returns_201_with_welcome_xp(service):
    response = register(service)
    assert response["status"] == 201
    assert response["body"]["user"]["username"] == "ada"
    assert response["body"]["xp_awarded"] == 50
    assert response["body"]["level"] == 1


def test_register_error_statuses(service):
    assert handle_register(service, {"body": {"username": "ada"}})["status"] == 400
    assert register(service, password="short")["status"] == 400
    register(service)
    duplicate = register(service)
    assert duplicate["status"] == 409
    assert "taken" in duplicate["body"]["error"]


def test_login_reports_xp_and_streak(service, clock):
    register(service)
    first = login(service)
    assert first["status"] == 200
    assert first["body"]["xp"] == {"awarded": 10, "level": 1, "leveled_up": False, "streak": 1}
    clock.advance(days=1)
    assert login(service)["body"]["xp"]["streak"] == 2


def test_login_error_statuses(service):
    register(service)
    assert login(service, password="wrong-password1")["status"] == 401
    for _ in range(4):
        login(service, password="wrong-password1")
    locked = login(service)
    assert locked["status"] == 423
    assert "locked until" in locked["body"]["error"]


def test_me_logout_and_link_token(service):
    register(service)
    token = login(service)["body"]["token"]
    me = handle_me(service, bearer(token))
    assert me == {"status": 200, "body": service.authenticate(token).to_public_dict()}
    link = handle_link_token(service, bearer(token))
    assert link["status"] == 201
    assert service.redeem_link_token(link["body"]["link_token"]).username == "ada"
    assert handle_logout(service, bearer(token))["status"] == 204
    assert handle_me(service, bearer(token))["status"] == 401


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}]
)
def test_missing_or_malformed_bearer_is_401(service, headers):
    response = handle_me(service, {"headers": headers})
    assert response == {"status": 401, "body": {"error": "missing bearer token"}}
