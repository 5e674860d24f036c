"""What SCIM users and groups share: a resource kept as the payload the IdP sent plus indexed
columns, one attribute of it made from other rows (a user's ``groups``, a group's ``members``),
read by id within the connection or searched with a filter.

:class:`ScimKind` holds what tells the two apart, so that reading them is written once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from scim2_models import Context, ScimFilter
from sqlalchemy.orm import InstrumentedAttribute, Session

from expressway.scim import errors as scim_errors
from expressway.scim import filters
from expressway.scim.errors import ScimError
from expressway.scim.resources import POLICY, GroupResource, UserResource, meta
from expressway.storage.sqlite_driver import SessionStatement
from expressway.tenant.rows import ScimGroupRow, ScimUserRow
from expressway.tenant.services.scim_queries import Condition, Indexed, Page, SqlCompiler, run_query

RowT = TypeVar("RowT", ScimUserRow, ScimGroupRow)
ResourceT = TypeVar("ResourceT", UserResource, GroupResource)


class Stored(Protocol):
    """What answering with a resource reads of it: its row, or what was just written of it
    (:class:`~expressway.tenant.services.scim_users.NewScimUser`)."""

    @property
    def id(self) -> str: ...
    @property
    def resource(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def version(self) -> int: ...


#: The longest ``userName``, ``displayName`` or ``externalId`` kept: the columns' length.
MAX_NAME_LENGTH = 512


def checked_name(attribute: str, name: Any, external_id: str | None) -> str:
    """The resource's name (``userName``, ``displayName``): given, storable, and its
    ``externalId`` storable too; else ``invalidValue``."""
    if not isinstance(name, str) or not name.strip():
        raise scim_errors.invalid_value(f"{attribute} is required")
    if len(name) > MAX_NAME_LENGTH or "\x00" in name:
        raise scim_errors.invalid_value(
            f"{attribute} must be at most {MAX_NAME_LENGTH} characters, without NUL"
        )
    if external_id is not None and len(external_id) > MAX_NAME_LENGTH:
        raise scim_errors.invalid_value(f"externalId must be at most {MAX_NAME_LENGTH} characters")
    return name


@dataclass(frozen=True)
class ScimKind(Generic[RowT, ResourceT]):
    """A SCIM resource type as the tenant stores it.

    ``name_attribute`` is unique in the connection, compared in the form kept in ``name_key``.
    ``related`` is the attribute made from other rows: ``load_related`` reads it for many rows at
    once (a list per row id), and ``related_item`` makes one of its values from one of those
    and the base URL.
    """

    name: str
    row: type[RowT]
    model: type[ResourceT]
    columns: Mapping[str, Indexed]
    name_attribute: str
    name_key: InstrumentedAttribute[str]
    #: The comparison form of a name, as ``name_key`` keeps it.
    key_of: Callable[[str], str]
    related: str
    load_related: Callable[[Session, Sequence[str]], Mapping[str, Sequence[Any]]]
    related_item: Callable[[Any, str], dict[str, Any]]

    def to_resource(
        self, row: Stored, base_url: str, related: Sequence[Any] | None = None
    ) -> ResourceT:
        """The SCIM resource of a row: what the IdP sent, with ``id``, ``meta`` and the related
        attribute when there is any (``None``: not asked for)."""
        data: dict[str, Any] = {**row.resource, "id": row.id}
        if related:
            data[self.related] = [self.related_item(item, base_url) for item in related]
        resource = self.model.model_validate(
            data, scim_ctx=Context.RESOURCE_QUERY_RESPONSE, scim_policy=POLICY
        )
        location = f"{base_url}/{self.name}s/{row.id}"
        resource.meta = meta(self.name, row.created_at, row.updated_at, location, row.version)
        return resource

    def find(self, session: Session, connection_id: str, scim_id: str) -> RowT:
        """The connection's resource with this id; another connection's is not found either."""
        row = session.get(self.row, scim_id) if len(scim_id) <= 64 else None
        if row is None or row.connection_id != connection_id:
            raise scim_errors.not_found(f"{self.name} {scim_id} not found")
        return row

    @functools.cached_property
    def _named_here(self) -> sa.ColumnElement[bool]:
        """The connection's resource whose name has the comparison form ``key`` (unique)."""
        return sa.and_(
            self.row.connection_id == sa.bindparam("connection_id"),
            self.name_key == sa.bindparam("key"),
        )

    @functools.cached_property
    def _name_holder(self) -> sa.Select[str]:
        """The query of :meth:`check_name_free`, built once (it runs on every write)."""
        return sa.select(self.row.id).where(self._named_here)

    @functools.cached_property
    def _of_connection(self) -> sa.Select[RowT]:
        """The base query of :meth:`search`, built once (it runs on every lookup)."""
        return sa.select(self.row).where(self.row.connection_id == sa.bindparam("connection_id"))

    def check_name_free(
        self, session: Session, connection_id: str, key: str, scim_id: str | None
    ) -> None:
        """``uniqueness`` when another resource of the connection (not ``scim_id``) has the
        name whose comparison form is ``key``."""
        taken = session.scalar(self._name_holder, {"connection_id": connection_id, "key": key})
        if taken is not None and taken != scim_id:
            raise self.name_taken()

    def name_taken(self) -> ScimError:
        """The ``uniqueness`` error of a name another resource of the connection holds."""
        return scim_errors.uniqueness(
            f"a {self.name.lower()} with this {self.name_attribute} already exists"
        )

    def search_by_name(
        self, session: Session, connection_id: str, name: str, page: Page
    ) -> tuple[list[RowT], int]:
        """:meth:`search` with the filter ``{name_attribute} eq "{name}"``, the lookup every
        provisioning client sends before a write. The name is unique in the connection, so the
        answer is the one row holding its comparison form or none: one query built once, without
        the filter's parse and compilation into SQL (most of a lookup's own cost)."""
        parameters = {"connection_id": connection_id, "key": self.key_of(name)}
        # Rows made from the values read, in no session: a lookup only answers them, and the
        # session's loading of the row cost a third of a lookup's CPU.
        found = [
            self.row(**dict(zip(self._attributes, values, strict=True)))
            for values in self._named.run(session, parameters)
        ]
        start = page.start_index - 1
        return found[start : start + page.count], len(found)

    @functools.cached_property
    def _attributes(self) -> list[str]:
        """The row's column attributes, in the order :attr:`_named` reads them."""
        return [attribute.key for attribute in self.row.__mapper__.column_attrs]

    @functools.cached_property
    def _named(self) -> SessionStatement:
        """The query of :meth:`search_by_name`, built once, run on SQLite's cursor."""
        columns = (getattr(self.row, key) for key in self._attributes)
        return SessionStatement(sa.select(*columns).where(self._named_here))

    def search(
        self,
        session: Session,
        connection_id: str,
        scim_filter: ScimFilter[Any] | None,
        page: Page,
        base_url: str,
    ) -> tuple[list[RowT], int]:
        """One page of the connection's resources matching the filter, oldest first, and the
        total; what SQL cannot say of the filter is evaluated on the resources themselves."""
        base, bound = self._of_connection, {"connection_id": connection_id}
        order = (self.row.created_at, self.row.id)
        if scim_filter is None:
            return run_query(session, base, bound, order, page, Condition(None, True), None)
        condition = SqlCompiler(scim_filter, dict(self.columns)).compile(scim_filter.ast)

        def keep(candidates: list[RowT]) -> list[RowT]:
            related = self.load_related(session, [row.id for row in candidates])
            return [
                row
                for row in candidates
                if filters.matches(scim_filter, self.to_resource(row, base_url, related[row.id]))
            ]

        return run_query(session, base, bound, order, page, condition, keep)
