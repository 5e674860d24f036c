"""Reading the tenant: the Management API through the official Auth0 SDK, and nothing else
(besides the token request that opens it).

The same calls serve Expressway's tenant and an Auth0 tenant. Each read needs only a ``read:``
scope of the Management API; :func:`gather` turns the SDK's models into :mod:`facts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError

from expressway import jose
from expressway.clock import Clock
from expressway.doctor.facts import (
    Api,
    Client,
    Credential,
    Facts,
    Found,
    Organization,
    Role,
    User,
)
from expressway.doctor.inputs import BadInput, Inputs

Progress = Callable[[str], None]

TIMEOUT_SECONDS = 30.0


class TenantUnavailable(Exception):
    """The tenant cannot be reached, refused the credentials, or answered with an error that
    is not about the objects checked; the message says which."""


def describe_api_error(error: ApiError) -> str:
    """The tenant's own message (Auth0's error shape), never the request's headers."""
    body = error.body
    if isinstance(body, dict):
        message = body.get("message") or body.get("error_description") or body.get("error")
        if message:
            return f"{error.status_code}: {message}"
    return f"{error.status_code}: {str(body)[:200]}"


def management_token(inputs: Inputs, http: httpx.Client) -> str:
    """A Management API access token: the one given, or one from the client credentials grant
    (RFC 6749 §4.4).

    The grant is posted as a form, as the SDK's own token provider does; that provider is not
    used because it only speaks https, and Expressway's development tenant is on http.
    """
    credentials = inputs.credentials
    if credentials.token:
        return credentials.token
    try:
        response = http.post(
            f"{inputs.tenant_url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": credentials.client_id or "",
                "client_secret": credentials.client_secret or "",
                "audience": inputs.management_audience,
            },
        )
    except httpx.TransportError as exc:
        raise TenantUnavailable(f"cannot reach {inputs.tenant_url}: {exc}") from exc
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise TenantUnavailable(
            f"{inputs.tenant_url}/oauth/token answered {response.status_code} without JSON: "
            "is this the tenant?"
        )
    if response.status_code != 200:
        reason = answer.get("error_description") or answer.get("error") or response.status_code
        raise TenantUnavailable(
            f"the tenant refused the Management API client {credentials.client_id}: {reason}"
        )
    token = answer.get("access_token")
    if not isinstance(token, str):
        raise TenantUnavailable("the tenant's token endpoint answered without an access_token")
    return token


def connect(inputs: Inputs, http: httpx.Client) -> Auth0:
    """The Management SDK for the tenant; no retries, so that an outage is reported at once."""
    return Auth0(
        base_url=inputs.management_api,
        token=management_token(inputs, http),
        max_retries=0,
        httpx_client=http,
    )


def _is_absent(error: ApiError) -> bool:
    # Auth0 answers 400 for an id of the wrong shape where Expressway answers 404.
    return error.status_code in (400, 404)


def _api(server: Any) -> Api:
    return Api(
        id=server.id or "",
        identifier=server.identifier or "",
        name=server.name or "",
        scopes=tuple(scope.value for scope in server.scopes or [] if scope.value),
        enforce_policies=bool(server.enforce_policies),
    )


def _client(model: Any) -> Client:
    methods = model.client_authentication_methods
    jwt = methods.private_key_jwt if methods is not None else None
    extra = model.model_extra or {}
    hrd = extra.get("home_realm_discovery")
    config = model.express_configuration
    return Client(
        client_id=model.client_id or "",
        name=model.name or "",
        app_type=model.app_type,
        callbacks=tuple(model.callbacks or ()),
        organization_usage=model.organization_usage,
        organization_require_behavior=model.organization_require_behavior,
        active_credentials=tuple(c.id for c in (jwt.credentials if jwt else []) if c.id),
        home_realm_discovery=hrd if isinstance(hrd, bool) else None,
        express_configuration=(
            config.model_dump(mode="json", by_alias=True) if config is not None else None
        ),
    )


def _user(model: Any) -> User:
    identities = model.identities or []
    return User(
        user_id=model.user_id or "",
        email=model.email,
        connection=identities[0].connection if identities else None,
    )


def _organization(model: Any) -> Organization:
    metadata = {str(k): str(v) for k, v in (model.metadata or {}).items() if v is not None}
    return Organization(id=model.id or "", name=model.name or "", metadata=metadata)


