"""Provisioning jobs are durable: the app being down, a 5xx or a 429 is retried with backoff
(honouring Retry-After, RFC 9110 §10.2.3); other 4xx fail at once with the SCIM error's detail
(RFC 7644 §3.12); each job's state is visible and every state change is in the System Log."""

from __future__ import annotations

import time
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import sqlalchemy as sa

from expressway.storage.engine import unit_of_work
from expressway.workforce.provisioning import jobs
from expressway.workforce.provisioning.worker import run_due_jobs
from expressway.workforce.rows import ProvisionedUserRow, ProvisioningJobRow
from tests.conftest import BACKENDS
from tests.workforce.conftest import new_user, okta_error
from tests.workforce.provisioning.conftest import Provisioned, scim_error

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def _assigned(p: Provisioned, login: str = "ada@example.com") -> str:
    p.switches()
    user = new_user(p.api, login)
    assert p.api.post(f"/apps/{p.app_id}/users", json={"id": user["id"]}).status_code == 200
    user_id: str = user["id"]
    return user_id


def _job(p: Provisioned) -> dict[str, Any]:
    [job] = p.jobs()
    return job


def test_an_app_that_is_down_is_retried_with_backoff_until_it_answers(
    provisioned: Provisioned,
) -> None:
    """A connection error leaves the job QUEUED for later; nothing is dropped."""
    _assigned(provisioned)
    provisioned.fake.failures = ["connect"]
    now = provisioned.later()
    provisioned.run(now)
    job = _job(provisioned)
    assert job["state"] == "QUEUED"
    assert job["attempts"] == 1
    assert "did not answer" in job["lastError"]
    with provisioned.workforce.runtime.sessions() as session:
        row = session.scalars(sa.select(ProvisioningJobRow)).one()
        # Full jitter: anywhere in [0, 5 s] after a first failure.
        assert now <= row.next_attempt_at <= now + timedelta(seconds=5)
    assert provisioned.run(now) == 0  # the same call's instant: not due again
    assert provisioned.run(now + timedelta(hours=2)) == 1
    assert _job(provisioned)["state"] == "COMPLETED"
    assert len(provisioned.fake.users) == 1


def test_a_429_waits_as_long_as_retry_after_says(provisioned: Provisioned) -> None:
    """Retry-After in seconds is honoured: the next attempt is due exactly then."""
    _assigned(provisioned)
    provisioned.fake.failures = [scim_error(429, "slow down", {"Retry-After": "120"})]
    now = provisioned.later()
    provisioned.run(now)
    with provisioned.workforce.runtime.sessions() as session:
        job = session.scalars(sa.select(ProvisioningJobRow)).one()
        assert job.next_attempt_at == now + timedelta(seconds=120)
    assert provisioned.run(now + timedelta(seconds=119)) == 0
    assert provisioned.run(now + timedelta(seconds=120)) == 1
    assert _job(provisioned)["state"] == "COMPLETED"


def test_a_503_with_an_http_date_retry_after_is_honoured(provisioned: Provisioned) -> None:
    """Retry-After as an HTTP date (RFC 9110 §10.2.3)."""
    _assigned(provisioned)
    now = provisioned.later()
    until = (now + timedelta(minutes=10)).replace(microsecond=0)
    provisioned.fake.failures = [
        scim_error(503, "maintenance", {"Retry-After": format_datetime(until, usegmt=True)})
    ]
    provisioned.run(now)
    with provisioned.workforce.runtime.sessions() as session:
        job = session.scalars(sa.select(ProvisioningJobRow)).one()
        assert job.next_attempt_at == until
        assert "503" in (job.last_error or "")


def test_a_400_fails_the_job_at_once_with_the_scim_detail(provisioned: Provisioned) -> None:
    """A client error is not retried: FAILED with the SCIM error's detail, and retryable by
    an admin."""
    _assigned(provisioned)
    provisioned.fake.failures = [scim_error(400, "userName must be an e-mail address")]
    provisioned.run()
    job = _job(provisioned)
    assert job["state"] == "FAILED"
    assert job["attempts"] == 1
    assert "userName must be an e-mail address" in job["lastError"]
    assert "retry" in job["_links"]
    assert provisioned.jobs("FAILED") == [job]
    assert provisioned.jobs("COMPLETED") == []

    retried = provisioned.api.post(
        f"/apps/{provisioned.app_id}/provisioning/jobs/{job['id']}/retry"
    )
    assert retried.status_code == 200
    assert retried.json()["state"] == "QUEUED"
    provisioned.run()
    assert _job(provisioned)["state"] == "COMPLETED"
    again = provisioned.api.post(f"/apps/{provisioned.app_id}/provisioning/jobs/{job['id']}/retry")
    okta_error(again, "E0000001")


