"""Each org's token-signing keys: creation, the org's JWKS, and a cached key for signing.

Every org has its own keys (``current`` signs, ``next`` is published ahead of rotation), so a
token of one org never verifies as another's. The private keys are sealed in the database; each
process opens an org's keys once and keeps them, reloading when it meets a ``kid`` it does not
know (another replica rotated).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from expressway import ids, jose
from expressway.sealing import Sealer
from expressway.workforce.rows import OrgSigningKeyRow

PUBLISHED_STATES = ("current", "next", "previous")


@dataclass(frozen=True)
class _OrgKeys:
    current: RSAKey
    jwks: list[dict[str, Any]]
    verification: KeySet


class OrgSigningKeys:
    def __init__(self, sessions: sessionmaker[Session], sealer: Sealer) -> None:
        self._sessions = sessions
        self._sealer = sealer
        self._lock = threading.Lock()
        self._orgs: dict[str, _OrgKeys] = {}

    def ensure(self, session: Session, org_id: str, now: datetime) -> bool:
        """Create the org's ``current`` and ``next`` keys if missing; answer whether any was."""
        states = set(
            session.scalars(select(OrgSigningKeyRow.state).where(OrgSigningKeyRow.org_id == org_id))
        )
        made = False
        for state in ("current", "next"):
            if state not in states:
                kid = ids.random_id(24)
                key = jose.generate_signing_key(kid)
                session.add(
                    OrgSigningKeyRow(
                        kid=kid,
                        org_id=org_id,
                        alg="RS256",
                        state=state,
                        private_pem_sealed=self._sealer.seal(jose.private_key_to_pem(key)),
                        public_jwk=jose.public_jwk(key),
                        created_at=now,
                    )
                )
                made = True
        return made

    def _load(self, org_id: str) -> _OrgKeys:
        with self._sessions() as session:
            rows = list(
                session.scalars(
                    select(OrgSigningKeyRow)
                    .where(
                        OrgSigningKeyRow.org_id == org_id,
                        OrgSigningKeyRow.state.in_(PUBLISHED_STATES),
                    )
                    .order_by(OrgSigningKeyRow.created_at, OrgSigningKeyRow.kid)
                )
            )
        current = next((r for r in rows if r.state == "current"), None)
        if current is None:
            raise RuntimeError(
                f"the org {org_id} has no signing key; run `expressway workforce init`"
            )
        jwks = [dict(r.public_jwk) for r in rows]
        loaded = _OrgKeys(
            current=jose.private_key_from_pem(
                self._sealer.open(current.private_pem_sealed), current.kid, current.alg
            ),
            jwks=jwks,
            verification=jose.key_set(jwks),
        )
        self._orgs[org_id] = loaded
        return loaded

    def _get(self, org_id: str) -> _OrgKeys:
        loaded = self._orgs.get(org_id)
        return loaded if loaded is not None else self._load(org_id)

    def current(self, org_id: str) -> RSAKey:
        with self._lock:
            return self._get(org_id).current

    def jwks(self, org_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._get(org_id).jwks)

    def verification_keys(self, org_id: str, kid: object) -> KeySet:
        """The org's public keys; reloaded once if ``kid`` is unknown (a rotation elsewhere)."""
        with self._lock:
            loaded = self._get(org_id)
            if isinstance(kid, str) and all(k.get("kid") != kid for k in loaded.jwks):
                loaded = self._load(org_id)
            return loaded.verification
