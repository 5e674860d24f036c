"""Each system's Alembic migrations and its SQLAlchemy rows describe the same schema."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from expressway.storage import migrate
from expressway.storage.engine import make_engine
from expressway.tenant.rows import TenantBase
from expressway.workforce.rows import WorkforceBase
from tests.conftest import BACKENDS

SYSTEMS = {
    "tenant": (TenantBase.metadata, {"clients", "organizations", "users", "log_events"}),
    "workforce": (WorkforceBase.metadata, {"orgs", "users", "apps", "api_tokens", "log_events"}),
}

pytestmark = [
    pytest.mark.parametrize("empty_database", BACKENDS, indirect=True),
    pytest.mark.parametrize("system", sorted(SYSTEMS)),
]


def test_the_migrations_produce_exactly_the_rows(empty_database: str, system: str) -> None:
    """After upgrading to head, autogenerate finds nothing left to migrate."""
    metadata, _ = SYSTEMS[system]
    engine = make_engine(empty_database)
    migrate.upgrade(engine, system)
    assert migrate.is_current(engine, system)
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), metadata
        )
    engine.dispose()
    assert differences == []


def test_upgrading_twice_changes_nothing(empty_database: str, system: str) -> None:
    """A second upgrade (every `init`, every server start) is a no-op."""
    _, expected_tables = SYSTEMS[system]
    engine = make_engine(empty_database)
    migrate.upgrade(engine, system)
    before = sorted(sa.inspect(engine).get_table_names())
    migrate.upgrade(engine, system)
    assert sorted(sa.inspect(engine).get_table_names()) == before
    assert expected_tables <= set(before)
    engine.dispose()
