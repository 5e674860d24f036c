"""``/api/v1/users``: Okta's users, profiles, passwords, lifecycle, search and paging."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from expressway import hashing
from expressway.workforce.rows import UserRow
from tests.conftest import BACKENDS
from tests.workforce.conftest import Workforce, causes, new_group, new_user, okta_error

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def _profile(login: str, **extra: str) -> dict[str, str]:
    return {"login": login, "email": login, "firstName": "Grace", "lastName": "Hopper", **extra}


def test_a_user_with_a_password_is_created_active_and_the_password_is_kept_hashed(
    workforce: Workforce,
) -> None:
    """With a password, ``activate=true`` (the default) makes the user ACTIVE at once."""
    response = workforce.api().post(
        "/users",
        json={
            "profile": _profile("grace@example.com"),
            "credentials": {"password": {"value": "Correct-Horse-9"}},
        },
    )
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["id"].startswith("00u")
    assert len(user["id"]) == 20
    assert user["status"] == "ACTIVE"
    assert user["activated"]
    assert user["passwordChanged"]
    assert user["profile"] == _profile("grace@example.com")
    assert user["credentials"]["password"] == {}
    with workforce.runtime.sessions() as session:
        stored = session.get(UserRow, user["id"])
        assert stored is not None
        assert stored.password_hash is not None
        assert hashing.verify_password(stored.password_hash, "Correct-Horse-9")
        assert "Correct-Horse-9" not in stored.password_hash


def test_without_a_password_an_activated_user_is_provisioned_and_otherwise_staged(
    workforce: Workforce,
) -> None:
    """Okta's statuses on creation: PROVISIONED awaits a password, STAGED awaits activation."""
    api = workforce.api()
    assert new_user(api, "prov@example.com")["status"] == "PROVISIONED"
    staged = new_user(api, "staged@example.com", activate=False)
    assert staged["status"] == "STAGED"
    assert staged["activated"] is None


def test_a_login_taken_in_any_case_is_refused_naming_the_login(workforce: Workforce) -> None:
    """Logins are unique in an org whatever their case (E0000001 with the login's cause)."""
    api = workforce.api()
    new_user(api, "ada@example.com")
    again = api.post("/users", json={"profile": _profile("ADA@example.com")})
    assert again.status_code == 400
    body = okta_error(again, "E0000001")
    assert body["errorSummary"] == "Api validation failed: login"
    assert causes(again) == [
        "login: An object with this field already exists in the current organization"
    ]


def test_every_fault_of_a_profile_is_named_at_once(workforce: Workforce) -> None:
    """Missing names, a login that is no e-mail and an unknown property, in one answer."""
    response = workforce.api().post(
        "/users", json={"profile": {"login": "not-an-email", "email": "x@example.com", "shoe": "9"}}
    )
    assert response.status_code == 400
    assert set(causes(response)) == {
        "shoe: Property name 'shoe' is not defined in profile",
        "firstName: The field cannot be left blank",
        "lastName: The field cannot be left blank",
        "login: Username must be in the form of an email address",
    }


