"""On SQLite the SCIM creates that arrive together are written in one transaction, each in a
savepoint of its own (:mod:`expressway.tenant.scim.fast_path`): every create is answered as it
would be alone, a refused one undoes only its own writes and is answered by the SCIM server's
routes, and a batch that cannot commit is done again create by create, nothing lost and nothing
made twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from expressway.scim.errors import ScimError
from expressway.storage.sqlite_driver import SavepointLost
from expressway.tenant.rows import LogEventRow, OrganizationMemberRow, ScimUserRow, UserRow
from expressway.tenant.scim import fast_path, users
from expressway.tenant.scim.fast_path import ScimFastPath
from tests.conftest import Tenant
from tests.tenant.scim.helpers import ScimConnection, okta_user, scim_connection


def _fast_path(tenant: Tenant) -> ScimFastPath:
    """The SCIM fast path among the layers the tenant answers with first."""
    scim: Any = tenant.http.app.answer_first  # type: ignore[attr-defined]
    while not isinstance(scim, ScimFastPath):
        scim = scim.app  # AttributeError past the last layer: the path is not there
    assert scim.creates is not None, "creates are batched on SQLite"
    return scim


def _post_together(scim: ScimConnection, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """The creates sent at once, on one event loop, as a provisioning client's concurrent
    requests reach the server."""

    async def send() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=scim.http.app)
        async with httpx.AsyncClient(transport=transport, base_url=scim.base_url) as client:
            client.headers["Authorization"] = f"Bearer {scim.token}"
            return list(
                await asyncio.gather(*(client.post("/Users", json=body) for body in bodies))
            )

    return asyncio.run(send())


def _count(tenant: Tenant, query: sa.Select[Any]) -> int:
    with tenant.runtime.sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def _user_names(tenant: Tenant) -> list[str]:
    with tenant.runtime.sessions() as session:
        return sorted(session.scalars(sa.select(ScimUserRow.user_name)))


def _logged(tenant: Tenant, type: str) -> list[str | None]:
    with tenant.runtime.sessions() as session:
        query = sa.select(LogEventRow.user_name).where(LogEventRow.type == type)
        return sorted(session.scalars(query), key=str)


def _refuse_last(monkeypatch: pytest.MonkeyPatch, user_name: str) -> None:
    """From now on the create of ``user_name`` is refused (400) once it has written everything
    (its user, its SCIM row, its memberships, its log event), by the fast path and the SCIM
    server's routes alike."""
    real = users.provision

    def refused_last(ctx: Any, body: Any) -> Any:
        answer = real(ctx, body)
        if body["userName"] == user_name:
            raise ScimError(400, "refused once everything was written")
        return answer

    monkeypatch.setattr(users, "provision", refused_last)


