"""Universal Logout (SPEC §3): clearing a user's sessions ends them and sends each of their apps
with Universal Logout a signed global-token-revocation+jwt; and the worker that runs the jobs."""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from expressway import jose
from expressway.workforce.app import create_app
from expressway.workforce.provisioning.worker import ProvisioningWorker, run_due_jobs
from expressway.workforce.rows import UserRow, UserSessionRow
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.services import sessions
from tests.conftest import BACKENDS
from tests.workforce.conftest import (
    PUBLIC_URL,
    Seed,
    Workforce,
    _reset,
    _settings,
    new_app,
    new_user,
)
from tests.workforce.provisioning.conftest import (
    LOGOUT_ENDPOINT,
    FakeScim,
    Provisioned,
    configure,
)

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def _signed_in_user(p: Provisioned) -> str:
    user = new_user(p.api, "ada@example.com")
    assert p.api.post(f"/apps/{p.app_id}/users", json={"id": user["id"]}).status_code == 200
    runtime = p.workforce.runtime
    with runtime.sessions() as session:
        row = session.get(UserRow, user["id"])
        assert row is not None
        sessions.start(session, runtime.clock.now(), row)
        session.commit()
    user_id: str = user["id"]
    return user_id


def test_clearing_sessions_ends_them_and_sends_a_signed_logout_to_the_app(
    provisioned: Provisioned,
) -> None:
    """typ global-token-revocation+jwt, RS256 with the org's current kid, aud = the endpoint,
    body {"sub_id": {"format": "iss_sub", "iss": issuer, "sub": user id}}; 204 is success."""
    user_id = _signed_in_user(provisioned)
    response = provisioned.api.delete(f"/users/{user_id}/sessions", params={"oauthTokens": "true"})
    assert response.status_code == 204
    with provisioned.workforce.runtime.sessions() as session:
        ended = session.scalars(sa.select(UserSessionRow.ended_at)).all()
    assert ended
    assert all(at is not None for at in ended)
    assert provisioned.run() == 1

    [request] = provisioned.fake.logouts
    assert str(request.url) == LOGOUT_ENDPOINT
    issuer = f"{PUBLIC_URL}/orgs/acme"
    assert json.loads(request.content) == {
        "sub_id": {"format": "iss_sub", "iss": issuer, "sub": user_id}
    }
    scheme, token = request.headers["authorization"].split(" ", 1)
    assert scheme == "Bearer"
    runtime = provisioned.workforce.runtime
    org_id = provisioned.workforce.org_id()
    header, claims = jose.verify_jwt(token, jose.key_set(runtime.signing_keys.jwks(org_id)))
    assert header["typ"] == "global-token-revocation+jwt"
    assert header["alg"] == "RS256"
    assert header["kid"] == runtime.signing_keys.current(org_id).kid
    assert claims["iss"] == issuer
    assert claims["aud"] == LOGOUT_ENDPOINT
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert claims["jti"]
    [job] = provisioned.jobs()
    assert (job["kind"], job["state"]) == ("universal_logout", "COMPLETED")
    events = provisioned.api.get("/logs", params={"filter": 'eventType eq "user.session.clear"'})
    assert len(events.json()) == 1


def test_a_logout_the_app_cannot_take_is_retried_with_a_fresh_token(
    provisioned: Provisioned,
) -> None:
    """A 503 is retried (a new jti each time); a 401 fails with the receiver's description."""
    user_id = _signed_in_user(provisioned)
    provisioned.fake.logout_answer = httpx.Response(503)
    provisioned.api.delete(f"/users/{user_id}/sessions")
    provisioned.run()
    assert provisioned.jobs()[0]["state"] == "QUEUED"
    provisioned.fake.logout_answer = httpx.Response(
        401, json={"error": "invalid_token", "error_description": "the token does not verify"}
    )
    provisioned.run(provisioned.later(hours=2))
    [job] = provisioned.jobs()
    assert job["state"] == "FAILED"
    assert "the token does not verify" in job["lastError"]
    runtime = provisioned.workforce.runtime
    keys = jose.key_set(runtime.signing_keys.jwks(provisioned.workforce.org_id()))
    jtis = {
        jose.verify_jwt(r.headers["authorization"].split(" ", 1)[1], keys)[1]["jti"]
        for r in provisioned.fake.logouts
    }
    assert len(jtis) == 2


def test_only_assigned_apps_with_universal_logout_are_told(provisioned: Provisioned) -> None:
    """An app without an endpoint, or to which the user is not assigned, gets nothing."""
    user_id = _signed_in_user(provisioned)
    workforce = provisioned.workforce
    unassigned = new_app(provisioned.api, "Not assigned")
    configure(workforce, unassigned["id"])
    without = new_app(provisioned.api, "No logout")
    configure(workforce, without["id"], logout=False)
    provisioned.api.post(f"/apps/{without['id']}/users", json={"id": user_id})
    provisioned.api.delete(f"/users/{user_id}/sessions")
    assert provisioned.run() == 1
    assert len(provisioned.fake.logouts) == 1


def test_two_workers_run_each_job_exactly_once(provisioned: Provisioned) -> None:
    """Claims are exclusive (FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock on SQLite)."""
    provisioned.switches()
    for index in range(12):
        user = new_user(provisioned.api, f"user{index}@example.com")
        provisioned.api.post(f"/apps/{provisioned.app_id}/users", json={"id": user["id"]})
    runtime = provisioned.workforce.runtime
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        barrier.wait()
        counts.append(run_due_jobs(runtime))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(counts) == 12
    assert len(provisioned.fake.calls("POST")) == 12
    assert {job["state"] for job in provisioned.jobs()} == {"COMPLETED"}


