"""The SCIM fast path (:mod:`expressway.tenant.scim.fast_path`): the lookups and creates it
answers get what the SCIM server's own routes would answer, header for header, and every request
it does not answer (a refusal, a fault, another shape) reaches those routes whole, body included,
and is answered, recorded and logged once."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from expressway.tenant.rows import LogEventRow, ScimTokenRow, ScimUserRow
from expressway.tenant.scim import fast_path, users
from expressway.tenant.scim.context import MAX_BODY_BYTES
from expressway.web.security import SECURITY_HEADERS
from tests.conftest import BACKENDS, Tenant
from tests.tenant.scim.helpers import (
    LIST_SCHEMA,
    SCIM_MEDIA_TYPE,
    ScimConnection,
    fast_path_answers,
    okta_user,
    scim_connection,
    scim_error,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

#: Headers that differ between two answers of the same content for reasons of their own.
_VARYING = {"content-length", "date"}


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the fast path answered each request it tried (False: handed to the full stack)."""
    outcomes: list[bool] = []
    real = fast_path._answer

    def spy(*args: Any) -> Any:
        response = real(*args)
        outcomes.append(response is not None)
        return response

    monkeypatch.setattr(fast_path, "_answer", spy)
    return outcomes


def _full_stack_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the fast path answers nothing: the SCIM server's routes answer everything."""
    monkeypatch.setattr(fast_path, "_answer", lambda *_: None)


def _comparable(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in _VARYING}


def _events(tenant: Tenant, type: str) -> list[LogEventRow]:
    with tenant.runtime.sessions() as session:
        return list(session.scalars(sa.select(LogEventRow).where(LogEventRow.type == type)))


def _users_named(tenant: Tenant, user_name: str) -> int:
    with tenant.runtime.sessions() as session:
        count = session.scalar(
            sa.select(sa.func.count()).where(ScimUserRow.user_name_key == user_name.lower())
        )
        return count or 0


def _lookup(scim: ScimConnection, user_name: str) -> Any:
    return scim.http.get("/Users", params={"filter": f'userName eq "{user_name}"'})


