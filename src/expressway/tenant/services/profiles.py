"""Connection profiles and user attribute profiles: how Express Configuration shapes the
connections it makes, and how upstream user attributes map onto the tenant's users.

Both kinds come with templates, read-only starting points a developer copies into a profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expressway import ids
from expressway.tenant.errors import Conflict, InvalidInput, NotFound
from expressway.tenant.rows import ConnectionProfileRow, UserAttributeProfileRow

CONNECTION_PROFILE_FEATURES = ("scim", "universal_logout")
DEFAULT_PREFIX_TEMPLATE = "con-{org_id}-"
PREFIX_VARIABLE = "{org_id}"
DEFAULT_ORGANIZATION = {"show_as_button": "none", "assign_membership_on_login": "none"}
DEFAULT_USER_ID = {
    "oidc_mapping": "sub",
    "saml_mapping": ["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier"],
    "scim_mapping": "externalId",
}

_VARIABLE = re.compile(r"\{([^{}]*)\}")
_PREFIX_LITERAL = re.compile(r"[A-Za-z0-9-]*")


@dataclass(frozen=True)
class Template:
    id: str
    display_name: str
    template: dict[str, Any]


CONNECTION_PROFILE_TEMPLATES = (
    Template(
        id="cpt_okta_express_configuration",
        display_name="Okta Express Configuration",
        template={
            "name": "Okta Express Configuration",
            # Members who sign in through their company's IdP become members of its organization,
            # and the organization's login page offers that IdP as a button.
            "organization": {
                "show_as_button": "required",
                "assign_membership_on_login": "required",
            },
            "connection_name_prefix_template": DEFAULT_PREFIX_TEMPLATE,
            "enabled_features": ["scim", "universal_logout"],
            "connection_config": {},
            "strategy_overrides": {"okta": {"enabled_features": ["scim", "universal_logout"]}},
        },
    ),
)


def _attribute(
    label: str,
    description: str,
    auth0: str,
    oidc: str,
    scim: str,
    *,
    required: bool = False,
) -> dict[str, Any]:
    return {
        "description": description,
        "label": label,
        "profile_required": required,
        "auth0_mapping": auth0,
        "oidc_mapping": {"mapping": oidc, "display_name": label},
        "scim_mapping": scim,
    }


USER_ATTRIBUTE_PROFILE_TEMPLATES = (
    Template(
        id="uapt_okta_oidc_scim",
        display_name="Okta Workforce (OpenID Connect and SCIM)",
        template={
            "name": "Okta Workforce (OpenID Connect and SCIM)",
            "user_id": {"oidc_mapping": "sub", "scim_mapping": "externalId"},
            "user_attributes": {
                "email": _attribute(
                    "Email",
                    "The user's primary e-mail address",
                    "email",
                    "email",
                    "emails[primary eq true].value",
                    required=True,
                ),
                "username": _attribute(
                    "Username",
                    "The user's login name at the IdP",
                    "username",
                    "preferred_username",
                    "userName",
                ),
                "name": _attribute("Name", "The user's full name", "name", "name", "displayName"),
                "given_name": _attribute(
                    "First name",
                    "The user's given name",
                    "given_name",
                    "given_name",
                    "name.givenName",
                ),
                "family_name": _attribute(
                    "Last name",
                    "The user's family name",
                    "family_name",
                    "family_name",
                    "name.familyName",
                ),
                "nickname": _attribute(
                    "Nickname", "The name the user goes by", "nickname", "nickname", "nickName"
                ),
            },
        },
    ),
)


def find_template(templates: tuple[Template, ...], template_id: str) -> Template:
    for template in templates:
        if template.id == template_id:
            return template
    raise NotFound(f"No template found by that id: {template_id}", code="inexistent_template")


# --- Both kinds ---

ProfileT = TypeVar("ProfileT", ConnectionProfileRow, UserAttributeProfileRow)

_KIND: dict[type[ConnectionProfileRow | UserAttributeProfileRow], str] = {
    ConnectionProfileRow: "connection profile",
    UserAttributeProfileRow: "user attribute profile",
}


def find(session: Session, model: type[ProfileT], profile_id: str) -> ProfileT:
    row = session.get(model, profile_id)
    if row is None:
        kind = _KIND[model]
        raise NotFound(
            f"No {kind} found by that id: {profile_id}",
            code=f"inexistent_{kind.replace(' ', '_')}",
        )
    return row


def remove(session: Session, row: ConnectionProfileRow | UserAttributeProfileRow) -> None:
    session.delete(row)
    session.flush()


def _name_taken(model: type[ConnectionProfileRow | UserAttributeProfileRow], name: str) -> Conflict:
    return Conflict(f"A {_KIND[model]} with the same name already exists: {name}")


def _check_unique_name(
    session: Session, model: type[ConnectionProfileRow | UserAttributeProfileRow], name: str
) -> None:
    """``Conflict`` when another profile of the kind has ``name`` in any case.

    Compared here rather than with SQL's ``lower()``, which SQLite applies to ASCII letters
    only: a name such as "Ñandú" would not find itself, and the insert would then break the
    column's unique constraint. A tenant has a handful of profiles."""
    wanted = name.casefold()
    if any(taken.casefold() == wanted for taken in session.scalars(select(model.name))):
        raise _name_taken(model, name)


