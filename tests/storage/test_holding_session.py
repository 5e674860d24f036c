"""Sessions hold what they read until they close
(:class:`~expressway.storage.engine.HoldingSession`): a row read again by primary key in the same
unit of work comes from the identity map, not from another statement, even after the code that
first read it has let it go."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from expressway.storage.engine import HoldingSession, make_engine, make_session_factory
from tests.databases import statements_on


class _Base(DeclarativeBase):
    pass


class Thing(_Base):
    __tablename__ = "holding_session_things"
    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'holding.db'}")
    _Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(Thing), [{"id": "a", "name": "first"}])
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