def test_creates_that_arrive_together_are_written_in_one_transaction(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    path = _fast_path(tenant)
    assert path.creates is not None
    names = [f"user{i}@example.com" for i in range(4)]

    answers = _post_together(scim, [okta_user(name) for name in names])

    assert [answer.status_code for answer in answers] == [201] * 4
    assert [answer.json()["userName"] for answer in answers] == names
    assert len({answer.json()["id"] for answer in answers}) == 4
    assert (path.creates.batches, path.creates.items) == (1, 4)
    assert _user_names(tenant) == names
    assert _count(tenant, sa.select(UserRow.user_id)) == 4
    assert _logged(tenant, "sscim") == names
    # Each answer is the stored user, as a read of it answers.
    for answer in answers:
        read = scim.http.get(f"/Users/{answer.json()['id']}")
        assert read.json() == answer.json()


def test_a_refused_create_in_a_batch_is_answered_by_the_scim_server_alone(
    tenant: Tenant,
) -> None:
    """A taken userName among the batch's creates: the others are made, the refused one gets
    the SCIM server's 409 and its failure event, and nothing of it is kept."""
    scim = scim_connection(tenant)
    path = _fast_path(tenant)
    assert path.creates is not None
    assert scim.http.post("/Users", json=okta_user("taken@example.com")).status_code == 201
    batches = path.creates.batches

    answers = _post_together(
        scim,
        [
            okta_user("first@example.com"),
            okta_user("TAKEN@example.com", external_id="another-person"),
            okta_user("last@example.com"),
        ],
    )

    assert [answer.status_code for answer in answers] == [201, 409, 201]
    assert answers[1].json()["scimType"] == "uniqueness"
    assert path.creates.batches == batches + 1
    assert _user_names(tenant) == ["first@example.com", "last@example.com", "taken@example.com"]
    assert _count(tenant, sa.select(UserRow.user_id)) == 3
    assert _logged(tenant, "sscim") == [
        "first@example.com",
        "last@example.com",
        "taken@example.com",
    ]
    assert len(_logged(tenant, "fscim")) == 1


def test_a_create_refused_after_its_writes_undoes_them_and_only_them(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create refused once its user, its SCIM row, its memberships and its log event are
    written (a refusal the handler makes last): its savepoint is undone, the batch's other
    creates stand."""
    scim = scim_connection(tenant)
    organization = tenant.api().post("/organizations", json={"name": "acme"}).json()["id"]
    enabled = tenant.api().post(
        f"/organizations/{organization}/enabled_connections",
        json={"connection_id": scim.id, "assign_membership_on_login": False},
    )
    assert enabled.status_code == 201, enabled.text
    _refuse_last(monkeypatch, "refused@example.com")
    answers = _post_together(
        scim,
        [
            okta_user("kept@example.com"),
            okta_user("refused@example.com"),
            okta_user("also-kept@example.com"),
        ],
    )

    assert [answer.status_code for answer in answers] == [201, 400, 201]
    assert _user_names(tenant) == ["also-kept@example.com", "kept@example.com"]
    assert _count(tenant, sa.select(UserRow.user_id)) == 2
    assert _count(tenant, sa.select(OrganizationMemberRow.user_id)) == 2
    assert _logged(tenant, "sscim") == ["also-kept@example.com", "kept@example.com"]


def test_a_batch_that_cannot_commit_is_done_again_create_by_create(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's commit fails (the disk, say): nothing of it stands, and the SCIM server's
    routes make each create again in its own transaction; every user is made once."""
    scim = scim_connection(tenant)
    runtime = tenant.runtime
    failures: list[str] = []
    real_factory: Callable[[], Session] = runtime.no_wait_sessions

    def failing_once() -> Session:
        session = real_factory()
        if not failures:

            def commit() -> None:
                failures.append("commit")
                session.rollback()
                raise sa_exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))

            session.commit = commit  # type: ignore[method-assign]
        return session

    monkeypatch.setattr(runtime, "no_wait_sessions", failing_once)
    names = [f"user{i}@example.com" for i in range(3)]
    answers = _post_together(scim, [okta_user(name) for name in names])

    assert failures == ["commit"]
    assert [answer.status_code for answer in answers] == [201] * 3
    assert _user_names(tenant) == names
    assert _logged(tenant, "sscim") == names
    assert _logged(tenant, "fscim") == []


def test_a_savepoint_that_cannot_be_undone_sends_the_whole_batch_down_the_stack(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused create whose savepoint could not be rolled back leaves its writes in the
    batch's transaction: the batch is rolled back whole, and every create of it is done again by
    the SCIM server's routes."""
    scim = scim_connection(tenant)
    _refuse_last(monkeypatch, "refused@example.com")

    @contextmanager
    def lost(session: Session) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            raise SavepointLost("the connection failed") from exc

    monkeypatch.setattr(fast_path, "savepoint", lost)
    answers = _post_together(
        scim, [okta_user("kept@example.com"), okta_user("refused@example.com")]
    )

    assert [answer.status_code for answer in answers] == [201, 400]
    assert _user_names(tenant) == ["kept@example.com"]
    assert _count(tenant, sa.select(UserRow.user_id)) == 1
    assert _logged(tenant, "sscim") == ["kept@example.com"]
