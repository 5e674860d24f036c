"""The prerequisites of Express Configuration, each a small check over a :class:`Facts` snapshot.

Each check has an id, a title, and the cause code the Express Configure flow fails with when the
prerequisite is missing (SPEC §4.1, so that doctor and the 403 body name it the same way), or
doctor's own code for the prerequisites around them. A check never reads the tenant itself: it
looks at the snapshot, so that the whole list is one pure function of it, in the order a fix has
to follow (the API before the role that holds its permissions, membership before member roles).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from expressway.doctor.facts import Client, Credential, Facts, Role
from expressway.doctor.inputs import GENERIC_CALLBACK_PATH
from expressway.doctor.report import CheckResult, Status
from expressway.oauth.express_configuration import (
    APP_NOT_CONFIGURED,
    APPLICATION_CONNECTIONS_ENABLED,
    CAUSES,
    EXPRESS_CONFIGURATION_API_MISSING,
    EXPRESS_CONFIGURE_AUDIENCE,
    HOME_REALM_DISCOVERY_DISABLED,
    NOT_ORGANIZATION_MEMBER,
    ORGANIZATION_PROMPT_DISABLED,
    PUBLIC_KEY_MISMATCH,
    PUBLIC_KEY_MISSING,
    ROLE_NOT_ASSIGNED,
    ROLE_PERMISSIONS_MISSING,
    SCIM_PERMISSION,
    SSO_PERMISSION,
)

EC_API = EXPRESS_CONFIGURE_AUDIENCE
PERMISSIONS = (SSO_PERMISSION, SCIM_PERMISSION)
OIN_APP_TYPE = "express_configuration"

#: The names of the older generation of Express Configuration, and what each must become.
LEGACY_API = "https://system.okta.com/actions/express-configure/v1"
LEGACY_PERMISSIONS = {
    "expressconfigure:sso": SSO_PERMISSION,
    "expressconfigure:scim": SCIM_PERMISSION,
}

#: Fields of ``express_configuration`` the Express Configuration API reads.
REQUIRED_CONFIGURATION = (
    "initiate_login_uri_template",
    "user_attribute_profile_id",
    "connection_profile_id",
    "okta_oin_client_id",
    "admin_login_domain",
)

# doctor's own codes, for the prerequisites around the SPEC §4.1 causes.
LEGACY_NAMES = "legacy_names"
ORGANIZATION_UNKNOWN = "organization_unknown"
ADMIN_UNKNOWN = "admin_unknown"
ORGANIZATION_DOMAINS_MISSING = "organization_domains_missing"
OIN_CALLBACK_MISSING = "oin_callback_missing"
ADMIN_CONNECTION_DISABLED = "admin_connection_disabled"

OWN_REMEDIATIONS = {
    LEGACY_NAMES: (
        f"Express Configuration now uses the API {EC_API} with the permissions {SSO_PERMISSION} "
        f"and {SCIM_PERMISSION}. An API's identifier cannot change: create the new API "
        "(Applications > APIs > Create API; POST /api/v2/resource-servers), add its permissions "
        "to the role (POST /api/v2/roles/{role_id}/permissions), and delete the older API once "
        "nothing uses it."
    ),
    ORGANIZATION_UNKNOWN: "Name the organization with --organization <id or name>.",
    ADMIN_UNKNOWN: "Name the customer's admin user with --admin <user id or e-mail>.",
    ORGANIZATION_DOMAINS_MISSING: (
        "In the tenant, set the organization's metadata key domains to the e-mail domains the "
        "customer owns, comma-separated (Organizations > the organization > Overview > "
        "Metadata), or through the Management API: PATCH /api/v2/organizations/{org_id} with "
        '{"metadata": {"domains": "example.com"}}.'
    ),
    OIN_CALLBACK_MISSING: (
        "Add the workforce IdP's {workforce}" + GENERIC_CALLBACK_PATH + " to the OIN client's "
        "Allowed Callback URLs (Applications > the OIN client > Settings), or through the "
        "Management API: PATCH /api/v2/clients/{oin_client_id} with "
        '{"callbacks": [..., "{workforce}' + GENERIC_CALLBACK_PATH + '"]}.'
    ),
    ADMIN_CONNECTION_DISABLED: (
        "Enable the admin's connection on the organization (Organizations > the organization > "
        "Connections > Enable Connections), or through the Management API: POST "
        '/api/v2/organizations/{org_id}/enabled_connections with {"connection_id": '
        '"{connection_id}"}; with post_login_prompt, also enable it for the OIN client '
        "(Authentication > the connection > Applications), or PATCH "
        '/api/v2/connections/{connection_id}/clients with [{"client_id": "{oin_client_id}", '
        '"status": true}].'
    ),
}

API_PERMISSIONS_REMEDIATION = (
    f"Add the permissions {SSO_PERMISSION} and {SCIM_PERMISSION} to the API {EC_API} "
    "(Applications > APIs > the API > Permissions), or through the Management API: PATCH "
    '/api/v2/resource-servers/{api_id} with {"scopes": [..., {"value": "' + SSO_PERMISSION + '"}, '
    '{"value": "' + SCIM_PERMISSION + '"}]}.'
)

RBAC_REMEDIATION = (
    "Turn on Enable RBAC and Add Permissions in the Access Token for the API "
    f"{EC_API} (Applications > APIs > the API > Settings > RBAC Settings), or through the "
    'Management API: PATCH /api/v2/resource-servers/{api_id} with {"enforce_policies": true, '
    '"token_dialect": "access_token_authz"}.'
)


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str
    #: Replaces the cause's remediation where the check knows a more exact one.
    remediation: str | None = None


def passed(detail: str) -> Outcome:
    return Outcome(Status.PASS, detail)


def failed(detail: str, remediation: str | None = None) -> Outcome:
    return Outcome(Status.FAIL, detail, remediation)


def warned(detail: str, remediation: str | None = None) -> Outcome:
    return Outcome(Status.WARN, detail, remediation)


def skipped(detail: str) -> Outcome:
    return Outcome(Status.SKIP, detail)


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    cause: str
    evaluate: Callable[[Facts], Outcome]

    def run(self, facts: Facts) -> CheckResult:
        outcome = self.evaluate(facts)
        remediation = ""
        if outcome.status in (Status.FAIL, Status.WARN):
            remediation = fill_in(outcome.remediation or remediation_of(self.cause), facts)
        return CheckResult(
            id=self.id,
            title=self.title,
            cause=self.cause,
            status=outcome.status,
            detail=outcome.detail,
            remediation=remediation,
        )


def remediation_of(cause: str) -> str:
    """The catalogue's remediation for a SPEC §4.1 cause, or doctor's own."""
    if cause in CAUSES:
        return CAUSES[cause].remediation
    return OWN_REMEDIATIONS[cause]


def fill_in(text: str, facts: Facts) -> str:
    """``text`` with the placeholders of the catalogue replaced by the objects checked."""
    api = facts.api(EC_API)
    holding = roles_holding_both(facts)
    values = {
        "{client_id}": facts.app.client_id,
        "{oin_client_id}": facts.oin.value.client_id if facts.oin.value else None,
        "{org_id}": facts.organization.value.id if facts.organization.value else None,
        "{user_id}": facts.admin.value.user_id if facts.admin.value else None,
        "{role_id}": holding[0].id if holding else None,
        "{api_id}": api.id if api else None,
        "{connection_id}": facts.admin_connection_id,
        "{workforce}": (
            facts.workforce_callback.removesuffix(GENERIC_CALLBACK_PATH)
            if facts.workforce_callback
            else None
        ),
    }
    for placeholder, value in values.items():
        if value:
            text = text.replace(placeholder, value)
    return text


def roles_holding_both(facts: Facts) -> list[Role]:
    return [
        role
        for role in facts.roles
        if all(role.holds(EC_API, permission) for permission in PERMISSIONS)
    ]


def _oin(facts: Facts) -> Client | None:
    oin = facts.oin.value
    return oin if oin is not None and oin.app_type == OIN_APP_TYPE else None


def _quote(items: list[str]) -> str:
    return ", ".join(items)


# --- The tenant and its API ---


def application_connections(facts: Facts) -> Outcome:
    if facts.flags.get("enable_client_connections"):
        return failed('flags.enable_client_connections is on ("Enable Application Connections")')
    return passed("flags.enable_client_connections is off")


def api_exists(facts: Facts) -> Outcome:
    api = facts.api(EC_API)
    if api is not None:
        return passed(f"{api.name} ({api.identifier}, {api.id})")
    detail = f"no API has the identifier {EC_API}"
    if facts.api(LEGACY_API) is not None:
        detail += (
            f"; the tenant has the older {LEGACY_API}: rename to {EC_API} (an identifier cannot "
            "change, so create the new API)"
        )
    return failed(detail)


def api_permissions(facts: Facts) -> Outcome:
    api = facts.api(EC_API)
    if api is None:
        return skipped(f"no API {EC_API}")
    missing = [permission for permission in PERMISSIONS if permission not in api.scopes]
    if not missing:
        return passed(f"{api.identifier} defines {_quote(list(PERMISSIONS))}")
    detail = f"{api.identifier} does not define {_quote(missing)}"
    older = [name for name in LEGACY_PERMISSIONS if name in api.scopes]
    if older:
        detail += "; " + "; ".join(
            f"{n} is an older name: rename to {LEGACY_PERMISSIONS[n]}" for n in older
        )
    return failed(detail, API_PERMISSIONS_REMEDIATION)


def api_rbac(facts: Facts) -> Outcome:
    api = facts.api(EC_API)
    if api is None:
        return skipped(f"no API {EC_API}")
    if api.enforce_policies:
        return passed(f"enforce_policies is on for {api.identifier}")
    return failed(
        f"enforce_policies is off for {api.identifier}: no permission reaches the admin's access "
        "token, so every Express Configure action fails as role_not_assigned",
        RBAC_REMEDIATION,
    )


def legacy_names(facts: Facts) -> Outcome:
    found: list[str] = []
    legacy = facts.api(LEGACY_API)
    if legacy is not None:
        found.append(f"the API {LEGACY_API} ({legacy.id}): rename to {EC_API}")
    for api in facts.apis:
        for old, new in LEGACY_PERMISSIONS.items():
            if old in api.scopes:
                found.append(f"the permission {old} of {api.identifier}: rename to {new}")
    for role in facts.roles:
        for api_identifier, permission in sorted(role.permissions):
            if permission in LEGACY_PERMISSIONS:
                found.append(
                    f"the role {role.name} ({role.id}) holds {permission} of {api_identifier}: "
                    f"give it {LEGACY_PERMISSIONS[permission]} of {EC_API}"
                )
    if found:
        return warned("; ".join(found))
    return passed("no API or permission of the older generation is in use")


def role_permissions(facts: Facts) -> Outcome:
    holding = roles_holding_both(facts)
    if holding:
        return passed("held by " + _quote([f"{role.name} ({role.id})" for role in holding]))
    partial = [
        f"{role.name} ({role.id}) holds only "
        + _quote([p for p in PERMISSIONS if role.holds(EC_API, p)])
        for role in facts.roles
        if any(role.holds(EC_API, p) for p in PERMISSIONS)
    ]
    if partial:
        return failed("no role holds both; " + "; ".join(partial))
    return failed(f"no role holds {_quote(list(PERMISSIONS))} of {EC_API}")


# --- The SaaS application and the OIN client ---


def app_configuration(facts: Facts) -> Outcome:
    app = facts.app
    config = app.express_configuration
    label = f"{app.name} ({app.client_id})"
    if not config:
        return failed(f"{label} has no express_configuration")
    problems: list[str] = []
    missing = [key for key in REQUIRED_CONFIGURATION if not config.get(key)]
    if missing:
        problems.append(f"express_configuration lacks {_quote(missing)}")
    named = config.get("okta_oin_client_id")
    oin = facts.oin.value
    if named and oin is not None and oin.client_id != named:
        problems.append(f"it names the OIN client {named}, not {oin.client_id}")
    elif named and oin is None:
        problems.append(f"it names the OIN client {named}, which does not exist")
    problems += [f"the profile {p} it names does not exist" for p in facts.missing_profiles]
    problems += [f"the linked client {c} does not exist" for c in facts.missing_linked_clients]
    if problems:
        return failed(f"{label}: " + "; ".join(problems))
    return passed(
        f"{label} names the OIN client {named}, the connection profile "
        f"{config.get('connection_profile_id')} and the user attribute profile "
        f"{config.get('user_attribute_profile_id')}"
    )


def home_realm_discovery(facts: Facts) -> Outcome:
    app = facts.app
    if app.home_realm_discovery is True:
        return passed(f"home_realm_discovery is on for {app.name} ({app.client_id})")
    if app.home_realm_discovery is None:
        return warned(
            f"the tenant does not report home_realm_discovery for {app.name} ({app.client_id}); "
            "Expressway's tenant refuses Express Configuration without it"
        )
    return failed(f"home_realm_discovery is off for {app.name} ({app.client_id})")


def oin_client(facts: Facts) -> Outcome:
    oin = facts.oin.value
    if oin is None:
        return failed(f"no OIN client: {facts.oin.note}")
    if oin.app_type != OIN_APP_TYPE:
        return failed(
            f"{oin.name} ({oin.client_id}) has app_type {oin.app_type}, not {OIN_APP_TYPE}"
        )
    return passed(f"{oin.name} ({oin.client_id})")


def organization_prompt(facts: Facts) -> Outcome:
    oin = _oin(facts)
    if oin is None:
        return skipped("no OIN client")
    label = f"{oin.name} ({oin.client_id})"
    if oin.organization_usage != "require":
        return failed(f"organization_usage is {oin.organization_usage} on {label}, not require")
    if oin.organization_require_behavior in (None, "no_prompt"):
        return failed(
            f"organization_require_behavior is {oin.organization_require_behavior} on {label}: "
            "the admin is never asked for an organization"
        )
    return passed(f"require, {oin.organization_require_behavior}")


def oin_callback(facts: Facts) -> Outcome:
    oin = _oin(facts)
    if oin is None:
        return skipped("no OIN client")
    if facts.workforce_callback is not None:
        if facts.workforce_callback in oin.callbacks:
            return passed(f"{facts.workforce_callback} is a callback of {oin.client_id}")
        return failed(f"{facts.workforce_callback} is not a callback of {oin.client_id}")
    generic = [url for url in oin.callbacks if url.endswith(GENERIC_CALLBACK_PATH)]
    if generic:
        return passed(f"{_quote(generic)} (give --workforce-url to check the host)")
    return failed(
        f"no callback of {oin.client_id} ends with {GENERIC_CALLBACK_PATH} "
        "(give --workforce-url to name the workforce IdP)"
    )


def _active(facts: Facts, oin: Client) -> tuple[list[Credential], list[Credential]]:
    """The OIN client's activated credentials: those in force, and those expired."""
    active = [c for c in facts.oin_credentials if c.id in oin.active_credentials]
    expired = [c for c in active if c.expires_at is not None and c.expires_at <= facts.checked_at]
    return [c for c in active if c not in expired], expired