def test_after_the_last_attempt_the_job_fails_with_its_reason(provisioned: Provisioned) -> None:
    """workforce_provisioning_max_attempts (8 by default) bounds the retries."""
    _assigned(provisioned)
    attempts = provisioned.workforce.runtime.settings.workforce_provisioning_max_attempts
    provisioned.fake.failures = [scim_error(500, "boom")] * (attempts * 2)
    at = provisioned.later()
    for _ in range(attempts):
        at += timedelta(days=1)
        assert provisioned.run(at) == 1
    job = _job(provisioned)
    assert job["state"] == "FAILED"
    assert job["attempts"] == attempts
    assert f"gave up after {attempts} attempts" in job["lastError"]
    assert provisioned.run(at + timedelta(days=1)) == 0


def test_every_state_change_is_a_system_log_event(provisioned: Provisioned) -> None:
    """QUEUED, IN_PROGRESS, retry, COMPLETED: each an application.provision.user.push event."""
    _assigned(provisioned)
    provisioned.fake.failures = [scim_error(502, "bad gateway")]
    provisioned.run()
    provisioned.run(provisioned.later(hours=2))
    job = _job(provisioned)
    events = provisioned.api.get(
        "/logs", params={"filter": f'target.id eq "{job["id"]}"', "since": "2000-01-01T00:00:00Z"}
    ).json()
    assert {e["eventType"] for e in events} == {"application.provision.user.push"}
    outcomes = [(e["outcome"]["result"], e["debugContext"]["debugData"]["state"]) for e in events]
    assert outcomes == [
        ("UNKNOWN", "QUEUED"),
        ("UNKNOWN", "IN_PROGRESS"),
        ("FAILURE", "QUEUED"),
        ("UNKNOWN", "IN_PROGRESS"),
        ("SUCCESS", "COMPLETED"),
    ]
    assert "502" in events[2]["outcome"]["reason"]


def test_a_job_is_read_through_the_admin_api_and_unknown_ones_are_404(
    provisioned: Provisioned,
) -> None:
    """GET …/provisioning/jobs/{id}; an unknown job or state is refused in Okta's shape."""
    user_id = _assigned(provisioned)
    job = _job(provisioned)
    read = provisioned.api.get(f"/apps/{provisioned.app_id}/provisioning/jobs/{job['id']}")
    assert read.status_code == 200
    assert read.json()["subject"] == {"type": "USER", "id": user_id}
    assert read.json()["eventType"] == "application.provision.user.push"
    missing = provisioned.api.get(f"/apps/{provisioned.app_id}/provisioning/jobs/pjbnope")
    okta_error(missing, "E0000007")
    bad = provisioned.api.get(f"/apps/{provisioned.app_id}/provisioning/jobs?state=DONE")
    assert bad.status_code == 400


def test_a_job_rerun_after_a_crash_does_not_create_the_user_twice(
    provisioned: Provisioned,
) -> None:
    """Idempotence: the app wrote, the worker died before settling; the lease runs out and the
    job runs again, finds the user and adopts it."""
    _assigned(provisioned)
    runtime = provisioned.workforce.runtime
    now = provisioned.later()
    with unit_of_work(runtime.sessions) as session:
        claim = jobs.claim(session, now)
    assert claim is not None
    from expressway.workforce.provisioning import handlers

    handlers.run(runtime, claim, now)  # the app creates the user; the worker then "dies"
    assert len(provisioned.fake.users) == 1
    assert run_due_jobs(runtime, now + jobs.LEASE - timedelta(seconds=1)) == 0  # leased
    assert run_due_jobs(runtime, now + jobs.LEASE + timedelta(seconds=1)) == 1
    assert len(provisioned.fake.users) == 1
    job = _job(provisioned)
    assert job["state"] == "COMPLETED"
    assert job["attempts"] == 2
    assert job["result"]["operation"] == "adopted"
    with runtime.sessions() as session:
        assert session.scalars(sa.select(ProvisionedUserRow.scim_id)).one() == "scim-1"


