"""A loopback TCP proxy in front of a server, with a trigger: when a request whose bytes hold a
given marker passes through, an action (SIGKILL of the server, say) runs after a delay, while
that request is in flight. It records whether the server had begun to answer by then."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Shot:
    """One firing of the trigger."""

    delay: float
    fired_at: float = 0.0
    #: Whether any byte of the server's answer to that request came back before the action.
    answered_first: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class TriggerProxy:
    def __init__(self, listen_port: int, target_port: int) -> None:
        self.target_port = target_port
        self._server = socket.create_server(("127.0.0.1", listen_port))
        self._lock = threading.Lock()
        self._armed: tuple[bytes, Shot, Callable[[], None]] | None = None
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, marker: bytes, delay: float, action: Callable[[], None]) -> Shot:
        """Run ``action`` ``delay`` seconds after the next request holding ``marker`` passes."""
        shot = Shot(delay)
        with self._lock:
            self._armed = (marker, shot, action)
        return shot

    def close(self) -> None:
        self._closing = True
        self._server.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()  # the server is down: as if nothing listened
                continue
            answered = threading.Event()
            threading.Thread(
                target=self._pump_up, args=(client, upstream, answered), daemon=True
            ).start()
            threading.Thread(
                target=self._pump_down, args=(upstream, client, answered), daemon=True
            ).start()

    def _pump_up(
        self, source: socket.socket, sink: socket.socket, answered: threading.Event
    ) -> None:
        try:
            while data := source.recv(65536):
                fire = None
                with self._lock:
                    if self._armed is not None and self._armed[0] in data:
                        fire, self._armed = self._armed, None
                        answered.clear()
                sink.sendall(data)
                if fire is not None:
                    _, shot, action = fire
                    threading.Thread(
                        target=self._fire, args=(shot, action, answered), daemon=True
                    ).start()
        except OSError:
            pass
        finally:
            _close(source, sink)

    @staticmethod
    def _fire(shot: Shot, action: Callable[[], None], answered: threading.Event) -> None:
        time.sleep(shot.delay)
        shot.answered_first = answered.is_set()
        shot.fired_at = time.monotonic()
        action()
        shot.done.set()

    @staticmethod
    def _pump_down(source: socket.socket, sink: socket.socket, answered: threading.Event) -> None:
        try:
            while data := source.recv(65536):
                answered.set()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(source, sink)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
