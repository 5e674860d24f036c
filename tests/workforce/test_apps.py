"""``/api/v1/apps``: OIDC app instances, their secrets, lifecycle and assignments."""

from __future__ import annotations

import json
from typing import Any

import pytest

from expressway import hashing
from expressway.workforce.rows import AppRow
from tests.conftest import BACKENDS
from tests.workforce.conftest import (
    Workforce,
    causes,
    new_app,
    new_group,
    new_user,
    oidc_app_body,
    okta_error,
)

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def test_an_oidc_app_is_created_with_a_client_secret_shown_only_once(
    workforce: Workforce,
) -> None:
    """The secret is in the create answer, hashed at rest, and in no later answer."""
    api = workforce.api()
    app = new_app(api)
    assert app["id"].startswith("0oa")
    assert app["status"] == "ACTIVE"
    assert app["signOnMode"] == "OPENID_CONNECT"
    oauth_client = app["credentials"]["oauthClient"]
    assert oauth_client["client_id"] == app["id"]
    secret = oauth_client["client_secret"]
    assert len(secret) >= 43
    assert app["settings"]["oauthClient"]["redirect_uris"] == [
        "https://vendor.example/login/callback"
    ]
    again = api.get(f"/apps/{app['id']}").json()
    assert "client_secret" not in again["credentials"]["oauthClient"]
    assert "client_secret" not in api.get("/apps").json()[0]["credentials"]["oauthClient"]
    with workforce.runtime.sessions() as session:
        row = session.get(AppRow, app["id"])
        assert row is not None
        assert row.client_secret_hash is not None
        assert hashing.verify_token(row.client_secret_hash, secret)


def test_a_public_client_gets_no_secret_and_must_use_pkce(workforce: Workforce) -> None:
    """token_endpoint_auth_method none: no secret, and PKCE cannot be turned off."""
    api = workforce.api()
    body = oidc_app_body(application_type="browser")
    body["credentials"] = {"oauthClient": {"token_endpoint_auth_method": "none"}}
    app = api.post("/apps", json=body).json()
    assert "client_secret" not in app["credentials"]["oauthClient"]
    assert app["credentials"]["oauthClient"]["pkce_required"] is True
    body["credentials"]["oauthClient"]["pkce_required"] = False
    refused = api.post("/apps", json=body)
    assert refused.status_code == 400
    assert causes(refused)[0].startswith("pkce_required:")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"redirect_uris": []}, "redirect_uris"),
        ({"redirect_uris": ["/relative/callback"]}, "redirect_uris"),
        ({"redirect_uris": ["https://vendor.example/cb#frag"]}, "redirect_uris"),
        ({"redirect_uris": ["http://[::1/callback"]}, "redirect_uris"),
        ({"redirect_uris": ["https://*.vendor.example/cb"]}, "redirect_uris"),
        ({"initiate_login_uri": "not a uri"}, "initiate_login_uri"),
        ({"grant_types": ["authorization_code", "telepathy"]}, "grant_types"),
        ({"grant_types": ["refresh_token"], "response_types": []}, "grant_types"),
        ({"response_types": ["token"]}, "response_types"),
        ({"application_type": "toaster"}, "application_type"),
    ],
)
def test_impossible_client_settings_are_refused_naming_the_setting(
    workforce: Workforce, change: dict[str, Any], field: str
) -> None:
    """Each broken rule of an OIDC client is a 400 naming its setting; nothing is made."""
    response = workforce.api().post("/apps", json=oidc_app_body(**change))
    assert response.status_code == 400
    assert okta_error(response, "E0000001")["errorSummary"] == f"Api validation failed: {field}"
    assert workforce.api().get("/apps").json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"label": "x", "signOnMode": "OPENID_CONNECT", "name": "bookmark"}, "name"),
        ({**oidc_app_body(), "signOnMode": "SAML_2_0"}, "signOnMode"),
        ({**oidc_app_body(), "label": "   "}, "label"),
        ({**oidc_app_body(), "label": 5}, "label"),
        ({**oidc_app_body(), "colour": "blue"}, "colour"),
        ({key: value for key, value in oidc_app_body().items() if key != "name"}, "name"),
    ],
)
def test_a_wrong_app_body_is_refused_naming_the_property(
    workforce: Workforce, body: dict[str, Any], field: str
) -> None:
    """Unknown apps, wrong sign-on modes, types and properties are 400s naming the property."""
    response = workforce.api().post("/apps", json=body)
    assert response.status_code == 400
    assert any(cause.startswith(field) for cause in causes(response)), response.json()


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_an_infinity_in_an_app_is_e0000003_and_nothing_is_stored(
    workforce: Workforce, word: str
) -> None:
    """RFC 8259 has no NaN or Infinity: a settings object kept as given held it, answered as
    null; now the body is not well-formed and the app is unchanged."""
    api = workforce.api()
    app = new_app(api)
    fetched = api.get(f"/apps/{app['id']}").json()
    headers = {"Content-Type": "application/json"}
    body = {**oidc_app_body("Other"), "visibility": {"hide": {"web": float(word)}}}
    created = api.post("/apps", content=json.dumps(body), headers=headers)
    replaced = api.put(
        f"/apps/{app['id']}", content=json.dumps({**fetched, **body}), headers=headers
    )
    for response in (created, replaced):
        assert response.status_code == 400, response.text
        okta_error(response, "E0000003")
        assert causes(response) == [
            f"{word} is not JSON (RFC 8259 has no NaN, Infinity or -Infinity)"
        ]
    assert [a["label"] for a in api.get("/apps").json()] == ["Vendor SaaS"]
    assert api.get(f"/apps/{app['id']}").json() == fetched


