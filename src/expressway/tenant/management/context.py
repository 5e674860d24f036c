"""Per-request dependencies of the Management API: the caller's token, scope and unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from expressway import jose
from expressway.tenant import logs
from expressway.tenant.management.errors import ManagementApiError
from expressway.tenant.runtime import TenantRuntime

RowT = TypeVar("RowT")


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
            token, runtime.signing_keys.verification_keys(kid), algorithms=("RS256",)
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
    per_page: Annotated[int, Query(ge=1, le=100, description="Results per page.")] = 50,
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
