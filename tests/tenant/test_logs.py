"""``/api/v2/logs``: security events, searchable and exportable by checkpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from expressway.tenant import logs
from tests.conftest import BACKENDS, Tenant, auth0_error

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

EPOCH = datetime(2030, 1, 1, tzinfo=UTC)


def record(tenant: Tenant, minutes: int, **fields: Any) -> str:
    """An event ``minutes`` after a fixed instant, written as the tenant writes them."""
    with tenant.runtime.sessions() as session:
        row = logs.record(session, at=EPOCH + timedelta(minutes=minutes), **fields)
        session.commit()
        return row.log_id


def test_a_management_api_write_is_a_sapi_event(tenant: Tenant) -> None:
    """The event names the client that wrote, the request, and what was written."""
    api = tenant.api()
    connection = api.post(
        "/connections", json={"name": "db", "strategy": "auth0"}, headers={"User-Agent": "t/1"}
    ).json()
    events = api.get("/logs", params={"q": "type:sapi"}).json()
    assert len(events) == 1
    event = events[0]
    assert event["description"] == "Create a connection"
    assert event["client_id"] == tenant.admin_client_id
    assert event["connection_id"] == connection["id"]
    assert event["user_agent"] == "t/1"
    assert event["details"]["request"] == {"method": "POST", "path": "/api/v2/connections"}


def test_a_token_issue_is_a_seccft_event_and_a_refusal_a_feccft_event(tenant: Tenant) -> None:
    """Client credentials exchanges, granted or refused, are both on the record."""
    refused = tenant.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.admin_client_id,
            "client_secret": "presented-but-not-the-secret",
            "audience": tenant.runtime.settings.management_audience,
        },
    )
    assert refused.status_code == 401
    api = tenant.api()
    granted = api.get("/logs", params={"q": "type:seccft"}).json()
    assert [e["client_id"] for e in granted] == [tenant.admin_client_id]
    assert granted[0]["client_name"] == "Expressway Management Client"
    failed = api.get("/logs", params={"q": f"type:feccft client_id:{tenant.admin_client_id}"})
    assert len(failed.json()) == 1
    assert "presented-but-not-the-secret" not in failed.text


def test_a_log_event_has_auth0s_shape_and_is_read_by_id(tenant: Tenant) -> None:
    """Dates are ISO 8601 in UTC with Z; fields an event lacks are left out."""
    log_id = record(
        tenant,
        0,
        type="s",
        user_id="auth0|ada",
        user_name="ada@acme.example",
        connection="Username-Password-Authentication",
        organization_id="org_1",
        organization_name="acme",
        details={"prompts": []},
    )
    event = tenant.api().get(f"/logs/{log_id}").json()
    assert event == {
        "log_id": log_id,
        "date": "2030-01-01T00:00:00.000Z",
        "type": "s",
        "description": "Success Login",
        "user_id": "auth0|ada",
        "user_name": "ada@acme.example",
        "connection": "Username-Password-Authentication",
        "organization_id": "org_1",
        "organization_name": "acme",
        "details": {"prompts": []},
    }
    missing = tenant.api().get("/logs/900123")
    assert missing.status_code == 404
    assert "900123" in auth0_error(missing)["message"]


def test_logs_are_newest_first_unless_sorted_by_date_ascending(tenant: Tenant) -> None:
    older, newer = record(tenant, 1, type="f"), record(tenant, 2, type="f")
    api = tenant.api()
    assert [e["log_id"] for e in api.get("/logs", params={"q": "type:f"}).json()] == [newer, older]
    ascending = api.get("/logs", params={"q": "type:f", "sort": "date:1"}).json()
    assert [e["log_id"] for e in ascending] == [older, newer]


def test_the_search_matches_users_clients_and_joins_clauses(tenant: Tenant) -> None:
    """user_id:"…" quoted (ids hold "|"), client_id bare, clauses joined by AND or spaces."""
    ada = record(tenant, 1, type="s", user_id="auth0|ada", client_id="app1")
    record(tenant, 2, type="s", user_id="auth0|bob", client_id="app1")
    record(tenant, 3, type="f", user_id="auth0|ada", client_id="app2")
    api = tenant.api()
    for q in ('user_id:"auth0|ada" AND client_id:app1', 'type:s user_id:"auth0|ada"'):
        assert [e["log_id"] for e in api.get("/logs", params={"q": q}).json()] == [ada]
    assert len(api.get("/logs", params={"q": "client_id:app1"}).json()) == 2


def test_searches_this_tenant_cannot_run_are_refused(tenant: Tenant) -> None:
    api = tenant.api()
    for params, named in [
        ({"q": "user_name:ada"}, "user_name"),
        ({"q": "type:s OR type:f"}, "OR"),
        ({"sort": "user_id:1"}, "sort"),
        ({"per_page": 101}, "per_page"),
    ]:
        response = api.get("/logs", params=params)
        assert response.status_code == 400, params
        body = auth0_error(response)
        assert named in body["message"], params
        assert body["errorCode"] == "invalid_query_string"


def test_logs_page_with_totals(tenant: Tenant) -> None:
    for minute in range(3):
        record(tenant, minute, type="f")
    body = (
        tenant.api()
        .get("/logs", params={"q": "type:f", "per_page": 2, "page": 1, "include_totals": "true"})
        .json()
    )
    assert body["total"] == 3
    assert body["start"] == 2
    assert len(body["logs"]) == 1


def test_checkpoint_paging_reads_the_events_after_from_in_log_id_order(tenant: Tenant) -> None:
    """As a log exporter reads them: oldest first, and a Link to the next page."""
    first, second, third = (record(tenant, minute, type="f") for minute in range(3))
    api = tenant.api()
    page = api.get("/logs", params={"from": first, "take": 1})
    assert [e["log_id"] for e in page.json()] == [second]
    assert f"from={second}" in page.headers["link"]
    assert 'rel="next"' in page.headers["link"]
    rest = api.get("/logs", params={"from": second, "take": 100}).json()
    assert [e["log_id"] for e in rest][:1] == [third]


def test_the_next_page_link_is_made_from_the_public_url_not_the_request(tenant: Tenant) -> None:
    """Behind a proxy the request's host is the replica's; the link is the tenant's."""
    first, second = (record(tenant, minute, type="f") for minute in range(2))
    replica = TestClient(tenant.http.app, base_url="http://replica.internal:9000/api/v2")
    replica.headers["Authorization"] = tenant.api().headers["Authorization"]
    page = replica.get("/logs", params={"from": first, "take": 1})
    assert page.headers["link"] == (
        f'<http://localhost:8401/api/v2/logs?from={second}&take=1>; rel="next"'
    )


def test_reading_logs_needs_read_logs(tenant: Tenant) -> None:
    refused = tenant.api(scope="read:connections").get("/logs")
    assert refused.status_code == 403
    assert "read:logs" in auth0_error(refused)["message"]
    assert tenant.api(scope="read:logs").get("/logs").status_code == 200
