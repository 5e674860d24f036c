"""Migrations that fill a new column from what the database already holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from expressway.storage import migrate
from expressway.storage.engine import make_engine
from expressway.storage.types import JSONType
from tests.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)

#: The revision before Express Configuration's lookups had columns of their own.
BEFORE_EXPRESS_CONFIGURATION_COLUMNS = "c7d1e0a5b913"

_CONNECTIONS = sa.table(
    "connections",
    sa.column("id", sa.String()),
    sa.column("name", sa.String()),
    sa.column("strategy", sa.String()),
    sa.column("options", JSONType),
    sa.column("realms", JSONType),
    sa.column("is_domain_connection", sa.Boolean()),
    sa.column("metadata", JSONType),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


_CLIENTS = sa.table(
    "clients",
    *(
        sa.column(name, JSONType)
        for name in (
            "callbacks",
            "allowed_logout_urls",
            "web_origins",
            "allowed_origins",
            "grant_types",
            "express_configuration",
            "jwt_configuration",
            "client_metadata",
        )
    ),
    *(sa.column(name, sa.String()) for name in ("client_id", "name", "token_endpoint_auth_method")),
    *(sa.column(name, sa.Boolean()) for name in ("is_first_party", "home_realm_discovery")),
    sa.column("is_system", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def _client(client_id: str, express_configuration: dict[str, object] | None) -> dict[str, object]:
    return {
        "client_id": client_id,
        "name": client_id,
        "token_endpoint_auth_method": "client_secret_post",
        "callbacks": [],
        "allowed_logout_urls": [],
        "web_origins": [],
        "allowed_origins": [],
        "grant_types": [],
        "express_configuration": express_configuration,
        "jwt_configuration": {},
        "client_metadata": {},
        "is_first_party": True,
        "home_realm_discovery": False,
        "is_system": False,
        "created_at": datetime(2026, 12, 1, tzinfo=UTC),
        "updated_at": datetime(2026, 12, 1, tzinfo=UTC),
    }


def _connection(
    connection_id: str,
    metadata: dict[str, str],
    options: dict[str, object] | None = None,
    strategy: str = "okta",
) -> dict[str, object]:
    return {
        "id": connection_id,
        "name": f"name-{connection_id}",
        "strategy": strategy,
        "options": options or {},
        "realms": [f"name-{connection_id}"],
        "is_domain_connection": False,
        "metadata": metadata,
        "created_at": datetime(2026, 12, 1, tzinfo=UTC),
    }


def _upgrade_with(
    empty_database: str, rows: list[tuple[sa.TableClause, list[dict[str, object]]]]
) -> sa.Engine:
    """The database at the revision before, holding ``rows``, then upgraded to the newest."""
    engine = make_engine(empty_database)
    with engine.begin() as connection:
        command.upgrade(
            migrate.alembic_config("tenant", connection), BEFORE_EXPRESS_CONFIGURATION_COLUMNS
        )
        for table, values in rows:
            connection.execute(table.insert(), values)
    migrate.upgrade(engine, "tenant")
    return engine


def _column(engine: sa.Engine, table: str, key: str, column: str) -> dict[str, str | None]:
    with engine.connect() as connection:
        query = sa.text(f"SELECT {key}, {column} FROM {table}")  # noqa: S608
        return {str(row_key): value for row_key, value in connection.execute(query)}


def test_express_configurations_connections_get_their_organization_from_their_metadata(
    empty_database: str,
) -> None:
    engine = _upgrade_with(
        empty_database,
        [
            (
                _CONNECTIONS,
                [
                    _connection(
                        "con_made",
                        {
                            "express_configuration_organization_id": "org_customer",
                            "express_configuration_issuer": "https://customer.example",
                        },
                    ),
                    _connection("con_by_hand", {"team": "identity"}),
                    _connection("con_no_metadata", {}),
                ],
            )
        ],
    )
    found = _column(engine, "connections", "id", "express_configuration_organization_id")
    engine.dispose()
    assert found == {"con_made": "org_customer", "con_by_hand": None, "con_no_metadata": None}


def test_saas_applications_get_their_oin_client_from_their_express_configuration(
    empty_database: str,
) -> None:
    engine = _upgrade_with(
        empty_database,
        [
            (
                _CLIENTS,
                [
                    _client("oin", None),
                    _client("saas", {"okta_oin_client_id": "oin", "enable_client": True}),
                    _client("plain", None),
                ],
            )
        ],
    )
    found = _column(engine, "clients", "client_id", "okta_oin_client_id")
    engine.dispose()
    assert found == {"oin": None, "saas": "oin", "plain": None}


def test_enterprise_connections_domains_are_indexed_from_their_options(
    empty_database: str,
) -> None:
    engine = _upgrade_with(
        empty_database,
        [
            (
                _CONNECTIONS,
                [
                    _connection("con_acme", {}, {"domain_aliases": ["acme.example", "acme.test"]}),
                    _connection(
                        "con_globex", {}, {"domain_aliases": ["Globex.Example"]}, strategy="oidc"
                    ),
                    _connection("con_none", {}, {"issuer": "https://none.example"}),
                    _connection(
                        "con_database", {}, {"domain_aliases": ["db.example"]}, strategy="auth0"
                    ),
                ],
            )
        ],
    )
    with engine.connect() as connection:
        found = sorted(
            (domain, connection_id)
            for domain, connection_id in connection.execute(
                sa.text("SELECT domain, connection_id FROM connection_domain_aliases")
            )
        )
    engine.dispose()
    assert found == [
        ("acme.example", "con_acme"),
        ("acme.test", "con_acme"),
        ("globex.example", "con_globex"),
    ]
