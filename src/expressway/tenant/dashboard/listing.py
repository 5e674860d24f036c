"""The dashboard's lists that grow with the vendor's customers (organizations, enterprise
connections, users, an organization's members): a page of them at a time, searched.

Every customer that runs Express Configuration adds an organization and a connection, and SCIM
brings in its employees; a list that showed them all took a page of thousands of rows to render
and to read. Like Auth0's
dashboard, these show ``PAGE_SIZE`` at a time, in name order, with a search box (``?q=``, a
case-insensitive match anywhere in the names it searches) and links to the pages before and
after (``?page=``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session
from starlette.requests import Request

T = TypeVar("T")

PAGE_SIZE = 50
#: The longest search kept; the names searched are at most 255 characters.
MAX_QUERY_LENGTH = 255


@dataclass(frozen=True)
class Listing(Generic[T]):
    """One page of a list, and where it stands in the whole."""

    rows: Sequence[T]
    #: Rows matching the search, on every page.
    total: int
    #: 1-based.
    number: int
    query: str
    path: str
    #: The part of the page the list stands in (``members``), for its links and its search.
    fragment: str = ""

    @property
    def first(self) -> int:
        """The 1-based position of the page's first row (0 when there is none)."""
        return (self.number - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return (self.number - 1) * PAGE_SIZE + len(self.rows)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    def link(self, number: int) -> str:
        """The list's path at page ``number``, with the search kept."""
        parameters: dict[str, Any] = {"q": self.query} if self.query else {}
        if number > 1:
            parameters["page"] = number
        link = f"{self.path}?{urlencode(parameters)}" if parameters else self.path
        return f"{link}#{self.fragment}" if self.fragment else link

    @property
    def action(self) -> str:
        """Where the search form sends its query."""
        return f"{self.path}#{self.fragment}" if self.fragment else self.path

    @property
    def previous(self) -> str | None:
        return self.link(self.number - 1) if self.number > 1 else None

    @property
    def next(self) -> str | None:
        return self.link(self.number + 1) if self.number < self.pages else None


def _page_number(request: Request) -> int:
    given = request.query_params.get("page", "")
    # A page number that is not one (a hand-edited link) shows the first page, not an error.
    return int(given) if given.isdigit() and 0 < int(given) < 1_000_000 else 1


def listing(
    session: Session,
    request: Request,
    path: str,
    statement: Select[T],
    searched: Sequence[QueryableAttribute[Any]],
    fragment: str = "",
) -> Listing[T]:
    """The page of ``statement``'s rows (already in order) that ``request`` asks for, among
    those whose ``searched`` columns contain its search."""
    query = request.query_params.get("q", "").strip()[:MAX_QUERY_LENGTH]
    if query:
        statement = statement.where(
            or_(*(column.icontains(query, autoescape=True) for column in searched))
        )
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    pages = max(1, -(-(total or 0) // PAGE_SIZE))
    number = min(_page_number(request), pages)
    rows = session.scalars(statement.limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)).all()
    return Listing(
        rows=rows, total=total or 0, number=number, query=query, path=path, fragment=fragment
    )
