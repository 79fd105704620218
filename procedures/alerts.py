"""Alerts of Twilio's debugger (Monitor v1): read (FILTER-CAPABLE, page-capable)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from book.errors import InputError
from book.filters import NO_PUSHDOWN, Pushdown
from concepts import TwilioAlert
from procedures._book import procedure
from procedures._reading import fetch_one, page_size, skip
from procedures._twilio import twilio_errors

if TYPE_CHECKING:
    from twilio.rest import Client

LOG_LEVELS = ("error", "warning", "notice", "debug")
RETENTION_DAYS = 30
"""Twilio keeps alerts for 30 days; it refuses queries for older ones."""

# What Monitor's Alerts list can filter on: LogLevel, and StartDate/EndDate (inclusive) on when they occurred.
PUSHABLE = {
    "sid": {"eq"},
    "log_level": {"eq"},
    "date_created": {"eq", "gt", "ge", "lt", "le"},
}


def to_concept(alert: Any) -> TwilioAlert:
    """An SDK `AlertInstance` as a `twilio alert` (the error code made a number)."""
    code = alert.error_code
    return TwilioAlert(
        sid=alert.sid,
        account_sid=alert.account_sid,
        error_code=int(code) if code is not None and str(code).isdigit() else None,
        log_level=alert.log_level,
        alert_text=alert.alert_text,
        more_info=alert.more_info,
        request_url=alert.request_url,
        request_method=alert.request_method,
        resource_sid=alert.resource_sid,
        service_sid=alert.service_sid,
        api_version=alert.api_version,
        date_created=alert.date_created,
        date_generated=alert.date_generated,
        date_updated=alert.date_updated,
        url=alert.url,
        request_variables=getattr(alert, "request_variables", None),
        request_headers=getattr(alert, "request_headers", None),
        response_body=getattr(alert, "response_body", None),
        response_headers=getattr(alert, "response_headers", None),
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc)


def _utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def alert_window(pushed: Pushdown) -> tuple[datetime | None, datetime | None]:
    """`(start, end)`: the instants, whole seconds, inclusive, that StartDate and EndDate take.

    They cover the date-created conditions (a date stands for a whole GMT day: `is after 2022-03-01`
    starts on the 2nd) and may cover a little more; the exact conditions are applied locally.
    """
    start = end = None
    for cond in pushed.conditions:
        if cond.field != "date_created":
            continue
        value = cond.value
        if isinstance(value, datetime):
            instant = _utc(value)
            low, high = instant.replace(microsecond=0), instant.replace(microsecond=0)
            if instant.microsecond:
                high += timedelta(seconds=1)
        else:
            low, high = _midnight(value), _midnight(value + timedelta(days=1))
            if cond.op == "gt":
                low = high
            elif cond.op == "lt":
                high = _midnight(value)
        if cond.op in ("eq", "gt", "ge"):
            start = low if start is None else max(start, low)
        if cond.op in ("eq", "lt", "le"):
            end = high if end is None else min(end, high)
    return start, end


def check_retention(start: datetime | None, end: datetime | None, now: datetime) -> None:
    """Refuse a range Twilio no longer has alerts for: one that starts before the day 30 days ago."""
    oldest = _midnight((now - timedelta(days=RETENTION_DAYS)).date())
    first = start if start is not None else end
    if first is not None and first < oldest:
        which = "starts" if start is not None else "ends"
        raise InputError(
            f"the alerts' date range {which} on {first.date().isoformat()}, but Twilio keeps alerts for "
            f"{RETENTION_DAYS} days only (from {oldest.date().isoformat()}); choose a later date; nothing was sent"
        )


def _iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


@procedure("to read some (*Twilio* alerts)", pushable=PUSHABLE)
def read_twilio_alerts(
    client: Client,
    pushed: Pushdown = NO_PUSHDOWN,
    offset: int = 0,
    limit: int | None = None,
) -> Iterator[TwilioAlert]:
    """Get the alerts Twilio's debugger raised for the account (errors, warnings, notices, debug).

    Filters on the log level and the date created are sent to Twilio (its Log Level, Start Date and
    End Date); any other field can be filtered too, and is checked as the alerts stream in. Alerts
    are read page by page, newest first. A filter on the SID alone fetches that one alert, with the
    request and response that caused it.

    Twilio keeps alerts for 30 days: a date range that starts earlier (such as `whose date created is
    after 2020-01-01`) is refused before anything is sent. Dates are GMT; a date stands for a whole day.

    Output Concepts:
        twilio alert: A list of alerts that match the specified filtering criteria

    Example 1:
        Retrieve the errors Twilio reported

        >>> read some Twilio alerts whose log level is "error"

    Example 2:
        Retrieve the warnings about one error code

        >>> read some Twilio alerts whose log level is "warning" and whose error code is 11200

    Example 3:
        Retrieve the alerts about requests to one web server

        >>> read some Twilio alerts whose request url starts with "https://example.com/"
    """
    params: dict[str, Any] = {}
    if (level := pushed.get("log_level")) is not None:
        if level not in LOG_LEVELS:
            raise InputError(f"{level!r} is not a log level; the log levels are {', '.join(LOG_LEVELS)} (in lower case); "
                             "nothing was sent")
        params["log_level"] = level
    start, end = alert_window(pushed)
    check_retention(start, end, datetime.now(timezone.utc))
    if start is not None:
        params["start_date"] = _iso(start)
    if end is not None:
        params["end_date"] = _iso(end)
    with twilio_errors("read alerts"):
        if (sid := pushed.get("sid")) is not None:
            yield from fetch_one(lambda: client.monitor.v1.alerts(sid).fetch(), to_concept)
            return
        size = page_size(pushed, offset, limit, refined=any(c.field == "date_created" for c in pushed.conditions))
        for alert in skip(client.monitor.v1.alerts.stream(page_size=size, **params), offset):
            yield to_concept(alert)
