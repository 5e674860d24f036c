"""Group commit: the writes of concurrent requests applied together, in one transaction.

A request that only needs a few rows written after its work is done (the token endpoint's
``client_credentials`` exchange: the assertion's ``jti`` and the log event) hands them to a
:class:`GroupCommit` and awaits the outcome. While one batch is being written, the requests that
arrive queue up, and the next batch takes them all: the cost of a transaction (on SQLite, taking
the one write lock and syncing the WAL; on PostgreSQL, a round trip and a WAL flush) is paid once
per batch instead of once per request, and the requests never wait for the write lock one by one.

Before a batch is taken, the writer yields to the event loop for as long as each turn brings
more items: requests whose bytes were already read, and the next requests of the connections the
last batch answered, join it instead of starting the next batch. A batch costs about as much
whatever its size, so with few requests in flight (16 connections over two processes) this took
the mean batch from 3.3 to 4.1 requests, a third as many batches of one, and the token
endpoint from 1,454-1,548 to 1,661-1,845 requests a second (``bench/token_endpoint.py``). It adds
a turn or two of the loop to a request's wait, never a timer.

Nothing is answered before its batch has committed, so a request answered success has its rows
in the database; a batch that fails fails every request in it, with the batch's exception, and
nothing of it stands (one transaction). A request cancelled while its batch is in flight (its
client went away) does not stop the batch.

A batch is written by ``apply`` in the thread pool (or in the threads given: the SCIM creates'
one writer thread), since a transaction can wait (for a lock, for the network). Where a batch
can be tried without waiting, ``apply_now`` tries it on the event loop first and answers
``None`` when it cannot write at once, and only then does ``apply`` take it. The token endpoint
and the SCIM creates on SQLite do so. The token's batch is a few statements on the driver's cursor,
and handing it to a thread cost more than writing it (waking the thread, the pool's bookkeeping,
and the two threads taking turns at the interpreter lock): on the event loop, with the write lock
tried without waiting, a token took 11% less CPU (0.677-0.700 against 0.609-0.626 ms, two
processes, 16 connections, two alternating runs each).

Everything but ``apply`` runs on the event loop the instance was first used on, so the queue
needs no lock. SQLAlchemy's pool, the database and
the same rows' constraints keep several processes (``--workers``, replicas) correct as they do
for any transaction.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

#: Items written by one transaction at most: bounds a statement's parameters (SQLite allows
#: 32,766) and the latency of the requests in the batch.
MAX_BATCH = 256


class _LoopQueue(Generic[ItemT, ResultT]):
    """The items waiting on one event loop, and whether a task is writing them."""

    def __init__(self) -> None:
        self.waiting: list[tuple[ItemT, asyncio.Future[ResultT]]] = []
        self.writing = False
        #: The task writing them (kept: the loop holds only a weak reference to a task).
        self.task: asyncio.Task[None] | None = None


class GroupCommit(Generic[ItemT, ResultT]):
    """Batches of items written by ``apply``, which gets a batch and answers one result per item,
    in order, having committed them in one transaction."""

    def __init__(
        self,
        apply: Callable[[Sequence[ItemT]], Sequence[ResultT]],
        *,
        apply_now: Callable[[Sequence[ItemT]], Sequence[ResultT] | None] | None = None,
        max_batch: int = MAX_BATCH,
        executor: Executor | None = None,
    ) -> None:
        self.apply = apply
        #: Tries a batch on the event loop without waiting; None when it could not.
        self.apply_now = apply_now
        self.max_batch = max_batch
        #: Where ``apply`` runs: these threads, or (None) the server's thread pool.
        self.executor = executor
        # One queue per event loop: a server has one, but an application object can be served
        # by several in turn (a test client's portal), and a future belongs to its loop.
        self._queues: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, _LoopQueue[ItemT, ResultT]
        ] = weakref.WeakKeyDictionary()
        #: How many batches have been written, and how many items: what tests and benchmarks
        #: read to see batching happen.
        self.batches = 0
        self.items = 0
        #: Of the batches, how many ``apply_now`` wrote.
        self.batches_now = 0

    async def submit(self, item: ItemT) -> ResultT:
        """The result of writing ``item``, once its batch has committed."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _LoopQueue()
        future: asyncio.Future[ResultT] = loop.create_future()
        queue.waiting.append((item, future))
        if not queue.writing:
            queue.writing = True
            queue.task = loop.create_task(self._write_batches(queue))
        return await future

    async def _apply(self, items: Sequence[ItemT]) -> Sequence[ResultT]:
        if self.executor is None:
            return await run_in_threadpool(self.apply, items)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.apply, items)

    async def _write_batches(self, queue: _LoopQueue[ItemT, ResultT]) -> None:
        batch: list[tuple[ItemT, asyncio.Future[ResultT]]] = []
        try:
            while queue.waiting:
                # Let the requests the event loop has ready join this batch: yield to it as long
                # as doing so brings more (the answers of the last batch are sent meanwhile).
                waiting = 0
                while waiting < len(queue.waiting) < self.max_batch:
                    waiting = len(queue.waiting)
                    await asyncio.sleep(0)
                batch = queue.waiting[: self.max_batch]
                del queue.waiting[: self.max_batch]
                items = [item for item, _ in batch]
                try:
                    results = self.apply_now(items) if self.apply_now is not None else None
                    if results is not None:
                        self.batches_now += 1
                    else:
                        results = await self._apply(items)
                    if len(results) != len(batch):
                        raise RuntimeError("a batch's results do not match its items")
                except Exception as exc:  # every waiter gets the batch's failure
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self.batches += 1
                self.items += len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            queue.writing = False
            # Cancelled with its loop (the server stopping): nobody is left waiting. Whether a
            # batch cancelled in flight committed is unknown, and its requests are not answered.
            for _, future in (*batch, *queue.waiting):
                if not future.done():
                    future.cancel()
            queue.waiting.clear()