def test_a_custom_client_id_is_kept_and_must_be_unique(workforce: Workforce) -> None:
    """Okta lets an app choose its client_id; two apps cannot share one."""
    api = workforce.api()
    body = oidc_app_body()
    body["credentials"]["oauthClient"]["client_id"] = "vendor-saas-client"
    assert api.post("/apps", json=body).json()["credentials"]["oauthClient"]["client_id"] == (
        "vendor-saas-client"
    )
    taken = api.post("/apps", json=body)
    assert taken.status_code == 400
    assert causes(taken)[0].startswith("client_id:")


def test_replacing_an_app_keeps_its_client_and_secret(workforce: Workforce) -> None:
    """A fetched app sent back with a new label and redirect URI; the client id stays."""
    api = workforce.api()
    app = new_app(api)
    fetched = api.get(f"/apps/{app['id']}").json()
    fetched["label"] = "Vendor SaaS (prod)"
    fetched["settings"]["oauthClient"]["redirect_uris"] = ["https://vendor.example/cb2"]
    replaced = api.put(f"/apps/{app['id']}", json=fetched)
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert body["label"] == "Vendor SaaS (prod)"
    assert body["settings"]["oauthClient"]["redirect_uris"] == ["https://vendor.example/cb2"]
    assert body["credentials"]["oauthClient"]["client_id"] == app["id"]
    assert "client_secret" not in body["credentials"]["oauthClient"]
    fetched["credentials"]["oauthClient"]["client_id"] = "another-client"
    assert causes(api.put(f"/apps/{app['id']}", json=fetched))[0].startswith("client_id:")


def test_an_active_app_cannot_be_deleted_until_deactivated(workforce: Workforce) -> None:
    """Okta's E0000056: deactivate first; deactivating twice is harmless."""
    api = workforce.api()
    app = new_app(api)
    refused = api.delete(f"/apps/{app['id']}")
    assert refused.status_code == 403
    okta_error(refused, "E0000056")
    assert api.post(f"/apps/{app['id']}/lifecycle/deactivate").json() == {}
    assert api.get(f"/apps/{app['id']}").json()["status"] == "INACTIVE"
    assert api.post(f"/apps/{app['id']}/lifecycle/deactivate").status_code == 200
    assert api.delete(f"/apps/{app['id']}").status_code == 204
    assert api.get(f"/apps/{app['id']}").status_code == 404


def test_an_app_created_with_activate_false_is_inactive(workforce: Workforce) -> None:
    """``activate=false`` makes an INACTIVE instance, activated later."""
    api = workforce.api()
    app = api.post("/apps?activate=false", json=oidc_app_body()).json()
    assert app["status"] == "INACTIVE"
    assert api.post(f"/apps/{app['id']}/lifecycle/activate").status_code == 200
    assert api.get(f"/apps/{app['id']}").json()["status"] == "ACTIVE"


def test_a_user_is_assigned_with_a_user_name_and_profile(workforce: Workforce) -> None:
    """A direct assignment (scope USER) with its app user name and profile, updated and ended."""
    api = workforce.api()
    app = new_app(api)
    user = new_user(api)
    assigned = api.post(
        f"/apps/{app['id']}/users",
        json={"id": user["id"], "scope": "USER", "profile": {"role": "viewer"}},
    )
    assert assigned.status_code == 200, assigned.text
    body = assigned.json()
    assert body["id"] == user["id"]
    assert body["scope"] == "USER"
    assert body["credentials"] == {"userName": "ada@example.com"}
    assert body["profile"] == {"role": "viewer"}
    updated = api.post(
        f"/apps/{app['id']}/users/{user['id']}",
        json={"credentials": {"userName": "ada"}, "profile": {"team": "core"}},
    ).json()
    assert updated["credentials"]["userName"] == "ada"
    assert updated["profile"] == {"role": "viewer", "team": "core"}
    assert [u["id"] for u in api.get(f"/apps/{app['id']}/users").json()] == [user["id"]]
    assert [
        a["id"] for a in api.get("/apps", params={"filter": f'user.id eq "{user["id"]}"'}).json()
    ] == [app["id"]]
    assert api.delete(f"/apps/{app['id']}/users/{user['id']}").status_code == 204
    assert api.get(f"/apps/{app['id']}/users/{user['id']}").status_code == 404


