"""OpenID Connect Back-Channel Logout 1.0 from the tenant: the ``oidc_logout`` setting in Auth0's
shape, the Logout Token (§2.4), who gets one (the applications of the ended session only), and
its delivery from the outbox (§2.5) with retries when the receiver is down.

The receivers are played by an ``httpx.MockTransport``; time is a frozen clock the tests move.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from expressway.clock import FrozenClock
from expressway.oauth.backchannel_logout import EVENT, TOKEN_LIFETIME
from expressway.tenant.app import create_app
from expressway.tenant.authn.backchannel_logout import (
    FAILURE_LOG,
    RETRY_DELAYS,
    SUCCESS_LOG,
    deliver_due,
)
from expressway.tenant.rows import BackchannelLogoutRow, LogEventRow, LoginSessionRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import backchannel_logout, login_sessions
from expressway.tenant.services.login_sessions import COOKIE_NAME
from tests.conftest import BACKENDS, Tenant, auth0_error
from tests.tenant.scim.helpers import ScimConnection, okta_user, scim_connection
from tests.tenant.token_flows import (
    SIGNED_OUT,
    App,
    claims,
    exchange,
    make_app,
    make_user,
    mint_code,
    pkce_pair,
    sign_in,
    start_session,
    verified,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

RECEIVER = "https://app.example/backchannel-logout"
OTHER_RECEIVER = "https://other.example/backchannel-logout"


@dataclass
class Receivers:
    """The applications' back-channel logout endpoints: each POST is kept; ``answers`` says how
    each URL answers (a status, or an exception to raise), 200 by default."""

    requests: list[httpx.Request] = field(default_factory=list)
    answers: dict[str, list[int | Exception]] = field(default_factory=dict)
    received: threading.Event = field(default_factory=threading.Event)

    def http(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        queued = self.answers.get(str(request.url))
        answer = queued.pop(0) if queued else 200
        if isinstance(answer, Exception):
            raise answer
        self.requests.append(request)
        self.received.set()
        return httpx.Response(answer, json={"error": "invalid_request"} if answer >= 400 else None)

    def tokens(self, url: str = RECEIVER) -> list[str]:
        return [
            parse_qs(r.content.decode())["logout_token"][0]
            for r in self.requests
            if str(r.url) == url
        ]


@pytest.fixture
def receivers(tenant: Tenant) -> Receivers:
    fake = Receivers()
    tenant.runtime.backchannel_http = fake.http
    return fake


@pytest.fixture
def clock(tenant: Tenant) -> FrozenClock:
    frozen = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    tenant.runtime.clock = frozen
    return frozen


def oidc_logout(url: str = RECEIVER, **initiators: Any) -> dict[str, Any]:
    value: dict[str, Any] = {"backchannel_logout_urls": [url]}
    if initiators:
        value["backchannel_logout_initiators"] = initiators
    return value


@dataclass
class SignedIn:
    app: App
    user_id: str
    session_id: str
    tokens: dict[str, Any]


def signed_in(
    tenant: Tenant, app: App, user_id: str | None = None, session_id: str | None = None
) -> SignedIn:
    """A code exchange through a login session, as at the end of Universal Login."""
    api = tenant.api()
    user_id = user_id or make_user(api)
    if session_id is None:
        session_id, secret = start_session(tenant, user_id)
        tenant.http.cookies.set(COOKIE_NAME, secret)
    tokens = sign_in(tenant, app, user_id, session_id=session_id)
    return SignedIn(app, user_id, session_id, tokens)


def outbox(tenant: Tenant) -> list[BackchannelLogoutRow]:
    with tenant.runtime.sessions() as session:
        return list(
            session.scalars(select(BackchannelLogoutRow).order_by(BackchannelLogoutRow.created_at))
        )


def log_events(tenant: Tenant, type: str) -> list[LogEventRow]:
    with tenant.runtime.sessions() as session:
        return list(session.scalars(select(LogEventRow).where(LogEventRow.type == type)))


def end_user_sessions(tenant: Tenant, user_id: str, initiator: str) -> int:
    with tenant.runtime.sessions() as session:
        ended = login_sessions.revoke_user_sessions(
            session, tenant.runtime.clock.now(), user_id, initiator=initiator
        )
        session.commit()
    return ended


# --- The setting ---


def test_oidc_logout_is_stored_and_returned_in_auth0s_shape(tenant: Tenant) -> None:
    """Auth0's client ``oidc_logout``: URLs and initiators; absent initiators mean rp-logout and
    idp-logout; PATCH replaces it; null clears it."""
    api = tenant.api()
    created = api.post("/clients", json={"name": "App", "oidc_logout": oidc_logout()})
    assert created.status_code == 201, created.text
    assert created.json()["oidc_logout"] == {
        "backchannel_logout_urls": [RECEIVER],
        "backchannel_logout_initiators": {
            "mode": "custom",
            "selected_initiators": ["rp-logout", "idp-logout"],
        },
    }
    path = f"/clients/{created.json()['client_id']}"
    patched = api.patch(
        path,
        json={
            "oidc_logout": oidc_logout(
                OTHER_RECEIVER, mode="custom", selected_initiators=["account-deactivated"]
            )
        },
    )
    assert patched.status_code == 200, patched.text
    assert api.get(path).json()["oidc_logout"] == {
        "backchannel_logout_urls": [OTHER_RECEIVER],
        "backchannel_logout_initiators": {
            "mode": "custom",
            "selected_initiators": ["account-deactivated"],
        },
    }
    assert api.patch(path, json={"name": "Renamed"}).json()["oidc_logout"] is not None
    assert api.patch(path, json={"oidc_logout": None}).json()["oidc_logout"] is None
    assert api.get(path).json()["oidc_logout"] is None


@pytest.mark.parametrize(
    ("urls", "named"),
    [
        (["/backchannel-logout"], "backchannel_logout_urls[0]"),
        (["ftp://app.example/logout"], "backchannel_logout_urls[0]"),
        (["https://app.example/logout#fragment"], "fragment"),
        (["https://app.example/logout#"], "fragment"),
        (["https://user:pass@app.example/logout"], "credentials"),
        (["https://app.example:99999/logout"], "backchannel_logout_urls[0]"),
        ([RECEIVER, OTHER_RECEIVER], "only 1 URL"),
    ],
)
def test_a_back_channel_logout_url_must_be_one_absolute_http_url_without_fragment(
    tenant: Tenant, urls: list[str], named: str
) -> None:
    """Back-Channel Logout 1.0 §2.2: an absolute http(s) URL, no fragment; Auth0 takes one."""
    response = tenant.api().post(
        "/clients", json={"name": "App", "oidc_logout": {"backchannel_logout_urls": urls}}
    )
    assert response.status_code == 400, response.text
    assert named in auth0_error(response)["message"]


@pytest.mark.parametrize(
    "initiators",
    [
        {"mode": "custom"},
        {"mode": "sometimes", "selected_initiators": ["rp-logout"]},
        {"mode": "custom", "selected_initiators": ["coffee-break"]},
        {"mode": "custom", "selected_initiators": ["rp-logout", "rp-logout"]},
    ],
)
def test_backchannel_logout_initiators_must_be_auth0s(
    tenant: Tenant, initiators: dict[str, Any]
) -> None:
    """mode is custom or all; custom needs selected_initiators, each one of Auth0's, once."""
    response = tenant.api().post(
        "/clients",
        json={
            "name": "App",
            "oidc_logout": {
                "backchannel_logout_urls": [RECEIVER],
                "backchannel_logout_initiators": initiators,
            },
        },
    )
    assert response.status_code == 400, response.text
    assert "initiators" in auth0_error(response)["message"] or "mode" in response.text


