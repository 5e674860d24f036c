"""Simple comparisons (``userName eq "…"``) are read without scim2-models' grammar: whatever
the text, :func:`filters.parse_filter` answers exactly what the grammar makes of it, the same
tree or the same refusal (RFC 7644 §3.4.2.2)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from expressway.scim import filters as f
from expressway.scim.errors import ScimError
from expressway.scim.resources import GroupResource, UserResource

ATTRIBUTES = [
    "userName",
    "USERNAME",
    "externalId",
    "id",
    "active",
    "displayName",
    "emails",
    "emails.value",
    "name.givenName",
    "NAME.FAMILYNAME",
    "name.nothing",
    "meta.lastModified",
    "members.value",
    "title",
    "nothing",
    "not",
    "pr",
    "eq",
    "urn",
    "a$b",
]
OPERATORS = ["eq", "EQ", "Ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "eqx", "in"]


def _outcome(text: str, model: type[UserResource] | type[GroupResource]) -> Any:
    """The tree, or the refusal's type and detail."""
    try:
        return f.parse_filter(text, model).ast
    except ScimError as exc:
        return (exc.status, exc.scim_type, exc.detail)


def _through_the_grammar(
    text: str, model: type[UserResource] | type[GroupResource], monkeypatch: pytest.MonkeyPatch
) -> Any:
    with monkeypatch.context() as patched:
        patched.setattr(f, "_simple_comparison", lambda _text, _model: None)
        return _outcome(text, model)


#: Characters where the shortcut and the grammar could part: quotes, escapes, blanks, controls.
TRICKY = [" ", "\t", "\n", '"', "\\", "'", "\x7f", "\u2028", "é", "A", "z", "0", "%", "_"]


@settings(max_examples=400)
@given(
    attribute=st.sampled_from(ATTRIBUTES),
    operator=st.sampled_from(OPERATORS),
    value=st.text(alphabet=st.sampled_from(TRICKY), max_size=6) | st.text(max_size=6),
    # Mostly the shortcut's own shape, so that the shortcut is what is exercised.
    spaces=st.sampled_from([(" ", " ")] * 4 + [("  ", " "), (" ", "\t")]),
    quote=st.sampled_from(['"'] * 4 + ["'", ""]),
    model=st.sampled_from([UserResource, GroupResource]),
)
@example(
    attribute="userName",
    operator="eq",
    value="Bjensen@Example.com",
    spaces=(" ", " "),
    quote='"',
    model=UserResource,
)
def test_a_filter_reads_as_the_grammar_reads_it(
    attribute: str,
    operator: str,
    value: str,
    spaces: tuple[str, str],
    quote: str,
    model: type[UserResource] | type[GroupResource],
) -> None:
    text = f"{attribute}{spaces[0]}{operator}{spaces[1]}{quote}{value}{quote}"
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert _outcome(text, model) == _through_the_grammar(text, model, monkeypatch)


def test_a_lookup_is_read_without_the_grammar() -> None:
    """The shortcut is taken for the lookups provisioning clients send."""
    for text in ('userName eq "Bjensen@Example.com"', 'externalId EQ "00u1"', 'id eq "x"'):
        assert f._simple_comparison(text, UserResource) is not None
    assert f._simple_comparison('displayName eq "Admins"', GroupResource) is not None


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "a\\"b"',
        'userName  eq "x"',
        ' userName eq "x"',
        'userName eq "x" or title pr',
        'nothing eq "x"',
        'emails[type eq "work"]',
        'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"',
        "active eq true",
    ],
)
def test_anything_else_is_left_to_the_grammar(text: str) -> None:
    assert f._simple_comparison(text, UserResource) is None
