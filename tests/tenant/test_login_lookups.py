"""The login's connection lookup by name
(:func:`~expressway.tenant.authn.login_flow.find_connection`): a connection already read in the
unit of work is found again without a statement, and one deleted in it is not found."""

from __future__ import annotations

from expressway.tenant.authn.login_flow import DEFAULT_DATABASE_CONNECTION, find_connection
from tests.conftest import Tenant
from tests.databases import statements_on


def test_a_connection_read_once_is_found_again_without_a_statement(tenant: Tenant) -> None:
    with statements_on(tenant.runtime.engine) as statements, tenant.runtime.sessions() as session:
        first = find_connection(session, DEFAULT_DATABASE_CONNECTION)
        assert first is not None
        read = len(statements)
        again = find_connection(session, DEFAULT_DATABASE_CONNECTION)
        assert again is first
        assert len(statements) == read
        assert find_connection(session, "no-such-connection") is None
        assert len(statements) == read + 1


def test_a_connection_deleted_in_the_unit_of_work_is_not_found(tenant: Tenant) -> None:
    with tenant.runtime.sessions() as session:
        connection = find_connection(session, DEFAULT_DATABASE_CONNECTION)
        assert connection is not None
        session.delete(connection)
        assert find_connection(session, DEFAULT_DATABASE_CONNECTION) is None
        session.rollback()
