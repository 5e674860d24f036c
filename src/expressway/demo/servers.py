"""Run ASGI apps in background threads of this process, each on its own loopback port."""

from __future__ import annotations

import threading
import time

import uvicorn
from starlette.types import ASGIApp

from expressway.web.proxies import UVICORN_PROXY_HEADERS


class ServerFailed(RuntimeError):
    """A server did not start (its port is taken, say)."""


class BackgroundServer:
    """One uvicorn server on a daemon thread; :meth:`start` returns once it accepts requests."""

    def __init__(self, name: str, app: ASGIApp, host: str, port: int) -> None:
        self.name = name
        self.url = f"http://{host}:{port}"
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level="warning",
                lifespan="on",
                proxy_headers=UVICORN_PROXY_HEADERS,
            )
        )
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServerFailed(f"the {self.name} did not start on {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C stops it)."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)
