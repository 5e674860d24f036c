"""JSON columns are written compact by :mod:`expressway.json_text` and read back unchanged, on
both databases: what orjson writes, and what it hands to :mod:`json` (an integer past 64 bits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from expressway.storage.engine import make_engine
from tests.conftest import BACKENDS
from tests.databases import fresh_database


class _Base(DeclarativeBase):
    pass


class Document(_Base):
    __tablename__ = "json_columns_document"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


VALUES: dict[str, Any] = {
    "text": "Zoë “quoted” \\ /</script>\u2028",
    "big": 2**70,
    "negative": -(2**63),
    "float": 0.1,
    "nested": {"list": [1, None, True, {"deep": []}]},
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_json_column_is_written_compact_and_read_back_unchanged(
    backend: str, tmp_path: Path
) -> None:
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            _Base.metadata.create_all(engine)
            with Session(engine) as session:
                session.add_all([Document(id=1, body=VALUES), Document(id=2, body={"a": "é"})])
                session.commit()
            with Session(engine) as session:
                stored = session.get(Document, 1)
                assert stored is not None
                assert stored.body == VALUES
                body = Document.__table__.c.body
                raw = session.execute(
                    sa.select(sa.cast(body, sa.Text)).where(Document.id == 2)
                ).scalar_one()
            # Compact and in UTF-8 where the column keeps the text as written (PostgreSQL's JSON
            # type does; SQLite's too).
            assert raw == '{"a":"é"}'
        finally:
            _Base.metadata.drop_all(engine)
            engine.dispose()
