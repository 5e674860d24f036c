"""Moving every sealed value of a database to the current secret key.

After ``EXPRESSWAY_SECRET_KEY`` changes (the old one kept in ``EXPRESSWAY_SECRET_KEY_FALLBACKS``),
the values sealed before are still read through the fallback, but the fallback cannot go until
none is left: this is what finds and reseals them. Each system names where its sealed values
are (:class:`SealedColumn`: the tenant's in :mod:`expressway.tenant.services.resealing`, the
workforce's in :mod:`expressway.workforce.services.resealing`); :func:`reseal` walks them in one
transaction, the rows locked (``FOR UPDATE`` on PostgreSQL), so a value changed meanwhile by a
running replica is not overwritten with its old plaintext.

A value is counted as under the current key, resealed, or unreadable (no key given opens it).
Resealing is idempotent: a second run finds everything current. An unreadable value is left as
it is and named in the report; the others are resealed all the same, since each is a complete
value under a key every replica holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from expressway.sealing import Sealer, SealError

RowT = TypeVar("RowT")


@dataclass(frozen=True)
class SealedColumn(Generic[RowT]):
    """One kind of sealed value: the rows that hold it, how to read and replace it in a row, and
    the sealer (the purpose) it was sealed with."""

    #: What the values are, as an operator reads it: "signing keys", "connection client secrets".
    kind: str
    sealer: Sealer
    rows: Select[RowT]
    read: Callable[[RowT], str | None]
    write: Callable[[RowT, str], None]
    #: How the report names a row whose value no key opens.
    name: Callable[[RowT], str]


def sealed_attribute(
    kind: str,
    sealer: Sealer,
    rows: Select[RowT],
    attribute: str,
    name: Callable[[RowT], str],
) -> SealedColumn[RowT]:
    """A :class:`SealedColumn` whose value is a row's attribute (None where it has none)."""
    return SealedColumn(
        kind=kind,
        sealer=sealer,
        rows=rows,
        read=lambda row: getattr(row, attribute),
        write=lambda row, sealed: setattr(row, attribute, sealed),
        name=name,
    )


@dataclass
class Resealed:
    """What :func:`reseal` found of one kind of value."""

    kind: str
    #: Already under the current key.
    current: int = 0
    #: Under a fallback key: resealed under the current one (or to be, in a dry run).
    resealed: int = 0
    #: Opened by no key given, by the name of their row.
    unreadable: list[str] = field(default_factory=list)


def reseal(
    session: Session,
    columns: Sequence[SealedColumn[Any]],
    *,
    dry_run: bool = False,
    done: Callable[[Resealed], None] | None = None,
) -> list[Resealed]:
    """Reseal under the current key every value of ``columns`` sealed under a fallback, in
    ``session`` (the caller commits); with ``dry_run``, only count them. ``done`` is told what
    was found of each kind as soon as it is, for a progress bar."""
    found = []
    for column in columns:
        found.append(_reseal_column(session, column, dry_run=dry_run))
        if done is not None:
            done(found[-1])
    return found


def _reseal_column(
    session: Session,
    column: SealedColumn[Any],
    *,
    dry_run: bool,
) -> Resealed:
    found = Resealed(column.kind)
    rows = session.scalars(column.rows if dry_run else column.rows.with_for_update()).all()
    for row in rows:
        sealed = column.read(row)
        if sealed is None:
            continue
        try:
            resealed = column.sealer.reseal(sealed)
        except SealError:
            found.unreadable.append(column.name(row))
            continue
        if resealed is None:
            found.current += 1
            continue
        found.resealed += 1
        if not dry_run:
            column.write(row, resealed)
    return found
