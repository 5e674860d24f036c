"""``/api/v2/clients``: applications, their secret and their ``private_key_jwt`` credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BaseModel, Field, field_validator
from sqlalchemy import select

from expressway.tenant.management.context import Management, Paging, fetch_page, paged, uses
from expressway.tenant.management.errors import ManagementApiError
from expressway.tenant.management.schema import RequestBody
from expressway.tenant.rows import ClientCredentialRow, ClientRow
from expressway.tenant.services import clients as service
from expressway.tenant.services.backchannel_logout import OidcLogoutSpec
from expressway.web.json_bodies import JsonBodyRoute

router = APIRouter(prefix="/clients", tags=["Clients"], route_class=JsonBodyRoute)

T = TypeVar("T")

ClientId = Annotated[str, Field(min_length=1, max_length=64)]
Url = Annotated[str, Field(min_length=1, max_length=2048)]
UrlList = Annotated[list[Url], Field(max_length=100)]
AppType = Literal["regular_web", "spa", "non_interactive", "native", "express_configuration"]
OrganizationUsage = Literal["deny", "allow", "require"]
OrganizationRequireBehavior = Literal["no_prompt", "pre_login_prompt", "post_login_prompt"]
# Auth0's rules for metadata: alphanumeric keys with a few punctuation marks, string values.
MetadataKey = Annotated[
    str, Field(min_length=1, max_length=255, pattern=r'^[A-Za-z0-9:,\-+=_*?"/\\()<>@\t ]+$')
]
MetadataValue = Annotated[str, Field(max_length=255)]
Expiry = Annotated[AwareDatetime, Field(strict=False)]
GrantType = Annotated[str, Field(min_length=1, max_length=100)]


class JwtConfigurationIn(RequestBody):
    # Only asymmetric algorithms: ID tokens signed with HS256 would need the client secret, which
    # the tenant keeps only as a digest.
    alg: Literal["RS256", "PS256"] | None = None
    lifetime_in_seconds: Annotated[int, Field(ge=60, le=2_592_000)] | None = None


class LinkedClientIn(RequestBody):
    client_id: ClientId


class ExpressConfigurationIn(RequestBody):
    initiate_login_uri_template: Url
    user_attribute_profile_id: Annotated[str, Field(min_length=1, max_length=64)]
    connection_profile_id: Annotated[str, Field(min_length=1, max_length=64)]
    enable_client: bool
    enable_organization: bool
    linked_clients: Annotated[list[LinkedClientIn], Field(max_length=50)] | None = None
    okta_oin_client_id: ClientId
    admin_login_domain: Annotated[str, Field(min_length=1, max_length=260)]
    oin_submission_id: str | None = None

    @field_validator("oin_submission_id")
    @classmethod
    def _read_only(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError("oin_submission_id is read-only")

    def spec(self) -> service.ExpressConfigurationSpec:
        return service.ExpressConfigurationSpec(
            initiate_login_uri_template=self.initiate_login_uri_template,
            user_attribute_profile_id=self.user_attribute_profile_id,
            connection_profile_id=self.connection_profile_id,
            enable_client=self.enable_client,
            enable_organization=self.enable_organization,
            okta_oin_client_id=self.okta_oin_client_id,
            admin_login_domain=self.admin_login_domain,
            linked_clients=[link.client_id for link in self.linked_clients or []],
        )


Initiator = Literal[
    "rp-logout",
    "idp-logout",
    "password-changed",
    "session-expired",
    "session-revoked",
    "account-deleted",
    "email-identifier-changed",
    "mfa-phone-unenrolled",
    "account-deactivated",
]


class BackchannelLogoutInitiatorsIn(RequestBody):
    mode: Literal["custom", "all"]
    selected_initiators: Annotated[list[Initiator], Field(max_length=20)] | None = None


class OidcLogoutIn(RequestBody):
    backchannel_logout_urls: UrlList
    backchannel_logout_initiators: BackchannelLogoutInitiatorsIn | None = None

    def spec(self) -> OidcLogoutSpec:
        initiators = self.backchannel_logout_initiators
        return OidcLogoutSpec(
            backchannel_logout_urls=list(self.backchannel_logout_urls),
            mode=initiators.mode if initiators else None,
            selected_initiators=(
                list(initiators.selected_initiators)
                if initiators and initiators.selected_initiators is not None
                else None
            ),
        )


class CredentialFields(RequestBody):
    credential_type: Literal["public_key"]
    name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    pem: Annotated[str, Field(min_length=1, max_length=16384)]
    alg: Literal["RS256", "RS384", "PS256"] | None = None
    kid: Annotated[str, Field(pattern=r"^[0-9A-Za-z_-]{10,64}$")] | None = None
    expires_at: Expiry | None = None

    def spec(self) -> service.CredentialSpec:
        return service.CredentialSpec(
            credential_type=self.credential_type,
            pem=self.pem,
            alg=self.alg,
            name=self.name,
            kid=self.kid,
            expires_at=self.expires_at,
        )


class CreateCredential(CredentialFields):
    pass


class UpdateCredential(RequestBody):
    expires_at: Expiry | None = None


class CredentialIdIn(RequestBody):
    id: Annotated[str, Field(min_length=1, max_length=64)]


class PrivateKeyJwtIdsIn(RequestBody):
    credentials: Annotated[list[CredentialIdIn], Field(max_length=20)]


class PrivateKeyJwtNewIn(RequestBody):
    credentials: Annotated[list[CredentialFields], Field(max_length=20)]


class AuthenticationMethodsIn(RequestBody):
    private_key_jwt: PrivateKeyJwtIdsIn | None = None


class NewAuthenticationMethodsIn(RequestBody):
    private_key_jwt: PrivateKeyJwtNewIn | None = None


class ClientFields(RequestBody):
    name: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^<>]+$")] | None = None
    description: Annotated[str, Field(max_length=140)] | None = None
    app_type: AppType | None = None
    is_first_party: bool | None = None
    callbacks: UrlList | None = None
    allowed_logout_urls: UrlList | None = None
    web_origins: UrlList | None = None
    allowed_origins: UrlList | None = None
    grant_types: Annotated[list[GrantType], Field(max_length=10)] | None = None
    token_endpoint_auth_method: (
        Literal["none", "client_secret_post", "client_secret_basic"] | None
    ) = None
    organization_usage: OrganizationUsage | None = None
    organization_require_behavior: OrganizationRequireBehavior | None = None
    initiate_login_uri: Url | None = None
    logo_uri: Url | None = None
    home_realm_discovery: bool | None = None
    jwt_configuration: JwtConfigurationIn | None = None
    express_configuration: ExpressConfigurationIn | None = None
    oidc_logout: OidcLogoutIn | None = None

    # A null clears only the fields that can be empty; for these it is refused, not ignored.
    @field_validator(
        "name",
        "app_type",
        "is_first_party",
        "callbacks",
        "allowed_logout_urls",
        "web_origins",
        "allowed_origins",
        "grant_types",
        "organization_usage",
        "organization_require_behavior",
        "home_realm_discovery",
        "jwt_configuration",
        "client_metadata",
        check_fields=False,
    )
    @classmethod
    def _not_null(cls, value: T | None) -> T:
        if value is None:
            raise ValueError("null is not allowed")
        return value

    def common_spec(self) -> service.ClientSpec:
        jwt = self.jwt_configuration
        return service.ClientSpec(
            given=frozenset(self.model_fields_set),
            name=self.name,
            description=self.description,
            app_type=self.app_type,
            is_first_party=self.is_first_party,
            callbacks=self.callbacks,
            allowed_logout_urls=self.allowed_logout_urls,
            web_origins=self.web_origins,
            allowed_origins=self.allowed_origins,
            grant_types=self.grant_types,
            token_endpoint_auth_method=self.token_endpoint_auth_method,
            organization_usage=self.organization_usage,
            organization_require_behavior=self.organization_require_behavior,
            initiate_login_uri=self.initiate_login_uri,
            logo_uri=self.logo_uri,
            home_realm_discovery=self.home_realm_discovery,
            jwt_configuration=jwt.model_dump(exclude_none=True) if jwt is not None else None,
            express_configuration=(
                self.express_configuration.spec() if self.express_configuration else None
            ),
            oidc_logout=self.oidc_logout.spec() if self.oidc_logout else None,
        )


class CreateClient(ClientFields):
    name: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^<>]+$")]
    client_metadata: Annotated[dict[MetadataKey, MetadataValue], Field(max_length=10)] | None = None
    client_authentication_methods: NewAuthenticationMethodsIn | None = None

    def spec(self) -> service.ClientSpec:
        spec = self.common_spec()
        spec.client_metadata = dict(self.client_metadata) if self.client_metadata else None
        methods = self.client_authentication_methods
        if methods is not None and methods.private_key_jwt is not None:
            spec.private_key_jwt_new_credentials = [
                credential.spec() for credential in methods.private_key_jwt.credentials
            ]
        return spec


class UpdateClient(ClientFields):
    client_metadata: (
        Annotated[dict[MetadataKey, MetadataValue | None], Field(max_length=100)] | None
    ) = None
    client_authentication_methods: AuthenticationMethodsIn | None = None
    client_secret: str | None = None

    @field_validator("client_secret")
    @classmethod
    def _secret_not_chosen(cls, value: str | None) -> None:
        # Secrets are stored as a SHA-256 digest, which is safe only for random secrets.
        raise ValueError(
            "client_secret cannot be chosen; POST /api/v2/clients/{id}/rotate-secret issues one"
        )

    def spec(self) -> service.ClientSpec:
        spec = self.common_spec()
        spec.client_metadata = (
            dict(self.client_metadata) if self.client_metadata is not None else None
        )
        methods = self.client_authentication_methods
        if methods is not None and methods.private_key_jwt is not None:
            spec.private_key_jwt_credential_ids = [
                credential.id for credential in methods.private_key_jwt.credentials
            ]
        return spec


class JwtConfigurationOut(BaseModel):
    alg: str
    lifetime_in_seconds: int | None = None


class LinkedClientOut(BaseModel):
    client_id: str


class ExpressConfigurationOut(BaseModel):
    initiate_login_uri_template: str
    user_attribute_profile_id: str
    connection_profile_id: str
    enable_client: bool
    enable_organization: bool
    linked_clients: list[LinkedClientOut]
    okta_oin_client_id: str
    admin_login_domain: str
    oin_submission_id: str | None

    @classmethod
    def of(cls, config: dict[str, Any]) -> ExpressConfigurationOut:
        return cls(
            initiate_login_uri_template=config["initiate_login_uri_template"],
            user_attribute_profile_id=config["user_attribute_profile_id"],
            connection_profile_id=config["connection_profile_id"],
            enable_client=config["enable_client"],
            enable_organization=config["enable_organization"],
            linked_clients=[
                LinkedClientOut(client_id=link["client_id"])
                for link in config.get("linked_clients") or []
            ],
            okta_oin_client_id=config["okta_oin_client_id"],
            admin_login_domain=config["admin_login_domain"],
            oin_submission_id=config.get("oin_submission_id"),
        )


class BackchannelLogoutInitiatorsOut(BaseModel):
    mode: str
    selected_initiators: list[str]


class OidcLogoutOut(BaseModel):
    backchannel_logout_urls: list[str]
    backchannel_logout_initiators: BackchannelLogoutInitiatorsOut

    @classmethod
    def of(cls, config: dict[str, Any]) -> OidcLogoutOut:
        initiators = config.get("backchannel_logout_initiators") or {}
        return cls(
            backchannel_logout_urls=[str(url) for url in config.get("backchannel_logout_urls", [])],
            backchannel_logout_initiators=BackchannelLogoutInitiatorsOut(
                mode=str(initiators.get("mode", "custom")),
                selected_initiators=[str(i) for i in initiators.get("selected_initiators", [])],
            ),
        )


class CredentialIdOut(BaseModel):
    id: str


class PrivateKeyJwtOut(BaseModel):
    credentials: list[CredentialIdOut]


class AuthenticationMethodsOut(BaseModel):
    private_key_jwt: PrivateKeyJwtOut


class ClientOut(BaseModel):
    client_id: str
    name: str
    description: str | None
    app_type: str | None
    is_first_party: bool
    oidc_conformant: bool
    callbacks: list[str]
    allowed_logout_urls: list[str]
    web_origins: list[str]
    allowed_origins: list[str]
    grant_types: list[str]
    token_endpoint_auth_method: str | None
    client_authentication_methods: AuthenticationMethodsOut | None
    organization_usage: str | None
    organization_require_behavior: str | None
    initiate_login_uri: str | None
    logo_uri: str | None
    home_realm_discovery: bool
    jwt_configuration: JwtConfigurationOut
    client_metadata: dict[str, str]
    express_configuration: ExpressConfigurationOut | None
    oidc_logout: OidcLogoutOut | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ClientRow, active_credentials: list[str]) -> ClientOut:
        private_key_jwt = row.token_endpoint_auth_method == service.PRIVATE_KEY_JWT
        jwt = row.jwt_configuration
        return cls(
            client_id=row.client_id,
            name=row.name,
            description=row.description,
            app_type=row.app_type,
            is_first_party=row.is_first_party,
            oidc_conformant=True,
            callbacks=list(row.callbacks),
            allowed_logout_urls=list(row.allowed_logout_urls),
            web_origins=list(row.web_origins),
            allowed_origins=list(row.allowed_origins),
            grant_types=list(row.grant_types),
            token_endpoint_auth_method=None if private_key_jwt else row.token_endpoint_auth_method,
            client_authentication_methods=(
                AuthenticationMethodsOut(
                    private_key_jwt=PrivateKeyJwtOut(
                        credentials=[CredentialIdOut(id=i) for i in active_credentials]
                    )
                )
                if private_key_jwt
                else None
            ),
            organization_usage=row.organization_usage,
            organization_require_behavior=row.organization_require_behavior,
            initiate_login_uri=row.initiate_login_uri,
            logo_uri=row.logo_uri,
            home_realm_discovery=row.home_realm_discovery,
            jwt_configuration=JwtConfigurationOut(
                alg=jwt.get("alg", "RS256"), lifetime_in_seconds=jwt.get("lifetime_in_seconds")
            ),
            client_metadata={str(k): str(v) for k, v in row.client_metadata.items()},
            express_configuration=(
                ExpressConfigurationOut.of(row.express_configuration)
                if row.express_configuration
                else None
            ),
            oidc_logout=OidcLogoutOut.of(row.oidc_logout) if row.oidc_logout else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class CredentialOut(BaseModel):
    id: str
    name: str | None
    kid: str
    alg: str
    credential_type: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None

    @classmethod
    def of(cls, row: ClientCredentialRow) -> CredentialOut:
        return cls(
            id=row.id,
            name=row.name,
            kid=row.kid,
            alg=row.alg,
            credential_type=row.credential_type,
            created_at=row.created_at,
            updated_at=row.updated_at,
            expires_at=row.expires_at,
        )


def _render(ctx: Management, row: ClientRow, secret: str | None = None) -> dict[str, Any]:
    """The client's JSON; its secret only when this very request issued one."""
    active = service.active_credential_ids(ctx.session, [row.client_id])[row.client_id]
    body = ClientOut.of(row, active).model_dump(mode="json")
    if secret is not None:
        body["client_secret"] = secret
    return body


