"""The Message resource: create, fetch, list (filters and paging), update (redact, cancel), delete.

Create checks its options (media URLs, validity period, content template, schedule ...) as Twilio does.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.api_errors import bad_request, invalid_parameter, not_found
from sandbox.clock import DAY_US, datetime_to_us, parse_day_or_instant, rfc2822
from sandbox.filters import date_range
from sandbox.ids import is_sid, new_sid
from sandbox.pages import PageCache
from sandbox.paging import PageRequest
from sandbox.records import ACCEPTED_FOR_US, DELIVERED_AFTER_US, SENT_AFTER_US, MessageRecord
from sandbox.resource import (
    ACCOUNT_PREFIX,
    API_VERSION,
    account_base,
    first,
    is_true,
    list_response,
    read_form,
    require_account,
)
from sandbox.sms import PRICE_UNIT, check_outbound, count_segments, smart_encode
from sandbox.status_queue import follow, reschedule
from sandbox.store import MessageFilter, Store

_LIST_FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")
_NOT_YET_SENT = frozenset({"queued", "accepted", "scheduled"})
_SID_OF = {prefix: re.compile(rf"^{prefix}[0-9a-fA-F]{{32}}$") for prefix in ("AP", "HX")}
MAX_MEDIA = 10
MAX_VALIDITY_PERIOD = 36000
SCHEDULE_MIN_US = 300 * 1_000_000
SCHEDULE_MAX_US = 35 * DAY_US


def message_json(record: MessageRecord, now_us: int) -> dict[str, Any]:
    """A message as Twilio's `api.v2010.account.message` schema describes it, as of `now_us`."""
    base = f"{account_base(record.account_sid)}/Messages/{record.sid}"
    created_us, sent_us, updated_us = record.created_us, record.date_sent_at(now_us), record.date_updated_at(now_us)
    created = rfc2822(created_us)  # the three are often the same instant: each different one is written once
    sent = created if sent_us == created_us else rfc2822(sent_us)
    updated = created if updated_us == created_us else sent if updated_us == sent_us else rfc2822(updated_us)
    return {
        "account_sid": record.account_sid,
        "api_version": API_VERSION,
        "body": record.body,
        "date_created": created,
        "date_sent": sent,
        "date_updated": updated,
        "direction": record.direction,
        "error_code": record.error_code,
        "error_message": record.error_message,
        "from": record.from_,
        "messaging_service_sid": record.messaging_service_sid,
        "num_media": str(record.num_media),
        "num_segments": str(record.num_segments),
        "price": record.price_at(now_us),
        "price_unit": PRICE_UNIT,
        "sid": record.sid,
        "status": record.status_at(now_us),
        "subresource_uris": {"media": f"{base}/Media.json", "feedback": f"{base}/Feedback.json"},
        "to": record.to,
        "uri": f"{base}.json",
    }


async def create_message(request: Request) -> Response:
    """POST .../Messages.json: validate as Twilio does, store, answer 201 with the new message."""
    store = require_account(request)
    form = await read_form(request)
    to, sender, body = first(form, "To"), first(form, "From"), first(form, "Body")
    service = first(form, "MessagingServiceSid")
    media_urls = [url for url in form.get("MediaUrl", []) if url]
    if body and is_true(first(form, "SmartEncoded")):
        body = smart_encode(body)
    content_sid = first(form, "ContentSid")
    to = check_outbound(
        to=to, sender=sender, messaging_service_sid=service, body=body,
        media_urls=media_urls, content_sid=content_sid,
    )
    if service and not is_sid(service, "MG"):
        raise bad_request(21701, f"The Messaging Service Sid {service} is invalid.")
    check_options(form, media_urls)
    if content_sid:
        body = render_content(content_sid, first(form, "ContentVariables"))
    now = store.now_us()
    send_at = _send_at(form, now, service)
    # Created queued; through a Messaging Service without a From, accepted then queued once it has a
    # sender; scheduled, queued at its send time. Sent SENT_AFTER after it is queued.
    if send_at:
        initial, queued = "scheduled", send_at
    elif service and not sender:
        initial, queued = "accepted", now + ACCEPTED_FOR_US
    else:
        initial, queued = "queued", None
    sent = (queued or now) + SENT_AFTER_US
    record = MessageRecord(
        sid=new_sid("MM" if media_urls else "SM"),
        account_sid=store.account_sid,
        to=to,
        from_=sender,
        body=body or "",
        messaging_service_sid=service,
        num_media=len(media_urls),
        num_segments=count_segments(body or ""),
        direction="outbound-api",
        initial_status=initial,
        final_status=None,
        price=None,
        error_code=None,
        error_message=None,
        created_us=now,
        updated_us=now,
        sent_us=sent,
        delivered_us=sent + DELIVERED_AFTER_US,
        queued_us=queued,
        params={name: values if name == "MediaUrl" else values[0] for name, values in form.items()},
    )
    store.add_message(record)
    if follow(store, record):  # its status changes are posted to its StatusCallback
        _wake_status_callbacks(request)
    return JSONResponse(message_json(record, now), status_code=201)


