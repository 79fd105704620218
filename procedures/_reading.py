"""What the FILTER-CAPABLE reads share: page sizes, offsets, fetching one by SID, whole-day date ranges."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

from book.filters import Pushdown

MAX_PAGE = 1000
"""The largest page Twilio's list endpoints serve."""

T = TypeVar("T")


def page_size(pushed: Pushdown, offset: int, limit: int | None, *, refined: bool) -> int:
    """As many as wanted when Twilio applies the whole filter exactly; otherwise full pages.

    `refined` says a pushed condition was widened (a date range) and is narrowed locally, so Twilio's
    rows may not all match.
    """
    wanted = offset + limit if limit is not None else None
    exact = pushed.complete and not refined
    return min(wanted, MAX_PAGE) if wanted is not None and exact else MAX_PAGE


def skip(stream: Iterator[T], offset: int) -> Iterator[T]:
    """The stream without its first `offset` items."""
    for index, item in enumerate(stream):
        if index >= offset:
            yield item


def fetch_one(fetch: Callable[[], Any], convert: Callable[[Any], T]) -> Iterator[T]:
    """The one resource `fetch()` returns, converted; nothing if Twilio has no such resource (404)."""
    from twilio.base.exceptions import TwilioRestException

    try:
        found = fetch()
    except TwilioRestException as err:
        if err.status == 404:
            return
        raise
    yield convert(found)


def _day(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return (value.astimezone(timezone.utc) if value.tzinfo else value).date()
    return value


def day_range(pushed: Pushdown, field: str) -> tuple[date | None, date | None, date | None]:
    """`(on, from, to)`: the whole GMT days Twilio's date filters take for `field`'s conditions, inclusive.

    Twilio's `Date=`, `Date>` and `Date<` filters name whole days and include the day they name, so
    the range is widened to whole days and the exact conditions are applied locally afterwards. A
    date stands for a whole day (`is after 2022-03-01` starts on the 2nd); a datetime for its day.
    """
    on = start = end = None
    for cond in pushed.conditions:
        if cond.field != field:
            continue
        whole_day = not isinstance(cond.value, datetime)
        day = _day(cond.value)
        if cond.op == "eq":
            on = day
        elif cond.op in ("gt", "ge"):
            first = day + timedelta(days=1) if cond.op == "gt" and whole_day else day
            start = first if start is None else max(start, first)
        else:
            last = day - timedelta(days=1) if cond.op == "lt" and whole_day else day
            end = last if end is None else min(end, last)
    return on, start, end
