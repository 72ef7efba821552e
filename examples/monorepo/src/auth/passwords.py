"""Password policy and salted PBKDF2-SHA256 hashing.

Hashes are stored as ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``.
Salts come from an injectable factory; production wiring passes
``os.urandom``-backed salts, while the default is a seeded generator so the
example stays deterministic.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from auth.models import ValidationError

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 10_000
MIN_LENGTH = 8
MAX_LENGTH = 128
SALT_BYTES = 16

SaltFactory = Callable[[], bytes]


def seeded_salt_factory(seed: int = 0) -> SaltFactory:
    """A deterministic salt source, for tests and examples."""
    rng = random.Random(seed)
    return lambda: rng.randbytes(SALT_BYTES)


def check_policy(password: str) -> None:
    """Raise ``ValidationError`` listing every rule ``password`` breaks."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"at most {MAX_LENGTH} characters")
    if not any(ch.isdigit() for ch in password):
        problems.append("a digit")
    if not any(ch.isalpha() for ch in password):
        problems.append("a letter")
    if problems:
        raise ValidationError("password needs " + ", ".join(problems))


def _split(encoded: str) -> tuple[int, bytes, bytes]:
    try:
        algorithm, iterations, salt, digest = encoded.split("$")
        if algorithm != ALGORITHM:
            raise ValueError(f"unsupported algorithm {algorithm!r}")
        return int(iterations), bytes.fromhex(salt), bytes.fromhex(digest)
    except ValueError as exc:
        raise ValueError(f"malformed password hash: {exc}") from None


@dataclass(frozen=True)
class PasswordHasher:
    """Hashes and verifies passwords; ``iterations`` can be raised over time."""

    iterations: int = DEFAULT_ITERATIONS
    salt_factory: SaltFactory = field(default_factory=seeded_salt_factory)

    def hash(self, password: str) -> str:
        salt = self.salt_factory()
        digest = self._derive(password, salt, self.iterations)
        return f"{ALGORITHM}${self.iterations}${salt.hex()}${digest.hex()}"

    def verify(self, password: str, encoded: str) -> bool:
        """Constant-time check of ``password`` against a stored hash."""
        iterations, salt, expected = _split(encoded)
        return hmac.compare_digest(self._derive(password, salt, iterations), expected)

    def needs_rehash(self, encoded: str) -> bool:
        """True when the stored hash used fewer iterations than configured now."""
        iterations, _, _ = _split(encoded)
        return iterations < self.iterations

    @staticmethod
    def _derive(password: str, salt: bytes, iterations: int) -> bytes:
        return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
