"""Monitor v1 alerts: `GET /v1/Alerts` (LogLevel, StartDate, EndDate; v1 paging) and `/v1/Alerts/{Sid}`.

Alerts live on `monitor.twilio.com`, outside the account path: the authenticated account's alerts are
listed. Twilio keeps them for 30 days, and so does the sandbox: older alerts are not listed nor
fetched, and a StartDate or EndDate before the day 30 days ago is refused. Dates are ISO 8601.

A v1 list answers with `{"alerts": [...], "meta": {...}}`, whose `next_page_url` is an absolute
`https://monitor.twilio.com/...` URL the SDK follows as it is (see `v1_envelope`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.api_errors import invalid_parameter, not_found
from sandbox.clock import day_start_us, span_us, us_to_datetime
from sandbox.filters import Where
from sandbox.ids import is_sid, new_sid
from sandbox.paging import Keyed, PageLinks, PageRequest
from sandbox.resource import echoed, store_of
from sandbox.seeding import check_keys, check_sid, seed_us
from sandbox.store import Store, Table, register_tables

MONITOR_URL = "https://monitor.twilio.com"
LOG_LEVELS = ("error", "warning", "notice", "debug")
RETENTION_DAYS = 30
"""Twilio keeps alerts for 30 days."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    error_code TEXT,
    log_level TEXT NOT NULL,
    alert_text TEXT,
    more_info TEXT,
    request_url TEXT,
    request_method TEXT,
    resource_sid TEXT,
    service_sid TEXT,
    api_version TEXT,
    request_variables TEXT,
    request_headers TEXT,
    response_body TEXT,
    response_headers TEXT,
    created_us INTEGER NOT NULL,
    generated_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_created ON alerts (account_sid, created_us DESC, sid DESC);
"""
register_tables(_SCHEMA, ("alerts",))


@dataclass(frozen=True)
class AlertRecord:
    """One stored alert (columns in table order)."""

    sid: str
    account_sid: str
    error_code: str | None
    log_level: str
    alert_text: str | None
    more_info: str | None
    request_url: str | None
    request_method: str | None
    resource_sid: str | None
    service_sid: str | None
    api_version: str | None
    request_variables: str | None
    request_headers: str | None
    response_body: str | None
    response_headers: str | None
    created_us: int
    generated_us: int
    updated_us: int


ALERTS = Table("alerts", AlertRecord)
_SEED_KEYS = frozenset(
    {f.name for f in fields(AlertRecord)} - {"account_sid", "created_us", "generated_us", "updated_us"}
    | {"date_created", "date_generated", "date_updated"}
)
_DETAIL_ONLY = ("request_variables", "request_headers", "response_body", "response_headers")


def insert_alerts(store: Store, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Store alerts for tests and demos; returns their SIDs in order.

    Each row may have `sid` (NO...), `error_code` (default "11200"), `log_level` (error), `alert_text`,
    `more_info` (the error code's page), `request_url`, `request_method` (POST, or GET), `resource_sid`,
    `service_sid`, `api_version`, the four request/response details, and `date_created`,
    `date_generated`, `date_updated` (aware datetimes or ISO 8601; default now). Raises ValueError
    for an unknown key or a bad value.
    """
    now = store.now_us()
    records = [_alert(row, store.account_sid, now) for row in rows]
    store.insert(ALERTS, records)
    return [r.sid for r in records]


def _alert(row: Mapping[str, Any], account_sid: str, now_us: int) -> AlertRecord:
    check_keys(row, _SEED_KEYS, "alert")
    sid = check_sid(row.get("sid") or new_sid("NO"), "an alert", "NO")
    level = row.get("log_level", "error")
    if level not in LOG_LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LOG_LEVELS)}")
    method = row.get("request_method", "POST")
    if method not in ("GET", "POST"):  # the spec's enum has no null
        raise ValueError(f"request method {method!r} is not GET or POST")
    for name in ("resource_sid", "service_sid"):
        if row.get(name) is not None and not is_sid(row[name]):
            raise ValueError(f"{name} {row[name]!r} is not a SID (two letters and 32 hex digits)")
    code = str(row.get("error_code", "11200"))
    created = seed_us(row.get("date_created")) or now_us
    return AlertRecord(
        sid=sid, account_sid=account_sid, error_code=code, log_level=level,
        alert_text=row.get("alert_text", f"Msg=Error {code}"),
        more_info=row.get("more_info", f"https://www.twilio.com/docs/errors/{code}"),
        request_url=row.get("request_url"), request_method=method, resource_sid=row.get("resource_sid"),
        service_sid=row.get("service_sid"), api_version=row.get("api_version"),
        **{name: row.get(name) for name in _DETAIL_ONLY},
        created_us=created, generated_us=seed_us(row.get("date_generated")) or created,
        updated_us=seed_us(row.get("date_updated")) or created,
    )


