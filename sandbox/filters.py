"""Filters of the list endpoints: date ranges read from the query, and the SQL conditions filters become.

    low, high = date_range(request.query_params, "DateCreated")   # DateCreated, DateCreated>, DateCreated<
    where = Where()
    where.equals("call_sid", query.get("CallSid") or None)
    where.in_range("created_us", low, high)
    records, has_more = store.keyset_page(RECORDINGS, where, page)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.api_errors import invalid_parameter
from sandbox.clock import span_us


def date_range(query: Mapping[str, str], name: str) -> tuple[int | None, int | None]:
    """The `name`, `name>` and `name<` filters (DateSent, StartTime...) as a range `[low, high)` of microseconds.

    `YYYY-MM-DD` means a whole GMT day, inclusive: `name>` from the start of that day, `name<` to its
    end, `name` that day only. A full date-time is an instant, also inclusive (`name` with a
    date-time means the day it falls on). Several filters narrow the range; none gives `(None, None)`.
    Raises a 400 `ApiError` naming the first malformed filter.
    """
    low: int | None = None
    high: int | None = None
    for key in (name, f"{name}>", f"{name}<"):
        raw = query.get(key)
        if not raw:
            continue
        try:
            start, end = span_us(raw, whole_day=key == name)
        except ValueError:
            raise invalid_parameter(key, raw, "is not a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
        if key != f"{name}<":
            low = start if low is None else max(low, start)
        if key != f"{name}>":
            high = end if high is None else min(high, end)
    return low, high


@dataclass
class Where:
    """SQL conditions, joined with AND, and their arguments: built one filter at a time for `Store.keyset_page`."""

    conditions: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def add(self, condition: str, *args: Any) -> None:
        """Add a condition with `?` placeholders and the values they take."""
        self.conditions.append(condition)
        self.args.extend(args)

    def equals(self, column: str, value: Any) -> None:
        """`column = value`; nothing when `value` is None (the filter was not given)."""
        if value is not None:
            self.add(f"{column} = ?", value)

    def in_range(self, column: str, low: int | None, high: int | None) -> None:
        """`low <= column < high`; an end that is None is open."""
        if low is not None:
            self.add(f"{column} >= ?", low)
        if high is not None:
            self.add(f"{column} < ?", high)

    def reached_in_range(self, column: str, low: int | None, high: int | None, now_us: int) -> None:
        """A lifecycle time (a message's `sent_us`, a call's `start_us`...) in `[low, high)`; nothing if both are None.

        Only a time already reached counts: a row that follows its lifecycle (no `final_status`) has
        no date sent, start or end time until the clock reaches it.
        """
        if low is None and high is None:
            return
        self.add(f"{column} IS NOT NULL AND (final_status IS NOT NULL OR {column} <= ?)", now_us)
        self.in_range(column, low, high)