def test_a_short_password_is_refused_with_the_password_policy(workforce: Workforce) -> None:
    """Fewer than 8 characters: Okta's password-requirements cause."""
    response = workforce.api().post(
        "/users",
        json={
            "profile": _profile("short@example.com"),
            "credentials": {"password": {"value": "abc"}},
        },
    )
    assert response.status_code == 400
    assert causes(response) == [
        "password: Password requirements were not met. Password requirements: at least 8 "
        "characters."
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"profile": {"login": 7}}, "profile.login"),
        ({"profile": _profile("a@example.com"), "colour": "blue"}, "colour"),
        (
            {"profile": _profile("a@example.com"), "credentials": {"password": {"value": 1}}},
            "value",
        ),
        ({"profile": _profile("a@example.com"), "groupIds": "00g1"}, "groupIds"),
    ],
)
def test_a_wrongly_shaped_body_is_refused_naming_the_property(
    workforce: Workforce, body: dict[str, object], field: str
) -> None:
    """Wrong types and unknown properties are 400s whose causes name the property."""
    response = workforce.api().post("/users", json=body)
    assert response.status_code == 400
    assert any(field in cause for cause in causes(response)), response.json()


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"", b'{"profile": "\xff"}'])
def test_a_body_that_is_not_a_json_object_is_e0000003(workforce: Workforce, content: bytes) -> None:
    """Not JSON (invalid UTF-8 included), not an object, or nothing: the body is not
    well-formed."""
    response = workforce.api().post(
        "/users", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert (
        okta_error(response, "E0000003")["errorSummary"] == "The request body was not well-formed."
    )


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_an_infinity_is_e0000003_naming_it_and_nothing_is_stored(
    workforce: Workforce, word: str
) -> None:
    """RFC 8259 has no NaN or Infinity: the body is not well-formed, as malformed JSON is, the
    cause names the word, and neither a create nor an update is stored."""
    api = workforce.api()
    user = new_user(api, "grace@example.com", firstName="Grace")
    headers = {"Content-Type": "application/json"}
    number = float(word)
    for response in (
        api.post(
            "/users",
            content=json.dumps({"profile": {**_profile("ada@example.com"), "nickName": number}}),
            headers=headers,
        ),
        api.post(
            f"/users/{user['id']}",
            content=json.dumps({"profile": {"firstName": number}}),
            headers=headers,
        ),
    ):
        assert response.status_code == 400, response.text
        error = okta_error(response, "E0000003")
        assert error["errorSummary"] == "The request body was not well-formed."
        assert causes(response) == [
            f"{word} is not JSON (RFC 8259 has no NaN, Infinity or -Infinity)"
        ]
    assert api.get(f"/users/{user['id']}").json()["profile"]["firstName"] == "Grace"
    assert api.get("/users/ada@example.com").status_code == 404


def test_an_unknown_group_id_on_creation_fails_and_creates_nothing(workforce: Workforce) -> None:
    """A failed write changes nothing: the user is not left behind without their group."""
    api = workforce.api()
    response = api.post(
        "/users", json={"profile": _profile("lone@example.com"), "groupIds": ["00gdoesnotexist"]}
    )
    assert response.status_code == 400
    assert causes(response) == ["groupIds: The group 00gdoesnotexist does not exist"]
    assert api.get("/users/lone@example.com").status_code == 404


def test_a_user_created_with_group_ids_is_a_member_of_those_groups(workforce: Workforce) -> None:
    """``groupIds`` on creation makes the memberships in the same request."""
    api = workforce.api()
    group = new_group(api)
    user = api.post(
        "/users", json={"profile": _profile("member@example.com"), "groupIds": [group["id"]]}
    ).json()
    assert [g["id"] for g in api.get(f"/users/{user['id']}/groups").json()] == [group["id"]]


def test_a_user_is_found_by_id_by_login_in_any_case_and_me_is_the_caller(
    workforce: Workforce,
) -> None:
    """Okta's paths take an id or a login; ``me`` is the token's user."""
    api = workforce.api()
    user = new_user(api, "ada@example.com")
    assert api.get(f"/users/{user['id']}").json()["id"] == user["id"]
    assert api.get("/users/Ada@Example.com").json()["id"] == user["id"]
    assert api.get("/users/me").json()["profile"]["login"] == "admin@acme.example"
    missing = api.get("/users/00unothere")
    assert missing.status_code == 404
    assert okta_error(missing, "E0000007")["errorSummary"] == (
        "Not found: Resource not found: 00unothere (User)"
    )


def test_a_partial_update_merges_the_profile_and_a_replace_drops_what_is_left_out(
    workforce: Workforce,
) -> None:
    """POST changes only what it names; PUT replaces the whole profile, as in Okta."""
    api = workforce.api()
    user = new_user(api, "ada@example.com", mobilePhone="555-0100", title="Countess")
    merged = api.post(
        f"/users/{user['id']}", json={"profile": {"title": "Analyst", "mobilePhone": None}}
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["profile"] == {
        "login": "ada@example.com",
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "title": "Analyst",
    }
    replaced = api.put(f"/users/{user['id']}", json={"profile": _profile("ada.l@example.com")})
    assert replaced.json()["profile"] == _profile("ada.l@example.com")
    assert api.get("/users/ada.l@example.com").status_code == 200
    incomplete = api.put(f"/users/{user['id']}", json={"profile": {"firstName": "A"}})
    assert incomplete.status_code == 400
    assert "login: The field cannot be left blank" in causes(incomplete)


def test_a_fetched_user_sent_back_whole_is_accepted(workforce: Workforce) -> None:
    """SDKs update by sending back the user they fetched; its read-only properties are ignored."""
    api = workforce.api()
    user = new_user(api)
    user["profile"]["nickName"] = "Ada"
    response = api.put(f"/users/{user['id']}", json=user)
    assert response.status_code == 200, response.text
    assert response.json()["profile"]["nickName"] == "Ada"
    assert response.json()["status"] == "PROVISIONED"


def test_setting_a_password_activates_nothing_but_records_when_it_changed(
    workforce: Workforce,
) -> None:
    """An admin-set password is kept hashed and dated; the status stays."""
    api = workforce.api()
    user = new_user(api)
    updated = api.post(
        f"/users/{user['id']}", json={"credentials": {"password": {"value": "Longer-Pass-1"}}}
    ).json()
    assert updated["passwordChanged"] is not None
    assert updated["credentials"]["password"] == {}


def test_the_lifecycle_follows_okta_transitions(workforce: Workforce) -> None:
    """STAGED → activate → PROVISIONED → deactivate → DEPROVISIONED → activate, and so on."""
    api = workforce.api()
    user = new_user(api, activate=False)
    uid = user["id"]

    def status() -> str:
        value: str = api.get(f"/users/{uid}").json()["status"]
        return value

    assert api.post(f"/users/{uid}/lifecycle/activate").json() == {}
    assert status() == "PROVISIONED"
    assert api.post(f"/users/{uid}/lifecycle/reactivate").status_code == 200
    api.post(f"/users/{uid}", json={"credentials": {"password": {"value": "Longer-Pass-1"}}})
    assert api.post(f"/users/{uid}/lifecycle/deactivate").status_code == 200
    assert status() == "DEPROVISIONED"
    assert api.post(f"/users/{uid}/lifecycle/activate").status_code == 200
    assert status() == "ACTIVE"
    assert api.post(f"/users/{uid}/lifecycle/suspend").status_code == 200
    assert status() == "SUSPENDED"
    assert api.post(f"/users/{uid}/lifecycle/unsuspend").status_code == 200
    assert status() == "ACTIVE"


@pytest.mark.parametrize(
    ("operation", "code", "status"),
    [
        ("suspend", "E0000001", 400),
        ("unsuspend", "E0000001", 400),
        ("reactivate", "E0000001", 400),
    ],
)
def test_an_operation_the_status_does_not_allow_is_refused_saying_why(
    workforce: Workforce, operation: str, code: str, status: int
) -> None:
    """Refused transitions name the user's status and leave it unchanged."""
    api = workforce.api()
    user = new_user(api, activate=False)
    response = api.post(f"/users/{user['id']}/lifecycle/{operation}")
    assert response.status_code == status
    body = okta_error(response, code)
    assert "STAGED" in body["errorSummary"]
    assert api.get(f"/users/{user['id']}").json()["status"] == "STAGED"


def test_activating_an_active_user_is_e0000016(workforce: Workforce) -> None:
    """Okta's answer to activating an active user."""
    api = workforce.api()
    admin = api.get("/users/me").json()
    response = api.post(f"/users/{admin['id']}/lifecycle/activate")
    assert response.status_code == 403
    okta_error(response, "E0000016")


def test_a_deactivated_user_cannot_be_edited_until_activated(workforce: Workforce) -> None:
    """Okta's E0000038: a deactivated user's profile is frozen."""
    api = workforce.api()
    user = new_user(api)
    api.post(f"/users/{user['id']}/lifecycle/deactivate")
    response = api.post(f"/users/{user['id']}", json={"profile": {"title": "Gone"}})
    assert response.status_code == 403
    okta_error(response, "E0000038")


def test_deleting_a_user_first_deactivates_then_removes_them(workforce: Workforce) -> None:
    """Okta's two-step delete: the second DELETE of a deactivated user removes it for good."""
    api = workforce.api()
    user = new_user(api)
    assert api.delete(f"/users/{user['id']}").status_code == 204
    assert api.get(f"/users/{user['id']}").json()["status"] == "DEPROVISIONED"
    assert api.delete(f"/users/{user['id']}").status_code == 204
    assert api.get(f"/users/{user['id']}").status_code == 404


def test_an_admin_cannot_deactivate_suspend_or_delete_their_own_account(
    workforce: Workforce,
) -> None:
    """Otherwise the only admin of an org could lock everyone out of its admin API."""
    api = workforce.api()
    me = api.get("/users/me").json()["id"]
    for response in (
        api.post(f"/users/{me}/lifecycle/deactivate"),
        api.post(f"/users/{me}/lifecycle/suspend"),
        api.delete(f"/users/{me}"),
    ):
        assert response.status_code == 403
        okta_error(response, "E0000006")
    assert api.get("/users/me").json()["status"] == "ACTIVE"


def test_users_page_by_limit_and_after_with_okta_link_headers(workforce: Workforce) -> None:
    """``Link: <…>; rel="next"`` carries the cursor; following it pages through everyone once."""
    api = workforce.api()
    for n in range(4):
        new_user(api, f"user{n}@example.com")
    seen: list[str] = []
    url: str | None = "/users?limit=2"
    while url is not None:
        response = api.get(url)
        assert response.status_code == 200
        links = response.headers.get_list("link")
        assert any(link.endswith('rel="self"') for link in links)
        seen += [u["profile"]["login"] for u in response.json()]
        following = [link for link in links if link.endswith('rel="next"')]
        url = following[0].split(">")[0].removeprefix("<") if following else None
        if url is not None:
            assert "after=" in url
            assert url.startswith("http://localhost:8402/orgs/acme/api/v1/users?")
            url = url.removeprefix("http://localhost:8402/orgs/acme/api/v1")
    assert seen == [
        "admin@acme.example",
        "user0@example.com",
        "user1@example.com",
        "user2@example.com",
        "user3@example.com",
    ]


def test_a_limit_below_one_is_refused_and_above_the_maximum_is_lowered(
    workforce: Workforce,
) -> None:
    """``limit`` is at least 1; above 200 it is lowered to 200, as in Okta."""
    api = workforce.api()
    assert api.get("/users?limit=0").status_code == 400
    assert causes(api.get("/users?limit=0")) == ["limit: The limit must be at least 1"]
    links = api.get("/users?limit=5000").headers.get_list("link")
    assert 'limit=200>; rel="self"' in links[0]
    assert api.get("/users?limit=many").status_code == 400


def test_filter_and_search_select_users_by_status_and_profile(workforce: Workforce) -> None:
    """``filter``, ``search`` and ``q``; deactivated users only when asked for."""
    api = workforce.api()
    new_user(api, "ada@example.com", department="Engineering")
    new_user(api, "staged@example.com", activate=False, lastName="Babbage")
    gone = new_user(api, "gone@example.com")
    api.post(f"/users/{gone['id']}/lifecycle/deactivate")

    def logins(query: str) -> list[str]:
        response = api.get("/users", params=query and dict([query.split("=", 1)]))
        assert response.status_code == 200, response.text
        return sorted(u["profile"]["login"] for u in response.json())

    assert logins('filter=status eq "STAGED"') == ["staged@example.com"]
    assert logins('filter=profile.login eq "ADA@example.com"') == ["ada@example.com"]
    assert logins('search=profile.department eq "engineering"') == ["ada@example.com"]
    assert logins('search=status eq "DEPROVISIONED"') == ["gone@example.com"]
    assert logins('search=profile.lastName sw "bab" or profile.firstName eq "org"') == [
        "admin@acme.example",
        "staged@example.com",
    ]
    assert logins("q=bab") == ["staged@example.com"]
    assert "gone@example.com" not in logins("")
    created = api.get("/users/ada@example.com").json()["created"]
    assert "ada@example.com" in logins(f'filter=lastUpdated ge "{created}"')


@pytest.mark.parametrize(
    ("query", "cause"),
    [
        ({"filter": 'status eq "ACTIVE" and'}, "filter: the expression ends too early"),
        ({"filter": 'profile.title eq "x"'}, "filter: profile.title cannot be searched on"),
        ({"search": 'id sw "00u"'}, "search: the operator sw is not supported on id"),
        ({"search": 'created gt "yesterday"'}, "search: created: 'yesterday' is not a date"),
    ],
)
def test_a_bad_filter_or_search_is_e0000031_naming_the_parameter(
    workforce: Workforce, query: dict[str, str], cause: str
) -> None:
    """Syntax, unknown attributes, wrong operators and bad dates, named."""
    response = workforce.api().get("/users", params=query)
    assert response.status_code == 400
    assert okta_error(response, "E0000031")["errorSummary"] == "Invalid search criteria."
    assert causes(response)[0].startswith(cause)


def test_every_user_write_lands_in_the_system_log(workforce: Workforce) -> None:
    """Create, activate, update and deactivate are each one event, in order."""
    api = workforce.api()
    user = new_user(api)
    api.post(f"/users/{user['id']}", json={"profile": {"title": "Countess"}})
    api.post(f"/users/{user['id']}/lifecycle/deactivate")
    events = [
        e["eventType"]
        for e in api.get("/logs", params={"filter": f'target.id eq "{user["id"]}"'}).json()
    ]
    assert events == [
        "user.lifecycle.create",
        "user.lifecycle.activate",
        "user.account.update_profile",
        "user.lifecycle.deactivate",
    ]


def test_the_database_keeps_the_login_as_given_and_a_lower_case_key(workforce: Workforce) -> None:
    """The login keeps its case for display; uniqueness uses the lower-case key."""
    new_user(workforce.api(), "Mixed.Case@Example.com")
    with workforce.runtime.sessions() as session:
        row = session.scalars(
            select(UserRow).where(UserRow.login == "Mixed.Case@Example.com")
        ).one()
        assert row.login_key == "mixed.case@example.com"
