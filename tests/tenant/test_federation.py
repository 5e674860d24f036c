"""Federation through an upstream OpenID provider (``okta`` connections): the redirect, the
``/login/callback`` checks of OpenID Connect Core §3.1.3.7, and just-in-time users.

The upstream is a fake served through ``httpx.MockTransport``: discovery, JWKS, a token endpoint
that signs ID tokens with a joserfc key, and userinfo.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import select, update

from expressway import ids, jose
from expressway.oauth.pkce import s256_challenge
from expressway.tenant.authn.federation import UpstreamUnavailable, start_upstream_login
from expressway.tenant.authn.login_flow import transaction_cookie_name
from expressway.tenant.authn.upstream import UpstreamClient
from expressway.tenant.rows import (
    AuthorizationRequestRow,
    ConnectionRow,
    LogEventRow,
    UpstreamLoginRow,
    UserRow,
)
from tests.conftest import BACKENDS, Tenant

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

DOMAIN = "acme.okta.example"
ISSUER = f"https://{DOMAIN}"
UPSTREAM_CLIENT_ID = "0oa-upstream-client"
UPSTREAM_SECRET = "upstream-secret/with:odd+chars"
CONNECTION = "acme-okta"
APP_CALLBACK = "https://app.example/callback"
TENANT_CALLBACK = "http://localhost:8401/login/callback"
SUB = "00u1abcd"

# RSA keys are slow to make: made once for the whole module.
KEY = jose.generate_signing_key("up-1")
ROTATED_KEY = jose.generate_signing_key("up-2")
FORGED_KEY = jose.generate_signing_key("up-1")


@dataclass
class FakeUpstream:
    """An OpenID provider at :data:`ISSUER`, as far as the tenant can see over HTTP."""

    issuer: str = ISSUER
    published: list[RSAKey] = field(default_factory=lambda: [KEY])
    signing_key: RSAKey = field(default_factory=lambda: KEY)
    #: Changes to the next ID token's claims; a ``None`` value removes the claim.
    id_token_changes: dict[str, Any] = field(default_factory=dict)
    userinfo: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": SUB,
            "email": "Jane.Doe@acme.example",
            "email_verified": True,
            "name": "Jane Doe",
            "given_name": "Jane",
            "family_name": "Doe",
        }
    )
    auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post")
    #: ``path`` → how many requests it got.
    hits: Counter[str] = field(default_factory=Counter)
    token_requests: list[httpx.Request] = field(default_factory=list)
    #: code → the nonce of the authorization request it answers.
    codes: dict[str, str] = field(default_factory=dict)

    def http(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.hits[path] += 1
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json=self.discovery())
        if path == "/oauth2/v1/keys":
            return httpx.Response(200, json={"keys": [jose.public_jwk(k) for k in self.published]})
        if path == "/oauth2/v1/token":
            self.token_requests.append(request)
            return self.token(request)
        if path == "/oauth2/v1/userinfo":
            return httpx.Response(200, json=self.userinfo)
        return httpx.Response(404)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/oauth2/v1/authorize",
            "token_endpoint": f"{self.issuer}/oauth2/v1/token",
            "userinfo_endpoint": f"{self.issuer}/oauth2/v1/userinfo",
            "jwks_uri": f"{self.issuer}/oauth2/v1/keys",
            "token_endpoint_auth_methods_supported": list(self.auth_methods),
            "code_challenge_methods_supported": ["S256"],
        }

    def token(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        nonce = self.codes.pop(form["code"][0], None)
        if nonce is None:
            return httpx.Response(400, json={"error": "invalid_grant"})
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": SUB,
            "aud": UPSTREAM_CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "email": "Jane.Doe@acme.example",
        }
        for name, value in self.id_token_changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        id_token = jose.sign_jwt(claims, self.signing_key)
        return httpx.Response(
            200,
            json={
                "access_token": "upstream-access-token",
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": id_token,
            },
        )


@pytest.fixture
def upstream(tenant: Tenant) -> FakeUpstream:
    fake = FakeUpstream()
    tenant.runtime.upstream = UpstreamClient(http=fake.http)
    return fake


@dataclass
class Setup:
    client_id: str
    connection_id: str


def make_connection(
    tenant: Tenant, options: dict[str, Any] | None = None, strategy: str = "okta"
) -> Setup:
    api = tenant.api()
    client = api.post(
        "/clients",
        json={"name": "Acme App", "app_type": "regular_web", "callbacks": [APP_CALLBACK]},
    )
    assert client.status_code == 201, client.text
    client_id = client.json()["client_id"]
    connection = api.post(
        "/connections",
        json={
            "name": CONNECTION,
            "strategy": strategy,
            "options": options
            or {
                "domain": DOMAIN,
                "client_id": UPSTREAM_CLIENT_ID,
                "client_secret": UPSTREAM_SECRET,
            },
            "enabled_clients": [client_id],
        },
    )
    assert connection.status_code == 201, connection.text
    return Setup(client_id, connection.json()["id"])


@dataclass
class Redirect:
    """A login sent upstream: the authorization URL's parameters."""

    url: str
    params: dict[str, str]

    @property
    def state(self) -> str:
        return self.params["state"]


