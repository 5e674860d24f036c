"""A full disk and a read-only database file under a tenant on SQLite (issue 10, Faults): writes
answer 503 in their API's shape naming the cause, reads keep working, one clear line is logged,
nothing is corrupted (``PRAGMA integrity_check``), and once the cause is lifted the same process
writes again.

Both faults are real ones, since a root process ignores permission bits:

- the **full disk** is a filesystem of its own (a small ``tmpfs`` mounted for the test) holding
  the database, filled to its last byte, so SQLite's writes fail with ``ENOSPC`` as on a full
  disk (``SQLITE_FULL``);
- the **read-only database** is the file made immutable (``chattr +i``), which the kernel
  enforces even for root: SQLite can open it only for reading (``SQLITE_READONLY``), as it would
  a file on a read-only mount.

Mounting and ``chattr`` need root (and a filesystem with the immutable attribute): elsewhere the
tests skip, saying why, and fail in CI.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.processes import Tenant, running, scim_connection, skip_or_fail

pytestmark = pytest.mark.faults

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB filesystem of the test's own."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(  # noqa: S603
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(disk)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        skip_or_fail(f"cannot mount a small filesystem: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=False)  # noqa: S603, S607


def _fill(disk: Path) -> Path:
    """Write a file until the filesystem has no byte left (ever smaller writes at the end)."""
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    size = 1 << 16
    refusals = []
    try:
        while size >= 1:
            try:
                if os.write(descriptor, b"\0" * size) == 0:
                    size //= 2
            except OSError as exc:
                refusals.append(exc.errno)
                size //= 2
    finally:
        os.close(descriptor)
    assert refusals
    assert set(refusals) == {errno.ENOSPC}
    return filler


def _checkpoint(database: Path) -> None:
    """Empty the WAL into the database and truncate it, so that the next write must grow it:
    otherwise it would reuse space the WAL already holds."""
    with sqlite3.connect(database) as connection:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0


def _integrity(database: Path) -> str:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        result: str = connection.execute("PRAGMA integrity_check").fetchone()[0]
    return result


def _role_names(database: Path) -> set[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM roles")}


class Vendor:
    """The vendor's calls: Management API (a token taken while writes worked) and SCIM."""

    def __init__(self, tenant: Tenant, http: httpx.Client) -> None:
        self.tenant = tenant
        self.http = http
        self.headers = {"Authorization": f"Bearer {tenant.live.token()}"}
        self.scim_url, token = scim_connection(tenant, http)
        self.scim_headers = {"Authorization": f"Bearer {token}"}

    def add_role(self, name: str) -> httpx.Response:
        return self.http.post(
            f"{self.tenant.url}/api/v2/roles", headers=self.headers, json={"name": name}
        )

    def roles(self) -> httpx.Response:
        return self.http.get(f"{self.tenant.url}/api/v2/roles", headers=self.headers)

    def add_scim_user(self, user_name: str) -> httpx.Response:
        return self.http.post(
            f"{self.scim_url}/Users",
            headers=self.scim_headers,
            json={"schemas": [SCIM_USER], "userName": user_name, "active": True},
        )

    def scim_users(self) -> httpx.Response:
        return self.http.get(f"{self.scim_url}/Users", headers=self.scim_headers)


def _assert_refused(vendor: Vendor, kind: str, message: str) -> None:
    """A Management API write and a SCIM write each answer 503 naming the cause."""
    management = vendor.add_role(f"refused while {kind}")
    assert management.status_code == 503, management.text
    assert management.headers["retry-after"].isdigit()
    body: dict[str, Any] = management.json()
    assert body["statusCode"] == 503
    assert body["errorCode"] == f"database_{kind}"
    assert message in body["message"]

    scim = vendor.add_scim_user(f"refused-while-{kind}@example.com")
    assert scim.status_code == 503, scim.text
    assert scim.headers["content-type"].startswith("application/scim+json")
    assert scim.headers["retry-after"].isdigit()
    scim_body = scim.json()
    assert scim_body["schemas"] == [SCIM_ERROR]
    assert scim_body["status"] == "503"
    assert message in scim_body["detail"]


