"""``/api/v2/connection-profiles`` and ``/api/v2/user-attribute-profiles``, with templates."""

from __future__ import annotations

from typing import Any

import pytest

from expressway.tenant.services import profiles as service
from tests.conftest import BACKENDS, Tenant, auth0_error

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def attribute(auth0: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": f"The user's {auth0}",
        "label": auth0.title(),
        "profile_required": False,
        "auth0_mapping": auth0,
        **extra,
    }


# --- Connection profiles ---


def test_a_connection_profile_is_created_with_defaults_and_read_back(tenant: Tenant) -> None:
    """cop_ id, prefix con-{org_id}-, behaviours left out are "none"."""
    api = tenant.api()
    created = api.post(
        "/connection-profiles",
        json={"name": "Express", "organization": {"assign_membership_on_login": "required"}},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"].startswith("cop_")
    assert body["connection_name_prefix_template"] == "con-{org_id}-"
    assert body["organization"] == {
        "show_as_button": "none",
        "assign_membership_on_login": "required",
    }
    assert body["enabled_features"] == []
    assert body["connection_config"] == {}
    assert body["strategy_overrides"] == {}
    assert api.get(f"/connection-profiles/{body['id']}").json() == body


def test_a_connection_profile_is_updated_field_by_field(tenant: Tenant) -> None:
    api = tenant.api()
    profile = api.post("/connection-profiles", json={"name": "Express"}).json()
    updated = api.patch(
        f"/connection-profiles/{profile['id']}",
        json={
            "enabled_features": ["scim", "universal_logout", "scim"],
            "connection_name_prefix_template": "{org_id}-okta-",
            "strategy_overrides": {"okta": {"enabled_features": ["scim"], "connection_config": {}}},
        },
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["name"] == "Express"
    assert body["enabled_features"] == ["scim", "universal_logout"]
    assert body["connection_name_prefix_template"] == "{org_id}-okta-"
    assert body["strategy_overrides"] == {
        "okta": {"enabled_features": ["scim"], "connection_config": {}}
    }


def test_a_prefix_template_with_anything_but_org_id_is_refused_naming_it(tenant: Tenant) -> None:
    api = tenant.api()
    for template, named in [
        ("con-{org_name}-", "{org_name}"),
        ("con-{tenant}", "{tenant}"),
        ("con_{org_id}", "con_{org_id}"),
        ("-{org_id}", "'-'"),
        ("con--{org_id}", "'--'"),
        ("c" * 16, "connection_name_prefix_template"),
    ]:
        response = api.post(
            "/connection-profiles",
            json={"name": "Express", "connection_name_prefix_template": template},
        )
        assert response.status_code == 400, template
        assert named in auth0_error(response)["message"], template


def test_the_rendered_prefix_starts_a_valid_connection_name(tenant: Tenant) -> None:
    """Organization ids hold "_", which connection names refuse; it becomes "-"."""
    prefix = service.render_connection_name_prefix("con-{org_id}-", "org_Ab12")
    assert prefix == "con-org-Ab12-"
    response = tenant.api().post(
        "/connections", json={"name": prefix + "okta", "strategy": "auth0"}
    )
    assert response.status_code == 201, response.text


def test_bad_connection_profiles_are_refused_naming_the_field(tenant: Tenant) -> None:
    api = tenant.api()
    for body, named in [
        ({"name": "P", "enabled_features": ["directory_sync"]}, "directory_sync"),
        ({"name": "P", "organization": {"show_as_button": "always"}}, "show_as_button"),
        ({"name": "P", "connection_config": {"anything": 1}}, "connection_config.anything"),
        ({"name": "P", "strategy_overrides": {"github": {}}}, "strategy_overrides"),
        ({"name": "x" * 51}, "name"),
        ({"organization": {}}, "name"),
    ]:
        response = api.post("/connection-profiles", json=body)
        assert response.status_code == 400, body
        assert named in auth0_error(response)["message"], body
    assert api.get("/connection-profiles").json() == {"connection_profiles": []}


def test_a_taken_connection_profile_name_is_a_409(tenant: Tenant) -> None:
    api = tenant.api()
    first = api.post("/connection-profiles", json={"name": "Express"}).json()
    assert api.post("/connection-profiles", json={"name": "express"}).status_code == 409
    other = api.post("/connection-profiles", json={"name": "Other"}).json()
    renamed = api.patch(f"/connection-profiles/{other['id']}", json={"name": "Express"})
    assert renamed.status_code == 409
    assert api.patch(f"/connection-profiles/{first['id']}", json={"name": "Express"}).is_success


@pytest.mark.parametrize("path", ["/connection-profiles", "/user-attribute-profiles"])
def test_a_taken_name_beyond_ascii_is_a_409_in_any_case(tenant: Tenant, path: str) -> None:
    """SQLite's lower() folds ASCII only: a name with other letters must still find itself."""
    api = tenant.api()
    body: dict[str, Any] = {"name": "Ñandú Straße"}
    if path == "/user-attribute-profiles":
        body["user_attributes"] = {"email": attribute("email")}
    assert api.post(path, json=body).status_code == 201
    for name in ("Ñandú Straße", "ñANDÚ STRASSE", "ñandú straße"):
        answer = api.post(path, json={**body, "name": name})
        assert answer.status_code == 409, (name, answer.text)
        assert "same name" in auth0_error(answer)["message"]


def test_connection_profiles_page_by_checkpoint_and_are_deleted(tenant: Tenant) -> None:
    api = tenant.api()
    ids = {api.post("/connection-profiles", json={"name": f"P{n}"}).json()["id"] for n in range(3)}
    first = api.get("/connection-profiles", params={"take": 2}).json()
    rest = api.get("/connection-profiles", params={"take": 2, "from": first["next"]}).json()
    assert "next" not in rest
    pages = [p["id"] for p in first["connection_profiles"] + rest["connection_profiles"]]
    assert len(first["connection_profiles"]) == 2
    assert sorted(pages) == sorted(ids)
    gone = pages[0]
    assert api.delete(f"/connection-profiles/{gone}").status_code == 204
    missing = api.get(f"/connection-profiles/{gone}")
    assert missing.status_code == 404
    assert gone in auth0_error(missing)["message"]


def test_the_okta_template_makes_a_valid_connection_profile(tenant: Tenant) -> None:
    """A template is a ready request body: posting it as is creates a profile."""
    api = tenant.api()
    listed = api.get("/connection-profiles/templates").json()["connection_profile_templates"]
    okta = next(t for t in listed if t["display_name"] == "Okta Express Configuration")
    assert api.get(f"/connection-profiles/templates/{okta['id']}").json() == okta
    created = api.post("/connection-profiles", json=okta["template"])
    assert created.status_code == 201, created.text
    assert created.json()["enabled_features"] == ["scim", "universal_logout"]
    assert api.get("/connection-profiles/templates/cpt_nope").status_code == 404


def test_connection_profiles_need_their_scopes(tenant: Tenant) -> None:
    reader = tenant.api(scope="read:connection_profiles")
    assert reader.get("/connection-profiles").status_code == 200
    refused = reader.post("/connection-profiles", json={"name": "P"})
    assert refused.status_code == 403
    assert "create:connection_profiles" in auth0_error(refused)["message"]


# --- User attribute profiles ---


def test_a_user_attribute_profile_is_created_with_the_default_user_id(tenant: Tenant) -> None:
    """uap_ id; without user_id the mapping is sub (OIDC) and externalId (SCIM)."""
    api = tenant.api()
    created = api.post(
        "/user-attribute-profiles",
        json={
            "name": "Workforce",
            "user_attributes": {
                "email": attribute(
                    "email",
                    profile_required=True,
                    oidc_mapping={"mapping": "email"},
                    scim_mapping="emails[primary eq true].value",
                    strategy_overrides={"okta": {"scim_mapping": "userName"}},
                )
            },
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"].startswith("uap_")
    assert body["user_id"]["oidc_mapping"] == "sub"
    assert body["user_id"]["scim_mapping"] == "externalId"
    email = body["user_attributes"]["email"]
    assert email["profile_required"] is True
    assert email["oidc_mapping"] == {"mapping": "email"}
    assert email["strategy_overrides"] == {"okta": {"scim_mapping": "userName"}}
    assert api.get(f"/user-attribute-profiles/{body['id']}").json() == body


def test_a_user_attribute_profile_is_updated_and_its_user_id_reset(tenant: Tenant) -> None:
    api = tenant.api()
    profile = api.post(
        "/user-attribute-profiles",
        json={
            "name": "Workforce",
            "user_id": {"oidc_mapping": "sub", "scim_mapping": "id"},
            "user_attributes": {"email": attribute("email")},
        },
    ).json()
    assert profile["user_id"] == {"oidc_mapping": "sub", "scim_mapping": "id"}
    path = f"/user-attribute-profiles/{profile['id']}"
    renamed = api.patch(path, json={"name": "Renamed"}).json()
    assert renamed["name"] == "Renamed"
    assert renamed["user_attributes"] == profile["user_attributes"]
    reset = api.patch(path, json={"user_id": None}).json()
    assert reset["user_id"]["scim_mapping"] == "externalId"
    replaced = api.patch(path, json={"user_attributes": {"name": attribute("name")}}).json()
    assert list(replaced["user_attributes"]) == ["name"]


BAD_USER_ATTRIBUTE_PROFILES = [
    ({"name": "W"}, "user_attributes"),
    ({"name": "W", "user_attributes": {}}, "user_attributes"),
    ({"name": "W", "user_attributes": {"email": {"label": "E"}}}, "description"),
    ({"name": "W", "user_attributes": {"a b": attribute("email")}}, "user_attributes"),
    ({"name": "W", "user_attributes": {"e": attribute("email", oidc_mapping={})}}, "mapping"),
    (
        {"name": "W", "user_attributes": {"e": attribute("email"), "f": attribute("email")}},
        "auth0_mapping",
    ),
    (
        {
            "name": "W",
            "user_id": {"oidc_mapping": "email"},
            "user_attributes": {"e": attribute("email")},
        },
        "oidc_mapping",
    ),
    (
        {"name": "W", "user_attributes": {"e": attribute("email", profile_required="yes")}},
        "profile_required",
    ),
]


def test_bad_user_attribute_profiles_are_refused_naming_the_field(tenant: Tenant) -> None:
    api = tenant.api()
    for body, named in BAD_USER_ATTRIBUTE_PROFILES:
        response = api.post("/user-attribute-profiles", json=body)
        assert response.status_code == 400, body
        assert named in auth0_error(response)["message"], body
    assert api.get("/user-attribute-profiles").json() == {"user_attribute_profiles": []}


def test_user_attribute_profiles_page_by_checkpoint_and_are_deleted(tenant: Tenant) -> None:
    api = tenant.api()
    for n in range(2):
        api.post(
            "/user-attribute-profiles",
            json={"name": f"W{n}", "user_attributes": {"email": attribute("email")}},
        )
    first = api.get("/user-attribute-profiles", params={"take": 1}).json()
    [kept] = [p["id"] for p in first["user_attribute_profiles"]]
    gone = first["next"]
    assert api.delete(f"/user-attribute-profiles/{gone}").status_code == 204
    remaining = api.get("/user-attribute-profiles").json()["user_attribute_profiles"]
    assert [p["id"] for p in remaining] == [kept]
    assert api.delete(f"/user-attribute-profiles/{gone}").status_code == 404


def test_the_okta_template_maps_oidc_claims_and_scim_attributes(tenant: Tenant) -> None:
    api = tenant.api()
    listed = api.get("/user-attribute-profiles/templates").json()
    template = listed["user_attribute_profile_templates"][0]
    attributes = template["template"]["user_attributes"]
    assert {"email", "given_name", "family_name", "name", "username"} <= set(attributes)
    assert attributes["email"]["scim_mapping"] == "emails[primary eq true].value"
    assert attributes["username"]["oidc_mapping"]["mapping"] == "preferred_username"
    assert api.get(f"/user-attribute-profiles/templates/{template['id']}").json() == template
    created = api.post("/user-attribute-profiles", json=template["template"])
    assert created.status_code == 201, created.text


def test_profile_writes_are_logged(tenant: Tenant) -> None:
    api = tenant.api()
    api.post("/connection-profiles", json={"name": "Express"})
    api.post(
        "/user-attribute-profiles",
        json={"name": "Workforce", "user_attributes": {"email": attribute("email")}},
    )
    logs = api.get("/logs", params={"q": "type:sapi"}).json()
    descriptions = [event["description"] for event in logs]
    assert "Create a connection profile" in descriptions
    assert "Create a user attribute profile" in descriptions