def _select_fields(body: dict[str, Any], fields: str | None, include: bool) -> dict[str, Any]:
    """Auth0's ``fields``/``include_fields``: keep (or drop) the named top-level properties."""
    if not fields:
        return body
    named = {name.strip() for name in fields.split(",") if name.strip()}
    return {key: value for key, value in body.items() if (key in named) == include}


def _require_scope(ctx: Management, scope: str) -> None:
    if scope not in ctx.caller.scopes:
        raise ManagementApiError(
            403, f"Insufficient scope, expected any of: {scope}", "insufficient_scope"
        )


Fields = Annotated[
    str | None,
    Query(max_length=2000, description="Comma-separated properties to include or exclude."),
]
IncludeFields = Annotated[
    bool, Query(description="Whether `fields` lists the properties to include (true) or exclude.")
]


@router.get("", summary="Get clients")
def list_clients(
    paging: Paging,
    ctx: Management = uses("read:clients", "read:client_keys"),
    fields: Fields = None,
    include_fields: IncludeFields = True,
    app_type: Annotated[str | None, Query(max_length=500)] = None,
    is_first_party: bool | None = None,
    is_global: bool | None = None,
    q: Annotated[str | None, Query(max_length=1000)] = None,
) -> Any:
    if q is not None:
        raise ManagementApiError(
            400,
            "Query validation error: q is not supported; filter with app_type or is_first_party",
            "invalid_query_string",
        )
    if is_global:
        # The tenant has no global "All Applications" client.
        return paged([], 0, paging, "clients")
    statement = select(ClientRow).order_by(ClientRow.created_at, ClientRow.client_id)
    if app_type:
        statement = statement.where(
            ClientRow.app_type.in_([t.strip() for t in app_type.split(",") if t.strip()])
        )
    if is_first_party is not None:
        statement = statement.where(ClientRow.is_first_party.is_(is_first_party))
    rows, total = fetch_page(ctx.session, statement, paging)
    active = service.active_credential_ids(ctx.session, [row.client_id for row in rows])
    items = [
        _select_fields(
            ClientOut.of(row, active[row.client_id]).model_dump(mode="json"),
            fields,
            include_fields,
        )
        for row in rows
    ]
    return paged(items, total, paging, "clients")


