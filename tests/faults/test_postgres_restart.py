"""PostgreSQL stopped and started again under load (issue 10, Faults): while it is down, every
request fails fast with 503 and ``Retry-After`` in its API's own error shape; once it is back,
the same server processes serve again by themselves, and their background workers lived through
it. The PostgreSQL here is the test's own cluster (``initdb`` on a free port), never the
machine's shared server."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.faults.load import Answer, Load, Request
from tests.faults.processes import (
    PrivatePostgres,
    Tenant,
    Workforce,
    private_postgres,
    running,
    scim_connection,
)

pytestmark = pytest.mark.faults

#: How long a request may take to fail while the database is down: well under any client's
#: timeout, so that clients retry instead of piling up.
FAIL_FAST_SECONDS = 2.0
#: How soon after PostgreSQL is back the same process must serve again.
RECOVERY_SECONDS = 10.0
OUTAGE_SECONDS = 4.0
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class Cluster:
    postgres: PrivatePostgres
    tenant: Tenant
    workforce: Workforce
    scim_url: str
    scim_token: str


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with private_postgres() as postgres:
        tenant = Tenant(
            tmp_path_factory.mktemp("pg-tenant"), database_url=postgres.create_database("tenant")
        )
        workforce = Workforce(
            tmp_path_factory.mktemp("pg-workforce"),
            database_url=postgres.create_database("workforce"),
        )
        with running(tenant), running(workforce), httpx.Client(timeout=30) as http:
            scim_url, scim_token = scim_connection(tenant, http)
            yield Cluster(postgres, tenant, workforce, scim_url, scim_token)


def _tenant_requests(cluster: Cluster) -> list[Request]:
    tenant = cluster.tenant
    management = {"Authorization": f"Bearer {tenant.live.token()}"}
    token_form = {
        "grant_type": "client_credentials",
        "client_id": tenant.live.client_id,
        "client_secret": tenant.live.client_secret,
        "audience": tenant.live.management_audience,
    }
    scim = {"Authorization": f"Bearer {cluster.scim_token}"}
    page = f"{tenant.url}/authorize?client_id={tenant.live.client_id}&response_type=code"
    return [
        ("token", lambda h: h.post(f"{tenant.url}/oauth/token", data=token_form)),
        ("management", lambda h: h.get(f"{tenant.url}/api/v2/roles", headers=management)),
        ("scim", lambda h: h.get(f"{cluster.scim_url}/Users?count=5", headers=scim)),
        ("page", lambda h: h.get(page, headers={"Accept": "text/html"})),
    ]


def _workforce_requests(cluster: Cluster) -> list[Request]:
    workforce = cluster.workforce
    org = workforce.live.org_url("acme")
    admin = {"Authorization": f"SSWS {workforce.live.tokens['acme']}"}
    unknown_client = {
        "grant_type": "authorization_code",
        "code": "unknown",
        "client_id": "unknown",
        "client_secret": "unknown",
        "redirect_uri": "https://app.example/callback",
    }
    return [
        ("admin", lambda h: h.get(f"{org}/api/v1/users?limit=5", headers=admin)),
        ("oidc_token", lambda h: h.post(f"{org}/oauth2/v1/token", data=unknown_client)),
        ("console", lambda h: h.get(f"{org}/admin", headers={"Accept": "text/html"})),
    ]


#: The status each request answers while the database is up.
UP_STATUS = {
    "token": 200,
    "management": 200,
    "scim": 200,
    "page": 400,
    "admin": 200,
    "oidc_token": 401,
    "console": 303,
}


def in_shape(name: str, response: httpx.Response) -> bool:
    """Up: the usual answer. Down: 503, ``Retry-After``, and the error shape of its API."""
    if response.status_code != 503:
        return response.status_code == UP_STATUS[name]
    if not response.headers.get("retry-after", "").isdigit():
        return False
    kind = response.headers.get("content-type", "")
    if name in ("page", "console"):
        return kind.startswith("text/html") and "The database is unavailable" in response.text
    body = response.json()
    if name in ("token", "oidc_token"):
        return body.get("error") == "temporarily_unavailable"
    if name == "management":
        return body.get("statusCode") == 503 and body.get("errorCode") == "database_unavailable"
    if name == "scim":
        return (
            kind.startswith("application/scim+json")
            and body.get("schemas") == [SCIM_ERROR]
            and body.get("status") == "503"
        )
    # Okta's shape (the workforce admin API).
    return body.get("errorCode") == "E0000009" and body.get("errorCauses") == [
        {"errorSummary": "database_unavailable"}
    ]


@dataclass
class Outage:
    load: Load
    stopping: float
    stopped: float
    restarting: float
    restarted: float

    def during(self) -> list[Answer]:
        return self.load.between(self.stopped, self.restarting)

    def recovered(self) -> Answer:
        first = self.load.first_success_after(self.restarted)
        assert first is not None, "nothing succeeded after PostgreSQL came back"
        return first


def _wait_until_served(requests: list[Request], timeout: float = 30) -> None:
    """The scene is healthy before the fault: every request gets its usual answer."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=15) as http:
        for name, send in requests:
            while (response := send(http)).status_code != UP_STATUS[name]:
                assert time.monotonic() < deadline, f"{name} before the outage: {response.text}"
                time.sleep(0.2)