def test_the_discovery_document_announces_back_channel_logout_with_sessions(
    tenant: Tenant,
) -> None:
    """Back-Channel Logout 1.0 §2.1: the provider's metadata says it sends sid."""
    document = tenant.http.get("/.well-known/openid-configuration").json()
    assert document["backchannel_logout_supported"] is True
    assert document["backchannel_logout_session_supported"] is True


# --- The token, and who gets one ---


def test_rp_initiated_logout_sends_a_logout_token_with_the_claims_of_section_2_4(
    tenant: Tenant, receivers: Receivers
) -> None:
    """§2.4: iss, aud = client_id, iat, short exp, jti, sub, sid of the ID token, the event,
    no nonce; typ logout+jwt; signed with the tenant's key; POSTed form-encoded (§2.5)."""
    app = make_app(tenant.api(), oidc_logout=oidc_logout())
    login = signed_in(tenant, app)
    logout = tenant.http.get(
        "/v2/logout",
        params={"client_id": app.client_id, "returnTo": SIGNED_OUT},
        follow_redirects=False,
    )
    assert logout.status_code == 302
    assert [row.initiator for row in outbox(tenant)] == ["rp-logout"]
    assert receivers.requests == [], "delivery waits for the worker, after the commit"

    report = deliver_due(tenant.runtime)

    assert (report.delivered, report.retrying, report.failed) == (1, 0, 0)
    (request,) = receivers.requests
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    (token,) = receivers.tokens()
    header, logout_claims = verified(tenant, token)
    assert header["typ"] == "logout+jwt"
    assert header["alg"] == "RS256"
    id_token = claims(tenant, login.tokens["id_token"])
    assert logout_claims["iss"] == "http://localhost:8401/"
    assert logout_claims["aud"] == app.client_id
    assert logout_claims["sub"] == login.user_id == id_token["sub"]
    assert logout_claims["sid"] == login.session_id == id_token["sid"]
    assert logout_claims["events"] == {EVENT: {}}
    assert logout_claims["exp"] - logout_claims["iat"] == TOKEN_LIFETIME
    assert len(logout_claims["jti"]) >= 16
    assert "nonce" not in logout_claims
    assert outbox(tenant)[0].state == "delivered"
    (event,) = log_events(tenant, SUCCESS_LOG)
    assert event.client_id == app.client_id
    assert event.user_id == login.user_id
    assert event.details["initiator"] == "rp-logout"
    assert event.details["sid"] == login.session_id
    assert token not in str(event.details), "the token itself is never logged"


