"""``/scim/v2/connections/{id}/Users``: the token check, what provisioning does to tenant users,
Entra's request shapes, paging, and errors in the SCIM schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from expressway.clock import FrozenClock
from expressway.storage.engine import READ_ONLY_OPTION, unit_of_work
from expressway.tenant.rows import (
    LogEventRow,
    LoginSessionRow,
    OrganizationMemberRow,
    RefreshTokenRow,
    ScimTokenRow,
    ScimUserRow,
    UserRow,
)
from expressway.tenant.services import login_sessions, refresh_tokens
from tests.conftest import BACKENDS, Tenant
from tests.tenant.scim.helpers import (
    ENTERPRISE_SCHEMA,
    SCIM_MEDIA_TYPE,
    USER_SCHEMA,
    ScimConnection,
    expiring_scim_connection,
    okta_user,
    patch_body,
    scim_connection,
    scim_error,
    signed_in_user,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


# --- The token ---


def test_a_request_without_a_token_is_refused_with_a_bearer_challenge(tenant: Tenant) -> None:
    """RFC 6750 §3: 401 with ``WWW-Authenticate: Bearer``; the body is a SCIM error."""
    scim = scim_connection(tenant)
    del scim.http.headers["Authorization"]
    refused = scim.http.get("/Users")
    scim_error(refused, 401)
    assert refused.headers["www-authenticate"] == "Bearer"


def test_a_token_of_another_connection_is_refused(tenant: Tenant) -> None:
    """A SCIM token authenticates for its own connection only."""
    mine = scim_connection(tenant, "acme-okta")
    other = scim_connection(tenant, "globex-okta")
    mine.http.headers["Authorization"] = f"Bearer {other.token}"
    refused = mine.http.get("/Users")
    scim_error(refused, 401)
    assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_an_expired_token_is_refused(tenant: Tenant) -> None:
    """A token past its ``valid_until`` authenticates nothing."""
    clock, scim = expiring_scim_connection(tenant, minutes=20)
    assert scim.http.get("/Users").status_code == 200
    clock.advance(21 * 60)
    scim_error(scim.http.get("/Users"), 401)


def test_a_token_records_when_it_was_last_used(tenant: Tenant) -> None:
    """``last_used_at`` is the time of the last authenticated request."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    tenant.runtime.clock = clock
    scim = scim_connection(tenant)
    clock.advance(30)
    assert scim.http.get("/ServiceProviderConfig").status_code == 200
    with unit_of_work(tenant.runtime.sessions) as session:
        token = session.get(ScimTokenRow, scim.token_id)
        assert token is not None
        assert token.last_used_at == clock.now()


def _last_used(tenant: Tenant, token_id: str) -> datetime | None:
    with unit_of_work(tenant.runtime.sessions) as session:
        token = session.get(ScimTokenRow, token_id)
        assert token is not None
        return token.last_used_at