def _assert_reads_work(vendor: Vendor, role: str, user_name: str) -> None:
    roles = vendor.roles()
    assert roles.status_code == 200, roles.text
    assert role in {r["name"] for r in roles.json()}
    # A SCIM request marks its token's last use (a write), so a SCIM read is refused like a
    # write while nothing can be written: in the SCIM error schema, never a 500.
    users = vendor.scim_users()
    if users.status_code == 503:
        assert users.json()["schemas"] == [SCIM_ERROR]
    else:
        assert users.status_code == 200, users.text
        assert user_name in {u["userName"] for u in users.json()["Resources"]}


def _writes_again(vendor: Vendor, name: str, timeout: float = 10) -> float:
    """Seconds until a write succeeds again (a refused attempt is a 503, nothing else)."""
    started = time.monotonic()
    while True:
        response = vendor.add_role(name)
        if response.status_code == 200:
            return time.monotonic() - started
        assert response.status_code == 503, response.text
        assert time.monotonic() - started < timeout, "writes never came back"
        time.sleep(0.1)


def test_a_full_disk_refuses_writes_with_503_keeps_reads_and_corrupts_nothing(
    tmp_path: Path, small_disk: Path
) -> None:
    """The disk under the database fills up: writes answer 503 "the database is full" (Auth0
    shape, SCIM error schema), reads answer, one line is logged; space freed, the same process
    writes again; the file passes ``integrity_check`` and holds exactly the accepted writes."""
    database = small_disk / "tenant.db"
    tenant = Tenant(tmp_path / "data", database_url=f"sqlite:///{database}")
    with running(tenant), httpx.Client(timeout=30) as http:
        vendor = Vendor(tenant, http)
        assert vendor.add_role("before the disk filled").status_code == 200
        assert vendor.add_scim_user("before@example.com").status_code == 201
        pid = tenant.pid
        _checkpoint(database)
        filler = _fill(small_disk)

        _assert_refused(vendor, "full", "The database is full")
        _assert_reads_work(vendor, "before the disk filled", "before@example.com")

        filler.unlink()
        recovered = _writes_again(vendor, "after space was freed")
        assert vendor.add_scim_user("after@example.com").status_code == 201
        assert tenant.pid == pid, "the same process, never restarted"
        log = tenant.log()
    print(f"writes again {recovered * 1000:.0f} ms after space was freed")
    assert "database full: POST /api/v2/roles answered 503 (database or disk is full)" in log
    assert "Traceback" not in log
    assert _integrity(database) == "ok"
    names = _role_names(database)
    assert {"before the disk filled", "after space was freed"} <= names
    assert "refused while full" not in names


def _chattr(flag: str, path: Path) -> None:
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True, check=False)  # noqa: S603, S607
    if done.returncode != 0:
        skip_or_fail(f"chattr {flag} is not possible here: {done.stderr.strip()}")


def test_a_read_only_database_file_refuses_writes_with_503_and_writes_again_once_writable(
    tmp_path: Path,
) -> None:
    """The database file turns immutable (the tenant restarts on it, as after a remount): reads
    answer, writes answer 503 "the database is read-only", one line is logged; made writable
    again, the same process writes again without a restart, and nothing is corrupted."""
    database = tmp_path / "db" / "tenant.db"
    tenant = Tenant(tmp_path / "data", database_url=f"sqlite:///{database}")
    with httpx.Client(timeout=30) as http:
        with running(tenant):
            vendor = Vendor(tenant, http)
            assert vendor.add_role("before it turned read-only").status_code == 200
            assert vendor.add_scim_user("before@example.com").status_code == 201
        _chattr("+i", database)
        try:
            with running(tenant):
                pid = tenant.pid
                _assert_refused(vendor, "read_only", "The database is read-only")
                _assert_reads_work(vendor, "before it turned read-only", "before@example.com")
                _chattr("-i", database)
                recovered = _writes_again(vendor, "after it was writable again")
                assert vendor.add_scim_user("after@example.com").status_code == 201
                assert tenant.pid == pid, "the same process, never restarted"
                log = tenant.log()
        finally:
            subprocess.run(["chattr", "-i", str(database)], check=False)  # noqa: S603, S607
    print(f"writes again {recovered * 1000:.0f} ms after the file was writable")
    assert "database read-only: POST /api/v2/roles answered 503" in log
    assert "attempt to write a readonly database" in log
    assert "Traceback" not in log
    assert _integrity(database) == "ok"
    names = _role_names(database)
    assert {"before it turned read-only", "after it was writable again"} <= names
    assert "refused while read_only" not in names
    assert os.access(database, os.W_OK)
