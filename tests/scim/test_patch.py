"""SCIM PATCH (RFC 7644 §3.5.2) in the shapes Okta and Microsoft Entra send."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scim2_models import Context

from expressway.scim.errors import ScimError
from expressway.scim.patch import apply_patch, read_patch
from expressway.scim.resources import POLICY, GroupResource, UserResource

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USERS_URL = "https://tenant.example/scim/v2/connections/con_1/Users"


def user(**extra: Any) -> UserResource:
    return UserResource.model_validate(
        {
            "id": "u1",
            "userName": "bjensen@example.com",
            "active": True,
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
            **extra,
        },
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
        scim_policy=POLICY,
    )


def group(*member_ids: str) -> GroupResource:
    return GroupResource.model_validate(
        {"id": "g1", "displayName": "Eng", "members": [{"value": m} for m in member_ids]},
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
        scim_policy=POLICY,
    )


def patched(resource: Any, *operations: dict[str, Any]) -> bool:
    model = type(resource)
    return apply_patch(
        read_patch(model, {"schemas": [PATCH], "Operations": list(operations)}, USERS_URL),
        resource,
    )


def test_oktas_pathless_replace_deactivates() -> None:
    """Okta deactivates with ``{"op": "replace", "value": {"active": false}}``."""
    resource = user()
    assert patched(resource, {"op": "replace", "value": {"active": False}})
    assert resource.active is False


@pytest.mark.parametrize("op", ["Replace", "REPLACE", "replace"])
def test_entras_mixed_case_op_and_string_boolean_are_understood(op: str) -> None:
    """Entra sends ``"op": "Replace"`` and ``"value": "False"`` (Entra's SCIM guidance)."""
    resource = user()
    assert patched(resource, {"op": op, "path": "active", "value": "False"})
    assert resource.active is False


def test_entras_work_email_path_replaces_the_work_email() -> None:
    """``emails[type eq "work"].value`` targets the work address (RFC 7644 §3.5.2.3)."""
    resource = user()
    assert patched(
        resource,
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "b@example.com"},
    )
    assert [str(e.value) for e in resource.emails or []] == ["b@example.com"]


def test_entras_work_email_path_adds_a_work_email_when_there_is_none() -> None:
    """Entra adds through the same path when the user has no work address yet."""
    resource = user(emails=[{"value": "home@example.com", "type": "home"}])
    assert patched(
        resource, {"op": "Add", "path": 'emails[type eq "work"].value', "value": "w@example.com"}
    )
    assert {(str(e.value), e.type) for e in resource.emails or []} == {
        ("home@example.com", "home"),
        ("w@example.com", "work"),
    }


def test_entras_bare_manager_id_gets_its_reference() -> None:
    """Entra sends the manager as a bare id; RFC 7643 §4.3 requires ``$ref``."""
    resource = user()
    assert patched(resource, {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "m1"})
    dumped = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    assert dumped[ENTERPRISE]["manager"] == {"value": "m1", "$ref": f"{USERS_URL}/m1"}


def test_a_member_is_removed_by_value_filter() -> None:
    """Okta removes with ``members[value eq "…"]`` (RFC 7644 §3.5.2.2)."""
    resource = group("a", "b")
    assert patched(resource, {"op": "remove", "path": 'members[value eq "a"]'})
    assert [m.value for m in resource.members or []] == ["b"]


def test_entra_removes_members_named_in_the_value() -> None:
    """Entra names the members to remove in ``value``."""
    resource = group("a", "b", "c")
    assert patched(resource, {"op": "Remove", "path": "members", "value": [{"value": "b"}]})
    assert [m.value for m in resource.members or []] == ["a", "c"]


def test_an_empty_members_replace_empties_the_group() -> None:
    """Okta clears a group with ``replace`` of ``members`` by ``[]``."""
    resource = group("a", "b")
    assert patched(resource, {"op": "replace", "path": "members", "value": []})
    assert not resource.members


def test_a_pathless_replace_with_the_groups_own_id_renames_it() -> None:
    """Okta renames with ``{"op": "replace", "value": {"id": …, "displayName": …}}``."""
    resource = group("a")
    assert patched(resource, {"op": "replace", "value": {"id": "g1", "displayName": "R&D"}})
    assert resource.display_name == "R&D"


def test_a_patch_that_changes_nothing_says_so() -> None:
    """A no-op PATCH is not a change (RFC 7644 §3.5.2: the server answers 200)."""
    resource = user()
    assert not patched(resource, {"op": "replace", "path": "active", "value": True})


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "replace", "path": 'emails[type eq "work"', "value": "x"}, "invalidPath"),
        ({"op": "frobnicate", "path": "title", "value": "x"}, "invalidValue"),
        ({"op": "replace", "path": "id", "value": "other"}, "mutability"),
        ({"op": "remove"}, "noTarget"),
    ],
)
def test_a_bad_operation_names_its_fault(operation: dict[str, Any], scim_type: str) -> None:
    """Each fault has its RFC 7644 §3.12 keyword."""
    with pytest.raises(ScimError) as raised:
        patched(user(), operation)
    assert raised.value.status == 400
    assert raised.value.scim_type == scim_type


def test_a_body_that_is_not_a_patch_op_is_invalid_syntax() -> None:
    with pytest.raises(ScimError) as raised:
        read_patch(UserResource, {"Operations": []}, USERS_URL)
    assert raised.value.scim_type == "invalidSyntax"


@given(st.text(max_size=80))
def test_any_path_either_reads_or_is_a_scim_error(path: str) -> None:
    """No path makes PATCH fail outside the SCIM error schema."""
    body = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": path}]}
    refused: ScimError | None = None
    try:
        read_patch(UserResource, body, USERS_URL)
    except ScimError as error:
        refused = error
    assert refused is None or (refused.status == 400 and refused.scim_type)


@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
        min_size=1,
        max_size=40,
    )
)
def test_a_replaced_string_attribute_reads_back(value: str) -> None:
    """``replace`` then read gives the value written (RFC 7644 §3.5.2.3)."""
    resource = user()
    patched(resource, {"op": "replace", "path": "title", "value": value})
    assert resource.title == value
    patched(resource, {"op": "replace", "path": f"{ENTERPRISE}:department", "value": value})
    dumped = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    assert dumped[ENTERPRISE]["department"] == value
