"""Dates a person writes (book.dates): one rule for numbers (month first), GMT unless a zone is given, a clear
error where a date reads two ways; the session's clock for today, last week and 3 days ago."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from book.dates import DateTextError, Span, moment, parse_date_text, period

UTC = timezone.utc
NOW = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)  # a Thursday


@pytest.mark.parametrize(("text", "value"), [
    ("December 3, 2026", date(2026, 12, 3)),
    ("Dec 3 2026", date(2026, 12, 3)),
    ("3 December 2026", date(2026, 12, 3)),
    ("12/03/2026", date(2026, 12, 3)),  # month first
    ("12-03-2026", date(2026, 12, 3)),
    ("03/12/2026", date(2026, 3, 12)),
    ("12/31/2026", date(2026, 12, 31)),
    ("December 3, 2026 10:00", datetime(2026, 12, 3, 10, tzinfo=UTC)),  # GMT
    ("December 3, 2026 10am", datetime(2026, 12, 3, 10, tzinfo=UTC)),
    ("December 3, 2026 10:00 GMT", datetime(2026, 12, 3, 10, tzinfo=UTC)),
    ("December 3, 2026 10:00 -05:00", datetime(2026, 12, 3, 15, tzinfo=UTC)),
    ("2026-12-03", None),  # ISO text: read as it always was
    ("December 3, 2026 10:00 America/New_York", datetime(2026, 12, 3, 15, tzinfo=UTC)),  # a zone by its name
    ("July 4, 2026 9am America/Los_Angeles", datetime(2026, 7, 4, 16, tzinfo=UTC)),  # summer time there
    ("2026-12-03T10:00 Europe/Paris", datetime(2026, 12, 3, 9, tzinfo=UTC)),
])
def test_date_text(text, value):
    found = parse_date_text(text)
    assert found == value and type(found) is type(value)
    if isinstance(found, datetime) and "/" in text.split()[-1]:
        assert str(found.tzinfo) == text.split()[-1]  # kept in its zone


@pytest.mark.parametrize(("text", "says"), [
    ("13/03/2026", "has no month 13: dates with numbers are read month first (MM/DD/YYYY); for day 13 of month 3, "
                   "write 2026-03-13"),
    ("12/03/26", "has a two-digit year"),
    ("02/30/2026", "is not a real date (read month first, MM/DD/YYYY)"),
    ("next tuesday", "is not a date I can read"),
    ("December 3", "does not say the whole day"),
    ("December 3, 2026 10:00 PST", "give it by its name like America/New_York"),
    ("December 3, 2026 10:00 Mars/Olympus", '"Mars/Olympus" in "December 3, 2026 10:00 Mars/Olympus" is no time zone'),
    ("December 3, 2026 10:00 -05:00 America/New_York", "gives two time zones"),
    ("December 3, 2026 America/New_York", "names a time zone but no time of day"),
])
def test_date_text_that_reads_two_ways_or_none_is_refused_with_how_to_write_it(text, says):
    with pytest.raises(DateTextError) as caught:
        parse_date_text(text)
    assert says in str(caught.value)


def test_moments_and_periods_come_from_the_clock_given():
    assert moment("now", NOW) == NOW
    assert (moment("today", NOW), moment("yesterday", NOW), moment("tomorrow", NOW)) == (
        date(2026, 12, 3), date(2026, 12, 2), date(2026, 12, 4))
    assert period("this", "week", NOW) == (datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 7, tzinfo=UTC))
    assert period("last", "week", NOW) == (datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    assert period("this", "month", NOW) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert period("next", "month", NOW) == (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
    assert period("last", "year", NOW) == (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    assert period("last", "day", NOW)[0] == datetime(2026, 12, 2, tzinfo=UTC)


def test_spans():
    assert str(Span(3, "day")) == "3 days" and str(Span(1, "month")) == "1 month"
    assert Span(2, "hour").delta() == timedelta(hours=2)
    with pytest.raises(ValueError, match="whole number of months"):
        Span(1.5, "month").delta()
