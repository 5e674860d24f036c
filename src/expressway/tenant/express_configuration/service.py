"""Express Configuration (SPEC §2.2): what the OIN's calls make in the tenant.

An admin of a customer organization, signed in through the OIN client, asks for SSO (an ``okta``
connection to their workforce IdP, in their organization) and then SCIM (provisioning for that
connection). Every prerequisite is checked first and every missing one is named at once
(:class:`Refused`); then the connection is made through the connections and organizations
services, so that their rules hold, in the caller's unit of work, so that a failure leaves
nothing half-made. Re-running with the same input changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from expressway.sealing import Sealer
from expressway.tenant.errors import InvalidInput
from expressway.tenant.rows import (
    EXPRESS_CONFIGURATION_ORGANIZATION_KEY,
    ClientRow,
    ConnectionProfileRow,
    ConnectionRow,
    OrganizationConnectionRow,
    OrganizationRow,
    ScimConfigurationRow,
    ScimTokenRow,
    UserAttributeProfileRow,
)
from expressway.tenant.services import connections, organizations, profiles
from expressway.tenant.services import express_configuration_causes as causes

#: Connection metadata that marks a connection as made by Express Configuration, and for whom:
#: it is how a re-run finds the connection again, whatever the profile's name template became.
ORGANIZATION_KEY = EXPRESS_CONFIGURATION_ORGANIZATION_KEY
ISSUER_KEY = "express_configuration_issuer"
UNIVERSAL_LOGOUT_KEY = "express_configuration_universal_logout"
#: Hex digits of the (organization, issuer) digest that end the connection's name.
NAME_SUFFIX_LENGTH = 8
#: An attribute taken from one ID token claim, in the syntax of ``attribute_map.attributes``.
_PROFILE_TEMPLATE = "${{context.tokenset.{claim}}}"


class Refused(Exception):
    """Prerequisites are missing: answered with SPEC §4.1's 403 naming every cause."""

    def __init__(self, causes: list[str]) -> None:
        super().__init__(" ".join(causes))
        self.causes = causes


@dataclass(frozen=True)
class Admin:
    """Who calls: the admin (``sub``), through the OIN client, for an organization."""

    subject: str
    client_id: str
    organization_id: str
    permissions: frozenset[str]


@dataclass(frozen=True)
class SsoRequest:
    issuer: str
    client_id: str
    client_secret: str
    universal_logout: bool


@dataclass
class SsoResult:
    connection: ConnectionRow
    organization: OrganizationRow
    initiate_login_uri: str
    domain_aliases: list[str]
    #: What this run changed, in order ("connection created", …); empty on a no-op re-run.
    steps: list[str] = field(default_factory=list)


@dataclass
class ScimResult:
    connection: ConnectionRow
    organization: OrganizationRow
    token: ScimTokenRow
    secret: str
    steps: list[str] = field(default_factory=list)


def _checked(
    session: Session, admin: Admin, needed: str, *, sso_connection_found: bool = True
) -> tuple[ClientRow, OrganizationRow]:
    organization = session.get(OrganizationRow, admin.organization_id)
    if organization is None:
        raise InvalidInput(f"The token's organization {admin.organization_id} does not exist")
    found, application = causes.api_causes(
        session,
        client_id=admin.client_id,
        user_id=admin.subject,
        organization_id=organization.id,
        permissions=admin.permissions,
        needed=needed,
    )
    if not sso_connection_found:
        found = causes.ordered([*found, causes.SSO_NOT_CONFIGURED])
    if found or application is None:
        raise Refused(found or [causes.APP_NOT_CONFIGURED])
    return application, organization


_ORGANIZATION_CONNECTIONS = (
    select(ConnectionRow)
    .where(
        # The metadata's ORGANIZATION_KEY, in its indexed column (ConnectionRow).
        ConnectionRow.express_configuration_organization_id == bindparam("organization_id"),
        ConnectionRow.strategy == "okta",
    )
    .order_by(ConnectionRow.created_at.desc(), ConnectionRow.id)
)


def organization_connections(session: Session, organization_id: str) -> list[ConnectionRow]:
    """The connections Express Configuration made for the organization, newest first."""
    return list(session.scalars(_ORGANIZATION_CONNECTIONS, {"organization_id": organization_id}))


def connection_name(template: str, organization_id: str, issuer: str) -> str:
    """The profile's prefix for the organization, then a digest of (organization, issuer): stable
    across re-runs, distinct for each IdP an organization configures."""
    digest = hashlib.sha256(f"{organization_id}\n{issuer}".encode()).hexdigest()
    prefix = profiles.render_connection_name_prefix(template, organization_id)
    return prefix + digest[:NAME_SUFFIX_LENGTH]


def render_login_uri(template: str, organization: OrganizationRow, connection: str) -> str:
    return (
        template.replace("{organization_name}", organization.name)
        .replace("{organization_id}", organization.id)
        .replace("{connection_name}", connection)
    )


def _attribute_map(profile: UserAttributeProfileRow | None) -> dict[str, Any]:
    """Copy the standard claims, and map each attribute whose upstream claim is not the one of
    its name (``username`` from ``preferred_username``) as the profile says."""
    attributes: dict[str, str] = {}
    for attribute in (profile.user_attributes if profile else {}).values():
        target = attribute.get("auth0_mapping")
        source = (attribute.get("oidc_mapping") or {}).get("mapping")
        if not isinstance(target, str) or not isinstance(source, str):
            continue
        if source.replace("_", "").isalnum():
            source = _PROFILE_TEMPLATE.format(claim=source)
        # Mapping a claim onto itself would only blank it when the ID token lacks it.
        if source != _PROFILE_TEMPLATE.format(claim=target):
            attributes[target] = source
    document: dict[str, Any] = {"mapping_mode": "basic_profile"}
    if attributes:
        document["attributes"] = attributes
    return document


