"""Per-request dependencies of the Management API: the caller's token, scope and unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from expressway import jose
from expressway.tenant import logs
from expressway.tenant.management.errors import ManagementApiError
from expressway.tenant.runtime import TenantRuntime

RowT = TypeVar("RowT")

#: Results per page when a list is asked for without ``per_page`` or ``take``, as in Auth0.
DEFAULT_PAGE_SIZE = 50
#: Auth0 serves at most this many records through offset paging; past it, checkpoints.
OFFSET_PAGING_LIMIT = 1000
#: A Management API token lists at most the API's scopes, a few kilobytes; a longer bearer
#: token is refused unread.
MAX_TOKEN_LENGTH = 16_384


@dataclass(frozen=True)
class Caller:
    """Who is calling: the client the access token was issued to, and the token's scopes."""

    client_id: str | None
    subject: str
    scopes: frozenset[str]


@dataclass
class Management:
    """What a Management API handler works with."""

    session: Session
    runtime: TenantRuntime
    caller: Caller
    request: Request

    def log(
        self, description: str, *, details: dict[str, Any] | None = None, **fields: Any
    ) -> None:
        """Record a successful write as a ``sapi`` event in this request's transaction."""
        logs.record(
            self.session,
            at=self.runtime.clock.now(),
            type="sapi",
            description=description,
            client_id=self.caller.client_id,
            ip=self.request.client.host if self.request.client else None,
            user_agent=self.request.headers.get("user-agent"),
            details={
                "request": {"method": self.request.method, "path": self.request.url.path},
                **(details or {}),
            },
            **fields,
        )


def get_runtime(request: Request) -> TenantRuntime:
    runtime: TenantRuntime = request.app.state.runtime
    return runtime


