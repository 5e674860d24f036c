"""Which process holds a loopback TCP connection, read from ``/proc``: how a test tells which
replica sent a request that reached it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def _inodes_of_connection(port: int, remote_port: int) -> set[str]:
    """The sockets from local ``port`` to ``remote_port``. The local port alone is not enough:
    Linux gives one ephemeral port to several connections when their remote ends differ (a
    replica's connection to PostgreSQL can share the port of another's to a proxy)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local = int(fields[1].rsplit(":", 1)[1], 16)
            remote = int(fields[2].rsplit(":", 1)[1], 16)
            if (local, remote) == (port, remote_port):
                inodes.add(fields[9])
    return inodes


def _sockets_of(pid: int) -> set[str]:
    sockets = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = fd.readlink().name
            except OSError:
                continue
            if target.startswith("socket:["):
                sockets.add(target[len("socket:[") : -1])
    except OSError:
        return set()
    return sockets


def owner_of_port(port: int, processes: Mapping[str, int], *, remote_port: int) -> str | None:
    """The name (a key of ``processes``, name → pid) of the process whose connection from local
    ``port`` to ``remote_port`` reached us, or None when none of them holds it."""
    inodes = _inodes_of_connection(port, remote_port)
    if not inodes:
        return None
    for name, pid in processes.items():
        if inodes & _sockets_of(pid):
            return name
    return None