def public_key(facts: Facts) -> Outcome:
    oin = _oin(facts)
    if oin is None:
        return skipped("no OIN client")
    in_force, expired = _active(facts, oin)
    if in_force:
        return passed(
            "active for private_key_jwt: "
            + _quote([f"{c.id} ({c.name or 'unnamed'}, kid {c.kid})" for c in in_force])
        )
    detail = f"no credential of {oin.client_id} is active for private_key_jwt"
    if expired:
        detail += "; expired: " + _quote([f"{c.id} at {c.expires_at}" for c in expired])
    inactive = [c.id for c in facts.oin_credentials if c.id not in oin.active_credentials]
    if inactive:
        detail += f"; uploaded but not activated: {_quote(inactive)}"
    return failed(detail)


def _is_thumbprint(kid: str | None) -> bool:
    # An RFC 7638 SHA-256 thumbprint is 43 base64url characters; a kid given at upload may be
    # anything, and then says nothing about the key.
    return kid is not None and len(kid) == 43 and all(ch.isalnum() or ch in "-_" for ch in kid)


def public_key_match(facts: Facts) -> Outcome:
    if facts.pem_thumbprint is None:
        return skipped("give --pem with the key the OIN Wizard generated to compare it")
    oin = _oin(facts)
    if oin is None:
        return skipped("no OIN client")
    in_force, _ = _active(facts, oin)
    if not in_force:
        return skipped("no active credential to compare with")
    source = facts.pem_source or "the --pem file"
    # The key material is compared by its RFC 7638 thumbprint, which the tenant gives a
    # credential as its kid when none is named at upload: a name proves nothing.
    matching = [c for c in in_force if c.kid == facts.pem_thumbprint]
    if matching:
        return passed(
            f"{matching[0].id} holds the key of {source} (thumbprint {facts.pem_thumbprint})"
        )
    uploaded = [
        c for c in facts.oin_credentials if c.kid == facts.pem_thumbprint and c not in in_force
    ]
    if uploaded:
        return failed(
            f"the key of {source} is the credential {uploaded[0].id}, which is not active for "
            "private_key_jwt"
        )
    comparable = [c for c in in_force if _is_thumbprint(c.kid)]
    if not comparable:
        return warned(
            f"the active credentials ({_quote([c.id for c in in_force])}) were uploaded with a kid "
            f"of their own, so their key cannot be compared with {source}",
            "Upload the OIN Wizard's .pem again without a kid (the tenant then uses its "
            "thumbprint), activate it for private_key_jwt, and run doctor again.",
        )
    return failed(
        f"no active credential holds the key of {source} (thumbprint {facts.pem_thumbprint}); "
        "active: " + _quote([f"{c.id} (kid {c.kid})" for c in in_force])
    )