def _flush_named(
    session: Session, model: type[ConnectionProfileRow | UserAttributeProfileRow], name: str
) -> None:
    """Flush, turning a name taken meanwhile by a concurrent request into the same 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise _name_taken(model, name) from exc


# --- Connection profiles ---


@dataclass
class ConnectionProfileSpec:
    """The writable fields of a connection profile; ``None`` means "not given"."""

    name: str | None = None
    organization: dict[str, str] | None = None
    connection_name_prefix_template: str | None = None
    enabled_features: list[str] | None = None
    connection_config: dict[str, Any] | None = None
    strategy_overrides: dict[str, dict[str, Any]] | None = None


def check_prefix_template(template: str) -> str:
    """A connection name prefix with ``{org_id}`` as its only variable, or ``InvalidInput``."""
    for variable in _VARIABLE.findall(template):
        if "{" + variable + "}" != PREFIX_VARIABLE:
            raise InvalidInput(
                f"connection_name_prefix_template: {{{variable}}} is not a known variable; "
                f"the only one is {PREFIX_VARIABLE}"
            )
    literal = template.replace(PREFIX_VARIABLE, "")
    if not _PREFIX_LITERAL.fullmatch(literal):
        raise InvalidInput(
            f"connection_name_prefix_template: {template!r} may hold only letters, digits, '-' "
            f"and {PREFIX_VARIABLE}"
        )
    if template.startswith("-") or "--" in template:
        raise InvalidInput(
            f"connection_name_prefix_template: {template!r} may not start with '-' or hold '--', "
            "which connection names do not allow"
        )
    return template


def render_connection_name_prefix(template: str, organization_id: str) -> str:
    """The prefix of the connections made for an organization.

    Organization ids hold an underscore (``org_…``) and connection names may not, so it becomes
    a hyphen.
    """
    return template.replace(PREFIX_VARIABLE, organization_id.replace("_", "-"))


def _check_features(field: str, features: list[str]) -> list[str]:
    for feature in features:
        if feature not in CONNECTION_PROFILE_FEATURES:
            raise InvalidInput(
                f"{field}: {feature!r} is not a feature; use any of "
                + ", ".join(CONNECTION_PROFILE_FEATURES)
            )
    return list(dict.fromkeys(features))


def _check_overrides(overrides: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    checked: dict[str, dict[str, Any]] = {}
    for strategy, override in overrides.items():
        checked[strategy] = dict(override)
        if "enabled_features" in override:
            checked[strategy]["enabled_features"] = _check_features(
                f"strategy_overrides.{strategy}.enabled_features", override["enabled_features"]
            )
    return checked


def _apply_connection_profile(
    session: Session, row: ConnectionProfileRow, spec: ConnectionProfileSpec
) -> None:
    if spec.name is not None and spec.name != row.name:
        _check_unique_name(session, ConnectionProfileRow, spec.name)
        row.name = spec.name
    if spec.organization is not None:
        # A behaviour left out is "none": the profile then neither offers nor forces it.
        row.organization = {**DEFAULT_ORGANIZATION, **spec.organization}
    if spec.connection_name_prefix_template is not None:
        row.connection_name_prefix_template = check_prefix_template(
            spec.connection_name_prefix_template
        )
    if spec.enabled_features is not None:
        row.enabled_features = _check_features("enabled_features", spec.enabled_features)
    if spec.connection_config is not None:
        row.connection_config = dict(spec.connection_config)
    if spec.strategy_overrides is not None:
        row.strategy_overrides = _check_overrides(spec.strategy_overrides)


def create_connection_profile(
    session: Session, now: datetime, spec: ConnectionProfileSpec
) -> ConnectionProfileRow:
    if spec.name is None:
        raise InvalidInput("Payload validation error: 'Missing required property: name'.")
    row = ConnectionProfileRow(
        id=ids.prefixed_id("cop"),
        name="",
        organization=dict(DEFAULT_ORGANIZATION),
        connection_name_prefix_template=DEFAULT_PREFIX_TEMPLATE,
        enabled_features=[],
        connection_config={},
        strategy_overrides={},
        created_at=now,
        updated_at=now,
    )
    _apply_connection_profile(session, row, spec)
    session.add(row)
    _flush_named(session, ConnectionProfileRow, row.name)
    return row


def update_connection_profile(
    session: Session, now: datetime, row: ConnectionProfileRow, spec: ConnectionProfileSpec
) -> ConnectionProfileRow:
    _apply_connection_profile(session, row, spec)
    row.updated_at = now
    _flush_named(session, ConnectionProfileRow, row.name)
    return row


# --- User attribute profiles ---


@dataclass
class UserAttributeProfileSpec:
    """The writable fields of a user attribute profile; ``None`` means "not given"."""

    name: str | None = None
    user_id: dict[str, Any] | None = None
    user_attributes: dict[str, dict[str, Any]] | None = None


def _check_attributes(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    mapped: dict[str, str] = {}
    for name, attribute in attributes.items():
        target = attribute["auth0_mapping"]
        if target in mapped:
            raise InvalidInput(
                f"user_attributes.{name}.auth0_mapping: {target!r} is already the mapping of "
                f"{mapped[target]}"
            )
        mapped[target] = name
    return {name: dict(attribute) for name, attribute in attributes.items()}


def _apply_user_attribute_profile(
    session: Session, row: UserAttributeProfileRow, spec: UserAttributeProfileSpec
) -> None:
    if spec.name is not None and spec.name != row.name:
        _check_unique_name(session, UserAttributeProfileRow, spec.name)
        row.name = spec.name
    if spec.user_id is not None:
        row.user_id = dict(spec.user_id)
    if spec.user_attributes is not None:
        row.user_attributes = _check_attributes(spec.user_attributes)


def create_user_attribute_profile(
    session: Session, now: datetime, spec: UserAttributeProfileSpec
) -> UserAttributeProfileRow:
    if spec.name is None:
        raise InvalidInput("Payload validation error: 'Missing required property: name'.")
    if spec.user_attributes is None:
        raise InvalidInput(
            "Payload validation error: 'Missing required property: user_attributes'."
        )
    row = UserAttributeProfileRow(
        id=ids.prefixed_id("uap"),
        name="",
        user_id=dict(DEFAULT_USER_ID),
        user_attributes={},
        created_at=now,
        updated_at=now,
    )
    _apply_user_attribute_profile(session, row, spec)
    session.add(row)
    _flush_named(session, UserAttributeProfileRow, row.name)
    return row


def update_user_attribute_profile(
    session: Session, now: datetime, row: UserAttributeProfileRow, spec: UserAttributeProfileSpec
) -> UserAttributeProfileRow:
    _apply_user_attribute_profile(session, row, spec)
    row.updated_at = now
    _flush_named(session, UserAttributeProfileRow, row.name)
    return row
