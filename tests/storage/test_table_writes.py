"""The commit counter that in-process caches use to see their own process's writes
(:mod:`expressway.storage.table_writes`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from expressway.storage.table_writes import TableWrites


class _Base(DeclarativeBase):
    pass


class Watched(_Base):
    __tablename__ = "table_writes_watched"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Other(_Base):
    __tablename__ = "table_writes_other"
    id: Mapped[int] = mapped_column(primary_key=True)


WRITES = TableWrites([Watched.__tablename__])


@pytest.fixture
def session() -> Iterator[Session]:
    engine = sa.create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_a_committed_flush_of_a_watched_row_moves_the_counter(session: Session) -> None:
    before = WRITES.value
    session.add(Watched(id=1, name="a"))
    session.flush()
    assert WRITES.value == before, "moved before the commit"
    session.commit()
    assert WRITES.value == before + 1

    session.get_one(Watched, 1).name = "b"
    session.commit()
    assert WRITES.value == before + 2

    session.delete(session.get_one(Watched, 1))
    session.commit()
    assert WRITES.value == before + 3


def test_statements_that_bypass_the_flush_are_seen(session: Session) -> None:
    before = WRITES.value
    session.execute(sa.insert(Watched), [{"id": 1, "name": "a"}])
    session.commit()
    session.execute(sa.update(Watched).where(Watched.id == 1).values(name="b"))
    session.commit()
    session.execute(sa.delete(Watched))
    session.commit()
    assert WRITES.value == before + 3


def test_reads_and_other_tables_leave_it_alone(session: Session) -> None:
    before = WRITES.value
    session.add(Other(id=1))
    session.execute(sa.insert(Other), [{"id": 2}])
    session.scalars(sa.select(Watched)).all()
    session.commit()
    assert WRITES.value == before


def test_a_rolled_back_write_never_moves_it(session: Session) -> None:
    before = WRITES.value
    session.add(Watched(id=1, name="a"))
    session.flush()
    session.rollback()
    # The next transaction of the same session writes nothing watched.
    session.add(Other(id=1))
    session.commit()
    assert WRITES.value == before
