"""``/api/v2/users`` and ``/api/v2/users-by-email``.

Creating a user through the API hashes a password with Argon2id (tens of milliseconds), so tests
that only need users to exist write them straight to the database with :func:`insert_user`.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from expressway import hashing, ids
from expressway.tenant.rows import (
    ConnectionRow,
    OrganizationMemberRoleRow,
    OrganizationMemberRow,
    OrganizationRow,
    UserRoleRow,
    UserRow,
)
from tests.conftest import BACKENDS, Tenant, auth0_error

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

DATABASE = "Username-Password-Authentication"
PASSWORD = "Correct-Horse-42"
EXPRESS_CONFIGURE = "urn:auth0:express-configure"


def path(user_id: str) -> str:
    """The user's path as the SDK sends it: ``|`` percent-encoded."""
    return f"/users/{quote(user_id, safe='')}"


def insert_user(
    tenant: Tenant,
    user_id: str,
    email: str,
    *,
    connection: str = DATABASE,
    provider: str = "auth0",
) -> None:
    now = tenant.runtime.clock.now()
    with tenant.runtime.sessions() as session:
        session.add(
            UserRow(
                user_id=user_id,
                connection=connection,
                provider=provider,
                email=email,
                email_key=email.lower(),
                name=email,
                app_metadata={},
                user_metadata={},
                created_at=now,
                updated_at=now,
            )
        )
        session.commit()


def stored(tenant: Tenant, user_id: str) -> UserRow:
    with tenant.runtime.sessions() as session:
        row = session.get(UserRow, user_id)
        assert row is not None
        return row


def create(api: TestClient, **fields: Any) -> Any:
    body = {"connection": DATABASE, "email": "jane@example.com", "password": PASSWORD, **fields}
    return api.post("/users", json=body)


def make_api_and_role(api: TestClient, name: str, *scopes: str) -> str:
    api.post(
        "/resource-servers",
        json={
            "identifier": EXPRESS_CONFIGURE,
            "name": "Express Configuration",
            "scopes": [
                {"value": "express_configure:sso", "description": "Configure SSO"},
                {"value": "express_configure:scim", "description": "Configure SCIM"},
            ],
        },
    )
    role_id: str = api.post("/roles", json={"name": name}).json()["id"]
    permissions = [
        {"resource_server_identifier": EXPRESS_CONFIGURE, "permission_name": scope}
        for scope in scopes
    ]
    assert api.post(f"/roles/{role_id}/permissions", json={"permissions": permissions}).is_success
    return role_id


def test_a_database_user_is_created_in_auth0_shape_with_an_argon2id_password(
    tenant: Tenant,
) -> None:
    """``auth0|`` + 24 hex, one database identity, defaults as Auth0's; the hash never leaves."""
    created = create(
        tenant.api(),
        given_name="Jane",
        user_metadata={"theme": "dark"},
        app_metadata={"plan": "gold"},
        verify_email=False,
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert re.fullmatch(r"auth0\|[0-9a-f]{24}", user["user_id"])
    assert user["identities"] == [
        {
            "connection": DATABASE,
            "provider": "auth0",
            "user_id": user["user_id"].removeprefix("auth0|"),
            "isSocial": False,
        }
    ]
    assert user["email"] == "jane@example.com"
    assert user["name"] == "jane@example.com"
    assert user["nickname"] == "jane"
    assert user["given_name"] == "Jane"
    assert (user["email_verified"], user["blocked"], user["logins_count"]) == (False, False, 0)
    assert user["user_metadata"] == {"theme": "dark"}
    assert user["app_metadata"] == {"plan": "gold"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", user["created_at"])
    assert "family_name" not in user
    assert "last_login" not in user
    assert "password" not in created.text
    assert "argon2" not in created.text

    row = stored(tenant, user["user_id"])
    assert row.password_hash is not None
    assert row.password_hash.startswith("$argon2id$")
    assert hashing.verify_password(row.password_hash, PASSWORD)


def test_a_given_user_id_is_kept_behind_the_auth0_prefix_and_cannot_be_reused(
    tenant: Tenant,
) -> None:
    api = tenant.api()
    created = create(api, user_id="65ab0123456789abcdef0123")
    assert created.json()["user_id"] == "auth0|65ab0123456789abcdef0123"
    again = create(api, user_id="65ab0123456789abcdef0123", email="other@example.com")
    assert again.status_code == 409
    assert auth0_error(again)["message"] == "The user already exists."


def test_a_second_user_with_the_same_email_on_the_connection_is_refused_as_auth0_does(
    tenant: Tenant,
) -> None:
    """E-mails are unique per connection whatever their case: 409 with Auth0's message."""
    api = tenant.api()
    insert_user(tenant, "auth0|jane", "Jane@Example.com")
    response = create(api, email="jane@EXAMPLE.com")
    assert response.status_code == 409
    error = auth0_error(response)
    assert (error["message"], error["errorCode"]) == ("The user already exists.", "auth0_idp_error")


def test_a_password_below_the_fair_policy_is_refused_with_a_clear_400(tenant: Tenant) -> None:
    """Auth0's "fair": 8 characters or more, with 3 of lower, upper, digits and specials."""
    api = tenant.api()
    for weak in ("Sh0rt!", "alllowercaseletters", "lowercase1234", "UPPER-CASE"):
        response = create(api, password=weak)
        assert response.status_code == 400, weak
        message = auth0_error(response)["message"]
        assert message.startswith("PasswordStrengthError")
        assert "at least 8 characters" in message
    assert api.get("/users").json() == []


BAD_CREATE_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"connection": "Nowhere"}, "Nowhere"),
    ({"email": None}, "email"),
    ({"password": None}, "password"),
    ({"email": "not-an-email"}, "not-an-email"),
    ({"colour": "blue"}, "colour"),
    ({"blocked": "yes"}, "blocked"),
    ({"name": "x" * 301}, "name"),
    ({"picture": "javascript:alert(1)"}, "picture"),
    ({"user_id": "has|pipe"}, "user_id"),
    ({"user_metadata": ["not", "an", "object"]}, "user_metadata"),
]


