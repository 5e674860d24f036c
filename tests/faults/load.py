"""Load from a few threads: each sends its requests round and round and records every answer
(when it was sent, how long it took, its status, and whether it had the shape expected of it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import httpx

#: A request: a name and what sends it with a client.
Request = tuple[str, Callable[[httpx.Client], httpx.Response]]
#: Whether an answer has the shape its API owes (given its request's name).
Check = Callable[[str, httpx.Response], bool]


@dataclass(frozen=True)
class Answer:
    name: str
    sent: float
    seconds: float
    status: int
    in_shape: bool

    @property
    def done(self) -> float:
        return self.sent + self.seconds


class Load:
    """``threads`` threads sending ``requests`` in turn until the block ends."""

    def __init__(self, requests: list[Request], check: Check, threads: int = 3) -> None:
        self.requests = requests
        self.check = check
        self.answers: list[Answer] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(offset,), daemon=True)
            for offset in range(threads)
        ]

    def _run(self, offset: int) -> None:
        # A timeout far above the 2 s a 503 must take: a hang is measured, not cut short.
        with httpx.Client(timeout=15) as http:
            turn = offset
            while not self._stop.is_set():
                name, send = self.requests[turn % len(self.requests)]
                turn += 1
                sent = time.monotonic()
                try:
                    response = send(http)
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
                    continue
                answer = Answer(
                    name,
                    sent,
                    time.monotonic() - sent,
                    response.status_code,
                    self.check(name, response),
                )
                with self._lock:
                    self.answers.append(answer)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def between(self, start: float, end: float) -> list[Answer]:
        """The answers to requests sent at or after ``start`` and done by ``end``."""
        with self._lock:
            return [a for a in self.answers if a.sent >= start and a.done <= end]

    def first_success_after(self, moment: float) -> Answer | None:
        with self._lock:
            ok = [a for a in self.answers if a.sent >= moment and a.status < 500]
        return min(ok, key=lambda a: a.done) if ok else None
