"""The OIN Wizard and the OIN catalog, in Expressway's own JSON (Okta's wizard has no API).

``/api/v1/oin/submissions…``: the integrator org's submissions (only its admins see them), the
*Enable Express Configuration* paste, the key pair and its ``.pem`` download, *Finish* and test
instances. ``/api/v1/catalog/apps…``: the global catalog of published integrations, from which
any org's admin adds an app instance. Publishing is an operator's command
(``expressway workforce oin publish``), not an API.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from expressway.web.json_bodies import JsonBodyRoute
from expressway.workforce.admin_api.context import Admin, AdminContext
from expressway.workforce.admin_api.paging import Page, fetch_page, link_headers, paging
from expressway.workforce.admin_api.schema import (
    RequestBody,
    ResponseBody,
    okta_date,
    okta_date_or_none,
)
from expressway.workforce.admin_api.shapes import AppOut
from expressway.workforce.rows import AppRow, OinSubmissionRow
from expressway.workforce.services import oin as service
from expressway.workforce.system_log import Party

router = APIRouter(tags=["OIN"], route_class=JsonBodyRoute)

SubmissionPaging = Annotated[Page, Depends(paging(default=20, maximum=200))]
CatalogPaging = Annotated[Page, Depends(paging(default=50, maximum=200))]

Name = Annotated[str, Field(min_length=1, max_length=100)]
Description = Annotated[str, Field(max_length=1024)]
Capabilities = Annotated[
    list[Literal["OIDC", "SCIM", "UNIVERSAL_LOGOUT"]], Field(min_length=1, max_length=3)
]
Label = Annotated[str, Field(min_length=1, max_length=100)]
#: The pasted text; the information is a few short strings, so 16 KiB is generous.
Pasted = Annotated[str, Field(max_length=16_384)]

PEM_MEDIA_TYPE = "application/x-pem-file"


class VariableIn(RequestBody):
    """An integration variable, used as ``app.{name}`` in the integration's templates."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,49}$")]
    label: Label


Variables = Annotated[list[VariableIn], Field(max_length=20)]


class SubmissionIn(RequestBody):
    name: Name
    description: Description | None = None
    capabilities: Capabilities | None = None
    variables: Variables | None = None

    def spec(self) -> service.SubmissionSpec:
        return service.SubmissionSpec(
            name=self.name,
            description=self.description,
            capabilities=list(self.capabilities) if self.capabilities is not None else None,
            variables=[v.model_dump() for v in self.variables] if self.variables else None,
        )


class SubmissionUpdate(RequestBody):
    """A partial update: properties left out keep their value."""

    name: Name | None = None
    description: Description | None = None
    capabilities: Capabilities | None = None
    variables: Variables | None = None

    def spec(self) -> service.SubmissionSpec:
        return service.SubmissionSpec(
            name=self.name,
            description=self.description,
            capabilities=list(self.capabilities) if self.capabilities is not None else None,
            variables=(
                [v.model_dump() for v in self.variables] if self.variables is not None else None
            ),
        )


class ExpressConfigurationIn(RequestBody):
    """*Enable Express Configuration*: the information as pasted (a string), or as an object."""

    information: Pasted | Annotated[dict[str, Any], Field(max_length=50)]


class InstanceIn(RequestBody):
    label: Label | None = None


class KeyOut(ResponseBody):
    kid: str
    created: str
    public_key_pem: str = Field(alias="publicKeyPem")


