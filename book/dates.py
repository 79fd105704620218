"""Dates a person writes: `today`, `3 days ago`, `last week`, `"December 3, 2026"`, `"12/03/2026"`, spans of time.

Everything is GMT unless a time zone is given (`"December 3, 2026 10:00 -05:00"`). The clock is the session's
(`Session.now`), so a test gives the time it wants. `today` and `yesterday` are whole days (dates), as a date
written out is: `is after yesterday` starts today. Date text is read by python-dateutil, with one rule for
numbers: **month first** (`12/03/2026` is December 3, 2026, as in the US); a date that only reads day first
(`13/03/2026`) or has a two-digit year (`12/03/26`) is refused, with the unambiguous way to write it.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from dateutil.relativedelta import relativedelta

__all__ = ["Span", "moment", "period", "parse_date_text", "DateTextError", "UNITS"]

UNITS = ("second", "minute", "hour", "day", "week", "month", "year")

_NUMERIC = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})")
_NAMED_ZONE = re.compile(r"(.*\S)\s+([A-Za-z]+(?:/[A-Za-z0-9_+\-]+)+)")  # ends with a zone's name: Europe/Paris
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ].*)?", re.IGNORECASE)
_WRITE_IT = 'write it like 2026-12-03, "December 3, 2026" or "12/03/2026" (month first)'


class DateTextError(ValueError):
    """Date text that can't be read, or reads two ways; the message says how to write it."""


@dataclass(frozen=True, slots=True)
class Span:
    """A length of time as a person says it: `3 days`, `1 month` (months and years are calendar ones)."""

    count: int | float
    unit: str  # one of UNITS

    def delta(self) -> relativedelta | timedelta:
        if self.unit in ("month", "year"):
            if self.count != int(self.count):
                raise ValueError(f"{self} is not a whole number of {self.unit}s")
            return relativedelta(**{self.unit + "s": int(self.count)})
        return timedelta(**{self.unit + "s": self.count})

    def __str__(self) -> str:
        count = int(self.count) if self.count == int(self.count) else self.count
        return f"{count} {self.unit}" + ("" if count == 1 else "s")


def moment(kind: str, now: datetime) -> date | datetime:
    """`now` (a datetime, GMT unless `now` has a zone), `today`, `yesterday`, `tomorrow` (whole days)."""
    if kind == "now":
        return now
    today = now.date()
    return today + timedelta(days={"today": 0, "yesterday": -1, "tomorrow": 1}[kind])


def period(which: str, unit: str, now: datetime) -> tuple[datetime, datetime]:
    """`this week`, `last month`, `next year`: the span's start (included) and end (excluded); weeks start on
    Monday."""
    if unit == "week":
        start_day = now.date() - timedelta(days=now.weekday())
        start = datetime.combine(start_day, time(), now.tzinfo)
        step: relativedelta | timedelta = timedelta(weeks=1)
    elif unit == "day":
        start, step = datetime.combine(now.date(), time(), now.tzinfo), timedelta(days=1)
    elif unit == "month":
        start, step = datetime(now.year, now.month, 1, tzinfo=now.tzinfo), relativedelta(months=1)
    elif unit == "year":
        start, step = datetime(now.year, 1, 1, tzinfo=now.tzinfo), relativedelta(years=1)
    else:
        raise ValueError(f"a period is a day, a week, a month or a year, not a {unit}")
    offset = {"this": 0, "last": -1, "next": 1}[which]
    start = start + step * offset if isinstance(step, timedelta) else start + relativedelta(months=step.months * offset, years=step.years * offset)
    return start, start + step


def parse_date_text(text: str) -> date | datetime | None:
    """Date text as a date (no time given) or a datetime (GMT unless a zone is given); None for ISO text, which
    the caller reads as it always did. Raises `DateTextError` for text that is no date, or reads two ways."""
    text = " ".join(text.split())
    named = _NAMED_ZONE.fullmatch(text)
    if named:  # `December 3, 2026 10:00 America/New_York`: the time there
        return _in_zone(text, named.group(1), named.group(2))
    if not text or _ISO.fullmatch(text):
        return None
    numeric = _NUMERIC.fullmatch(text)
    if numeric:
        return _numeric_date(text, *(int(n) for n in numeric.groups()), len(numeric.group(3)))
    from dateutil.parser import ParserError, UnknownTimezoneWarning  # here: its import costs a start 15 ms
    from dateutil.parser import parse as _dateutil_parse

    first, second = datetime(2000, 1, 1, 0, 0, 0), datetime(2001, 2, 2, 1, 1, 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UnknownTimezoneWarning)
            a = _dateutil_parse(text, default=first, dayfirst=False)
            b = _dateutil_parse(text, default=second, dayfirst=False)
    except UnknownTimezoneWarning:
        raise DateTextError(f'I don\'t know the time zone in "{text}"; give it by its name like America/New_York, '
                            "or as an offset like -05:00 (or GMT), or leave it out for GMT") from None
    except (ParserError, ValueError, OverflowError):
        raise DateTextError(f'"{text}" is not a date I can read; {_WRITE_IT}') from None
    if (a.year, a.month, a.day) != (b.year, b.month, b.day):
        raise DateTextError(f'"{text}" does not say the whole day (its year, month and day); {_WRITE_IT}')
    if a.hour != b.hour:
        return a.date()  # no time given: the whole day
    return a if a.tzinfo is not None else a.replace(tzinfo=timezone.utc)


def _in_zone(text: str, written: str, name: str) -> datetime:
    """Date text with a time, in the time zone of that name (the IANA database's, like Europe/Paris)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DateTextError(f'"{name}" in "{text}" is no time zone I know; name one like America/New_York or '
                            "Europe/Paris, or give an offset like -05:00") from None
    if _ISO.fullmatch(written):
        try:
            when: date | datetime | None = datetime.fromisoformat(written.upper().replace(" ", "T"))
        except ValueError:
            raise DateTextError(f'"{written}" is not a date and time I can read; {_WRITE_IT}') from None
        when = when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
    else:
        when = parse_date_text(written)
    if not isinstance(when, datetime) or (when.time() == time(0) and not re.search(r"\d:\d", written)):
        raise DateTextError(f'"{text}" names a time zone but no time of day; give the time, like '
                            f'"{written} 10:00 {name}", or leave the zone out for the whole day')
    if when.tzinfo is not timezone.utc or re.search(r"(GMT|UTC|Z|[+-]\d\d:?\d\d)$", written, re.IGNORECASE):
        raise DateTextError(f'"{text}" gives two time zones; keep one: {name} or the offset')
    return when.replace(tzinfo=zone)


def _numeric_date(text: str, month: int, day: int, year: int, year_digits: int) -> date:
    if year_digits != 4:
        raise DateTextError(f'"{text}" has a two-digit year, which could be any century; write the year in full, '
                            f"like {month:02d}/{day:02d}/20{year:02d}")
    if month > 12 and day <= 12:
        raise DateTextError(f'"{text}" has no month {month}: dates with numbers are read month first (MM/DD/YYYY); '
                            f"for day {month} of month {day}, write {year:04d}-{day:02d}-{month:02d}")
    try:
        return date(year, month, day)
    except ValueError:
        raise DateTextError(f'"{text}" is not a real date (read month first, MM/DD/YYYY); {_WRITE_IT}') from None
