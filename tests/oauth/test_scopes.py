"""Scope strings (RFC 6749 §3.3) and the OpenID Connect scope rules (OIDC Core §5.4)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expressway.oauth.errors import InvalidScope
from expressway.oauth.scopes import (
    check_narrowing,
    format_scope,
    is_scope_token,
    parse_scope,
    released_claims,
)

#: RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
TOKEN_CHARACTERS = "".join(chr(c) for c in [0x21, *range(0x23, 0x5C), *range(0x5D, 0x7F)])
tokens = st.text(alphabet=TOKEN_CHARACTERS, min_size=1, max_size=30)


def test_a_scope_string_is_split_on_spaces_in_order_without_repeats() -> None:
    assert parse_scope("openid  email openid read:reports") == ["openid", "email", "read:reports"]
    assert parse_scope("") == []


@pytest.mark.parametrize(
    "value",
    ['openid "email"', "openid\temail", "read\\all", "caf\u00e9", "openid\nemail", "x" * 281],
)
def test_a_character_outside_the_scope_token_grammar_refuses_the_whole_string(value: str) -> None:
    """RFC 6749 §3.3: no quote, backslash, control, non-ASCII; a bound on each token."""
    with pytest.raises(InvalidScope):
        parse_scope(value)


def test_an_overlong_scope_string_is_refused() -> None:
    with pytest.raises(InvalidScope):
        parse_scope("a " * 3000)


@settings(max_examples=200)
@given(st.lists(tokens, max_size=10))
def test_formatting_then_parsing_gives_back_the_scopes(scopes: list[str]) -> None:
    """Round trip: what we write in a token's scope claim reads back the same."""
    assert parse_scope(format_scope(scopes)) == list(dict.fromkeys(scopes))


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_any_string_parses_into_grammar_tokens_or_is_refused(value: str) -> None:
    """Nothing outside the grammar ever comes out of the parser."""
    try:
        parsed = parse_scope(value)
    except InvalidScope:
        return
    assert all(is_scope_token(token) for token in parsed)
    assert len(parsed) == len(set(parsed))


@given(st.sets(tokens, max_size=6), st.sets(tokens, max_size=6))
def test_narrowing_accepts_exactly_the_subsets_of_the_grant(
    granted: set[str], asked: set[str]
) -> None:
    """RFC 6749 §6: a refresh may narrow the scope, never widen it."""
    if asked <= granted:
        check_narrowing(asked, granted)
    else:
        with pytest.raises(InvalidScope) as refused:
            check_narrowing(asked, granted)
        assert sorted(asked - granted)[0] in refused.value.description


def test_profile_and_email_release_their_oidc_core_claims() -> None:
    """OIDC Core §5.4."""
    assert released_claims(["openid"]) == []
    assert released_claims(["email", "email"]) == ["email", "email_verified"]
    assert "name" in released_claims(["profile"])


@given(
    st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=300)
    | st.text(alphabet=TOKEN_CHARACTERS, min_size=270, max_size=290)
    | st.text()
)
def test_a_scope_token_is_exactly_the_grammars(value: str) -> None:
    """One to 280 characters of the grammar's, nothing else (a newline at the end included)."""
    expected = 0 < len(value) <= 280 and all(c in TOKEN_CHARACTERS for c in value)
    assert is_scope_token(value) is expected
    assert is_scope_token(value + "\n") is False
