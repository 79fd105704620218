"""The Call resource: create (validated as Twilio does), fetch, list (filters and paging), delete."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.api_errors import ApiError, bad_request, invalid_parameter, not_found
from sandbox.call_store import (
    CALL_STATUSES,
    DIAL_AFTER_US,
    PRICE_UNIT,
    RING_FOR_US,
    TALK_FOR_US,
    CallFilter,
    CallRecord,
    CallStore,
    phone_number_sid,
)
from sandbox.clock import US, rfc2822
from sandbox.filters import date_range
from sandbox.ids import is_sid, new_sid
from sandbox.paging import PageRequest
from sandbox.resource import (
    ACCOUNT_PREFIX,
    API_VERSION,
    account_base,
    first,
    list_response,
    read_form,
    require_account,
)

_LIST_FILTERS = ("To", "From", "ParentCallSid", "Status", "StartTime", "StartTime<", "StartTime>",
                 "EndTime", "EndTime<", "EndTime>")
_SUBRESOURCES = {
    "notifications": "Notifications", "recordings": "Recordings", "payments": "Payments", "events": "Events",
    "siprec": "Siprec", "streams": "Streams", "transcriptions": "Transcriptions",
    "user_defined_message_subscriptions": "UserDefinedMessageSubscriptions",
    "user_defined_messages": "UserDefinedMessages",
}

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_NANP = re.compile(r"^\+1(\d{3})(\d{3})(\d{4})$")
_SIP = re.compile(r"^sip:[^@\s]+@[^@\s]+$", re.I)
_CLIENT = re.compile(r"^client:[A-Za-z0-9_.\-]+$", re.I)
_SIM = re.compile(r"^sim:DE[0-9a-fA-F]{32}$")
_DIGITS = re.compile(r"^[0-9A-D#*wW]{0,32}$")
_URL = re.compile(r"^https?://[^\s/_?#]+(?:[/?#]\S*)?$", re.I)
_METHODS = ("GET", "POST")

# https://www.twilio.com/docs/iam/test-credentials: the magic numbers of making calls, and their errors.
_MAGIC_FROM: dict[str, tuple[int, str]] = {
    "+15005550001": (21212, "The 'From' phone number {number} is not a valid phone number or client identifier."),
}
_MAGIC_TO: dict[str, tuple[int, str]] = {
    "+15005550001": (21217, "Phone number {number} does not appear to be valid."),
    "+15005550002": (21214, "'To' phone number {number} cannot be reached."),
    "+15005550003": (21215, "Account not authorized to call {number}. Perhaps you need to enable some international "
                            "permissions."),
    "+15005550004": (21216, "Account not allowed to call {number}."),
}

# Whole-number parameters and the ranges Twilio documents for them.
_RANGES = {
    "Timeout": (1, 600, 21208),
    "TimeLimit": (1, 86_400, 20001),
    "MachineDetectionTimeout": (3, 59, 20001),
    "MachineDetectionSpeechThreshold": (1000, 6000, 20001),
    "MachineDetectionSpeechEndThreshold": (500, 5000, 20001),
    "MachineDetectionSilenceTimeout": (2000, 10_000, 20001),
}
_CHOICES = {
    "MachineDetection": ("Enable", "DetectMessageEnd"),
    "Trim": ("trim-silence", "do-not-trim"),
    "RecordingChannels": ("mono", "dual"),
    "RecordingTrack": ("inbound", "outbound", "both"),
}
_EVENTS = {
    "StatusCallbackEvent": ("initiated", "ringing", "answered", "completed"),
    "RecordingStatusCallbackEvent": ("in-progress", "completed", "absent"),
}
_METHOD_PARAMS = ("Method", "FallbackMethod", "StatusCallbackMethod", "RecordingStatusCallbackMethod",
                  "AsyncAmdStatusCallbackMethod")
_URL_PARAMS = ("FallbackUrl", "StatusCallback", "RecordingStatusCallback", "AsyncAmdStatusCallback")
# Never stored: the sandbox keeps a call's parameters, but not its secrets.
_SECRET_PARAMS = frozenset({"SipAuthPassword"})


def formatted(address: str) -> str:
    """An address formatted for display: North American numbers as (415) 867-5309, others unchanged."""
    match = _NANP.match(address)
    return f"({match.group(1)}) {match.group(2)}-{match.group(3)}" if match else address


def call_json(record: CallRecord, now_us: int) -> dict[str, Any]:
    """A call as Twilio's `api.v2010.account.call` schema describes it, as of `now_us`."""
    base = f"{account_base(record.account_sid)}/Calls/{record.sid}"
    duration = record.duration_at(now_us)
    return {
        "account_sid": record.account_sid,
        "answered_by": record.answered_by_at(now_us),
        "api_version": API_VERSION,
        "caller_name": record.caller_name,
        "date_created": rfc2822(record.created_us),
        "date_updated": rfc2822(record.date_updated_at(now_us)),
        "direction": record.direction,
        "duration": str(duration) if duration is not None else None,
        "end_time": rfc2822(record.end_at(now_us)),
        "forwarded_from": record.forwarded_from,
        "from": record.from_,
        "from_formatted": formatted(record.from_),
        "group_sid": record.group_sid,
        "parent_call_sid": record.parent_call_sid,
        "phone_number_sid": record.phone_number_sid,
        "price": record.price_at(now_us),
        "price_unit": PRICE_UNIT,
        "queue_time": str(record.queue_time_ms) if record.queue_time_ms is not None else None,
        "sid": record.sid,
        "start_time": rfc2822(record.start_at(now_us)),
        "status": record.status_at(now_us),
        "subresource_uris": {name: f"{base}/{path}.json" for name, path in _SUBRESOURCES.items()},
        "to": record.to,
        "to_formatted": formatted(record.to),
        "trunk_sid": record.trunk_sid,
        "uri": f"{base}.json",
    }