def oldest_kept_us(now_us: int) -> int:
    """The start of the GMT day 30 days ago: alerts older than that are gone."""
    return day_start_us((us_to_datetime(now_us) - timedelta(days=RETENTION_DAYS)).date())


def iso8601(us: int) -> str:
    """Monitor v1's date format: `2022-03-01T15:00:00Z`."""
    return us_to_datetime(us).strftime("%Y-%m-%dT%H:%M:%SZ")


def alert_json(record: AlertRecord, *, detail: bool) -> dict[str, Any]:
    """An alert as `monitor.v1.alert` (a list item) or, with `detail`, `monitor.v1.alert-instance`."""
    body = {
        "account_sid": record.account_sid,
        "alert_text": record.alert_text,
        "api_version": record.api_version,
        "date_created": iso8601(record.created_us),
        "date_generated": iso8601(record.generated_us),
        "date_updated": iso8601(record.updated_us),
        "error_code": record.error_code,
        "log_level": record.log_level,
        "more_info": record.more_info,
        "request_method": record.request_method,
        "request_url": record.request_url,
        "resource_sid": record.resource_sid,
        "sid": record.sid,
        "url": f"{MONITOR_URL}/v1/Alerts/{record.sid}",
        "service_sid": record.service_sid,
    }
    if detail:
        body.update({name: getattr(record, name) for name in _DETAIL_ONLY})
    return body


def v1_envelope(
    *, key: str, url: str, filters: Sequence[tuple[str, str]], request: PageRequest, rows: Sequence[Keyed],
    items: list[dict[str, Any]], has_more: bool,
) -> dict[str, Any]:
    """The list body of Twilio's v1 APIs: `{key: items, "meta": {...}}` with absolute page URLs."""
    links = PageLinks.of(url, filters, request, rows, has_more)
    return {
        key: items,
        "meta": {
            "first_page_url": links.first,
            "key": key,
            "next_page_url": links.next,
            "page": request.page,
            "page_size": request.page_size,
            "previous_page_url": links.previous,
            "url": links.this,
        },
    }


async def list_alerts(request: Request) -> Response:
    """GET /v1/Alerts: LogLevel, StartDate and EndDate (inclusive; a date is a whole GMT day); newest first."""
    store = store_of(request)
    query = request.query_params
    page = PageRequest.from_query(query)
    now = store.now_us()
    where = Where()
    where.add("created_us >= ?", oldest_kept_us(now))
    level = query.get("LogLevel")
    if level:
        if level not in LOG_LEVELS:
            raise invalid_parameter("LogLevel", level, f"must be one of {', '.join(LOG_LEVELS)}")
        where.equals("log_level", level)
    for name, op, end_of_day in (("StartDate", ">=", False), ("EndDate", "<", True)):
        raw = query.get(name)
        if raw:
            where.add(f"created_us {op} ?", _date_param(name, raw, end_of_day, now))
    records, has_more = store.keyset_page(ALERTS, where, page)
    return JSONResponse(v1_envelope(
        key="alerts", url=f"{MONITOR_URL}/v1/Alerts", request=page, rows=records, has_more=has_more,
        filters=echoed(request, ("LogLevel", "StartDate", "EndDate")),
        items=[alert_json(r, detail=False) for r in records],
    ))


def _date_param(name: str, raw: str, end_of_day: bool, now_us: int) -> int:
    """StartDate (from) or EndDate (up to and including) as microseconds; refuses dates Twilio no longer keeps."""
    try:
        start, end = span_us(raw)
    except ValueError:
        raise invalid_parameter(name, raw, "is not a date (YYYY-MM-DD) or a date-time (YYYY-MM-DDThh:mm:ssZ)") from None
    at = end if end_of_day else start
    oldest = oldest_kept_us(now_us)
    if at < oldest:
        kept_from = us_to_datetime(oldest).date().isoformat()
        raise invalid_parameter(name, raw, f"is more than {RETENTION_DAYS} days ago: Twilio keeps alerts for "
                                           f"{RETENTION_DAYS} days (from {kept_from})")
    return at


async def fetch_alert(request: Request) -> Response:
    """GET /v1/Alerts/{Sid}: with the request and response details."""
    store = store_of(request)
    where = Where()
    where.add("created_us >= ?", oldest_kept_us(store.now_us()))
    record = store.get(ALERTS, request.path_params["Sid"], where)
    if record is None:
        raise not_found(request.url.path)
    return JSONResponse(alert_json(record, detail=True))


ROUTES = [
    Route("/v1/Alerts", list_alerts, methods=["GET"]),
    Route("/v1/Alerts/{Sid}", fetch_alert, methods=["GET"]),
]