@router.post("", status_code=201, summary="Create a client")
def create_client(body: CreateClient, ctx: Management = uses("create:clients")) -> Any:
    if body.client_authentication_methods is not None:
        _require_scope(ctx, "create:client_credentials")
    issued = service.create(
        ctx.session,
        ctx.runtime.clock.now(),
        body.spec(),
        workforce_public_url=ctx.runtime.settings.workforce_public_url,
    )
    ctx.log("Create a client", details={"client_id": issued.client.client_id})
    return _render(ctx, issued.client, issued.secret)


@router.get("/{id}", summary="Get a client")
def get_client(
    id: str,
    ctx: Management = uses("read:clients", "read:client_keys"),
    fields: Fields = None,
    include_fields: IncludeFields = True,
) -> Any:
    return _select_fields(_render(ctx, service.find(ctx.session, id)), fields, include_fields)


@router.patch("/{id}", summary="Update a client")
def update_client(id: str, body: UpdateClient, ctx: Management = uses("update:clients")) -> Any:
    if "client_authentication_methods" in body.model_fields_set:
        _require_scope(ctx, "update:client_credentials")
    issued = service.update(
        ctx.session, ctx.runtime.clock.now(), service.find(ctx.session, id), body.spec()
    )
    if issued.secret is not None:
        # Raising here rolls the change back: no secret is issued to a caller who may not see it.
        _require_scope(ctx, "update:client_keys")
    ctx.log("Update a client", details={"client_id": issued.client.client_id})
    return _render(ctx, issued.client, issued.secret)


