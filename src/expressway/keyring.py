"""Signing keys sealed at rest and opened in memory: what the tenant's keys and each workforce
org's keys have in common.

A key set has a ``current`` key that signs, a ``next`` one published ahead of rotation and, after
a rotation, a ``previous`` one that still verifies. Private keys are sealed in the database; a
process opens a key set once and keeps it, and opens it again when it meets a ``kid`` it does not
know, which means another replica rotated: at most once every :data:`MISS_RELOAD_SECONDS` per
owner, since anyone can send a token naming a made-up ``kid``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from joserfc.jwk import KeySet, RSAKey

from expressway import ids, jose
from expressway.sealing import Sealer

PUBLISHED_STATES = ("current", "next", "previous")
OwnerT = TypeVar("OwnerT")

#: The states a new key set starts with.
INITIAL_STATES = ("current", "next")
#: How often, at most, an unknown ``kid`` opens an owner's key set again: each opening reads the
#: database and opens the current private key (its unsealing and parsing), under a lock every
#: verification of the process waits on, so tokens naming made-up kids could otherwise keep a
#: process doing nothing else. A key rotated by another replica is seen within this time.
MISS_RELOAD_SECONDS = 5.0


class StoredKey(Protocol):
    """The columns a key row has, whatever system it belongs to."""

    @property
    def kid(self) -> str: ...
    @property
    def alg(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def private_pem_sealed(self) -> str: ...
    @property
    def public_jwk(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class NewKey:
    """A freshly generated key, ready to be stored as a row."""

    kid: str
    alg: str
    private_pem_sealed: str
    public_jwk: dict[str, Any]


def generate_sealed_key(sealer: Sealer, alg: str = "RS256") -> NewKey:
    kid = ids.random_id(24)
    key = jose.generate_signing_key(kid, alg)
    return NewKey(
        kid=kid,
        alg=alg,
        private_pem_sealed=sealer.seal(jose.private_key_to_pem(key)),
        public_jwk=jose.public_jwk(key),
    )


@dataclass(frozen=True)
class OpenedKeys:
    current: RSAKey
    jwks: list[dict[str, Any]]
    verification: KeySet

    def knows(self, kid: object) -> bool:
        return not isinstance(kid, str) or any(k.get("kid") == kid for k in self.jwks)


def open_keys(rows: Iterable[StoredKey], sealer: Sealer, *, missing: str) -> OpenedKeys:
    """Open the published keys among ``rows`` (oldest first); ``missing`` says what to run
    when there is no current key."""
    published = [row for row in rows if row.state in PUBLISHED_STATES]
    current = next((row for row in published if row.state == "current"), None)
    if current is None:
        raise RuntimeError(missing)
    jwks = [dict(row.public_jwk) for row in published]
    return OpenedKeys(
        current=jose.private_key_from_pem(
            sealer.open(current.private_pem_sealed), current.kid, current.alg
        ),
        jwks=jwks,
        verification=jose.key_set(jwks),
    )


class KeyCache(Generic[OwnerT]):
    """Opened key sets by owner, loaded on first use and reloaded on an unknown ``kid``."""

    def __init__(
        self, load: Callable[[OwnerT], OpenedKeys], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._load = load
        self._clock = clock
        self._lock = threading.Lock()
        self._opened: dict[OwnerT, OpenedKeys] = {}
        #: When an unknown ``kid`` last opened each owner's keys again.
        self._reopened: dict[OwnerT, float] = {}

    def get(self, owner: OwnerT, *, kid: object = None) -> OpenedKeys:
        """The owner's keys; opened again when they do not know ``kid``, unless that was done
        less than :data:`MISS_RELOAD_SECONDS` ago (the keys as they are then: a ``kid`` they do
        not know verifies nothing)."""
        with self._lock:
            opened = self._opened.get(owner)
            if opened is None:
                opened = self._opened[owner] = self._load(owner)
            elif not opened.knows(kid):
                now, last = self._clock(), self._reopened.get(owner)
                if last is None or now - last >= MISS_RELOAD_SECONDS:
                    self._reopened[owner] = now
                    opened = self._opened[owner] = self._load(owner)
            return opened