# --- The organization and the admin ---


def organization_found(facts: Facts) -> Outcome:
    organization = facts.organization.value
    if organization is None:
        return warned(facts.organization.note)
    return passed(f"{organization.name} ({organization.id})")


def organization_domains(facts: Facts) -> Outcome:
    organization = facts.organization.value
    if organization is None:
        return skipped("the organization is unknown")
    if organization.domains:
        return passed(f"{organization.name} claims {_quote(organization.domains)}")
    return failed(
        f"metadata.domains is empty on {organization.name} ({organization.id}): Home Realm "
        "Discovery has no e-mail domain to route the customer's users by"
    )


def admin_found(facts: Facts) -> Outcome:
    admin = facts.admin.value
    if admin is None:
        return warned(facts.admin.note)
    return passed(f"{admin.email or 'no e-mail'} ({admin.user_id})")


def admin_member(facts: Facts) -> Outcome:
    admin, organization = facts.admin.value, facts.organization.value
    if admin is None or organization is None:
        return skipped("the admin or the organization is unknown")
    if organization.id in facts.admin_organizations:
        return passed(f"{admin.user_id} is a member of {organization.name}")
    return failed(f"{admin.user_id} is not a member of {organization.name} ({organization.id})")


def _needed_by(permission: str) -> str:
    return "Express Configure SSO" if permission == SSO_PERMISSION else "Express Configure SCIM"


