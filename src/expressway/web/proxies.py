"""The client's address and scheme behind reverse proxies, decided by one setting.

``EXPRESSWAY_TRUSTED_PROXIES`` names the proxies in front of a process. When a request's
connection comes from one of them, the proxy's headers say whom and how it forwards for: the
request's client address (``scope["client"]``) becomes the one
:func:`~expressway.web.throttling.client_ip` reads from ``X-Forwarded-For``, and its scheme
becomes ``X-Forwarded-Proto``'s. From any other connection both headers are ignored, since a
client can write anything into them. With no trusted proxies nothing is rewritten.

This layer stands in front of everything else in an application, so every reader of the client
address (event logs, throttling, uvicorn's access log, which reads the same scope) sees the same
one. (No URL is made from the request's own scheme and ``Host``: the redirect of a path with a
stray trailing slash is relative, :mod:`expressway.web.slashes`.) uvicorn's own reading of these
headers (``proxy_headers``, trusting ``FORWARDED_ALLOW_IPS``, loopback by default) is turned off
wherever Expressway starts it, so that this setting is the only one.

Everything behind it reads the settled address from the request
(:func:`~expressway.web.throttling.request_ip`, the token fast path); none applies the rule again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from expressway.web.throttling import IPNetwork, client_ip, is_trusted_proxy

#: uvicorn's own reading of ``X-Forwarded-For`` and ``X-Forwarded-Proto`` (its ``proxy_headers``,
#: on by default for connections from ``FORWARDED_ALLOW_IPS``, loopback unless set): off in every
#: process Expressway serves from, so that this layer's setting is the only one.
UVICORN_PROXY_HEADERS = False

#: The schemes a trusted proxy may say the client used.
FORWARDED_SCHEMES = frozenset({"http", "https"})


def forwarded_scheme(values: Sequence[bytes]) -> str | None:
    """The scheme of one ``X-Forwarded-Proto`` value, ``http`` or ``https``; None when the
    header is absent, repeated, a list, or names anything else (the connection's scheme then
    stands)."""
    if len(values) != 1:
        return None
    scheme = values[0].decode("latin-1").strip().lower()
    return scheme if scheme in FORWARDED_SCHEMES else None


class TrustedProxyHeaders:
    """Rewrites an HTTP request's client address and scheme from ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` when its connection comes from a trusted proxy.

    ``trusted`` is read for each request (the settings' parsed ``trusted_proxies``), so a
    process answers by the settings it has now.
    """

    def __init__(self, app: ASGIApp, trusted: Callable[[], Sequence[IPNetwork]]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            trusted = self.trusted()
            if trusted:
                self._rewrite(scope, trusted)
        await self.app(scope, receive, send)

    @staticmethod
    def _rewrite(scope: Scope, trusted: Sequence[IPNetwork]) -> None:
        client = scope.get("client")
        if not client or not is_trusted_proxy(client[0], trusted):
            return
        forwarded_for: list[str] = []
        forwarded_proto: list[bytes] = []
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded_for.append(value.decode("latin-1"))
            elif name == b"x-forwarded-proto":
                forwarded_proto.append(value)
        address = client_ip(client[0], forwarded_for, trusted)
        if address is not None and address != client[0]:
            # Changed in place: the server's access log reads this same dict. The client's
            # port is not known (the connection's is the proxy's).
            scope["client"] = (address, 0)
        scheme = forwarded_scheme(forwarded_proto)
        if scheme is not None:
            scope["scheme"] = scheme
