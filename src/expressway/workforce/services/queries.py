"""``filter``, ``search`` and ``q`` of the admin API's lists, turned into SQL conditions.

Each list names the attributes it can be searched on and what kind each is; an expression that
uses another attribute, or an operator its kind does not support, is refused naming both. Strings
compare without regard to case, as Okta's do; dates are ISO 8601.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, false, func, or_

from expressway.workforce import expressions
from expressway.workforce.errors import WorkforceError


class InvalidSearch(WorkforceError):
    """E0000031, naming the query parameter at fault."""

    code = "E0000031"

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__("Invalid search criteria.", causes=[f"{parameter}: {problem}"])


class Kind(Enum):
    #: Compared without regard to case; ``sw`` and ``co`` allowed.
    TEXT = "text"
    #: An upper-case code (``status``): compared exactly, after upper-casing the value.
    CODE = "code"
    #: Compared exactly (ids).
    EXACT = "exact"
    DATE = "date"
    #: A column of ids between spaces (`` a b ``): ``eq`` asks whether one of them is the value.
    MEMBER = "member"


_OPERATORS = {
    Kind.TEXT: ("eq", "ne", "sw", "co", "gt", "ge", "lt", "le"),
    Kind.CODE: ("eq", "ne", "gt", "ge", "lt", "le"),
    Kind.EXACT: ("eq", "ne"),
    Kind.DATE: ("eq", "ne", "gt", "ge", "lt", "le"),
    Kind.MEMBER: ("eq",),
}


@dataclass(frozen=True)
class Attribute:
    column: SQLColumnExpression[Any]
    kind: Kind
    #: For an attribute of a related row (an app's ``user.id``): turns the condition on that
    #: row into one on the listed rows, such as ``AppRow.id IN (SELECT app_id … WHERE …)``.
    related: Callable[[ColumnElement[bool]], ColumnElement[bool]] | None = None


def parse_date(text: str) -> datetime:
    """An ISO 8601 date and time; without a zone, UTC."""
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is not a date; use ISO 8601, e.g. 2024-01-31T00:00:00.000Z"
        ) from exc
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _compare(column: SQLColumnExpression[Any], operator: str, value: Any) -> ColumnElement[bool]:
    compared: ColumnElement[bool]
    match operator:
        case "eq":
            compared = column == value
        case "ne":
            compared = column != value
        case "gt":
            compared = column > value
        case "ge":
            compared = column >= value
        case "lt":
            compared = column < value
        case "le":
            compared = column <= value
        case "sw":
            compared = column.startswith(value, autoescape=True)
        case _:
            compared = column.contains(value, autoescape=True)
    return compared


def _comparison(
    parameter: str, node: expressions.Comparison, attribute: Attribute
) -> ColumnElement[bool]:
    if node.operator not in _OPERATORS[attribute.kind]:
        raise InvalidSearch(
            parameter, f"the operator {node.operator} is not supported on {node.attribute}"
        )
    if node.value is None:
        if node.operator not in ("eq", "ne"):
            raise InvalidSearch(parameter, "null can only be compared with eq or ne")
        if node.operator == "eq":
            return attribute.column.is_(None)
        return attribute.column.is_not(None)
    if not isinstance(node.value, str):
        raise InvalidSearch(parameter, f"{node.attribute} is compared with a quoted string")
    match attribute.kind:
        case Kind.TEXT:
            return _compare(func.lower(attribute.column), node.operator, node.value.lower())
        case Kind.CODE:
            return _compare(attribute.column, node.operator, node.value.upper())
        case Kind.EXACT:
            return _compare(attribute.column, node.operator, node.value)
        case Kind.MEMBER:
            return attribute.column.contains(f" {node.value} ", autoescape=True)
        case Kind.DATE:
            try:
                at = parse_date(node.value)
            except ValueError as exc:
                raise InvalidSearch(parameter, f"{node.attribute}: {exc}") from exc
            return _compare(attribute.column, node.operator, at)


def condition(
    parameter: str, text: str, attributes: Mapping[str, Attribute]
) -> ColumnElement[bool]:
    """The SQL condition of the expression ``text`` given as the query parameter ``parameter``."""
    try:
        tree = expressions.parse(text)
    except expressions.ExpressionError as exc:
        raise InvalidSearch(parameter, str(exc)) from exc
    return _compile(parameter, tree, attributes)


def _compile(
    parameter: str, node: expressions.Expression, attributes: Mapping[str, Attribute]
) -> ColumnElement[bool]:
    if isinstance(node, expressions.And):
        return and_(*(_compile(parameter, part, attributes) for part in node.parts))
    if isinstance(node, expressions.Or):
        return or_(*(_compile(parameter, part, attributes) for part in node.parts))
    attribute = attributes.get(node.attribute)
    if attribute is None:
        known = ", ".join(sorted(attributes))
        raise InvalidSearch(
            parameter, f"{node.attribute} cannot be searched on; use one of: {known}"
        )
    compiled: ColumnElement[bool]
    if isinstance(node, expressions.Present):
        compiled = attribute.column.is_not(None)
    else:
        compiled = _comparison(parameter, node, attribute)
    return attribute.related(compiled) if attribute.related is not None else compiled


def starts_with_any(text: str, columns: list[SQLColumnExpression[Any]]) -> ColumnElement[bool]:
    """``q``: any of ``columns`` starts with ``text``, whatever the case."""
    if not columns:
        return false()
    prefix = text.lower()
    return or_(*(func.lower(c).startswith(prefix, autoescape=True) for c in columns))
