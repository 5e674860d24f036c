"""Statements run in a session's transaction outside the session's execution
(:class:`expressway.storage.sqlite_driver.SessionStatement`), and savepoints in it
(:func:`~expressway.storage.sqlite_driver.savepoint`): on SQLite on the driver's cursor,
elsewhere through the session, with the same outcome either way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from expressway.storage.engine import make_engine
from expressway.storage.faults import database_fault
from expressway.storage.sqlite_driver import SessionStatement, on_sqlite_driver, savepoint
from expressway.storage.table_writes import TableWrites
from expressway.storage.types import UTCDateTime
from tests.conftest import BACKENDS


class _Base(DeclarativeBase):
    pass


class Parent(_Base):
    __tablename__ = "session_statement_parents"
    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    at: Mapped[datetime | None]
    #: Expressway's own timestamps, read back aware (a type decorator's processing).
    stamped: Mapped[datetime | None] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    active: Mapped[bool]


class Child(_Base):
    __tablename__ = "session_statement_children"
    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    parent_id: Mapped[str] = mapped_column(sa.ForeignKey(Parent.id))


PARENTS: sa.Table = Parent.__table__  # type: ignore[assignment]
CHILDREN: sa.Table = Child.__table__  # type: ignore[assignment]
INSERT_PARENT = SessionStatement(PARENTS.insert())
INSERT_CHILD = SessionStatement(CHILDREN.insert())
#: A select with a value of its own (the LIMIT's) beside the caller's.
NAME_OF = SessionStatement(
    sa.select(PARENTS.c.name, PARENTS.c.id).where(PARENTS.c.id == sa.bindparam("id")).limit(1)
)
WRITES = TableWrites([Parent.__tablename__])
AT = datetime(2026, 11, 30, 4, 5, 6, tzinfo=UTC)


#: On SQLite (on the driver's cursor) and on PostgreSQL (through the session).
on_both = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


@pytest.fixture
def engine(tenant_database: str) -> Iterator[sa.Engine]:
    engine = make_engine(tenant_database)
    _Base.metadata.drop_all(engine)
    _Base.metadata.create_all(engine)
    yield engine
    _Base.metadata.drop_all(engine)
    engine.dispose()


def _parent(id: str, name: str) -> dict[str, Any]:
    return {
        "id": id,
        "name": name,
        "at": AT,
        "stamped": AT,
        "details": {"k": [1, "two"]},
        "active": True,
    }


@on_both
def test_rows_read_back_as_the_session_writes_them(engine: sa.Engine) -> None:
    with Session(engine) as session:
        INSERT_PARENT.run(session, _parent("p1", "first"))
        assert NAME_OF.run(session, {"id": "p1"}) == [("first", "p1")]
        assert NAME_OF.run(session, {"id": "nobody"}) == []
        session.commit()
    with Session(engine) as session:
        stored = session.get_one(Parent, "p1")
        assert (stored.name, stored.details) == ("first", {"k": [1, "two"]})
        assert stored.at is not None
        assert stored.at.replace(tzinfo=UTC) == AT


@on_both
def test_the_statements_are_part_of_the_sessions_transaction(engine: sa.Engine) -> None:
    with Session(engine) as session:
        session.add(Parent(id="orm", name="by the unit of work", active=True))
        # Flushed first, as the session's own execution would: the child's key needs it.
        INSERT_CHILD.run(session, {"id": "c1", "parent_id": "orm"})
        INSERT_PARENT.run(session, _parent("p1", "first"))
        session.rollback()
    with Session(engine) as session:
        assert session.scalars(sa.select(Parent.id)).all() == []
        assert session.scalars(sa.select(Child.id)).all() == []


@on_both
def test_a_refused_statement_raises_sqlalchemys_error_and_keeps_the_transaction(
    engine: sa.Engine,
) -> None:
    with Session(engine) as session:
        INSERT_PARENT.run(session, _parent("p1", "taken"))
        session.commit()
    with Session(engine) as session:
        INSERT_PARENT.run(session, _parent("p2", "free"))
        if on_sqlite_driver(engine):
            # On SQLite the failed statement alone is undone: the transaction goes on.
            with pytest.raises(sa_exc.IntegrityError):
                INSERT_PARENT.run(session, _parent("p3", "taken"))
            INSERT_PARENT.run(session, _parent("p4", "also free"))
            session.commit()
            assert session.scalars(sa.select(Parent.id).order_by(Parent.id)).all() == [
                "p1",
                "p2",
                "p4",
            ]
        else:
            with pytest.raises(sa_exc.IntegrityError):
                INSERT_PARENT.run(session, _parent("p3", "taken"))
            session.rollback()


@on_both
def test_writes_move_the_tables_counters_at_the_commit_only(engine: sa.Engine) -> None:
    before = WRITES.value
    with Session(engine) as session:
        INSERT_PARENT.run(session, _parent("p1", "first"))
        assert WRITES.value == before, "moved before the commit"
        session.commit()
    assert WRITES.value == before + 1
    with Session(engine) as session:
        INSERT_PARENT.run(session, _parent("p2", "second"))
        session.rollback()
        NAME_OF.run(session, {"id": "p1"})
        INSERT_CHILD.run(session, {"id": "c1", "parent_id": "p1"})
        session.commit()
    assert WRITES.value == before + 1, "a rollback, a read or another table moved it"


@on_both
def test_one_transaction_after_another_on_the_same_session(engine: sa.Engine) -> None:
    """The connection kept for a transaction is not used for the next one."""
    with Session(engine) as session:
        INSERT_PARENT.run(session, _parent("p1", "first"))
        session.commit()
        INSERT_PARENT.run(session, _parent("p2", "second"))
        session.rollback()
        INSERT_PARENT.run(session, _parent("p3", "third"))
        session.commit()
    with Session(engine) as session:
        assert session.scalars(sa.select(Parent.id).order_by(Parent.id)).all() == ["p1", "p3"]


@on_both
def test_rows_read_hold_the_values_sqlalchemy_reads(engine: sa.Engine) -> None:
    every_column = sa.select(*PARENTS.columns).order_by(PARENTS.c.id)
    with Session(engine) as session:
        INSERT_PARENT.run(session, _parent("p1", "full"))
        INSERT_PARENT.run(
            session,
            {
                "id": "p2",
                "name": "empty",
                "at": None,
                "stamped": None,
                "details": None,
                "active": False,
            },
        )
        session.commit()
        read = SessionStatement(every_column).run(session, {})
        assert read == [tuple(row) for row in session.execute(every_column)]
        # Columns named by the mapped class read the same (on PostgreSQL, the session's
        # result is then the ORM's).
        by_attributes = SessionStatement(sa.select(Parent.id, Parent.name).order_by(Parent.id))
        assert by_attributes.run(session, {}) == [("p1", "full"), ("p2", "empty")]
        assert [(type(row[2]), row[3], type(row[4]), row[5]) for row in read] == [
            (datetime, AT, dict, True),
            (type(None), None, type(None), False),
        ]


def test_a_file_opened_read_only_refuses_as_the_session_would(tmp_path: Path) -> None:
    """The fault a read-only file is (503 in the APIs), not a closed cursor's error, and the
    connection is dropped so that the next one opens the file for writing."""
    database = tmp_path / "read-only.db"
    writable = make_engine(f"sqlite:///{database}")
    _Base.metadata.create_all(writable)
    writable.dispose()
    read_only = make_engine(f"sqlite:///file:{database}?mode=ro&uri=true")
    try:
        with Session(read_only) as session:
            with pytest.raises(sa_exc.OperationalError) as refused:
                INSERT_PARENT.run(session, _parent("p1", "refused"))
            assert refused.value.connection_invalidated
            fault = database_fault(refused.value)
            assert fault is not None
            assert fault.kind == "read_only"
            session.rollback()
    finally:
        read_only.dispose()


@on_both
def test_a_savepoint_undoes_its_own_block_only(engine: sa.Engine) -> None:
    """A batch of requests in one transaction, each in a savepoint: the refused one's writes,
    by statement and by the unit of work, are undone; what came before and after stands."""
    with Session(engine) as session:
        INSERT_PARENT.run(session, _parent("p1", "before"))
        with savepoint(session):
            INSERT_PARENT.run(session, _parent("p2", "kept"))
            session.add(Child(id="c2", parent_id="p2"))  # flushed inside, at the block's end

        def refused() -> None:
            with savepoint(session):
                INSERT_PARENT.run(session, _parent("p3", "undone"))
                session.add(Parent(id="p4", name="undone too", active=True))
                session.flush()
                INSERT_CHILD.run(session, {"id": "c3", "parent_id": "p3"})
                raise LookupError("refused")

        with pytest.raises(LookupError):
            refused()
        # The objects the session held may carry what was undone: it holds none.
        assert list(session.identity_map.values()) == []
        with savepoint(session):
            INSERT_PARENT.run(session, _parent("p5", "after"))
        session.commit()
    with Session(engine) as session:
        assert session.scalars(sa.select(Parent.id).order_by(Parent.id)).all() == [
            "p1",
            "p2",
            "p5",
        ]
        assert session.scalars(sa.select(Child.id)).all() == ["c2"]


@on_both
def test_a_refused_statement_in_a_savepoint_undoes_the_block_and_the_transaction_goes_on(
    engine: sa.Engine,
) -> None:
    """A uniqueness refusal inside the block (on PostgreSQL it would abort a transaction with
    no savepoint) undoes the block alone; the transaction commits the rest."""
    with Session(engine) as session:
        INSERT_PARENT.run(session, _parent("p1", "taken"))

        def refused() -> None:
            with savepoint(session):
                INSERT_PARENT.run(session, _parent("p2", "free"))
                INSERT_PARENT.run(session, _parent("p3", "taken"))

        with pytest.raises(sa_exc.IntegrityError):
            refused()
        with savepoint(session):
            INSERT_PARENT.run(session, _parent("p4", "also free"))
        session.commit()
    with Session(engine) as session:
        assert session.scalars(sa.select(Parent.id).order_by(Parent.id)).all() == ["p1", "p4"]


@on_both
def test_pending_changes_before_a_savepoint_are_kept_when_it_is_undone(
    engine: sa.Engine,
) -> None:
    with Session(engine) as session:
        session.add(Parent(id="orm", name="pending before the savepoint", active=True))

        def refused() -> None:
            with savepoint(session):
                INSERT_CHILD.run(session, {"id": "c1", "parent_id": "orm"})
                raise LookupError("refused")

        with pytest.raises(LookupError):
            refused()
        session.commit()
    with Session(engine) as session:
        assert session.scalars(sa.select(Parent.id)).all() == ["orm"]
        assert session.scalars(sa.select(Child.id)).all() == []
