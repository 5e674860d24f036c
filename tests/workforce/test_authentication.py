"""``SSWS`` API tokens: who may call an org's admin API, and how every refusal looks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from expressway.clock import FrozenClock
from expressway.workforce.rows import UserRow
from expressway.workforce.services import api_tokens, users
from tests.conftest import BACKENDS
from tests.workforce.conftest import Workforce, new_user, okta_error

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def _invalid_token(response: object) -> None:
    assert getattr(response, "status_code", None) == 401
    assert okta_error(response, "E0000011")["errorSummary"] == "Invalid token provided"


@pytest.mark.parametrize(
    "authorization",
    [None, "", "SSWS", "SSWS 00notatoken", "Bearer {token}", "Basic {token}"],
)
def test_a_missing_malformed_or_unknown_token_is_e0000011(
    workforce: Workforce, authorization: str | None
) -> None:
    """Only ``SSWS`` and a token of this org authenticate; anything else is a 401."""
    client = workforce.api()
    del client.headers["Authorization"]
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization.format(token=workforce.admins["acme"].token)
    _invalid_token(client.get("/users", headers=headers))


@pytest.mark.parametrize("template", ["ssws {token}", "SSWS{token}", "SSWS   {token} "])
def test_the_scheme_is_read_without_regard_to_case_or_the_space(
    workforce: Workforce, template: str
) -> None:
    """The official Okta Python SDK sends ``SSWS{token}`` with no space, as Okta accepts."""
    client = workforce.api()
    client.headers["Authorization"] = template.format(token=workforce.admins["acme"].token)
    assert client.get("/users").status_code == 200


def test_an_unknown_org_is_e0000007(workforce: Workforce) -> None:
    """An org name that no org has is not found, whatever the token."""
    response = workforce.api("initech", token=workforce.admins["acme"].token).get("/users")
    assert response.status_code == 404
    assert okta_error(response, "E0000007")["errorSummary"] == (
        "Not found: Resource not found: initech (Org)"
    )


def test_a_token_of_a_user_who_is_no_admin_is_e0000006(workforce: Workforce) -> None:
    """Tokens act as their user: a user without an admin role reaches nothing."""
    user = new_user(workforce.api(), "plain@example.com")
    with workforce.runtime.sessions() as session:
        row = session.get(UserRow, user["id"])
        assert row is not None
        row.status = users.ACTIVE
        _, token = api_tokens.issue(session, row, "plain", workforce.runtime.clock.now())
        session.commit()
    response = workforce.api(token=token).get("/users")
    assert response.status_code == 403
    okta_error(response, "E0000006")


def test_the_token_of_a_suspended_admin_stops_working(workforce: Workforce) -> None:
    """A token acts for its user only while the user is active."""
    with workforce.runtime.sessions() as session:
        admin = session.get(UserRow, workforce.api().get("/users/me").json()["id"])
        assert admin is not None
        admin.status = users.SUSPENDED
        session.commit()
    _invalid_token(workforce.api().get("/users"))


def test_a_token_expires_after_thirty_days_without_use_and_each_use_extends_it(
    workforce: Workforce,
) -> None:
    """Okta's token window: unused for 30 days, a token is dead; used, it lives on."""
    clock = FrozenClock(workforce.runtime.clock.now())
    workforce.runtime.clock = clock
    api = workforce.api()
    clock.advance(timedelta(days=20).total_seconds())
    assert api.get("/users").status_code == 200
    clock.advance(timedelta(days=20).total_seconds())
    assert api.get("/users").status_code == 200
    expires = api.get("/api-tokens").json()[0]["expiresAt"]
    assert expires.startswith((clock.now() + timedelta(days=30)).date().isoformat())
    clock.advance(timedelta(days=31).total_seconds())
    _invalid_token(api.get("/users"))


def test_a_revoked_token_is_refused_at_once(workforce: Workforce) -> None:
    """``DELETE /api-tokens/current`` ends the calling token for its next request."""
    api = workforce.api()
    assert api.delete("/api-tokens/current").status_code == 204
    _invalid_token(api.get("/users"))


def test_an_unknown_path_and_a_wrong_method_answer_in_okta_shape(workforce: Workforce) -> None:
    """Routing errors are E0000007 and E0000022, not FastAPI's own shape."""
    api = workforce.api()
    missing = api.get("/widgets")
    assert missing.status_code == 404
    okta_error(missing, "E0000007")
    wrong = api.patch("/users")
    assert wrong.status_code == 405
    okta_error(wrong, "E0000022")


def test_a_nul_character_in_the_path_or_query_is_a_400_not_a_500(workforce: Workforce) -> None:
    """PostgreSQL cannot store U+0000: it is refused before any query, naming where."""
    api = workforce.api()
    assert api.get("/users/ada%00@example.com").status_code == 400
    response = api.get("/users", params={"q": "a\x00b"})
    assert response.status_code == 400
    okta_error(response, "E0000001")
    body = api.post(
        "/users",
        json={"profile": {"login": "a\x00@example.com", "email": "a@example.com"}},
    )
    assert body.status_code == 400
    assert "profile.login" in okta_error(body)["errorCauses"][0]["errorSummary"]