def test_a_renewed_lease_keeps_the_job_and_a_lost_one_cannot_be_renewed(
    provisioned: Provisioned,
) -> None:
    """A worker still calling the app renews its lease: no other worker takes the job while it
    does; once renewals stop, the lease runs out, another claim takes over, and the first claim
    can renew no more."""
    _assigned(provisioned)
    runtime = provisioned.workforce.runtime
    now = provisioned.later()
    with unit_of_work(runtime.sessions) as session:
        first = jobs.claim(session, now)
    assert first is not None
    renewed_at = now + jobs.LEASE * 3
    with unit_of_work(runtime.sessions) as session:
        assert jobs.renew(session, first, renewed_at)
    assert run_due_jobs(runtime, renewed_at + jobs.LEASE - timedelta(seconds=1)) == 0
    assert run_due_jobs(runtime, renewed_at + jobs.LEASE + timedelta(seconds=1)) == 1
    with unit_of_work(runtime.sessions) as session:
        assert not jobs.renew(session, first, renewed_at)
    job = _job(provisioned)
    assert (job["state"], job["attempts"]) == ("COMPLETED", 2)


def test_the_worker_renews_the_lease_while_the_app_is_called(
    provisioned: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a job's app call runs, a thread renews its lease to the clock's now + LEASE."""
    from expressway.workforce.provisioning.worker import _lease_kept

    _assigned(provisioned)
    runtime = provisioned.workforce.runtime
    claimed_at = provisioned.later()
    with unit_of_work(runtime.sessions) as session:
        claim = jobs.claim(session, claimed_at)
        assert claim is not None
        # A lease about to run out: only a renewal moves it past the clock's now.
        session.execute(
            sa.update(ProvisioningJobRow)
            .where(ProvisioningJobRow.id == claim.id)
            .values(lease_expires_at=claimed_at - timedelta(hours=1))
        )
    monkeypatch.setattr(jobs, "RENEW_EVERY", timedelta(milliseconds=20))

    def lease() -> Any:
        with runtime.sessions() as session:
            return session.scalars(
                sa.select(ProvisioningJobRow.lease_expires_at).where(
                    ProvisioningJobRow.id == claim.id
                )
            ).one()

    before = lease()
    with _lease_kept(runtime, claim):
        deadline = time.monotonic() + 10
        while lease() == before:
            assert time.monotonic() < deadline, "the lease was never renewed"
            time.sleep(0.02)
    assert lease().replace(tzinfo=None) >= (
        runtime.clock.now() + jobs.LEASE - timedelta(seconds=5)
    ).replace(tzinfo=None)


def test_jobs_of_one_user_run_in_order_behind_a_failing_one(provisioned: Provisioned) -> None:
    """A subject's jobs keep their order: a re-assignment waits for the unassignment's retry,
    so the app ends with the user active."""
    user_id = _assigned(provisioned)
    provisioned.run()
    assert provisioned.api.delete(f"/apps/{provisioned.app_id}/users/{user_id}").status_code == 204
    provisioned.fake.failures = ["connect"]
    now = provisioned.later()
    provisioned.run(now)
    assigned = provisioned.api.post(f"/apps/{provisioned.app_id}/users", json={"id": user_id})
    assert assigned.status_code == 200
    assert provisioned.run(now) == 0
    provisioned.run(now + timedelta(hours=2))
    patches = [seen.body["Operations"][0]["value"] for seen in provisioned.fake.requests[-3:]]
    assert patches == [{"active": False}, {"active": False}, {"active": True}]
    assert next(iter(provisioned.fake.users.values()))["active"] is True


def test_a_pass_with_nothing_due_takes_no_write_transaction(
    provisioned: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker looks every few seconds: with nothing due (an empty queue, a job backing off,
    a lease still held) it only reads, so it never takes SQLite's write lock from the requests;
    a due job is claimed and run as before."""
    runtime = provisioned.workforce.runtime
    write_sessions = runtime.sessions
    opened: list[str] = []

    def counted() -> Any:
        opened.append("write")
        return write_sessions()

    monkeypatch.setattr(runtime, "sessions", counted)
    assert run_due_jobs(runtime, provisioned.later()) == 0
    assert opened == []

    monkeypatch.setattr(runtime, "sessions", write_sessions)
    _assigned(provisioned)
    provisioned.fake.failures = ["connect"]
    now = provisioned.later()
    assert provisioned.run(now) == 1
    monkeypatch.setattr(runtime, "sessions", counted)
    assert run_due_jobs(runtime, now) == 0, "backing off: not due at the same instant"
    assert opened == []
    assert run_due_jobs(runtime, now + timedelta(hours=2)) == 1
    assert opened, "the due job was claimed and settled in write transactions"
    assert _job(provisioned)["state"] == "COMPLETED"
