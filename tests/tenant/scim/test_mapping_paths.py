"""A SCIM configuration's mapping reads each path of a provisioned User as scim2-models'
``Path.get`` does (its first value for a multi-valued one), whatever shortcut reads it; and a
mapping, compiled once, maps what its items read one by one."""

from __future__ import annotations

from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from scim2_models import Context, EnterpriseUser, SCIMException
from scim2_models import Path as ScimPath

from expressway.scim.resources import ENTERPRISE_URN, USER_URN, UserResource, read_resource
from expressway.tenant.services import scim_users
from expressway.tenant.services.connections import DEFAULT_SCIM_MAPPING
from expressway.tenant.services.scim_users import _value_at

FULL = {
    "schemas": [USER_URN, ENTERPRISE_URN],
    "userName": "bjensen@example.com",
    "externalId": "00ubjensen",
    "name": {
        "formatted": "Ms. Barbara J Jensen III",
        "familyName": "Jensen",
        "givenName": "Barbara",
        "middleName": "Jane",
        "honorificPrefix": "Ms.",
        "honorificSuffix": "III",
    },
    "displayName": "Babs Jensen",
    "nickName": "Babs",
    "profileUrl": "https://login.example.com/bjensen",
    "title": "Tour Guide",
    "userType": "Employee",
    "preferredLanguage": "en-US",
    "locale": "en-US",
    "timezone": "America/Los_Angeles",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "phoneNumbers": [{"value": "555-555-5555", "type": "work", "primary": True}],
    "photos": [{"value": "https://photos.example.com/bjensen.jpg", "type": "photo"}],
    "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "country": "US"}],
    ENTERPRISE_URN: {
        "employeeNumber": "701984",
        "department": "Tour Operations",
        "manager": {
            "value": "00umanager",
            "$ref": "https://tenant.example.com/scim/v2/Users/00umanager",
            "displayName": "John Smith",
        },
    },
}
SPARSE = {"schemas": [USER_URN], "userName": "sparse@example.com", "name": {"givenName": "S"}}
#: Primary values as IdPs send them: last of several, one without a value, none among several.
PRIMARIES = {
    "schemas": [USER_URN],
    "userName": "primaries@example.com",
    "emails": [
        {"value": "first@example.com", "primary": False},
        {"value": "second@example.com", "type": "home"},
        {"type": "work", "primary": True},
    ],
    "phoneNumbers": [{"value": "555-0100"}, {"value": "555-0101", "primary": False}],
}


def _core_paths() -> list[str]:
    """Every core attribute, and every sub-attribute of the complex ones, in three cases."""
    paths = []
    for name, field in UserResource.model_fields.items():
        alias = str(field.serialization_alias or name)
        if alias.startswith("urn:"):
            continue
        paths.append(alias)
        item = UserResource.get_field_root_type(name)
        if isinstance(item, type) and issubclass(item, BaseModel):
            for sub_name, sub in item.model_fields.items():
                paths.append(f"{alias}.{sub.serialization_alias or sub_name}")
    return [variant for path in paths for variant in (path, path.lower(), path.upper())]


def _extension_paths() -> list[str]:
    """Every attribute of the enterprise extension, and the manager's sub-attributes, by URN."""
    paths = [f"{ENTERPRISE_URN}:manager.value", f"{ENTERPRISE_URN}:manager.displayName"]
    for name, field in EnterpriseUser.model_fields.items():
        if name not in ("schemas",):
            paths.append(f"{ENTERPRISE_URN}:{field.serialization_alias or name}")
    return [variant for path in paths for variant in (path, path.lower(), path.upper())]


PATHS = sorted(
    {
        *_core_paths(),
        *_extension_paths(),
        *(item["scim"] for item in DEFAULT_SCIM_MAPPING),
        f"{USER_URN}:userName",
        f"{ENTERPRISE_URN}:department",
        f"{ENTERPRISE_URN}:nothing",
        f"{ENTERPRISE_URN}.department",
        f" {ENTERPRISE_URN}:department",
        "name.nothing",
        "nothing",
        "name.givenName.more",
        "emails[type eq 'work'",
        "Emails[Primary EQ True].Value",
        "emails[ primary eq TRUE ].type",
        "emails[primary eq false].value",
        "emails[primary eq true].nothing",
        "addresses[primary eq true].country",
        "photos[primary eq true].value",
        "name[primary eq true].givenName",
        "nothing[primary eq true].value",
    }
)