def begin(tenant: Tenant, setup: Setup, *, login_hint: str | None = None) -> Redirect:
    """An authorization transaction for the app, handed to the connection's upstream."""
    now = tenant.runtime.clock.now()
    params: dict[str, Any] = {
        "scope": ["openid", "profile", "email"],
        "state": "app-state",
        "nonce": "app-nonce",
        "prompt": [],
        "code_challenge": s256_challenge("v" * 43),
        "code_challenge_method": "S256",
    }
    if login_hint:
        params["login_hint"] = login_hint
    with tenant.runtime.sessions() as session:
        txn = AuthorizationRequestRow(
            id=ids.random_id(32),
            client_id=setup.client_id,
            redirect_uri=APP_CALLBACK,
            response_mode="query",
            params=params,
            csrf_token=secrets.token_urlsafe(16),
            user_id=None,
            session_id=None,
            organization_id=None,
            connection=CONNECTION,
            created_at=now,
            expires_at=now + timedelta(hours=1),
            completed_at=None,
        )
        session.add(txn)
        session.flush()
        connection = session.get(ConnectionRow, setup.connection_id)
        assert connection is not None
        url = start_upstream_login(tenant.runtime, session, txn, connection)
        session.commit()
        # What /authorize does: the login belongs to the browser that started it.
        tenant.http.cookies.set(transaction_cookie_name(txn), txn.csrf_token)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    return Redirect(url, query)


def callback(tenant: Tenant, **params: str) -> httpx.Response:
    return tenant.http.get("/login/callback", params=params, follow_redirects=False)


def sign_in(tenant: Tenant, upstream: FakeUpstream, setup: Setup) -> httpx.Response:
    """The browser's round trip through the upstream, which answers with a code."""
    redirect = begin(tenant, setup)
    code = secrets.token_urlsafe(16)
    upstream.codes[code] = redirect.params["nonce"]
    return callback(tenant, code=code, state=redirect.state)


