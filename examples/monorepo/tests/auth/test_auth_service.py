"""AuthService flows, including the XP they award through the XP service."""

from datetime import UTC, datetime, timedelta

import pytest

from auth import (
    AccountLockedError,
    AuthError,
    AuthService,
    InvalidCredentialsError,
    TokenExpiredError,
    TokenInvalidError,
    UserExistsError,
    ValidationError,
)
from auth.passwords import PasswordHasher
from xp import XPEventKind, XPService
from xp.streaks import StreakOutcome

SECRET = b"auth-service-test-secret"
PASSWORD = "opensesame42"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

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
    return AuthService(xp, SECRET, clock=clock, hasher=PasswordHasher(iterations=1_000))


def test_register_creates_user_and_pays_welcome_bonus(auth, xp):
    result = auth.register("Ada", "ada@example.com", PASSWORD, display_name="Ada L.")
    assert result.user.user_id == "u0001"
    assert result.user.username == "ada"
    assert result.xp is not None and result.xp.awarded == 50
    player = xp.get_player("u0001")
    assert (player.display_name, player.xp, player.level) == ("Ada L.", 50, 1)
    assert [e.kind for e in xp.history("u0001")] == [XPEventKind.REGISTRATION]


def test_welcome_bonus_is_only_paid_once_per_player(auth, xp):
    xp.create_player("u0001", "imported")
    result = auth.register("ada", "ada@example.com", PASSWORD)
    assert result.xp is None
    assert xp.get_player("u0001").xp == 0


def test_register_rejects_duplicates(auth):
    auth.register("ada", "ada@example.com", PASSWORD)
    with pytest.raises(UserExistsError, match="taken"):
        auth.register("ADA", "other@example.com", PASSWORD)
    with pytest.raises(UserExistsError, match="email"):
        auth.register("grace", "Ada@Example.com", PASSWORD)


@pytest.mark.parametrize(
    ("username", "email", "password"),
    [("a", "a@example.com", PASSWORD), ("ada", "nope", PASSWORD), ("ada", "a@example.com", "weak")],
)
def test_register_validates_input(auth, xp, username, email, password):
    with pytest.raises(ValidationError):
        auth.register(username, email, password)
    assert not xp.has_player("u0001")


def test_first_login_starts_streak_and_pays_login_xp(auth, xp):
    auth.register("ada", "ada@example.com", PASSWORD)
    result = auth.login("Ada", PASSWORD)
    assert auth.authenticate(result.token) is result.user
    assert result.xp.awarded == 10
    assert result.xp.streak.outcome is StreakOutcome.STARTED
    assert xp.get_player("u0001").xp == 60


def test_second_login_same_day_pays_nothing(auth, xp, clock):
    auth.register("ada", "ada@example.com", PASSWORD)
    auth.login("ada", PASSWORD)
    clock.advance(hours=5)
    again = auth.login("ada", PASSWORD)
    assert again.xp.awarded == 0
    assert again.xp.streak.outcome is StreakOutcome.ALREADY_COUNTED
    assert not again.xp.leveled_up
    assert xp.get_player("u0001").xp == 60


def test_daily_logins_build_a_streak_with_bonus_and_level_up(auth, xp, clock):
    auth.register("ada", "ada@example.com", PASSWORD)
    results = []
    for _ in range(7):
        results.append(auth.login("ada", PASSWORD).xp)
        clock.advance(days=1)
    assert [r.awarded for r in results] == [10, 10, 12, 12, 12, 12, 15]
    assert [r.streak.current for r in results] == [1, 2, 3, 4, 5, 6, 7]
    assert [r.leveled_up for r in results].index(True) == 4  # 50 + 10 + 10 + 12 + 12 + 12 = 106
    assert results[4].levels_gained == [2]
    assert results[6].streak.is_milestone
    player = xp.get_player("u0001")
    assert (player.xp, player.level, player.streak.longest) == (133, 2, 7)


def test_missing_a_day_breaks_the_streak(auth, xp, clock):
    auth.register("ada", "ada@example.com", PASSWORD)
    for _ in range(3):
        auth.login("ada", PASSWORD)
        clock.advance(days=1)
    clock.advance(days=1)
    result = auth.login("ada", PASSWORD).xp
    assert result.streak.outcome is StreakOutcome.BROKEN
    assert (result.streak.current, result.streak.longest) == (1, 3)
    assert result.awarded == 10


def test_wrong_password_and_unknown_user_look_the_same(auth):
    auth.register("ada", "ada@example.com", PASSWORD)
    with pytest.raises(InvalidCredentialsError) as wrong:
        auth.login("ada", "not-the-password1")
    with pytest.raises(InvalidCredentialsError) as unknown:
        auth.login("bob", PASSWORD)
    assert str(wrong.value) == str(unknown.value)


def test_account_locks_after_five_failures_then_unlocks(auth, clock):
    auth.register("ada", "ada@example.com", PASSWORD)
    for _ in range(5):
        with pytest.raises(InvalidCredentialsError):
            auth.login("ada", "bad-password-1")
    with pytest.raises(AccountLockedError) as locked:
        auth.login("ada", PASSWORD)
    assert locked.value.until == clock() + timedelta(minutes=15)
    clock.advance(minutes=15)
    assert auth.login("ada", PASSWORD).user.failed_logins == 0


def test_session_expires_after_a_day(auth, clock):
    auth.register("ada", "ada@example.com", PASSWORD)
    token = auth.login("ada", PASSWORD).token
    clock.advance(hours=24)
    with pytest.raises(TokenExpiredError):
        auth.authenticate(token)


def test_logout_revokes_only_that_session(auth):
    auth.register("ada", "ada@example.com", PASSWORD)
    first = auth.login("ada", PASSWORD).token
    second = auth.login("ada", PASSWORD).token
    auth.logout(first)
    with pytest.raises(TokenInvalidError, match="revoked"):
        auth.authenticate(first)
    assert auth.authenticate(second).username == "ada"


def test_link_token_is_single_use(auth):
    auth.register("ada", "ada@example.com", PASSWORD)
    session = auth.login("ada", PASSWORD).token
    link = auth.issue_link_token(session)
    with pytest.raises(TokenInvalidError):
        auth.authenticate(link)  # a link token is not a session
    assert auth.redeem_link_token(link).username == "ada"
    with pytest.raises(TokenInvalidError, match="revoked"):
        auth.redeem_link_token(link)


def test_deactivated_users_cannot_log_in(auth):
    user = auth.register("ada", "ada@example.com", PASSWORD).user
    user.is_active = False
    with pytest.raises(AuthError, match="deactivated"):
        auth.login("ada", PASSWORD)


def test_new_users_join_the_leaderboard(auth, xp, clock):
    for name in ("ada", "bob", "cyd"):
        auth.register(name, f"{name}@example.com", PASSWORD)
    auth.login("bob", PASSWORD)
    board = xp.leaderboard()
    assert [(e.rank, e.player_id, e.xp) for e in board] == [
        (1, "u0002", 60),
        (2, "u0001", 50),
        (2, "u0003", 50),
    ]
    assert xp.rank_of("u0003") == 2
