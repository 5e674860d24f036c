"""Every hostile JWT of the corpus, at every place of the tenant that takes a token.

Rule (RFC 8725, RFC 7523 §3, RFC 6750 §3.1): a token that is unsigned, signed with the wrong
algorithm or key, not meant for this place, out of its time, replayed, oversized or malformed is
refused with the place's status and error code, and has no effect: nothing is written but the
refusal's log event, no success is logged, no session ends.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from expressway.oauth.client_auth import JWT_BEARER_ASSERTION
from expressway.tenant.authn.upstream import UpstreamClient
from expressway.tenant.rows import (
    ConnectionRow,
    LogEventRow,
    RoleRow,
    UsedAssertionRow,
)
from expressway.tenant.services import federated_users, login_sessions, refresh_tokens
from tests.conftest import BACKENDS, Tenant
from tests.security.hostile_tokens import ASSERTION_ONLY, CORPUS, Builder, Genuine, genuine
from tests.tenant.browser import make_client, make_enterprise_connection
from tests.tenant.test_express_configuration_api import SCIM, SSO, SSO_BODY, _world
from tests.tenant.test_federation import ISSUER, KEY, SUB, FakeUpstream, make_connection
from tests.tenant.test_private_key_jwt import API as EXPRESS_CONFIGURE_API
from tests.tenant.test_private_key_jwt import _add_oin_client
from tests.tenant.test_universal_logout import AUDIENCE, ENDPOINT, TOKEN_TYPE, iss_sub, live_rows

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _count(tenant: Tenant, row: type[Any], *where: Any) -> int:
    with tenant.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(row).where(*where)) or 0


def _logged(tenant: Tenant, type: str) -> int:
    return _count(tenant, LogEventRow, LogEventRow.type == type)


@dataclass
class Place:
    """Somewhere a token is taken: what it accepts, how to send it, what a refusal looks like,
    and what in the database would show an effect."""

    genuine: Genuine
    send: Callable[[str], httpx.Response]
    #: Anything that changes when the token has an effect (rows written, success logged).
    effects: Callable[[], Hashable]
    #: Checks a refusal's answer: status and error code in the place's error shape.
    check_refusal: Callable[[httpx.Response, str], None]


def _oauth_refusal(status: int, error: str) -> Callable[[httpx.Response, str], None]:
    def check(response: httpx.Response, kind: str) -> None:
        assert response.status_code == status, (kind, response.text)
        assert response.json()["error"] == error, (kind, response.text)
        assert "access_token" not in response.json()

    return check


# --- The places ---


def _token_endpoint(tenant: Tenant) -> Place:
    """``/oauth/token``'s ``private_key_jwt`` client assertion (RFC 7523 §2.2): 401
    ``invalid_client``; no token issued, no ``jti`` recorded, no ``seccft`` logged."""
    oin = _add_oin_client(tenant)
    now = tenant.runtime.clock.timestamp()
    token = Genuine(
        claims={
            "iss": oin.client_id,
            "sub": oin.client_id,
            "aud": "http://localhost:8401/",
            "iat": now,
            "exp": now + 120,
        },
        key=oin.key,
        now=now,
    )

    def send(assertion: str) -> httpx.Response:
        return tenant.http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "audience": EXPRESS_CONFIGURE_API,
                "client_assertion_type": JWT_BEARER_ASSERTION,
                "client_assertion": assertion,
            },
        )

    return Place(
        token,
        send,
        lambda: (_count(tenant, UsedAssertionRow), _logged(tenant, "seccft")),
        _oauth_refusal(401, "invalid_client"),
    )


def _express_configuration_api(tenant: Tenant) -> Place:
    """``POST /express-configure/v1/sso``: 401 ``invalid_token``; no connection, no ``sapi``."""
    world = _world(tenant)
    now = tenant.runtime.clock.timestamp()
    token = Genuine(
        claims={
            "iss": tenant.runtime.settings.tenant_issuer,
            "sub": world.admin,
            "aud": [EXPRESS_CONFIGURE_API, "http://localhost:8401/userinfo"],
            "iat": now,
            "exp": now + 600,
            "azp": world.oin,
            "client_id": world.oin,
            "org_id": world.organization,
            "permissions": [SSO, SCIM],
            "scope": f"openid {SSO} {SCIM}",
        },
        key=tenant.runtime.signing_keys.current(),
        now=now,
    )

    def send(bearer: str) -> httpx.Response:
        return tenant.http.post(
            "/express-configure/v1/sso",
            json=SSO_BODY,
            headers={"Authorization": f"Bearer {bearer}"},
        )

    return Place(
        token,
        send,
        lambda: (_count(tenant, ConnectionRow), _logged(tenant, "sapi")),
        _oauth_refusal(401, "invalid_token"),
    )


def _management_api(tenant: Tenant) -> Place:
    """``POST /api/v2/roles``: 401 with Auth0's ``invalid_token``; no role, no ``sapi``."""
    now = tenant.runtime.clock.timestamp()
    token = Genuine(
        claims={
            "iss": tenant.runtime.settings.tenant_issuer,
            "sub": f"{tenant.admin_client_id}@clients",
            "aud": tenant.runtime.settings.management_audience,
            "iat": now,
            "exp": now + 600,
            "azp": tenant.admin_client_id,
            "scope": "create:roles read:roles",
        },
        key=tenant.runtime.signing_keys.current(),
        now=now,
    )

    def send(bearer: str) -> httpx.Response:
        return tenant.http.post(
            "/api/v2/roles",
            json={"name": f"Role {secrets.token_hex(4)}"},
            headers={"Authorization": f"Bearer {bearer}"},
        )

    def check(response: httpx.Response, kind: str) -> None:
        assert response.status_code == 401, (kind, response.text)
        body = response.json()
        assert body["statusCode"] == 401
        assert body["errorCode"] == "invalid_token", (kind, body)

    return Place(
        token,
        send,
        lambda: (_count(tenant, RoleRow), _logged(tenant, "sapi")),
        check,
    )


