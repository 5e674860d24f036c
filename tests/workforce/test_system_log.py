"""``/api/v1/logs``: the System Log, its window, filter, keywords, order and paging."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from expressway.workforce.admin_api.schema import okta_date
from tests.conftest import BACKENDS
from tests.workforce.conftest import Workforce, causes, new_group, new_user, okta_error

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def test_an_admin_action_is_logged_with_its_actor_target_and_client(workforce: Workforce) -> None:
    """An event names who did what to whom, from where, as Okta's do."""
    api = workforce.api()
    user = new_user(api)
    events = api.get("/logs", params={"filter": 'eventType eq "user.lifecycle.create"'}).json()
    event = next(e for e in events if e["target"][0]["id"] == user["id"])
    assert event["displayMessage"] == "Create Okta user"
    assert event["severity"] == "INFO"
    assert event["outcome"]["result"] == "SUCCESS"
    assert event["actor"]["alternateId"] == "admin@acme.example"
    assert event["actor"]["type"] == "User"
    assert event["target"][0]["alternateId"] == "ada@example.com"
    assert event["debugContext"]["debugData"]["requestUri"] == "/orgs/acme/api/v1/users"
    assert event["client"]["userAgent"]["rawUserAgent"] == "testclient"
    assert event["uuid"]
    assert event["published"].endswith("Z")


@pytest.mark.parametrize(
    ("peer", "recorded"),
    [("10.1.2.3", "203.0.113.9"), ("198.51.100.7", "198.51.100.7")],
    ids=["from-a-trusted-proxy", "from-anywhere-else"],
)
def test_an_event_records_the_forwarded_address_only_from_a_trusted_proxy(
    workforce: Workforce, peer: str, recorded: str
) -> None:
    """``X-Forwarded-For`` names the client only on a connection from
    ``EXPRESSWAY_TRUSTED_PROXIES``."""
    workforce.runtime.settings.trusted_proxies = ["10.0.0.0/8"]
    api = TestClient(workforce.http.app, base_url=str(workforce.api().base_url), client=(peer, 1))
    api.headers.update(workforce.api().headers)
    api.headers["X-Forwarded-For"] = "203.0.113.9"
    user = new_user(api)
    events = api.get("/logs", params={"filter": 'eventType eq "user.lifecycle.create"'}).json()
    event = next(e for e in events if e["target"][0]["id"] == user["id"])
    assert event["client"]["ipAddress"] == recorded


def test_events_are_ascending_by_default_and_descending_on_request(workforce: Workforce) -> None:
    """``sortOrder``: Okta's default is oldest first."""
    api = workforce.api()
    new_group(api, "First")
    new_group(api, "Second")
    query = {"filter": 'eventType eq "group.lifecycle.create"'}
    ascending = [e["target"][0]["alternateId"] for e in api.get("/logs", params=query).json()]
    assert ascending == ["First", "Second"]
    descending = api.get("/logs", params={**query, "sortOrder": "DESCENDING"}).json()
    assert [e["target"][0]["alternateId"] for e in descending] == ["Second", "First"]
    bad = api.get("/logs", params={"sortOrder": "SIDEWAYS"})
    assert bad.status_code == 400
    assert causes(bad)[0].startswith("sortOrder:")


def test_since_and_until_bound_the_window(workforce: Workforce) -> None:
    """``since``/``until`` bound the events; a date that is no date is E0000030."""
    api = workforce.api()
    new_group(api, "Before")
    now = workforce.runtime.clock.now()
    future = okta_date(now + timedelta(hours=1))
    assert api.get("/logs", params={"since": future}).json() == []
    past = okta_date(now - timedelta(days=1))
    window = api.get("/logs", params={"since": past, "until": future}).json()
    assert "group.lifecycle.create" in {e["eventType"] for e in window}
    bad = api.get("/logs", params={"since": "last tuesday"})
    assert bad.status_code == 400
    assert okta_error(bad, "E0000030")["errorCauses"][0]["errorSummary"].startswith("since:")


def test_keywords_and_paging_find_the_events_of_one_object(workforce: Workforce) -> None:
    """``q`` matches words of the event; ``after`` pages on."""
    api = workforce.api()
    for name in ("Alpha", "Beta", "Gamma"):
        new_group(api, name)
    assert [
        e["target"][0]["alternateId"] for e in api.get("/logs", params={"q": "beta"}).json()
    ] == ["Beta"]
    first = api.get("/logs", params={"q": "group", "limit": 2})
    assert len(first.json()) == 2
    following = [link for link in first.headers.get_list("link") if link.endswith('rel="next"')]
    assert following
    rest = api.get(
        following[0]
        .split(">")[0]
        .removeprefix("<")
        .removeprefix("http://localhost:8402/orgs/acme/api/v1")
    )
    assert [e["target"][0]["alternateId"] for e in rest.json()] == ["Gamma"]


def test_a_filter_on_an_unknown_attribute_is_e0000031(workforce: Workforce) -> None:
    """The log's filter names what it can search; anything else is refused."""
    response = workforce.api().get("/logs", params={"filter": 'colour eq "blue"'})
    assert response.status_code == 400
    okta_error(response, "E0000031")
