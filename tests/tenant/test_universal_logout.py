"""The Universal Logout receiver (Okta's Universal Logout API, draft-parecki-oauth-global-token-
revocation): a JWT signed by the upstream IdP ends a user's sessions and refresh tokens."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import select

from expressway import jose
from expressway.tenant.authn.upstream import UpstreamClient
from expressway.tenant.rows import (
    ConnectionRow,
    LogEventRow,
    LoginSessionRow,
    RefreshTokenRow,
    UsedAssertionRow,
)
from expressway.tenant.services import federated_users, login_sessions, refresh_tokens
from tests.conftest import BACKENDS, Tenant
from tests.tenant.test_federation import (
    CONNECTION,
    FORGED_KEY,
    ISSUER,
    KEY,
    SUB,
    FakeUpstream,
    make_connection,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

ENDPOINT = f"/oauth/global-token-revocation/connection/{CONNECTION}"
AUDIENCE = f"http://localhost:8401{ENDPOINT}"
TOKEN_TYPE = "global-token-revocation+jwt"


@dataclass
class Signed:
    """A federated user with a live session and refresh token, and the upstream to log them out."""

    upstream: FakeUpstream
    user_id: str
    connection_id: str


@pytest.fixture
def signed_in(tenant: Tenant) -> Signed:
    upstream = FakeUpstream()
    tenant.runtime.upstream = UpstreamClient(http=upstream.http)
    setup = make_connection(tenant)
    now = tenant.runtime.clock.now()
    with tenant.runtime.sessions() as session:
        connection = session.get(ConnectionRow, setup.connection_id)
        assert connection is not None
        user = federated_users.provision(
            session,
            now,
            connection,
            SUB,
            federated_users.FederatedProfile(email="jane@acme.example", email_verified=True),
        )
        for _ in range(2):
            created = login_sessions.create_session(
                session, now, user_id=user.user_id, connection=CONNECTION, auth_time=now
            )
            refresh_tokens.issue(
                session,
                now,
                client_id=setup.client_id,
                user_id=user.user_id,
                session_id=created.row.id,
                scope=["openid", "offline_access"],
                audience=None,
                organization_id=None,
                auth_time=now,
            )
        session.commit()
        return Signed(upstream, user.user_id, setup.connection_id)


def logout_token(
    *,
    key: RSAKey = KEY,
    typ: str = TOKEN_TYPE,
    drop: tuple[str, ...] = (),
    **changes: Any,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(16),
        **changes,
    }
    for name in drop:
        claims.pop(name)
    return jose.sign_jwt(claims, key, typ=typ)


def iss_sub(sub: str = SUB, iss: str = ISSUER) -> dict[str, Any]:
    return {"sub_id": {"format": "iss_sub", "iss": iss, "sub": sub}}


def revoke(
    tenant: Tenant,
    token: str | None,
    body: Any = None,
    *,
    path: str = ENDPOINT,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if isinstance(body, bytes):
        return tenant.http.post(path, headers=headers, content=body)
    return tenant.http.post(path, headers=headers, json=iss_sub() if body is None else body)


def live_rows(tenant: Tenant) -> tuple[int, int]:
    """(live sessions, live refresh tokens) in the tenant."""
    with tenant.runtime.sessions() as session:
        sessions = session.scalars(
            select(LoginSessionRow).where(LoginSessionRow.revoked_at.is_(None))
        ).all()
        tokens = session.scalars(
            select(RefreshTokenRow).where(RefreshTokenRow.revoked_at.is_(None))
        ).all()
        return len(sessions), len(tokens)


def events(tenant: Tenant, type: str) -> list[LogEventRow]:
    with tenant.runtime.sessions() as session:
        return list(session.scalars(select(LogEventRow).where(LogEventRow.type == type)))


def test_a_valid_request_ends_the_users_sessions_and_refresh_tokens(
    tenant: Tenant, signed_in: Signed
) -> None:
    """204; every LoginSessionRow and RefreshTokenRow of the user revoked; an slo event."""
    assert live_rows(tenant) == (2, 2)
    response = revoke(tenant, logout_token())
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert live_rows(tenant) == (0, 0)
    (event,) = events(tenant, "slo")
    assert event.user_id == signed_in.user_id
    assert event.connection == CONNECTION
    assert event.details["sessions_revoked"] == 2
    assert event.details["refresh_tokens_revoked"] == 2


def test_a_subject_given_by_email_is_logged_out_too(tenant: Tenant, signed_in: Signed) -> None:
    """The ``email`` subject identifier format (RFC 9493 §3.2.2), whatever its case."""
    body = {"sub_id": {"format": "email", "email": "JANE@acme.example"}}
    assert revoke(tenant, logout_token(), body).status_code == 204
    assert live_rows(tenant) == (0, 0)


def test_a_replayed_token_is_refused(tenant: Tenant, signed_in: Signed) -> None:
    """The jti is remembered: the same signed request works once."""
    token = logout_token()
    assert revoke(tenant, token).status_code == 204
    replay = revoke(tenant, token)
    assert replay.status_code == 401
    assert "replayed" in replay.json()["error_description"]
    with tenant.runtime.sessions() as session:
        remembered = session.scalars(select(UsedAssertionRow)).one()
    assert remembered.client_id == f"ul:{signed_in.connection_id}"


#: (case, the bearer token, what the refusal says): authentication of the request.
BAD_TOKENS: list[tuple[str, Callable[[], str | None], str]] = [
    ("no-token", lambda: None, "Authorization"),
    ("not-a-jwt", lambda: "not-a-jwt", "compact JWS"),
    ("bad-signature", lambda: logout_token(key=FORGED_KEY), "signature"),
    ("wrong-typ", lambda: logout_token(typ="JWT"), "typ"),
    ("wrong-iss", lambda: logout_token(iss="https://evil.example"), "iss"),
    ("expired", lambda: logout_token(exp=int(time.time()) - 600), "expired"),
    ("no-exp", lambda: logout_token(drop=("exp",)), "exp"),
    ("far-exp", lambda: logout_token(exp=int(time.time()) + 3600), "300 seconds ahead"),
    ("no-iat", lambda: logout_token(drop=("iat",)), "iat"),
    ("no-jti", lambda: logout_token(drop=("jti",)), "jti"),
]


def test_a_missing_or_invalid_token_is_refused_with_401(tenant: Tenant, signed_in: Signed) -> None:
    """Nothing is revoked, a Bearer challenge is sent, and each refusal is logged as flo."""
    for case, token, reason in BAD_TOKENS:
        response = revoke(tenant, token())
        assert response.status_code == 401, case
        assert response.json()["error"] == "invalid_token", case
        assert reason in response.json()["error_description"], case
        assert response.headers["www-authenticate"].startswith("Bearer"), case
    assert live_rows(tenant) == (2, 2)
    assert len(events(tenant, "flo")) == len(BAD_TOKENS)


def test_a_token_for_another_connections_endpoint_is_refused_with_403(
    tenant: Tenant, signed_in: Signed
) -> None:
    """A genuine token of the same IdP, addressed to another receiver (aud), is not for us."""
    other = AUDIENCE.replace(CONNECTION, "other-connection")
    response = revoke(tenant, logout_token(aud=other))
    assert response.status_code == 403
    assert live_rows(tenant) == (2, 2)


def test_a_subject_of_another_issuer_is_refused_with_403(tenant: Tenant, signed_in: Signed) -> None:
    """The body's iss must be the connection's upstream issuer."""
    response = revoke(tenant, logout_token(), iss_sub(iss="https://other.okta.example"))
    assert response.status_code == 403
    assert live_rows(tenant) == (2, 2)


MALFORMED_BODIES: list[Any] = [
    b"not json",
    [],
    {},
    {"sub_id": {"format": "opaque", "id": "x"}},
    {"sub_id": {"format": "iss_sub", "iss": ISSUER}},
    {"sub_id": {"format": "iss_sub", "iss": ISSUER, "sub": 7}},
    {"sub_id": {"format": "email", "email": "a\x00@b.c"}},
    {"sub_id": {"format": "iss_sub", "iss": ISSUER, "sub": "x" * 300}},
]


def test_a_malformed_body_is_refused_with_400(tenant: Tenant, signed_in: Signed) -> None:
    """invalid_request, never a 500, and nothing revoked."""
    for body in MALFORMED_BODIES:
        response = revoke(tenant, logout_token(), body)
        assert response.status_code == 400, body
        assert response.json()["error"] == "invalid_request", body
    assert live_rows(tenant) == (2, 2)


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_an_infinity_in_the_body_is_refused_as_not_json(
    tenant: Tenant, signed_in: Signed, word: str
) -> None:
    """RFC 8259 has no NaN or Infinity: ``invalid_request`` naming the word, nothing revoked."""
    body = json.dumps({"sub_id": {"format": "iss_sub", "iss": ISSUER, "sub": float(word)}})
    response = revoke(tenant, logout_token(), body.encode())
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"] == (
        f"the body is not valid JSON: {word} is not JSON"
        " (RFC 8259 has no NaN, Infinity or -Infinity)"
    )
    assert live_rows(tenant) == (2, 2)


def test_an_unknown_or_database_connection_is_refused_with_404(
    tenant: Tenant, signed_in: Signed
) -> None:
    """Only enterprise connections have a Universal Logout endpoint."""
    for name in ("no-such-connection", "Username-Password-Authentication", "x" * 300):
        path = f"/oauth/global-token-revocation/connection/{name}"
        assert revoke(tenant, logout_token(), path=path).status_code == 404, name


def test_an_unknown_subject_is_refused_with_422(tenant: Tenant, signed_in: Signed) -> None:
    """A subject the connection never signed in answers 422, and its jti is spent."""
    response = revoke(tenant, logout_token(), iss_sub(sub="00u-nobody"))
    assert response.status_code == 422
    assert live_rows(tenant) == (2, 2)


def test_an_unreachable_upstream_answers_503_not_500(tenant: Tenant, signed_in: Signed) -> None:
    """Without the upstream's keys nothing can be verified; the IdP is told to retry."""

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    tenant.runtime.upstream = UpstreamClient(
        http=lambda: httpx.Client(transport=httpx.MockTransport(down))
    )
    response = revoke(tenant, logout_token())
    assert response.status_code == 503
    assert live_rows(tenant) == (2, 2)
