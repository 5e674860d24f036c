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


#: The parts of a generated filter ``{attribute}{space}{operator}{space}{quote}{value}{quote}``:
#: mostly the shortcut's own shape, so that the shortcut is what is exercised.
FILTER_PARTS = {
    "attribute": st.sampled_from(ATTRIBUTES),
    "operator": st.sampled_from(OPERATORS),
    "value": st.text(alphabet=st.sampled_from(TRICKY), max_size=6) | st.text(max_size=6),
    "spaces": st.sampled_from([(" ", " ")] * 4 + [("  ", " "), (" ", "\t")]),
    "quote": st.sampled_from(['"'] * 4 + ["'", ""]),
}


@settings(max_examples=400)
@given(**FILTER_PARTS, model=st.sampled_from([UserResource, GroupResource]))
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


def _grammars_name_equality(text: str, attribute: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The string the grammar's tree compares ``attribute`` with by ``eq``, alone; else None."""
    model = UserResource if attribute == "userName" else GroupResource
    tree = _through_the_grammar(text, model, monkeypatch)
    if (
        isinstance(tree, f.Comparison)
        and tree.op == f.CompareOperator.eq
        and tree.attr_path.attr.lower() == attribute.lower()
        and tree.attr_path.sub_attr is None
        and isinstance(tree.value, str)
    ):
        return tree.value
    return None


@settings(max_examples=400)
@given(**FILTER_PARTS, name=st.sampled_from(["userName", "displayName"]))
@example(
    attribute="USERNAME",
    operator="EQ",
    value="Bjensen@Example.com",
    spaces=(" ", " "),
    quote='"',
    name="userName",
)
def test_a_lookup_by_name_is_recognised_only_where_the_grammar_reads_one(
    attribute: str, operator: str, value: str, spaces: tuple[str, str], quote: str, name: str
) -> None:
    """:func:`filters.name_equality` finds the name where the grammar reads ``name eq "…"``,
    the same string, and nothing anywhere else (the grammar may still read an escaped string
    as such a lookup: the full path answers it then)."""
    text = f"{attribute}{spaces[0]}{operator}{spaces[1]}{quote}{value}{quote}"
    found = f.name_equality(text, name)
    if found is not None:
        with pytest.MonkeyPatch.context() as monkeypatch:
            assert found == _grammars_name_equality(text, name, monkeypatch)


def test_a_lookup_by_name_is_recognised_in_the_shape_clients_send() -> None:
    assert f.name_equality('userName eq "Bjensen@Example.com"', "userName") == "Bjensen@Example.com"
    assert f.name_equality('USERNAME EQ "a"', "userName") == "a"
    assert f.name_equality('displayName eq "Admins"', "displayName") == "Admins"
    for text in (
        'userName ne "a"',
        'userName.x eq "a"',
        'externalId eq "a"',
        'userName eq "a\\"b"',
    ):
        assert f.name_equality(text, "userName") is None
    assert f.name_equality('userName eq "a"', "displayName") is None
