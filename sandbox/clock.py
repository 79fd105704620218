"""Time in the sandbox: an injectable clock, integer microseconds, and Twilio's date formats."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

Clock = Callable[[], float]
"""A clock returns the current time as POSIX seconds (like `time.time`)."""

US = 1_000_000
DAY_US = 86_400 * US
"""A day in microseconds."""


class ManualClock:
    """A clock that only moves when told to; for deterministic tests of message status.

    Whoever waits for the clock (the sandbox's status callbacks) can `watch` it: it is called each
    time the clock moves, so a test that advances the clock needs not wait for a poll.
    """

    def __init__(self, start: float | datetime | None = None) -> None:
        if start is None:
            start = time.time()
        elif isinstance(start, datetime):
            start = start.timestamp()
        self._now = float(start)
        self._lock = threading.Lock()
        self._watchers: list[Callable[[], None]] = []

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        with self._lock:
            self._now += seconds
        self._moved()

    def set(self, when: float | datetime) -> None:
        """Jump to a POSIX time or an aware datetime."""
        with self._lock:
            self._now = when.timestamp() if isinstance(when, datetime) else float(when)
        self._moved()

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (quick, no arguments) whenever the clock moves; returns what stops it."""
        with self._lock:
            self._watchers.append(callback)

        def unwatch() -> None:
            with self._lock:
                if callback in self._watchers:
                    self._watchers.remove(callback)

        return unwatch

    def _moved(self) -> None:
        with self._lock:
            watchers = list(self._watchers)
        for callback in watchers:
            callback()


def to_us(seconds: float) -> int:
    """POSIX seconds to integer microseconds (the store's unit)."""
    return int(round(seconds * US))


def datetime_to_us(value: datetime) -> int:
    """An aware datetime (naive ones are taken as UTC) to integer microseconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return to_us(value.timestamp())


def us_to_datetime(us: int) -> datetime:
    """Integer microseconds to an aware UTC datetime."""
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=us)


def rfc2822(us: int | None) -> str | None:
    """Twilio's date format, e.g. `Tue, 01 Mar 2022 15:00:00 +0000` (as `email.utils.format_datetime` writes
    it); None stays None. Lists write thousands of them: each day is formatted once, and the time of day
    is put together from ready-made parts."""
    if us is None:
        return None
    day, second = divmod(us // US, 24 * 3600)
    return _rfc2822_day(day) + _HOURS_MINUTES[second // 60] + _SECONDS[second % 60]


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_HOURS_MINUTES = tuple(f"{hour:02d}:{minute:02d}:" for hour in range(24) for minute in range(60))
_SECONDS = tuple(f"{second:02d} +0000" for second in range(60))


@functools.lru_cache(maxsize=4096)
def _rfc2822_day(day: int) -> str:
    """`Tue, 01 Mar 2022 ` for the day `day` days after 1970-01-01."""
    t = (_EPOCH + timedelta(days=day)).timetuple()
    return f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day_or_instant(text: str) -> tuple[date | None, datetime | None]:
    """Parse a filter value: `YYYY-MM-DD` gives a day; an ISO 8601 date-time gives an instant (UTC).

    Raises ValueError for anything else.
    """
    text = text.strip()
    if _DAY_RE.match(text):
        return date.fromisoformat(text), None
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return None, instant.astimezone(timezone.utc)


def day_start_us(day: date) -> int:
    """Microseconds at 00:00:00 GMT on `day`."""
    return datetime_to_us(datetime(day.year, day.month, day.day, tzinfo=timezone.utc))


def span_us(text: str, *, whole_day: bool = False) -> tuple[int, int]:
    """The half-open span `[start, end)` of microseconds a filter value names.

    `YYYY-MM-DD` is that whole GMT day; an ISO 8601 date-time is that one instant (`end` is
    `start + 1`), or with `whole_day` the GMT day it falls on. Raises ValueError for anything else.
    """
    day, instant = parse_day_or_instant(text)
    if instant is not None and whole_day:
        day = instant.date()
    if day is not None:
        start = day_start_us(day)
        return start, start + DAY_US
    assert instant is not None
    start = datetime_to_us(instant)
    return start, start + 1