def _unauthorized(message: str) -> ManagementApiError:
    return ManagementApiError(
        401, message, "invalid_token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


def authenticate(request: Request, runtime: TenantRuntime) -> Caller:
    """Verify the bearer access token: our signature, our issuer, the Management API audience."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ManagementApiError(
            401, "Missing authentication", "missing_token", headers={"WWW-Authenticate": "Bearer"}
        )
    token = token.strip()
    try:
        kid = jose.peek_header(token).get("kid")
        _, claims = jose.verify_jwt(
            token,
            runtime.signing_keys.verification_keys(kid),
            algorithms=("RS256",),
            max_length=MAX_TOKEN_LENGTH,
        )
        jose.check_claims(
            claims,
            now=runtime.clock.timestamp(),
            issuer=runtime.settings.tenant_issuer,
            audience=runtime.settings.management_audience,
        )
    except jose.JoseFailure as exc:
        raise _unauthorized(f"Invalid token: {exc}") from exc
    scope = claims.get("scope", "")
    scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
    client_id = claims.get("azp") or claims.get("client_id")
    return Caller(
        client_id=client_id if isinstance(client_id, str) else None,
        subject=str(claims.get("sub", "")),
        scopes=scopes,
    )


def management(*required: str) -> Callable[..., Iterator[Management]]:
    """A dependency: the caller must hold any one of ``required``; yields the request's context.

    The unit of work commits when the handler returns and rolls back when it raises: a failed
    write changes nothing.
    """

    def dependency(request: Request) -> Iterator[Management]:
        runtime = get_runtime(request)
        caller = authenticate(request, runtime)
        if required and not caller.scopes.intersection(required):
            raise ManagementApiError(
                403,
                f"Insufficient scope, expected any of: {','.join(required)}",
                "insufficient_scope",
            )
        session = runtime.sessions()
        try:
            yield Management(session=session, runtime=runtime, caller=caller, request=request)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    return dependency


def uses(*required: str) -> Any:
    """``ctx: Management = uses("read:roles")`` in a handler's signature."""
    return Depends(management(*required), scope="function")


@dataclass(frozen=True)
class PageParams:
    page: int
    per_page: int
    include_totals: bool


def page_params(
    page: Annotated[int, Query(ge=0, le=10_000, description="Page index, from 0.")] = 0,
    per_page: Annotated[
        int, Query(ge=1, le=100, description="Results per page.")
    ] = DEFAULT_PAGE_SIZE,
    include_totals: Annotated[
        bool, Query(description="Wrap the results in an object with the total count.")
    ] = False,
) -> PageParams:
    return PageParams(page=page, per_page=per_page, include_totals=include_totals)


Paging = Annotated[PageParams, Depends(page_params)]


def paged(items: list[Any], total: int, params: PageParams, key: str) -> Any:
    """Auth0's paged answer: the bare list, or ``{start, limit, total, <key>}`` with totals."""
    if not params.include_totals:
        return items
    return {
        "start": params.page * params.per_page,
        "limit": params.per_page,
        "total": total,
        key: items,
    }


def fetch_page(
    session: Session, statement: Select[RowT], params: PageParams
) -> tuple[list[RowT], int]:
    """One page of ``statement``'s rows, and the total count when totals were asked for.

    ``statement`` must have a stable ``order_by``: page boundaries move otherwise.
    """
    total = 0
    if params.include_totals:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        total = session.scalar(counted) or 0
    rows = list(
        session.scalars(statement.offset(params.page * params.per_page).limit(params.per_page))
    )
    return rows, total


def check_offset_window(params: PageParams) -> None:
    """Refuse an offset page that reaches past Auth0's limit, pointing to checkpoint paging."""
    if (params.page + 1) * params.per_page > OFFSET_PAGING_LIMIT:
        raise ManagementApiError(
            400,
            f"Requesting page exceeds the allowed maximum of {OFFSET_PAGING_LIMIT} records;"
            " use checkpoint pagination (from, take)",
            "invalid_paging",
        )


@dataclass(frozen=True)
class Checkpoint:
    """Checkpoint paging: ``take`` rows from the row whose key is ``start`` (a previous
    ``next``), or from the first row."""

    start: str | None
    take: int


def checkpoint_params(
    start: Annotated[
        str | None,
        Query(alias="from", max_length=1024, description="The `next` of the previous page."),
    ] = None,
    take: Annotated[int | None, Query(ge=1, le=100, description="Results per page.")] = None,
) -> Checkpoint | None:
    """Checkpoint paging when ``from`` or ``take`` is given, ``None`` (offset paging) otherwise.

    Auth0 switches on either: the SDK's pagers send ``take`` on the first page.
    """
    if start is None and take is None:
        return None
    return Checkpoint(start=start or None, take=take or DEFAULT_PAGE_SIZE)


#: ``Checkpoint | None``: for lists that page by offset unless ``from`` or ``take`` is given.
CheckpointPaging = Annotated[Checkpoint | None, Depends(checkpoint_params)]


def first_checkpoint_unless_given(checkpoint: CheckpointPaging) -> Checkpoint:
    """For lists that page only by checkpoint: without ``from`` and ``take``, the first page."""
    return checkpoint or Checkpoint(start=None, take=DEFAULT_PAGE_SIZE)


#: ``Checkpoint``: for lists that page only by checkpoint.
CheckpointOnlyPaging = Annotated[Checkpoint, Depends(first_checkpoint_unless_given)]


def fetch_checkpoint(
    session: Session,
    statement: Select[RowT],
    key_column: InstrumentedAttribute[str],
    checkpoint: Checkpoint,
) -> tuple[list[RowT], str | None]:
    """One checkpoint page of ``statement`` in ``key_column`` order, and its ``next``.

    ``next`` is the key of the following page's first row (``None`` on the last page), so it
    keeps Auth0's meaning of ``from``, "the id from which to start selection"; clients pass it
    back unread, as they do Auth0's opaque ``next``.

    Pages are cut by key, not by position, so the key must be unique within ``statement``: rows
    added or removed between two requests then neither repeat a row on the next page nor skip
    one, as they would under an offset, and the database seeks to the start through the key's
    index instead of counting past every earlier row.
    """
    if checkpoint.start is not None:
        statement = statement.where(key_column >= checkpoint.start)
    ordered = statement.order_by(None).order_by(key_column)
    rows = list(session.scalars(ordered.limit(checkpoint.take + 1)))
    if len(rows) <= checkpoint.take:
        return rows, None
    return rows[: checkpoint.take], str(getattr(rows[checkpoint.take], key_column.key))


def checkpointed(items: list[Any], next: str | None, key: str) -> dict[str, Any]:
    """Auth0's checkpoint answer: ``{<key>: items}``, with ``next`` unless this is the last page."""
    if next is None:
        return {key: items}
    return {key: items, "next": next}
