"""``/api/v2/users`` and ``/api/v2/users-by-email``: users, their roles, permissions and
organizations.

The router has no prefix because Auth0 puts the e-mail lookup beside ``/users``, not under it.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from expressway.tenant.errors import InvalidInput
from expressway.tenant.management.context import (
    Management,
    PageParams,
    Paging,
    fetch_page,
    paged,
    uses,
)
from expressway.tenant.management.organizations import OrganizationOut
from expressway.tenant.management.roles import PermissionOut, RoleOut
from expressway.tenant.management.schema import RequestBody, format_date
from expressway.tenant.rows import UserRow
from expressway.tenant.services import roles as roles_service
from expressway.tenant.services import users as service
from expressway.web.json_bodies import JsonBodyRoute

router = APIRouter(tags=["Users"], route_class=JsonBodyRoute)

ItemT = TypeVar("ItemT")

Email = Annotated[str, Field(min_length=3, max_length=320)]
ConnectionName = Annotated[str, Field(min_length=1, max_length=128)]
Metadata = Annotated[dict[str, Any], Field(max_length=100)]
RoleId = Annotated[str, Field(min_length=1, max_length=64)]


class UserFields(RequestBody):
    email: Email | None = None
    email_verified: bool | None = None
    blocked: bool | None = None
    password: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    username: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    name: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    given_name: Annotated[str, Field(min_length=1, max_length=150)] | None = None
    family_name: Annotated[str, Field(min_length=1, max_length=150)] | None = None
    nickname: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    picture: Annotated[str, Field(max_length=2048, pattern=r"^https?://\S+$")] | None = None
    app_metadata: Metadata | None = None
    user_metadata: Metadata | None = None
    #: Accepted because Auth0's clients send it; Expressway sends no e-mail to verify with.
    verify_email: bool | None = None


class CreateUser(UserFields):
    connection: ConnectionName
    #: The id without its provider prefix, as in Auth0.
    user_id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._@+-]+$")] | (
        None
    ) = None

    def new_user(self) -> service.NewUser:
        return service.NewUser(
            connection=self.connection,
            email=self.email,
            password=self.password,
            user_id=self.user_id,
            email_verified=bool(self.email_verified),
            blocked=bool(self.blocked),
            username=self.username,
            name=self.name,
            given_name=self.given_name,
            family_name=self.family_name,
            nickname=self.nickname,
            picture=self.picture,
            app_metadata=self.app_metadata or {},
            user_metadata=self.user_metadata or {},
        )


class UpdateUser(UserFields):
    connection: ConnectionName | None = None

    def changes(self) -> service.UserChanges:
        """The PATCH as the service takes it; ``null`` removes a profile field and nothing else."""
        nulled = {name for name in self.model_fields_set if getattr(self, name) is None}
        refused = sorted(nulled - set(service.PROFILE_FIELDS) - {"verify_email"})
        if refused:
            raise InvalidInput(f"{refused[0]}: cannot be null")
        return service.UserChanges(
            connection=self.connection,
            email=self.email,
            password=self.password,
            email_verified=self.email_verified,
            blocked=self.blocked,
            profile={
                name: value
                for name in service.PROFILE_FIELDS
                if (value := getattr(self, name)) is not None
            },
            cleared=frozenset(nulled & set(service.PROFILE_FIELDS)),
            app_metadata=self.app_metadata,
            user_metadata=self.user_metadata,
        )


class UserRolesBody(RequestBody):
    roles: Annotated[list[RoleId], Field(min_length=1, max_length=1000)]


class IdentityOut(BaseModel):
    connection: str
    provider: str
    user_id: str
    is_social: bool = Field(serialization_alias="isSocial")


class UserOut(BaseModel):
    """A user as Auth0 shows one; never the password hash. Unset fields are left out."""

    # The fields that may be None default to it, so that the OpenAPI document does not call
    # them required: an answer leaves them out when they are unset.
    user_id: str
    email: str | None = None
    email_verified: bool
    username: str | None = None
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    nickname: str | None = None
    picture: str | None = None
    blocked: bool
    app_metadata: dict[str, Any]
    user_metadata: dict[str, Any]
    identities: list[IdentityOut]
    created_at: str
    updated_at: str
    last_login: str | None = None
    logins_count: int

    @classmethod
    def of(cls, row: UserRow) -> UserOut:
        # Auth0's identity id is the user_id without its provider: `auth0|abc` → `abc`, and
        # `okta|{connection}|{sub}` → `{connection}|{sub}`.
        identity_id = row.user_id.split("|", 1)[-1]
        return cls(
            user_id=row.user_id,
            email=row.email,
            email_verified=row.email_verified,
            username=row.username,
            name=row.name,
            given_name=row.given_name,
            family_name=row.family_name,
            nickname=row.nickname,
            picture=row.picture,
            blocked=row.blocked,
            app_metadata=dict(row.app_metadata),
            user_metadata=dict(row.user_metadata),
            identities=[
                IdentityOut(
                    connection=row.connection,
                    provider=row.provider,
                    user_id=identity_id,
                    is_social=False,
                )
            ],
            created_at=format_date(row.created_at),
            updated_at=format_date(row.updated_at),
            last_login=format_date(row.last_login) if row.last_login else None,
            logins_count=row.logins_count,
        )

    def dump(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


def page_of(items: list[ItemT], params: PageParams) -> list[ItemT]:
    start = params.page * params.per_page
    return items[start : start + params.per_page]


@router.get("/users", summary="List or search users")
def list_users(
    paging: Paging,
    ctx: Management = uses("read:users"),
    q: Annotated[str | None, Query(max_length=1024)] = None,
    connection: Annotated[str | None, Query(max_length=128)] = None,
) -> Any:
    query = service.parse_query(q) if q and q.strip() else service.UserQuery()
    rows, total = fetch_page(ctx.session, service.listing(query, connection), paging)
    items = [UserOut.of(r).dump() for r in rows]
    if not paging.include_totals:
        return items
    return {
        "start": paging.page * paging.per_page,
        "limit": paging.per_page,
        "length": len(items),
        "total": total,
        "users": items,
    }


@router.post("/users", status_code=201, response_model_exclude_none=True, summary="Create a user")
def create_user(body: CreateUser, ctx: Management = uses("create:users")) -> UserOut:
    row = service.create(ctx.session, ctx.runtime.clock.now(), body.new_user())
    ctx.log("Create a User", details={"user_id": row.user_id})
    return UserOut.of(row)


@router.get("/users-by-email", summary="Find users by e-mail")
def list_users_by_email(
    email: Annotated[str, Query(min_length=1, max_length=320)],
    ctx: Management = uses("read:users"),
) -> Any:
    return [UserOut.of(r).dump() for r in service.find_by_email(ctx.session, email)]


@router.get("/users/{id}", response_model_exclude_none=True, summary="Get a user")
def get_user(id: str, ctx: Management = uses("read:users")) -> UserOut:
    return UserOut.of(service.find(ctx.session, id))


@router.patch("/users/{id}", response_model_exclude_none=True, summary="Update a user")
def update_user(id: str, body: UpdateUser, ctx: Management = uses("update:users")) -> UserOut:
    changes = body.changes()
    row = service.update(
        ctx.session, ctx.runtime.clock.now(), service.find(ctx.session, id), changes
    )
    ctx.log("Update a User", details={"user_id": row.user_id})
    return UserOut.of(row)


@router.delete("/users/{id}", status_code=204, summary="Delete a user")
def delete_user(id: str, ctx: Management = uses("delete:users")) -> Response:
    service.remove(ctx.session, ctx.runtime.clock.now(), service.find(ctx.session, id))
    ctx.log("Delete a User", details={"user_id": id})
    return Response(status_code=204)


@router.get("/users/{id}/roles", summary="Get a user's roles")
def list_user_roles(
    id: str, paging: Paging, ctx: Management = uses("read:users", "read:role_members")
) -> Any:
    service.find(ctx.session, id)
    rows, total = fetch_page(ctx.session, roles_service.roles_of_user(id), paging)
    return paged([RoleOut.of(r).model_dump() for r in rows], total, paging, "roles")


@router.post("/users/{id}/roles", status_code=204, summary="Assign roles to a user")
def assign_user_roles(
    id: str,
    body: UserRolesBody,
    ctx: Management = uses("update:users", "create:role_members"),
) -> Response:
    user = service.find(ctx.session, id)
    roles = roles_service.find_all(ctx.session, body.roles)
    roles_service.assign(ctx.session, roles, [user])
    ctx.log("Assign roles to a User", details={"user_id": id, "roles": body.roles})
    return Response(status_code=204)


@router.delete("/users/{id}/roles", status_code=204, summary="Remove roles from a user")
def remove_user_roles(
    id: str,
    body: UserRolesBody,
    ctx: Management = uses("update:users", "delete:role_members"),
) -> Response:
    user = service.find(ctx.session, id)
    roles = roles_service.find_all(ctx.session, body.roles)
    roles_service.unassign(ctx.session, roles, user)
    ctx.log("Remove roles from a User", details={"user_id": id, "roles": body.roles})
    return Response(status_code=204)


@router.get("/users/{id}/permissions", summary="Get a user's permissions")
def list_user_permissions(id: str, paging: Paging, ctx: Management = uses("read:users")) -> Any:
    """What the user holds through their direct roles (organization roles are per login)."""
    service.find(ctx.session, id)
    held = roles_service.permissions_of_user(ctx.session, id)
    described = roles_service.describe(ctx.session, page_of(held, paging))
    items = [PermissionOut.of(p).model_dump() for p in described]
    return paged(items, len(held), paging, "permissions")


@router.get("/users/{id}/organizations", summary="Get a user's organizations")
def list_user_organizations(id: str, paging: Paging, ctx: Management = uses("read:users")) -> Any:
    service.find(ctx.session, id)
    rows, total = fetch_page(ctx.session, service.organizations_of(id), paging)
    items = [OrganizationOut.of(r).model_dump(exclude_none=True) for r in rows]
    return paged(items, total, paging, "organizations")
