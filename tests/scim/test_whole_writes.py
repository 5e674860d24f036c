"""A creation or replacement payload is read as scim2-models read it in that request's context
(RFC 7643 §2.4, §2.5 and §7: required attributes, one ``primary`` item, read-only attributes
ignored), though :func:`read_resource` applies those rules itself after a plain validation.

Each generated payload is read both ways: the same resource, or the same refusal in the same
words."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scim2_models import BaseModel as ScimModel
from scim2_models import Context, EnterpriseUser, SCIMException

from expressway.scim.errors import ScimError, invalid_value
from expressway.scim.resources import (
    POLICY,
    GroupResource,
    UserResource,
    complete_user_payload,
    read_resource,
    stored_form,
)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USERS_URL = "https://tenant.example/scim/v2/connections/con_1/Users"
WHOLE_WRITES = [Context.RESOURCE_CREATION_REQUEST, Context.RESOURCE_REPLACEMENT_REQUEST]

text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=0, max_size=8)


def rarely(wrong: st.SearchStrategy[Any], right: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``right`` about eleven times in twelve, else ``wrong``: most payloads are read, and the
    others are refused for one reason or another."""
    return st.sampled_from(range(12)).flatmap(lambda n: wrong if n == 0 else right)


#: A string, now and then nothing or a value of the wrong type.
loose = rarely(st.one_of(st.none(), st.integers(), st.just([])), text)
email = rarely(st.sampled_from(["not an e-mail", None]), st.just("bjensen@example.com"))
primary = rarely(st.sampled_from([None, "yes"]), st.booleans())


def spelt(name: str) -> st.SearchStrategy[str]:
    """An attribute's name as a peer may spell it (RFC 7643 §2.1: case does not matter)."""
    return st.sampled_from([name, name.lower(), name.upper()])