def test_lanes_overlap_different_people_and_keep_each_persons_jobs_in_order(
    provisioned: Provisioned,
) -> None:
    """workforce_provisioning_concurrency lanes (4 by default): pushes of different people are
    in flight at once, while one person's push and the profile update queued behind it never
    overlap and run in that order."""
    assert provisioned.workforce.runtime.settings.workforce_provisioning_concurrency == 4
    provisioned.switches()
    api, fake = provisioned.api, provisioned.fake
    people = [new_user(api, f"lane{index}@example.com") for index in range(8)]
    for person in people:
        assert api.post(f"/apps/{provisioned.app_id}/users", json={"id": person["id"]}).is_success
    first = people[0]["id"]
    assert api.post(f"/users/{first}", json={"profile": {"lastName": "King"}}).is_success

    lock = threading.Lock()
    in_flight: list[str] = []
    most = 0
    spans: list[tuple[str, str, float, float]] = []

    def subject(request: httpx.Request) -> str:
        if request.method == "GET":
            return request.url.params["filter"].split('"')[1]
        if request.method == "POST":
            return str(json.loads(request.content)["userName"])
        return str(fake.users[request.url.path.rsplit("/", 1)[1]]["userName"])

    def slow_app(request: httpx.Request) -> httpx.Response:
        nonlocal most
        with lock:
            who = subject(request)
            in_flight.append(who)
            most = max(most, len(in_flight))
            started = time.monotonic()
        time.sleep(0.05)  # the app thinking: the time other lanes get to work
        with lock:
            in_flight.remove(who)
            spans.append((who, request.method, started, time.monotonic()))
            return fake.handle(request)

    runtime = provisioned.workforce.runtime
    runtime.tenant_http = lambda: httpx.Client(transport=httpx.MockTransport(slow_app))
    ProvisioningWorker(runtime).run_pass()

    assert {job["state"] for job in provisioned.jobs()} == {"COMPLETED"}
    assert len(fake.users) == 8
    assert most >= 2
    mine = sorted((s for s in spans if s[0] == "lane0@example.com"), key=lambda s: s[2])
    assert [method for _, method, _, _ in mine] == ["GET", "POST", "PUT"]
    assert all(before[3] <= after[2] for before, after in itertools.pairwise(mine))
    [pushed] = [u for u in fake.users.values() if u["userName"] == "lane0@example.com"]
    assert pushed["name"]["familyName"] == "King"


def test_a_lane_keeps_one_client_for_its_jobs_and_no_cookie_between_them(
    provisioned: Provisioned,
) -> None:
    """One HTTP client serves every job of a run (its connections are kept), closed at the end;
    a cookie an app sets is not sent with the next job's requests."""
    provisioned.switches()
    for index in range(3):
        user = new_user(provisioned.api, f"kept{index}@example.com")
        provisioned.api.post(f"/apps/{provisioned.app_id}/users", json={"id": user["id"]})
    fake = provisioned.fake
    cookies: list[str | None] = []

    def app_setting_cookies(request: httpx.Request) -> httpx.Response:
        cookies.append(request.headers.get("cookie"))
        answer = fake.handle(request)
        answer.headers["set-cookie"] = f"affinity={len(cookies)}; Path=/"
        return answer

    made: list[httpx.Client] = []

    def client() -> httpx.Client:
        made.append(httpx.Client(transport=httpx.MockTransport(app_setting_cookies)))
        return made[-1]

    runtime = provisioned.workforce.runtime
    runtime.tenant_http = client
    assert run_due_jobs(runtime) == 3
    assert len(made) == 1
    assert made[0].is_closed
    assert len(cookies) == 6  # a lookup and a create a person
    # Within a job the app's cookie comes back (as any HTTP client would send it); the next
    # job starts without it.
    assert cookies[0::2] == [None, None, None]
    assert all(cookie is not None for cookie in cookies[1::2])


def test_the_apps_worker_runs_jobs_as_soon_as_they_commit(
    workforce_seed: Seed, workforce_database: str, tmp_path: Path
) -> None:
    """workforce_provisioning_worker (on by default) starts a worker with the app, woken by the
    commit that queued a job, and stopped with the app."""
    runtime = WorkforceRuntime.from_settings(_settings(workforce_database, tmp_path))
    assert runtime.settings.workforce_provisioning_worker
    _reset(runtime.engine, workforce_seed)
    fake = FakeScim()
    runtime.tenant_http = lambda: httpx.Client(transport=httpx.MockTransport(fake.handle))
    app = create_app(runtime)
    with TestClient(app, base_url=PUBLIC_URL) as http:
        workforce = Workforce(runtime, http, workforce_seed.admins)
        provisioned = Provisioned(workforce, fake, new_app(workforce.api())["id"])
        configure(workforce, provisioned.app_id)
        provisioned.switches()
        user = new_user(workforce.api(), "ada@example.com")
        workforce.api().post(f"/apps/{provisioned.app_id}/users", json={"id": user["id"]})
        assert app.state.provisioning_worker.wait_for_fresh_pass(timeout=30)
        assert [u["externalId"] for u in fake.users.values()] == [user["id"]]
    assert not app.state.provisioning_worker._thread.is_alive()
    runtime.engine.dispose()
