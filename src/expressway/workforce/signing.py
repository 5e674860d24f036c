"""Each org's token-signing keys: creation, the org's JWKS, and a cached key for signing (the
shared mechanics are in :mod:`expressway.keyring`).

Every org has its own keys, so a token of one org never verifies as another's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from expressway import keyring
from expressway.sealing import Sealer
from expressway.workforce.rows import OrgSigningKeyRow


class OrgSigningKeys:
    def __init__(self, sessions: sessionmaker[Session], sealer: Sealer) -> None:
        self._sessions = sessions
        self._sealer = sealer
        self._cache: keyring.KeyCache[str] = keyring.KeyCache(self._load)

    def ensure(self, session: Session, org_id: str, now: datetime) -> bool:
        """Create the org's ``current`` and ``next`` keys if missing; answer whether any was."""
        states = set(
            session.scalars(select(OrgSigningKeyRow.state).where(OrgSigningKeyRow.org_id == org_id))
        )
        missing = [state for state in keyring.INITIAL_STATES if state not in states]
        for state in missing:
            key = keyring.generate_sealed_key(self._sealer)
            session.add(
                OrgSigningKeyRow(
                    kid=key.kid,
                    org_id=org_id,
                    alg=key.alg,
                    state=state,
                    private_pem_sealed=key.private_pem_sealed,
                    public_jwk=key.public_jwk,
                    created_at=now,
                )
            )
        return bool(missing)

    def _load(self, org_id: str) -> keyring.OpenedKeys:
        with self._sessions() as session:
            rows = list(
                session.scalars(
                    select(OrgSigningKeyRow)
                    .where(OrgSigningKeyRow.org_id == org_id)
                    .order_by(OrgSigningKeyRow.created_at, OrgSigningKeyRow.kid)
                )
            )
        return keyring.open_keys(
            rows,
            self._sealer,
            missing=f"the org {org_id} has no signing key; run `expressway workforce init`",
        )

    def current(self, org_id: str) -> RSAKey:
        return self._cache.get(org_id).current

    def jwks(self, org_id: str) -> list[dict[str, Any]]:
        return list(self._cache.get(org_id).jwks)

    def verification_keys(self, org_id: str, kid: object) -> KeySet:
        """The org's public keys; reloaded once if ``kid`` is unknown (a rotation elsewhere)."""
        return self._cache.get(org_id, kid=kid).verification
