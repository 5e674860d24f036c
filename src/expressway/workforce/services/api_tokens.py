"""``SSWS`` API tokens: made for an admin, shown once, kept as a SHA-256 digest.

A token acts as its user in its user's org and nowhere else; it stops working when it goes
unused for :data:`TOKEN_WINDOW`, when its user stops being an active admin, or when revoked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from expressway import hashing
from expressway.workforce import ids
from expressway.workforce.errors import InvalidInput, NotFound
from expressway.workforce.rows import ApiTokenRow, UserRow

TOKEN_WINDOW = timedelta(days=30)
#: ISO 8601 duration of :data:`TOKEN_WINDOW`, as Okta shows it (``tokenWindow``).
TOKEN_WINDOW_ISO = "P30D"
#: How stale ``expires_at`` may grow before a use moves it: one write an hour at most per token.
_SLIDE_GRANULARITY = timedelta(hours=1)
MAX_NAME_LENGTH = 255


def issue(session: Session, user: UserRow, name: str, now: datetime) -> tuple[ApiTokenRow, str]:
    """A new token for ``user``; the token itself is answered here and never again."""
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput.field("name", f"A token name is 1 to {MAX_NAME_LENGTH} characters")
    token = ids.api_token()
    row = ApiTokenRow(
        id=ids.okta_id(ids.API_TOKEN, now),
        org_id=user.org_id,
        user_id=user.id,
        name=name,
        token_digest=hashing.hash_token(token),
        created_at=now,
        updated_at=now,
        expires_at=now + TOKEN_WINDOW,
    )
    session.add(row)
    session.flush()
    return row, token


#: Built once: every request of the admin API authenticates its token.
_BY_DIGEST = select(ApiTokenRow).where(ApiTokenRow.token_digest == bindparam("digest"))


def authenticate(session: Session, org_id: str, token: str, now: datetime) -> ApiTokenRow | None:
    """The org's unexpired token that ``token`` is, or ``None``; a use keeps it alive.

    The lookup is by digest: a token has 240 random bits, so its digest leaks nothing an
    attacker could use, and an index lookup takes no longer for a near miss than for a far one.
    """
    row = session.scalars(_BY_DIGEST, {"digest": hashing.hash_token(token)}).first()
    if row is None or row.org_id != org_id or row.expires_at <= now:
        return None
    if now + TOKEN_WINDOW - row.expires_at > _SLIDE_GRANULARITY:
        row.expires_at = now + TOKEN_WINDOW
    return row


def find(session: Session, org_id: str, token_id: str) -> ApiTokenRow:
    row = session.scalars(
        select(ApiTokenRow).where(ApiTokenRow.org_id == org_id, ApiTokenRow.id == token_id)
    ).first()
    if row is None:
        raise NotFound(token_id, "ApiToken")
    return row


def revoke(session: Session, row: ApiTokenRow) -> None:
    session.delete(row)
    session.flush()


def list_statement(org_id: str) -> Select[ApiTokenRow]:
    return select(ApiTokenRow).where(ApiTokenRow.org_id == org_id).order_by(ApiTokenRow.id)