def find_client(sdk: Auth0, reference: str, option: str) -> Client:
    """The client with this id, else the one client with this name."""
    try:
        return _client(sdk.clients.get(reference))
    except ApiError as exc:
        if not _is_absent(exc):
            raise
    named = [c for c in sdk.clients.list() if c.name == reference]
    if len(named) > 1:
        raise BadInput(f"{option}: {len(named)} applications are named {reference!r}; give its id")
    if not named:
        raise BadInput(f"{option}: no application has the id or name {reference!r}")
    return _client(named[0])


def _client_if_exists(sdk: Auth0, client_id: str) -> Client | None:
    try:
        return _client(sdk.clients.get(client_id))
    except ApiError as exc:
        if _is_absent(exc):
            return None
        raise


def find_user(sdk: Auth0, reference: str) -> User:
    """The user with this id, or the one user with this e-mail address."""
    if "@" in reference and "|" not in reference:
        users = sdk.users.list_users_by_email(email=reference)
        if len(users) > 1:
            raise BadInput(
                f"--admin: {len(users)} users have the e-mail {reference}; give the user id"
            )
        if not users:
            raise BadInput(f"--admin: no user has the e-mail {reference}")
        return _user(users[0])
    try:
        return _user(sdk.users.get(reference))
    except ApiError as exc:
        if _is_absent(exc):
            raise BadInput(f"--admin: no user has the id {reference}") from exc
        raise


def find_organization(sdk: Auth0, reference: str) -> Organization:
    """The organization with this id (``org_…``) or this name."""
    try:
        if reference.startswith("org_"):
            return _organization(sdk.organizations.get(reference))
        return _organization(sdk.organizations.get_by_name(reference))
    except ApiError as exc:
        if _is_absent(exc):
            raise BadInput(
                f"--organization: no organization has the id or name {reference!r}"
            ) from exc
        raise


def _ids(items: Iterable[Any]) -> frozenset[str]:
    return frozenset(item.id for item in items if item.id)


def _resolve_admin_and_organization(
    sdk: Auth0, inputs: Inputs
) -> tuple[Found[User], Found[Organization], frozenset[str]]:
    """The admin and organization named, or the only candidate of each: the organization the
    admin belongs to (or the tenant's only one), the organization's only member."""
    admin = find_user(sdk, inputs.admin) if inputs.admin else None
    admin_organizations = (
        _ids(sdk.users.organizations.list(admin.user_id)) if admin else frozenset()
    )
    organization: Found[Organization]
    if inputs.organization:
        organization = Found(find_organization(sdk, inputs.organization))
    else:
        candidates = sorted(admin_organizations) or sorted(_ids(sdk.organizations.list()))
        if len(candidates) == 1:
            organization = Found(_organization(sdk.organizations.get(candidates[0])))
        else:
            why = (
                "no organization exists"
                if not candidates
                else (f"{len(candidates)} organizations could be the one")
            )
            organization = Found(None, f"{why}: name it with --organization")
    found_admin: Found[User]
    if admin is not None:
        found_admin = Found(admin)
    elif organization.value is None:
        found_admin = Found(None, "the organization is unknown: name the admin with --admin")
    else:
        members = [
            m.user_id for m in sdk.organizations.members.list(organization.value.id) if m.user_id
        ]
        if len(members) == 1:
            found_admin = Found(find_user(sdk, members[0]))
            admin_organizations = _ids(sdk.users.organizations.list(members[0]))
        else:
            why = "has no members" if not members else f"has {len(members)} members"
            found_admin = Found(
                None, f"the organization {organization.value.name} {why}: name it with --admin"
            )
    return found_admin, organization, admin_organizations


def _missing_references(sdk: Auth0, app: Client) -> tuple[tuple[str, ...], tuple[str, ...]]:
    config = app.express_configuration or {}
    missing_profiles: list[str] = []
    readers: list[tuple[str, Callable[[str], Any]]] = [
        ("connection_profile_id", sdk.connection_profiles.get),
        ("user_attribute_profile_id", sdk.user_attribute_profiles.get),
    ]
    for key, read in readers:
        profile_id = config.get(key)
        if not profile_id:
            continue
        try:
            read(profile_id)
        except ApiError as exc:
            if not _is_absent(exc):
                raise
            missing_profiles.append(profile_id)
    missing_links = tuple(
        link["client_id"]
        for link in config.get("linked_clients") or []
        if isinstance(link, dict)
        and link.get("client_id")
        and _client_if_exists(sdk, link["client_id"]) is None
    )
    return tuple(missing_profiles), missing_links


