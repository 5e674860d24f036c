"""A load balancer in miniature: a round-robin reverse proxy on a loopback port of its own, the
public URL (and so the issuer) of the replicas behind it.

It forwards each request as it came (method, path, query, headers, body) to the next replica in
turn, with no stickiness, and hands back the replica's answer untouched (redirects and every
``Set-Cookie`` included). It remembers which replica served each request, so a test can show
that a flow's steps crossed replicas.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Hop-by-hop headers (RFC 9110 §7.6.1), which a proxy does not pass on.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)


@dataclass(frozen=True)
class Hop:
    """One request the proxy forwarded, and to which replica."""

    method: str
    path: str
    replica: int
    status: int
    #: What :attr:`RoundRobinProxy.identify` said of the caller (which process sent it).
    caller: str | None = None


@dataclass
class RoundRobinProxy:
    """Forwards to ``replicas`` (base URLs) in turn; ``identify`` names the caller of a request
    from its source port and the port it reached, while the connection is open."""

    replicas: list[str]
    port: int
    identify: Callable[[int, int], str | None] | None = None
    hops: list[Hop] = field(default_factory=list)
    _turn: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _client: httpx.AsyncClient | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def skip_to(self, replica: int) -> None:
        """Make ``replica`` the next one in turn, as a balancer's rotation may well be."""
        with self._lock:
            self._turn = replica

    def _next(self) -> int:
        with self._lock:
            chosen = self._turn % len(self.replicas)
            self._turn = chosen + 1
            return chosen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        caller = None
        if self.identify is not None and scope.get("client"):
            caller = await asyncio.to_thread(self.identify, scope["client"][1], scope["server"][1])
        replica = self._next()
        answer = await self._forward(scope, bytes(body), self.replicas[replica])
        self.hops.append(Hop(scope["method"], scope["path"], replica, answer.status_code, caller))
        headers = [
            (name, value) for name, value in answer.headers.raw if name.lower() not in HOP_BY_HOP
        ]
        content = await answer.aread()
        await answer.aclose()
        await send(
            {"type": "http.response.start", "status": answer.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": content})

    async def _forward(self, scope: Scope, body: bytes, replica: str) -> httpx.Response:
        assert self._client is not None
        headers = [
            (name, value)
            for name, value in scope["headers"]
            if name.lower() not in HOP_BY_HOP and name.lower() != b"host"
        ]
        host = scope["client"][0] if scope.get("client") else "127.0.0.1"
        headers.append((b"x-forwarded-for", host.encode()))
        headers.append((b"x-forwarded-proto", b"http"))
        url = httpx.URL(replica + scope["raw_path"].decode("latin-1"))
        if scope.get("query_string"):
            url = url.copy_with(query=scope["query_string"])
        request = self._client.build_request(scope["method"], url, headers=headers, content=body)
        # The body read raw: the replica's Content-Encoding and Content-Length stay true.
        return await self._client.send(request, stream=True)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "lifespan.startup":
                # A fresh connection to the replica for each request: a pooled one may be closed
                # by the replica's keep-alive timeout just as a request goes out on it, which a
                # real balancer retries and this one would answer with a 500.
                self._client = httpx.AsyncClient(
                    timeout=60,
                    follow_redirects=False,
                    limits=httpx.Limits(max_keepalive_connections=0),
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


@contextmanager
def served(app: ASGIApp, port: int) -> Iterator[str]:
    """``app`` served by uvicorn on a loopback port, in a thread of the test process; yields its
    URL once it listens."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="auto",
            # Longer than the callers' idle gaps, so they seldom meet a connection closing.
            timeout_keep_alive=60,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server at {url} did not start")
            time.sleep(0.02)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