def answer(response: httpx.Response) -> dict[str, str]:
    """The parameters of the redirect back to the application."""
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(APP_CALLBACK + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def user(tenant: Tenant, user_id: str = f"okta|{CONNECTION}|{SUB}") -> UserRow | None:
    with tenant.runtime.sessions() as session:
        return session.get(UserRow, user_id)


def failures(tenant: Tenant) -> list[str]:
    with tenant.runtime.sessions() as session:
        return [
            row.description or ""
            for row in session.scalars(
                select(LogEventRow).where(LogEventRow.type == "f").order_by(LogEventRow.log_id)
            )
        ]


def test_the_redirect_upstream_carries_state_nonce_pkce_and_the_tenant_callback(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """OpenID Connect Core §3.1.2.1 with RFC 7636 S256; the state and verifier are kept hashed
    and sealed."""
    redirect = begin(tenant, make_connection(tenant), login_hint="jane@acme.example")
    assert redirect.url.startswith(f"{ISSUER}/oauth2/v1/authorize?")
    assert redirect.params["response_type"] == "code"
    assert redirect.params["client_id"] == UPSTREAM_CLIENT_ID
    assert redirect.params["redirect_uri"] == TENANT_CALLBACK
    assert redirect.params["scope"] == "openid profile email"
    assert redirect.params["code_challenge_method"] == "S256"
    assert redirect.params["login_hint"] == "jane@acme.example"
    assert len(redirect.params["nonce"]) >= 32
    with tenant.runtime.sessions() as session:
        row = session.scalars(select(UpstreamLoginRow)).one()
        verifier = tenant.runtime.secret_sealer.open(row.code_verifier_sealed).decode()
    assert row.state_hash != redirect.state
    assert redirect.state not in row.code_verifier_sealed
    assert s256_challenge(verifier) == redirect.params["code_challenge"]
    assert row.expires_at - row.created_at == timedelta(minutes=10)


def test_a_first_upstream_login_creates_the_user_and_returns_a_code_to_the_app(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """Just-in-time provisioning: okta|{connection}|{sub} with the basic profile claims."""
    setup = make_connection(tenant)
    params = answer(sign_in(tenant, upstream, setup))
    assert params["code"]
    assert params["state"] == "app-state"
    created = user(tenant)
    assert created is not None
    assert created.provider == "okta"
    assert created.connection == CONNECTION
    assert created.email == "Jane.Doe@acme.example"
    assert created.email_verified is True
    assert (created.name, created.given_name, created.family_name) == ("Jane Doe", "Jane", "Doe")
    assert created.logins_count == 1
    shown = tenant.api().get(f"/users/okta|{CONNECTION}|{SUB}").json()
    assert shown["identities"][0]["connection"] == CONNECTION
    assert shown["identities"][0]["provider"] == "okta"
    assert shown["identities"][0]["isSocial"] is False


@pytest.mark.parametrize("value", ["NaN", '"\\ud800"'], ids=["NaN", "lone surrogate"])
def test_an_upstream_answer_that_is_not_json_refuses_the_login(
    tenant: Tenant, upstream: FakeUpstream, value: str
) -> None:
    """RFC 8259: a userinfo claim of NaN or a lone surrogate is not JSON (json.loads took
    them, for a profile no JSON column can hold): access_denied, no user, the failure logged."""
    setup = make_connection(tenant)

    def not_json_userinfo(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/v1/userinfo":
            return httpx.Response(200, content=f'{{"sub": "{SUB}", "name": {value}}}'.encode())
        return upstream.handle(request)

    tenant.runtime.upstream = UpstreamClient(
        http=lambda: httpx.Client(transport=httpx.MockTransport(not_json_userinfo))
    )
    params = answer(sign_in(tenant, upstream, setup))
    assert params["error"] == "access_denied"
    assert user(tenant) is None
    assert "did not answer JSON" in failures(tenant)[-1]


def test_an_oidc_connection_found_by_its_discovery_url_makes_oidc_users(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """Generic OIDC connections: options.discovery_url, and user ids oidc|{connection}|{sub}."""
    setup = make_connection(
        tenant,
        {
            "discovery_url": f"{ISSUER}/.well-known/openid-configuration",
            "client_id": UPSTREAM_CLIENT_ID,
            "client_secret": UPSTREAM_SECRET,
        },
        strategy="oidc",
    )
    assert "code" in answer(sign_in(tenant, upstream, setup))
    created = user(tenant, f"oidc|{CONNECTION}|{SUB}")
    assert created is not None
    assert created.provider == "oidc"


def test_the_code_exchange_authenticates_with_basic_and_sends_the_pkce_verifier(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """RFC 6749 §2.3.1 (form-encoded id and secret inside Basic) and RFC 7636 §4.5."""
    setup = make_connection(tenant)
    redirect = begin(tenant, setup)
    upstream.codes["the-code"] = redirect.params["nonce"]
    answer(callback(tenant, code="the-code", state=redirect.state))
    request = upstream.token_requests[0]
    form = parse_qs(request.content.decode())
    assert form["grant_type"] == ["authorization_code"]
    assert form["redirect_uri"] == [TENANT_CALLBACK]
    assert s256_challenge(form["code_verifier"][0]) == redirect.params["code_challenge"]
    assert "client_secret" not in form
    scheme, _, encoded = request.headers["authorization"].partition(" ")
    client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    assert scheme == "Basic"
    assert (unquote(client_id), unquote(secret)) == (UPSTREAM_CLIENT_ID, UPSTREAM_SECRET)


def test_an_upstream_that_only_takes_client_secret_post_gets_the_secret_in_the_form(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """OpenID Connect Discovery: the method the upstream lists is the one used."""
    upstream.auth_methods = ("client_secret_post",)
    answer(sign_in(tenant, upstream, make_connection(tenant)))
    request = upstream.token_requests[0]
    form = parse_qs(request.content.decode())
    assert form["client_id"] == [UPSTREAM_CLIENT_ID]
    assert form["client_secret"] == [UPSTREAM_SECRET]
    assert "authorization" not in request.headers


def test_pkce_disabled_on_the_connection_sends_no_challenge(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """connection_settings.pkce: disabled, as Auth0 allows for IdPs that refuse PKCE."""
    setup = make_connection(
        tenant,
        {
            "domain": DOMAIN,
            "client_id": UPSTREAM_CLIENT_ID,
            "client_secret": UPSTREAM_SECRET,
            "connection_settings": {"pkce": "disabled"},
        },
    )
    redirect = begin(tenant, setup)
    assert "code_challenge" not in redirect.params
    upstream.codes["c"] = redirect.params["nonce"]
    answer(callback(tenant, code="c", state=redirect.state))
    assert "code_verifier" not in parse_qs(upstream.token_requests[0].content.decode())


def test_a_later_login_updates_the_profile_from_the_upstream(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """Auth0's set_user_root_attributes default, on_each_login."""
    setup = make_connection(tenant)
    answer(sign_in(tenant, upstream, setup))
    upstream.userinfo = {**upstream.userinfo, "name": "Jane Roe", "family_name": "Roe"}
    answer(sign_in(tenant, upstream, setup))
    updated = user(tenant)
    assert updated is not None
    assert (updated.name, updated.family_name) == ("Jane Roe", "Roe")
    assert updated.logins_count == 2


def test_a_use_map_attribute_map_takes_the_mapped_claims(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """attribute_map.mapping_mode use_map with ${context.tokenset|userinfo.*} templates."""
    setup = make_connection(
        tenant,
        {
            "domain": DOMAIN,
            "client_id": UPSTREAM_CLIENT_ID,
            "client_secret": UPSTREAM_SECRET,
            "attribute_map": {
                "mapping_mode": "use_map",
                "attributes": {
                    "email": "${context.tokenset.email}",
                    "nickname": "${context.userinfo.given_name} ${context.userinfo.family_name}",
                },
            },
        },
    )
    answer(sign_in(tenant, upstream, setup))
    created = user(tenant)
    assert created is not None
    assert created.nickname == "Jane Doe"
    assert created.given_name is None
    assert created.email_verified is False


def test_the_discovery_document_and_keys_are_fetched_once_for_many_logins(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """The per-issuer cache: no discovery or JWKS round trip on every login."""
    setup = make_connection(tenant)
    for _ in range(3):
        answer(sign_in(tenant, upstream, setup))
    assert upstream.hits["/.well-known/openid-configuration"] == 1
    assert upstream.hits["/oauth2/v1/keys"] == 1


def test_an_id_token_signed_with_a_new_key_refreshes_the_keys_once(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """An upstream key rotation: a kid the cache lacks makes one fresh JWKS fetch."""
    setup = make_connection(tenant)
    answer(sign_in(tenant, upstream, setup))
    upstream.published = [KEY, ROTATED_KEY]
    upstream.signing_key = ROTATED_KEY
    assert "code" in answer(sign_in(tenant, upstream, setup))
    assert upstream.hits["/oauth2/v1/keys"] == 2


def test_a_kid_unknown_even_after_a_refresh_is_refused_after_one_refetch(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """A kid the upstream does not publish: refused, and the JWKS is not fetched in a loop."""
    setup = make_connection(tenant)
    answer(sign_in(tenant, upstream, setup))
    upstream.signing_key = ROTATED_KEY
    assert answer(sign_in(tenant, upstream, setup))["error"] == "access_denied"
    assert upstream.hits["/oauth2/v1/keys"] == 2
    assert any("no upstream signing key has the kid 'up-2'" in f for f in failures(tenant))


def _forge(upstream: FakeUpstream) -> None:
    upstream.signing_key = FORGED_KEY


#: (case, change to the upstream, reason logged): OpenID Connect Core §3.1.3.7's checks.
ID_TOKEN_FAULTS: list[tuple[str, Callable[[FakeUpstream], None], str]] = [
    ("bad-signature", _forge, "signature verification failed"),
    ("wrong-iss", lambda u: u.id_token_changes.update(iss="https://evil.example"), "id_token iss"),
    ("wrong-aud", lambda u: u.id_token_changes.update(aud="someone-else"), "id_token aud"),
    (
        "several-audiences-without-azp",
        lambda u: u.id_token_changes.update(aud=[UPSTREAM_CLIENT_ID, "other"]),
        "no azp",
    ),
    ("wrong-azp", lambda u: u.id_token_changes.update(azp="other"), "azp"),
    ("wrong-nonce", lambda u: u.id_token_changes.update(nonce="another-nonce"), "nonce"),
    ("no-nonce", lambda u: u.id_token_changes.update(nonce=None), "nonce"),
    ("expired", lambda u: u.id_token_changes.update(exp=int(time.time()) - 600), "expired"),
    ("no-exp", lambda u: u.id_token_changes.update(exp=None), "exp"),
    ("no-iat", lambda u: u.id_token_changes.update(iat=None), "iat"),
    ("userinfo-sub", lambda u: u.userinfo.update(sub="someone-else"), "userinfo sub"),
]


def test_an_id_token_that_fails_any_check_is_refused_and_logged(tenant: Tenant) -> None:
    """OpenID Connect Core §3.1.3.7: each check refuses the login, creates no user, logs f."""
    setup = make_connection(tenant)
    for case, change, reason in ID_TOKEN_FAULTS:
        upstream = FakeUpstream()
        tenant.runtime.upstream = UpstreamClient(http=upstream.http)
        change(upstream)
        params = answer(sign_in(tenant, upstream, setup))
        assert params["error"] == "access_denied", case
        assert params["state"] == "app-state", case
        assert "code" not in params, case
        assert user(tenant) is None, case
        assert reason in failures(tenant)[-1], (case, failures(tenant))


def test_an_upstream_error_is_sent_to_the_app_as_access_denied(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """The upstream's refusal reaches the application with its description."""
    redirect = begin(tenant, make_connection(tenant))
    params = answer(
        callback(
            tenant,
            state=redirect.state,
            error="access_denied",
            error_description="User is not assigned to the client application.",
        )
    )
    assert params["error"] == "access_denied"
    assert params["error_description"] == "User is not assigned to the client application."
    assert params["state"] == "app-state"
    assert upstream.token_requests == []
    assert any("upstream identity provider answered" in f for f in failures(tenant))


def test_a_replayed_state_is_refused_with_an_error_page_and_no_redirect(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """Each upstream login completes once: the second callback with its state goes nowhere."""
    setup = make_connection(tenant)
    redirect = begin(tenant, setup)
    upstream.codes["first"] = redirect.params["nonce"]
    answer(callback(tenant, code="first", state=redirect.state))
    upstream.codes["second"] = redirect.params["nonce"]
    replay = callback(tenant, code="second", state=redirect.state)
    assert replay.status_code == 400
    assert "location" not in replay.headers
    assert replay.headers["content-type"].startswith("text/html")
    assert len(upstream.token_requests) == 1


def test_an_unknown_or_missing_state_is_refused_with_an_error_page(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """A callback nobody started: 400, no redirect, no call upstream."""
    for params in ({"code": "x", "state": "made-up"}, {"code": "x"}):
        response = callback(tenant, **params)
        assert response.status_code == 400
        assert "location" not in response.headers
    assert upstream.hits == Counter()


def test_an_expired_upstream_login_is_refused(tenant: Tenant, upstream: FakeUpstream) -> None:
    """The browser has ten minutes at the upstream's login page."""
    redirect = begin(tenant, make_connection(tenant))
    with tenant.runtime.sessions() as session:
        session.execute(
            update(UpstreamLoginRow).values(
                expires_at=tenant.runtime.clock.now() - timedelta(seconds=1)
            )
        )
        session.commit()
    upstream.codes["c"] = redirect.params["nonce"]
    assert callback(tenant, code="c", state=redirect.state).status_code == 400
    assert upstream.token_requests == []


def test_an_authorization_response_from_another_issuer_is_refused(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """RFC 9207: an ``iss`` parameter that is not the upstream's is a mix-up attack."""
    redirect = begin(tenant, make_connection(tenant))
    upstream.codes["c"] = redirect.params["nonce"]
    params = answer(callback(tenant, code="c", state=redirect.state, iss="https://evil.example"))
    assert params["error"] == "access_denied"
    assert upstream.token_requests == []


def test_a_repeated_or_nul_callback_parameter_is_refused_without_a_500(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """Malformed callbacks get the error page, whatever their shape."""
    repeated = tenant.http.get("/login/callback?state=a&state=b", follow_redirects=False)
    assert repeated.status_code == 400
    nul = tenant.http.post(
        "/login/callback", data={"state": "a\x00b", "code": "c"}, follow_redirects=False
    )
    assert nul.status_code == 400


def test_the_callback_accepts_a_form_post_response(tenant: Tenant, upstream: FakeUpstream) -> None:
    """An upstream using response_mode=form_post posts the same parameters."""
    setup = make_connection(tenant)
    redirect = begin(tenant, setup)
    upstream.codes["c"] = redirect.params["nonce"]
    response = tenant.http.post(
        "/login/callback", data={"code": "c", "state": redirect.state}, follow_redirects=False
    )
    assert "code" in answer(response)


def test_a_blocked_user_is_refused(tenant: Tenant, upstream: FakeUpstream) -> None:
    """A user blocked at the tenant cannot come back through the upstream."""
    setup = make_connection(tenant)
    answer(sign_in(tenant, upstream, setup))
    with tenant.runtime.sessions() as session:
        session.execute(update(UserRow).values(blocked=True))
        session.commit()
    params = answer(sign_in(tenant, upstream, setup))
    assert params["error"] == "access_denied"
    assert "code" not in params
    blocked = user(tenant)
    assert blocked is not None
    assert blocked.logins_count == 1


def test_an_unreachable_upstream_fails_the_authorization_request(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """Discovery failing at the start is an OAuth error for /authorize, never a 500."""
    setup = make_connection(tenant)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    tenant.runtime.upstream = UpstreamClient(
        http=lambda: httpx.Client(transport=httpx.MockTransport(down))
    )
    with pytest.raises(UpstreamUnavailable, match="could not be reached") as raised:
        begin(tenant, setup)
    assert raised.value.error == "temporarily_unavailable"


def test_an_http_issuer_off_loopback_is_refused(tenant: Tenant, upstream: FakeUpstream) -> None:
    """Only loopback upstreams may skip TLS: anything else would carry codes in clear."""
    upstream.issuer = "http://acme.okta.example"
    setup = make_connection(
        tenant,
        {
            "issuer": "http://acme.okta.example",
            "client_id": UPSTREAM_CLIENT_ID,
            "client_secret": UPSTREAM_SECRET,
        },
    )
    with pytest.raises(UpstreamUnavailable, match="must use https"):
        begin(tenant, setup)
    assert upstream.hits == Counter()


def _authorize(tenant: Tenant, setup: Setup) -> httpx.Response:
    return tenant.http.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": setup.client_id,
            "redirect_uri": APP_CALLBACK,
            "scope": "openid profile email",
            "state": "app-state",
            "code_challenge": s256_challenge("v" * 43),
            "code_challenge_method": "S256",
            "connection": CONNECTION,
        },
        follow_redirects=False,
    )


def test_authorize_with_an_okta_connection_sends_the_browser_upstream_and_back_to_the_app(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """/authorize?connection= → the upstream's authorization endpoint → /login/callback → code."""
    setup = make_connection(tenant)
    response = _authorize(tenant, setup)
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(f"{ISSUER}/oauth2/v1/authorize?")
    sent = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    upstream.codes["c"] = sent["nonce"]
    params = answer(callback(tenant, code="c", state=sent["state"]))
    assert params["code"]
    assert params["state"] == "app-state"


def test_authorize_with_an_unreachable_upstream_answers_the_app_not_a_500(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """The upstream's failure is the authorization request's error, sent to the application."""
    setup = make_connection(tenant)
    tenant.runtime.upstream = UpstreamClient(
        http=lambda: httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(503)))
    )
    params = answer(_authorize(tenant, setup))
    assert params["error"] == "temporarily_unavailable"
    assert "HTTP 503" in params["error_description"]


def test_a_second_upstream_subject_with_a_taken_email_is_refused(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """One account per e-mail per connection: another sub with the same e-mail takes nothing."""
    setup = make_connection(tenant)
    answer(sign_in(tenant, upstream, setup))
    upstream.id_token_changes["sub"] = "00u-impostor"
    upstream.userinfo = {**upstream.userinfo, "sub": "00u-impostor"}
    params = answer(sign_in(tenant, upstream, setup))
    assert params["error"] == "access_denied"
    assert user(tenant, f"okta|{CONNECTION}|00u-impostor") is None
    assert "already has the e-mail" in failures(tenant)[-1]


def test_a_callback_in_a_browser_that_did_not_start_the_login_signs_no_one_in(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """Login CSRF: an attacker's upstream callback, replayed in a victim's browser, is refused
    before the code is even exchanged."""
    redirect = begin(tenant, make_connection(tenant))
    code = secrets.token_urlsafe(16)
    upstream.codes[code] = redirect.params["nonce"]
    tenant.http.cookies.clear()
    response = callback(tenant, code=code, state=redirect.state)
    assert response.status_code == 400
    assert "expressway_tenant_session" not in response.cookies
    assert "location" not in response.headers
    assert upstream.token_requests == []


def _require_organizations(tenant: Tenant, setup: Setup, enrolling: int) -> list[str]:
    """The app requires an organization (credentials first); ``enrolling`` organizations enrol
    members through the connection on login."""
    api = tenant.api()
    patched = api.patch(
        f"/clients/{setup.client_id}",
        json={
            "organization_usage": "require",
            "organization_require_behavior": "post_login_prompt",
        },
    )
    assert patched.status_code == 200, patched.text
    organization_ids = []
    for index in range(enrolling):
        organization = api.post("/organizations", json={"name": f"customer-{index}"}).json()
        enabled = api.post(
            f"/organizations/{organization['id']}/enabled_connections",
            json={"connection_id": setup.connection_id, "assign_membership_on_login": True},
        )
        assert enabled.status_code == 201, enabled.text
        organization_ids.append(organization["id"])
    return organization_ids


def test_an_organization_that_enrols_through_the_connection_takes_in_a_user_without_one(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """Auto-membership: an app requiring an organization, a user who came through a connection
    (Home Realm Discovery, say) that one organization enrols members from: they join it."""
    setup = make_connection(tenant)
    [organization_id] = _require_organizations(tenant, setup, enrolling=1)
    params = answer(sign_in(tenant, upstream, setup))
    assert params.get("code"), params
    members = tenant.api().get(f"/organizations/{organization_id}/members").json()
    assert [member["user_id"] for member in members] == [f"okta|{CONNECTION}|{SUB}"]


def test_with_two_organizations_enrolling_through_the_connection_nobody_is_enrolled(
    tenant: Tenant, upstream: FakeUpstream
) -> None:
    """Which organization is not the tenant's to guess: the login fails as not a member."""
    setup = make_connection(tenant)
    organization_ids = _require_organizations(tenant, setup, enrolling=2)
    params = answer(sign_in(tenant, upstream, setup))
    assert params["error"] == "access_denied"
    assert "not_organization_member" in params.get("error_cause", "")
    for organization_id in organization_ids:
        assert tenant.api().get(f"/organizations/{organization_id}/members").json() == []
