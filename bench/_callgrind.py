"""Counting instructions with valgrind's callgrind: switching the count on and off in a process
that runs under it, and splitting a count by the library whose code ran.

Wall-clock and CPU time drift by a fifth, sometimes by half, from one minute to the next on the
2 vCPU machines these benchmarks run on; the instructions a piece of work executes do not. A
process started as ``valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=F …``
counts nothing until :func:`instrument` switches it on; :func:`dump` writes what it counted since
to ``F.1`` (``F.2`` for a second dump), which :func:`count_by_library` reads.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

#: One line of ``callgrind_annotate --inclusive=no``: the count, then ``file:function [object]``.
_ANNOTATED = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+.*\[(?P<object>[^\]]+)\]\s*$")


def available() -> bool:
    return all(
        shutil.which(tool) for tool in ("valgrind", "callgrind_control", "callgrind_annotate")
    )


def command(out: Path) -> list[str]:
    """The prefix that runs a program under callgrind, counting nothing until switched on."""
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]


def _control(pid: int, option: str) -> None:
    subprocess.run(  # noqa: S603 - valgrind's own tool, on a process of ours
        ["callgrind_control", option, str(pid)],  # noqa: S607
        check=True,
        capture_output=True,
    )


def instrument(pid: int, on: bool) -> None:
    """Start or stop counting in the process ``pid`` (which runs under callgrind)."""
    _control(pid, "--instr=" + ("on" if on else "off"))


def dump(pid: int) -> None:
    """Write what ``pid`` counted so far to its next numbered output file, and start again."""
    _control(pid, "--dump=counted")


def library_of(shared_object: str) -> str:
    """The group a function's object file belongs to."""
    name = Path(shared_object).name
    if "cryptography" in shared_object:
        return "cryptography"
    if "argon2" in shared_object:
        return "argon2"
    if name.startswith("libsqlite3"):
        return "sqlite"
    if name.startswith(("python", "libpython")):
        return "interpreter"
    return "other"


def instructions_by_library(annotated: str) -> Counter[str]:
    """Instructions by :func:`library_of`, from ``callgrind_annotate --inclusive=no`` output."""
    counts: Counter[str] = Counter()
    for line in annotated.splitlines():
        match = _ANNOTATED.match(line)
        if match:
            counts[library_of(match["object"])] += int(match[1].replace(",", ""))
    return counts


def count_by_library(out: Path) -> Counter[str]:
    """The instructions in callgrind's output file ``out``, by library."""
    annotated = subprocess.run(  # noqa: S603
        ["callgrind_annotate", "--inclusive=no", "--threshold=100", str(out)],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return instructions_by_library(annotated)
