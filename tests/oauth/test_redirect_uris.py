"""Redirection URI matching (RFC 6749 §3.1.2, RFC 9700 §4.1.3) and response parameters."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressway.oauth.redirect_uris import is_registered_redirect_uri, with_query_parameters

REGISTERED = ["https://app.example/callback", "http://localhost:3000/cb", "com.example.app:/oauth"]

urls = st.one_of(
    st.text(max_size=80),
    st.sampled_from(REGISTERED).flatmap(
        lambda uri: st.tuples(st.just(uri), st.text(min_size=1, max_size=8)).map(
            lambda pair: pair[0] + pair[1]
        )
    ),
)


@given(registered=st.lists(st.text(max_size=60), max_size=5), candidate=st.text(max_size=60))
def test_a_uri_matches_exactly_when_it_is_character_for_character_registered(
    registered: list[str], candidate: str
) -> None:
    """Simple string comparison: no normalisation can make two different strings match."""
    assert is_registered_redirect_uri(candidate, registered) == (candidate in registered)


@given(candidate=urls)
def test_nothing_but_a_registered_uri_itself_is_accepted(candidate: str) -> None:
    """Appending anything (path, query, port digits, fragment) to a callback breaks the match."""
    assert is_registered_redirect_uri(candidate, REGISTERED) == (candidate in REGISTERED)


@pytest.mark.parametrize(
    "candidate",
    [
        "https://APP.example/callback",
        "HTTPS://app.example/callback",
        "https://app.example/callback/",
        "https://app.example/Callback",
        "https://app.example/callback/../callback",
        "https://app.example:443/callback",
        "https://app.example/callback#",
        "https://app.example/callback?",
        "https://app.example/callback%2F",
        "http://localhost:3001/cb",
        "http://127.0.0.1:3000/cb",
        " https://app.example/callback",
    ],
)
def test_near_misses_are_refused(candidate: str) -> None:
    """Case, trailing slash, dot segments, default port, other port, empty query or fragment."""
    assert not is_registered_redirect_uri(candidate, REGISTERED)


def test_registered_values_that_are_not_strings_match_nothing() -> None:
    assert not is_registered_redirect_uri("1", [1, None, {"uri": "1"}])


def test_response_parameters_keep_the_registered_query_and_drop_absent_values() -> None:
    """RFC 6749 §3.1.2: the registered URI's query is retained."""
    url = with_query_parameters(
        "https://app.example/cb?tenant=a%20b", {"code": "c&d", "state": None, "iss": "x"}
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == (
        "https",
        "app.example",
        "/cb",
        "",
    )
    assert parse_qsl(parts.query) == [("tenant", "a b"), ("code", "c&d"), ("iss", "x")]


@given(params=st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=20), max_size=4))
def test_response_parameters_round_trip(params: dict[str, str]) -> None:
    url = with_query_parameters("https://app.example/cb", params)
    assert dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)) == params
