"""Running a service under uvicorn, in one process or several.

With ``--workers N`` uvicorn's supervisor starts N worker processes on one port, each with its
own runtime on the same database: N replicas on one machine, which Expressway supports as it
supports replicas behind a load balancer (``jti`` records, sessions, throttling counters, claims of
outbox rows and provisioning jobs all live in the database). One process uses at most one core
for Python work, so this is how a service uses the cores of its machine.

Each worker listens on a socket of its own (:mod:`expressway.cli.worker_sockets`), so that the
kernel spreads connections evenly over the workers.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from expressway.web.proxies import UVICORN_PROXY_HEADERS

#: The ``--workers`` option of the ``serve`` commands.
WorkersOption = Annotated[
    int,
    typer.Option(
        min=1,
        help="Worker processes (uvicorn's multi-process mode); each is a replica on the same "
        "database. One process uses at most one core.",
    ),
]

#: The ``--access-log/--no-access-log`` option of the ``serve`` commands.
AccessLogOption = Annotated[
    bool,
    typer.Option(
        help="Log a line per request (uvicorn's access log). Behind a load balancer or proxy "
        "that keeps its own access log, turning it off saves about a twentieth of the CPU of "
        "a token request.",
    ),
]

#: The interpreter's thread switch interval in a serving process (Python's default: 5 ms).
SWITCH_INTERVAL_SECONDS = 0.0005
#: The cycle collector's thresholds in a serving process (Python's default: 700, 10, 10).
GC_THRESHOLDS = (20_000, 20, 20)


def tune_interpreter() -> None:
    """Set the interpreter up for serving; every serving process calls this before it serves.

    A process serves on one event-loop thread and does its database work in the thread pool.
    A pool thread returning from a statement must take the interpreter lock back from the loop's
    thread, which may keep it for a whole switch interval. A transaction of several statements,
    such as a group commit of token exchanges holding SQLite's write lock, so spent tens of
    milliseconds waiting with the lock held, while the other processes waiting for the lock
    slept in SQLite's busy handler: at 5 ms, two tenant processes served 744-767 token requests
    a second; at 0.5 ms, 960-1,104 (``bench/token_endpoint.py --workers 2``, same machine).

    The cycle collector runs whenever container allocations outnumber deallocations by 700
    (Python's default), which a few requests in flight reach: over a 15 s token run it ran 604
    times, 4 of them full collections through every object the process imported, taking 0.455 s
    of the 18.6 s of CPU the process used (2.4%). A request's objects are freed by their
    reference counts once it is answered (cycles are rare), so a higher threshold leaves little
    more memory waiting: at 20,000 the same run collected 19 times, none full, in 0.109 s (0.6%).
    """
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    gc.set_threshold(*GC_THRESHOLDS)


def run(
    build: Callable[[], Any],
    factory: str,
    *,
    host: str,
    port: int,
    workers: int,
    environment: dict[str, str],
    access_log: bool = True,
) -> None:
    """Serve ``build()`` in this process, or, with several ``workers``, the app that the
    ``factory`` function (``module:function``) builds in each worker process.

    A worker process reads its settings from the environment, so ``environment`` (the settings
    given on the command line, as ``EXPRESSWAY_…`` variables) is exported first.
    """
    import uvicorn

    if workers == 1:
        tune_interpreter()
        uvicorn.run(
            build(),
            host=host,
            port=port,
            log_level="info",
            access_log=access_log,
            proxy_headers=UVICORN_PROXY_HEADERS,
        )
        return
    os.environ.update(environment)
    config = uvicorn.Config(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        proxy_headers=UVICORN_PROXY_HEADERS,
    )
    from expressway.cli.worker_sockets import serve_workers

    serve_workers(config)
