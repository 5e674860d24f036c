"""``expressway tenant init``: a tenant ready for its first Management API call.

Idempotent: every step checks for what it would make and makes only what is missing, so a second
run changes nothing and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from expressway import hashing, ids
from expressway.storage import migrate
from expressway.tenant.dashboard import accounts
from expressway.tenant.management.scopes import MANAGEMENT_SCOPE_NAMES, MANAGEMENT_SCOPES
from expressway.tenant.rows import (
    ClientGrantRow,
    ClientRow,
    ConnectionRow,
    ResourceServerRow,
    TenantSettingsRow,
)
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import resource_servers
from expressway.tenant.services.tenant_settings import DEFAULT_TENANT_SETTINGS

ADMIN_CLIENT_NAME = "Expressway Management Client"
DATABASE_CONNECTION_NAME = "Username-Password-Authentication"


@dataclass
class InitResult:
    changes: list[str] = field(default_factory=list)
    admin_client_id: str | None = None
    #: Present only on the run that created the admin client: it is never shown again.
    admin_client_secret: str | None = None
    #: The dashboard's first admin, present only on the run that made it: the password is
    #: shown this once and stored only as its Argon2id hash.
    dashboard_admin_email: str | None = None
    dashboard_admin_password: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _ensure_management_api(session: Session, runtime: TenantRuntime, result: InitResult) -> None:
    audience = runtime.settings.management_audience
    api = session.scalars(
        select(ResourceServerRow).where(ResourceServerRow.identifier == audience)
    ).first()
    if api is None:
        api = resource_servers.create(
            session,
            runtime.clock.now(),
            resource_servers.ResourceServerSpec(
                identifier=audience,
                name="Expressway Management API",
                scopes=[{"value": v, "description": d} for v, d in MANAGEMENT_SCOPES],
                token_lifetime=86400,
            ),
        )
        api.is_system = True
        result.changes.append(f"created the Management API ({audience})")
        return
    known = {s["value"] for s in api.scopes}
    missing = [{"value": v, "description": d} for v, d in MANAGEMENT_SCOPES if v not in known]
    if missing:
        api.scopes = [*api.scopes, *missing]
        result.changes.append(f"added {len(missing)} scopes to the Management API")


def _ensure_admin_client(session: Session, runtime: TenantRuntime, result: InitResult) -> None:
    audience = runtime.settings.management_audience
    now = runtime.clock.now()
    client = session.scalars(
        select(ClientRow).where(ClientRow.name == ADMIN_CLIENT_NAME, ClientRow.is_system.is_(True))
    ).first()
    if client is None:
        secret = ids.client_secret()
        client = ClientRow(
            client_id=ids.client_id(),
            name=ADMIN_CLIENT_NAME,
            description="Machine client made by `expressway tenant init`",
            app_type="non_interactive",
            is_first_party=True,
            callbacks=[],
            allowed_logout_urls=[],
            web_origins=[],
            allowed_origins=[],
            grant_types=["client_credentials"],
            token_endpoint_auth_method="client_secret_post",
            client_secret_hash=hashing.hash_token(secret),
            jwt_configuration={"alg": "RS256", "lifetime_in_seconds": 36000},
            client_metadata={},
            home_realm_discovery=False,
            is_system=True,
            created_at=now,
            updated_at=now,
        )
        session.add(client)
        session.flush()
        result.admin_client_secret = secret
        result.changes.append(f"created the admin machine client {client.client_id}")
    result.admin_client_id = client.client_id
    grant = session.scalars(
        select(ClientGrantRow).where(
            ClientGrantRow.client_id == client.client_id, ClientGrantRow.audience == audience
        )
    ).first()
    if grant is None:
        session.add(
            ClientGrantRow(
                id=ids.prefixed_id("cgr"),
                client_id=client.client_id,
                audience=audience,
                scope=list(MANAGEMENT_SCOPE_NAMES),
                created_at=now,
            )
        )
        result.changes.append("granted the admin client every Management API scope")
    elif set(MANAGEMENT_SCOPE_NAMES) - set(grant.scope):
        grant.scope = sorted({*grant.scope, *MANAGEMENT_SCOPE_NAMES})
        result.changes.append("granted the admin client the new Management API scopes")


def _ensure_database_connection(
    session: Session, runtime: TenantRuntime, result: InitResult
) -> None:
    exists = session.scalars(
        select(ConnectionRow).where(ConnectionRow.name == DATABASE_CONNECTION_NAME)
    ).first()
    if exists is None:
        session.add(
            ConnectionRow(
                id=ids.prefixed_id("con"),
                name=DATABASE_CONNECTION_NAME,
                display_name=None,
                strategy="auth0",
                options={"brute_force_protection": True},
                realms=[DATABASE_CONNECTION_NAME],
                is_domain_connection=False,
                connection_metadata={},
                created_at=runtime.clock.now(),
            )
        )
        result.changes.append(f"created the database connection {DATABASE_CONNECTION_NAME}")


def _ensure_dashboard_admin(session: Session, runtime: TenantRuntime, result: InitResult) -> None:
    if accounts.has_admin(session):
        return
    made = accounts.create_admin(session, runtime.clock.now(), accounts.DEFAULT_ADMIN_EMAIL)
    result.dashboard_admin_email = made.row.email
    result.dashboard_admin_password = made.password
    result.changes.append(f"created the dashboard admin {made.row.email}")


def initialise_tenant(runtime: TenantRuntime) -> InitResult:
    """Migrate the database and create what a new tenant needs."""
    migrate.upgrade(runtime.engine, "tenant")
    result = InitResult()
    with runtime.sessions() as session:
        migrate.hold_bootstrap_lock(session, "tenant")
        if runtime.signing_keys.ensure(session, runtime.clock.now()):
            result.changes.append("created the signing keys (current and next)")
        if session.get(TenantSettingsRow, "tenant") is None:
            session.add(TenantSettingsRow(id="tenant", settings=dict(DEFAULT_TENANT_SETTINGS)))
            result.changes.append("created the tenant settings")
        _ensure_management_api(session, runtime, result)
        _ensure_admin_client(session, runtime, result)
        _ensure_database_connection(session, runtime, result)
        _ensure_dashboard_admin(session, runtime, result)
        session.commit()
    return result


OPERATOR_CLIENT_DESCRIPTION = "Machine client of an operator tool; its secret is rotated on use"


def rotate_operator_client(runtime: TenantRuntime, name: str) -> tuple[str, str]:
    """A machine client named ``name`` with every Management API scope, made if missing, with a
    new secret (the previous one stops working). For tools that run next to the tenant and keep
    no secret between runs, such as ``expressway demo``; answers its id and the new secret."""
    audience = runtime.settings.management_audience
    now = runtime.clock.now()
    secret = ids.client_secret()
    with runtime.sessions() as session:
        client = session.scalars(
            select(ClientRow).where(ClientRow.name == name, ClientRow.is_system.is_(True))
        ).first()
        if client is None:
            client = ClientRow(
                client_id=ids.client_id(),
                name=name,
                description=OPERATOR_CLIENT_DESCRIPTION,
                app_type="non_interactive",
                is_first_party=True,
                callbacks=[],
                allowed_logout_urls=[],
                web_origins=[],
                allowed_origins=[],
                grant_types=["client_credentials"],
                token_endpoint_auth_method="client_secret_post",
                client_secret_hash=hashing.hash_token(secret),
                jwt_configuration={"alg": "RS256", "lifetime_in_seconds": 3600},
                client_metadata={},
                home_realm_discovery=False,
                is_system=True,
                created_at=now,
                updated_at=now,
            )
            session.add(client)
            session.flush()
            session.add(
                ClientGrantRow(
                    id=ids.prefixed_id("cgr"),
                    client_id=client.client_id,
                    audience=audience,
                    scope=list(MANAGEMENT_SCOPE_NAMES),
                    created_at=now,
                )
            )
        else:
            client.client_secret_hash = hashing.hash_token(secret)
            client.updated_at = now
            # The tenant's public URL, and with it the Management API's audience, may have
            # changed since the client was made.
            granted = session.scalars(
                select(ClientGrantRow).where(
                    ClientGrantRow.client_id == client.client_id,
                    ClientGrantRow.audience == audience,
                )
            ).first()
            if granted is None:
                session.add(
                    ClientGrantRow(
                        id=ids.prefixed_id("cgr"),
                        client_id=client.client_id,
                        audience=audience,
                        scope=list(MANAGEMENT_SCOPE_NAMES),
                        created_at=now,
                    )
                )
        client_id = client.client_id
        session.commit()
    return client_id, secret
