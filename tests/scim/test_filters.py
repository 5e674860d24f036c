"""SCIM filters (RFC 7644 §3.4.2.2): the parser's precedence, case rules and refusals."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scim2_models.path.expressions import LogicalExpr, Not

from expressway.scim import filters as f
from expressway.scim.errors import ScimError
from expressway.scim.resources import GroupResource, UserResource

ATTRIBUTES = ["userName", "externalId", "displayName", "title", "name.givenName", "emails.value"]
STRING_OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_and_binds_tighter_than_or() -> None:
    """``a or b and c`` is ``a or (b and c)`` (RFC 7644 §3.4.2.2, operator precedence)."""
    ast = f.parse_filter('userName eq "a" or title pr and active eq true', UserResource).ast
    assert isinstance(ast, f.LogicalExpr)
    assert ast.op == f.LogicalOperator.or_
    assert isinstance(ast.terms[1], f.LogicalExpr)
    assert ast.terms[1].op == f.LogicalOperator.and_


def test_parentheses_and_not_change_the_grouping() -> None:
    """Parentheses group and ``not`` negates the group that follows (RFC 7644 §3.4.2.2)."""
    ast = f.parse_filter('not (userName eq "a" or title pr) and active eq true', UserResource).ast
    assert isinstance(ast, f.LogicalExpr)
    assert ast.op == f.LogicalOperator.and_
    assert isinstance(ast.terms[0], f.Not)


def test_attribute_names_and_operators_are_case_insensitive() -> None:
    """``USERNAME EQ`` reads as ``userName eq`` (RFC 7644 §3.4.2.2)."""
    ast = f.parse_filter('USERNAME Eq "bjensen"', UserResource).ast
    assert isinstance(ast, f.Comparison)
    assert ast.op == f.CompareOperator.eq
    assert ast.value == "bjensen"


def test_urn_prefixed_attributes_are_understood() -> None:
    """A core or extension attribute may be named by its schema URN (RFC 7644 §3.10)."""
    core = f.parse_filter(
        'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"', UserResource
    ).ast
    assert isinstance(core, f.Comparison)
    extension = f.parse_filter(f'{ENTERPRISE}:department eq "R&D"', UserResource).ast
    assert isinstance(extension, f.Comparison)
    assert extension.attr_path.uri == ENTERPRISE


def test_value_paths_and_entras_sub_attribute_comparison_parse() -> None:
    """``emails[type eq "work"]`` and Entra's ``emails[type eq "work"].value eq "…"``."""
    plain = f.parse_filter('emails[type eq "work"]', UserResource).ast
    assert isinstance(plain, f.ValuePath)
    entra = f.parse_filter('emails[type eq "work"].value eq "a@example.com"', UserResource).ast
    assert isinstance(entra, f.ValuePath)
    members = f.parse_filter('members[value eq "2819c223"]', GroupResource).ast
    assert isinstance(members, f.ValuePath)


@pytest.mark.parametrize(
    "text",
    [
        "userName eq",
        'userName eq "unterminated',
        'userName zz "x"',
        'noSuchAttribute eq "x"',
        "active gt true",
        'emails[type eq "work"',
        "(userName pr",
        "",
        'userName eq "a\x00"',
    ],
)
def test_a_bad_filter_is_an_invalid_filter_error(text: str) -> None:
    """Syntax errors, unknown attributes and operators the type forbids are ``invalidFilter``
    (RFC 7644 §3.4.2.2, §3.12)."""
    with pytest.raises(ScimError) as raised:
        f.parse_filter(text, UserResource)
    assert raised.value.status == 400
    assert raised.value.scim_type == "invalidFilter"


def test_a_filter_longer_than_the_limit_is_refused_unread() -> None:
    """Length is bounded before parsing."""
    text = " or ".join(['userName eq "x"'] * 400)
    with pytest.raises(ScimError):
        f.parse_filter(text, UserResource)


def parse_error(text: str) -> ScimError | None:
    """The error parsing ``text`` raises, ``None`` when it parses."""
    try:
        f.parse_filter(text, UserResource)
    except ScimError as error:
        return error
    return None


@given(st.text(max_size=200))
def test_any_text_either_parses_or_is_an_invalid_filter(text: str) -> None:
    """No input makes the parser fail in any other way than ``invalidFilter``."""
    error = parse_error(text)
    assert error is None or (error.scim_type, error.status) == ("invalidFilter", 400)


comparisons = st.builds(
    lambda attribute, op, value: f'{attribute} {op} "{value}"',
    st.sampled_from(ATTRIBUTES),
    st.sampled_from(STRING_OPERATORS),
    st.text(alphabet=st.characters(codec="ascii", exclude_characters='"\\'), max_size=12).map(
        lambda v: v.replace("\x00", "")
    ),
)
presences = st.sampled_from(ATTRIBUTES).map(lambda attribute: f"{attribute} pr")
leaves = st.one_of(comparisons, presences)
expressions = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.tuples(children, st.sampled_from(["and", "or"]), children).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"
        ),
        children.map(lambda c: f"not ({c})"),
        children.map(lambda c: f"({c})"),
    ),
    max_leaves=8,
)


@given(expressions)
def test_a_parsed_filter_renders_to_text_that_parses_to_the_same_tree(text: str) -> None:
    """Parsing is stable: the tree renders back to a filter with the same tree, so the
    precedence the parser chose is the one the text means."""
    error = parse_error(text)
    if error is not None:
        # Only values a type refuses (a non-address in emails.value) may fail.
        assert error.scim_type == "invalidFilter"
        return
    tree = f.parse_filter(text, UserResource).ast
    reparsed = f.parse_filter(str(tree), UserResource).ast
    # "a and (b and c)" renders as "a and b and c", which parses as "(a and b) and c": the same
    # meaning, since and/or are associative. Trees are compared with such chains flattened.
    assert _flattened(reparsed) == _flattened(tree)


def _flattened(node: object) -> object:
    """``node`` with each chain of one logical operator as a single node of all its terms."""
    if isinstance(node, LogicalExpr):
        terms: list[object] = []
        for term in (_flattened(t) for t in node.terms):
            if isinstance(term, LogicalExpr) and term.op == node.op:
                terms.extend(term.terms)
            else:
                terms.append(term)
        return dataclasses.replace(node, terms=tuple(terms))
    if isinstance(node, Not):
        return dataclasses.replace(node, expr=_flattened(node.expr))
    return node