def test_assigning_an_unknown_or_deactivated_user_is_refused(workforce: Workforce) -> None:
    """Only an existing, not deactivated user of the org can be assigned."""
    api = workforce.api()
    app = new_app(api)
    missing = api.post(f"/apps/{app['id']}/users", json={"id": "00unosuchuser"})
    assert missing.status_code == 404
    okta_error(missing, "E0000007")
    user = new_user(api)
    api.post(f"/users/{user['id']}/lifecycle/deactivate")
    deactivated = api.post(f"/apps/{app['id']}/users", json={"id": user["id"]})
    assert deactivated.status_code == 400
    assert causes(deactivated)[0].startswith("id:")


def test_members_of_an_assigned_group_are_app_users_with_group_scope(
    workforce: Workforce,
) -> None:
    """Assignments through groups follow membership: join, leave, unassign the group."""
    api = workforce.api()
    app = new_app(api)
    group = new_group(api)
    ada = new_user(api, "ada@example.com")
    alan = new_user(api, "alan@example.com")
    api.put(f"/groups/{group['id']}/users/{ada['id']}")
    assigned = api.put(f"/apps/{app['id']}/groups/{group['id']}", json={"priority": 3})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["priority"] == 3
    api.put(f"/groups/{group['id']}/users/{alan['id']}")

    def scopes() -> dict[str, str]:
        return {u["id"]: u["scope"] for u in api.get(f"/apps/{app['id']}/users").json()}

    assert scopes() == {ada["id"]: "GROUP", alan["id"]: "GROUP"}
    api.post(f"/apps/{app['id']}/users", json={"id": ada["id"]})
    assert scopes() == {ada["id"]: "USER", alan["id"]: "GROUP"}
    refused = api.delete(f"/apps/{app['id']}/users/{alan['id']}")
    assert refused.status_code == 400
    api.delete(f"/apps/{app['id']}/users/{ada['id']}")
    assert scopes() == {ada["id"]: "GROUP", alan["id"]: "GROUP"}
    api.delete(f"/groups/{group['id']}/users/{alan['id']}")
    assert scopes() == {ada["id"]: "GROUP"}
    assert [g["id"] for g in api.get(f"/apps/{app['id']}/groups").json()] == [group["id"]]
    assert [a["id"] for a in api.get(f"/groups/{group['id']}/apps").json()] == [app["id"]]
    assert api.delete(f"/apps/{app['id']}/groups/{group['id']}").status_code == 204
    assert scopes() == {}
    assert api.get(f"/apps/{app['id']}/groups/{group['id']}").status_code == 404


def test_deleting_an_assigned_group_unassigns_its_members(workforce: Workforce) -> None:
    """Members who had the app only through the group lose it, and the log says so."""
    api = workforce.api()
    app = new_app(api)
    group = new_group(api)
    user = new_user(api)
    api.put(f"/groups/{group['id']}/users/{user['id']}")
    api.put(f"/apps/{app['id']}/groups/{group['id']}")
    api.delete(f"/groups/{group['id']}")
    assert api.get(f"/apps/{app['id']}/users").json() == []
    removed = api.get(
        "/logs", params={"filter": 'eventType eq "application.user_membership.remove"'}
    ).json()
    assert [t["id"] for t in removed[0]["target"]] == [user["id"], app["id"]]


def test_apps_are_listed_by_label_prefix_and_filtered_by_status(workforce: Workforce) -> None:
    """``q``, ``filter`` and cursor paging on the app list."""
    api = workforce.api()
    first = new_app(api, "Vendor SaaS")
    new_app(api, "Another")
    api.post(f"/apps/{first['id']}/lifecycle/deactivate")
    assert [a["label"] for a in api.get("/apps", params={"q": "vend"}).json()] == ["Vendor SaaS"]
    inactive = api.get("/apps", params={"filter": 'status eq "INACTIVE"'}).json()
    assert [a["id"] for a in inactive] == [first["id"]]
    paged = api.get("/apps", params={"limit": 1})
    assert len(paged.json()) == 1
    assert any(link.endswith('rel="next"') for link in paged.headers.get_list("link"))
