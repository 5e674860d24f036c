"""Hashing of secrets at rest, and their constant-time verification.

Two kinds of secret, two kinds of hash:

* passwords are chosen by people and guessable, so they get Argon2id (RFC 9106), which makes each
  guess expensive;
* client secrets and bearer tokens are 256+ bits from :mod:`secrets`, which no guessing reaches, so
  a SHA-256 digest is enough, and keeps the token endpoint fast. Digests are compared with
  :func:`hmac.compare_digest` so that a comparison takes the same time wherever it differs.

Argon2id's cost trades an attacker's cost a guess offline against ours a sign-in. The default is a
row of the OWASP Password Storage Cheat Sheet's configuration
(https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id): 7 MiB,
5 passes and one lane, which OWASP rates as strong as its 19 MiB and 2 passes, and which is
Keycloak's default, so that a guess costs the same here as there. It fills 8% fewer blocks than the
19 MiB row and took a fifth less CPU a verification (34.5 to 41.7 ms against 46.1 to 54.3, in two
lanes, on a 2 vCPU AMD EPYC; four alternating runs of 40 in-process). RFC 9106's second recommended
option (64 MiB, 3 passes, 4 lanes) fills five times as many blocks, which made the hash nearly all
of a sign-in's cost.

One lane rather than two: a guess is the same work with either, and two lanes, each on a thread
of its own, halve a sign-in's wait for its hash only where the second core is idle and truly runs
beside the first. In the runs above they did (19.8 to 25.2 ms of wall time against 32.5 to 36.8);
on another machine of the same kind, whose two vCPUs shared the memory's bandwidth, two lanes took
42.0 to 46.3 ms of CPU a verification against 30.9 to 35.6 in one lane, and as long in wall time
(30.7 to 41.6 ms against 31.4 to 37.5): a sign-in in two lanes cost a third more CPU for nothing.
The ``EXPRESSWAY_PASSWORD_HASH_*`` settings choose others (:class:`expressway.config.Settings`).
Every hash encodes its own parameters, so hashes made with other ones keep verifying, and
:func:`rehash_if_needed` gives a successful sign-in the hash to store in their place.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from expressway.config import load_settings


@dataclass(frozen=True)
class PasswordHashParameters:
    """Argon2id's cost: memory in KiB, passes over it, and lanes."""

    memory_kib: int
    time_cost: int
    parallelism: int


@lru_cache(maxsize=1)
def password_hash_parameters() -> PasswordHashParameters:
    """The parameters new hashes get: the process's settings, read once."""
    settings = load_settings()
    return PasswordHashParameters(
        memory_kib=settings.password_hash_memory_kib,
        time_cost=settings.password_hash_time_cost,
        parallelism=settings.password_hash_parallelism,
    )


@lru_cache(maxsize=1)
def _password_hasher() -> PasswordHasher:
    parameters = password_hash_parameters()
    return PasswordHasher(
        memory_cost=parameters.memory_kib,
        time_cost=parameters.time_cost,
        parallelism=parameters.parallelism,
    )


def reload_password_hash_parameters() -> None:
    """Read the parameters from the settings again, for the next hash (tests change them)."""
    password_hash_parameters.cache_clear()
    _password_hasher.cache_clear()
    _dummy_password_hash.cache_clear()
    # Sized by the lanes: the next hash gets a pool for the new ones.
    _hashing.replace()


def hashing_threads(lanes: int) -> int:
    """The threads of the hashing pool for hashes of ``lanes`` lanes: one for every ``lanes``
    cores, and at least one."""
    return max(1, (os.cpu_count() or 1) // lanes)


class _HashingPool:
    """The threads Argon2id runs on, whichever thread asks: one for every ``parallelism`` cores
    (each hash fills its lanes on threads of its own), and at least one; made at the first hash.

    A hash takes its whole memory (7 MiB by default) at once, and glibc's malloc keeps a freed
    block of that size in the arena of the thread that freed it: hashed on a web server's request
    threads (40 in Starlette's pool), resident memory grew by one block for each thread that ever
    hashed (up to eight arenas a core), and a burst of sign-ins asked for 40 blocks at once. On a
    pool of its own the blocks are reused, so memory is bounded by the pool. More hashes at once
    than the cores hold lanes would only share the CPU, and with two lanes a pool as large as the
    cores kept a block more (57 MiB against 38 after concurrent sign-ins on two cores).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def get(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=hashing_threads(password_hash_parameters().parallelism),
                    thread_name_prefix="argon2id",
                )
            return self._pool

    def replace(self) -> None:
        """Let the hashes under way finish on the pool they are on; the next gets a new one."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
            self._pool = None


_hashing = _HashingPool()


def hash_password(password: str) -> str:
    return _hashing.get().submit(_password_hasher().hash, password).result()


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hashing.get().submit(_password_hasher().verify, stored_hash, password).result()
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def rehash_if_needed(stored_hash: str, password: str) -> str | None:
    """A new hash of ``password``, whose ``stored_hash`` it just matched, when that hash was made
    with other parameters than those in use; None when it is current.

    Called after a successful sign-in, the one moment the password is known: older hashes move
    to the current parameters one sign-in at a time, stronger or cheaper alike.
    """
    try:
        stale = _password_hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        stale = True
    return hash_password(password) if stale else None


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of :func:`check_password`: the stored hash it was made against (None: there
    was none, and the dummy check was spent), whether the password matched, and the hash to
    store in its place when it matched one made with other parameters."""

    stored_hash: str | None
    matches: bool
    rehashed: str | None = None


def check_password(stored_hash: str | None, password: str) -> PasswordCheck:
    """A sign-in's password check, the same work whether or not there is a hash to check.

    Sign-ins call it with no database transaction open (see the login pages), then decide with
    what their transaction reads, checking again if the stored hash changed in between.
    """
    if stored_hash is None:
        burn_password_check(password)
        return PasswordCheck(None, matches=False)
    if not verify_password(stored_hash, password):
        return PasswordCheck(stored_hash, matches=False)
    return PasswordCheck(
        stored_hash, matches=True, rehashed=rehash_if_needed(stored_hash, password)
    )


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
