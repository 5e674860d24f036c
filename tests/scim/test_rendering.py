"""A stored resource rendered without validating it again is the resource the models render
(RFC 7644 §3.4.1, §3.4.2), down to the order of its keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scim2_models import Context

from expressway.scim.resources import (
    POLICY,
    GroupResource,
    UserResource,
    complete_user_payload,
    meta,
    meta_values,
    read_resource,
    render,
    render_stored,
    stored_form,
)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BASE_URL = "https://tenant.example/scim/v2/connections/con_1"
CREATED = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
RESPONSES = [
    Context.RESOURCE_CREATION_RESPONSE,
    Context.RESOURCE_QUERY_RESPONSE,
    Context.RESOURCE_REPLACEMENT_RESPONSE,
    Context.RESOURCE_PATCH_RESPONSE,
    Context.SEARCH_RESPONSE,
]

text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=12)
optional_user_attributes = st.fixed_dictionaries(
    {},
    optional={
        "externalId": text,
        "displayName": text,
        "nickName": text,
        "title": text,
        "userType": text,
        "preferredLanguage": st.just("en-US"),
        "locale": st.just("fr-FR"),
        "timezone": st.just("Europe/Paris"),
        "active": st.booleans(),
        "password": text,
        "name": st.fixed_dictionaries(
            {}, optional={"givenName": text, "familyName": text, "formatted": text}
        ),
        # At most one primary e-mail (RFC 7643 §2.4).
        "emails": st.lists(
            st.fixed_dictionaries(
                {"value": st.just("bjensen@example.com")},
                optional={"type": st.sampled_from(["work", "home"])},
            ),
            max_size=2,
        ).map(lambda emails: [{**e, "primary": not i} for i, e in enumerate(emails)]),
        "phoneNumbers": st.lists(
            st.fixed_dictionaries({"value": st.just("+1 555 0100")}, optional={"type": text}),
            max_size=2,
        ),
        "addresses": st.lists(
            st.fixed_dictionaries(
                {}, optional={"streetAddress": text, "locality": text, "country": st.just("FR")}
            ),
            max_size=1,
        ),
        "roles": st.lists(st.fixed_dictionaries({"value": text}), max_size=2),
        "entitlements": st.lists(st.fixed_dictionaries({"value": text}), max_size=1),
        ENTERPRISE: st.fixed_dictionaries(
            {},
            optional={
                "employeeNumber": text,
                "department": text,
                "manager": st.fixed_dictionaries({"value": text}),
            },
        ),
        "urn:example:custom:2.0:User": st.just({"badge": "42"}),
        "favouriteColour": text,
    },
)
memberships = st.lists(st.tuples(st.uuids(), text), max_size=3)


def user_resource(attributes: dict[str, Any]) -> UserResource:
    schemas = [USER, ENTERPRISE] if ENTERPRISE in attributes else [USER]
    payload = {"schemas": schemas, "userName": "bjensen@example.com", **attributes}
    return read_resource(
        UserResource,
        complete_user_payload(payload, f"{BASE_URL}/Users"),
        Context.RESOURCE_CREATION_REQUEST,
    )


def stored_user(attributes: dict[str, Any]) -> dict[str, Any]:
    return stored_form(user_resource(attributes))


def kind_name(model: type[UserResource] | type[GroupResource]) -> str:
    return "User" if model is UserResource else "Group"


def validated(
    model: type[UserResource] | type[GroupResource],
    stored: dict[str, Any],
    related: str,
    items: list[dict[str, Any]],
    context: Context,
) -> dict[str, Any]:
    """What the models render: the stored payload validated again, as the tenant reads it."""
    data: dict[str, Any] = {**stored, "id": "s1"}
    if items:
        data[related] = items
    resource = model.model_validate(
        data, scim_ctx=Context.RESOURCE_QUERY_RESPONSE, scim_policy=POLICY
    )
    resource.meta = meta(kind_name(model), CREATED, CREATED + timedelta(seconds=1), "loc", 7)
    return render(resource, context)


def fast(
    model: type[UserResource] | type[GroupResource],
    stored: dict[str, Any],
    related: str,
    items: list[dict[str, Any]],
) -> dict[str, Any] | None:
    values = meta_values(kind_name(model), CREATED, CREATED + timedelta(seconds=1), "loc", 7)
    return render_stored(model, stored, "s1", values, related, items)


def group_of_user(group_id: str, display: str) -> dict[str, Any]:
    """A user's group as the tenant makes it (``display``, then ``type``, after ``$ref``)."""
    return {
        "value": group_id,
        "$ref": f"{BASE_URL}/Groups/{group_id}",
        "display": display,
        "type": "direct",
    }