def gather(sdk: Auth0, inputs: Inputs, clock: Clock, progress: Progress) -> Facts:
    """Read everything the checks look at. Raises :class:`BadInput` when a named object does
    not exist, :class:`ApiError` or :class:`httpx.TransportError` when the tenant fails."""
    progress("Reading the application")
    app = find_client(sdk, inputs.app, "--app")
    progress("Reading the OIN client and its credentials")
    oin: Found[Client]
    if inputs.oin_client:
        oin = Found(find_client(sdk, inputs.oin_client, "--oin-client"))
    else:
        named = (app.express_configuration or {}).get("okta_oin_client_id")
        if not named:
            oin = Found(None, "the app's express_configuration names none: give --oin-client")
        else:
            found = _client_if_exists(sdk, named)
            oin = Found(found, "" if found else f"the OIN client {named} does not exist")
    credentials: tuple[Credential, ...] = ()
    if oin.value is not None:
        credentials = tuple(
            Credential(id=c.id or "", name=c.name, kid=c.kid, expires_at=c.expires_at)
            for c in sdk.clients.credentials.list(oin.value.client_id)
        )
    progress("Reading the APIs")
    apis = tuple(_api(server) for server in sdk.resource_servers.list())
    progress("Reading the roles and their permissions")
    roles = tuple(
        Role(
            id=role.id,
            name=role.name or "",
            permissions=frozenset(
                (p.resource_server_identifier, p.permission_name)
                for p in sdk.roles.permissions.list(role.id)
                if p.resource_server_identifier and p.permission_name
            ),
        )
        for role in sdk.roles.list()
        if role.id
    )
    progress("Reading the tenant settings")
    settings = sdk.tenants.settings.get()
    flags = settings.flags.model_dump(exclude_none=True) if settings.flags else {}
    progress("Reading the organization and the admin user")
    admin, organization, admin_organizations = _resolve_admin_and_organization(sdk, inputs)
    admin_roles: frozenset[str] = frozenset()
    member_roles: frozenset[str] = frozenset()
    organization_connections: frozenset[str] = frozenset()
    if organization.value is not None:
        organization_connections = frozenset(
            c.connection_id
            for c in sdk.organizations.enabled_connections.list(organization.value.id)
            if c.connection_id
        )
    connection_id: str | None = None
    connection_clients: frozenset[str] = frozenset()
    if admin.value is not None:
        user = admin.value
        admin_roles = _ids(sdk.users.roles.list(user.user_id))
        if organization.value is not None and organization.value.id in admin_organizations:
            member_roles = _ids(
                sdk.organizations.members.roles.list(organization.value.id, user.user_id)
            )
        if user.connection:
            progress("Reading the admin's connection")
            connection = next(
                (
                    c
                    for c in sdk.connections.list(name=user.connection)
                    if c.name == user.connection
                ),
                None,
            )
            if connection is not None and connection.id:
                connection_id = connection.id
                connection_clients = frozenset(
                    c.client_id for c in sdk.connections.clients.get(connection.id) if c.client_id
                )
    progress("Reading the profiles the application names")
    missing_profiles, missing_links = _missing_references(sdk, app)
    return Facts(
        apis=apis,
        roles=roles,
        flags=flags,
        app=app,
        oin=oin,
        oin_credentials=credentials,
        organization=organization,
        admin=admin,
        checked_at=clock.now(),
        admin_roles=admin_roles,
        admin_member_roles=member_roles,
        admin_organizations=admin_organizations,
        organization_connections=organization_connections,
        admin_connection_id=connection_id,
        admin_connection_clients=connection_clients,
        missing_profiles=missing_profiles,
        missing_linked_clients=missing_links,
        pem_thumbprint=jose.read_public_key(inputs.pem).thumbprint if inputs.pem else None,
        pem_source=inputs.pem_source,
        workforce_callback=inputs.workforce_callback,
    )