def test_a_lookup_is_answered_as_the_scim_server_answers_it(
    tenant: Tenant, answered: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    scim = scim_connection(tenant)
    assert scim.http.post("/Users", json=okta_user("ada@example.com")).status_code == 201

    fast = _lookup(scim, "ADA@example.com")
    assert answered == [True, True]
    _full_stack_only(monkeypatch)
    full = _lookup(scim, "ADA@example.com")

    assert fast.status_code == full.status_code == 200
    assert fast.json() == full.json()
    assert fast.json()["schemas"] == [LIST_SCHEMA]
    assert fast.json()["totalResults"] == 1
    assert fast.json()["Resources"][0]["userName"] == "ada@example.com"
    assert _comparable(fast.headers) == _comparable(full.headers)
    assert fast.headers["content-type"] == SCIM_MEDIA_TYPE
    assert int(fast.headers["content-length"]) == len(fast.content)
    for name, value in SECURITY_HEADERS.items():
        assert fast.headers[name] == value


def test_a_list_with_paging_and_attributes_is_answered_as_the_scim_server_answers_it(
    tenant: Tenant, answered: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    scim = scim_connection(tenant)
    for index in range(3):
        body = okta_user(f"user{index}@example.com")
        assert scim.http.post("/Users", json=body).status_code == 201
    # A repeated parameter counts by its last value, on both paths.
    query = "startIndex=2&count=5&count=1&attributes=userName"

    fast = scim.http.get(f"/Users?{query}")
    _full_stack_only(monkeypatch)
    full = scim.http.get(f"/Users?{query}")

    assert answered == [True, True, True, True]
    assert fast.status_code == full.status_code == 200
    assert fast.json() == full.json()
    assert fast.json()["startIndex"] == 2
    assert fast.json()["itemsPerPage"] == 1
    assert fast.json()["totalResults"] == 3
    assert set(fast.json()["Resources"][0]) == {"id", "schemas", "userName"}
    assert _comparable(fast.headers) == _comparable(full.headers)


def test_a_create_is_answered_recorded_and_logged_as_the_scim_server_does_it(
    tenant: Tenant, answered: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    scim = scim_connection(tenant)
    headers = {"User-Agent": "Okta SCIM Client 1.0.0"}

    fast = scim.http.post("/Users", json=okta_user("ada@example.com"), headers=headers)
    assert answered == [True]
    _full_stack_only(monkeypatch)
    full = scim.http.post("/Users", json=okta_user("bob@example.com"), headers=headers)

    assert fast.status_code == full.status_code == 201
    assert fast.headers.keys() == full.headers.keys()
    for answer in (fast, full):
        resource = answer.json()
        assert answer.headers["location"] == resource["meta"]["location"]
        assert answer.headers["etag"] == resource["meta"]["version"]
        assert answer.headers["content-type"] == SCIM_MEDIA_TYPE
    assert fast.json().keys() == full.json().keys()
    assert _comparable(fast.headers).keys() == _comparable(full.headers).keys()
    for name, value in SECURITY_HEADERS.items():
        assert fast.headers[name] == full.headers[name] == value

    made = {event.user_name: event for event in _events(tenant, "sscim")}
    assert made.keys() == {"ada@example.com", "bob@example.com"}
    ada, bob = made["ada@example.com"], made["bob@example.com"]
    assert ada.description == "SCIM create User ada@example.com"
    assert (ada.ip, ada.user_agent, ada.connection_id) == (bob.ip, bob.user_agent, scim.id)
    assert ada.details["request"] == bob.details["request"]
    assert ada.details["request"] == {
        "method": "POST",
        "path": f"/scim/v2/connections/{scim.id}/Users",
    }
    assert ada.details["scim_token_id"] == scim.token_id


def test_a_taken_user_name_is_refused_by_the_scim_server_once(
    tenant: Tenant, answered: list[bool]
) -> None:
    """The fast path's transaction is rolled back; the SCIM server reads the body again, refuses
    it in its words and records the failure once."""
    scim = scim_connection(tenant)
    assert scim.http.post("/Users", json=okta_user("ada@example.com")).status_code == 201

    taken = scim.http.post("/Users", json=okta_user("ADA@example.com"))

    assert answered == [True, False]
    body = scim_error(taken, 409, "uniqueness")
    assert "userName" in body["detail"]
    assert taken.headers["x-frame-options"] == "DENY"
    assert _users_named(tenant, "ada@example.com") == 1
    failures = _events(tenant, "fscim")
    assert len(failures) == 1
    assert failures[0].details["status"] == 409


@pytest.mark.parametrize(
    ("request_args", "status", "scim_type"),
    [
        (
            {"method": "GET", "url": "/Users", "params": {"filter": 'userName xx "a"'}},
            400,
            "invalidFilter",
        ),
        ({"method": "GET", "url": "/Users", "params": {"count": "many"}}, 400, "invalidValue"),
        ({"method": "POST", "url": "/Users", "content": b"{not json"}, 400, "invalidSyntax"),
        ({"method": "POST", "url": "/Users", "json": {"schemas": ["x"]}}, 400, "invalidSyntax"),
        (
            {
                "method": "GET",
                "url": "/Users",
                "params": {"attributes": "a", "excludedAttributes": "b"},
            },
            400,
            "invalidValue",
        ),
        ({"method": "POST", "url": "/Users", "content": b" " * (MAX_BODY_BYTES + 1)}, 413, None),
    ],
)
def test_a_refusal_is_the_scim_servers(
    tenant: Tenant,
    answered: list[bool],
    request_args: dict[str, Any],
    status: int,
    scim_type: str | None,
) -> None:
    scim = scim_connection(tenant)
    refused = scim.http.request(**request_args)
    scim_error(refused, status, scim_type)
    assert refused.headers["content-type"] == SCIM_MEDIA_TYPE
    assert True not in answered
    if request_args["method"] == "POST":
        assert len(_events(tenant, "fscim")) == 1


def test_a_token_that_opens_nothing_gets_the_bearer_challenge(
    tenant: Tenant, answered: list[bool]
) -> None:
    scim = scim_connection(tenant)
    refused = scim.http.get("/Users", headers={"Authorization": "Bearer not-a-token"})
    scim_error(refused, 401)
    assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert answered == [False]


def test_a_token_without_the_scope_is_forbidden_on_both_methods(
    tenant: Tenant, answered: list[bool]
) -> None:
    reader = scim_connection(tenant, scopes=["get:users"])
    assert reader.http.get("/Users").status_code == 200
    scim_error(reader.http.post("/Users", json=okta_user("ada@example.com")), 403)
    writer = scim_connection(tenant, "other-okta", scopes=["post:users"])
    scim_error(writer.http.get("/Users"), 403)
    assert answered == [True, False, False]
    assert _users_named(tenant, "ada@example.com") == 0


def test_a_nul_in_the_query_is_refused_by_the_input_guard(
    tenant: Tenant, answered: list[bool]
) -> None:
    scim = scim_connection(tenant)
    refused = scim.http.get("/Users?filter=userName%20eq%20%22a%00%22")
    assert refused.status_code == 400
    assert "NUL" in refused.text
    assert answered == []


def test_a_database_fault_gets_the_scim_servers_503_and_no_warning(
    tenant: Tenant,
    answered: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scim = scim_connection(tenant)

    def outage(*_: Any) -> Any:
        raise sa_exc.TimeoutError("QueuePool limit of size 10 overflow 20 reached")

    monkeypatch.setattr(users, "provision", outage)
    with caplog.at_level(logging.WARNING, logger="expressway.tenant.scim"):
        answer = scim.http.post("/Users", json=okta_user("ada@example.com"))

    body = scim_error(answer, 503)
    assert "database" in body["detail"].lower()
    assert "retry-after" in answer.headers
    assert answered == [False]
    assert "handed to the full stack" not in caplog.text
    assert _users_named(tenant, "ada@example.com") == 0


def test_an_unexpected_error_is_logged_by_type_and_answered_by_the_scim_server(
    tenant: Tenant,
    answered: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scim = scim_connection(tenant)
    calls: list[str] = []
    real = users.provision

    def broken_once(ctx: Any, body: Any) -> Any:
        calls.append(body["userName"])
        if len(calls) == 1:
            raise RuntimeError(f"a bug that quotes {body['password']}")
        return real(ctx, body)

    monkeypatch.setattr(users, "provision", broken_once)
    with caplog.at_level(logging.WARNING, logger="expressway.tenant.scim"):
        answer = scim.http.post("/Users", json=okta_user("ada@example.com"))

    # The full stack did the request again, from the body it was handed, and made the user once.
    assert answer.status_code == 201, answer.text
    assert calls == ["ada@example.com", "ada@example.com"]
    assert answered == [False]
    assert "SCIM request handed to the full stack after RuntimeError" in caplog.text
    assert "an-initial-Passw0rd" not in caplog.text
    assert _users_named(tenant, "ada@example.com") == 1
    assert len(_events(tenant, "sscim")) == 1


def test_other_paths_and_methods_are_left_to_the_scim_server(
    tenant: Tenant, answered: list[bool]
) -> None:
    scim = scim_connection(tenant)
    made = scim.http.post("/Users", json=okta_user("ada@example.com")).json()
    assert scim.http.get(f"/Users/{made['id']}").status_code == 200
    assert scim.http.get("/Groups").status_code == 200
    assert (
        scim.http.post("/Users/.search", json={"filter": 'userName eq "ada@example.com"'}).json()[
            "totalResults"
        ]
        == 1
    )
    scim_error(scim.http.put("/Users", json={}), 405)
    assert scim.http.get("/Users/", follow_redirects=False).status_code == 307
    assert answered == [True]


def test_where_each_request_runs(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read of SQLite never waits, so it is not sent to a thread; recording the token's use
    (a write, once a minute) can wait for the write lock, so a read that must record it goes to
    one; a create is written on the loop while the write lock is free (see below when it is
    not). On PostgreSQL every request goes to the pool's threads."""
    answers = fast_path_answers(monkeypatch)
    scim = scim_connection(tenant)
    first = scim.http.get("/Users")  # the token's first use
    second = scim.http.get("/Users")
    made = scim.http.post("/Users", json=okta_user("ada@example.com"))
    threads = [(name, access.may_write) for name, access in answers]

    assert first.status_code == second.status_code == 200
    assert made.status_code == 201
    created_in = threads.pop()[0]
    with tenant.runtime.sessions() as session:
        token = session.get(ScimTokenRow, scim.token_id)
        assert token is not None
        assert token.last_used_at is not None
    pooled = [name.startswith("scim") for name, _ in threads]
    if tenant.runtime.engine.dialect.name == "sqlite":
        # Tried on the loop, found the use due, done again in a thread; then on the loop alone.
        assert pooled == [False, True, False]
        assert [may_write for _, may_write in threads] == [False, True, False]
        # With SQLite's write lock free, a create is written on the loop too.
        assert not created_in.startswith("scim")
    else:
        assert pooled == [True, True]
        assert not created_in.startswith("scim-writer")
        assert created_in.startswith("scim")
