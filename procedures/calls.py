"""Phone calls: make one (every option of Twilio's "Create a Call"), read some (FILTER-CAPABLE, page-capable),
read one by SID, and delete one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from book.errors import InputError, NotFoundError
from book.filters import NO_PUSHDOWN, Pushdown
from book.naming import english
from concepts import TwilioCall
from concepts.calls import (
    ApplicationSid,
    CallerId,
    CallEvents,
    CallRecipient,
    CallSender,
    CallSid,
    HttpMethod,
    MachineDetection,
    MachineDetectionTimeout,
    Password,
    RecordingChannels,
    RecordingEvents,
    RingTimeout,
    SendDigits,
    SpeechEndThreshold,
    SpeechSilenceTimeout,
    SpeechThreshold,
    TimeLimit,
    Trim,
    Twiml,
    Url,
)
from procedures._book import procedure
from procedures._reading import day_range, fetch_one, page_size, skip
from procedures._sent import sent_calls, sids
from procedures._twilio import twilio_errors

if TYPE_CHECKING:
    from twilio.rest import Client

# What Twilio's Calls list can filter on: To, From, ParentCallSid, Status, and StartTime / EndTime
# (=, <=, >= by whole GMT days: widened to whole days here, applied exactly locally).
PUSHABLE = {
    "sid": {"eq"},
    "sender_number": {"eq"},
    "recipient_number": {"eq"},
    "parent_call_sid": {"eq"},
    "status": {"eq"},
    "start_time": {"eq", "gt", "ge", "lt", "le"},
    "end_time": {"eq", "gt", "ge", "lt", "le"},
}
_BY_DAY = ("start_time", "end_time")


def _number(text: str | None, kind: type) -> Any:
    return kind(text) if text not in (None, "") else None


def to_concept(call: Any) -> TwilioCall:
    """An SDK `CallInstance` as a `twilio call` (SDK names mapped, numeric strings made numbers)."""
    return TwilioCall(
        sid=call.sid,
        parent_call_sid=call.parent_call_sid,
        account_sid=call.account_sid,
        sender_number=call._from,
        formatted_sender_number=call.from_formatted,
        recipient_number=call.to,
        formatted_recipient_number=call.to_formatted,
        phone_number_sid=call.phone_number_sid,
        status=call.status,
        start_time=call.start_time,
        end_time=call.end_time,
        duration=_number(call.duration, int),
        price=_number(call.price, float),
        price_unit=call.price_unit or "",
        direction=call.direction,
        answered_by=call.answered_by,
        forwarded_from=call.forwarded_from,
        caller_name=call.caller_name,
        queue_time=_number(call.queue_time, int),
        group_sid=call.group_sid,
        trunk_sid=call.trunk_sid,
        date_created=call.date_created,
        date_updated=call.date_updated,
    )


CALL_PREPOSITIONS = {"to": "recipient_number", "from": "sender_number", "after": "start_time",
                     "before": "start_time", "on": "start_time", "made to": "recipient_number",
                     "made from": "sender_number", "made after": "start_time", "made before": "start_time",
                     "made on": "start_time"}


@procedure("to read some (*phone* calls)", pushable=PUSHABLE, prepositions=CALL_PREPOSITIONS)
def read_phone_calls(
    client: Client,
    pushed: Pushdown = NO_PUSHDOWN,
    offset: int = 0,
    limit: int | None = None,
) -> Iterator[TwilioCall]:
    """Get phone calls from the Twilio API.

    Filters on the sender number, the recipient number, the parent call SID, the status, the start
    time and the end time are sent to Twilio; any other field can be filtered too, and is checked as
    the calls stream in. Calls are read page by page, newest first, and reading stops as soon as
    enough have been found. A call whose SID is given is fetched directly.

    Output Concepts:
        twilio call: A list of phone calls that matches the specified filtering criteria

    Example 1:
        Retrieve the completed calls to a number

        >>> read some phone calls whose recipient number is "+18004446666" and whose status is "completed"

    Example 2:
        Retrieve the calls that started in the specified time period

        >>> the start date is "2022-03-01T15:00:00Z"
        ... the end date is "2022-03-05T00:00:00Z"
        ... read some phone calls whose start time is after the start date and whose start time is before the end date

    Example 3:
        Retrieve the calls that lasted at least a minute (a filter Twilio cannot apply, checked locally)

        >>> read some phone calls whose duration is at least 60

    Example 4:
        Retrieve one call by its SID

        >>> make a phone call where
        ...   the sender number is "+15005550006"
        ...   the recipient number is "+18004446666"
        ...   the url is "http://demo.twilio.com/docs/voice.xml"
        ... read a phone call whose sid is the twilio call's sid
    """
    params: dict[str, Any] = {}
    for field, param in (("recipient_number", "to"), ("sender_number", "from_"),
                         ("parent_call_sid", "parent_call_sid"), ("status", "status")):
        if (value := pushed.get(field)) is not None:
            params[param] = value
    for field in _BY_DAY:
        on, start, end = day_range(pushed, field)
        for name, day in ((field, on), (f"{field}_after", start), (f"{field}_before", end)):
            if day is not None:
                params[name] = day.isoformat()
    with twilio_errors("read phone calls"):
        if (sid := pushed.get("sid")) is not None:
            yield from fetch_one(lambda: client.calls(sid).fetch(), to_concept)
            return
        size = page_size(pushed, offset, limit, refined=any(c.field in _BY_DAY for c in pushed.conditions))
        for call in skip(client.calls.stream(page_size=size, **params), offset):
            yield to_concept(call)


@procedure("to delete a *phone* call")
def delete_phone_call(client: Client, call_sid: CallSid) -> str:
    """Delete a phone call's record from the Twilio account.

    Deleting removes the call from the account's call logs; it does not hang up a call in progress.

    Input Concepts:
        the call sid: The SID of the call to delete (CA followed by 32 hexadecimal digits)

    Output Concepts:
        answer: The SID of the deleted call.

    Example 1:
        Make a call, then delete its record

        >>> make a phone call where
        ...   the sender number is "+15005550006"
        ...   the recipient number is "+18004446666"
        ...   the url is "http://demo.twilio.com/docs/voice.xml"
        ... delete a phone call where
        ...   the call sid is the twilio call's sid
    """
    from twilio.base.exceptions import TwilioRestException

    with twilio_errors("delete the phone call", write=True):
        try:
            client.calls(call_sid).delete()
        except TwilioRestException as err:
            if err.status != 404:
                raise
            raise NotFoundError(f"there is no phone call {call_sid} to delete; check the call sid") from None
    return call_sid


# Inputs that only mean something beside another one (Twilio would silently ignore them otherwise).
_NEEDS = (
    ("method", "url"),
    ("fallback_url", "url"),
    ("fallback_method", "fallback_url"),
    ("status_callback_method", "status_callback_url"),
    ("status_callback_events", "status_callback_url"),
    ("trim", "record"),
    ("recording_channels", "record"),
    ("recording_status_callback_url", "record"),
    ("recording_status_callback_method", "recording_status_callback_url"),
    ("recording_status_callback_events", "recording_status_callback_url"),
    ("machine_detection_timeout", "machine_detection"),
    ("speech_threshold", "machine_detection"),
    ("speech_end_threshold", "machine_detection"),
    ("speech_silence_timeout", "machine_detection"),
    ("async_amd", "machine_detection"),
    ("async_amd_callback_url", "async_amd"),
    ("async_amd_callback_method", "async_amd_callback_url"),
    ("sip_auth_username", "sip_auth_password"),
    ("sip_auth_password", "sip_auth_username"),
)
_SOURCES = ("url", "twiml", "application_sid")
_BOOLEANS = {"record", "async_amd"}

# The book's input names -> the SDK's `calls.create` keywords, where they differ.
_SDK_NAMES = {
    "sender_number": "from_",
    "recipient_number": "to",
    "status_callback_url": "status_callback",
    "status_callback_events": "status_callback_event",
    "recording_status_callback_url": "recording_status_callback",
    "recording_status_callback_events": "recording_status_callback_event",
    "speech_threshold": "machine_detection_speech_threshold",
    "speech_end_threshold": "machine_detection_speech_end_threshold",
    "speech_silence_timeout": "machine_detection_silence_timeout",
    "async_amd_callback_url": "async_amd_status_callback",
    "async_amd_callback_method": "async_amd_status_callback_method",
}


def _given_name(name: str) -> str:
    return f"'the {english(name)} is yes'" if name in _BOOLEANS else f"the {english(name)}"


def check_call_inputs(given: dict[str, Any]) -> None:
    """Raise `InputError` for a combination Twilio would refuse or silently ignore; nothing is sent."""
    sources = [name for name in _SOURCES if name in given]
    if not sources:
        raise InputError("say what the call should do: give the url (of TwiML instructions), the twiml, "
                         "or the application sid; nothing was sent")
    if len(sources) > 1:
        named = " and ".join(f"the {english(name)}" for name in sources)
        raise InputError(f"give only one of the url, the twiml and the application sid, not {named}; nothing was sent")
    for name, needs in _NEEDS:
        if name in given and needs not in given:
            raise InputError(f"the {english(name)} needs {_given_name(needs)}; add it, or remove the "
                             f"{english(name)}; nothing was sent")
    if "application_sid" in given and "status_callback_url" in given:
        raise InputError("a call handled by an application uses the application's own status callback; "
                         "remove the status callback url; nothing was sent")
    if "send_digits" in given and "machine_detection" in given:
        raise InputError("Twilio ignores the machine detection when send digits are given; keep one of the two; "
                         "nothing was sent")
    recipient, sender = given["recipient_number"], given["sender_number"]
    if "sip_auth_username" in given and not recipient.lower().startswith("sip:"):
        raise InputError("the sip auth username and password are for calls to a SIP address (sip:name@example.com); "
                         "nothing was sent")
    if recipient.startswith("+") and sender.lower().startswith("client:"):
        raise InputError("a call to a phone number must come from a phone number, not a Client identifier; "
                         "nothing was sent")


def find_sent_call(client: Client, inputs: dict[str, Any], since: datetime,
                   exclude: list[TwilioCall]) -> list[TwilioCall]:
    """The calls an earlier attempt of this `make a phone call` placed (`procedures._sent`)."""
    found = sent_calls(client, to=inputs["recipient_number"], sender=inputs["sender_number"], since=since,
                       exclude=sids(exclude))
    return [to_concept(call) for call in found]


@procedure("to make a *phone* call", find_sent=find_sent_call,
           prepositions={"to": "recipient_number", "from": "sender_number"})
def make_phone_call(
    client: Client,
    sender_number: CallSender,
    recipient_number: CallRecipient,
    url: Url | None = None,
    method: HttpMethod | None = None,
    fallback_url: Url | None = None,
    fallback_method: HttpMethod | None = None,
    status_callback_url: Url | None = None,
    status_callback_method: HttpMethod | None = None,
    status_callback_events: CallEvents | None = None,
    twiml: Twiml | None = None,
    application_sid: ApplicationSid | None = None,
    send_digits: SendDigits | None = None,
    timeout: RingTimeout | None = None,
    time_limit: TimeLimit | None = None,
    caller_id: CallerId | None = None,
    sip_auth_username: str | None = None,
    sip_auth_password: Password | None = None,
    record: bool | None = None,
    trim: Trim | None = None,
    recording_channels: RecordingChannels | None = None,
    recording_status_callback_url: Url | None = None,
    recording_status_callback_method: HttpMethod | None = None,
    recording_status_callback_events: RecordingEvents | None = None,
    machine_detection: MachineDetection | None = None,
    machine_detection_timeout: MachineDetectionTimeout | None = None,
    speech_threshold: SpeechThreshold | None = None,
    speech_end_threshold: SpeechEndThreshold | None = None,
    speech_silence_timeout: SpeechSilenceTimeout | None = None,
    async_amd: bool | None = None,
    async_amd_callback_url: Url | None = None,
    async_amd_callback_method: HttpMethod | None = None,
) -> TwilioCall:
    """Make a phone call using the Twilio API.

    Calls a phone number, a SIP address or a Twilio Client identifier. What happens when the call
    connects comes from exactly one of: a URL that returns TwiML instructions, TwiML written here, or
    the SID of an Application. Every value is checked before the request is sent: the ranges below
    are Twilio's, and an option that would be ignored (a fallback method without a fallback url, a
    speech threshold without machine detection) is refused rather than dropped.

    Input Concepts:
        the sender number: The Twilio phone number (or Client identifier, client:name) to call from; a number must be
            a Twilio number or a verified caller ID of the account
        the recipient number: The phone number (E.164), SIP address (sip:name@example.com) or Client identifier
            (client:name) to call
        the url: The absolute URL that returns the TwiML instructions for the call
        the method: The HTTP method used to request the url: GET or POST (the default)
        the fallback url: The URL requested with the fallback method if an error occurs when requesting or executing
            the TwiML at the url
        the fallback method: The HTTP method used to request the fallback url: GET or POST (the default)
        the status callback url: The URL Twilio calls with status information about the call; without status callback
            events, only the completed status is sent
        the status callback method: The HTTP method used to call the status callback url: GET or POST (the default)
        the status callback events: The call progress events sent to the status callback url, separated by spaces or
            commas: initiated, ringing, answered, completed
        the twiml: TwiML instructions for the call, used instead of fetching them from a url (at most 4,000
            characters)
        the application sid: The SID of the Application resource that will handle the call (AP followed by 32
            hexadecimal digits)
        the send digits: Keys to dial after the call connects, at most 32: the digits 0-9, A-D, # and *, with w for a
            half-second pause and W for a one-second pause (ww1234#)
        the timeout: How many seconds to let the phone ring before assuming there is no answer: 1 to 600 (default 60)
        the time limit: The longest the call may last, in seconds: 1 to 86,400
        the caller id: The phone number, SIP address or Client identifier shown as the caller
        the sip auth username: The username used to authenticate the caller making a SIP call
        the sip auth password: The password for the sip auth username; it is sensitive and is never shown
        the record: Whether to record the call (yes or no; the default is no)
        the trim: Whether to trim leading and trailing silence from the recording: trim-silence (the default)
            or do-not-trim
        the recording channels: The channels of the recording: mono (both legs in one channel, the default) or dual
            (one leg per channel)
        the recording status callback url: The URL Twilio calls when the recording is available
        the recording status callback method: The HTTP method used to call the recording status callback url: GET or
            POST (the default)
        the recording status callback events: The recording status events that trigger the recording status callback,
            separated by spaces or commas: in-progress, completed, absent
        the machine detection: Whether to detect if a human, an answering machine or a fax picked up: Enable (answer
            as soon as it is known) or DetectMessageEnd (wait for the end of the greeting, to leave a message)
        the machine detection timeout: How many seconds to try to detect a machine before giving up with an unknown
            answer: 3 to 59 (default 30)
        the speech threshold: Milliseconds of speech that separate a human (shorter) from a machine (longer): 1,000 to
            6,000 (default 2,400)
        the speech end threshold: Milliseconds of silence after speech at which the speech is considered complete: 500
            to 5,000 (default 1,200)
        the speech silence timeout: Milliseconds of initial silence after which the answer is unknown: 2,000 to 10,000
            (default 5,000)
        the async amd: Whether to detect a machine in the background, without holding up the call (yes or no)
        the async amd callback url: The URL Twilio calls with whether a human, a machine or a fax answered
        the async amd callback method: The HTTP method used to call the async amd callback url: GET or POST (the
            default)

    Output Concepts:
        twilio call: The new call, as Twilio describes it when it is created (usually queued)

    Example 1:
        Make a call whose instructions come from a URL

        >>> make a phone call where
        ...   the sender number is "+15005550006"
        ...   the recipient number is "+18004446666"
        ...   the url is "http://demo.twilio.com/docs/voice.xml"

    Example 2:
        Make a call that says a message, with TwiML written in the automation

        >>> make a phone call where
        ...   the sender number is "+15005550006"
        ...   the recipient number is "+18004446666"
        ...   the twiml is "<Response><Say>Your order has shipped.</Say></Response>"

    Example 3:
        Make a recorded call that leaves a message on an answering machine, and report its progress

        >>> make a phone call where
        ...   the sender number is "+15005550006"
        ...   the recipient number is "+18004446666"
        ...   the url is "https://example.com/voicemail.xml"
        ...   the timeout is 30
        ...   the status callback url is "https://example.com/call-status"
        ...   the status callback events is "initiated ringing answered completed"
        ...   the record is yes
        ...   the recording channels is "dual"
        ...   the machine detection is "DetectMessageEnd"
        ...   the speech threshold is 2400

    Example 4:
        Call a SIP address that asks for authentication

        >>> make a phone call where
        ...   the sender number is "+15005550006"
        ...   the recipient number is "sip:alice@example.com"
        ...   the url is "https://example.com/voice.xml"
        ...   the sip auth username is "alice"
        ...   the sip auth password is "correct horse battery staple"
    """
    # Every input given (the parameters are the only locals so far); `no` is the same as leaving it out.
    given = {name: value for name, value in locals().items()
             if name != "client" and value is not None and value is not False}
    check_call_inputs(given)
    arguments: dict[str, Any] = {}
    for name, value in given.items():
        if name == "sip_auth_password":
            value = value.get_secret_value()
        elif name in _BOOLEANS:
            value = "true" if name == "async_amd" else True
        elif isinstance(value, tuple):
            value = list(value)
        arguments[_SDK_NAMES.get(name, name)] = value
    with twilio_errors("make the phone call", write=True):
        call = client.calls.create(**arguments)
    return to_concept(call)
