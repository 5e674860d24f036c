"""Which driver errors are faults of the database (503) and which are not (left to their own
handlers), from errors the drivers really raise, and the answers an app gives to each."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.responses import JSONResponse, Response

from expressway.storage.engine import make_engine
from expressway.storage.faults import DatabaseFault, database_fault
from expressway.web.database_faults import install_database_fault_handler, oauth_error
from tests.interop.conftest import free_port

pytestmark = pytest.mark.faults


def _raised(engine: sa.Engine, statement: str) -> BaseException:
    with pytest.raises(sa.exc.DBAPIError) as caught, engine.begin() as connection:
        connection.exec_driver_sql(statement)
    return caught.value


def test_a_postgresql_server_that_is_down_is_an_unavailable_database() -> None:
    """Nothing listens on the port: refused at once, a fault of the database."""
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")
    with pytest.raises(sa.exc.OperationalError) as caught:
        engine.connect()
    fault = database_fault(caught.value)
    assert fault is not None
    assert fault.kind == "unavailable"
    assert fault.code == "database_unavailable"
    assert "Connection refused" in fault.detail


def test_postgresql_shutting_down_or_read_only_are_faults_by_their_sqlstate() -> None:
    shutdown = sa.exc.OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown("bye"))
    read_only = sa.exc.InternalError("INSERT", {}, psycopg.errors.ReadOnlySqlTransaction("ro"))
    full = sa.exc.OperationalError("INSERT", {}, psycopg.errors.DiskFull("full"))
    assert [database_fault(e).kind for e in (shutdown, read_only, full)] == [  # type: ignore[union-attr]
        "unavailable",
        "read_only",
        "full",
    ]


def test_a_constraint_or_a_bad_statement_is_not_a_fault_of_the_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    assert database_fault(_raised(engine, "INSERT INTO t VALUES (1)")) is None
    assert database_fault(_raised(engine, "SELECT nothing FROM nowhere")) is None
    unique = sa.exc.IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("dup"))
    assert database_fault(unique) is None
    assert database_fault(ValueError("not a database error")) is None


def test_a_sqlite_file_opened_read_only_is_a_read_only_database(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    with make_engine(f"sqlite:///{path}").begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER)")
    engine = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    fault = database_fault(_raised(engine, "INSERT INTO t VALUES (1)"))
    assert fault is not None
    assert fault.kind == "read_only"
    assert fault.message.startswith("The database is read-only")
    assert fault.retry_after > 0


def test_a_sqlite_file_at_its_page_limit_is_a_full_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (v BLOB)")
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA max_page_count = 3")
        with pytest.raises(sa.exc.OperationalError) as caught:
            connection.exec_driver_sql("INSERT INTO t VALUES (zeroblob(100000))")
    fault = database_fault(caught.value)
    assert fault is not None
    assert fault.kind == "full"
    assert fault.detail == "database or disk is full"


def _app(tmp_path: Path) -> FastAPI:
    app = FastAPI()
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    down = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")

    def render(_request: Request, fault: DatabaseFault) -> Response:
        return oauth_error(fault)

    async def last_resort(_request: Request, _exc: Exception) -> Response:
        return JSONResponse({"error": "server_error"}, status_code=500)

    install_database_fault_handler(app, render, last_resort)

    @app.get("/down")
    def read_down() -> None:
        with down.connect():
            pass

    @app.get("/duplicate")
    def duplicate() -> None:
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")

    @app.get("/typo")
    def typo() -> None:
        # OperationalError too, but the statement's fault: it goes to the last resort.
        with engine.begin() as connection:
            connection.exec_driver_sql("SELECT nothing FROM nowhere")

    return app


def test_the_handler_answers_faults_with_503_and_leaves_other_driver_errors_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(_app(tmp_path), raise_server_exceptions=False) as http:
        down = http.get("/down")
        assert down.status_code == 503
        assert down.headers["retry-after"] == "5"
        assert down.json()["error"] == "temporarily_unavailable"
        assert http.get("/typo").status_code == 500
        assert http.get("/duplicate").status_code == 500
    lines = [r.getMessage() for r in caplog.records if r.name == "expressway.database"]
    assert len(lines) == 1
    assert lines[0].startswith("database unavailable: GET /down answered 503 (")