def _wake_status_callbacks(request: Request) -> None:
    """Tell this sandbox's status callbacks that a followed message was created or changed."""
    wake = getattr(request.app.state, "wake_status_callbacks", None)
    if wake is not None:
        wake()


def _send_at(form: dict[str, list[str]], now_us: int, service: str | None) -> int | None:
    """The scheduled send time (ScheduleType=fixed with SendAt), or None to send now.

    As Twilio: SendAt without ScheduleType is ignored; scheduling needs a Messaging Service and a
    SendAt from 300 seconds to 35 days ahead.
    """
    schedule, raw = first(form, "ScheduleType"), first(form, "SendAt")
    if schedule is None:
        return None
    if schedule != "fixed":
        raise invalid_parameter("ScheduleType", schedule, "must be 'fixed'")
    if not raw:
        raise bad_request(35111, "SendAt timestamp is missing: it is required when ScheduleType is 'fixed'.")
    if not service:
        raise bad_request(35118, "MessagingServiceSid is required to schedule a message.")
    try:
        _, instant = parse_day_or_instant(raw)
    except ValueError:
        instant = None
    if instant is None:
        raise invalid_parameter("SendAt", raw, "is not an ISO 8601 date-time")
    when = datetime_to_us(instant)
    if not now_us + SCHEDULE_MIN_US <= when <= now_us + SCHEDULE_MAX_US:
        raise bad_request(
            35114,
            "Scheduling does not support this timestamp: SendAt time must be between 300 seconds and "
            "35 days (3024000 seconds) in the future, inclusive.",
        )
    return when


def check_options(form: dict[str, list[str]], media_urls: list[str]) -> None:
    """Refuse, as Twilio does, a Create Message option out of its range or of the wrong shape."""
    if len(media_urls) > MAX_MEDIA:
        raise invalid_parameter("MediaUrl", f"{len(media_urls)} URLs", f"is more than the {MAX_MEDIA} a message takes")
    for url in media_urls:
        if not _is_web_url(url):
            raise bad_request(21620, f"Invalid media URL(s): {url}")
    if (callback := first(form, "StatusCallback")) and not _is_web_url(callback):
        raise invalid_parameter("StatusCallback", callback, "is not an http or https URL")
    if (application := first(form, "ApplicationSid")) and not _SID_OF["AP"].match(application):
        raise invalid_parameter("ApplicationSid", application, "is not an Application SID (AP and 32 hex digits)")
    if (validity := first(form, "ValidityPeriod")) is not None and (
        not validity.isdigit() or not 1 <= int(validity) <= MAX_VALIDITY_PERIOD
    ):
            raise invalid_parameter("ValidityPeriod", validity,
                                    f"must be a whole number from 1 to {MAX_VALIDITY_PERIOD}")
    if (price := first(form, "MaxPrice")) is not None:
        try:
            float(price)
        except ValueError:
            raise invalid_parameter("MaxPrice", price, "is not a number") from None
    content_sid, variables = first(form, "ContentSid"), first(form, "ContentVariables")
    if content_sid and not _SID_OF["HX"].match(content_sid):
        raise bad_request(21655, f"The ContentSid is Invalid: {content_sid}")
    if variables is not None:
        if not content_sid:
            raise bad_request(21654, "A ContentSid must be specified if ContentVariables are provided in the request.")
        try:
            parsed = json.loads(variables)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or any(value in (None, "") for value in parsed.values()):
            raise bad_request(21656, "The ContentVariables Parameter is invalid: "
                                     "it must be a JSON object of non-empty values.")


