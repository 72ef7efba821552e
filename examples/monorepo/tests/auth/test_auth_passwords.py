import pytest

from auth.models import ValidationError, validate_email, validate_username
from auth.passwords import ALGORITHM, PasswordHasher, check_policy, seeded_salt_factory

FAST = PasswordHasher(iterations=1_000)


def test_hash_format_and_roundtrip():
    encoded = FAST.hash("correct horse 1")
    algorithm, iterations, salt, digest = encoded.split("$")
    assert algorithm == ALGORITHM
    assert iterations == "1000"
    assert len(bytes.fromhex(salt)) == 16
    assert len(bytes.fromhex(digest)) == 32
    assert FAST.verify("correct horse 1", encoded)
    assert not FAST.verify("correct horse 2", encoded)


def test_same_password_gets_different_salts():
    first, second = FAST.hash("hunter22"), FAST.hash("hunter22")
    assert first != second
    assert FAST.verify("hunter22", first) and FAST.verify("hunter22", second)


def test_seeded_salts_are_reproducible():
    a, b = seeded_salt_factory(7), seeded_salt_factory(7)
    assert [a(), a()] == [b(), b()]
    assert seeded_salt_factory(8)() != seeded_salt_factory(7)()


def test_needs_rehash_when_iterations_increase():
    encoded = FAST.hash("password9")
    assert not FAST.needs_rehash(encoded)
    assert PasswordHasher(iterations=2_000).needs_rehash(encoded)


@pytest.mark.parametrize(
    "encoded",
    ["", "pbkdf2_sha256$10$zz$00", "md5$10$00$00", "pbkdf2_sha256$ten$00$00"],
)
def test_malformed_hashes_are_rejected(encoded):
    with pytest.raises(ValueError, match="malformed password hash"):
        FAST.verify("whatever1", encoded)


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("short1", "at least 8 characters"),
        ("no digits here", "a digit"),
        ("12345678", "a letter"),
        ("a1" * 65, "at most 128 characters"),
    ],
)
def test_password_policy(password, complaint):
    with pytest.raises(ValidationError, match=complaint):
        check_policy(password)


def test_policy_lists_every_problem():
    with pytest.raises(ValidationError) as info:
        check_policy("abc")
    assert str(info.value) == "password needs at least 8 characters, a digit"


def test_good_password_passes_policy():
    check_policy("s3cret-enough")


def test_username_and_email_are_normalised():
    assert validate_username("  Ada_L ") == "ada_l"
    assert validate_email(" Ada@Example.ORG ") == "ada@example.org"


@pytest.mark.parametrize("username", ["ab", "has space", "x" * 21, "dash-ed"])
def test_bad_usernames(username):
    with pytest.raises(ValidationError):
        validate_username(username)


@pytest.mark.parametrize("email", ["nobody", "a@b", "two@@example.com", "sp ace@example.com"])
def test_bad_emails(email):
    with pytest.raises(ValidationError):
        validate_email(email)