class SubmissionOut(ResponseBody):
    id: str
    name: str
    description: str
    capabilities: list[str]
    variables: list[dict[str, Any]]
    status: str
    express_configuration: dict[str, Any] | None = Field(alias="expressConfiguration")
    key: KeyOut | None
    properties: dict[str, Any] | None
    catalog_key: str | None = Field(alias="catalogKey")
    published: str | None
    created: str
    last_updated: str = Field(alias="lastUpdated")
    links: dict[str, Any] = Field(alias="_links")

    @classmethod
    def of(cls, row: OinSubmissionRow, ctx: Admin) -> SubmissionOut:
        """The submission: the public key only; the sealed private key is never in an answer."""
        base = f"/oin/submissions/{row.id}"
        key = None
        if row.key_id is not None and row.key_public_pem is not None and row.key_created_at:
            key = KeyOut(
                kid=row.key_id,
                created=okta_date(row.key_created_at),
                public_key_pem=row.key_public_pem,
            )
        links: dict[str, Any] = {
            "self": {"href": ctx.api_url(base)},
            "expressConfiguration": {
                "href": ctx.api_url(f"{base}/express-configuration"),
                "method": "PUT",
            },
            "key": {"href": ctx.api_url(f"{base}/key"), "method": "POST"},
            "finish": {"href": ctx.api_url(f"{base}/finish"), "method": "POST"},
            "testInstance": {"href": ctx.api_url(f"{base}/test-instance"), "method": "POST"},
        }
        if key is not None:
            links["download"] = {"href": ctx.api_url(f"{base}/key.pem"), "type": PEM_MEDIA_TYPE}
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            capabilities=list(row.capabilities),
            variables=list(row.variables),
            status=row.status,
            express_configuration=row.express_configuration,
            key=key,
            properties=row.properties,
            catalog_key=row.catalog_key,
            published=okta_date_or_none(row.published_at),
            created=okta_date(row.created_at),
            last_updated=okta_date(row.updated_at),
            links=links,
        )


class CatalogAppOut(ResponseBody):
    id: str
    name: str
    display_name: str = Field(alias="displayName")
    description: str
    capabilities: list[str]
    variables: list[dict[str, Any]]
    published: str | None
    links: dict[str, Any] = Field(alias="_links")

    @classmethod
    def of(cls, row: OinSubmissionRow, ctx: Admin) -> CatalogAppOut:
        key = service.instance_name(row)
        return cls(
            id=key,
            name=key,
            display_name=row.name,
            description=row.description,
            capabilities=list(row.capabilities),
            variables=list((row.properties or {}).get("variables", row.variables)),
            published=okta_date_or_none(row.published_at),
            links={
                "instances": {
                    "href": ctx.api_url(f"/catalog/apps/{key}/instances"),
                    "method": "POST",
                }
            },
        )


class OinAppOut(AppOut):
    """An app instance of an OIN integration, with the Express Configure actions it offers."""

    oin_submission_id: str = Field(alias="oinSubmissionId")
    express_configure: dict[str, Any] = Field(alias="expressConfigure")

    @classmethod
    def of_instance(
        cls, row: AppRow, submission: OinSubmissionRow, ctx: Admin, client_secret: str | None
    ) -> OinAppOut:
        app = AppOut.of(row, ctx, client_secret=client_secret)
        return cls(
            **app.model_dump(),
            oin_submission_id=submission.id,
            express_configure=service.express_configure_actions(submission),
        )


def _submission_party(row: OinSubmissionRow) -> Party:
    return Party(row.id, "OinSubmission", row.catalog_key or row.id, row.name)


def _submission(ctx: Admin, submission_id: str) -> OinSubmissionRow:
    return service.find(ctx.session, ctx.org.id, submission_id)


@router.get("/oin/submissions", summary="List the integrator org's OIN submissions")
def list_submissions(
    ctx: AdminContext, request: Request, response: Response, page: SubmissionPaging
) -> list[SubmissionOut]:
    statement = service.list_statement(ctx.org.id)
    rows, after = fetch_page(ctx.session, statement, OinSubmissionRow.id, page)
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [SubmissionOut.of(row, ctx) for row in rows]


@router.post("/oin/submissions", summary="Create an OIN submission")
def create_submission(body: SubmissionIn, ctx: AdminContext) -> SubmissionOut:
    row = service.create(ctx.session, ctx.org.id, ctx.now, body.spec())
    ctx.log("oin.submission.create", "Create OIN submission", _submission_party(row))
    return SubmissionOut.of(row, ctx)


@router.get("/oin/submissions/{submission_id}", summary="Retrieve an OIN submission")
def get_submission(submission_id: str, ctx: AdminContext) -> SubmissionOut:
    return SubmissionOut.of(_submission(ctx, submission_id), ctx)


@router.post("/oin/submissions/{submission_id}", summary="Update an OIN submission (partial)")
def update_submission(
    submission_id: str, body: SubmissionUpdate, ctx: AdminContext
) -> SubmissionOut:
    row = _submission(ctx, submission_id)
    service.update(ctx.session, row, ctx.now, body.spec())
    ctx.log("oin.submission.update", "Update OIN submission", _submission_party(row))
    return SubmissionOut.of(row, ctx)


