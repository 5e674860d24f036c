"""Refuse NUL characters in the request line before any handler sees them.

PostgreSQL cannot store U+0000 in text, so a ``%00`` that reached a query would fail there with a
driver error; a NUL has no business in any identifier, name or query anyway. Bodies are checked by
the request schemas; this covers the path and the query string, for every route at once.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

#: Renders the refusal in the shape the API's clients expect; given the part that was refused.
Renderer = Callable[[str], Response]


def has_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw.lower()


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp, render: Renderer) -> None:
        self.app = app
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode()
            if has_nul(raw_path):
                await self.render("path")(scope, receive, send)
                return
            if has_nul(scope.get("query_string", b"")):
                await self.render("query")(scope, receive, send)
                return
        await self.app(scope, receive, send)
