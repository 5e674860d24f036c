"""Okta's cursor paging: ``limit`` and ``after``, and ``Link`` headers for ``self`` and ``next``.

A page is the rows after the cursor in key order; the cursor of the next page is the key of the
page's last row. Rows added or removed between two requests neither repeat nor skip a row, and the
database seeks to the cursor through the key's index. The ``next`` link is the request's own URL
with the new ``after``, as Okta's is; clients follow it as given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar
from urllib.parse import urlencode

from fastapi import Query, Request, Response
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from expressway.workforce.errors import InvalidInput

RowT = TypeVar("RowT")

MAX_CURSOR_LENGTH = 64


@dataclass(frozen=True)
class Page:
    limit: int
    after: str | None


def paging(default: int, maximum: int) -> Callable[..., Page]:
    """A dependency reading ``limit`` and ``after``; a ``limit`` above ``maximum`` is lowered to
    it, as Okta does, and one below 1 is refused."""

    def page(
        limit: Annotated[int | None, Query(description="Results per page.")] = None,
        after: Annotated[
            str | None,
            Query(max_length=MAX_CURSOR_LENGTH, description="The cursor of the next page."),
        ] = None,
    ) -> Page:
        if limit is None:
            return Page(default, after or None)
        if limit < 1:
            raise InvalidInput.field("limit", "The limit must be at least 1")
        return Page(min(limit, maximum), after or None)

    return page


def fetch_page(
    session: Session,
    statement: Select[RowT],
    key: InstrumentedAttribute[str],
    page: Page,
    *,
    descending: bool = False,
) -> tuple[list[RowT], str | None]:
    """One page of ``statement`` in ``key`` order, and the cursor of the next (``None`` at the
    end). ``key`` must be unique within ``statement``."""
    if page.after is not None:
        statement = statement.where(key < page.after if descending else key > page.after)
    ordered = statement.order_by(None).order_by(key.desc() if descending else key)
    rows = list(session.scalars(ordered.limit(page.limit + 1)))
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    return rows, str(getattr(rows[-1], key.key))


def link_headers(
    request: Request, response: Response, public_base: str, page: Page, after: str | None
) -> None:
    """Okta's ``Link: <…>; rel="self"`` and, when there is more, ``<…?after=…>; rel="next"``."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("after", "limit")]
    base = public_base + request.url.path
    self_params = [*params, ("limit", str(page.limit))]
    if page.after is not None:
        self_params.insert(0, ("after", page.after))
    response.headers.append("Link", f'<{base}?{urlencode(self_params)}>; rel="self"')
    if after is not None:
        next_params = [("after", after), *params, ("limit", str(page.limit))]
        response.headers.append("Link", f'<{base}?{urlencode(next_params)}>; rel="next"')
