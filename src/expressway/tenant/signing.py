"""The tenant's token-signing keys: creation, the JWKS, and a cached key for signing (the shared
mechanics are in :mod:`expressway.keyring`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from expressway import keyring
from expressway.sealing import Sealer
from expressway.tenant.rows import SigningKeyRow

_TENANT = "tenant"


class SigningKeys:
    def __init__(self, sessions: sessionmaker[Session], sealer: Sealer) -> None:
        # Read-only sessions: keys are loaded in the middle of requests that hold a read-write one.
        self._sessions = sessions
        self._sealer = sealer
        self._cache: keyring.KeyCache[str] = keyring.KeyCache(self._load)

    def ensure(self, session: Session, now: datetime) -> bool:
        """Create the ``current`` and ``next`` keys if missing; answer whether any was made."""
        states = set(session.scalars(select(SigningKeyRow.state)))
        missing = [state for state in keyring.INITIAL_STATES if state not in states]
        for state in missing:
            key = keyring.generate_sealed_key(self._sealer)
            session.add(
                SigningKeyRow(
                    kid=key.kid,
                    alg=key.alg,
                    state=state,
                    private_pem_sealed=key.private_pem_sealed,
                    public_jwk=key.public_jwk,
                    created_at=now,
                )
            )
        return bool(missing)

    def _load(self, _owner: str) -> keyring.OpenedKeys:
        with self._sessions() as session:
            rows = list(
                session.scalars(
                    select(SigningKeyRow).order_by(SigningKeyRow.created_at, SigningKeyRow.kid)
                )
            )
        return keyring.open_keys(
            rows,
            self._sealer,
            missing="the tenant has no signing key; run `expressway tenant init`",
        )

    def current(self) -> RSAKey:
        return self._cache.get(_TENANT).current

    def jwks(self) -> list[dict[str, Any]]:
        return list(self._cache.get(_TENANT).jwks)

    def verification_keys(self, kid: object) -> KeySet:
        """The public keys; reloaded once if ``kid`` is unknown (a rotation by another replica)."""
        return self._cache.get(_TENANT, kid=kid).verification