def _expected(resource: UserResource, path: str) -> Any:
    try:
        value = cast(Any, ScimPath)[UserResource](path).get(resource)
    except (SCIMException, ValueError, TypeError, AttributeError, LookupError):
        return None
    if isinstance(value, list):
        return value[0] if value else None
    return value


@pytest.mark.parametrize("payload", [FULL, SPARSE, PRIMARIES], ids=["full", "sparse", "primaries"])
def test_every_path_reads_what_scim2_models_reads(payload: dict[str, Any]) -> None:
    resource = read_resource(UserResource, payload, Context.RESOURCE_CREATION_REQUEST)
    for path in PATHS:
        assert _value_at(resource, path) == _expected(resource, path), path


#: Items a stored mapping may hold beside the default's: targets that map nothing, values that
#: are not strings, items that are not objects, and a second item for a target already mapped.
ODD_ITEMS: list[Any] = [
    {"auth0": "given_name", "scim": "nickName"},
    {"auth0": "app_metadata.title", "scim": "displayName"},
    {"auth0": "app_metadata.", "scim": "title"},
    {"auth0": "app_metadata.flag", "scim": "active"},
    {"auth0": "app_metadata.when", "scim": "meta.created"},
    {"auth0": "app_metadata.manager", "scim": f"{ENTERPRISE_URN}:manager"},
    {"auth0": "user_metadata.title", "scim": "title"},
    {"auth0": "blocked", "scim": "active"},
    {"auth0": "email", "scim": "nothing"},
    {"auth0": 7, "scim": "title"},
    {"auth0": "nickname", "scim": None},
    {"scim": "title"},
    ["nickname", "title"],
    "nickname",
]


def _profile_as_read_item_by_item(
    resource: UserResource, mapping: list[Any], app_metadata: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The mapped columns and ``app_metadata`` as the mapping reads, one item after another,
    every item read again (what the compiled mapping must give)."""
    columns: dict[str, Any] = {}
    metadata = dict(app_metadata)
    for item in mapping:
        if not isinstance(item, dict):
            continue
        target, source = item.get("auth0"), item.get("scim")
        if not isinstance(target, str) or not isinstance(source, str):
            continue
        value = _expected(resource, source)
        if target in scim_users._PROFILE_LENGTHS:
            columns[target] = scim_users._clean(target, value)
        elif target.startswith("app_metadata.") and target != "app_metadata.":
            scalar = scim_users._json_scalar(value)
            if scalar is None:
                metadata.pop(target.removeprefix("app_metadata."), None)
            else:
                metadata[target.removeprefix("app_metadata.")] = scalar
    return columns, metadata


@settings(max_examples=150, deadline=None)
@given(
    items=st.lists(st.sampled_from([*DEFAULT_SCIM_MAPPING, *ODD_ITEMS]), max_size=40),
    payload=st.sampled_from([FULL, SPARSE, PRIMARIES]),
    kept=st.dictionaries(st.sampled_from(["title", "flag", "mine", "city"]), st.text(max_size=3)),
)
def test_a_mapping_maps_what_its_items_read_one_by_one(
    items: list[Any], payload: dict[str, Any], kept: dict[str, Any]
) -> None:
    resource = read_resource(UserResource, payload, Context.RESOURCE_CREATION_REQUEST)
    before = dict(kept)
    # A new list each time: the mapping is compiled once for its content, not its list object.
    profile = scim_users._profile(resource, [*items], kept)
    columns, metadata = _profile_as_read_item_by_item(resource, items, kept)
    assert profile["app_metadata"] == metadata
    assert kept == before  # the user's own app_metadata is copied, not changed
    for column, value in columns.items():
        # The e-mail, the name and the nickname fall back to other attributes when unmapped.
        if value is not None or column not in ("email", "name", "nickname"):
            assert profile[column] == value, column