@settings(max_examples=150, deadline=None)
@given(optional_user_attributes, memberships)
def test_a_stored_user_renders_as_the_models_render_it(
    attributes: dict[str, Any], groups: list[tuple[Any, str]]
) -> None:
    """Every response context: the same keys, values and order as validation then dump."""
    stored = stored_user(attributes)
    items = [group_of_user(group_id.hex, display) for group_id, display in groups]
    body = fast(UserResource, stored, "groups", items)
    assert body is not None
    for context in RESPONSES:
        assert json.dumps(body) == json.dumps(
            validated(UserResource, stored, "groups", items, context)
        )


def _as_a_response_dumps_it(resource: UserResource | GroupResource) -> dict[str, Any]:
    """The stored form's definition: the resource as a response dumps it, without what the
    server computes."""
    dumped = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, scim_policy=POLICY)
    for computed in ("id", "meta", "groups", "members"):
        dumped.pop(computed, None)
    return dumped


@settings(max_examples=150, deadline=None)
@given(optional_user_attributes)
def test_the_stored_form_of_a_user_is_its_response_dump(attributes: dict[str, Any]) -> None:
    """The plain dump with what a response never returns unasked taken out (the password) is
    the response's dump, key for key and in the same order."""
    resource = user_resource(attributes)
    stored = stored_form(resource)
    assert json.dumps(stored) == json.dumps(_as_a_response_dumps_it(resource))
    assert "password" not in stored


def test_the_stored_form_of_a_group_is_its_response_dump() -> None:
    resource = read_resource(
        GroupResource,
        {
            "schemas": [GROUP],
            "displayName": "Engineering",
            "externalId": "eng",
            "members": [{"value": "u1", "type": "User"}],
        },
        Context.RESOURCE_CREATION_REQUEST,
    )
    assert stored_form(resource) == _as_a_response_dumps_it(resource)
    assert stored_form(resource) == {
        "schemas": [GROUP],
        "externalId": "eng",
        "displayName": "Engineering",
    }


@settings(max_examples=50, deadline=None)
@given(
    st.fixed_dictionaries({}, optional={"externalId": text}),
    st.lists(st.tuples(st.uuids(), st.none() | text), max_size=3),
)
def test_a_stored_group_renders_as_the_models_render_it(
    attributes: dict[str, Any], members: list[tuple[Any, str | None]]
) -> None:
    """A group's members in the tenant's shape (``type`` before an optional ``display``)."""
    resource = read_resource(
        GroupResource,
        {"schemas": [GROUP], "displayName": "Engineering", **attributes},
        Context.RESOURCE_CREATION_REQUEST,
    )
    stored = stored_form(resource)
    items = [
        {
            "value": member.hex,
            "$ref": f"{BASE_URL}/Users/{member.hex}",
            "type": "User",
            **({"display": display} if display is not None else {}),
        }
        for member, display in members
    ]
    body = fast(GroupResource, stored, "members", items)
    assert body is not None
    for context in RESPONSES:
        assert json.dumps(body) == json.dumps(
            validated(GroupResource, stored, "members", items, context)
        )


@pytest.mark.parametrize(
    ("stored", "items"),
    [
        ({"schemas": [USER], "userName": "a", "nickname_typo": "x"}, []),
        ({"schemas": [USER], "userName": "a", "id": "other"}, []),
        ({"schemas": [USER], "userName": "a", "meta": {}}, []),
        ({"schemas": [USER], "userName": "a", "groups": [{"value": "g"}]}, []),
        ({"schemas": [USER], "userName": "a"}, [{"value": "g", "colour": "red"}]),
        ({"schemas": [USER], "userName": "a"}, [{"value": "g", "display": None}]),
    ],
)
def test_a_payload_not_in_the_stored_form_is_left_to_the_models(
    stored: dict[str, Any], items: list[dict[str, Any]]
) -> None:
    """What ``stored_form`` never writes is not rendered without validation."""
    assert fast(UserResource, stored, "groups", items) is None
