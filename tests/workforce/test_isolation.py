"""Two orgs on one server: what belongs to one is invisible and useless in the other."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS
from tests.workforce.conftest import Workforce, new_app, new_group, new_user, okta_error

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def test_a_token_of_one_org_is_an_invalid_token_in_another(workforce: Workforce) -> None:
    """A token of acme used at /orgs/globex is simply not a token of globex: 401, not 403."""
    response = workforce.api("globex", token=workforce.admins["acme"].token).get("/users")
    assert response.status_code == 401
    okta_error(response, "E0000011")


def test_users_groups_and_apps_of_one_org_are_not_found_in_the_other(
    workforce: Workforce,
) -> None:
    """Ids of one org are unknown in the other, for reads and writes alike."""
    acme, globex = workforce.api("acme"), workforce.api("globex")
    user = new_user(acme, "ada@example.com")
    group = new_group(acme)
    app = new_app(acme)
    for path, kind in (
        (f"/users/{user['id']}", "User"),
        ("/users/ada@example.com", "User"),
        (f"/groups/{group['id']}", "UserGroup"),
        (f"/apps/{app['id']}", "AppInstance"),
    ):
        response = globex.get(path)
        assert response.status_code == 404, path
        assert okta_error(response, "E0000007")["errorSummary"].endswith(f"({kind})")
    for response in (
        globex.put(f"/groups/{group['id']}/users/{user['id']}"),
        globex.post(f"/apps/{app['id']}/users", json={"id": user["id"]}),
        globex.delete(f"/users/{user['id']}"),
        globex.post(f"/apps/{app['id']}/lifecycle/deactivate"),
    ):
        assert response.status_code == 404
    assert acme.get(f"/users/{user['id']}").json()["status"] == "PROVISIONED"
    assert acme.get(f"/apps/{app['id']}").json()["status"] == "ACTIVE"


def test_lists_and_the_log_of_an_org_show_only_its_own(workforce: Workforce) -> None:
    """Lists, tokens and the System Log never mix orgs."""
    acme, globex = workforce.api("acme"), workforce.api("globex")
    new_user(acme, "ada@example.com")
    new_group(acme)
    new_app(acme)
    assert [u["profile"]["login"] for u in globex.get("/users").json()] == ["admin@globex.example"]
    assert globex.get("/groups").json() == []
    assert globex.get("/apps").json() == []
    assert len(globex.get("/api-tokens").json()) == 1
    logged = {e["eventType"] for e in globex.get("/logs").json()}
    assert "application.lifecycle.create" not in logged
    assert "user.lifecycle.create" in {e["eventType"] for e in acme.get("/logs").json()}


def test_the_same_login_and_group_name_can_exist_in_both_orgs(workforce: Workforce) -> None:
    """Uniqueness is per org: each org is its own namespace."""
    acme, globex = workforce.api("acme"), workforce.api("globex")
    first = new_user(acme, "ada@example.com")
    second = new_user(globex, "ada@example.com")
    assert first["id"] != second["id"]
    assert new_group(acme, "Staff")["id"] != new_group(globex, "Staff")["id"]


def test_a_token_of_one_org_cannot_be_listed_or_revoked_from_the_other(
    workforce: Workforce,
) -> None:
    """Another org's admin can neither see nor revoke a token."""
    acme_token_id = workforce.api("acme").get("/api-tokens").json()[0]["id"]
    globex = workforce.api("globex")
    assert globex.get(f"/api-tokens/{acme_token_id}").status_code == 404
    assert globex.delete(f"/api-tokens/{acme_token_id}").status_code == 404
    assert workforce.api("acme").get("/users").status_code == 200
