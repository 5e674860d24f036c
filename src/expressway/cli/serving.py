"""Running a service under uvicorn, in one process or several.

With ``--workers N`` uvicorn starts N worker processes sharing the listening socket, each with its
own runtime on the same database: N replicas on one machine, which Expressway supports as it
supports replicas behind a load balancer (``jti`` records, sessions, throttling counters, claims of
outbox rows and provisioning jobs all live in the database). One process uses at most one core
for Python work, so this is how a service uses the cores of its machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Annotated, Any

import typer

#: The ``--workers`` option of the ``serve`` commands.
WorkersOption = Annotated[
    int,
    typer.Option(
        min=1,
        help="Worker processes (uvicorn's multi-process mode); each is a replica on the same "
        "database. One process uses at most one core.",
    ),
]


def run(
    build: Callable[[], Any],
    factory: str,
    *,
    host: str,
    port: int,
    workers: int,
    environment: dict[str, str],
) -> None:
    """Serve ``build()`` in this process, or, with several ``workers``, the app that the
    ``factory`` function (``module:function``) builds in each worker process.

    A worker process reads its settings from the environment, so ``environment`` (the settings
    given on the command line, as ``EXPRESSWAY_…`` variables) is exported first.
    """
    import uvicorn

    if workers == 1:
        uvicorn.run(build(), host=host, port=port, log_level="info")
        return
    os.environ.update(environment)
    uvicorn.run(factory, factory=True, host=host, port=port, workers=workers, log_level="info")