@router.put(
    "/oin/submissions/{submission_id}/express-configuration",
    summary="Enable Express Configuration with the tenant's information",
)
def set_express_configuration(
    submission_id: str, body: ExpressConfigurationIn, ctx: AdminContext
) -> SubmissionOut:
    row = _submission(ctx, submission_id)
    service.set_express_configuration(ctx.session, row, ctx.now, body.information)
    ctx.log(
        "oin.submission.express_configuration.update",
        "Enable Express Configuration of OIN submission",
        _submission_party(row),
    )
    return SubmissionOut.of(row, ctx)


@router.post(
    "/oin/submissions/{submission_id}/key",
    summary="Generate the integration's key pair, or replace it (Reconfigure)",
)
def generate_key(submission_id: str, ctx: AdminContext) -> SubmissionOut:
    row = _submission(ctx, submission_id)
    replaced = service.generate_key(ctx.session, row, ctx.now, ctx.runtime.key_sealer)
    if replaced:
        ctx.log("oin.submission.key.rotate", "Replace OIN submission key", _submission_party(row))
    else:
        ctx.log("oin.submission.key.create", "Generate OIN submission key", _submission_party(row))
    return SubmissionOut.of(row, ctx)


@router.get(
    "/oin/submissions/{submission_id}/key.pem",
    summary="Download the public key (.pem)",
    response_class=Response,
)
def download_key(submission_id: str, ctx: AdminContext) -> Response:
    row = _submission(ctx, submission_id)
    pem = service.key_pem(row)
    ctx.log("oin.submission.key.download", "Download OIN submission key", _submission_party(row))
    return Response(
        pem,
        media_type=PEM_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{row.id}.pem"'},
    )


@router.post("/oin/submissions/{submission_id}/finish", summary="Finish the integration")
def finish_submission(submission_id: str, ctx: AdminContext) -> SubmissionOut:
    row = _submission(ctx, submission_id)
    service.finish(ctx.session, row, ctx.now)
    ctx.log("oin.submission.finish", "Finish OIN submission", _submission_party(row))
    return SubmissionOut.of(row, ctx)


def _log_instance(ctx: Admin, app: AppRow, submission: OinSubmissionRow) -> None:
    target = Party.of_app(app)
    ctx.log(
        "application.lifecycle.create", "Add application", target, _submission_party(submission)
    )
    ctx.log("application.lifecycle.activate", "Activate application", target)


@router.post(
    "/oin/submissions/{submission_id}/test-instance",
    summary="Generate a test instance in the integrator org",
)
def create_test_instance(
    submission_id: str, ctx: AdminContext, body: InstanceIn | None = None
) -> OinAppOut:
    submission = _submission(ctx, submission_id)
    label = body.label if body is not None else None
    app, secret = service.add_instance(
        ctx.session, ctx.org.id, ctx.now, submission, label, ctx.runtime.secret_sealer
    )
    _log_instance(ctx, app, submission)
    return OinAppOut.of_instance(app, submission, ctx, secret)


@router.get("/catalog/apps", summary="List the OIN catalog")
def list_catalog(
    ctx: AdminContext, request: Request, response: Response, page: CatalogPaging
) -> list[CatalogAppOut]:
    rows, after = fetch_page(ctx.session, service.catalog_statement(), OinSubmissionRow.id, page)
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [CatalogAppOut.of(row, ctx) for row in rows]


@router.post(
    "/catalog/apps/{catalog_id}/instances", summary="Add an app instance from the OIN catalog"
)
def add_catalog_instance(
    catalog_id: str, ctx: AdminContext, body: InstanceIn | None = None
) -> OinAppOut:
    submission = service.find_in_catalog(ctx.session, catalog_id)
    label = body.label if body is not None else None
    app, secret = service.add_instance(
        ctx.session, ctx.org.id, ctx.now, submission, label, ctx.runtime.secret_sealer
    )
    _log_instance(ctx, app, submission)
    return OinAppOut.of_instance(app, submission, ctx, secret)