def attribute(name: str, value: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Maybe the attribute, under some spelling."""
    return st.one_of(st.just({}), st.builds(lambda key, v: {key: v}, spelt(name), value))


def items(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.fixed_dictionaries({}, optional=fields), max_size=3)


meta = st.fixed_dictionaries(
    {},
    optional={
        "resourceType": st.just("User"),
        "created": rarely(st.just("yesterday"), st.just("2026-01-02T03:04:05Z")),
        "location": st.just(f"{USERS_URL}/1"),
        "version": st.just('W/"1"'),
    },
)
manager = st.one_of(
    text,
    st.fixed_dictionaries(
        {}, optional={"value": loose, "$ref": st.just(f"{USERS_URL}/m"), "displayName": text}
    ),
)
user_parts = st.tuples(
    st.builds(
        lambda key, value: {key: value},
        spelt("userName"),
        rarely(loose, st.just("bjensen@example.com")),
    ),
    attribute("id", loose),
    attribute("meta", meta),
    attribute("externalId", loose),
    attribute("displayName", text),
    attribute("active", rarely(st.sampled_from([None, "maybe"]), st.booleans())),
    attribute("password", text),
    attribute("name", st.fixed_dictionaries({}, optional={"givenName": text, "familyName": loose})),
    attribute("emails", items({"value": email, "primary": primary, "type": text})),
    attribute("phoneNumbers", items({"value": text, "primary": primary})),
    attribute("roles", items({"value": text, "primary": primary})),
    attribute("x509Certificates", items({"value": st.just("TUlJ"), "primary": primary})),
    attribute("groups", items({"value": text, "display": text, "$ref": st.just("x")})),
    attribute(
        ENTERPRISE,
        st.fixed_dictionaries({}, optional={"employeeNumber": loose, "manager": manager}),
    ),
    attribute("favouriteColour", text),
)
group_parts = st.tuples(
    st.builds(
        lambda key, value: {key: value},
        spelt("displayName"),
        rarely(loose, st.just("Engineering")),
    ),
    attribute("id", loose),
    attribute("meta", meta),
    attribute("externalId", text),
    attribute("members", items({"value": text, "display": text, "type": st.just("User")})),
)


def user_payload(parts: tuple[dict[str, Any], ...], enterprise: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {"schemas": [USER, ENTERPRISE] if enterprise else [USER]}
    for part in parts:
        payload.update(part)
    return complete_user_payload(payload, USERS_URL)


def models_reading(model: type[Any], payload: dict[str, Any], context: Context) -> Any:
    """What scim2-models read, in the request's context, or how they refuse it (in the words
    :func:`read_resource` gives a refusal)."""
    try:
        return model.model_validate(payload, scim_ctx=context, scim_policy=POLICY)
    except ValidationError as exc:
        return ScimError.from_validation_error(exc)
    except SCIMException as exc:
        return ScimError.from_scim_exception(exc)
    except (TypeError, ValueError) as exc:
        return invalid_value(str(exc))


def our_reading(model: type[Any], payload: dict[str, Any], context: Context) -> Any:
    try:
        return read_resource(model, payload, context)
    except ScimError as exc:
        return exc


def state(value: Any) -> Any:
    """Everything an object of the models holds, down to its innermost values: its type, the
    attributes it was given and each field's value (an extension's own ``schemas`` left out:
    see :func:`expressway.scim.resources._read_whole_write`)."""
    if isinstance(value, list):
        return [state(item) for item in value]
    if not isinstance(value, ScimModel):
        return value
    fields = {name: state(getattr(value, name)) for name in type(value).model_fields}
    written = set(value.model_fields_set)
    if isinstance(value, EnterpriseUser):
        del fields["schemas"]
        written.discard("schemas")
    return (type(value).__name__, sorted(written), fields)


def assert_same_reading(model: type[Any], payload: dict[str, Any], context: Context) -> str:
    theirs = models_reading(model, payload, context)
    ours = our_reading(model, payload, context)
    if isinstance(theirs, ScimError):
        assert isinstance(ours, ScimError), payload
        assert (ours.status, ours.scim_type, ours.detail) == (
            theirs.status,
            theirs.scim_type,
            theirs.detail,
        )
        return "refused"
    assert not isinstance(ours, ScimError), (payload, ours.detail)
    assert state(ours) == state(theirs)
    assert stored_form(ours) == stored_form(theirs)
    assert ours.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, scim_policy=POLICY) == (
        theirs.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, scim_policy=POLICY)
    )
    return "read"


@settings(max_examples=400, deadline=None)
@given(user_parts, st.booleans(), st.sampled_from(WHOLE_WRITES))
def test_a_user_payload_is_read_as_the_models_read_it(
    parts: tuple[dict[str, Any], ...], enterprise: bool, context: Context
) -> None:
    assert_same_reading(UserResource, user_payload(parts, enterprise), context)


@settings(max_examples=200, deadline=None)
@given(group_parts, st.sampled_from(WHOLE_WRITES))
def test_a_group_payload_is_read_as_the_models_read_it(
    parts: tuple[dict[str, Any], ...], context: Context
) -> None:
    payload: dict[str, Any] = {"schemas": [GROUP]}
    for part in parts:
        payload.update(part)
    assert_same_reading(GroupResource, payload, context)


OKTA_USER = {
    "schemas": [USER, ENTERPRISE],
    "userName": "bjensen@example.com",
    "externalId": "00u1",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "bjensen@example.com", "primary": True, "type": "work"}],
    ENTERPRISE: {"manager": {"value": "m1"}},
    "active": True,
}


@pytest.mark.parametrize(
    ("change", "outcome", "detail"),
    [
        ({}, "read", None),
        # The models' rules, each broken once: the refusal is theirs.
        ({"userName": None}, "refused", "required"),
        ({"userName": []}, "refused", None),
        (
            {"emails": [{"value": "a@example.com", "primary": True}] * 2},
            "refused",
            "primary",
        ),
        ({ENTERPRISE: {"manager": {"$ref": f"{USERS_URL}/m1"}}}, "refused", "required"),
        # Read-only attributes, at the top and inside: ignored, not refused.
        ({"id": "chosen", "meta": {"resourceType": "User"}}, "read", None),
        ({"groups": [{"value": "g1", "display": "Admins"}]}, "read", None),
        ({ENTERPRISE: {"manager": {"value": "m1", "displayName": "Boss"}}}, "read", None),
    ],
)
@pytest.mark.parametrize("context", WHOLE_WRITES)
def test_each_rule_of_a_whole_write(
    change: dict[str, Any], outcome: str, detail: str | None, context: Context
) -> None:
    payload = complete_user_payload({**OKTA_USER, **change}, USERS_URL)
    assert assert_same_reading(UserResource, payload, context) == outcome
    if detail is not None:
        refusal = our_reading(UserResource, payload, context)
        assert detail in refusal.detail.lower()
    if outcome == "read":
        resource = read_resource(UserResource, payload, context)
        assert resource.id is None
        assert resource.meta is None
        assert resource.groups is None
        assert resource.EnterpriseUser.manager.display_name is None  # type: ignore[union-attr]