# -- create ---------------------------------------------------------------------------------------------


def check_create(form: dict[str, list[str]]) -> tuple[str, str]:
    """Raise the `ApiError` Twilio would return for this Create Call request, if any; return (to, from)."""
    to, sender = first(form, "To"), first(form, "From")
    if not to:
        raise bad_request(21201, "No 'To' number is specified")
    if not sender:
        raise bad_request(21213, "No 'From' number is specified")
    url, twiml, application = first(form, "Url"), first(form, "Twiml"), first(form, "ApplicationSid")
    if not url and not twiml and not application:
        raise bad_request(21205, "Url parameter is required: give a Url, Twiml or an ApplicationSid.")
    if url and not _URL.match(url):
        raise bad_request(21205, f"Url is not a valid URL: {url}")
    if application and not is_sid(application, "AP"):
        raise bad_request(21218, f"Invalid ApplicationSid: {application}")
    if twiml is not None and len(twiml) > 4000:
        raise invalid_parameter("Twiml", f"{len(twiml)} characters", "is longer than 4000 characters")
    for name in _METHOD_PARAMS:
        value = first(form, name)
        if value is not None and value.upper() not in _METHODS:
            raise bad_request(21209, f"Invalid {name}: {value} (use GET or POST)")
    for name in _URL_PARAMS:
        value = first(form, name)
        if value and not _URL.match(value):
            raise invalid_parameter(name, value, "is not a valid URL")
    digits = first(form, "SendDigits")
    if digits is not None and not _DIGITS.match(digits):
        raise bad_request(21206, f"SendDigits {digits!r} is invalid: at most 32 of 0-9, A-D, #, *, w and W")
    for name, (low, high, code) in _RANGES.items():
        _check_range(form, name, low, high, code)
    for name, choices in _CHOICES.items():
        value = first(form, name)
        if value is not None and value not in choices:
            raise invalid_parameter(name, value, f"must be one of {', '.join(choices)}")
    for name, choices in _EVENTS.items():
        for value in form.get(name, []):
            for event in value.split():
                if event not in choices:
                    raise invalid_parameter(name, event, f"must be one of {', '.join(choices)}")
    _check_addresses(to, sender)
    return to, sender


