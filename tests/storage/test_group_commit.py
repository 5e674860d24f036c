"""The group commit (:mod:`expressway.storage.group_commit`): each item gets its own result,
items that arrive while a batch is written go together in the next, and a failed batch fails
its own items only."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from expressway.storage.group_commit import GroupCommit


class Recorder:
    """An ``apply`` that answers each item doubled and remembers its batches; it can be told to
    fail the batches holding a given item."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.threads: set[str] = set()
        self.fail_on = fail_on

    def __call__(self, items: Sequence[int]) -> list[int]:
        self.threads.add(threading.current_thread().name)
        self.batches.append(list(items))
        if self.fail_on in items:
            raise RuntimeError(f"batch with {self.fail_on} failed")
        return [item * 2 for item in items]


def test_each_item_gets_its_own_result_and_concurrent_items_share_a_batch() -> None:
    recorder = Recorder()
    writes = GroupCommit(recorder)

    async def main() -> list[int]:
        return list(await asyncio.gather(*(writes.submit(n) for n in range(50))))

    assert asyncio.run(main()) == [n * 2 for n in range(50)]
    assert sorted(n for batch in recorder.batches for n in batch) == list(range(50))
    assert len(recorder.batches) < 50
    assert (writes.batches, writes.items) == (len(recorder.batches), 50)
    # Written in the thread pool, never on the event loop's thread.
    assert threading.main_thread().name not in recorder.threads


def test_requests_the_event_loop_has_ready_join_the_batch_before_it_is_written() -> None:
    recorder = Recorder()
    writes = GroupCommit(recorder)

    async def later(n: int) -> int:
        # Ready one turn of the event loop after the first item: a request whose bytes were
        # read in the same turn, still being checked when the batch was started.
        await asyncio.sleep(0)
        return await writes.submit(n)

    async def main() -> list[int]:
        return list(await asyncio.gather(writes.submit(0), *(later(n) for n in range(1, 5))))

    assert asyncio.run(main()) == [0, 2, 4, 6, 8]
    # Taken at once, the first batch would have held item 0 alone.
    assert recorder.batches == [[0, 1, 2, 3, 4]]


def test_a_batch_holds_at_most_max_batch_items() -> None:
    recorder = Recorder()
    writes = GroupCommit(recorder, max_batch=8)

    async def main() -> list[int]:
        return list(await asyncio.gather(*(writes.submit(n) for n in range(30))))

    assert asyncio.run(main()) == [n * 2 for n in range(30)]
    assert max(len(batch) for batch in recorder.batches) <= 8


def test_a_failed_batch_fails_its_items_and_the_next_batch_is_written() -> None:
    recorder = Recorder(fail_on=3)
    writes = GroupCommit(recorder, max_batch=4)

    async def main() -> list[object]:
        return list(
            await asyncio.gather(*(writes.submit(n) for n in range(8)), return_exceptions=True)
        )

    outcomes = asyncio.run(main())
    failed = next(batch for batch in recorder.batches if 3 in batch)
    for n, outcome in enumerate(outcomes):
        if n in failed:
            assert isinstance(outcome, RuntimeError)
        else:
            assert outcome == n * 2
    assert writes.items == 8 - len(failed)


def test_results_that_do_not_match_the_batch_fail_it() -> None:
    writes: GroupCommit[int, int] = GroupCommit(lambda items: [])

    async def main() -> int:
        return await writes.submit(1)

    with pytest.raises(RuntimeError, match="do not match"):
        asyncio.run(main())


def test_one_instance_serves_one_event_loop_after_another() -> None:
    """A test client's portal, or a server restarted in-process, brings a new loop."""
    writes = GroupCommit(Recorder())

    async def main(n: int) -> int:
        return await writes.submit(n)

    assert asyncio.run(main(1)) == 2
    assert asyncio.run(main(2)) == 4


def test_apply_now_writes_on_the_event_loop_and_hands_over_what_it_cannot() -> None:
    """``apply_now`` is tried first, on the loop's thread; a batch it answers None for is
    written by ``apply`` in the thread pool; one it fails fails its items, with no second try."""
    in_thread = Recorder(fail_on=None)
    now = Recorder(fail_on=13)
    refused: list[list[int]] = []

    def apply_now(items: Sequence[int]) -> list[int] | None:
        if 7 in items:
            refused.append(list(items))
            return None
        return now(items)

    writes = GroupCommit(in_thread, apply_now=apply_now)

    async def main() -> None:
        assert await writes.submit(1) == 2
        assert await writes.submit(7) == 14
        with pytest.raises(RuntimeError, match="13"):
            await writes.submit(13)

    asyncio.run(main())
    assert now.batches == [[1], [13]]
    assert now.threads == {threading.main_thread().name}
    assert refused == [[7]]
    assert in_thread.batches == [[7]]
    assert threading.main_thread().name not in in_thread.threads
    assert (writes.batches, writes.batches_now) == (2, 1)


def test_batches_are_written_by_the_executor_given() -> None:
    """A writer that must wait for one lock takes its batches in one thread of its own."""
    recorder = Recorder()
    with ThreadPoolExecutor(1, thread_name_prefix="one-writer") as executor:
        writes = GroupCommit(recorder, executor=executor)

        async def main() -> list[int]:
            return list(await asyncio.gather(*(writes.submit(n) for n in range(10))))

        assert asyncio.run(main()) == [n * 2 for n in range(10)]
    assert recorder.threads == {"one-writer_0"}