def admin_role(facts: Facts) -> Outcome:
    admin = facts.admin.value
    if admin is None:
        return skipped("the admin is unknown")
    role_ids = set(facts.admin_roles) | set(facts.admin_member_roles)
    roles = [role for role_id in sorted(role_ids) if (role := facts.role(role_id)) is not None]
    held = {p for role in roles for api, p in role.permissions if api == EC_API}
    missing = [p for p in PERMISSIONS if p not in held]
    where = (
        "directly or as a member role"
        if facts.organization.value is not None
        else "directly (member roles not checked: the organization is unknown)"
    )
    if not missing:
        return passed(f"{admin.user_id} holds {_quote(list(PERMISSIONS))} {where}")
    detail = (
        f"{admin.user_id} holds no role with "
        + _quote([f"{p} (needed by {_needed_by(p)})" for p in missing])
        + f", {where}"
    )
    if roles:
        detail += "; holds " + _quote([f"{role.name} ({role.id})" for role in roles])
    return failed(detail)


def admin_connection(facts: Facts) -> Outcome:
    admin, organization = facts.admin.value, facts.organization.value
    if admin is None or organization is None:
        return skipped("the admin or the organization is unknown")
    if admin.connection is None or facts.admin_connection_id is None:
        return warned(f"the connection of {admin.user_id} ({admin.connection}) was not found")
    problems: list[str] = []
    if facts.admin_connection_id not in facts.organization_connections:
        problems.append(f"{admin.connection} is not enabled on {organization.name}")
    oin = _oin(facts)
    if (
        oin is not None
        and oin.organization_require_behavior == "post_login_prompt"
        and oin.client_id not in facts.admin_connection_clients
    ):
        problems.append(
            f"{admin.connection} is not enabled for the OIN client {oin.client_id}, whose "
            "post_login_prompt asks for credentials first"
        )
    if problems:
        return failed("; ".join(problems))
    return passed(
        f"{admin.connection} ({facts.admin_connection_id}) is enabled on {organization.name}"
    )