@router.delete("/{id}", status_code=204, summary="Delete a client")
def delete_client(id: str, ctx: Management = uses("delete:clients")) -> Response:
    row = service.find(ctx.session, id)
    service.remove(ctx.session, row)
    ctx.log("Delete a client", details={"client_id": id})
    return Response(status_code=204)


@router.post("/{id}/rotate-secret", summary="Rotate a client secret")
def rotate_client_secret(id: str, ctx: Management = uses("update:client_keys")) -> Any:
    issued = service.rotate_secret(
        ctx.session, ctx.runtime.clock.now(), service.find(ctx.session, id)
    )
    ctx.log("Rotate a client secret", details={"client_id": id})
    return _render(ctx, issued.client, issued.secret)


@router.get("/{id}/credentials", summary="Get client credentials")
def list_credentials(
    id: str, ctx: Management = uses("read:client_credentials")
) -> list[CredentialOut]:
    client = service.find(ctx.session, id)
    return [CredentialOut.of(row) for row in service.list_credentials(ctx.session, client)]


@router.post("/{id}/credentials", status_code=201, summary="Create a client credential")
def create_credential(
    id: str, body: CreateCredential, ctx: Management = uses("create:client_credentials")
) -> CredentialOut:
    client = service.find(ctx.session, id)
    row = service.add_credential(ctx.session, ctx.runtime.clock.now(), client, body.spec())
    ctx.log("Create a client credential", details={"client_id": id, "credential_id": row.id})
    return CredentialOut.of(row)