def test_a_bad_create_body_is_refused_naming_the_field_or_object(tenant: Tenant) -> None:
    api = tenant.api()
    for fields, named in BAD_CREATE_BODIES:
        body = {"connection": DATABASE, "email": "jane@example.com", "password": PASSWORD, **fields}
        response = api.post("/users", json={k: v for k, v in body.items() if v is not None})
        assert response.status_code == 400, fields
        assert named in auth0_error(response)["message"]
    assert api.get("/users").json() == []


def test_users_are_created_only_on_database_connections(tenant: Tenant) -> None:
    """Upstream (Okta) users arrive by login or SCIM, not by a password set here."""
    with tenant.runtime.sessions() as session:
        session.add(
            ConnectionRow(
                id=ids.prefixed_id("con"),
                name="okta-acme",
                strategy="okta",
                options={},
                realms=[],
                connection_metadata={},
                created_at=tenant.runtime.clock.now(),
            )
        )
        session.commit()
    response = create(tenant.api(), connection="okta-acme")
    assert response.status_code == 400
    assert "okta-acme" in auth0_error(response)["message"]


def test_a_user_is_read_by_its_url_encoded_id_and_an_unknown_one_is_a_404(
    tenant: Tenant,
) -> None:
    api = tenant.api()
    insert_user(tenant, "auth0|65ab0123456789abcdef0123", "jane@example.com")
    found = api.get(path("auth0|65ab0123456789abcdef0123"))
    assert found.status_code == 200
    assert found.json()["user_id"] == "auth0|65ab0123456789abcdef0123"
    missing = api.get(path("auth0|nobody"))
    assert missing.status_code == 404
    assert auth0_error(missing) == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The user does not exist.",
        "errorCode": "inexistent_user",
    }


