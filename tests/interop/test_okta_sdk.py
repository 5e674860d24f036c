"""The official Okta Python SDK (``okta``, async) against a live workforce IdP's org URL.

The SDK takes ``orgUrl`` as the base of every path it calls (``{orgUrl}/api/v1/users``), so an
org URL with a path works unchanged. Two things it needs to know: its HTTPS check is turned off
with the environment variable ``OKTA_TESTING_TESTINGDISABLEHTTPSCHECK`` (the SDK reads
``testing.testingDisableHttpsCheck`` from its environment or YAML configuration, not from the dict
given to ``Client``), and pages are followed with the ``after`` cursor of the ``Link`` header
(:class:`okta.pagination.PaginationHelper`), as the SDK's generated list methods expect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from okta.client import Client as OktaClient
from okta.models import (
    AddGroupRequest,
    AppUserAssignRequest,
    CreateUserRequest,
    OpenIdConnectApplication,
    UpdateUserRequest,
)
from okta.pagination import PaginationHelper

from tests.interop.workforce_server import LiveWorkforce, live_workforce

__all__ = ["live_workforce"]

pytestmark = pytest.mark.interop

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _http_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The SDK refuses plain-HTTP org URLs unless its test switch is on."""
    monkeypatch.setenv("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")
    return


def run(
    live: LiveWorkforce,
    org: str,
    steps: Callable[[OktaClient], Awaitable[T]],
    token: str | None = None,
) -> T:
    """Run ``steps`` with an SDK client for ``org`` (authenticated with its admin's token)."""

    async def main() -> T:
        config = {
            "orgUrl": live.org_url(org),
            "token": token or live.tokens[org],
            "rateLimit": {"maxRetries": 0},
        }
        async with OktaClient(config) as client:
            return await steps(client)

    return asyncio.run(main())


def ok(result: tuple[Any, ...]) -> Any:
    """The value of an SDK call's ``(value, response, error)``, after checking no error."""
    value, _response, error = result
    assert error is None, error
    return value


def new_user_request(login: str, last_name: str, password: str | None = None) -> CreateUserRequest:
    body: dict[str, Any] = {
        "profile": {"firstName": "Test", "lastName": last_name, "email": login, "login": login}
    }
    if password is not None:
        body["credentials"] = {"password": {"value": password}}
    request = CreateUserRequest.from_dict(body)
    assert request is not None
    return request


def test_the_sdk_creates_lists_filters_updates_deactivates_and_deletes_users(
    live_workforce: LiveWorkforce,
) -> None:
    """The user half of the issue's done-when, through the official SDK."""

    async def steps(client: OktaClient) -> None:
        ada = ok(
            await client.create_user(
                new_user_request("ada@sdk.example", "Lovelace", "Correct-Horse-9"), activate=True
            )
        )
        assert ada.status.value == "ACTIVE"
        assert ada.id.startswith("00u")
        staged = ok(
            await client.create_user(new_user_request("alan@sdk.example", "Turing"), activate=False)
        )
        assert staged.status.value == "STAGED"
        for n in range(3):
            ok(await client.create_user(new_user_request(f"bulk{n}@sdk.example", "Bulk")))

        logins: list[str] = []
        after = None
        while True:
            users, response, error = await client.list_users(limit=2, after=after)
            assert error is None, error
            logins += [u.profile.login for u in users]
            after = PaginationHelper.extract_next_cursor(dict(response.headers or {}))
            if after is None:
                break
        assert logins[0] == "admin@acme.example"
        assert {"ada@sdk.example", "alan@sdk.example", "bulk2@sdk.example"} <= set(logins)
        assert len(logins) == len(set(logins))

        active = ok(await client.list_users(filter='status eq "ACTIVE"'))
        assert "ada@sdk.example" in [u.profile.login for u in active]
        assert "alan@sdk.example" not in [u.profile.login for u in active]
        found = ok(await client.list_users(search='profile.lastName eq "Turing"'))
        assert [u.id for u in found] == [staged.id]
        assert [u.id for u in ok(await client.list_users(q="Lovel"))] == [ada.id]

        update = UpdateUserRequest.from_dict({"profile": {"nickName": "Ada", "title": "Countess"}})
        updated = ok(await client.update_user(ada.id, update))
        assert updated.profile.nick_name == "Ada"
        assert updated.profile.first_name == "Test"
        fetched = ok(await client.get_user("ada@sdk.example"))
        assert fetched.profile.title == "Countess"

        replace = UpdateUserRequest.from_dict(
            {
                "profile": {
                    "firstName": "Ada",
                    "lastName": "Lovelace",
                    "email": "ada@sdk.example",
                    "login": "ada@sdk.example",
                }
            }
        )
        replaced = ok(await client.replace_user(ada.id, replace))
        assert replaced.profile.title is None
        assert replaced.profile.first_name == "Ada"

        _, _, error = await client.deactivate_user(ada.id)
        assert error is None
        assert ok(await client.get_user(ada.id)).status.value == "DEPROVISIONED"
        _, _, error = await client.delete_user(ada.id)
        assert error is None
        _, _, error = await client.get_user(ada.id)
        assert error is not None
        assert "E0000007" in str(error)

    run(live_workforce, "acme", steps)


