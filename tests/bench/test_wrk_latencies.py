"""The latencies the benchmarks take from wrk are the ones it measured, one an answer: its
coordinated-omission correction, which adds latencies for requests a fixed-rate client would have
sent, is taken out of its histogram (``bench/_harness.without_wrk_correction``)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.http_servers import serving

ROOT = Path(__file__).resolve().parents[2]


def load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_harness", ROOT / "bench" / "_harness.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_harness", module)
    spec.loader.exec_module(module)
    return module


harness = load_harness()


def wrk_corrects(histogram: dict[int, int], interval: int) -> dict[int, int]:
    """What wrk 4's ``stats_correct`` makes of ``histogram``, step for step, as the oracle."""
    data = dict(histogram)
    for n in range(interval * 2, max(histogram, default=0) + 1):
        count = histogram.get(n, 0)
        m = n - interval
        while count and m > interval:
            data[m] = data.get(m, 0) + count
            m -= interval
    return data


histograms = st.dictionaries(
    st.integers(min_value=1, max_value=20_000), st.integers(min_value=1, max_value=50), max_size=60
)


@given(histograms, st.integers(min_value=1, max_value=3_000))
def test_the_correction_is_taken_out_exactly(histogram: dict[int, int], interval: int) -> None:
    assert harness.without_wrk_correction(wrk_corrects(histogram, interval), interval) == histogram


def test_one_slow_answer_is_one_latency_not_a_train_of_them() -> None:
    # 150 answers of 20 ms on 16 connections, one of 900 ms, in a 1.2 s run: wrk's interval is
    # 1.2 s / (150 // 16) = 133,333 us, and it adds five latencies under the slow one.
    measured = {20_000: 149, 900_000: 1}
    interval = harness.wrk_correction_interval(1_200_000, 150, 16)
    assert interval == 133_333
    corrected = wrk_corrects(measured, interval)
    assert sum(corrected.values()) == 155
    assert harness.without_wrk_correction(corrected, interval) == measured


def test_no_correction_when_a_connection_averaged_under_one_answer() -> None:
    assert harness.wrk_correction_interval(1_000_000, 15, 16) == 0
    assert harness.without_wrk_correction({5: 2, 70: 1}, 0) == {5: 2, 70: 1}


def test_a_histogram_wrk_did_not_correct_so_is_refused() -> None:
    # 300 would hold at least what 400 holds, had wrk corrected it with an interval of 100.
    with pytest.raises(ValueError, match="interval of 100 us"):
        harness.without_wrk_correction({300: 1, 400: 2}, 100)


class SlowFirstAnswer(BaseHTTPRequestHandler):
    """Answers every GET at once but the server's first, which takes 600 ms."""

    protocol_version = "HTTP/1.1"
    first = threading.Lock()

    def do_GET(self) -> None:
        if self.first.acquire(blocking=False):
            time.sleep(0.6)
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def slow_first_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowFirstAnswer)
    server.daemon_threads = True
    with serving(server) as port:
        yield f"http://127.0.0.1:{port}/"


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_gives_one_latency_an_answer(slow_first_server: str, tmp_path: Path) -> None:
    """A slow answer in a short closed-loop run is what made wrk's histogram outnumber the
    requests sent (158 latencies for 150 SCIM creates)."""
    requests = tmp_path / "requests"
    requests.write_text("".join(harness.request_line("GET") + "\n" for _ in range(40)))
    result = harness.run_wrk(
        slow_first_server, requests, connections=4, seconds=10, status=200, checks=[(1, "ok")]
    )
    assert not result.bodies_left
    assert result.failed_checks == 0
    assert result.requests == 40
    assert len(result.latencies_ms) == 40
    assert result.max_ms >= 600
    assert result.p50_ms < 600
