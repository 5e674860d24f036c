"""The machine-to-machine token request, answered in front of the application's layers.

A ``client_credentials`` request with ``private_key_jwt`` is the tenant's most frequent request by
far, and the cheapest to serve once its rows are cached (:mod:`batched_exchanges`). Through the
full application, a third of the event loop's time per token went to the layers every route
passes: routing among a hundred routes, exception wrappers, dependency solving, the request and
response objects. This ASGI layer sits in front of all of them, FastAPI's own entry and layers
included (:class:`~expressway.tenant.app.TenantApp`), and answers such
a request directly; everything else, including every request this path does not answer with a
token, goes down the stack unchanged, with the body it read handed on as it came.

It adds nothing of its own to the token endpoint's rules: the same parameter parsing, the same
checks (:func:`batched_exchanges.try_exchange`), the same response and headers (the token
endpoint's ``Cache-Control``/``Pragma`` and :data:`~expressway.web.security.SECURITY_HEADERS`), and
a database fault answers the same 503 as the application's handler would. Tests compare the two
paths' answers header by header (``tests/tenant/test_token_fast_path.py``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from expressway import json_text
from expressway.oauth.errors import OAuthError
from expressway.storage.faults import database_fault
from expressway.tenant.authn import batched_exchanges
from expressway.tenant.authn.endpoints import (
    MAX_PARAMETERS_BYTES,
    NO_STORE,
    parameters_type,
    parse_parameters,
)
from expressway.tenant.authn.grants.common import RequestOrigin
from expressway.tenant.management import errors as mgmt_errors
from expressway.tenant.runtime import TenantRuntime
from expressway.web import database_faults
from expressway.web.asgi import RawHeaders, read_body, replay
from expressway.web.security import SECURITY_HEADERS

PATH = "/oauth/token"

#: The answer's headers but its length, encoded once: the token endpoint's, then the security
#: headers every tenant response carries.
_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-type", b"application/json"),
    *((name.lower().encode(), value.encode()) for name, value in NO_STORE.items()),
    *((name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()),
]


class TokenFastPath:
    """ASGI middleware: answers ``POST /oauth/token`` when :mod:`batched_exchanges` issues the
    token, and hands every other request to ``app``."""

    def __init__(self, app: ASGIApp, runtime: TenantRuntime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            # A token request has no query; one that has is left to the full stack, whose
            # input guard refuses what it must.
            or scope.get("query_string")
        ):
            await self.app(scope, receive, send)
            return
        headers = RawHeaders(scope["headers"])
        read: list[Message] = []
        params = await self._parameters(headers, receive, read)
        if params is None:
            await self.app(scope, replay(read, receive), send)
            return
        try:
            body = await batched_exchanges.try_exchange(
                self.runtime, self._origin(scope, headers), headers.get("authorization"), params
            )
        except Exception as exc:  # answered as the application's handlers would
            response = await _fault(scope, exc)
            await response(scope, receive, send)
            return
        if body is None:
            await self.app(scope, replay(read, receive), send)
            return
        # The bytes Starlette's JSONResponse writes (compact, UTF-8; the answer holds strings and
        # integers only), in a fifteenth of the time.
        payload = json_text.compact(body)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_HEADERS, (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _parameters(
        self, headers: RawHeaders, receive: Receive, read: list[Message]
    ) -> dict[str, str] | None:
        """The parameters, or None when the full stack must answer (it refuses what is wrong,
        with the same words): the messages read are kept in ``read`` to be handed on."""
        try:
            content_type = parameters_type(headers.get("content-type") or "")
        except OAuthError:
            return None
        body = await read_body(receive, read, MAX_PARAMETERS_BYTES)
        if body is None:
            return None
        try:
            return parse_parameters(content_type, body)
        except OAuthError:
            return None

    @staticmethod
    def _origin(scope: Scope, headers: RawHeaders) -> RequestOrigin:
        # The client address as TrustedProxyHeaders, in front of this layer, settled it.
        client = scope.get("client")
        return RequestOrigin.of(client[0] if client else None, headers.get("user-agent"))


async def _fault(scope: Scope, exc: Exception) -> Response:
    """What the application's handlers answer for ``exc``: the token endpoint's 503 for a fault
    of the database, else the last resort's 500 (which logs it)."""
    request = Request(scope)
    fault = database_fault(exc)
    response: Response
    if fault is not None:
        database_faults.log_fault(request, fault)
        response = database_faults.oauth_error(fault)
    else:
        response = await mgmt_errors.handle_unexpected_error(request, exc)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
