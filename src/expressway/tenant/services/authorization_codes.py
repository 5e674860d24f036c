"""Authorization codes (RFC 6749 §4.1.2): minted at the end of a login, redeemed once."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from expressway import hashing
from expressway.tenant.rows import AuthorizationCodeRow

#: RFC 6749 §4.1.2 recommends at most ten minutes; a browser redirect needs seconds.
CODE_LIFETIME = timedelta(seconds=60)


def issue_code(
    session: Session,
    now: datetime,
    *,
    client_id: str,
    redirect_uri: str,
    user_id: str,
    session_id: str | None,
    scope: list[str],
    audience: str | None,
    nonce: str | None,
    code_challenge: str | None,
    code_challenge_method: str | None,
    organization_id: str | None,
    auth_time: datetime,
) -> str:
    """Store a new code bound to everything the token request must match; answer the code."""
    code = secrets.token_urlsafe(32)
    session.add(
        AuthorizationCodeRow(
            code_hash=hashing.hash_token(code),
            client_id=client_id,
            redirect_uri=redirect_uri,
            user_id=user_id,
            session_id=session_id,
            scope=scope,
            audience=audience,
            nonce=nonce,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            organization_id=organization_id,
            auth_time=auth_time,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    session.flush()
    return code
