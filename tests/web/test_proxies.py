"""The client address and scheme behind reverse proxies: believed only from a trusted proxy."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from expressway.web.proxies import TrustedProxyHeaders, forwarded_scheme
from expressway.web.throttling import IPNetwork, client_ip, parse_networks

PROXY = "10.0.0.5"
TRUSTED = parse_networks(["10.0.0.0/8"])
_HTTPS = {"X-Forwarded-Proto": "https"}


def _seen(request: Request) -> JSONResponse:
    return JSONResponse(
        {"client": request.client.host if request.client else None, "url": str(request.url)}
    )


def _client(trusted: Sequence[IPNetwork], peer: str) -> TestClient:
    app = TrustedProxyHeaders(Starlette(routes=[Route("/", _seen)]), lambda: trusted)
    return TestClient(app, base_url="http://replica.internal:8401", client=(peer, 50000))


def _seen_with(trusted: Sequence[IPNetwork], peer: str, **headers: str) -> dict[str, str]:
    seen: dict[str, str] = _client(trusted, peer).get("/", headers=headers).json()
    return seen


def test_without_trusted_proxies_neither_header_is_read_even_from_loopback() -> None:
    """Empty, the client is whoever connected: a loopback peer is not a proxy by default."""
    seen = _seen_with((), "127.0.0.1", **{"X-Forwarded-For": "203.0.113.9"}, **_HTTPS)
    assert seen == {"client": "127.0.0.1", "url": "http://replica.internal:8401/"}


def test_a_trusted_proxy_says_whom_it_forwards_for_and_over_which_scheme() -> None:
    seen = _seen_with(TRUSTED, PROXY, **{"X-Forwarded-For": "203.0.113.9"}, **_HTTPS)
    assert seen == {"client": "203.0.113.9", "url": "https://replica.internal:8401/"}


def test_a_connection_from_anywhere_else_is_its_own_client() -> None:
    """The headers of a peer outside the trusted networks are the client's own words."""
    seen = _seen_with(TRUSTED, "198.51.100.7", **{"X-Forwarded-For": "203.0.113.9"}, **_HTTPS)
    assert seen == {"client": "198.51.100.7", "url": "http://replica.internal:8401/"}


def test_the_scheme_is_taken_even_when_the_proxy_forwards_for_itself() -> None:
    """A client on the proxy's own address leaves the address as it was, not the scheme."""
    seen = _seen_with(TRUSTED, PROXY, **{"X-Forwarded-For": PROXY}, **_HTTPS)
    assert seen == {"client": PROXY, "url": "https://replica.internal:8401/"}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([b"https"], "https"),
        ([b" HTTP "], "http"),
        ([], None),
        ([b"https, http"], None),
        ([b"https", b"https"], None),
        ([b"wss"], None),
        ([b"javascript"], None),
    ],
)
def test_only_one_http_or_https_is_a_scheme(values: list[bytes], expected: str | None) -> None:
    assert forwarded_scheme(values) == expected


_ADDRESSES = st.sampled_from(
    ["10.0.0.1", "10.9.9.9", "203.0.113.9", "198.51.100.1", "2001:db8::1", "::1", "unknown", ""]
)


@given(peer=_ADDRESSES, hops=st.lists(_ADDRESSES, max_size=5))
def test_reading_the_address_again_from_the_rewritten_request_changes_nothing(
    peer: str, hops: list[str]
) -> None:
    """The layers that apply the rule themselves (the token endpoint's fast path, throttling)
    agree with the address this layer set."""
    trusted = parse_networks(["10.0.0.0/8", "2001:db8::/32"])
    forwarded = [", ".join(hops)]
    once = client_ip(peer, forwarded, trusted)
    assert client_ip(once, forwarded, trusted) == once
