"""What ``/Users`` and ``/Groups`` serve alike (RFC 7644 §3.4 to §3.6): list and search with a
filter and paging, read with ``If-None-Match``, the ``If-Match`` check before a write, and every
answer's resource as asked (``attributes``/``excludedAttributes``) with its ETag.

The attribute made from other rows (a user's ``groups``, a group's ``members``) is read only
when the answer shows it: a group of thousands costs nothing to Entra's
``excludedAttributes=members`` lookups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from scim2_models import Context, ResponseParameters

from expressway.scim import filters
from expressway.scim.errors import invalid_syntax
from expressway.scim.resources import (
    etag,
    is_excluded,
    meta_values,
    render,
    render_stored,
    response_parameters,
)
from expressway.tenant.scim import common
from expressway.tenant.scim.context import Scim, ScimAccess, ScimResponse, json_body, uses
from expressway.tenant.services.scim_resources import ResourceT, RowT, ScimKind, Stored

AttributesParam = Annotated[str | None, Query(alias="attributes")]
ExcludedParam = Annotated[str | None, Query(alias="excludedAttributes")]


def _joined(body: dict[str, Any], name: str) -> str | None:
    """A SearchRequest's ``attributes`` (a list) as the query string has them."""
    value = body.get(name)
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class ResourceEndpoints(Generic[RowT, ResourceT]):
    """The handlers' shared parts for one kind of resource."""

    kind: ScimKind[RowT, ResourceT]

    def render(
        self,
        ctx: Scim,
        row: Stored,
        context: Context,
        attributes: str | None = None,
        excluded: str | None = None,
        *,
        known: Sequence[Any] | None = None,
    ) -> dict[str, Any]:
        """The resource as asked; its related values are read unless they are ``known`` (no
        group can name a user created by this request) or not shown."""
        parameters = response_parameters(attributes, excluded)
        related: Sequence[Any] | None = None
        if not is_excluded(parameters, self.kind.related):
            related = (
                known
                if known is not None
                else self.kind.load_related(ctx.session, [row.id])[row.id]
            )
        return self.rendered(row, ctx.base_url, related, context, parameters)

    def rendered(
        self,
        row: Stored,
        base_url: str,
        related: Sequence[Any] | None,
        context: Context,
        parameters: ResponseParameters[Any] | None,
    ) -> dict[str, Any]:
        """A row's resource as :func:`render` dumps it. The full resource is built from the
        stored payload, which was valid when it was stored, without validating it again (most
        of the cost of an answer); a partial one goes through the models."""
        if parameters is None:
            # The same id, location and related values as ScimKind.to_resource gives the models.
            location = f"{base_url}/{self.kind.name}s/{row.id}"
            body = render_stored(
                self.kind.model,
                row.resource,
                row.id,
                meta_values(self.kind.name, row.created_at, row.updated_at, location, row.version),
                self.kind.related,
                [self.kind.related_item(item, base_url) for item in related or ()],
            )
            if body is not None:
                return body
        return render(self.kind.to_resource(row, base_url, related), context, parameters)

    def answer(
        self,
        ctx: Scim,
        row: Stored,
        context: Context,
        status: int = 200,
        known: Sequence[Any] | None = None,
    ) -> ScimResponse:
        """The resource after a write, with its ETag (and its location once created)."""
        location = f"{ctx.base_url}/{self.kind.name}s/{row.id}" if status == 201 else None
        body = self.render(ctx, row, context, known=known)
        return common.resource_response(body, row.version, status, location)

    def to_write(self, ctx: Scim, request: Request, scim_id: str) -> RowT:
        """The resource a write names, as long as ``If-Match`` names its version."""
        row = self.kind.find(ctx.session, ctx.connection.id, scim_id)
        common.check_if_match(request, row.version)
        return row

    def list(
        self,
        ctx: Scim,
        filter_text: str | None,
        start_index: str | int | None,
        count: str | int | None,
        attributes: str | None,
        excluded: str | None,
    ) -> ScimResponse:
        paging = common.page(start_index, count)
        parameters = response_parameters(attributes, excluded)
        kind, connection_id = self.kind, ctx.connection.id
        name = filters.name_equality(filter_text, kind.name_attribute) if filter_text else None
        if name is not None:
            rows, total = kind.search_by_name(ctx.session, connection_id, name, paging)
        else:
            scim_filter = filters.parse_filter(filter_text, kind.model) if filter_text else None
            rows, total = kind.search(ctx.session, connection_id, scim_filter, paging, ctx.base_url)
        related = (
            {}
            if is_excluded(parameters, self.kind.related)
            else self.kind.load_related(ctx.session, [row.id for row in rows])
        )
        resources = [
            self.rendered(
                row, ctx.base_url, related.get(row.id), Context.SEARCH_RESPONSE, parameters
            )
            for row in rows
        ]
        return common.list_response(resources, total, paging)

    def list_from_query(self, ctx: Scim, query: Mapping[str, str]) -> ScimResponse:
        """The list with the query string's parameters, taken as they come (the last of a
        repeated one, as FastAPI takes it)."""
        return self.list(
            ctx,
            query.get("filter"),
            query.get("startIndex"),
            query.get("count"),
            query.get("attributes"),
            query.get("excludedAttributes"),
        )

    def search(self, ctx: Scim, body: Any) -> ScimResponse:
        """``POST /.search``: the list with a SearchRequest's parameters."""
        if not isinstance(body, dict):
            raise invalid_syntax("the request body must be a SearchRequest object")
        filter_text = body.get("filter")
        if filter_text is not None and not isinstance(filter_text, str):
            raise invalid_syntax("filter must be a string")
        return self.list(
            ctx,
            filter_text,
            body.get("startIndex"),
            body.get("count"),
            _joined(body, "attributes"),
            _joined(body, "excludedAttributes"),
        )

    def read(
        self,
        ctx: Scim,
        request: Request,
        scim_id: str,
        attributes: str | None,
        excluded: str | None,
    ) -> Response:
        row = self.kind.find(ctx.session, ctx.connection.id, scim_id)
        if common.not_modified(request, row.version):
            return Response(status_code=304, headers={"ETag": etag(row.version)})
        body = self.render(ctx, row, Context.RESOURCE_QUERY_RESPONSE, attributes, excluded)
        return common.resource_response(body, row.version)


def add_read_routes(
    router: APIRouter, endpoints: ResourceEndpoints[Any, Any], plural: str, singular: str
) -> None:
    """``GET ""``, ``POST /.search`` and ``GET /{id}`` on ``router``, each needing the
    ``get:{plural}`` scope.

    The list reads its parameters from the query string itself: declared one by one, they cost
    FastAPI a validation each on every lookup, for strings taken as they come."""
    scope = f"get:{plural}"

    @router.get("", summary=f"List or filter {plural}")
    def list_resources(request: Request, access: ScimAccess = uses(scope)) -> Response:
        with access.open() as ctx:
            return endpoints.list_from_query(ctx, request.query_params)

    @router.post("/.search", summary=f"Search {plural} (RFC 7644 §3.4.3)")
    def search_resources(
        body: Any = Depends(json_body), access: ScimAccess = uses(scope)
    ) -> Response:
        with access.open() as ctx:
            return endpoints.search(ctx, body)

    @router.get("/{scim_id}", summary=f"Read a {singular}")
    def read_resource(
        scim_id: str,
        request: Request,
        attributes: AttributesParam = None,
        excluded: ExcludedParam = None,
        access: ScimAccess = uses(scope),
    ) -> Response:
        with access.open() as ctx:
            return endpoints.read(ctx, request, scim_id, attributes, excluded)
