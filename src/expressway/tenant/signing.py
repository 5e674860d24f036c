"""The tenant's token-signing keys: creation, the JWKS, and a cached key for signing.

The private keys are sealed in the database; each process opens them once and keeps them in
memory, reloading when it meets a ``kid`` it does not know (another replica rotated).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, TypeVar

from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from expressway import ids, jose
from expressway.sealing import Sealer
from expressway.tenant.rows import SigningKeyRow

_T = TypeVar("_T")

PUBLISHED_STATES = ("current", "next", "previous")


class SigningKeys:
    def __init__(self, sessions: sessionmaker[Session], sealer: Sealer) -> None:
        self._sessions = sessions
        self._sealer = sealer
        self._lock = threading.Lock()
        self._current: RSAKey | None = None
        self._verify: KeySet | None = None
        self._jwks: list[dict[str, Any]] = []

    def ensure(self, session: Session, now: datetime) -> bool:
        """Create the ``current`` and ``next`` keys if missing; answer whether any was made."""
        states = set(session.scalars(select(SigningKeyRow.state)))
        made = False
        for state in ("current", "next"):
            if state not in states:
                kid = ids.random_id(24)
                key = jose.generate_signing_key(kid)
                session.add(
                    SigningKeyRow(
                        kid=kid,
                        alg="RS256",
                        state=state,
                        private_pem_sealed=self._sealer.seal(jose.private_key_to_pem(key)),
                        public_jwk=jose.public_jwk(key),
                        created_at=now,
                    )
                )
                made = True
        return made

    def _load(self) -> None:
        with self._sessions() as session:
            rows = list(
                session.scalars(
                    select(SigningKeyRow)
                    .where(SigningKeyRow.state.in_(PUBLISHED_STATES))
                    .order_by(SigningKeyRow.created_at)
                )
            )
        current = next((r for r in rows if r.state == "current"), None)
        if current is None:
            raise RuntimeError("the tenant has no signing key; run `expressway tenant init`")
        self._current = jose.private_key_from_pem(
            self._sealer.open(current.private_pem_sealed), current.kid, current.alg
        )
        self._jwks = [dict(r.public_jwk) for r in rows]
        self._verify = jose.key_set(self._jwks)

    @staticmethod
    def _loaded(value: _T | None) -> _T:
        if value is None:
            raise RuntimeError("the signing keys could not be loaded")
        return value

    def current(self) -> RSAKey:
        with self._lock:
            if self._current is None:
                self._load()
            return self._loaded(self._current)

    def jwks(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._verify is None:
                self._load()
            return list(self._jwks)

    def verification_keys(self, kid: object) -> KeySet:
        """The public keys; reloaded once if ``kid`` is unknown (a rotation by another replica)."""
        with self._lock:
            if self._verify is None or (
                isinstance(kid, str) and all(k.get("kid") != kid for k in self._jwks)
            ):
                self._load()
            return self._loaded(self._verify)