def _sign_in_federated_user(tenant: Tenant) -> None:
    """The connection's user :data:`SUB`, with a live session and refresh token."""
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
        created = login_sessions.create_session(
            session, now, user_id=user.user_id, connection=connection.name, auth_time=now
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


def _universal_logout(tenant: Tenant) -> Place:
    """The Universal Logout receiver: 401 ``invalid_token`` (403 ``access_denied`` for a
    genuine token of another audience); the user's sessions and refresh tokens live on, no
    ``slo`` is logged."""
    upstream = FakeUpstream()
    tenant.runtime.upstream = UpstreamClient(http=upstream.http)
    _sign_in_federated_user(tenant)
    now = tenant.runtime.clock.timestamp()
    token = Genuine(
        claims={"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300},
        key=KEY,
        now=now,
        typ=TOKEN_TYPE,
    )

    def send(bearer: str) -> httpx.Response:
        return tenant.http.post(
            ENDPOINT, json=iss_sub(), headers={"Authorization": f"Bearer {bearer}"}
        )

    def check(response: httpx.Response, kind: str) -> None:
        status, error = (
            (403, "access_denied") if kind == "wrong_audience" else (401, "invalid_token")
        )
        _oauth_refusal(status, error)(response, kind)

    return Place(token, send, lambda: (live_rows(tenant), _logged(tenant, "slo")), check)


def _scim(tenant: Tenant) -> Place:
    """``POST /scim/v2/connections/{id}/Users``: a JWT is never a SCIM token; 401 in the SCIM
    error schema; no user created, no ``sscim`` logged."""
    client = make_client(tenant, name="SCIM app")
    connection = make_enterprise_connection(
        tenant, "scim-okta", domains=["scim.example"], clients=[client]
    )
    api = tenant.api()
    api.post(f"/connections/{connection}/scim-configuration", json={}).raise_for_status()
    scim_token = api.post(f"/connections/{connection}/scim-configuration/tokens", json={}).json()[
        "token"
    ]
    base = f"/scim/v2/connections/{connection}"
    now = tenant.runtime.clock.timestamp()
    token = Genuine(
        claims={
            "iss": tenant.runtime.settings.tenant_issuer,
            "sub": connection,
            "aud": f"http://localhost:8401{base}",
            "iat": now,
            "exp": now + 600,
            "scope": "get:users post:users",
        },
        key=tenant.runtime.signing_keys.current(),
        now=now,
    )

    def send(bearer: str) -> httpx.Response:
        return tenant.http.post(
            f"{base}/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"user-{secrets.token_hex(4)}@scim.example",
                "active": True,
            },
            headers={"Authorization": f"Bearer {bearer}"},
        )

    def users() -> int:
        listed = tenant.http.get(f"{base}/Users", headers={"Authorization": f"Bearer {scim_token}"})
        assert listed.status_code == 200, listed.text
        total: int = listed.json()["totalResults"]
        return total

    def check(response: httpx.Response, kind: str) -> None:
        assert response.status_code == 401, (kind, response.text)
        body = response.json()
        assert body["schemas"] == [SCIM_ERROR], body
        assert str(body["status"]) == "401"
        assert response.headers["www-authenticate"].startswith("Bearer")

    return Place(token, send, lambda: (users(), _logged(tenant, "sscim")), check)


PLACES: dict[str, Callable[[Tenant], Place]] = {
    "token_endpoint": _token_endpoint,
    "express_configuration_api": _express_configuration_api,
    "management_api": _management_api,
    "universal_logout": _universal_logout,
    "scim": _scim,
}
#: Where a jti is single-use: the replay of a token that was accepted once.
SINGLE_USE = ("token_endpoint", "universal_logout")
CASES = [
    pytest.param(place, kind, builder, id=f"{place}-{kind}")
    for place in PLACES
    for kind, builder in {
        **CORPUS,
        **(ASSERTION_ONLY if place == "token_endpoint" else {}),
    }.items()
]


@pytest.mark.parametrize(("place", "kind", "builder"), CASES)
def test_a_hostile_token_is_refused_and_has_no_effect(
    tenant: Tenant, place: str, kind: str, builder: Builder
) -> None:
    """RFC 8725 §2-3: each attack on each place is refused in its shape, changing nothing."""
    where = PLACES[place](tenant)
    before = where.effects()
    response = where.send(builder(where.genuine))
    where.check_refusal(response, kind)
    assert where.effects() == before, kind


@pytest.mark.parametrize("place", [p for p in PLACES if p != "scim"])
def test_the_genuine_token_is_accepted_where_the_corpus_is_refused(
    tenant: Tenant, place: str
) -> None:
    """The refusals above are for the attack: the genuine token passes at each place."""
    where = PLACES[place](tenant)
    before = where.effects()
    response = where.send(genuine(where.genuine))
    assert response.status_code in (200, 201, 204), response.text
    assert where.effects() != before


def test_a_genuine_access_token_of_this_tenant_is_not_a_scim_token(tenant: Tenant) -> None:
    """SPEC §2.2: SCIM takes only its connection's bearer token, never a tenant-signed JWT."""
    where = _scim(tenant)
    before = where.effects()
    where.check_refusal(where.send(genuine(where.genuine)), "genuine JWT")
    where.check_refusal(where.send(tenant.token()), "Management API token")
    assert where.effects() == before


@pytest.mark.parametrize("place", SINGLE_USE)
def test_a_replayed_jti_is_refused_and_the_first_use_alone_has_an_effect(
    tenant: Tenant, place: str
) -> None:
    """RFC 7523 §3 item 7, SPEC §2.2: a jti is never accepted twice."""
    where = PLACES[place](tenant)
    token = genuine(where.genuine)
    first = where.send(token)
    assert first.status_code in (200, 204), first.text
    after_first = where.effects()
    where.check_refusal(where.send(token), "replayed_jti")
    assert where.effects() == after_first


def test_a_genuine_logout_for_an_unknown_subject_ends_nothing(tenant: Tenant) -> None:
    """A genuine logout for an unknown subject ends nothing (422) and logs no success."""
    where = _universal_logout(tenant)
    before = where.effects()
    response = tenant.http.post(
        ENDPOINT,
        json=iss_sub(sub=f"not-{SUB}"),
        headers={"Authorization": f"Bearer {genuine(where.genuine)}"},
    )
    assert response.status_code == 422, response.text
    assert where.effects() == before


def test_a_logout_token_whose_exp_is_beyond_any_date_is_answered_without_a_server_error(
    tenant: Tenant,
) -> None:
    """Bad input is a 4xx or handled, never a 500: an ``exp`` past year 9999 cannot become a
    datetime, yet its ``jti`` must still be remembered (it is kept for ever)."""
    where = _universal_logout(tenant)
    signed = genuine(where.genuine.with_claims(exp=10**15))
    first = where.send(signed)
    assert first.status_code in (204, 401), first.text
    if first.status_code == 204:
        where.check_refusal(where.send(signed), "replayed far-future jti")
