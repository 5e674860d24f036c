"""JSON request bodies that FastAPI reads for a route's body schema, read as RFC 8259 JSON.

FastAPI reads such a body with ``request.json()``, which is :func:`json.loads`: it takes ``NaN``,
``Infinity`` and ``-Infinity``, which no JSON can hold (stored, they come back as ``null``). A
route of :class:`JsonBodyRoute` hands its handler a request whose ``json()`` is
:func:`expressway.json_text.parse`, which refuses them with :class:`json.JSONDecodeError`: FastAPI
turns that into the same ``json_invalid`` validation error as any malformed body, which each API's
handler already answers in its clients' shape, naming the problem (:func:`refusal_reason`).

The routers of the Management API and of the workforce admin API, whose routes take body schemas,
are made with ``route_class=JsonBodyRoute``: ``tests/tenant/test_json_bodies.py`` and
``tests/workforce/test_json_bodies.py`` send ``NaN`` to every operation of theirs that documents
a JSON body. The APIs that read their bodies themselves (SCIM, the Express Configuration API, the
token endpoint, the Universal Logout receiver) call :func:`expressway.json_text.parse`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from expressway import json_text


class JsonBodyRequest(Request):
    """A request whose :meth:`json` refuses what RFC 8259 does not allow."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json_text.parse(await self.body())
        return self._json


class JsonBodyRoute(APIRoute):
    """A route whose JSON body is read by :func:`expressway.json_text.parse`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await handler(JsonBodyRequest(request.scope, request.receive))

        return handle


def refusal_reason(error: Mapping[str, Any]) -> str:
    """What the reader said of a body that FastAPI reports as ``json_invalid`` (one of
    ``RequestValidationError.errors()``): ``NaN is not JSON …``, ``Expecting ',' delimiter``."""
    context = error.get("ctx") or {}
    return str(context.get("error") or "not JSON")
