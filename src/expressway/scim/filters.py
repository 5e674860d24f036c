"""SCIM filters (RFC 7644 §3.4.2.2) parsed into a typed syntax tree.

scim2-models holds the grammar (``eq ne co sw ew pr gt ge lt le``, ``and``/``or``/``not`` with
``and`` binding tighter, parentheses, value paths such as ``emails[type eq "work"].value``,
URN-qualified attribute names, case-insensitive names and operators) and an evaluator; writing
another parser would only add a second grammar to keep right. This module binds a filter to the
resource it queries, so a filter naming an attribute the resource does not have, or comparing it
with a value of the wrong type, is an ``invalidFilter`` error before any query runs.
"""

from __future__ import annotations

import functools
import re
from typing import Any, cast

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    AttributeBinding,
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
    coerce_value,
)

from expressway.scim.errors import ScimError, invalid_filter
from expressway.scim.resources import POLICY, GroupResource, UserResource

__all__ = [
    "MAX_FILTER_LENGTH",
    "AttrPath",
    "AttributeBinding",
    "CompareOperator",
    "Comparison",
    "FilterNode",
    "LogicalExpr",
    "LogicalOperator",
    "Not",
    "Present",
    "ValuePath",
    "bind",
    "coerced",
    "matches",
    "name_equality",
    "parse_filter",
]

#: Longer filters are refused unread: no provisioning client sends one, and parsing is linear.
MAX_FILTER_LENGTH = 4096


#: The shape of nearly every provisioning lookup (``userName eq "…"``, ``externalId eq "…"``):
#: an attribute (``_ATTRIBUTE``, optionally with a sub-attribute), one comparison operator and a
#: string with no escape in it, separated by single spaces.
_ATTRIBUTE = r"[A-Za-z][A-Za-z0-9$_-]*"
_SIMPLE_COMPARISON = re.compile(
    rf'({_ATTRIBUTE})(?:\.({_ATTRIBUTE}))? (eq|ne|co|sw|ew|gt|ge|lt|le) "([^"\\\x00-\x1f]*)"',
    re.IGNORECASE,
)


@functools.cache
def _attribute_names(model: type[UserResource] | type[GroupResource]) -> frozenset[str]:
    """The lower-cased names of ``model``'s core attributes."""
    names = (str(field.serialization_alias or name) for name, field in model.model_fields.items())
    return frozenset(name.lower() for name in names if not name.lower().startswith("urn:"))


def _simple_comparison(text: str, model: type[UserResource] | type[GroupResource]) -> Any:
    """The syntax tree scim2-models' grammar makes of ``text`` when ``text`` is a simple
    comparison of one of ``model``'s attributes, built without running the grammar (most of a
    lookup's parsing cost); ``None`` for anything else, which the grammar reads. An attribute
    ``model`` lacks is left to the grammar too, so every refusal is worded by it."""
    matched = _SIMPLE_COMPARISON.fullmatch(text)
    if matched is None:
        return None
    attribute, sub_attribute, operator, value = matched.groups()
    if attribute.lower() not in _attribute_names(model):
        return None
    return Comparison(
        attr_path=AttrPath(attr=attribute, sub_attr=sub_attribute),
        op=CompareOperator(operator.lower()),
        value=value,
    )


def name_equality(text: str, attribute: str) -> str | None:
    """The string of ``text`` when ``text`` is ``{attribute} eq "…"`` exactly (the attribute
    in any case, no sub-attribute, a string without escapes), the shape of every provisioning
    lookup by name; ``None`` for any other filter. It means what the grammar makes of it, on
    which its caller may rely instead of parsing it."""
    if len(text) > MAX_FILTER_LENGTH:
        return None
    matched = _SIMPLE_COMPARISON.fullmatch(text)
    if matched is None:
        return None
    name, sub_attribute, operator, value = matched.groups()
    if sub_attribute is not None or operator.lower() != "eq" or name.lower() != attribute.lower():
        return None
    return cast(str, value)


def parse_filter(text: str, model: type[UserResource] | type[GroupResource]) -> ScimFilter[Any]:
    """``text`` parsed and checked against ``model``; raises ``invalidFilter`` when it is not a
    filter, names an attribute ``model`` lacks, or compares one in a way its type forbids."""
    if len(text) > MAX_FILTER_LENGTH:
        raise invalid_filter(f"the filter is longer than {MAX_FILTER_LENGTH} characters")
    if "\x00" in text:
        raise invalid_filter("the filter contains a NUL character")
    bound = cast(Any, ScimFilter)[model]
    try:
        with POLICY:
            scim_filter = cast("ScimFilter[Any]", bound(_simple_comparison(text, model) or text))
            _check_attributes(scim_filter, scim_filter.ast)
    except InvalidFilterException as exc:
        raise invalid_filter(exc.detail) from exc
    except (TypeError, ValueError) as exc:
        raise invalid_filter(str(exc)) from exc
    return scim_filter


def _check_attributes(scim_filter: ScimFilter[Any], node: FilterNode) -> None:
    """Refuse attributes the resource does not declare (the endpoint serves one type, so
    RFC 7644 §3.4.2.1's "evaluate to false" for other types' attributes does not apply)."""
    if isinstance(node, LogicalExpr):
        for term in node.terms:
            _check_attributes(scim_filter, term)
    elif isinstance(node, Not):
        _check_attributes(scim_filter, node.expr)
    elif isinstance(node, Comparison):
        scim_filter.resolve_comparison(node.attr_path, strict=True)
    elif isinstance(node, Present | ValuePath):
        scim_filter.resolve(node.attr_path, strict=True)


def bind(scim_filter: ScimFilter[Any], node: Comparison | Present) -> AttributeBinding:
    """The attribute a comparison or presence test is about (a comparison with a multi-valued
    complex attribute is about its ``value``, RFC 7644 §3.4.2.2)."""
    try:
        binding = (
            scim_filter.resolve_comparison(node.attr_path, strict=True)
            if isinstance(node, Comparison)
            else scim_filter.resolve(node.attr_path, strict=True)
        )
    except InvalidFilterException as exc:
        raise invalid_filter(exc.detail) from exc
    if binding is None:  # pragma: no cover - parse_filter always binds to a model
        raise invalid_filter(f"unknown attribute {node.attr_path}")
    return binding


def coerced(binding: AttributeBinding, node: Comparison) -> Any:
    """The comparison's value read as the attribute's type (a ``dateTime`` string becomes a
    datetime)."""
    try:
        return coerce_value(binding, node.value, node.op)
    except InvalidFilterException as exc:
        raise invalid_filter(exc.detail) from exc


def matches(scim_filter: ScimFilter[Any], resource: UserResource | GroupResource) -> bool:
    """Whether ``resource`` satisfies the filter, evaluated in memory."""
    try:
        with POLICY:
            return scim_filter.match(resource)
    except InvalidFilterException as exc:
        raise ScimError(400, exc.detail, "invalidFilter") from exc
