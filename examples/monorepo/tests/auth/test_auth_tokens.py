from datetime import UTC, datetime, timedelta

import pytest

from auth.models import TokenExpiredError, TokenInvalidError
from auth.tokens import TokenPurpose, TokenSigner, _b64encode

SECRET = b"0123456789abcdef-test-secret"


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
def signer(clock):
    return TokenSigner(SECRET, clock, ttls={TokenPurpose.SESSION: 3600, TokenPurpose.LINK: 60})


def test_issue_and_verify_roundtrip(signer, clock):
    claims = signer.verify(signer.issue("u0001"))
    assert claims.subject == "u0001"
    assert claims.purpose is TokenPurpose.SESSION
    assert claims.issued_at == int(clock().timestamp())
    assert claims.expires_at == claims.issued_at + 3600


def test_token_ids_are_unique(signer):
    first = signer.verify(signer.issue("u1")).token_id
    second = signer.verify(signer.issue("u1")).token_id
    assert first != second


def test_token_expires_at_ttl(signer, clock):
    token = signer.issue("u1")
    clock.advance(seconds=3599)
    signer.verify(token)
    clock.advance(seconds=1)
    with pytest.raises(TokenExpiredError):
        signer.verify(token)


def test_link_tokens_have_their_own_ttl(signer, clock):
    token = signer.issue("u1", TokenPurpose.LINK)
    clock.advance(seconds=61)
    with pytest.raises(TokenExpiredError):
        signer.verify(token, TokenPurpose.LINK)


def test_wrong_purpose_is_rejected(signer):
    with pytest.raises(TokenInvalidError, match="expected a link token"):
        signer.verify(signer.issue("u1"), TokenPurpose.LINK)


@pytest.mark.parametrize(
    "mangle", [lambda t: t + "0", lambda t: "x" + t, lambda t: t.split(".")[0]]
)
def test_tampered_tokens_are_rejected(signer, mangle):
    with pytest.raises(TokenInvalidError, match="bad token signature"):
        signer.verify(mangle(signer.issue("u1")))


def test_token_from_another_secret_is_rejected(signer, clock):
    other = TokenSigner(b"another-secret-of-16+bytes", clock)
    with pytest.raises(TokenInvalidError):
        signer.verify(other.issue("u1"))


def test_signed_garbage_is_unreadable(signer):
    body = _b64encode(b'{"sub": "u1"}')
    with pytest.raises(TokenInvalidError, match="unreadable token"):
        signer.verify(f"{body}.{signer._sign(body)}")


def test_revoked_token_is_rejected(signer):
    token = signer.issue("u1")
    signer.revoke(signer.verify(token).token_id)
    with pytest.raises(TokenInvalidError, match="revoked"):
        signer.verify(token)


def test_short_secret_is_refused(clock):
    with pytest.raises(ValueError, match="at least 16 bytes"):
        TokenSigner(b"short", clock)
