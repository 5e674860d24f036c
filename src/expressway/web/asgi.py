"""Small pieces for the ASGI layers that answer a hot request in front of an application
(:mod:`expressway.tenant.authn.token_fast_path`, :mod:`expressway.tenant.scim.fast_path`):
reading a few request headers without Starlette's header object, and handing a request on to the
application with the body messages already read."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Message, Receive


class RawHeaders:
    """The few request headers a layer reads, decoded as Starlette decodes them (latin-1),
    without building Starlette's header object for every request."""

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self._raw = raw

    def get(self, name: str) -> str | None:
        key = name.encode()
        for header, value in self._raw:
            if header == key:
                return value.decode("latin-1")
        return None

    def getlist(self, name: str) -> list[str]:
        key = name.encode()
        return [value.decode("latin-1") for header, value in self._raw if header == key]


def replay(read: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives the messages already read, then reads on."""
    pending = list(read)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def read_body(receive: Receive, read: list[Message], limit: int) -> bytes | None:
    """The request's body, or None when it is longer than ``limit`` bytes or the client left
    before sending it all; every message read is kept in ``read``, to be handed on."""
    body = bytearray()
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            return None
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            return bytes(body)
