"""Paging shared by every list endpoint: PageSize/Page/PageToken in, Twilio's list envelope out.

Lists are ordered newest first by `(date_created, sid)`. A page token names the row a page ends
(`PA...`, for the next page) or starts (`PB...`, for the previous one) together with its creation
time, so paging keeps working when rows are deleted between pages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

from sandbox.api_errors import invalid_parameter

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

_TOKEN_RE = re.compile(r"^(PA|PB)([A-Z]{2}[0-9a-f]{32})-(\d+)$")


class Keyed(Protocol):
    """A row a list can page over."""

    @property
    def sid(self) -> str: ...

    @property
    def created_us(self) -> int: ...


@dataclass(frozen=True)
class Cursor:
    """Where a page starts or ends: after (`forward`) or before the row `(created_us, sid)`."""

    forward: bool
    created_us: int
    sid: str

    def token(self) -> str:
        return f"{'PA' if self.forward else 'PB'}{self.sid}-{self.created_us}"

    @classmethod
    def after(cls, row: Keyed) -> Cursor:
        return cls(True, row.created_us, row.sid)

    @classmethod
    def before(cls, row: Keyed) -> Cursor:
        return cls(False, row.created_us, row.sid)


@dataclass(frozen=True)
class PageRequest:
    """The paging part of a list request."""

    page_size: int = DEFAULT_PAGE_SIZE
    page: int = 0
    cursor: Cursor | None = None

    @property
    def offset(self) -> int:
        """Rows to skip when there is no page token (plain `Page=N` paging)."""
        return 0 if self.cursor else self.page * self.page_size

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> PageRequest:
        """Read PageSize (1..1000, default 50), Page (>= 0) and PageToken; raise ApiError if malformed."""
        page_size = _int_param(query, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        page = _int_param(query, "Page", 0, 0, None)
        cursor = None
        token = query.get("PageToken")
        if token:
            match = _TOKEN_RE.match(token)
            if not match:
                raise invalid_parameter("PageToken", token, "is not a page token this API gave out")
            cursor = Cursor(match.group(1) == "PA", int(match.group(3)), match.group(2))
        return cls(page_size, page, cursor)


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_parameter(name, raw, "is not a whole number") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise invalid_parameter(name, raw, f"must be {bound}")
    return value


@dataclass(frozen=True)
class PageLinks:
    """The links of a list page: the first, next (None on the last page), previous (None on the first) and this."""

    first: str
    next: str | None
    previous: str | None
    this: str

    @classmethod
    def of(
        cls, base: str, filters: Sequence[tuple[str, str]], request: PageRequest, rows: Sequence[Keyed], has_more: bool
    ) -> PageLinks:
        """The links of the page `request` asked for, which holds `rows`: `base` (a path or URL) with a query.

        The query repeats `filters`, then PageSize, Page and the PageToken that finds the page.
        """

        def link(page: int, token: str | None) -> str:
            params: list[tuple[str, str]] = [*filters, ("PageSize", str(request.page_size)), ("Page", str(page))]
            if token:
                params.append(("PageToken", token))
            return f"{base}?{urlencode(params)}"

        previous = None
        if request.page > 0:
            previous = link(request.page - 1, Cursor.before(rows[0]).token() if rows else None)
        return cls(
            first=link(0, None),
            next=link(request.page + 1, Cursor.after(rows[-1]).token()) if has_more and rows else None,
            previous=previous,
            this=link(request.page, request.cursor.token() if request.cursor else None),
        )


def envelope(
    *,
    key: str,
    path: str,
    filters: Sequence[tuple[str, str]],
    request: PageRequest,
    rows: Sequence[Keyed],
    items: list[dict[str, Any]],
    has_more: bool,
) -> dict[str, Any]:
    """Twilio's v2010 list body: `first_page_uri`, `next_page_uri` (None on the last page), ..., `key`."""
    links = PageLinks.of(path, filters, request, rows, has_more)
    start = request.page * request.page_size
    return {
        "end": start + max(len(rows) - 1, 0),
        "first_page_uri": links.first,
        key: items,
        "next_page_uri": links.next,
        "page": request.page,
        "page_size": request.page_size,
        "previous_page_uri": links.previous,
        "start": start,
        "uri": links.this,
    }
