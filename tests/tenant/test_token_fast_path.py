"""The token fast path (:mod:`expressway.tenant.authn.token_fast_path`): the machine-to-machine
token requests it answers get what the token endpoint would answer, header for header, and every
request it declines reaches the endpoint whole, body included."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from expressway import jose
from expressway.tenant.authn import batched_exchanges, token_fast_path
from expressway.tenant.authn.endpoints import MAX_PARAMETERS_BYTES
from expressway.tenant.rows import LogEventRow
from expressway.web.security import SECURITY_HEADERS
from tests.conftest import BACKENDS, Tenant
from tests.tenant.machines import Machine

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

#: Headers of every token response, whichever path answered it.
TOKEN_HEADERS = {
    "cache-control": "no-store",
    "pragma": "no-cache",
    "content-type": "application/json",
}


def _batched(tenant: Tenant) -> int:
    """How many exchanges the fast path has issued."""
    writes = tenant.runtime.exchange_writes
    return 0 if writes is None else writes.items


def _logged(tenant: Tenant, type: str, client_id: str) -> int:
    with tenant.runtime.sessions() as session:
        return (
            session.scalar(
                sa.select(sa.func.count()).where(
                    LogEventRow.type == type, LogEventRow.client_id == client_id
                )
            )
            or 0
        )


def _assert_token_headers(headers: dict[str, str]) -> None:
    for name, value in {**TOKEN_HEADERS, **SECURITY_HEADERS}.items():
        assert headers.get(name.lower()) == value, name


def test_a_machine_token_is_answered_as_the_endpoint_answers_it(tenant: Tenant) -> None:
    machine = Machine(tenant)
    fast = machine.exchange()
    # The same request with a query string is left to the endpoint itself.
    slow = tenant.http.post(
        "/oauth/token", params={"unused": "1"}, data=machine.form(machine.assertion())
    )

    assert fast.status_code == slow.status_code == 200
    assert _batched(tenant) == 1, "the fast path did not answer the first request"
    _assert_token_headers(dict(fast.headers))
    assert {k: v for k, v in fast.headers.items() if k != "content-length"} == {
        k: v for k, v in slow.headers.items() if k != "content-length"
    }
    assert int(fast.headers["content-length"]) == len(fast.content)
    assert (
        fast.json().keys()
        == slow.json().keys()
        == {
            "access_token",
            "token_type",
            "expires_in",
            "scope",
        }
    )
    assert fast.json()["expires_in"] == slow.json()["expires_in"] == 600
    assert fast.json()["scope"] == "read:things"
    assert _logged(tenant, "seccft", machine.client_id) == 2


def test_a_json_request_takes_the_fast_path(tenant: Tenant) -> None:
    machine = Machine(tenant)
    answer = tenant.http.post("/oauth/token", json=machine.form(machine.assertion()))
    assert answer.status_code == 200
    assert _batched(tenant) == 1


def test_a_refused_assertion_reaches_the_endpoint_with_its_body(tenant: Tenant) -> None:
    """The fast path read the body to decide; the endpoint must still read it whole to refuse
    it for what it is, and count and log the failure."""
    machine = Machine(tenant)
    # Signed with a key of the same kid that the tenant does not hold.
    machine.key = jose.generate_signing_key("machine-key")
    answer = machine.exchange()

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers["x-frame-options"] == "DENY"
    assert _batched(tenant) == 0
    assert _logged(tenant, "feccft", machine.client_id) == 1


@pytest.mark.parametrize(
    ("content_type", "body", "description"),
    [
        ("application/json", b"[1, 2]", "the request body must be a JSON object"),
        ("application/json", b"{", "the request body is not valid JSON"),
        ("text/plain", b"grant_type=client_credentials", "application/x-www-form-urlencoded"),
        (
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials&grant_type=client_credentials",
            "parameter grant_type is repeated",
        ),
    ],
)
def test_malformed_parameters_get_the_endpoints_error(
    tenant: Tenant, content_type: str, body: bytes, description: str
) -> None:
    answer = tenant.http.post("/oauth/token", content=body, headers={"content-type": content_type})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert description in answer.json()["error_description"]
    assert _batched(tenant) == 0


def test_a_body_past_the_limit_is_refused_by_the_endpoint(tenant: Tenant) -> None:
    machine = Machine(tenant)
    form = machine.form(machine.assertion())
    form["padding"] = "x" * MAX_PARAMETERS_BYTES
    answer = tenant.http.post("/oauth/token", data=form)
    assert answer.status_code == 400
    assert f"larger than {MAX_PARAMETERS_BYTES} bytes" in answer.json()["error_description"]
    assert _batched(tenant) == 0


def test_a_database_fault_answers_the_endpoints_503(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = Machine(tenant)
    assert machine.exchange().status_code == 200

    def outage(*args: object, **kwargs: object) -> None:
        raise sa_exc.TimeoutError("QueuePool limit of size 10 overflow 20 reached")

    monkeypatch.setattr(batched_exchanges.throttling, "client_blocks", outage)
    answer = machine.exchange()

    assert answer.status_code == 503
    assert answer.json()["error"] == "temporarily_unavailable"
    assert answer.headers["retry-after"].isdigit()
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_an_unexpected_error_answers_the_last_resorts_500(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    machine = Machine(tenant)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a fault of the code, secret-looking text")

    monkeypatch.setattr(token_fast_path.batched_exchanges, "try_exchange", broken)
    answer = machine.exchange()

    assert answer.status_code == 500
    body = answer.json()
    assert body["statusCode"] == 500
    assert "secret-looking" not in json.dumps(body)
    assert answer.headers["x-frame-options"] == "DENY"
    assert "unhandled error" in caplog.text


def test_other_methods_and_paths_are_not_touched(tenant: Tenant) -> None:
    assert tenant.http.get("/oauth/token").status_code == 405
    assert tenant.http.post("/oauth/token/", follow_redirects=False).status_code == 307
    assert _batched(tenant) == 0


def test_a_machine_token_is_answered_before_the_applications_layers(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI's entry and its layers (error handling, body limit, the tenant's middleware) are
    passed only by the requests the fast path hands on."""
    app = tenant.http.app
    assert tenant.http.get("/.well-known/jwks.json").status_code == 200
    layers = app.middleware_stack  # type: ignore[attr-defined]
    entered: list[str] = []

    async def spy(scope: dict[str, object], receive: object, send: object) -> None:
        entered.append(str(scope["path"]))
        await layers(scope, receive, send)

    monkeypatch.setattr(app, "middleware_stack", spy)
    machine = Machine(tenant)
    assert machine.exchange().status_code == 200
    assert _batched(tenant) == 1
    assert entered == []
    replayed = machine.form(machine.assertion())
    assert tenant.http.post("/oauth/token", data=replayed).status_code == 200
    # A replay is refused by the endpoint itself.
    assert tenant.http.post("/oauth/token", data=replayed).status_code == 401
    assert entered == ["/oauth/token"]
