"""What the checks look at: a snapshot of the tenant, read once through the Management API.

Plain frozen data, free of the SDK's models, so that each check is a pure function of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Api:
    id: str
    identifier: str
    name: str
    scopes: tuple[str, ...]
    enforce_policies: bool


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    #: ``(resource_server_identifier, permission_name)`` pairs.
    permissions: frozenset[tuple[str, str]]

    def holds(self, api: str, permission: str) -> bool:
        return (api, permission) in self.permissions


@dataclass(frozen=True)
class Credential:
    id: str
    name: str | None
    kid: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    app_type: str | None
    callbacks: tuple[str, ...]
    organization_usage: str | None
    organization_require_behavior: str | None
    #: Credential ids activated for ``private_key_jwt``.
    active_credentials: tuple[str, ...]
    #: Expressway's extension; ``None`` when the tenant does not report it at all.
    home_realm_discovery: bool | None
    express_configuration: dict[str, Any] | None


@dataclass(frozen=True)
class User:
    user_id: str
    email: str | None
    #: The connection the user signs in with (their first identity's).
    connection: str | None


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    metadata: dict[str, str]

    @property
    def domains(self) -> list[str]:
        raw = self.metadata.get("domains") or ""
        return [domain.strip() for domain in raw.split(",") if domain.strip()]


@dataclass(frozen=True)
class Found(Generic[T]):
    """An object doctor was told about or found by itself; ``note`` says why it is missing."""

    value: T | None
    note: str = ""


@dataclass(frozen=True)
class Facts:
    apis: tuple[Api, ...]
    roles: tuple[Role, ...]
    flags: dict[str, Any]
    app: Client
    oin: Found[Client]
    oin_credentials: tuple[Credential, ...]
    organization: Found[Organization]
    admin: Found[User]
    #: When the snapshot was read (from the injected clock): credentials expire.
    checked_at: datetime
    #: Role ids assigned to the admin directly.
    admin_roles: frozenset[str] = frozenset()
    #: Role ids assigned to the admin as a member of the organization.
    admin_member_roles: frozenset[str] = frozenset()
    #: Ids of the organizations the admin is a member of.
    admin_organizations: frozenset[str] = frozenset()
    #: Connection ids enabled on the organization.
    organization_connections: frozenset[str] = frozenset()
    #: The admin's connection: its id, when it exists.
    admin_connection_id: str | None = None
    #: Client ids for which the admin's connection is enabled.
    admin_connection_clients: frozenset[str] = frozenset()
    #: Profile ids named by the app's express_configuration that do not exist.
    missing_profiles: tuple[str, ...] = ()
    #: Linked client ids named by the app's express_configuration that do not exist.
    missing_linked_clients: tuple[str, ...] = ()
    #: RFC 7638 thumbprint of the ``--pem`` key.
    pem_thumbprint: str | None = None
    pem_source: str | None = None
    workforce_callback: str | None = None

    def api(self, identifier: str) -> Api | None:
        return next((api for api in self.apis if api.identifier == identifier), None)

    def role(self, role_id: str) -> Role | None:
        return next((role for role in self.roles if role.id == role_id), None)
