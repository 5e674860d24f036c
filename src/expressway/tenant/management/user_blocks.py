"""``/api/v2/user-blocks``: the blocks of brute-force protection, found and lifted by the
account's identifier (its e-mail) or by its user_id, in Auth0's shapes.

These are the blocks the tenant puts on an account from one IP address after too many failed
sign-ins (:mod:`expressway.tenant.services.throttling`), not the ``blocked`` flag an
administrator sets on a user, which these endpoints neither show nor lift, as in Auth0.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from expressway.tenant.management.context import Management, uses
from expressway.tenant.rows import AttemptCounterRow, UserRow
from expressway.tenant.services import throttling
from expressway.tenant.services import users as users_service
from expressway.web.json_bodies import JsonBodyRoute

router = APIRouter(prefix="/user-blocks", tags=["User Blocks"], route_class=JsonBodyRoute)

Identifier = Annotated[
    str,
    Query(
        min_length=1,
        max_length=320,
        description="The account's identifier: its e-mail address, whatever its case.",
    ),
]
ConsiderEnablement = Annotated[
    bool,
    Query(description="Accepted as Auth0 accepts it; brute-force protection is always on here."),
]


class BlockOut(BaseModel):
    identifier: str
    ip: str | None = None
    connection: str


class BlocksOut(BaseModel):
    blocked_for: list[BlockOut]


def _blocks(ctx: Management, identifier: str, connection: str | None = None) -> BlocksOut:
    rows: list[AttemptCounterRow] = throttling.account_blocks(
        ctx.session,
        throttling.Limits.of(ctx.runtime.settings),
        ctx.runtime.clock.now(),
        identifier,
        connection=connection,
    )
    return BlocksOut(
        blocked_for=[
            BlockOut(identifier=row.subject or "", ip=row.ip, connection=row.realm or "")
            for row in rows
        ]
    )


def _identifier_of(user: UserRow) -> str:
    # Database users sign in with their e-mail; a user without one has nothing to block.
    return user.email_key or ""


@router.get("", summary="Get blocks by identifier")
def list_blocks_by_identifier(
    identifier: Identifier,
    consider_brute_force_enablement: ConsiderEnablement = False,
    ctx: Management = uses("read:users"),
) -> BlocksOut:
    return _blocks(ctx, identifier)


@router.delete("", status_code=204, summary="Unblock by identifier")
def unblock_by_identifier(
    identifier: Identifier, ctx: Management = uses("update:users")
) -> Response:
    throttling.lift_account_blocks(ctx.session, identifier)
    ctx.log("Unblock a User by identifier", details={"identifier": identifier.lower()})
    return Response(status_code=204)


@router.get("/{id}", summary="Get a user's blocks")
def list_user_blocks(
    id: str,
    consider_brute_force_enablement: ConsiderEnablement = False,
    ctx: Management = uses("read:users"),
) -> BlocksOut:
    user = users_service.find(ctx.session, id)
    if not _identifier_of(user):
        return BlocksOut(blocked_for=[])
    return _blocks(ctx, _identifier_of(user), user.connection)


@router.delete("/{id}", status_code=204, summary="Unblock a user")
def unblock_user(id: str, ctx: Management = uses("update:users")) -> Response:
    user = users_service.find(ctx.session, id)
    if _identifier_of(user):
        throttling.lift_account_blocks(
            ctx.session, _identifier_of(user), connection=user.connection
        )
    ctx.log("Unblock a User", user_id=user.user_id, details={"user_id": user.user_id})
    return Response(status_code=204)
