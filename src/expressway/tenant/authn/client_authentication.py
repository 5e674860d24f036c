"""Authenticating a client at the token endpoint: by secret, by ``private_key_jwt``, or, for a
public client (``token_endpoint_auth_method`` ``none``), by its client_id alone."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expressway import hashing
from expressway.oauth.assertions import check_client_assertion, unverified_client_id
from expressway.oauth.client_auth import PresentedCredentials
from expressway.oauth.errors import InvalidClient
from expressway.tenant.rows import ClientCredentialRow, ClientRow, UsedAssertionRow
from expressway.tenant.runtime import TenantRuntime

#: A digest no secret hashes to, compared against when the client has no secret, so that the
#: answer takes as long as for a wrong secret.
_NO_SECRET_DIGEST = "0" * 64


def active_public_keys(session: Session, client_id: str, now: datetime) -> list[dict[str, object]]:
    """The JWKs of the client's credentials activated for ``private_key_jwt`` and not expired."""
    rows = session.scalars(
        select(ClientCredentialRow)
        .where(
            ClientCredentialRow.client_id == client_id,
            ClientCredentialRow.active_position.is_not(None),
        )
        .order_by(ClientCredentialRow.active_position)
    )
    keys: list[dict[str, object]] = []
    for row in rows:
        if row.expires_at is not None and row.expires_at <= now:
            continue
        keys.append({**row.jwk, "kid": row.kid, "alg": row.alg})
    return keys


def assertion_audiences(runtime: TenantRuntime) -> tuple[str, ...]:
    """RFC 7523 §3: the issuer identifies us; with or without its slash, or the token endpoint."""
    issuer = runtime.settings.tenant_issuer
    return (issuer, issuer.rstrip("/"), f"{issuer}oauth/token")


def remember_assertion(
    runtime: TenantRuntime, session: Session, client_id: str, jti: str, expires_at: int
) -> None:
    """Record the ``jti`` in the request's transaction; a second use, anywhere, is refused.

    The primary key makes the check and the record one insert: two replicas racing on one
    assertion cannot both succeed, and the token is only handed out after the commit.
    """
    now = runtime.clock.now()
    # Expired records can no longer match a valid assertion; sweep them now and then.
    if secrets.randbelow(64) == 0:
        session.execute(delete(UsedAssertionRow).where(UsedAssertionRow.expires_at < now))
    session.add(
        UsedAssertionRow(
            client_id=client_id,
            jti=jti,
            expires_at=datetime.fromtimestamp(expires_at, UTC) + timedelta(seconds=60),
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:
        raise InvalidClient("client_assertion jti has already been used") from exc


def is_public(client: ClientRow) -> bool:
    """Whether the client is public: it holds no credential, so it authenticates with ``none``."""
    return client.token_endpoint_auth_method == "none"


def authenticate_client(
    runtime: TenantRuntime, session: Session, presented: PresentedCredentials
) -> ClientRow:
    """The client the request authenticates as; ``invalid_client`` otherwise."""
    if presented.method == "private_key_jwt":
        assertion = presented.assertion or ""
        client_id = presented.client_id or unverified_client_id(assertion)
        client = session.get(ClientRow, client_id) if client_id else None
        if client is None or client_id is None:
            raise InvalidClient("the client_assertion names no known client")
        verified = check_client_assertion(
            assertion,
            client_id=client_id,
            public_jwks=active_public_keys(session, client_id, runtime.clock.now()),
            audiences=assertion_audiences(runtime),
            now=runtime.clock.timestamp(),
        )
        remember_assertion(runtime, session, client_id, verified.jti, verified.expires_at)
        return client
    if presented.method in ("client_secret_basic", "client_secret_post"):
        if not presented.client_id:
            raise InvalidClient("client_id is required")
        client = session.get(ClientRow, presented.client_id)
        stored = client.client_secret_hash if client else None
        # Compare even for an unknown client or one without a secret: the same work, the same time.
        matches = hashing.verify_token(stored or _NO_SECRET_DIGEST, presented.secret or "")
        if client is None or stored is None or not matches:
            raise InvalidClient("the client id or secret is wrong")
        return client
    if presented.method == "none":
        # A public client (RFC 6749 §2.1) proves nothing: it is identified, not authenticated,
        # and only a client registered as public may be. PKCE is what protects its codes.
        client = session.get(ClientRow, presented.client_id) if presented.client_id else None
        if client is None or not is_public(client):
            raise InvalidClient("client authentication is required")
        return client
    raise InvalidClient("client authentication is required")
