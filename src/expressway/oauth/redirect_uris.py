"""Redirection URIs (RFC 6749 §3.1.2): matching a request's against the registered ones, and
adding the response parameters to it.

Matching is simple string comparison (RFC 9700 §4.1.3, RFC 3986 §6.2.1): no normalisation of
case, trailing slash, default port or percent-encoding, and no wildcards. Every such leniency has
been an open redirect or a code leak in some server, and a registered callback is copied from
configuration, not typed by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit


def is_registered_redirect_uri(candidate: str, registered: Iterable[object]) -> bool:
    """Whether ``candidate`` is, character for character, one of the registered URIs."""
    return any(isinstance(uri, str) and uri == candidate for uri in registered)


def with_query_parameters(redirect_uri: str, parameters: Mapping[str, str | None]) -> str:
    """``redirect_uri`` with ``parameters`` added to its query (RFC 6749 §4.1.2).

    The registered URI's own query is kept (§3.1.2: it MAY include one, which MUST be retained);
    parameters whose value is ``None`` are left out.
    """
    parts = urlsplit(redirect_uri)
    added = urlencode([(name, value) for name, value in parameters.items() if value is not None])
    query = f"{parts.query}&{added}" if parts.query and added else parts.query or added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