def _check_range(form: dict[str, list[str]], name: str, low: int, high: int, code: int) -> None:
    raw = first(form, name)
    if raw is None:
        return
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(code, f"Invalid {name}: {raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise bad_request(code, f"Invalid {name}: {value} must be between {low} and {high}")


def _check_addresses(to: str, sender: str) -> None:
    if sender in _MAGIC_FROM:
        raise _magic(_MAGIC_FROM[sender], sender)
    if not (_E164.match(sender) or _CLIENT.match(sender)):
        raise bad_request(21212, f"The 'From' phone number {sender} is not a valid phone number or client identifier.")
    if to in _MAGIC_TO:
        raise _magic(_MAGIC_TO[to], to)
    to_number = bool(_E164.match(to))
    if not (to_number or _SIP.match(to) or _CLIENT.match(to) or _SIM.match(to)):
        raise bad_request(21211, f"Invalid 'To' Phone Number: {to}")
    if to_number and not _E164.match(sender):
        raise bad_request(21212, f"The 'From' {sender} must be a phone number when calling the phone number {to}.")


def _magic(entry: tuple[int, str], number: str) -> ApiError:
    code, template = entry
    return bad_request(code, template.format(number=number))


async def create_call(request: Request) -> Response:
    """POST .../Calls.json: validate as Twilio does, store, answer 201 with the new (queued) call."""
    store = require_account(request)
    form = await read_form(request)
    to, sender = check_create(form)
    now = store.now_us()
    start = now + DIAL_AFTER_US
    answer = start + RING_FOR_US
    talk = TALK_FOR_US
    if first(form, "TimeLimit"):
        talk = min(talk, int(first(form, "TimeLimit") or 0) * US)
    record = CallRecord(
        sid=new_sid("CA"),
        account_sid=store.account_sid,
        to=to,
        from_=sender,
        parent_call_sid=None,
        direction="outbound-api",
        phone_number_sid=phone_number_sid(sender),
        answered_by="human" if first(form, "MachineDetection") else None,
        forwarded_from=None,
        caller_name=None,
        group_sid=None,
        trunk_sid=None,
        final_status=None,
        created_us=now,
        updated_us=now,
        start_us=start,
        answer_us=answer,
        end_us=answer + talk,
        price=None,
        queue_time_ms=DIAL_AFTER_US // 1000,
        params={name: values if name in _EVENTS else values[0]
                for name, values in form.items() if name not in _SECRET_PARAMS},
    )
    CallStore(store).add_call(record)
    follow = getattr(request.app.state, "follow_call", None)
    if follow is not None:  # status callbacks, and the conversation its TwiML connects (sandbox.call_progress)
        follow(record)
    return JSONResponse(call_json(record, now), status_code=201)


# -- list -------------------------------------------------------------------------------------------------


async def list_calls(request: Request) -> Response:
    """GET .../Calls.json: filters To, From, ParentCallSid, Status, StartTime(<,>), EndTime(<,>); newest first; paged."""
    store = require_account(request)
    query = request.query_params
    page = PageRequest.from_query(query)
    status, parent = query.get("Status") or None, query.get("ParentCallSid") or None
    if status is not None and status not in CALL_STATUSES:
        raise invalid_parameter("Status", status, f"must be one of {', '.join(CALL_STATUSES)}")
    if parent is not None and not is_sid(parent, "CA"):
        raise invalid_parameter("ParentCallSid", parent, "is not a call SID")
    start_from, start_before = date_range(query, "StartTime")
    end_from, end_before = date_range(query, "EndTime")
    where = CallFilter(to=query.get("To") or None, from_=query.get("From") or None, parent_call_sid=parent,
                       status=status, start_from_us=start_from, start_before_us=start_before,
                       end_from_us=end_from, end_before_us=end_before)
    rows, has_more = CallStore(store).list_calls(where, page)
    now = store.now_us()
    return list_response(request, key="calls", filters=_LIST_FILTERS, page=page, rows=rows,
                         items=[call_json(row, now) for row in rows], has_more=has_more)


# -- one call ---------------------------------------------------------------------------------------------


async def fetch_call(request: Request) -> Response:
    """GET .../Calls/{Sid}.json"""
    store = require_account(request)
    record = CallStore(store).get_call(request.path_params["Sid"])
    if record is None:
        raise not_found(request.url.path)
    return JSONResponse(call_json(record, store.now_us()))


async def delete_call(request: Request) -> Response:
    """DELETE .../Calls/{Sid}.json: 204 with no body."""
    store = require_account(request)
    if not CallStore(store).delete_call(request.path_params["Sid"]):
        raise not_found(request.url.path)
    return Response(status_code=204)


async def _collection(request: Request) -> Response:
    return await (create_call(request) if request.method == "POST" else list_calls(request))


async def _instance(request: Request) -> Response:
    return await (fetch_call(request) if request.method == "GET" else delete_call(request))


ROUTES = [
    Route(f"{ACCOUNT_PREFIX}/Calls.json", _collection, methods=["GET", "POST"]),
    Route(f"{ACCOUNT_PREFIX}/Calls/{{Sid}}.json", _instance, methods=["GET", "DELETE"]),
]
