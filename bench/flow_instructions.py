"""Machine instructions an Express Configure SSO run costs each server, counted by callgrind:
the run ``express_configure.py`` times, measured so that a change of a few percent shows.

``express_configure.py``'s p50 is the CPU of the tenant, the workforce IdP and the scripted
browser one after the other, on a machine whose speed moves by a fifth to a half from one minute
to the next: a change that saves a twentieth of a run is lost in it. The instructions each server
runs for a run are the same from run to run. Here both servers run ``expressway … serve`` under
valgrind's callgrind, on SQLite, in the scene ``express_configure.py`` builds (the demo's,
repaired by ``doctor --fix``); after warm-up runs the count is switched on in both, the runs are
made, and it is switched off and written. Each server's count is split by the library that ran
it:

- ``interpreter``: CPython running Expressway, FastAPI's, SQLAlchemy's and every other Python
  library's code;
- ``argon2``: the password's hash at the tenant (Argon2id, in its C library);
- ``cryptography``: RSA (the tenant's ID and access tokens' signatures and its check of the
  workforce's client assertion; the workforce's signature of that assertion and its check of the
  ID token);
- ``sqlite``: SQLite's library;
- ``other``: the C library, uvloop and httptools, orjson, the rest.

What follows the wall-clock time, which callgrind stretches fifty-fold, is left out, so that a
count is the runs' work and not how long they took: the WAL's background checkpoints (not
started; the commits' own backstop is far off), the hot rows' refresh, the tenant's back-channel
logout worker and the workforce's provisioning worker (neither has work in these runs). Each
uvicorn server still wakes ten times a second (its ``Date`` header, its shutdown check): a few
thousand instructions a wake-up, a fraction of a percent of a run on an idle machine; on a busy
one, which stretches the runs, the interpreter's count read up to 1% more.

    .venv/bin/python bench/flow_instructions.py [--runs 5]

It needs valgrind (``apt-get install -y valgrind``). Under callgrind a server starts in about a
minute and a run takes several seconds.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import _callgrind
from _harness import write_json
from express_configure import scene

from expressway.demo.story import Story

#: Runs before the count starts: the code paths taken once, the caches filled.
WARMUP = 2
#: Seconds a server under callgrind may take to answer its first request.
UP_TIMEOUT = 300
#: Settings of both servers: no background work whose amount follows the clock.
QUIET = {
    "EXPRESSWAY_TENANT_BACKCHANNEL_LOGOUT_WORKER": "false",
    "EXPRESSWAY_WORKFORCE_PROVISIONING_WORKER": "false",
}


def serve(arguments: list[str]) -> None:
    """``expressway`` with ``arguments``, without the background work whose amount follows the
    wall clock (see the module's docstring)."""
    from expressway.cli.main import app
    from expressway.storage import checkpoints
    from expressway.tenant.authn import hot_rows

    checkpoints.Checkpointer.start = lambda self: None  # type: ignore[method-assign]
    hot_rows.TTL_SECONDS = hot_rows.REFRESH_AFTER_SECONDS = 24 * 3600.0
    app(args=arguments, prog_name="expressway")


def count(runs: int, keep: Path | None = None) -> dict[str, Any]:
    """Make the warm-up runs, then ``runs`` runs with both servers counting; ``keep`` is a
    folder to copy callgrind's output files to, for ``callgrind_annotate``."""
    with tempfile.TemporaryDirectory(prefix="flow-instructions-") as scratch:
        data_dir = Path(scratch)
        outputs = {name: data_dir / f"{name}.callgrind" for name in ("tenant", "workforce")}
        # Each server's own file: the one launcher serves both, so its file is named by pid.
        launcher = [
            *_callgrind.command(data_dir / "%p.callgrind"),
            sys.executable,
            __file__,
            "--serve",
        ]
        with scene(data_dir, launcher, QUIET, UP_TIMEOUT) as (story, tenant, workforce):
            servers = {"tenant": tenant, "workforce": workforce}
            for _ in range(WARMUP):
                _express_configure(story)
            for server in servers.values():
                _callgrind.instrument(server.pid, True)
            for _ in range(runs):
                _express_configure(story)
            for server in servers.values():
                _callgrind.instrument(server.pid, False)
                _callgrind.dump(server.pid)
            for name, server in servers.items():
                (data_dir / f"{server.pid}.callgrind.1").rename(outputs[name])
        counted = {name: _callgrind.count_by_library(out) for name, out in outputs.items()}
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for out in outputs.values():
                shutil.copy(out, keep / out.name)
    result: dict[str, Any] = {"runs": runs, "warm_up_runs": WARMUP, "database": "sqlite"}
    for name, by_library in counted.items():
        total = sum(by_library.values())
        result[name] = {
            "instructions_per_run": round(total / runs),
            "by_library_per_run": {
                library: round(value / runs) for library, value in sorted(by_library.items())
            },
        }
    return result


def _express_configure(story: Story) -> None:
    status, body = story.express_configure("sso")
    if status != 200:
        raise SystemExit(f"Express Configure SSO failed: {status} {body}")


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs counted")
    parser.add_argument(
        "--keep", type=Path, help="copy callgrind's output files here, for callgrind_annotate"
    )
    parser.add_argument("--json", type=Path, default=Path("bench/results/flow_instructions.json"))
    arguments = parser.parse_args()
    if not _callgrind.available():
        raise SystemExit("flow_instructions needs valgrind: apt-get install -y valgrind")
    result = count(arguments.runs, arguments.keep)
    libraries = sorted(
        {
            name
            for server in ("tenant", "workforce")
            for name in result[server]["by_library_per_run"]
        }
    )
    print(f"{'server':>10} {'per run':>13} " + " ".join(f"{name:>13}" for name in libraries))
    for server in ("tenant", "workforce"):
        figures = result[server]
        print(
            f"{server:>10} {figures['instructions_per_run']:>13,} "
            + " ".join(f"{figures['by_library_per_run'].get(name, 0):>13,}" for name in libraries)
        )
    write_json(arguments.json, "flow_instructions", result)
    print(f"written to {arguments.json}")


if __name__ == "__main__":
    main()
