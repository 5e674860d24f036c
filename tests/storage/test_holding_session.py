"""Sessions hold what they read until they close
(:class:`~expressway.storage.engine.HoldingSession`): a row read again by primary key in the same
unit of work comes from the identity map, not from another statement, even after the code that
first read it has let it go."""

from __future__ import annotations

import gc
import sqlite3
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from expressway.storage.engine import HoldingSession, make_engine, make_session_factory
from expressway.storage.faults import database_fault
from tests.databases import statements_on


class _Base(DeclarativeBase):
    pass


class Thing(_Base):
    __tablename__ = "holding_session_things"
    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))


class Pair(_Base):
    """A row of a composite primary key."""

    __tablename__ = "holding_session_pairs"
    left: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    right: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'holding.db'}")
    _Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(Thing), [{"id": "a", "name": "first"}])
        connection.execute(sa.insert(Pair), [{"left": "a", "right": 1, "name": "pair"}])
    yield engine
    engine.dispose()


def _selects(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def test_a_row_read_twice_by_key_is_read_from_the_database_once(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with statements_on(engine) as statements, sessions() as session:
        assert isinstance(session, HoldingSession)
        name = session.get(Thing, "a").name  # type: ignore[union-attr]
        gc.collect()  # the row has no reference left but the session's
        again = session.get(Thing, "a")
        assert again is not None
        assert again.name == name == "first"
    assert len(_selects(statements)) == 1


def test_a_plain_session_reads_a_dropped_row_again(engine: Engine) -> None:
    # What the holding session is for: the identity map alone keeps rows weakly.
    with statements_on(engine) as statements, sa.orm.Session(engine) as session:
        assert session.get(Thing, "a") is not None
        gc.collect()
        assert session.get(Thing, "a") is not None
    assert len(_selects(statements)) == 2


def test_a_row_read_by_key_is_the_row_sqlalchemy_would_read(engine: Engine) -> None:
    """The session's ``get`` reads with a statement built once per class; what it answers is
    what ``Session.get`` answers, in the identity map as a row ``Session.get`` loaded is."""
    sessions = make_session_factory(engine)
    with statements_on(engine) as statements, sessions() as session:
        row = session.get(Thing, "a")
        assert row is not None
        assert (row.id, row.name) == ("a", "first")
        assert (
            session.identity_map.get(sa.inspect(Thing).identity_key_from_primary_key(("a",))) is row
        )
        assert sa.orm.Session.get(session, Thing, "a") is row, "SQLAlchemy's get finds it held"
        assert session.get(Thing, "none such") is None
        # A change to a row read by key is flushed and committed as any.
        row.name = "renamed"
        session.commit()
    assert len(_selects(statements)) == 2
    with sessions() as session:
        assert session.get(Thing, "a").name == "renamed"  # type: ignore[union-attr]


def test_a_row_a_rollback_expired_is_read_again(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions() as session:
        row = session.get(Thing, "a")
        assert row is not None
        session.rollback()
        with engine.begin() as other:
            other.execute(sa.update(Thing).values(name="changed elsewhere"))
        again = session.get(Thing, "a")
        assert again is row
        assert again.name == "changed elsewhere"
        session.rollback()
        with engine.begin() as other:
            other.execute(sa.delete(Thing))
        assert session.get(Thing, "a") is None


def test_a_row_of_a_composite_key_is_read_by_its_tuple_and_held(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with statements_on(engine) as statements, sessions() as session:
        pair = session.get(Pair, ("a", 1))
        assert pair is not None
        assert (pair.left, pair.right, pair.name) == ("a", 1, "pair")
        assert session.get(Pair, ("a", 2)) is None
        assert session.get(Pair, ("a", 1)) is pair
        assert sa.orm.Session.get(session, Pair, ("a", 1)) is pair
    assert len(_selects(statements)) == 2


def test_a_get_with_options_or_a_key_sqlalchemy_alone_reads_is_sqlalchemys(
    engine: Engine,
) -> None:
    sessions = make_session_factory(engine)
    with statements_on(engine) as statements, sessions() as session:
        locked = session.get(Thing, "a", with_for_update=True)
        assert locked is not None
        assert session.get(Pair, {"left": "a", "right": 1}) is not None
        assert session.get(Pair, {"left": "a", "right": 2}) is None
        assert session.get(Pair, ("a", 1)) is not None, "held since the read by dict"
        with pytest.raises(sa_exc.InvalidRequestError):
            session.get(Pair, ("a",))  # a key of the wrong length, as SQLAlchemy says
    assert len(_selects(statements)) == 3


def test_what_a_session_held_is_freed_when_it_closes(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    session = sessions()
    row = session.get(Thing, "a")
    assert row is not None
    watched = weakref.ref(row)
    del row
    gc.collect()
    assert watched() is not None
    session.close()
    gc.collect()
    assert watched() is None


def test_a_session_that_waited_out_another_writer_raises_a_fault_of_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write session begins with ``BEGIN IMMEDIATE`` on the driver's own cursor; when another
    connection holds the write lock past the busy timeout, the error still comes out as
    SQLAlchemy's (what the services' 503 reads), and the session can be used again."""
    monkeypatch.setattr("expressway.storage.engine.SQLITE_BUSY_TIMEOUT_SECONDS", 0.05)
    path = tmp_path / "held.db"
    engine = make_engine(f"sqlite:///{path}")
    _Base.metadata.create_all(engine)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with make_session_factory(engine)() as waiting:
            waiting.add(Thing(id="b", name="second"))
            with pytest.raises(sa_exc.OperationalError) as raised:
                waiting.commit()
        fault = database_fault(raised.value)
        assert fault is not None
        assert fault.kind == "unavailable"
        # A reader needs no lock in WAL mode, and the writer goes on once the lock is free.
        with make_session_factory(engine, read_only=True)() as s:
            assert s.scalars(sa.select(Thing.id)).all() == []
        holder.rollback()
        with make_session_factory(engine)() as s:
            s.add(Thing(id="b", name="second"))
            s.commit()
    finally:
        holder.close()
        engine.dispose()
    with make_session_factory(engine)() as s:
        assert s.scalars(sa.select(Thing.id)).all() == ["b"]
