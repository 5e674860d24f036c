"""``doctor --fix``: make what a failed check found missing, through the Management SDK.

Every fix is idempotent (it looks at the snapshot first and does only what is missing, so a
second run changes nothing), never deletes or deactivates anything, and returns one sentence per
change it made. A fix that cannot act without more input raises :class:`CannotFix` saying what.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from auth0.management import Auth0
from auth0.management.types import (
    ClientAuthenticationMethod,
    ClientAuthenticationMethodPrivateKeyJwt,
    CredentialId,
    PermissionRequestPayload,
    ResourceServerScope,
    TenantSettingsFlags,
    UpdateEnabledClientConnectionsRequestContentItem,
)

from expressway.doctor.checks import (
    EC_API,
    OIN_APP_TYPE,
    PERMISSIONS,
    roles_holding_both,
)
from expressway.doctor.facts import Client, Facts, Role
from expressway.doctor.inputs import Inputs

#: The role doctor makes when no role holds the permissions, and prefers when one exists.
ROLE_NAME = "Express Configuration Admin"
API_NAME = "Express Configuration"
#: The dialect that puts the permissions claim in Auth0 access tokens.
AUTHZ_DIALECT = "access_token_authz"
PERMISSION_DESCRIPTIONS = {
    PERMISSIONS[0]: "Express Configure SSO and Universal Logout",
    PERMISSIONS[1]: "Express Configure SCIM provisioning",
}


class CannotFix(Exception):
    """The fix needs something doctor was not given, or must be done by a person."""


Fix = Callable[[Auth0, Facts, Inputs], list[str]]


def _oin(facts: Facts) -> Client:
    oin = facts.oin.value
    if oin is None or oin.app_type != OIN_APP_TYPE:
        raise CannotFix("the OIN client is unknown")
    return oin


def application_connections(sdk: Auth0, facts: Facts, inputs: Inputs) -> list[str]:
    if not facts.flags.get("enable_client_connections"):
        return []
    sdk.tenants.settings.update(flags=TenantSettingsFlags(enable_client_connections=False))
    return [
        'turned off the tenant flag enable_client_connections ("Enable Application Connections")'
    ]


def api_exists(sdk: Auth0, facts: Facts, inputs: Inputs) -> list[str]:
    if facts.api(EC_API) is not None:
        return []
    created = sdk.resource_servers.create(
        identifier=EC_API,
        name=API_NAME,
        scopes=[
            ResourceServerScope(value=permission, description=PERMISSION_DESCRIPTIONS[permission])
            for permission in PERMISSIONS
        ],
        enforce_policies=True,
        token_dialect=AUTHZ_DIALECT,
    )
    return [f"created the API {EC_API} ({created.id}) with {', '.join(PERMISSIONS)}, RBAC enforced"]


def api_permissions(sdk: Auth0, facts: Facts, inputs: Inputs) -> list[str]:
    api = facts.api(EC_API)
    if api is None:
        raise CannotFix(f"the API {EC_API} does not exist")
    missing = [permission for permission in PERMISSIONS if permission not in api.scopes]
    if not missing:
        return []
    # The update replaces the whole list: the existing scopes are read again with their
    # descriptions, so that none is lost.
    current = sdk.resource_servers.get(api.id).scopes or []
    sdk.resource_servers.update(
        api.id,
        scopes=[
            *(ResourceServerScope(value=s.value, description=s.description) for s in current),
            *(
                ResourceServerScope(value=p, description=PERMISSION_DESCRIPTIONS[p])
                for p in missing
            ),
        ],
    )
    return [f"added {', '.join(missing)} to the API {EC_API}"]


def api_rbac(sdk: Auth0, facts: Facts, inputs: Inputs) -> list[str]:
    api = facts.api(EC_API)
    if api is None:
        raise CannotFix(f"the API {EC_API} does not exist")
    if api.enforce_policies:
        return []
    sdk.resource_servers.update(api.id, enforce_policies=True)
    return [f"turned on RBAC (enforce_policies) for the API {EC_API}"]


def _preferred(roles: list[Role]) -> Role | None:
    named = [role for role in roles if role.name == ROLE_NAME]
    candidates = named or roles
    return candidates[0] if candidates else None


def role_permissions(sdk: Auth0, facts: Facts, inputs: Inputs) -> list[str]:
    if roles_holding_both(facts):
        return []
    api = facts.api(EC_API)
    if api is None or any(permission not in api.scopes for permission in PERMISSIONS):
        raise CannotFix(f"the API {EC_API} lacks the permissions")
    changes: list[str] = []
    partial = [r for r in facts.roles if any(r.holds(EC_API, p) for p in PERMISSIONS)]
    role = _preferred([r for r in facts.roles if r.name == ROLE_NAME] or partial)
    if role is None:
        created = sdk.roles.create(
            name=ROLE_NAME, description="Runs Express Configuration from the OIN"
        )
        if not created.id:
            raise CannotFix("the tenant created a role without an id")
        role = Role(id=created.id, name=ROLE_NAME, permissions=frozenset())
        changes.append(f"created the role {ROLE_NAME} ({created.id})")
    missing = [p for p in PERMISSIONS if not role.holds(EC_API, p)]
    sdk.roles.permissions.add(
        role.id,
        permissions=[
            PermissionRequestPayload(resource_server_identifier=EC_API, permission_name=p)
            for p in missing
        ],
    )
    changes.append(f"gave the role {role.name} ({role.id}) {', '.join(missing)} of {EC_API}")
    return changes


def home_realm_discovery(sdk: Auth0, facts: Facts, inputs: Inputs) -> list[str]:
    app = facts.app
    if app.home_realm_discovery is not False:
        if app.home_realm_discovery is None:
            raise CannotFix("the tenant has no home_realm_discovery property to set")
        return []
    # Expressway's extension is not in the SDK's model: it goes as an extra body property.
    sdk.clients.update(
        app.client_id,
        request_options={"additional_body_parameters": {"home_realm_discovery": True}},
    )
    return [f"turned on Home Realm Discovery for {app.name} ({app.client_id})"]


def organization_prompt(sdk: Auth0, facts: Facts, inputs: Inputs) -> list[str]:
    oin = _oin(facts)
    behavior = oin.organization_require_behavior
    if oin.organization_usage == "require" and behavior not in (None, "no_prompt"):
        return []
    new_behavior = "pre_login_prompt" if behavior in (None, "no_prompt") else behavior
    sdk.clients.update(
        oin.client_id, organization_usage="require", organization_require_behavior=new_behavior
    )
    return [f"set the OIN client {oin.client_id} to require an organization ({new_behavior})"]


def oin_callback(sdk: Auth0, facts: Facts, inputs: Inputs) -> list[str]:
    oin = _oin(facts)
    callback = facts.workforce_callback
    if callback is None:
        raise CannotFix("give --workforce-url to name the workforce IdP's callback")
    if callback in oin.callbacks:
        return []
    sdk.clients.update(oin.client_id, callbacks=[*oin.callbacks, callback])
    return [f"added the callback {callback} to the OIN client {oin.client_id}"]


def _credential_name(facts: Facts, inputs: Inputs) -> str:
    # A credential named oin:{submission} is how the tenant links the app to its OIN
    # submission; keep that link when the app already has it.
    submission = (facts.app.express_configuration or {}).get("oin_submission_id")
    if submission:
        return f"oin:{submission}"
    return f"OIN Wizard key ({Path(inputs.pem_source or 'pem').name})"[:128]


def public_key(sdk: Auth0, facts: Facts, inputs: Inputs) -> list[str]:
    """Upload the ``--pem`` key unless a credential already holds it, then activate it beside
    the credentials already active (none is deactivated)."""
    oin = _oin(facts)
    if inputs.pem is None or facts.pem_thumbprint is None:
        raise CannotFix("give --pem with the key the OIN Wizard generated")
    changes: list[str] = []
    credential_id = next(
        (c.id for c in facts.oin_credentials if c.kid == facts.pem_thumbprint), None
    )
    if credential_id is None:
        created = sdk.clients.credentials.create(
            oin.client_id,
            credential_type="public_key",
            pem=inputs.pem,
            alg="RS256",
            name=_credential_name(facts, inputs),
        )
        if not created.id:
            raise CannotFix("the tenant created a credential without an id")
        credential_id = created.id
        changes.append(
            f"uploaded {inputs.pem_source} to the OIN client {oin.client_id} as {created.id}"
        )
    if credential_id in oin.active_credentials:
        return changes
    active = [*oin.active_credentials, credential_id]
    sdk.clients.update(
        oin.client_id,
        client_authentication_methods=ClientAuthenticationMethod(
            private_key_jwt=ClientAuthenticationMethodPrivateKeyJwt(
                credentials=[CredentialId(id=i) for i in active]
            )
        ),
    )
    changes.append(f"activated {credential_id} for private_key_jwt on {oin.client_id}")
    return changes


def organization_domains(sdk: Auth0, facts: Facts, inputs: Inputs) -> list[str]:
    organization, admin = facts.organization.value, facts.admin.value
    if organization is None:
        raise CannotFix("the organization is unknown")
    if organization.domains:
        return []
    if admin is None or not admin.email or "@" not in admin.email:
        raise CannotFix("set the customer's domains by hand: the admin's e-mail is unknown")
    # The admin's e-mail domain is the one domain the customer is known to own; the others
    # are for a person to add.
    domain = admin.email.rsplit("@", 1)[1].lower()
    sdk.organizations.update(organization.id, metadata={**organization.metadata, "domains": domain})
    return [f"set metadata.domains of {organization.name} to {domain} (the admin's e-mail domain)"]


def admin_member(sdk: Auth0, facts: Facts, inputs: Inputs) -> list[str]:
    organization, admin = facts.organization.value, facts.admin.value
    if organization is None or admin is None:
        raise CannotFix("the admin or the organization is unknown")
    if organization.id in facts.admin_organizations:
        return []
    sdk.organizations.members.create(organization.id, members=[admin.user_id])
    return [f"added {admin.user_id} to the organization {organization.name}"]


def admin_role(sdk: Auth0, facts: Facts, inputs: Inputs) -> list[str]:
    """Assign a role holding both permissions: as a member role where the admin is a member of
    the organization (the narrower grant), else directly."""
    admin, organization = facts.admin.value, facts.organization.value
    if admin is None:
        raise CannotFix("the admin is unknown")
    held = set(facts.admin_roles) | set(facts.admin_member_roles)
    holding = roles_holding_both(facts)
    if any(role.id in held for role in holding):
        return []
    role = _preferred(holding)
    if role is None:
        raise CannotFix("no role holds both permissions")
    if organization is not None and organization.id in facts.admin_organizations:
        sdk.organizations.members.roles.assign(organization.id, admin.user_id, roles=[role.id])
        return [
            f"assigned the role {role.name} ({role.id}) to {admin.user_id} as a member of "
            f"{organization.name}"
        ]
    sdk.users.roles.assign(admin.user_id, roles=[role.id])
    return [f"assigned the role {role.name} ({role.id}) to {admin.user_id}"]


def admin_connection(sdk: Auth0, facts: Facts, inputs: Inputs) -> list[str]:
    admin, organization = facts.admin.value, facts.organization.value
    connection_id = facts.admin_connection_id
    if admin is None or organization is None or connection_id is None:
        raise CannotFix("the admin, the organization or the admin's connection is unknown")
    changes: list[str] = []
    if connection_id not in facts.organization_connections:
        sdk.organizations.enabled_connections.add(
            organization.id, connection_id=connection_id, assign_membership_on_login=False
        )
        changes.append(f"enabled the connection {admin.connection} on {organization.name}")
    oin = facts.oin.value
    if (
        oin is not None
        and oin.organization_require_behavior == "post_login_prompt"
        and oin.client_id not in facts.admin_connection_clients
    ):
        sdk.connections.clients.update(
            connection_id,
            request=[
                UpdateEnabledClientConnectionsRequestContentItem(
                    client_id=oin.client_id, status=True
                )
            ],
        )
        changes.append(
            f"enabled the connection {admin.connection} for the OIN client {oin.client_id}"
        )
    return changes


#: The fix of each check that has one; the others say why they are left to a person.
FIXES: dict[str, Fix] = {
    "tenant.application_connections": application_connections,
    "api.exists": api_exists,
    "api.permissions": api_permissions,
    "api.rbac": api_rbac,
    "role.permissions": role_permissions,
    "app.home_realm_discovery": home_realm_discovery,
    "oin.organization_prompt": organization_prompt,
    "oin.callback": oin_callback,
    "oin.public_key": public_key,
    "oin.public_key_match": public_key,
    "organization.domains": organization_domains,
    "admin.member": admin_member,
    "admin.role": admin_role,
    "admin.connection": admin_connection,
}

#: Why a failed check without a fix is left alone.
NOT_FIXED = {
    "app.express_configuration": (
        "the application's express_configuration is the vendor's to write (its profiles and "
        "login URI template)"
    ),
    "oin.client": (
        "an OIN client is made with the OIN Wizard's information; doctor does not guess it"
    ),
}
