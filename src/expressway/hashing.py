"""Hashing of secrets at rest, and their constant-time verification.

Two kinds of secret, two kinds of hash:

* passwords are chosen by people and guessable, so they get Argon2id (RFC 9106), which makes each
  guess expensive;
* client secrets and bearer tokens are 256+ bits from :mod:`secrets`, which no guessing reaches, so
  a SHA-256 digest is enough, and keeps the token endpoint fast. Digests are compared with
  :func:`hmac.compare_digest` so that a comparison takes the same time wherever it differs.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@lru_cache(maxsize=1)
def _password_hasher() -> PasswordHasher:
    # RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes), argon2-cffi's default.
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _password_hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _password_hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_password_hash() -> str:
    return hash_password("expressway-dummy-password-for-timing")


def burn_password_check(password: str) -> None:
    """Spend the time of a password check for a user that does not exist.

    Without it, a login for an unknown e-mail answers measurably faster than one for a known
    e-mail, which tells an attacker which accounts exist.
    """
    verify_password(_dummy_password_hash(), password)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest of a high-entropy secret."""
    return hashlib.sha256(token.encode()).hexdigest()


def verify_token(stored_digest: str, token: str) -> bool:
    return hmac.compare_digest(stored_digest, hash_token(token))