def test_a_patch_merges_metadata_blocks_and_rehashes_a_new_password(tenant: Tenant) -> None:
    """Metadata merges by top-level key, ``null`` removes a key and ``{}`` clears it all."""
    api = tenant.api()
    user = create(api, user_metadata={"a": 1, "b": 2}).json()
    updated = api.patch(
        path(user["user_id"]),
        json={
            "user_metadata": {"b": None, "c": 3},
            "password": "Another-Secret-7",
            "blocked": True,
            "given_name": "Jane",
            "nickname": None,
        },
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["user_metadata"] == {"a": 1, "c": 3}
    assert body["blocked"] is True
    assert body["given_name"] == "Jane"
    assert "nickname" not in body
    row = stored(tenant, user["user_id"])
    assert row.password_hash is not None
    assert hashing.verify_password(row.password_hash, "Another-Secret-7")
    assert not hashing.verify_password(row.password_hash, PASSWORD)

    cleared = api.patch(path(user["user_id"]), json={"user_metadata": {}})
    assert cleared.json()["user_metadata"] == {}


JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_an_infinity_in_a_body_is_refused_as_malformed_json_and_nothing_stored(
    tenant: Tenant, word: str
) -> None:
    """RFC 8259 has no NaN or Infinity: a body holding one is refused as a body that is not JSON,
    naming the word, and nothing of it is stored (it was stored, and answered as null)."""
    api = tenant.api()
    insert_user(tenant, "auth0|65ab0123456789abcdef0123", "jane@example.com")
    user_path = path("auth0|65ab0123456789abcdef0123")
    metadata = {"user_metadata": {"x": float(word)}}
    for response in (
        api.patch(user_path, content=json.dumps(metadata), headers=JSON_HEADERS),
        api.post(
            "/users",
            content=json.dumps(
                {"connection": DATABASE, "email": "ada@example.com", "password": PASSWORD}
                | metadata
            ),
            headers=JSON_HEADERS,
        ),
    ):
        assert response.status_code == 400, response.text
        assert auth0_error(response) == {
            "statusCode": 400,
            "error": "Bad Request",
            "message": f"Invalid request payload JSON format: {word} is not JSON"
            " (RFC 8259 has no NaN, Infinity or -Infinity)",
            "errorCode": "invalid_body",
        }
    assert api.get(user_path).json()["user_metadata"] == {}
    assert [user["email"] for user in api.get("/users").json()] == ["jane@example.com"]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        # JSON, but no double holds it: it was read as an infinity and kept as null.
        (b"1e400", "the number 1e400 is too large"),
        # Half a character: no UTF-8 column can hold it, and the write failed with a 500.
        (b'"\\ud800"', "a string holds a lone surrogate"),
    ],
)
def test_json_no_column_can_hold_is_refused_and_nothing_stored(
    tenant: Tenant, value: bytes, problem: str
) -> None:
    api = tenant.api()
    insert_user(tenant, "auth0|65ab0123456789abcdef0123", "jane@example.com")
    user_path = path("auth0|65ab0123456789abcdef0123")
    response = api.patch(
        user_path, content=b'{"user_metadata": {"x": ' + value + b"}}", headers=JSON_HEADERS
    )
    assert response.status_code == 400
    assert auth0_error(response)["errorCode"] == "invalid_body"
    assert problem in auth0_error(response)["message"]
    assert api.get(user_path).json()["user_metadata"] == {}