@router.get("/{id}/credentials/{credential_id}", summary="Get a client credential")
def get_credential(
    id: str, credential_id: str, ctx: Management = uses("read:client_credentials")
) -> CredentialOut:
    client = service.find(ctx.session, id)
    return CredentialOut.of(service.find_credential(ctx.session, client, credential_id))


@router.patch("/{id}/credentials/{credential_id}", summary="Update a client credential")
def update_credential(
    id: str,
    credential_id: str,
    body: UpdateCredential,
    ctx: Management = uses("update:client_credentials"),
) -> CredentialOut:
    client = service.find(ctx.session, id)
    row = service.find_credential(ctx.session, client, credential_id)
    if "expires_at" in body.model_fields_set:
        service.update_credential(ctx.session, ctx.runtime.clock.now(), row, body.expires_at)
    ctx.log("Update a client credential", details={"client_id": id, "credential_id": row.id})
    return CredentialOut.of(row)


@router.delete(
    "/{id}/credentials/{credential_id}", status_code=204, summary="Delete a client credential"
)
def delete_credential(
    id: str, credential_id: str, ctx: Management = uses("delete:client_credentials")
) -> Response:
    client = service.find(ctx.session, id)
    service.remove_credential(
        ctx.session, service.find_credential(ctx.session, client, credential_id)
    )
    ctx.log("Delete a client credential", details={"client_id": id, "credential_id": credential_id})
    return Response(status_code=204)
