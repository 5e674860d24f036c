"""The workforce IdP's Alembic migrations and its SQLAlchemy rows describe the same schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from expressway.storage import migrate
from expressway.storage.engine import make_engine
from expressway.workforce.rows import WorkforceBase
from tests.conftest import BACKENDS
from tests.databases import postgres_database, postgres_unreachable_reason, sqlite_url


@pytest.fixture
def empty_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path_factory.mktemp("workforce-migrations"))
        return
    reason = postgres_unreachable_reason()
    if reason:
        pytest.skip(reason)
    with postgres_database() as url:
        yield url


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_the_workforce_migrations_produce_exactly_the_workforce_rows(empty_database: str) -> None:
    """After upgrading to head, autogenerate finds nothing left to migrate."""
    engine = make_engine(empty_database)
    migrate.upgrade(engine, "workforce")
    assert migrate.is_current(engine, "workforce")
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}),
            WorkforceBase.metadata,
        )
    engine.dispose()
    assert differences == []


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_upgrading_twice_changes_nothing(empty_database: str) -> None:
    """A second upgrade (every `workforce init`, every server start) is a no-op."""
    engine = make_engine(empty_database)
    migrate.upgrade(engine, "workforce")
    before = sorted(sa.inspect(engine).get_table_names())
    migrate.upgrade(engine, "workforce")
    assert sorted(sa.inspect(engine).get_table_names()) == before
    assert {"orgs", "users", "apps", "api_tokens", "log_events"} <= set(before)
    engine.dispose()