def render_content(content_sid: str, variables: str | None) -> str:
    """The body of a message sent with a content template: the sandbox has no templates, so it names
    the template and the values given for its variables (`{{1}}=12/1, {{2}}=3pm`)."""
    values = json.loads(variables) if variables else {}
    filled = ", ".join(f"{{{{{name}}}}}={value}" for name, value in values.items())
    return f"Content template {content_sid}" + (f" with {filled}" if filled else "")


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


async def list_messages(request: Request) -> Response:
    """GET .../Messages.json: filters To, From, DateSent, DateSent<, DateSent>; newest first; paged.

    `DateSent` filters are inclusive of whole GMT days (see `date_range`).
    """
    store = require_account(request)
    pages: PageCache | None = getattr(request.app.state, "pages", None)
    key = ("messages", request.url.path, request.url.query)
    version, now = store.version(), store.now_us()
    if pages is not None and (body := pages.get(key, version, now)) is not None:
        return Response(body, media_type="application/json")  # nothing it shows has changed since
    query = request.query_params
    page = PageRequest.from_query(query)
    sent_from, sent_before = date_range(query, "DateSent")
    where = MessageFilter(to=query.get("To") or None, from_=query.get("From") or None,
                          sent_from_us=sent_from, sent_before_us=sent_before)
    rows, has_more = store.list_messages(where, page)
    now = store.now_us()
    response = list_response(request, key="messages", filters=_LIST_FILTERS, page=page, rows=rows,
                             items=[message_json(row, now) for row in rows], has_more=has_more)
    if pages is not None:  # valid until a row on it moves, or (filtered by date sent) another is sent
        changes = [t for t in (row.changes_after(now) for row in rows) if t is not None]
        if sent_from is not None or sent_before is not None:
            changes.append(store.next_sent(where, now))
        changes = [t for t in changes if t is not None]
        pages.put(key, version, now, min(changes) if changes else None, bytes(response.body))
    return response


async def fetch_message(request: Request) -> Response:
    """GET .../Messages/{Sid}.json"""
    store = require_account(request)
    return JSONResponse(message_json(_existing(request, store), store.now_us()))


async def update_message(request: Request) -> Response:
    """POST .../Messages/{Sid}.json: `Body=""` redacts the text; `Status=canceled` cancels an unsent message."""
    store = require_account(request)
    record = _existing(request, store)
    form = await read_form(request)
    now = store.now_us()
    body, status = first(form, "Body"), first(form, "Status")
    if body is not None:
        if body != "":
            raise invalid_parameter("Body", body, "must be empty: a message's text can only be redacted")
        record = replace(record, body="")
    if status is not None:
        current = record.status_at(now)
        if status != "canceled":
            raise invalid_parameter("Status", status, "must be 'canceled'")
        if current not in _NOT_YET_SENT:
            raise bad_request(30409, f"Message {record.sid} cannot be canceled: its status is '{current}'.")
        record = replace(record, final_status="canceled", sent_us=None, delivered_us=None, queued_us=None)
    record = replace(record, updated_us=now)
    store.save_message(record)
    if status is not None:
        reschedule(store, record)  # its StatusCallback gets `canceled`, and nothing after
        _wake_status_callbacks(request)
    return JSONResponse(message_json(record, now))


async def delete_message(request: Request) -> Response:
    """DELETE .../Messages/{Sid}.json: 204 with no body."""
    store = require_account(request)
    if not store.delete_message(request.path_params["Sid"]):
        raise not_found(request.url.path)
    return Response(status_code=204)


def _existing(request: Request, store: Store) -> MessageRecord:
    record = store.get_message(request.path_params["Sid"])
    if record is None:
        raise not_found(request.url.path)
    return record


async def _collection(request: Request) -> Response:
    return await (create_message(request) if request.method == "POST" else list_messages(request))


async def _instance(request: Request) -> Response:
    handler = {"GET": fetch_message, "POST": update_message, "DELETE": delete_message}[request.method]
    return await handler(request)


ROUTES = [
    Route(f"{ACCOUNT_PREFIX}/Messages.json", _collection, methods=["GET", "POST"]),
    Route(f"{ACCOUNT_PREFIX}/Messages/{{Sid}}.json", _instance, methods=["GET", "POST", "DELETE"]),
]