def test_the_sdk_creates_groups_and_adds_members(live_workforce: LiveWorkforce) -> None:
    """Groups and memberships through the official SDK."""

    async def steps(client: OktaClient) -> None:
        group = ok(
            await client.add_group(
                AddGroupRequest.from_dict(
                    {"profile": {"name": "SDK Engineers", "description": "Made by the SDK"}}
                )
            )
        )
        assert group.id.startswith("00g")
        grace = ok(await client.create_user(new_user_request("grace@sdk.example", "Hopper")))
        _, _, error = await client.assign_user_to_group(group.id, grace.id)
        assert error is None
        members = ok(await client.list_group_users(group.id))
        assert [m.id for m in members] == [grace.id]
        groups = ok(await client.list_groups(q="SDK"))
        assert [g.profile.actual_instance.name for g in groups] == ["SDK Engineers"]

    run(live_workforce, "acme", steps)


def test_the_sdk_creates_and_lists_apps_and_assigns_users(live_workforce: LiveWorkforce) -> None:
    """An OIDC app made, listed and assigned to through the official SDK."""

    async def steps(client: OktaClient) -> None:
        app_model = OpenIdConnectApplication.from_dict(
            {
                "name": "oidc_client",
                "label": "Vendor SaaS (SDK)",
                "signOnMode": "OPENID_CONNECT",
                "credentials": {
                    "oauthClient": {"token_endpoint_auth_method": "client_secret_basic"}
                },
                "settings": {
                    "oauthClient": {
                        "redirect_uris": ["https://vendor.example/login/callback"],
                        "response_types": ["code"],
                        "grant_types": ["authorization_code"],
                        "application_type": "web",
                    }
                },
            }
        )
        created = ok(await client.create_application(app_model))
        assert created.id.startswith("0oa")
        assert created.credentials.oauth_client.client_secret
        apps = ok(await client.list_applications())
        assert created.id in [a.id for a in apps]
        assert ok(await client.get_application(created.id)).label == "Vendor SaaS (SDK)"

        katherine = ok(
            await client.create_user(new_user_request("katherine@sdk.example", "Johnson"))
        )
        assignment = AppUserAssignRequest.from_dict(
            {"id": katherine.id, "scope": "USER", "credentials": {"userName": "kjohnson"}}
        )
        app_user = ok(await client.assign_user_to_application(created.id, assignment))
        assert app_user.id == katherine.id
        assert app_user.scope == "USER"
        assert app_user.credentials.user_name == "kjohnson"
        app_users = ok(await client.list_application_users(created.id))
        assert [u.id for u in app_users] == [katherine.id]

    run(live_workforce, "acme", steps)


def test_the_sdk_reads_the_system_log(live_workforce: LiveWorkforce) -> None:
    """The SDK reads Okta-shaped log events, with their targets."""

    async def steps(client: OktaClient) -> None:
        ok(await client.create_user(new_user_request("logged@sdk.example", "Logged")))
        events = ok(await client.list_log_events(filter='eventType eq "user.lifecycle.create"'))
        assert "logged@sdk.example" in [e.target[0].alternate_id for e in events]

    run(live_workforce, "acme", steps)


def test_a_second_org_sees_none_of_the_first_and_refuses_its_token(
    live_workforce: LiveWorkforce,
) -> None:
    """Isolation seen by the SDK: unknown ids, own users only, a foreign token refused."""

    async def in_acme(client: OktaClient) -> str:
        user = ok(await client.create_user(new_user_request("only-acme@sdk.example", "Acme")))
        user_id: str = user.id
        return user_id

    acme_user = run(live_workforce, "acme", in_acme)

    async def in_globex(client: OktaClient) -> None:
        _, _, error = await client.get_user(acme_user)
        assert error is not None
        assert "E0000007" in str(error)
        logins = [u.profile.login for u in ok(await client.list_users())]
        assert logins == ["admin@globex.example"]

    run(live_workforce, "globex", in_globex)

    async def with_acme_token(client: OktaClient) -> None:
        _, _, error = await client.list_users()
        assert error is not None
        assert "E0000011" in str(error)

    run(live_workforce, "globex", with_acme_token, token=live_workforce.tokens["acme"])
