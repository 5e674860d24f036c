"""The console's pages render for a signed-in admin, and its forms call the services and leave
the admin API's System Log events; names are escaped wherever they are shown."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from expressway.workforce.rows import LogEventRow, OinSubmissionRow
from tests.conftest import BACKENDS
from tests.workforce.conftest import Workforce, new_group, new_user
from tests.workforce.console.conftest import Console
from tests.workforce.oin_helpers import INFORMATION, finished_submission

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)

SCRIPT = "<script>alert(1)</script>"


def _event_types(workforce: Workforce) -> list[str]:
    with workforce.runtime.sessions() as session:
        return list(
            session.scalars(
                sa.select(LogEventRow.event_type)
                .where(LogEventRow.org_id == workforce.org_id())
                .order_by(LogEventRow.sort_key)
            )
        )


def _location_id(response: object, pattern: str) -> str:
    location = response.headers["location"]  # type: ignore[attr-defined]
    found = re.search(pattern, location)
    assert found is not None, location
    return found.group(1)


def test_every_page_renders_with_the_console_policy(workforce: Workforce, console: Console) -> None:
    """Each section answers 200, loads only its own assets, and names the page it is on."""
    api = workforce.api()
    user = new_user(api)
    group = new_group(api)
    submission = finished_submission(api)
    app = api.post(f"/oin/submissions/{submission['id']}/test-instance").json()
    paths = [
        "",
        "/people",
        f"/people/{user['id']}",
        "/groups",
        f"/groups/{group['id']}",
        "/apps",
        "/catalog",
        f"/apps/{app['id']}/general",
        f"/apps/{app['id']}/sign-on",
        f"/apps/{app['id']}/provisioning",
        f"/apps/{app['id']}/assignments",
        "/oin",
        f"/oin/{submission['id']}",
        "/logs",
    ]

    for path in paths:
        response = console.browser.get(console.path(path))
        assert response.status_code == 200, (path, response.text)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "default-src 'none'" in policy
        assert response.headers["cache-control"] == "no-store"
        assert 'aria-current="page"' in response.text, path
        assert "http://" not in re.sub(
            r"<code>.*?</code>|<pre.*?</pre>", "", response.text, flags=re.S
        )


def test_the_static_assets_are_served_by_the_workforce(console: Console) -> None:
    """The style sheet and the script come from the workforce itself, not from a CDN."""
    css = console.browser.get("/admin/static/console.css")
    script = console.browser.get("/admin/static/express-configure.js")

    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "X-CSRF-Token" in script.text


def test_an_unknown_object_is_a_404_page_not_a_500(console: Console) -> None:
    """Bad input in a path is a 4xx page of the console."""
    for path in ("/people/nobody", "/groups/none", "/apps/0oaNope/sign-on", "/oin/0isNone"):
        response = console.browser.get(console.path(path))
        assert response.status_code == 404, path
        assert "text/html" in response.headers["content-type"]


def test_adding_a_person_creates_and_logs_them(workforce: Workforce, console: Console) -> None:
    """The Add person form calls the users service and logs create and activate."""
    response = console.post(
        "/people",
        {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "login": "ada@example.com",
            "password": "Analytical-Engine-1843",
            "activate": "on",
        },
    )

    assert response.status_code == 303
    user_id = _location_id(response, r"/people/([^?]+)")
    page = console.get(f"/people/{user_id}?notice=user-created")
    assert "ada@example.com" in page
    assert "The person was added." in page
    assert ">ACTIVE<" in page
    assert _event_types(workforce)[-2:] == ["user.lifecycle.create", "user.lifecycle.activate"]


def test_a_refused_form_is_a_400_page_that_names_the_field(console: Console) -> None:
    """A service's refusal is shown with its causes; nothing is written."""
    first = console.post("/people", {"firstName": "A", "lastName": "B", "login": "a@example.com"})
    assert first.status_code == 303

    again = console.post("/people", {"firstName": "A", "lastName": "B", "login": "a@example.com"})
    too_long = console.post("/groups", {"name": "x" * 300})
    nul = console.post("/groups", {"name": "bad\x00name"})

    assert again.status_code == 400
    assert "login" in again.text
    for response in (too_long, nul):
        assert response.status_code == 400
        assert "Name" in response.text


def test_names_holding_markup_are_escaped_everywhere(
    workforce: Workforce, console: Console
) -> None:
    """A person, group or app named with a script shows the text, never runs it."""
    response = console.post(
        "/people", {"firstName": SCRIPT, "lastName": SCRIPT, "login": "xss@example.com"}
    )
    user_id = _location_id(response, r"/people/([^?]+)")
    group = console.post("/groups", {"name": SCRIPT, "description": SCRIPT})
    group_id = _location_id(group, r"/groups/([^?]+)")
    assert console.post(f"/groups/{group_id}/members", {"userId": user_id}).status_code == 303

    for path in ("/people", f"/people/{user_id}", "/groups", f"/groups/{group_id}", "/logs"):
        page = console.get(path)
        assert SCRIPT not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path


