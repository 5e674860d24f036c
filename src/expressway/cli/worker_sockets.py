"""One listening socket for each worker process of ``serve --workers N``.

Each worker listens on a socket of its own, all bound to the port with ``SO_REUSEPORT``, so the
kernel hands each new connection to one of them by a hash of its addresses, and connections
spread evenly over the workers. On the one socket uvicorn shares between its workers, whichever
worker wakes first accepts every connection waiting (an event loop accepts up to a hundred at
once), so a burst of keep-alive connections (a load balancer's pool, a client's connection pool
starting up) could all land on one worker while the others idled: with 64 connections opened at
once, two workers used 1.04 cores between them (``bench/token_endpoint.py --workers 2
--connections 64``).

Only Linux spreads connections over such a group; elsewhere (macOS, the BSDs) the last socket
bound would take them all, so there the workers share uvicorn's one socket as before.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess

_logger = logging.getLogger("uvicorn.error")


def serve_workers(config: Config) -> None:
    """Run ``config.workers`` worker processes of ``config``'s application factory until the
    supervisor is told to stop."""
    if sys.platform != "linux":
        with contextlib.suppress(KeyboardInterrupt):
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    _check_port_free(config)
    _logger.info(
        "Listening on http://%s:%d with %d worker processes",
        config.host,
        config.port,
        config.workers,
    )
    with contextlib.suppress(KeyboardInterrupt):
        WorkerSockets(config).run()


class WorkerSockets(Multiprocess):
    """uvicorn's supervisor (it starts, health-checks, restarts and stops the workers), with a
    listening socket of its own for each worker it starts.

    The supervisor reads :attr:`sockets` each time it starts a worker (at start, to replace
    one that died, on ``SIGHUP`` and ``SIGTTIN``), so each read binds a new socket. The worker
    gets its own descriptor when it is spawned; the supervisor keeps no reference to the
    socket once the worker has started, so its copy is closed then. That matters: the kernel
    keeps handing connections to a socket while any process holds it open, and connections
    handed to the socket of a worker that died would wait there for nobody.
    """

    def __init__(self, config: Config) -> None:
        super().__init__(config, sockets=[])

    @property
    def sockets(self) -> list[socket.socket]:
        return [reuse_port_socket(self.config.host, self.config.port)]

    @sockets.setter
    def sockets(self, _given: list[socket.socket]) -> None:
        # uvicorn's constructor sets the shared socket list; each worker binds its own instead.
        pass


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) with ``SO_REUSEPORT``, not yet listening (the worker's
    server listens on it): one of a group the kernel spreads the port's connections over."""
    sock = _bound(host, port, reuse_port=True)
    sock.set_inheritable(True)
    return sock


def _bound(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _check_port_free(config: Config) -> None:
    """Stop, as uvicorn does, when something already listens on the port.

    ``SO_REUSEPORT`` would otherwise let the workers join the sockets of another server that
    set it too (a second ``serve --workers`` on the same port, by the same user) and share its
    connections silently; a plain bind fails against any socket bound there.
    """
    try:
        probe = _bound(config.host, config.port, reuse_port=False)
    except OSError as exc:
        _logger.error(exc)
        sys.exit(STARTUP_FAILURE)
    with probe:
        # Port 0: the workers share the port the system chose for the probe.
        config.port = probe.getsockname()[1]
