"""Express Configure SSO & UL and SCIM (SPEC §4): the workforce side against a fake tenant served
through ``httpx.MockTransport``."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from expressway import jose
from expressway.oauth.express_configuration import ERROR_CODE, ERROR_SUMMARY
from expressway.oauth.pkce import s256_challenge
from expressway.workforce.rows import AppRow, ExpressConfigureFlowRow, LogEventRow
from tests.conftest import BACKENDS
from tests.workforce.conftest import PUBLIC_URL, Workforce
from tests.workforce.oin_helpers import finished_submission

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)

TENANT = "https://vendor.us.auth0.example"
LOGIN = "https://login.vendor.example"
CALLBACK = "/admin/app/generic/oauth20redirect"
SCIM_TOKEN = "scim-token-that-must-stay-sealed"


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def _fake_id_token(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


@dataclass
class FakeTenant:
    """A tenant that answers the code exchange and the Express Configuration API, or fails as
    told; it remembers every request."""

    public_pem: str
    kid: str
    challenge: dict[str, str] = field(default_factory=dict)
    token_failure: tuple[int, dict[str, Any]] | None = None
    #: Changes to the claims of the ID token the code exchange answers.
    id_token_changes: dict[str, Any] = field(default_factory=dict)
    api_failure: tuple[int, dict[str, Any]] | None = None
    down: bool = False
    requests: list[httpx.Request] = field(default_factory=list)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    jtis: set[str] = field(default_factory=set)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/oauth/token":
            return self._token(request)
        if request.url.path.startswith("/express-configure/v1/"):
            return self._api(request)
        return httpx.Response(404)

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        assertion = form["client_assertion"]
        # The key the vendor uploaded, registered under the wizard's key id.
        key = {**jose.read_public_key(self.public_pem).jwk, "kid": self.kid}
        header, claims = jose.verify_jwt(assertion, jose.key_set([key]))
        self.assertions.append({"header": header, "claims": claims, "form": form})
        if self.token_failure is not None:
            status, body = self.token_failure
            return httpx.Response(status, json=body)
        assert claims["jti"] not in self.jtis
        self.jtis.add(claims["jti"])
        assert s256_challenge(form["code_verifier"]) == self.challenge["code_challenge"]
        return httpx.Response(
            200,
            json={
                "access_token": "tenant-access-token",
                "token_type": "Bearer",
                "id_token": _fake_id_token(
                    {"nonce": self.challenge["nonce"]} | self.id_token_changes
                ),
                "scope": "openid express_configure:sso",
            },
        )

    def _api(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer tenant-access-token"
        if self.api_failure is not None:
            status, body = self.api_failure
            return httpx.Response(status, json=body)
        if request.url.path.endswith("/sso"):
            return httpx.Response(
                200,
                json={
                    "connection": {"id": "con_123", "name": "okta-acme"},
                    "organization": {"id": "org_1", "name": "acme"},
                    "redirect_uri": f"{TENANT}/login/callback",
                    "initiate_login_uri": "https://app.vendor.example/login?organization=org_1",
                    "global_token_revocation_endpoint": (
                        f"{TENANT}/oauth/global-token-revocation/connection/okta-acme"
                    ),
                    "domain_aliases": ["acme.example"],
                },
            )
        return httpx.Response(
            200,
            json={
                "scim_base_url": f"{TENANT}/scim/v2/connections/con_123",
                "token": SCIM_TOKEN,
                "token_id": "tok_1",
                "valid_until": None,
            },
        )

    def sent(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


@dataclass
class Instance:
    app_id: str
    client_id: str
    client_secret: str
    submission_id: str


def _instance(
    api: TestClient, capabilities: tuple[str, ...] = ("OIDC", "SCIM", "UNIVERSAL_LOGOUT")
) -> Instance:
    submission = finished_submission(api, capabilities=capabilities)
    response = api.post(f"/oin/submissions/{submission['id']}/test-instance")
    assert response.status_code == 200, response.text
    app = response.json()
    oauth = app["credentials"]["oauthClient"]
    return Instance(app["id"], oauth["client_id"], oauth["client_secret"], submission["id"])


@pytest.fixture
def tenant(workforce: Workforce) -> tuple[FakeTenant, Instance]:
    api = workforce.api()
    instance = _instance(api)
    pem = api.get(f"/oin/submissions/{instance.submission_id}/key.pem").text
    kid = api.get(f"/oin/submissions/{instance.submission_id}").json()["key"]["kid"]
    fake = FakeTenant(pem, kid)
    workforce.runtime.tenant_http = lambda: httpx.Client(transport=httpx.MockTransport(fake.handle))
    return fake, instance


def _start(
    workforce: Workforce, fake: FakeTenant, app_id: str, kind: str = "sso"
) -> tuple[str, dict[str, str]]:
    response = workforce.api().post(f"/apps/{app_id}/express-configure/{kind}")
    assert response.status_code == 200, response.text
    body = response.json()
    url = urlsplit(body["authorizeUrl"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    fake.challenge = query
    return body["flowId"], query


def _callback(workforce: Workforce, **params: str) -> Any:
    return workforce.http.get(CALLBACK, params=params)


def _flow(workforce: Workforce, app_id: str, flow_id: str, org: str = "acme") -> Any:
    return workforce.api(org).get(f"/apps/{app_id}/express-configure/flows/{flow_id}")


def _reasons(response: Any) -> list[str]:
    body = response.json()
    assert body["errorCode"] == ERROR_CODE
    assert body["errorSummary"] == ERROR_SUMMARY
    return [cause["reason"] for cause in body["errorCauses"]]


def test_starting_answers_the_tenants_authorize_url_with_pkce_and_a_pending_flow(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """SPEC §4 step 1: the admin is sent to the login domain's /authorize with the OIN client."""
    fake, instance = tenant
    response = workforce.api().post(f"/apps/{instance.app_id}/express-configure/sso")
    assert response.status_code == 200, response.text
    body = response.json()
    url = urlsplit(body["authorizeUrl"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{LOGIN}/authorize"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == "oinClient123"
    assert query["redirect_uri"] == f"{PUBLIC_URL}{CALLBACK}"
    assert query["audience"] == "urn:auth0:express-configure"
    assert query["scope"] == "openid express_configure:sso"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["state"]
    assert query["nonce"]
    poll = _flow(workforce, instance.app_id, body["flowId"])
    assert poll.status_code == 202
    assert poll.json()["status"] == "PENDING"
    assert fake.requests == []


def test_sso_succeeds_with_a_private_key_jwt_signed_by_the_integrations_key(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """SPEC §4 steps 4-5: RFC 7523 assertion, then the EC API with the instance's OIDC client."""
    fake, instance = tenant
    flow_id, query = _start(workforce, fake, instance.app_id)
    page = _callback(workforce, state=query["state"], code="the-code")
    assert page.status_code == 200, page.text
    assert "Express Configuration succeeded" in page.text

    [seen] = fake.assertions
    claims = seen["claims"]
    assert claims["iss"] == claims["sub"] == "oinClient123"
    assert claims["aud"] == f"{TENANT}/"
    assert claims["jti"]
    assert 0 < claims["exp"] - claims["iat"] <= 300
    with workforce.runtime.sessions() as session:
        key_id = session.scalars(
            sa.text("select key_id from oin_submissions where id = :id"),
            {"id": instance.submission_id},
        ).one()
    assert seen["header"]["kid"] == key_id
    form = seen["form"]
    assert form["grant_type"] == "authorization_code"
    assert form["code"] == "the-code"
    assert form["redirect_uri"] == f"{PUBLIC_URL}{CALLBACK}"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    [call] = fake.sent("/express-configure/v1/sso")
    assert json.loads(call.content) == {
        "issuer": f"{PUBLIC_URL}/orgs/acme",
        "client_id": instance.client_id,
        "client_secret": instance.client_secret,
        "universal_logout": True,
    }
    poll = _flow(workforce, instance.app_id, flow_id)
    assert poll.status_code == 200
    result = poll.json()
    assert result["status"] == "SUCCEEDED"
    assert result["result"]["connection"]["name"] == "okta-acme"
    assert result["result"]["initiate_login_uri"].startswith("https://app.vendor.example/")
    with workforce.runtime.sessions() as session:
        app = session.get(AppRow, instance.app_id)
        assert app is not None
        sso = app.express_configuration["sso"]
    assert sso["connection"]["name"] == "okta-acme"
    assert sso["global_token_revocation_endpoint"].endswith("/connection/okta-acme")
    assert sso["redirect_uri"] == f"{TENANT}/login/callback"


def test_the_code_exchange_and_the_api_call_share_one_client_closed_after(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """One connection to the tenant for a flow's two calls, kept alive between them."""
    fake, instance = tenant
    clients: list[httpx.Client] = []

    def client() -> httpx.Client:
        clients.append(httpx.Client(transport=httpx.MockTransport(fake.handle)))
        return clients[-1]

    workforce.runtime.tenant_http = client
    _, query = _start(workforce, fake, instance.app_id)
    page = _callback(workforce, state=query["state"], code="the-code")
    assert page.status_code == 200, page.text
    assert len(fake.sent("/express-configure/v1/sso")) == 1
    assert len(fake.assertions) == 1
    [used] = clients
    assert used.is_closed


def test_scim_succeeds_and_keeps_the_token_sealed_and_out_of_every_answer(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """The SCIM token is stored sealed on the instance and never shown by the flow."""
    fake, instance = tenant
    flow_id, query = _start(workforce, fake, instance.app_id, "scim")
    assert query["scope"] == "openid express_configure:scim"
    page = _callback(workforce, state=query["state"], code="the-code")
    assert page.status_code == 200, page.text
    assert SCIM_TOKEN not in page.text
    poll = _flow(workforce, instance.app_id, flow_id)
    assert poll.status_code == 200
    assert SCIM_TOKEN not in poll.text
    assert poll.json()["result"]["scim_base_url"] == f"{TENANT}/scim/v2/connections/con_123"
    [call] = fake.sent("/express-configure/v1/scim")
    assert json.loads(call.content) == {"issuer": f"{PUBLIC_URL}/orgs/acme"}
    assert SCIM_TOKEN not in workforce.api().get(f"/apps/{instance.app_id}").text
    with workforce.runtime.sessions() as session:
        app = session.get(AppRow, instance.app_id)
        assert app is not None
        scim = app.express_configuration["scim"]
        flow = session.get(ExpressConfigureFlowRow, flow_id)
        assert flow is not None
        assert SCIM_TOKEN not in json.dumps(flow.result)
    assert SCIM_TOKEN not in json.dumps(scim)
    assert workforce.runtime.secret_sealer.open(scim["token_sealed"]).decode() == SCIM_TOKEN


def test_an_incomplete_integration_fails_before_any_redirect(workforce: Workforce) -> None:
    """express_configuration_incomplete: an instance whose submission lacks the key or Finish."""
    api = workforce.api()
    response = api.post(
        "/apps",
        json={
            "name": "oidc_client",
            "label": "Plain",
            "signOnMode": "OPENID_CONNECT",
            "settings": {"oauthClient": {"redirect_uris": ["https://x.example/cb"]}},
        },
    )
    assert response.status_code == 200, response.text
    started = api.post(f"/apps/{response.json()['id']}/express-configure/sso")
    assert started.status_code == 403
    assert _reasons(started) == ["express_configuration_incomplete"]
    assert "authorizeUrl" not in started.text


def test_scim_on_an_integration_without_scim_is_incomplete(workforce: Workforce) -> None:
    """An integration that does not support SCIM cannot Express Configure it."""
    instance = _instance(workforce.api(), ("OIDC",))
    started = workforce.api().post(f"/apps/{instance.app_id}/express-configure/scim")
    assert started.status_code == 403
    assert _reasons(started) == ["express_configuration_incomplete"]


def test_an_unknown_kind_or_app_is_refused_in_oktas_shape(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """Bad input is a 400 or 404, never a 500."""
    _fake, instance = tenant
    api = workforce.api()
    assert api.post(f"/apps/{instance.app_id}/express-configure/saml").status_code == 400
    assert api.post("/apps/0oanope/express-configure/sso").status_code == 404
    assert _flow(workforce, instance.app_id, "0ecnope").status_code == 404


def test_the_tenants_error_causes_become_the_flows_403(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """SPEC §4 step 3: every cause of error_cause is named, and nothing is exchanged."""
    fake, instance = tenant
    flow_id, query = _start(workforce, fake, instance.app_id)
    page = _callback(
        workforce,
        state=query["state"],
        error="access_denied",
        error_description="The user is not allowed",
        error_cause="role_not_assigned home_realm_discovery_disabled not_organization_member",
    )
    assert page.status_code == 403
    assert "role_not_assigned" in page.text
    poll = _flow(workforce, instance.app_id, flow_id)
    assert poll.status_code == 403
    assert sorted(_reasons(poll)) == sorted(
        ["role_not_assigned", "home_realm_discovery_disabled", "not_organization_member"]
    )
    assert all(c["remediation"] for c in poll.json()["errorCauses"])
    assert fake.requests == []


def test_a_declined_consent_page_is_consent_denied(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """access_denied whose description says consent was declined, with no error_cause."""
    fake, instance = tenant
    flow_id, query = _start(workforce, fake, instance.app_id)
    _callback(
        workforce,
        state=query["state"],
        error="access_denied",
        error_description="The user declined consent",
    )
    assert _reasons(_flow(workforce, instance.app_id, flow_id)) == ["consent_denied"]


def test_a_tenant_error_without_a_known_cause_is_still_explained(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """The tenant's own error is listed rather than an empty errorCauses."""
    fake, instance = tenant
    flow_id, query = _start(workforce, fake, instance.app_id)
    _callback(workforce, state=query["state"], error="server_error", error_description="Oops")
    poll = _flow(workforce, instance.app_id, flow_id)
    assert poll.status_code == 403
    assert poll.json()["errorCauses"][0]["reason"] == "server_error"


def test_a_public_key_mismatch_at_the_token_endpoint_fails_the_flow(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """The token endpoint's 401 error_cause is the flow's cause; the EC API is not called."""
    fake, instance = tenant
    fake.token_failure = (
        401,
        {
            "error": "invalid_client",
            "error_description": "bad key",
            "error_cause": "public_key_mismatch",
        },
    )
    flow_id, query = _start(workforce, fake, instance.app_id)
    assert _callback(workforce, state=query["state"], code="c").status_code == 403
    assert _reasons(_flow(workforce, instance.app_id, flow_id)) == ["public_key_mismatch"]
    assert fake.sent("/express-configure/v1/sso") == []


@pytest.mark.parametrize(
    "changes", [{"nonce": "another-nonce"}, {"exp": float("nan")}], ids=["nonce", "NaN"]
)
def test_an_id_token_of_another_nonce_or_not_json_fails_the_flow(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance], changes: dict[str, Any]
) -> None:
    """OpenID Connect Core §3.1.3.7: the ID token's nonce is the flow's; claims holding NaN
    are not JSON (RFC 7519 section 7.2), so they name no nonce. The EC API is not called."""
    fake, instance = tenant
    fake.id_token_changes = changes
    flow_id, query = _start(workforce, fake, instance.app_id)
    assert _callback(workforce, state=query["state"], code="c").status_code == 403
    assert _reasons(_flow(workforce, instance.app_id, flow_id)) == ["invalid_token_response"]
    assert fake.sent("/express-configure/v1/sso") == []


def test_the_express_configuration_apis_403_causes_are_passed_through(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """A SPEC §4.1 body from the tenant's EC API names the flow's causes."""
    fake, instance = tenant
    fake.api_failure = (
        403,
        {
            "errorCode": ERROR_CODE,
            "errorSummary": ERROR_SUMMARY,
            "errorCauses": [
                {"errorSummary": "x", "reason": "app_not_configured", "remediation": "y"},
                {
                    "errorSummary": "x",
                    "reason": "application_connections_enabled",
                    "remediation": "y",
                },
            ],
        },
    )
    flow_id, query = _start(workforce, fake, instance.app_id)
    _callback(workforce, state=query["state"], code="c")
    poll = _flow(workforce, instance.app_id, flow_id)
    assert poll.status_code == 403
    assert _reasons(poll) == ["app_not_configured", "application_connections_enabled"]


@pytest.mark.parametrize("failure", ["down", "5xx"])
def test_a_tenant_that_is_down_or_failing_is_tenant_unreachable(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance], failure: str
) -> None:
    """No answer, or a 5xx, is tenant_unreachable."""
    fake, instance = tenant
    if failure == "down":
        fake.down = True
    else:
        fake.api_failure = (503, {"error": "unavailable"})
    flow_id, query = _start(workforce, fake, instance.app_id)
    assert _callback(workforce, state=query["state"], code="c").status_code == 403
    assert _reasons(_flow(workforce, instance.app_id, flow_id)) == ["tenant_unreachable"]


def test_a_replayed_or_unknown_state_is_refused(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """A state is used once; an unknown or missing one shows an error page."""
    fake, instance = tenant
    _flow_id, query = _start(workforce, fake, instance.app_id)
    assert _callback(workforce, state=query["state"], code="c").status_code == 200
    replay = _callback(workforce, state=query["state"], code="c")
    assert replay.status_code == 400
    assert "already used" in replay.text
    assert len(fake.assertions) == 1
    assert _callback(workforce, state="made-up", code="c").status_code == 400
    assert _callback(workforce, code="c").status_code == 400


def test_an_expired_flow_is_refused(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """A redirect that comes back after the flow's lifetime finds nothing."""
    fake, instance = tenant
    flow_id, query = _start(workforce, fake, instance.app_id)
    with workforce.runtime.sessions() as session:
        flow = session.get(ExpressConfigureFlowRow, flow_id)
        assert flow is not None
        flow.created_at = flow.created_at - timedelta(hours=1)
        session.commit()
    assert _callback(workforce, state=query["state"], code="c").status_code == 400
    assert fake.requests == []


def test_another_org_cannot_read_the_flow(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """A flow is found only in its own org."""
    fake, instance = tenant
    flow_id, _query = _start(workforce, fake, instance.app_id)
    assert _flow(workforce, instance.app_id, flow_id, org="globex").status_code == 404
    assert _flow(workforce, instance.app_id, flow_id).status_code == 202


def test_every_step_of_an_attempt_is_in_the_system_log(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """Start, callback, token exchange, EC API call and outcome all carry the flow's id."""
    fake, instance = tenant
    flow_id, query = _start(workforce, fake, instance.app_id)
    _callback(workforce, state=query["state"], code="c")
    with workforce.runtime.sessions() as session:
        events = session.scalars(sa.select(LogEventRow).order_by(LogEventRow.sort_key)).all()
        steps = [e.event_type for e in events if e.debug_data.get("flowId") == flow_id]
    assert steps == [
        "app.express_configure.start",
        "app.express_configure.callback",
        "app.express_configure.token",
        "app.express_configure.api",
        "app.express_configure.succeed",
    ]


def test_an_instance_of_a_submission_changed_back_to_draft_cannot_start(
    workforce: Workforce,
) -> None:
    """A submission changed after its instance was made must be finished again first."""
    api = workforce.api()
    instance = _instance(api)
    changed = api.post(f"/oin/submissions/{instance.submission_id}", json={"name": "Renamed"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "DRAFT"
    started = api.post(f"/apps/{instance.app_id}/express-configure/sso")
    assert started.status_code == 403
    assert _reasons(started) == ["express_configuration_incomplete"]


def test_an_integration_changed_during_the_flow_fails_at_the_callback(
    workforce: Workforce, tenant: tuple[FakeTenant, Instance]
) -> None:
    """Nothing is sent to the tenant once the integration is no longer finished."""
    fake, instance = tenant
    flow_id, query = _start(workforce, fake, instance.app_id)
    api = workforce.api()
    assert (
        api.post(f"/oin/submissions/{instance.submission_id}", json={"name": "R"}).status_code
        == 200
    )
    page = _callback(workforce, state=query["state"], code="c")
    assert page.status_code == 403
    assert "express_configuration_incomplete" in page.text
    assert _reasons(_flow(workforce, instance.app_id, flow_id)) == [
        "express_configuration_incomplete"
    ]
    assert fake.requests == []