def test_a_token_use_is_recorded_to_the_minute(tenant: Tenant) -> None:
    """As Auth0 keeps it: a use within a minute of the stored one is not written."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    tenant.runtime.clock = clock
    scim = scim_connection(tenant)
    first = clock.now()
    assert scim.http.get("/Users").status_code == 200
    assert _last_used(tenant, scim.token_id) == first
    clock.advance(59)
    assert scim.http.get("/Users").status_code == 200
    assert scim.http.post("/Users", json=okta_user("m@example.com", "00um")).status_code == 201
    assert _last_used(tenant, scim.token_id) == first
    clock.advance(1)
    assert scim.http.post("/Users/.search", json={}).status_code == 200
    assert _last_used(tenant, scim.token_id) == first + timedelta(seconds=60)
    clock.advance(60)
    assert scim.http.delete(f"/Users/{_user_id(scim)}").status_code == 204
    assert _last_used(tenant, scim.token_id) == first + timedelta(seconds=120)


def _user_id(scim: ScimConnection) -> str:
    found = scim.http.get("/Users", params={"filter": 'userName eq "m@example.com"'}).json()
    return str(found["Resources"][0]["id"])


def test_reads_within_the_minute_write_nothing_and_take_no_write_lock(tenant: Tenant) -> None:
    """A lookup, a read, a search and a list page run only SELECTs, each in a read-only
    transaction (on SQLite, a plain ``BEGIN``: provisioning's write lock does not stop them)."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    tenant.runtime.clock = clock
    scim = scim_connection(tenant)
    created = scim.http.post("/Users", json=okta_user("r@example.com", "00ur")).json()
    clock.advance(30)
    executed: list[tuple[str, bool]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        executed.append(
            (
                statement.split(None, 1)[0].upper(),
                bool(conn.get_execution_options().get(READ_ONLY_OPTION)),
            )
        )

    event.listen(tenant.runtime.engine, "before_cursor_execute", record)
    try:
        for answer in (
            scim.http.get("/Users", params={"filter": 'userName eq "R@EXAMPLE.COM"'}),
            scim.http.get(f"/Users/{created['id']}"),
            scim.http.post("/Users/.search", json={"filter": 'externalId eq "00ur"'}),
            scim.http.get("/Users", params={"startIndex": 1, "count": 10}),
            scim.http.get("/ServiceProviderConfig"),
        ):
            assert answer.status_code == 200, answer.text
    finally:
        event.remove(tenant.runtime.engine, "before_cursor_execute", record)
    assert executed
    assert {verb for verb, _ in executed} <= {"SELECT", "BEGIN"}, executed
    assert all(read_only for _, read_only in executed), executed


def test_a_token_without_the_scope_of_the_operation_is_forbidden(tenant: Tenant) -> None:
    """A token limited to ``get:users`` reads users but cannot create them."""
    scim = scim_connection(tenant, scopes=["get:users"])
    assert scim.http.get("/Users").status_code == 200
    scim_error(scim.http.post("/Users", json=okta_user("a@example.com", "00ua")), 403)


def test_removing_the_scim_configuration_turns_its_tokens_off(tenant: Tenant) -> None:
    """SCIM must be switched on for the connection."""
    scim = scim_connection(tenant)
    removed = tenant.api().delete(f"/connections/{scim.id}/scim-configuration")
    assert removed.status_code in (200, 204), removed.text
    scim_error(scim.http.get("/Users"), 401)


# --- Provisioning ---


def test_a_provisioned_user_is_a_tenant_user_of_the_connection_in_its_organizations(
    tenant: Tenant,
) -> None:
    """``user_id`` is ``okta|{connection}|{externalId}``; the user joins the organizations the
    connection is enabled on."""
    scim = scim_connection(tenant)
    api = tenant.api()
    organization = api.post("/organizations", json={"name": "acme"}).json()
    enabled = api.post(
        f"/organizations/{organization['id']}/enabled_connections",
        json={"connection_id": scim.id},
    )
    assert enabled.status_code in (200, 201), enabled.text
    created = scim.http.post("/Users", json=okta_user("Ann@Example.com", "00uann"))
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith(SCIM_MEDIA_TYPE)
    assert created.headers["etag"] == created.json()["meta"]["version"]
    user = api.get("/users/okta|acme-okta|00uann").json()
    # The domain of an address is case-insensitive; the model writes it in lower case.
    assert user["email"] == "Ann@example.com"
    assert user["name"] == "Barbara Jensen"
    assert user["family_name"] == "Jensen"
    assert user["app_metadata"]["external_id"] == "00uann"
    with unit_of_work(tenant.runtime.sessions) as session:
        member = session.get(OrganizationMemberRow, (organization["id"], user["user_id"]))
        assert member is not None
        row = session.scalars(select(ScimUserRow)).one()
        assert "password" not in row.resource
        assert row.user_name_key == "ann@example.com"


def test_a_user_who_signed_in_first_is_adopted_not_duplicated(tenant: Tenant) -> None:
    """SSO and SCIM meet in the same user: the SCIM id comes from ``externalId``, the ``sub``."""
    scim = scim_connection(tenant)
    signed_in_user(tenant, "okta|acme-okta|00ujit", tenant.runtime.clock.now(), logins_count=3)
    created = scim.http.post("/Users", json=okta_user("jit@example.com", "00ujit"))
    assert created.status_code == 201, created.text
    user = tenant.api().get("/users/okta|acme-okta|00ujit").json()
    assert user["logins_count"] == 3
    assert user["given_name"] == "Barbara"


def test_without_external_id_the_user_name_makes_the_user_id(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    assert scim.http.post("/Users", json=okta_user("plain@example.com")).status_code == 201
    assert tenant.api().get("/users/okta|acme-okta|plain@example.com").status_code == 200


def test_user_name_is_unique_whatever_its_case(tenant: Tenant) -> None:
    """RFC 7643 §4.1.1: userName is case-insensitive and unique → 409 ``uniqueness``."""
    scim = scim_connection(tenant)
    assert scim.http.post("/Users", json=okta_user("dup@example.com", "00u1")).status_code == 201
    scim_error(
        scim.http.post("/Users", json=okta_user("DUP@example.com", "00u2")), 409, "uniqueness"
    )


def _tenant_users(tenant: Tenant) -> int:
    with unit_of_work(tenant.runtime.sessions) as session:
        return len(session.scalars(select(UserRow.user_id)).all())


def test_a_create_names_what_is_taken_and_writes_nothing(tenant: Tenant) -> None:
    """The userName first, then the user id (``externalId``) of another SCIM user, then an
    e-mail another user of the connection holds: each a 409 ``uniqueness`` saying which, and
    nothing written."""
    scim = scim_connection(tenant)
    first = okta_user("taken@example.com", "00utaken")
    assert scim.http.post("/Users", json=first).status_code == 201
    users = _tenant_users(tenant)

    # All three taken: the userName is named.
    error = scim_error(
        scim.http.post("/Users", json=first | {"userName": "TAKEN@example.com"}), 409, "uniqueness"
    )
    assert "userName" in error["detail"]
    # The same externalId under another userName: the user id is a SCIM user already.
    error = scim_error(
        scim.http.post("/Users", json=okta_user("other@example.com", "00utaken")), 409, "uniqueness"
    )
    assert "externalId" in error["detail"]
    # A new user whose e-mail another user of the connection holds.
    body = okta_user("third@example.com", "00uthird")
    body["emails"] = [{"primary": True, "value": "Taken@Example.com", "type": "work"}]
    error = scim_error(scim.http.post("/Users", json=body), 409, "uniqueness")
    assert "already has the e-mail Taken@example.com" in error["detail"]
    # A user who signed in first, adopted, whose e-mail another user holds: refused too.
    signed_in_user(tenant, "okta|acme-okta|00uadopt", tenant.runtime.clock.now(), logins_count=1)
    adopted = okta_user("adopt@example.com", "00uadopt")
    adopted["emails"] = [{"primary": True, "value": "taken@example.com", "type": "work"}]
    error = scim_error(scim.http.post("/Users", json=adopted), 409, "uniqueness")
    assert "already has the e-mail" in error["detail"]

    assert _tenant_users(tenant) == users + 1  # the user who signed in, and no other
    with unit_of_work(tenant.runtime.sessions) as session:
        assert len(session.scalars(select(ScimUserRow.id)).all()) == 1
        signed_in = session.get_one(UserRow, "okta|acme-okta|00uadopt")
        assert signed_in.email != "taken@example.com"


def test_a_user_id_too_long_is_an_invalid_value(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    error = scim_error(
        scim.http.post("/Users", json=okta_user("long@example.com", "x" * 400)), 400, "invalidValue"
    )
    assert "longer than" in error["detail"]
    assert _tenant_users(tenant) == 0


def test_a_user_created_inactive_is_blocked(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    created = scim.http.post("/Users", json=okta_user("off@example.com", "00uoff", active=False))
    assert created.status_code == 201, created.text
    assert created.json()["active"] is False
    user = tenant.api().get("/users/okta|acme-okta|00uoff").json()
    assert user["blocked"] is True
    assert user["email"] == "off@example.com"
    assert user["nickname"] == "off"


def test_deactivation_blocks_and_ends_sessions_and_refresh_tokens(tenant: Tenant) -> None:
    """``active: false`` blocks the user, ends their sessions and revokes their refresh tokens;
    ``active: true`` unblocks them."""
    scim = scim_connection(tenant)
    created = scim.http.post("/Users", json=okta_user("sess@example.com", "00usess")).json()
    user_id = "okta|acme-okta|00usess"
    now = tenant.runtime.clock.now()
    with unit_of_work(tenant.runtime.sessions) as session:
        live = login_sessions.create_session(
            session, now, user_id=user_id, connection="acme-okta", auth_time=now
        )
        refresh_tokens.issue(
            session,
            now,
            client_id=tenant.admin_client_id,
            user_id=user_id,
            session_id=live.row.id,
            scope=["openid", "offline_access"],
            audience=None,
            organization_id=None,
            auth_time=now,
        )
    patched = scim.http.patch(
        f"/Users/{created['id']}",
        json=patch_body({"op": "Replace", "path": "active", "value": "False"}),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["active"] is False
    with unit_of_work(tenant.runtime.sessions) as session:
        assert session.get(UserRow, user_id).blocked is True  # type: ignore[union-attr]
        assert session.scalars(select(LoginSessionRow.revoked_at)).one() is not None
        assert session.scalars(select(RefreshTokenRow.revoked_at)).one() is not None
    scim.http.patch(
        f"/Users/{created['id']}", json=patch_body({"op": "replace", "value": {"active": True}})
    )
    assert tenant.api().get(f"/users/{user_id}").json()["blocked"] is False


def test_a_no_op_patch_answers_200_and_changes_nothing(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    created = scim.http.post("/Users", json=okta_user("noop@example.com", "00unoop")).json()
    same = scim.http.patch(
        f"/Users/{created['id']}", json=patch_body({"op": "replace", "value": {"active": True}})
    )
    assert same.status_code == 200
    assert same.json()["meta"]["version"] == created["meta"]["version"]


def test_delete_removes_the_scim_user_and_the_tenant_user(tenant: Tenant) -> None:
    """DELETE answers 204 and the user is gone from both (RFC 7644 §3.6)."""
    scim = scim_connection(tenant)
    created = scim.http.post("/Users", json=okta_user("gone@example.com", "00ugone")).json()
    deleted = scim.http.delete(f"/Users/{created['id']}")
    assert deleted.status_code == 204
    scim_error(scim.http.get(f"/Users/{created['id']}"), 404)
    assert tenant.api().get("/users/okta|acme-okta|00ugone").status_code == 404


def test_writes_are_logged_as_sscim_and_refusals_as_fscim(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    scim.http.post("/Users", json=okta_user("log@example.com", "00ulog"))
    scim.http.post("/Users", json=okta_user("log@example.com", "00ulog2"))
    with unit_of_work(tenant.runtime.sessions) as session:
        events = {(e.type, e.connection_id) for e in session.scalars(select(LogEventRow))}
    assert ("sscim", scim.id) in events
    assert ("fscim", scim.id) in events


def test_an_sscim_event_names_the_write_its_user_and_where_it_came_from(tenant: Tenant) -> None:
    """The event of a provisioning write, its fields cut to their columns' lengths."""
    scim = scim_connection(tenant)
    created = scim.http.post(
        "/Users",
        json=okta_user("event@example.com", "00uevent"),
        headers={"User-Agent": "Okta SCIM Client " + "x" * 600},
    ).json()
    with unit_of_work(tenant.runtime.sessions) as session:
        event = session.scalars(select(LogEventRow).where(LogEventRow.type == "sscim")).one()
        assert event.description == "SCIM create User event@example.com"
        assert (event.connection, event.connection_id) == ("acme-okta", scim.id)
        assert (event.user_id, event.user_name) == ("okta|acme-okta|00uevent", "event@example.com")
        assert event.user_agent == ("Okta SCIM Client " + "x" * 600)[:512]
        assert event.ip == "testclient"
        assert event.log_id.startswith("900")
        assert event.details == {
            "request": {"method": "POST", "path": f"/scim/v2/connections/{scim.id}/Users"},
            "scim_token_id": scim.token_id,
            "scim_id": created["id"],
        }


def test_scim_tokens_and_passwords_never_reach_the_log(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    scim.http.post("/Users", json=okta_user("secret@example.com", "00usec"))
    with unit_of_work(tenant.runtime.sessions) as session:
        text = repr([(e.description, e.details) for e in session.scalars(select(LogEventRow))])
    assert scim.token not in text
    assert "an-initial-Passw0rd" not in text


# --- Entra ---


def test_entras_user_shapes_are_understood(tenant: Tenant) -> None:
    """Entra's validator: enterprise extension with a bare manager, ``externalId eq`` lookups,
    mixed-case ops and the ``emails[type eq "work"].value`` path."""
    scim = scim_connection(tenant)
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee@testuser.com",
        "active": True,
        "displayName": "Test_User_ab6490ee",
        "emails": [{"primary": True, "type": "work", "value": "Test_User_ab6490ee@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "g"},
        "roles": [],
        ENTERPRISE_SCHEMA: {"department": "Dep", "manager": {"value": "m1"}},
    }
    created = scim.http.post("/Users", json=body)
    assert created.status_code == 201, created.text
    scim_id = created.json()["id"]
    assert created.json()[ENTERPRISE_SCHEMA]["manager"]["$ref"].endswith("/Users/m1")
    found = scim.http.get(
        "/Users", params={"filter": 'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"'}
    ).json()
    assert [r["id"] for r in found["Resources"]] == [scim_id]
    assert (
        scim.http.get("/Users", params={"filter": 'externalId eq "0A21F0F2"'}).json()[
            "totalResults"
        ]
        == 0
    )
    patched = scim.http.patch(
        f"/Users/{scim_id}",
        json=patch_body(
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@testuser.com"},
            {"op": "Add", "path": "displayName", "value": "Renamed"},
        ),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["emails"][0]["value"] == "new@testuser.com"
    tenant_user = (
        tenant.api().get("/users/okta|acme-okta|0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef").json()
    )
    assert tenant_user["email"] == "new@testuser.com"
    by_value = scim.http.get(
        "/Users", params={"filter": 'emails[type eq "work"].value eq "new@testuser.com"'}
    ).json()
    assert [r["id"] for r in by_value["Resources"]] == [scim_id]


# --- Lists, attributes, errors ---


def test_lists_page_in_a_stable_order_with_integer_fields(tenant: Tenant) -> None:
    """RFC 7644 §3.4.2.4: 1-based ``startIndex``, ``count``, integers in the answer."""
    scim = scim_connection(tenant)
    ids = [
        scim.http.post("/Users", json=okta_user(f"p{i}@example.com", f"00up{i}")).json()["id"]
        for i in range(5)
    ]
    seen = []
    for start in (1, 3, 5):
        page = scim.http.get("/Users", params={"startIndex": start, "count": 2}).json()
        assert page["totalResults"] == 5
        assert page["startIndex"] == start
        assert page["itemsPerPage"] == len(page["Resources"])
        seen += [r["id"] for r in page["Resources"]]
    assert seen == ids
    assert (
        scim.http.get("/Users", params={"startIndex": 0, "count": -1}).json()["itemsPerPage"] == 0
    )


def test_attributes_and_excluded_attributes_shape_the_answer(tenant: Tenant) -> None:
    """RFC 7644 §3.4.2.5: ``id`` is always returned."""
    scim = scim_connection(tenant)
    created = scim.http.post("/Users", json=okta_user("attr@example.com", "00uattr")).json()
    only = scim.http.get(f"/Users/{created['id']}", params={"attributes": "userName"}).json()
    assert set(only) - {"schemas", "meta"} == {"id", "userName"}
    without = scim.http.get("/Users", params={"excludedAttributes": "emails,name"}).json()
    resource = without["Resources"][0]
    assert "emails" not in resource
    assert "name" not in resource
    assert resource["userName"] == "attr@example.com"


@pytest.mark.parametrize(
    ("params", "scim_type"),
    [
        ({"filter": 'userName eq "x'}, "invalidFilter"),
        ({"filter": 'nope eq "x"'}, "invalidFilter"),
        ({"startIndex": "one"}, "invalidValue"),
        ({"count": "1.5"}, "invalidValue"),
    ],
)
def test_bad_list_parameters_are_scim_errors(
    tenant: Tenant, params: dict[str, str], scim_type: str
) -> None:
    scim = scim_connection(tenant)
    scim_error(scim.http.get("/Users", params=params), 400, scim_type)


def test_malformed_bodies_are_invalid_syntax_or_value(tenant: Tenant) -> None:
    """Never a 500: malformed JSON, a non-object, a wrong schema, a bad value."""
    scim = scim_connection(tenant)
    headers = {"Content-Type": "application/scim+json"}
    scim_error(scim.http.post("/Users", content=b"{nope", headers=headers), 400, "invalidSyntax")
    scim_error(scim.http.post("/Users", json=[1, 2]), 400, "invalidSyntax")
    scim_error(scim.http.post("/Users", json={"userName": "x"}), 400, "invalidSyntax")
    bad = okta_user("bad@example.com", "00ubad", active="maybe")
    assert scim.http.post("/Users", json=bad).status_code == 400
    created = scim.http.post("/Users", json=okta_user("ok@example.com", "00uok")).json()
    scim_error(
        scim.http.patch(
            f"/Users/{created['id']}",
            json=patch_body({"op": "replace", "path": "name[", "value": "x"}),
        ),
        400,
        "invalidPath",
    )


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_an_infinity_is_invalid_syntax_and_writes_nothing(tenant: Tenant, word: str) -> None:
    """RFC 8259 has no NaN or Infinity: a create (the fast path's and the server's) or a PATCH
    holding one is ``invalidSyntax`` naming the word, as malformed JSON is, and writes
    nothing."""
    scim = scim_connection(tenant)
    created = scim.http.post("/Users", json=okta_user("kept@example.com", "00ukept")).json()
    headers = {"Content-Type": "application/scim+json"}
    number = float(word)
    problem = (
        f"the request body is not valid JSON: {word} is not JSON"
        " (RFC 8259 has no NaN, Infinity or -Infinity)"
    )
    new_user = okta_user("nan@example.com", "00unan", title=number)
    refused = scim.http.post("/Users", content=json.dumps(new_user), headers=headers)
    assert scim_error(refused, 400, "invalidSyntax")["detail"] == problem
    change = patch_body({"op": "replace", "value": {"title": number}})
    refused = scim.http.patch(
        f"/Users/{created['id']}", content=json.dumps(change), headers=headers
    )
    assert scim_error(refused, 400, "invalidSyntax")["detail"] == problem
    assert _tenant_users(tenant) == 1
    kept = scim.http.get(f"/Users/{created['id']}").json()
    assert "title" not in kept
    assert kept["meta"]["version"] == created["meta"]["version"]


def test_an_integer_too_long_to_convert_is_invalid_syntax_not_a_500(tenant: Tenant) -> None:
    """json.loads refuses an integer of more than 4,300 digits with a ValueError that is not a
    decoding error: it was a 500."""
    scim = scim_connection(tenant)
    body = b'{"userName": ' + b"1" * 5_000 + b"}"
    refused = scim.http.post(
        "/Users", content=body, headers={"Content-Type": "application/scim+json"}
    )
    error = scim_error(refused, 400, "invalidSyntax")
    assert error["detail"] == (
        "the request body is not valid JSON: an integer has more than 4300 digits"
    )
    assert _tenant_users(tenant) == 0


def test_unknown_paths_and_methods_answer_in_the_scim_schema(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    scim_error(scim.http.get("/Nothing"), 404)
    scim_error(scim.http.get("/Users/does-not-exist"), 404)
    scim_error(scim.http.post("/ServiceProviderConfig", json={}), 405)


def test_if_match_with_an_old_version_is_refused(tenant: Tenant) -> None:
    """RFC 7644 §3.14: a write against a stale ETag is 412."""
    scim = scim_connection(tenant)
    created = scim.http.post("/Users", json=okta_user("etag@example.com", "00uetag"))
    etag = created.headers["etag"]
    scim_id = created.json()["id"]
    body = patch_body({"op": "replace", "path": "title", "value": "CTO"})
    assert (
        scim.http.patch(f"/Users/{scim_id}", json=body, headers={"If-Match": etag}).status_code
        == 200
    )
    scim_error(scim.http.patch(f"/Users/{scim_id}", json=body, headers={"If-Match": etag}), 412)