def _outage_under_load(postgres: PrivatePostgres, requests: list[Request]) -> Outage:
    """Load for a second, PostgreSQL stopped (fast shutdown: sessions cut) for a few seconds,
    then started again, and load for a few more seconds."""
    _wait_until_served(requests)
    with Load(requests, in_shape) as load:
        time.sleep(1.0)
        stopping = time.monotonic()
        postgres.stop("fast")
        stopped = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        restarting = time.monotonic()
        postgres.start()
        restarted = time.monotonic()
        deadline = restarted + RECOVERY_SECONDS + 3
        while load.first_success_after(restarted) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.0)
    assert load.errors == [], load.errors[:5]
    return Outage(load, stopping, stopped, restarting, restarted)


def _check(outage: Outage, names: set[str], started: float) -> None:
    before = outage.load.between(started, outage.stopping)
    assert before
    assert all(a.status < 500 and a.in_shape for a in before), [
        a for a in before if not a.in_shape
    ][:3]

    during = outage.during()
    assert {a.name for a in during} == names, "every API was asked while the database was down"
    assert all(a.status == 503 for a in during), sorted({(a.name, a.status) for a in during})
    assert all(a.in_shape for a in during), [a for a in during if not a.in_shape][:3]
    slowest = max(a.seconds for a in during)
    assert slowest < FAIL_FAST_SECONDS, f"a request took {slowest:.2f} s to fail"

    recovered = outage.recovered()
    assert recovered.done - outage.restarted < RECOVERY_SECONDS
    after = outage.load.between(recovered.done, float("inf"))
    assert {a.name for a in after} == names
    assert all(a.status < 500 and a.in_shape for a in after), [a for a in after if a.status >= 500]
    print(
        f"{len(during)} requests while down, slowest {slowest * 1000:.0f} ms;"
        f" served again {recovered.done - outage.restarted:.2f} s after PostgreSQL was back"
    )


def _one_line_per_failed_round(log: str, worker_line: str) -> None:
    """The worker failed each round while the database was down, said so in one line (no
    traceback), and went on to the next round rather than dying."""
    assert len(re.findall(re.escape(worker_line) + r": database unavailable", log)) >= 2, log
    assert "Traceback" not in log


def test_the_tenant_answers_503_fast_while_postgresql_is_down_and_recovers_without_a_restart(
    cluster: Cluster,
) -> None:
    """Token, Management API, SCIM and a login page under load: 503 in their own shapes with
    ``Retry-After`` within 2 s while PostgreSQL is down, then served again by the same process."""
    pid = cluster.tenant.pid
    started = time.monotonic()
    outage = _outage_under_load(cluster.postgres, _tenant_requests(cluster))
    _check(outage, {"token", "management", "scim", "page"}, started)
    assert pid is not None
    assert cluster.tenant.pid == pid, "the tenant process is still the same one"
    log = cluster.tenant.log()
    assert "database unavailable: GET /api/v2/roles answered 503" in log
    _one_line_per_failed_round(log, "a back-channel logout delivery round failed")


def test_the_workforce_answers_503_fast_while_postgresql_is_down_and_recovers_without_a_restart(
    cluster: Cluster,
) -> None:
    """The admin API (Okta's shape), the OIDC token endpoint (RFC 6749) and the admin console
    (a page) under load, the same way; the provisioning worker lives through the outage."""
    pid = cluster.workforce.pid
    started = time.monotonic()
    outage = _outage_under_load(cluster.postgres, _workforce_requests(cluster))
    _check(outage, {"admin", "oidc_token", "console"}, started)
    assert pid is not None
    assert cluster.workforce.pid == pid, "the workforce process is still the same one"
    log = cluster.workforce.log()
    assert "database unavailable: GET /orgs/acme/api/v1/users answered 503" in log
    _one_line_per_failed_round(log, "the provisioning worker's pass failed")
