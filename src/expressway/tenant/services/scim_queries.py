"""SCIM filters compiled to SQL, so that a lookup costs what its index costs.

Each resource names the attributes it keeps in indexed columns (``userName`` lower-cased,
``externalId``, ``active``, ``meta.created``…). A filter over those alone becomes one SQL
condition, exact. Any other part (``emails[type eq "work"]``, ``name.givenName sw "B"``) cannot
be said in SQL, so the condition keeps what it can as a superset and the filter is evaluated in
memory on what the database returns; :data:`MAX_SCANNED` bounds that work, past which the filter
is refused as ``tooMany`` (RFC 7644 §3.12) rather than read through.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

import sqlalchemy as sa
from scim2_models import ScimFilter
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import ColumnElement

from expressway.scim import filters as f
from expressway.scim.errors import too_many
from expressway.scim.resources import comparison_key

RowT = TypeVar("RowT")

#: Rows a filter that SQL cannot fully express may read to evaluate it in memory.
MAX_SCANNED = 10_000


class Kind(Enum):
    #: A string compared case-insensitively, stored in its comparison form.
    KEY = "key"
    #: A caseExact string (``id``, ``externalId``), possibly absent.
    EXACT = "exact"
    BOOLEAN = "boolean"
    DATETIME = "datetime"


@dataclass(frozen=True)
class Indexed:
    column: InstrumentedAttribute[Any]
    kind: Kind


@dataclass(frozen=True)
class Condition:
    """A SQL condition (``None``: none could be made) and whether it is the whole filter."""

    clause: ColumnElement[bool] | None
    exact: bool


_INEXACT = Condition(None, False)


def _like_pattern(value: str, prefix: str, suffix: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{prefix}{escaped}{suffix}"


class SqlCompiler:
    """Turns a bound filter into a :class:`Condition` over the ``columns`` of one resource,
    keyed by each attribute's lower-cased URN (``urn:…:User:userName``)."""

    def __init__(self, scim_filter: ScimFilter[Any], columns: dict[str, Indexed]) -> None:
        self.scim_filter = scim_filter
        self.columns = columns

    def compile(self, node: f.FilterNode) -> Condition:
        if isinstance(node, f.LogicalExpr):
            parts = [self.compile(term) for term in node.terms]
            clauses = [p.clause for p in parts if p.clause is not None]
            exact = all(p.exact for p in parts)
            if node.op == f.LogicalOperator.and_:
                return Condition(sa.and_(*clauses) if clauses else None, exact)
            if len(clauses) < len(parts):
                return _INEXACT
            return Condition(sa.or_(*clauses), exact)
        if isinstance(node, f.Not):
            inner = self.compile(node.expr)
            if inner.clause is None or not inner.exact:
                return _INEXACT
            # NOT of a comparison with an absent value is true in SCIM, NULL in SQL.
            return Condition(sa.not_(sa.func.coalesce(inner.clause, sa.false())), True)
        if isinstance(node, f.Present):
            return self._present(node)
        if isinstance(node, f.Comparison):
            return self._comparison(node)
        return _INEXACT

    def _indexed(self, node: f.Comparison | f.Present) -> tuple[Indexed | None, Any]:
        binding = f.bind(self.scim_filter, node)
        return self.columns.get(binding.urn.lower()), binding

    def _present(self, node: f.Present) -> Condition:
        indexed, _ = self._indexed(node)
        if indexed is None:
            return _INEXACT
        column = indexed.column
        if indexed.kind in (Kind.KEY, Kind.EXACT):
            return Condition(sa.and_(column.is_not(None), column != ""), True)
        return Condition(column.is_not(None), True)

    def _comparison(self, node: f.Comparison) -> Condition:
        indexed, binding = self._indexed(node)
        if indexed is None:
            return _INEXACT
        op, column = node.op, indexed.column
        if indexed.kind is Kind.BOOLEAN:
            value = f.coerced(binding, node)
            if not isinstance(value, bool) or op not in (
                f.CompareOperator.eq,
                f.CompareOperator.ne,
            ):
                return _INEXACT
            return Condition(
                column == value if op == f.CompareOperator.eq else column != value, True
            )
        if indexed.kind is Kind.DATETIME:
            return self._datetime(column, op, f.coerced(binding, node))
        value = node.value
        if value is None:
            if op == f.CompareOperator.eq:
                return Condition(column.is_(None), True)
            if op == f.CompareOperator.ne:
                return Condition(column.is_not(None), True)
            return Condition(sa.false(), True)
        if not isinstance(value, str):
            return _INEXACT
        if indexed.kind is Kind.KEY:
            value = comparison_key(binding, value)
        if op == f.CompareOperator.eq:
            return Condition(column == value, True)
        if op == f.CompareOperator.ne:
            return Condition(sa.or_(column.is_(None), column != value), True)
        # LIKE is case-insensitive on SQLite: only a superset for caseExact values.
        exact = indexed.kind is not Kind.EXACT
        patterns = {
            f.CompareOperator.sw: ("", "%"),
            f.CompareOperator.ew: ("%", ""),
            f.CompareOperator.co: ("%", "%"),
        }
        if op not in patterns:
            return _INEXACT
        prefix, suffix = patterns[op]
        return Condition(column.like(_like_pattern(value, prefix, suffix), escape="\\"), exact)

    @staticmethod
    def _datetime(
        column: InstrumentedAttribute[Any], op: f.CompareOperator, value: Any
    ) -> Condition:
        if not isinstance(value, datetime):
            return _INEXACT
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        comparisons: dict[f.CompareOperator, Callable[[], ColumnElement[bool]]] = {
            f.CompareOperator.eq: lambda: column == value,
            f.CompareOperator.ne: lambda: column != value,
            f.CompareOperator.gt: lambda: column > value,
            f.CompareOperator.ge: lambda: column >= value,
            f.CompareOperator.lt: lambda: column < value,
            f.CompareOperator.le: lambda: column <= value,
        }
        make = comparisons.get(op)
        return Condition(make(), True) if make else _INEXACT


