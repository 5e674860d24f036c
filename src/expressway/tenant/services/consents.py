"""Consents: the scopes a user has agreed to give a client for an API.

A login asks again only for scopes not agreed to before; agreeing adds to what was agreed.
Logins without an audience (OpenID Connect scopes only) are kept under the issuer's ``userinfo``
audience, as Auth0 does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from expressway.tenant.rows import ConsentRow


def consented_scopes(session: Session, *, user_id: str, client_id: str, audience: str) -> set[str]:
    row = session.get(ConsentRow, (user_id, client_id, audience))
    if row is None:
        return set()
    return {scope for scope in row.scopes if isinstance(scope, str)}


def record_consent(
    session: Session,
    now: datetime,
    *,
    user_id: str,
    client_id: str,
    audience: str,
    scopes: Iterable[str],
) -> ConsentRow:
    """Add ``scopes`` to what the user agreed to give the client for ``audience``."""
    row = session.get(ConsentRow, (user_id, client_id, audience))
    if row is None:
        row = ConsentRow(
            user_id=user_id,
            client_id=client_id,
            audience=audience,
            scopes=[],
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    # A new list, since the JSON column notices assignment only.
    row.scopes = sorted({*(s for s in row.scopes if isinstance(s, str)), *scopes})
    row.updated_at = now
    session.flush()
    return row