def test_group_membership_and_app_assignment_forms_work_and_log(
    workforce: Workforce, console: Console
) -> None:
    """Members added and removed, a person and a group assigned to an app, each logged."""
    api = workforce.api()
    user = new_user(api)
    group = new_group(api)
    submission = finished_submission(api)
    app = api.post(f"/oin/submissions/{submission['id']}/test-instance").json()

    steps = [
        (f"/groups/{group['id']}/members", {"userId": user["id"]}),
        (f"/apps/{app['id']}/assignments/groups", {"groupId": group["id"]}),
        (f"/apps/{app['id']}/assignments/users", {"userId": user["id"]}),
        (f"/apps/{app['id']}/assignments/users/{user['id']}/remove", {}),
        (f"/apps/{app['id']}/assignments/groups/{group['id']}/remove", {}),
        (f"/groups/{group['id']}/members/{user['id']}/remove", {}),
    ]
    for path, data in steps:
        response = console.post(path, data)
        assert response.status_code == 303, (path, response.text)

    assert _event_types(workforce)[-8:] == [
        "group.user_membership.add",
        "group.application_assignment.add",
        "application.user_membership.add",
        # Already assigned through the group: the direct assignment updates the membership,
        # and ending it leaves the membership through the group.
        "application.user_membership.update",
        "application.user_membership.update",
        "group.application_assignment.remove",
        "application.user_membership.remove",
        "group.user_membership.remove",
    ]
    assert api.get(f"/apps/{app['id']}/users").json() == []


def test_lifecycle_buttons_change_a_person_and_refuse_the_admin_themself(
    workforce: Workforce, console: Console
) -> None:
    """Suspend and unsuspend another person; an admin cannot deactivate themself."""
    api = workforce.api()
    user = api.post(
        "/users?activate=true",
        json={
            "profile": {
                "login": "bob@example.com",
                "email": "bob@example.com",
                "firstName": "Bob",
                "lastName": "B",
            },
            "credentials": {"password": {"value": "Correct-Horse-42"}},
        },
    ).json()
    me = api.get("/users/me").json()

    assert console.post(f"/people/{user['id']}/lifecycle/suspend").status_code == 303
    assert api.get(f"/users/{user['id']}").json()["status"] == "SUSPENDED"
    assert console.post(f"/people/{user['id']}/lifecycle/unsuspend").status_code == 303
    assert console.post(f"/people/{me['id']}/lifecycle/deactivate").status_code in (400, 403)
    assert console.post(f"/people/{user['id']}/lifecycle/explode").status_code == 400
    assert api.get(f"/users/{me['id']}").json()["status"] == "ACTIVE"
    assert "user.lifecycle.unsuspend" in _event_types(workforce)


def test_clear_user_sessions_ends_the_persons_sessions_and_logs_it(
    workforce: Workforce, console: Console
) -> None:
    """Okta's Clear user sessions from the person's page."""
    user = new_user(workforce.api())

    response = console.post(f"/people/{user['id']}/clear-sessions")

    assert response.status_code == 303
    assert response.headers["location"].endswith("notice=sessions-cleared")
    assert _event_types(workforce)[-1] == "user.session.clear"


def test_the_oin_wizard_walks_from_capabilities_to_a_test_instance(
    workforce: Workforce, console: Console
) -> None:
    """Create, paste (a bad paste names its fields and saves nothing), key, download, Finish,
    test instance; each step in the System Log."""
    created = console.post(
        "/oin",
        {"name": "Vendor SaaS", "description": "The vendor's app", "capabilities": ["SCIM"]},
    )
    submission_id = _location_id(created, r"/oin/([^?]+)")
    with workforce.runtime.sessions() as session:
        row = session.get(OinSubmissionRow, submission_id)
        assert row is not None
        assert row.capabilities == ["OIDC", "SCIM"]

    bad = console.post(
        f"/oin/{submission_id}/express-configuration",
        {"information": '{"display_name": "Vendor SaaS", "oin_client_id": ""}'},
    )
    assert bad.status_code == 400
    assert "oin_client_id: The field cannot be left blank" in bad.text
    assert "tenant_domain: The field cannot be left blank" in bad.text
    assert "&#34;display_name&#34;: &#34;Vendor SaaS&#34;" in bad.text
    with workforce.runtime.sessions() as session:
        assert session.get(OinSubmissionRow, submission_id).express_configuration is None  # type: ignore[union-attr]

    pasted = console.post(
        f"/oin/{submission_id}/express-configuration", {"information": json.dumps(INFORMATION)}
    )
    assert pasted.status_code == 303
    assert console.post(f"/oin/{submission_id}/key").status_code == 303
    pem = console.browser.get(console.path(f"/oin/{submission_id}/key.pem"))
    assert pem.status_code == 200
    assert pem.text.startswith("-----BEGIN PUBLIC KEY-----")
    assert "attachment" in pem.headers["content-disposition"]
    assert "PRIVATE" not in console.get(f"/oin/{submission_id}")
    assert console.post(f"/oin/{submission_id}/finish").status_code == 303
    instance = console.post(f"/oin/{submission_id}/test-instance", {"label": "Vendor (test)"})
    assert instance.status_code == 303
    app_id = _location_id(instance, r"/apps/([^/]+)/sign-on")
    sign_on = console.get(f"/apps/{app_id}/sign-on")
    assert "Express Configure SSO &amp; UL" in sign_on
    assert "data-express-configure" in sign_on

    assert _event_types(workforce)[-7:] == [
        "oin.submission.create",
        "oin.submission.express_configuration.update",
        "oin.submission.key.create",
        "oin.submission.key.download",
        "oin.submission.finish",
        "application.lifecycle.create",
        "application.lifecycle.activate",
    ]


def test_the_system_log_page_narrows_by_keyword_and_filter(
    workforce: Workforce, console: Console
) -> None:
    """Keywords and an Okta filter narrow the events; a bad filter is a 400 page."""
    new_group(workforce.api(), "Finance")

    by_keyword = console.get("/logs?q=Finance")
    by_filter = console.get('/logs?filter=eventType eq "group.lifecycle.create"')
    bad = console.browser.get(console.path("/logs?filter=eventType zz 1"))

    assert "group.lifecycle.create" in by_keyword
    assert "user.session.access_admin_app" not in by_keyword
    assert "group.lifecycle.create" in by_filter
    assert bad.status_code == 400