def test_only_the_applications_that_got_tokens_through_the_ended_session_are_told(
    tenant: Tenant, receivers: Receivers
) -> None:
    """A Logout Token goes to each client of the session, with its own aud; a client the user
    signed in to through another session, or never, gets none."""
    api = tenant.api()
    first = make_app(api, name="First", oidc_logout=oidc_logout(RECEIVER))
    second = make_app(api, name="Second", oidc_logout=oidc_logout(OTHER_RECEIVER))
    bystander = make_app(api, name="Bystander", oidc_logout=oidc_logout("https://by.example/"))
    user_id = make_user(api)
    login = signed_in(tenant, first, user_id)
    signed_in(tenant, second, user_id, session_id=login.session_id)
    signed_in(tenant, second, user_id, session_id=login.session_id)
    other_session, _ = start_session(tenant, user_id)
    signed_in(tenant, bystander, user_id, session_id=other_session)

    with tenant.runtime.sessions() as session:
        assert login_sessions.revoke_session(
            session, tenant.runtime.clock.now(), login.session_id, initiator="rp-logout"
        )
        session.commit()
    deliver_due(tenant.runtime)

    assert sorted(str(r.url) for r in receivers.requests) == sorted([RECEIVER, OTHER_RECEIVER])
    assert claims(tenant, receivers.tokens(RECEIVER)[0])["aud"] == first.client_id
    assert claims(tenant, receivers.tokens(OTHER_RECEIVER)[0])["aud"] == second.client_id
    with tenant.runtime.sessions() as session:
        assert backchannel_logout.clients_of_session(session, login.session_id) == sorted(
            [first.client_id, second.client_id]
        )