def test_an_integer_past_64_bits_in_metadata_is_kept_exact(tenant: Tenant) -> None:
    api = tenant.api()
    insert_user(tenant, "auth0|65ab0123456789abcdef0123", "jane@example.com")
    user_path = path("auth0|65ab0123456789abcdef0123")
    updated = api.patch(user_path, json={"user_metadata": {"n": 2**70, "m": -(2**70)}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["user_metadata"] == {"n": 2**70, "m": -(2**70)}
    assert api.get(user_path).json()["user_metadata"] == {"n": 2**70, "m": -(2**70)}


def test_a_new_email_is_unverified_and_one_taken_on_the_connection_is_refused(
    tenant: Tenant,
) -> None:
    api = tenant.api()
    insert_user(tenant, "auth0|jane", "jane@example.com")
    insert_user(tenant, "auth0|john", "john@example.com")
    api.patch(path("auth0|jane"), json={"email_verified": True})
    moved = api.patch(path("auth0|jane"), json={"email": "jane@new.example"}).json()
    assert (moved["email"], moved["email_verified"]) == ("jane@new.example", False)
    taken = api.patch(path("auth0|jane"), json={"email": "JOHN@example.com"})
    assert taken.status_code == 409
    assert stored(tenant, "auth0|jane").email == "jane@new.example"


def test_a_refused_patch_changes_nothing(tenant: Tenant) -> None:
    """A weak password fails the whole PATCH: the block beside it is not applied."""
    api = tenant.api()
    insert_user(tenant, "auth0|jane", "jane@example.com")
    response = api.patch(path("auth0|jane"), json={"blocked": True, "password": "weak"})
    assert response.status_code == 400
    assert auth0_error(response)["message"].startswith("PasswordStrengthError")
    assert stored(tenant, "auth0|jane").blocked is False
    for body, named in (
        ({"blocked": None}, "blocked"),
        ({"connection": "Other"}, "connection"),
        ({"password_hash": "x"}, "password_hash"),
    ):
        refused = api.patch(path("auth0|jane"), json=body)
        assert refused.status_code == 400
        assert named in auth0_error(refused)["message"]


def test_an_upstream_user_has_no_password_to_change(tenant: Tenant) -> None:
    insert_user(
        tenant, "okta|okta-acme|00u1", "ann@acme.example", connection="okta-acme", provider="okta"
    )
    api = tenant.api()
    response = api.patch(path("okta|okta-acme|00u1"), json={"password": PASSWORD})
    assert response.status_code == 400
    assert "password" in auth0_error(response)["message"]
    identity = api.get(path("okta|okta-acme|00u1")).json()["identities"][0]
    assert identity == {
        "connection": "okta-acme",
        "provider": "okta",
        "user_id": "okta-acme|00u1",
        "isSocial": False,
    }


def test_users_are_listed_by_page_with_totals(tenant: Tenant) -> None:
    api = tenant.api()
    for n in range(3):
        insert_user(tenant, f"auth0|user{n}", f"user{n}@example.com")
    page = api.get("/users", params={"per_page": 2, "page": 1, "include_totals": "true"}).json()
    assert (page["start"], page["limit"], page["length"], page["total"]) == (2, 2, 1, 3)
    assert len(page["users"]) == 1
    assert len(api.get("/users").json()) == 3


SEARCHES: list[tuple[str, list[str]]] = [
    ('email:"Jane@Example.com"', ["auth0|jane"]),
    ("email:jane@example.com", ["auth0|jane"]),
    ('connection:"okta-acme"', ["okta|okta-acme|00u1"]),
    ('email:"ann@acme.example" AND connection:"okta-acme"', ["okta|okta-acme|00u1"]),
    (f'email:"ann@acme.example" AND connection:"{DATABASE}"', []),
]


def test_users_are_searched_by_email_or_connection(tenant: Tenant) -> None:
    """Exact e-mail (any case) and connection terms, alone or joined with AND."""
    insert_user(tenant, "auth0|jane", "jane@example.com")
    insert_user(
        tenant, "okta|okta-acme|00u1", "ann@acme.example", connection="okta-acme", provider="okta"
    )
    api = tenant.api()
    for q, expected in SEARCHES:
        found = api.get("/users", params={"q": q, "search_engine": "v3"})
        assert found.status_code == 200, found.text
        assert [user["user_id"] for user in found.json()] == expected, q


def test_an_unsupported_search_is_refused_saying_what_is_supported(tenant: Tenant) -> None:
    """Wildcards, other fields, OR and free text are refused rather than half-answered."""
    api = tenant.api()
    for q in (
        'name:"Jane"',
        "email:*@example.com",
        'email:"a@x.io" OR email:"b@x.io"',
        'email:"a@x.io" AND email:"b@x.io"',
        "jane",
        'email:""',
    ):
        response = api.get("/users", params={"q": q})
        assert response.status_code == 400, q
        error = auth0_error(response)
        assert error["errorCode"] == "invalid_query_string"
        assert 'email:"jane@example.com"' in error["message"]
        assert 'connection:"' in error["message"]


def test_users_by_email_finds_every_connection_whatever_the_case(tenant: Tenant) -> None:
    insert_user(tenant, "auth0|ann", "ann@acme.example")
    insert_user(
        tenant, "okta|okta-acme|00u1", "Ann@Acme.example", connection="okta-acme", provider="okta"
    )
    api = tenant.api()
    found = api.get("/users-by-email", params={"email": "ANN@acme.example"}).json()
    assert sorted(user["user_id"] for user in found) == ["auth0|ann", "okta|okta-acme|00u1"]
    assert api.get("/users-by-email", params={"email": "nobody@acme.example"}).json() == []
    assert api.get("/users-by-email").status_code == 400


def test_roles_assigned_to_a_user_give_their_permissions_once_each(tenant: Tenant) -> None:
    """A user's permissions come from their direct roles; one two roles share is listed once."""
    api = tenant.api()
    sso = make_api_and_role(api, "SSO admin", "express_configure:sso")
    both = api.post("/roles", json={"name": "OIN admin"}).json()["id"]
    api.post(
        f"/roles/{both}/permissions",
        json={
            "permissions": [
                {"resource_server_identifier": EXPRESS_CONFIGURE, "permission_name": name}
                for name in ("express_configure:sso", "express_configure:scim")
            ]
        },
    )
    insert_user(tenant, "auth0|jane", "jane@example.com")
    assigned = api.post(f"{path('auth0|jane')}/roles", json={"roles": [sso, both]})
    assert assigned.status_code == 204

    roles = api.get(f"{path('auth0|jane')}/roles", params={"include_totals": "true"}).json()
    assert roles["total"] == 2
    assert [r["name"] for r in roles["roles"]] == ["OIN admin", "SSO admin"]
    permissions = api.get(f"{path('auth0|jane')}/permissions").json()
    assert permissions == [
        {
            "resource_server_identifier": EXPRESS_CONFIGURE,
            "permission_name": "express_configure:scim",
            "resource_server_name": "Express Configuration",
            "description": "Configure SCIM",
        },
        {
            "resource_server_identifier": EXPRESS_CONFIGURE,
            "permission_name": "express_configure:sso",
            "resource_server_name": "Express Configuration",
            "description": "Configure SSO",
        },
    ]

    removed = api.request("DELETE", f"{path('auth0|jane')}/roles", json={"roles": [both]})
    assert removed.status_code == 204
    left = api.get(f"{path('auth0|jane')}/permissions").json()
    assert [p["permission_name"] for p in left] == ["express_configure:sso"]


def test_assigning_an_unknown_role_is_refused_naming_it_and_changes_nothing(
    tenant: Tenant,
) -> None:
    api = tenant.api()
    real = api.post("/roles", json={"name": "Real"}).json()["id"]
    insert_user(tenant, "auth0|jane", "jane@example.com")
    response = api.post(f"{path('auth0|jane')}/roles", json={"roles": [real, "rol_ghost"]})
    assert response.status_code == 400
    assert "rol_ghost" in auth0_error(response)["message"]
    assert api.get(f"{path('auth0|jane')}/roles").json() == []
    assert api.post(f"{path('auth0|nobody')}/roles", json={"roles": [real]}).status_code == 404


def add_membership(tenant: Tenant, user_id: str, role_id: str) -> str:
    """An organization with ``user_id`` as a member holding ``role_id`` there."""
    organization_id = ids.prefixed_id("org")
    now = tenant.runtime.clock.now()
    with tenant.runtime.sessions() as session:
        session.add(
            OrganizationRow(
                id=organization_id,
                name="acme",
                display_name="Acme Corp",
                org_metadata={"domains": "acme.example"},
                created_at=now,
            )
        )
        session.flush()
        session.add(
            OrganizationMemberRow(organization_id=organization_id, user_id=user_id, created_at=now)
        )
        session.flush()
        session.add(
            OrganizationMemberRoleRow(
                organization_id=organization_id, user_id=user_id, role_id=role_id
            )
        )
        session.commit()
    return organization_id


def test_a_user_organizations_are_listed(tenant: Tenant) -> None:
    api = tenant.api()
    role = api.post("/roles", json={"name": "Member"}).json()["id"]
    insert_user(tenant, "auth0|jane", "jane@example.com")
    organization_id = add_membership(tenant, "auth0|jane", role)
    listed = api.get(f"{path('auth0|jane')}/organizations", params={"include_totals": "true"})
    assert listed.json() == {
        "start": 0,
        "limit": 50,
        "total": 1,
        "organizations": [
            {
                "id": organization_id,
                "name": "acme",
                "display_name": "Acme Corp",
                "metadata": {"domains": "acme.example"},
            }
        ],
    }


def test_deleting_a_user_removes_their_roles_and_memberships(tenant: Tenant) -> None:
    """The foreign keys cascade on both databases; the roles and organization remain."""
    api = tenant.api()
    role = api.post("/roles", json={"name": "Member"}).json()["id"]
    insert_user(tenant, "auth0|jane", "jane@example.com")
    api.post(f"{path('auth0|jane')}/roles", json={"roles": [role]})
    add_membership(tenant, "auth0|jane", role)

    deleted = api.delete(path("auth0|jane"))
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert api.get(path("auth0|jane")).status_code == 404
    with tenant.runtime.sessions() as session:
        for table in (UserRoleRow, OrganizationMemberRow, OrganizationMemberRoleRow):
            assert session.scalars(select(table)).all() == []
        assert session.scalars(select(OrganizationRow)).all() != []
    assert api.get(f"/roles/{role}").status_code == 200


def test_each_user_endpoint_needs_its_scope(tenant: Tenant) -> None:
    insert_user(tenant, "auth0|jane", "jane@example.com")
    reader = tenant.api(scope="read:users")
    assert reader.get(path("auth0|jane")).status_code == 200
    for response in (
        create(reader),
        reader.patch(path("auth0|jane"), json={"blocked": True}),
        reader.delete(path("auth0|jane")),
        reader.post(f"{path('auth0|jane')}/roles", json={"roles": ["rol_x"]}),
    ):
        assert response.status_code == 403
    assert tenant.api(scope="read:roles").get("/users").status_code == 403
    assert stored(tenant, "auth0|jane").blocked is False