@dataclass(frozen=True)
class Page:
    """``startIndex`` (1-based) and ``count`` as RFC 7644 §3.4.2.4 reads them."""

    start_index: int
    count: int


def run_query(
    session: Session,
    base: sa.Select[RowT],
    parameters: Mapping[str, Any],
    order_by: Sequence[InstrumentedAttribute[Any]],
    page: Page,
    condition: Condition,
    keep: Callable[[list[RowT]], list[RowT]] | None,
) -> tuple[list[RowT], int]:
    """One page of ``base`` (its bound ``parameters`` given) narrowed by ``condition``, and the
    total number of results.

    When the condition is not the whole filter, ``keep`` evaluates the rest in memory over every
    candidate (at most :data:`MAX_SCANNED`), and the page is cut from what it keeps.
    """
    statement = base if condition.clause is None else base.where(condition.clause)
    if condition.exact or keep is None:
        rows: list[RowT] = []
        if page.count > 0:
            rows = list(
                session.scalars(
                    statement.order_by(*order_by).offset(page.start_index - 1).limit(page.count),
                    parameters,
                )
            )
        if 0 < len(rows) < page.count:
            # A page that is neither empty nor full is the last one: it tells the total, so a
            # lookup (one user by userName) costs one query, not two.
            return rows, page.start_index - 1 + len(rows)
        counted = sa.select(sa.func.count()).select_from(statement.subquery())
        total = session.scalar(counted, parameters) or 0
        return rows, total
    candidates = list(
        session.scalars(statement.order_by(*order_by).limit(MAX_SCANNED + 1), parameters)
    )
    if len(candidates) > MAX_SCANNED:
        raise too_many(
            f"the filter must be evaluated over more than {MAX_SCANNED} resources; narrow it"
            " with userName, externalId, id or active"
        )
    kept = keep(candidates)
    start = page.start_index - 1
    return kept[start : start + page.count], len(kept)