def test_a_round_with_nothing_due_takes_no_write_transaction(
    tenant: Tenant, receivers: Receivers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker comes every second: with nothing due it only reads, so it never takes
    SQLite's write lock from the requests; with a Logout Token due it claims it as before."""
    opened: list[str] = []
    write_sessions = tenant.runtime.sessions

    def counted() -> Any:
        opened.append("write")
        return write_sessions()

    monkeypatch.setattr(tenant.runtime, "sessions", counted)
    monkeypatch.setattr("secrets.randbelow", lambda _: 1)  # no sweep of finished rows this time
    assert deliver_due(tenant.runtime).attempted == 0
    assert opened == []

    monkeypatch.setattr(tenant.runtime, "sessions", write_sessions)
    app = make_app(tenant.api(), oidc_logout=oidc_logout())
    login = signed_in(tenant, app)
    assert end_user_sessions(tenant, login.user_id, "idp-logout") == 1
    monkeypatch.setattr(tenant.runtime, "sessions", counted)
    assert deliver_due(tenant.runtime).delivered == 1
    assert opened, "the due row was claimed and finished in write transactions"


def test_an_application_without_a_back_channel_logout_url_gets_nothing(
    tenant: Tenant, receivers: Receivers
) -> None:
    """No URL, no outbox row: the session still ends."""
    app = make_app(tenant.api())
    login = signed_in(tenant, app)
    assert end_user_sessions(tenant, login.user_id, "idp-logout") == 1
    assert outbox(tenant) == []
    assert deliver_due(tenant.runtime).attempted == 0
    assert receivers.requests == []


def test_an_application_is_told_only_of_the_initiators_it_subscribes_to(
    tenant: Tenant, receivers: Receivers
) -> None:
    """Auth0's initiators: by default rp-logout and idp-logout; mode all takes every one."""
    api = tenant.api()
    default = make_app(api, name="Default", oidc_logout=oidc_logout(RECEIVER))
    everything = make_app(
        api, name="Everything", oidc_logout=oidc_logout(OTHER_RECEIVER, mode="all")
    )
    user_id = make_user(api)
    login = signed_in(tenant, default, user_id)
    signed_in(tenant, everything, user_id, session_id=login.session_id)

    assert end_user_sessions(tenant, user_id, "account-deactivated") == 1
    deliver_due(tenant.runtime)

    assert [str(r.url) for r in receivers.requests] == [OTHER_RECEIVER]
    assert [row.initiator for row in outbox(tenant)] == ["account-deactivated"]


def test_a_universal_logout_of_the_user_tells_the_applications_of_every_session(
    tenant: Tenant, receivers: Receivers
) -> None:
    """idp-logout (the Universal Logout receiver) ends every session: one token per session,
    each with that session's sid."""
    api = tenant.api()
    app = make_app(api, oidc_logout=oidc_logout())
    user_id = make_user(api)
    first = signed_in(tenant, app, user_id)
    second = signed_in(tenant, app, user_id)
    assert end_user_sessions(tenant, user_id, "idp-logout") == 2
    assert deliver_due(tenant.runtime).delivered == 2
    sids = sorted(claims(tenant, token)["sid"] for token in receivers.tokens())
    assert sids == sorted([first.session_id, second.session_id])
    assert end_user_sessions(tenant, user_id, "idp-logout") == 0
    assert len(outbox(tenant)) == 2, "an ended session is not told twice"


def test_a_code_minted_before_its_session_ended_cannot_be_exchanged_after(
    tenant: Tenant,
) -> None:
    """Its application was not told of the logout, so it must not get tokens of that session."""
    api = tenant.api()
    app = make_app(api, oidc_logout=oidc_logout())
    user_id = make_user(api)
    session_id, _ = start_session(tenant, user_id)
    verifier, challenge = pkce_pair()
    code = mint_code(tenant, app, user_id, challenge=challenge, session_id=session_id)
    end_user_sessions(tenant, user_id, "idp-logout")
    response = exchange(tenant, app, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "session" in response.json()["error_description"]


# --- Deleted accounts ---


@dataclass
class DeletedAccountApps:
    """Two applications a user signed in to: ``told`` subscribes to ``account-deleted`` only;
    ``untold`` keeps the default initiators (rp-logout and idp-logout)."""

    told: App
    untold: App


def deleted_account_apps(tenant: Tenant) -> DeletedAccountApps:
    api = tenant.api()
    told = make_app(
        api,
        name="Told",
        oidc_logout=oidc_logout(RECEIVER, mode="custom", selected_initiators=["account-deleted"]),
    )
    untold = make_app(api, name="Untold", oidc_logout=oidc_logout(OTHER_RECEIVER))
    return DeletedAccountApps(told, untold)


def sessions_of(tenant: Tenant, apps: DeletedAccountApps, user_id: str) -> list[str]:
    """Two login sessions of the user: through the first both applications got tokens, through
    the second ``told`` only. Answers their ids."""
    first = signed_in(tenant, apps.told, user_id)
    signed_in(tenant, apps.untold, user_id, session_id=first.session_id)
    second = signed_in(tenant, apps.told, user_id)
    return [first.session_id, second.session_id]


def check_account_deleted_tokens(
    tenant: Tenant,
    receivers: Receivers,
    apps: DeletedAccountApps,
    owed: dict[str, str],
) -> None:
    """The outbox holds one ``account-deleted`` row per ``owed`` session (sid to sub), all for
    ``told``; the worker then delivers each, after the users are gone, as a Logout Token with
    that sub and sid; ``untold`` gets nothing."""
    rows = outbox(tenant)
    assert sorted((row.session_id, row.subject) for row in rows) == sorted(owed.items())
    assert {(row.client_id, row.url, row.initiator, row.state) for row in rows} == {
        (apps.told.client_id, RECEIVER, "account-deleted", "pending")
    }
    api = tenant.api()
    for user_id in set(owed.values()):
        assert api.get(f"/users/{user_id}").status_code == 404, "the user is gone before delivery"

    report = deliver_due(tenant.runtime)

    assert (report.delivered, report.retrying, report.failed) == (len(owed), 0, 0)
    assert receivers.tokens(OTHER_RECEIVER) == []
    delivered = [claims(tenant, token) for token in receivers.tokens()]
    assert sorted((token["sid"], token["sub"]) for token in delivered) == sorted(owed.items())
    assert {token["aud"] for token in delivered} == {apps.told.client_id}
    assert all(token["events"] == {EVENT: {}} for token in delivered)
    assert {row.state for row in outbox(tenant)} == {"delivered"}
    events = log_events(tenant, SUCCESS_LOG)
    assert sorted((event.details["sid"], event.user_id) for event in events) == sorted(owed.items())
    assert {event.details["initiator"] for event in events} == {"account-deleted"}


def test_deleting_a_user_over_the_management_api_tells_the_applications_of_account_deleted(
    tenant: Tenant, receivers: Receivers
) -> None:
    """Auth0's ``account-deleted`` initiator: ``DELETE /api/v2/users/{id}`` ends the user's
    sessions before the user goes, and each session's subscribed application gets a Logout
    Token that the worker delivers once the user row is gone."""
    apps = deleted_account_apps(tenant)
    user_id = make_user(tenant.api())
    session_ids = sessions_of(tenant, apps, user_id)

    deleted = tenant.api().delete(f"/users/{user_id}")

    assert deleted.status_code == 204, deleted.text
    check_account_deleted_tokens(tenant, receivers, apps, dict.fromkeys(session_ids, user_id))


def provisioned_user(tenant: Tenant, scim: ScimConnection, external_id: str) -> tuple[str, str]:
    """A user pushed over SCIM: (SCIM id, tenant user id)."""
    created = scim.http.post("/Users", json=okta_user(f"{external_id}@example.com", external_id))
    assert created.status_code == 201, created.text
    return created.json()["id"], f"okta|{scim.name}|{external_id}"


def test_deleting_a_user_over_scim_tells_the_applications_of_account_deleted(
    tenant: Tenant, receivers: Receivers
) -> None:
    """SCIM ``DELETE /Users/{id}`` deletes the tenant user: the same ``account-deleted``
    Logout Tokens as a deletion over the Management API."""
    apps = deleted_account_apps(tenant)
    scim = scim_connection(tenant)
    scim_id, user_id = provisioned_user(tenant, scim, "00udeleted")
    session_ids = sessions_of(tenant, apps, user_id)

    deleted = scim.http.delete(f"/Users/{scim_id}")

    assert deleted.status_code == 204, deleted.text
    check_account_deleted_tokens(tenant, receivers, apps, dict.fromkeys(session_ids, user_id))


def test_deleting_a_connection_tells_the_applications_of_its_users_account_deleted(
    tenant: Tenant, receivers: Receivers
) -> None:
    """Deleting a connection deletes its users, as at Auth0: each of their sessions is ended
    as ``account-deleted``; a user of another connection keeps theirs."""
    apps = deleted_account_apps(tenant)
    scim = scim_connection(tenant)
    _, first = provisioned_user(tenant, scim, "00ufirst")
    _, second = provisioned_user(tenant, scim, "00usecond")
    owed = dict.fromkeys(sessions_of(tenant, apps, first), first)
    owed.update(dict.fromkeys(sessions_of(tenant, apps, second), second))
    bystander = make_user(tenant.api())
    kept = signed_in(tenant, apps.told, bystander)

    deleted = tenant.api().delete(f"/connections/{scim.id}")

    assert deleted.status_code == 204, deleted.text
    check_account_deleted_tokens(tenant, receivers, apps, owed)
    with tenant.runtime.sessions() as session:
        bystanders = session.get(LoginSessionRow, kept.session_id)
        assert bystanders is not None
        assert bystanders.revoked_at is None


# --- Delivery ---


def test_a_receiver_that_is_down_keeps_the_token_in_the_outbox_until_a_retry_succeeds(
    tenant: Tenant, receivers: Receivers, clock: FrozenClock
) -> None:
    """A network error or a 5xx is retried with backoff; the retry carries a fresh token."""
    app = make_app(tenant.api(), oidc_logout=oidc_logout())
    login = signed_in(tenant, app)
    receivers.answers[RECEIVER] = [httpx.ConnectError("connection refused"), 503]
    end_user_sessions(tenant, login.user_id, "idp-logout")

    first = deliver_due(tenant.runtime)
    assert (first.delivered, first.retrying) == (0, 1)
    (row,) = outbox(tenant)
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == clock.now() + RETRY_DELAYS[0]
    assert row.last_error is not None
    assert "ConnectError" in row.last_error
    assert deliver_due(tenant.runtime).attempted == 0, "not due before its backoff"

    clock.advance(RETRY_DELAYS[0].total_seconds())
    assert deliver_due(tenant.runtime).retrying == 1
    clock.advance(RETRY_DELAYS[1].total_seconds())
    assert deliver_due(tenant.runtime).delivered == 1

    (row,) = outbox(tenant)
    assert (row.state, row.attempts) == ("delivered", 3)
    tokens = receivers.tokens()
    assert len(tokens) == 2, "the connection error never reached the receiver"
    jtis = {claims(tenant, token)["jti"] for token in tokens}
    assert len(jtis) == 2
    assert log_events(tenant, FAILURE_LOG) == []
    assert len(log_events(tenant, SUCCESS_LOG)) == 1


def test_a_receiver_failing_every_attempt_is_given_up_after_the_last_retry_and_logged(
    tenant: Tenant, receivers: Receivers, clock: FrozenClock
) -> None:
    """After the last backoff the row is failed, and the failure is logged in Auth0's style."""
    app = make_app(tenant.api(), oidc_logout=oidc_logout())
    login = signed_in(tenant, app)
    receivers.answers[RECEIVER] = [500] * (len(RETRY_DELAYS) + 1)
    end_user_sessions(tenant, login.user_id, "idp-logout")
    for delay in RETRY_DELAYS:
        assert deliver_due(tenant.runtime).retrying == 1
        clock.advance(delay.total_seconds())
    assert deliver_due(tenant.runtime).failed == 1
    (row,) = outbox(tenant)
    assert (row.state, row.attempts) == ("failed", len(RETRY_DELAYS) + 1)
    assert deliver_due(tenant.runtime).attempted == 0
    (event,) = log_events(tenant, FAILURE_LOG)
    assert "HTTP 500" in (event.description or "")
    assert event.details["attempts"] == len(RETRY_DELAYS) + 1
    assert event.details["status_code"] == 500


@pytest.mark.parametrize("status", [400, 302])
def test_a_refusal_or_a_redirect_from_the_receiver_is_not_retried(
    tenant: Tenant, receivers: Receivers, status: int
) -> None:
    """§2.8: a 400 says the token is refused; sending it again changes nothing. Redirects are
    not followed: the token goes to the registered URL only."""
    app = make_app(tenant.api(), oidc_logout=oidc_logout())
    login = signed_in(tenant, app)
    receivers.answers[RECEIVER] = [status]
    end_user_sessions(tenant, login.user_id, "idp-logout")
    assert deliver_due(tenant.runtime).failed == 1
    assert len(receivers.requests) == 1
    assert outbox(tenant)[0].state == "failed"
    assert len(log_events(tenant, FAILURE_LOG)) == 1


def test_a_claimed_token_is_not_taken_again_by_another_worker(
    tenant: Tenant, receivers: Receivers, clock: FrozenClock
) -> None:
    """Two workers (or replicas) on one database: a row is claimed by one of them only, and a
    claim that lapses (its worker died) makes the row due again."""
    app = make_app(tenant.api(), oidc_logout=oidc_logout())
    login = signed_in(tenant, app)
    end_user_sessions(tenant, login.user_id, "idp-logout")
    lease = timedelta(seconds=60)
    with tenant.runtime.sessions() as session:
        taken = backchannel_logout.claim_due(session, clock.now(), limit=10, lease=lease)
        session.commit()
    with tenant.runtime.sessions() as session:
        again = backchannel_logout.claim_due(session, clock.now(), limit=10, lease=lease)
        session.commit()
    assert (len(taken), again) == (1, [])
    clock.advance(61)
    assert deliver_due(tenant.runtime).delivered == 1
    assert len(receivers.requests) == 1


def test_the_background_worker_delivers_without_being_asked(
    tenant: Tenant, receivers: Receivers
) -> None:
    """With tenant_backchannel_logout_worker on, the app's lifespan runs the delivery."""
    app = make_app(tenant.api(), oidc_logout=oidc_logout())
    login = signed_in(tenant, app)
    settings = tenant.runtime.settings.model_copy(update={"tenant_backchannel_logout_worker": True})
    runtime = TenantRuntime.from_settings(settings)
    runtime.backchannel_http = receivers.http
    try:
        with TestClient(create_app(runtime)):
            end_user_sessions(tenant, login.user_id, "idp-logout")
            assert receivers.received.wait(timeout=20), "the worker delivered the token"
        assert len(receivers.tokens()) == 1
    finally:
        runtime.engine.dispose()


def test_deleting_an_application_drops_its_undelivered_tokens(
    tenant: Tenant, receivers: Receivers
) -> None:
    """Nothing is sent on behalf of an application that no longer exists."""
    app = make_app(tenant.api(), oidc_logout=oidc_logout())
    login = signed_in(tenant, app)
    end_user_sessions(tenant, login.user_id, "idp-logout")
    assert tenant.api().delete(f"/clients/{app.client_id}").status_code == 204
    assert outbox(tenant) == []
    assert deliver_due(tenant.runtime).attempted == 0


def test_finished_rows_are_purged_after_a_week_and_pending_ones_never(
    tenant: Tenant, receivers: Receivers, clock: FrozenClock
) -> None:
    """The outbox keeps a delivered row for a week, for whoever looks into a logout."""
    app = make_app(tenant.api(), oidc_logout=oidc_logout())
    user_id = make_user(tenant.api())
    signed_in(tenant, app, user_id)
    end_user_sessions(tenant, user_id, "idp-logout")
    deliver_due(tenant.runtime)
    signed_in(tenant, app, user_id)
    end_user_sessions(tenant, user_id, "idp-logout")
    clock.advance(backchannel_logout.KEEP_FINISHED.total_seconds() + 1)
    with tenant.runtime.sessions() as session:
        assert backchannel_logout.purge_finished(session, clock.now()) == 1
        session.commit()
    assert [row.state for row in outbox(tenant)] == ["pending"]