CHECKS: tuple[Check, ...] = (
    Check(
        "tenant.application_connections",
        '"Enable Application Connections" is off',
        APPLICATION_CONNECTIONS_ENABLED,
        application_connections,
    ),
    Check(
        "api.exists",
        "The Express Configuration API exists",
        EXPRESS_CONFIGURATION_API_MISSING,
        api_exists,
    ),
    Check(
        "api.permissions",
        "The API defines both Express Configuration permissions",
        EXPRESS_CONFIGURATION_API_MISSING,
        api_permissions,
    ),
    Check("api.rbac", "RBAC is enforced on the API", ROLE_NOT_ASSIGNED, api_rbac),
    Check("api.legacy_names", "No names of the older generation", LEGACY_NAMES, legacy_names),
    Check(
        "role.permissions",
        "A role holds both Express Configuration permissions",
        ROLE_PERMISSIONS_MISSING,
        role_permissions,
    ),
    Check(
        "app.express_configuration",
        "The application's express_configuration is complete",
        APP_NOT_CONFIGURED,
        app_configuration,
    ),
    Check(
        "app.home_realm_discovery",
        "Home Realm Discovery is on for the application",
        HOME_REALM_DISCOVERY_DISABLED,
        home_realm_discovery,
    ),
    Check("oin.client", "The OIN client exists", APP_NOT_CONFIGURED, oin_client),
    Check(
        "oin.organization_prompt",
        "The OIN client requires an organization",
        ORGANIZATION_PROMPT_DISABLED,
        organization_prompt,
    ),
    Check(
        "oin.callback",
        "The OIN client accepts the workforce callback",
        OIN_CALLBACK_MISSING,
        oin_callback,
    ),
    Check(
        "oin.public_key",
        "The OIN client has an active public key",
        PUBLIC_KEY_MISSING,
        public_key,
    ),
    Check(
        "oin.public_key_match",
        "The active key is the OIN Wizard's key",
        PUBLIC_KEY_MISMATCH,
        public_key_match,
    ),
    Check(
        "organization.found", "The organization is known", ORGANIZATION_UNKNOWN, organization_found
    ),
    Check(
        "organization.domains",
        "The organization claims its e-mail domains",
        ORGANIZATION_DOMAINS_MISSING,
        organization_domains,
    ),
    Check("admin.found", "The admin user is known", ADMIN_UNKNOWN, admin_found),
    Check(
        "admin.member",
        "The admin is a member of the organization",
        NOT_ORGANIZATION_MEMBER,
        admin_member,
    ),
    Check(
        "admin.role",
        "The admin holds a role with the permissions",
        ROLE_NOT_ASSIGNED,
        admin_role,
    ),
    Check(
        "admin.connection",
        "The admin's connection is enabled",
        ADMIN_CONNECTION_DISABLED,
        admin_connection,
    ),
)


def run_checks(facts: Facts) -> list[CheckResult]:
    return [check.run(facts) for check in CHECKS]