def _offered(setting: Any) -> bool:
    return setting in ("required", "optional")


def configure_sso(
    session: Session, now: datetime, sealer: Sealer, admin: Admin, request: SsoRequest
) -> SsoResult:
    """Create or update the organization's ``okta`` connection to ``request.issuer``."""
    application, organization = _checked(session, admin, causes.SSO_PERMISSION)
    config = application.express_configuration or {}
    profile = session.get(ConnectionProfileRow, str(config.get("connection_profile_id")))
    attribute_profile = session.get(
        UserAttributeProfileRow, str(config.get("user_attribute_profile_id"))
    )
    template = (
        profile.connection_name_prefix_template if profile else profiles.DEFAULT_PREFIX_TEMPLATE
    )
    domains = (
        organizations.organization_domains(organization) if application.home_realm_discovery else []
    )
    options: dict[str, Any] = {
        "issuer": request.issuer,
        "client_id": request.client_id,
        "scope": connections.DEFAULT_SCOPE,
        "attribute_map": _attribute_map(attribute_profile),
    }
    if domains:
        options["domain_aliases"] = domains
    metadata: dict[str, str | None] = {
        ORGANIZATION_KEY: organization.id,
        ISSUER_KEY: request.issuer,
        UNIVERSAL_LOGOUT_KEY: "true" if request.universal_logout else "false",
    }
    steps: list[str] = []
    existing = [
        row
        for row in organization_connections(session, organization.id)
        if row.connection_metadata.get(ISSUER_KEY) == request.issuer
    ]
    if existing:
        row = existing[0]
        secret_changed = connections.read_client_secret(sealer, row) != request.client_secret
        if secret_changed:
            options["client_secret"] = request.client_secret
        wanted = connections.check_options(row.strategy, options)
        wanted.pop("client_secret", None)
        if wanted != row.options or secret_changed or row.connection_metadata != metadata:
            connections.update(
                session, sealer, row, connections.ConnectionSpec(options=options, metadata=metadata)
            )
            steps.append("connection updated")
    else:
        options["client_secret"] = request.client_secret
        row = connections.create(
            session,
            now,
            sealer,
            connections.ConnectionSpec(
                name=connection_name(template, organization.id, request.issuer),
                strategy="okta",
                display_name=(organization.display_name or organization.name)[:128],
                options=options,
                metadata=metadata,
            ),
        )
        steps.append("connection created")
    clients = [application.client_id] if config.get("enable_client") else []
    clients += [
        linked["client_id"]
        for linked in config.get("linked_clients") or []
        if isinstance(linked, dict) and isinstance(linked.get("client_id"), str)
    ]
    enabled = set(connections.enabled_client_ids(session, row))
    missing = [client_id for client_id in dict.fromkeys(clients) if client_id not in enabled]
    if missing:
        connections.change_enabled_clients(session, row, [(c, True) for c in missing])
        steps.append("connection enabled for " + ", ".join(missing))
    if config.get("enable_organization"):
        setting = profile.organization if profile else profiles.DEFAULT_ORGANIZATION
        spec = organizations.EnabledConnectionSpec(
            show_as_button=_offered(setting.get("show_as_button")),
            assign_membership_on_login=_offered(setting.get("assign_membership_on_login")),
        )
        link = session.get(OrganizationConnectionRow, (organization.id, row.id))
        if link is None:
            organizations.enable_connection(session, organization, row.id, spec)
            steps.append("connection added to the organization")
        elif (link.show_as_button, link.assign_membership_on_login) != (
            spec.show_as_button,
            spec.assign_membership_on_login,
        ):
            organizations.update_enabled_connection(session, link, spec)
            steps.append("organization connection updated")
    return SsoResult(
        connection=row,
        organization=organization,
        initiate_login_uri=render_login_uri(
            str(config.get("initiate_login_uri_template") or ""), organization, row.name
        ),
        domain_aliases=list(row.options.get("domain_aliases") or []),
        steps=steps,
    )


def _is_active(token: ScimTokenRow, now: datetime) -> bool:
    return token.valid_until is None or token.valid_until > now


def configure_scim(session: Session, now: datetime, admin: Admin, issuer: str | None) -> ScimResult:
    """Switch SCIM on for the organization's connection (to ``issuer``, or the newest one) and
    mint a token, deleting the oldest active one first when the connection has its maximum: the
    OIN re-running Express Configure SCIM must get a token every time."""
    made = [
        row
        for row in organization_connections(session, admin.organization_id)
        if issuer is None or row.connection_metadata.get(ISSUER_KEY) == issuer
    ]
    _, organization = _checked(
        session, admin, causes.SCIM_PERMISSION, sso_connection_found=bool(made)
    )
    row = made[0]
    steps: list[str] = []
    if session.get(ScimConfigurationRow, row.id) is None:
        connections.create_scim_configuration(session, now, row)
        steps.append("SCIM configuration created")
    active = [t for t in connections.scim_tokens(session, row) if _is_active(t, now)]
    while len(active) >= connections.MAX_ACTIVE_SCIM_TOKENS:
        oldest = active.pop(0)
        connections.remove_scim_token(session, oldest)
        steps.append(f"SCIM token {oldest.token_id} deleted")
    token, secret = connections.create_scim_token(session, now, row)
    steps.append(f"SCIM token {token.token_id} created")
    return ScimResult(
        connection=row, organization=organization, token=token, secret=secret, steps=steps
    )
