"""Okta's filter and search expressions (RFC 7644 §3.4.2.2 grammar): parsed, or refused."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressway.workforce.expressions import (
    MAX_COMPARISONS,
    MAX_DEPTH,
    And,
    Comparison,
    ExpressionError,
    Or,
    Present,
    parse,
)


def test_and_binds_tighter_than_or_and_parentheses_group() -> None:
    """``a or b and c`` is ``a or (b and c)``; parentheses override."""
    a = Comparison("status", "eq", "ACTIVE")
    b = Comparison("profile.firstName", "sw", "A")
    c = Comparison("profile.lastName", "co", "x")
    assert parse(
        'status eq "ACTIVE" or profile.firstName sw "A" and profile.lastName co "x"'
    ) == Or((a, And((b, c))))
    assert parse(
        '(status eq "ACTIVE" OR profile.firstName sw "A") AND profile.lastName co "x"'
    ) == And((Or((a, b)), c))


def test_values_are_strings_with_escapes_numbers_booleans_null_and_presence() -> None:
    """Every value form of the grammar, and ``pr``."""
    assert parse(r'profile.nickName eq "say \"hi\""') == Comparison(
        "profile.nickName", "eq", 'say "hi"'
    )
    assert parse("x gt 3") == Comparison("x", "gt", 3)
    assert parse("x lt 2.5") == Comparison("x", "lt", 2.5)
    assert parse("x eq true") == Comparison("x", "eq", True)
    assert parse("x eq null") == Comparison("x", "eq", None)
    assert parse("profile.email pr") == Present("profile.email")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("status", "ends too early"),
        ('status is "ACTIVE"', "unknown operator"),
        ("status eq ACTIVE", "expected a value"),
        ('(status eq "A"', "ends too early"),
        ('status eq "A")', "unexpected"),
        ('status eq "A" and', "ends too early"),
        ('"A" eq status', "expected an attribute"),
        ("status eq 'A'", "unexpected character"),
    ],
)
def test_a_malformed_expression_is_refused_saying_where(text: str, message: str) -> None:
    """Each syntax error is an ExpressionError that says what was expected."""
    with pytest.raises(ExpressionError, match=message):
        parse(text)


def test_an_expression_too_large_or_too_deep_is_refused() -> None:
    """Bounded work for any input: no more comparisons or nesting than the limits."""
    many = " or ".join(['x eq "1"'] * (MAX_COMPARISONS + 1))
    with pytest.raises(ExpressionError, match="comparisons"):
        parse(many)
    deep = "(" * (MAX_DEPTH + 1) + 'x eq "1"' + ")" * (MAX_DEPTH + 1)
    with pytest.raises(ExpressionError, match="nest"):
        parse(deep)


@given(st.text(max_size=200))
def test_any_text_is_parsed_or_refused_with_an_expression_error(text: str) -> None:
    """Whatever a client sends, the parser answers a tree or ExpressionError, never a crash."""
    with contextlib.suppress(ExpressionError):
        parse(text)


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["status", "profile.login", "id"]),
            st.sampled_from(["eq", "ne", "sw", "co", "gt", "lt"]),
            st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_comparisons_joined_by_or_parse_back_to_their_values(
    parts: list[tuple[str, str, str]],
) -> None:
    """Quoted values survive escaping: what a client quotes is what the server compares."""
    text = " or ".join(
        f"{attribute} {operator} {_quote(value)}" for attribute, operator, value in parts
    )
    tree = parse(text)
    comparisons = tree.parts if isinstance(tree, Or) else (tree,)
    assert [
        (c.attribute, c.operator, c.value) for c in comparisons if isinstance(c, Comparison)
    ] == parts
