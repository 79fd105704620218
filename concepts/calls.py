"""The `twilio call` concept, and the checked value types of the inputs of making a call.

Field names follow the `twilio sms message` concept where the two meet: Twilio's `from` and `to` are
`sender_number` and `recipient_number` (for a call either may also be a SIP address or a Client
identifier, as Twilio's own `from`/`to` may). Every input type checks its value before any request is
sent, so a literal that is out of range fails when the automation is compiled.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, SecretStr

from book.concept import Concept
from concepts.types import check_phone_number

CallStatus = Literal["queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"]


class TwilioCall(Concept):
    """Phone call data model.

    A voice call made or received through Twilio: who called whom, how it went (its status, when it
    started and ended, how long it lasted) and what it cost.
    """

    concept_name = "twilio call"

    sid: str | None = None
    """The unique string that Twilio created to identify this Call resource."""
    parent_call_sid: str | None = None
    """The SID that identifies the call that created this leg."""
    account_sid: str | None = None
    """The SID of the Account that created this Call resource."""
    sender_number: str | None = None
    """The phone number, SIP address, Client identifier or SIM SID that made this call (Twilio's `from`). Phone numbers are in E.164 format (e.g., +16175551212). SIP addresses are formatted as name@company.com. Client identifiers are formatted client:name."""
    formatted_sender_number: str | None = None
    """The calling phone number, SIP address, or Client identifier formatted for display. Non-North American phone numbers are in E.164 format (e.g., +442071838750)."""
    recipient_number: str | None = None
    """The phone number, SIP address, Client identifier or SIM SID that received this call (Twilio's `to`). Phone numbers are in E.164 format (e.g., +16175551212). SIP addresses are formatted as name@company.com. Client identifiers are formatted client:name."""
    formatted_recipient_number: str | None = None
    """The phone number, SIP address or Client identifier that received this call, formatted for display. Non-North American phone numbers are in E.164 format (e.g., +442071838750)."""
    phone_number_sid: str | None = None
    """If the call was inbound, the SID of the IncomingPhoneNumber resource that received the call. If the call was outbound, the SID of the OutgoingCallerId resource from which the call was placed."""
    status: CallStatus | None = None
    """The status of this call. Can be: queued, ringing, in-progress, canceled, completed, failed, busy or no-answer."""
    start_time: datetime | None = None
    """The start time of the call, in UTC. Empty if the call has not yet been dialed."""
    end_time: datetime | None = None
    """The time the call ended, in UTC. Empty if the call did not complete successfully."""
    duration: int | None = None
    """The length of the call in seconds. This value is empty for busy, failed, unanswered, or ongoing calls."""
    price: float | None = None
    """The charge for this call, in the currency associated with the account. Populated after the call is completed. May not be immediately available. The price only reflects the charge for connectivity."""
    price_unit: str = ""
    """The currency in which price is measured, in ISO 4127 format (e.g., USD, EUR, JPY). Always capitalized for calls."""
    direction: str | None = None
    """A string describing the direction of the call. Can be: inbound for inbound calls, outbound-api for calls initiated via the REST API or outbound-dial for calls initiated by a <Dial> verb; with Elastic SIP Trunking, trunking-terminating or trunking-originating."""
    answered_by: str | None = None
    """Either human or machine if this call was initiated with answering machine detection. Empty otherwise."""
    forwarded_from: str | None = None
    """The forwarding phone number if this call was an incoming call forwarded from another number (depends on carrier supporting forwarding). Otherwise, empty."""
    caller_name: str | None = None
    """The caller's name if this call was an incoming call to a phone number with caller ID Lookup enabled. Otherwise, empty."""
    queue_time: int | None = None
    """The wait time in milliseconds before the call is placed."""
    group_sid: str | None = None
    """The Group SID associated with this call. If no Group is associated with the call, the field is empty."""
    trunk_sid: str | None = None
    """The unique identifier of the trunk resource that was used for this call. Empty if the call was not made using a SIP trunk or if the call is not terminated."""
    date_created: datetime | None = None
    """The date and time in UTC that this resource was created."""
    date_updated: datetime | None = None
    """The date and time in UTC that this resource was last updated."""


# -- the inputs of making a call: each type checks its value -----------------------------------------

_SID_HEX = r"[0-9a-fA-F]{32}"
_SIP = re.compile(r"^sip:[^@\s]+@[^@\s]+$", re.I)
_CLIENT = re.compile(r"^client:[A-Za-z0-9_.\-]+$", re.I)
_SIP_ADDRESS = re.compile(r"^[^@\s:]+@[^@\s]+$")
_DIGITS = re.compile(r"^[0-9A-D#*wW]*$")
MAX_DIGITS = 32
MAX_TWIML = 4000


def _sid_check(prefix: str, what: str) -> AfterValidator:
    pattern = re.compile(rf"^{prefix}{_SID_HEX}$")

    def check(value: str) -> str:
        value = value.strip()
        if not pattern.match(value):
            raise ValueError(f"{what} is {prefix} followed by 32 hexadecimal digits, like {prefix}{'0' * 8}{'a' * 24}")
        return value

    return AfterValidator(check)


def check_recipient(value: str) -> str:
    """A phone number in E.164 format, a SIP address (sip:name@example.com) or a Client identifier (client:name)."""
    value = value.strip()
    if _SIP.match(value) or _CLIENT.match(value):
        return value
    if re.match(r"^[a-z]+:", value, re.I):
        raise ValueError(f"{value!r} is not something a call can reach; write a phone number like +18004445555, "
                         "a SIP address like sip:alice@example.com or a Client identifier like client:alice")
    return check_phone_number(value)


def check_caller(value: str) -> str:
    """A phone number in E.164 format or a Client identifier (client:name): who the call comes from."""
    value = value.strip()
    if _CLIENT.match(value):
        return value
    if re.match(r"^[a-z]+:", value, re.I):
        raise ValueError(f"{value!r} can't make a call; write a Twilio phone number like +18004445555 "
                         "or a Client identifier like client:alice")
    return check_phone_number(value)


def check_caller_id(value: str) -> str:
    """A phone number in E.164 format, a SIP address (name@company.com or sip:...) or a Client identifier."""
    value = value.strip()
    if _SIP_ADDRESS.match(value):
        return value
    return check_recipient(value)


def check_url(value: str) -> str:
    """An absolute http or https URL with a host name (no underscores in it, as Twilio requires)."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an absolute URL; write it like https://example.com/voice.xml")
    if "_" in parts.hostname:
        raise ValueError(f"the host name {parts.hostname!r} has an underscore, which Twilio does not accept")
    return value


def check_twiml(value: str) -> str:
    """Not empty, at most 4,000 characters (Twilio's limit)."""
    if not value.strip():
        raise ValueError("the TwiML is empty; write the instructions, like <Response><Say>Hello</Say></Response>")
    if len(value) > MAX_TWIML:
        raise ValueError(f"the TwiML has {len(value)} characters; Twilio takes at most {MAX_TWIML}")
    return value


def check_send_digits(value: str) -> str:
    """At most 32 keys: 0-9, A-D, # and *, with w (half a second) and W (a second) for pauses."""
    if len(value) > MAX_DIGITS:
        raise ValueError(f"it has {len(value)} keys; Twilio takes at most {MAX_DIGITS}")
    if not _DIGITS.match(value):
        bad = sorted({ch for ch in value if not _DIGITS.match(ch)})
        raise ValueError(f"{''.join(bad)!r} can't be dialed; use the digits 0-9, A-D, # and *, "
                         "and w or W to pause (half a second, one second)")
    return value


def between(low: int, high: int, unit: str) -> AfterValidator:
    """A check that a whole number lies in `[low, high]`, saying the range in the error."""

    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"it must be between {low:,} and {high:,} {unit}")
        return value

    return AfterValidator(check)


def _one_of(*choices: str) -> BeforeValidator:
    """Accept a choice in any case, as Twilio spells it (`post` -> `POST`, `enable` -> `Enable`)."""
    spelled = {choice.lower(): choice for choice in choices}

    def normalise(value: Any) -> Any:
        return spelled.get(value.strip().lower(), value) if isinstance(value, str) else value

    return BeforeValidator(normalise)


def _events(*choices: str) -> BeforeValidator:
    """Events given as text, separated by spaces or commas (`"ringing, answered"`), as a tuple."""

    def split(value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in re.split(r"[\s,]+", value.strip().lower()) if part]
        if isinstance(value, (list, tuple)):
            unknown = [v for v in value if v not in choices]
            if unknown:
                raise ValueError(f"{', '.join(map(str, unknown))} is not an event; choose from {', '.join(choices)}")
            if not value:
                raise ValueError(f"name at least one event: {', '.join(choices)}")
            return tuple(dict.fromkeys(value))
        return value

    return BeforeValidator(split)


def _text_secret(value: Any) -> Any:
    # A number written without quotes is still a password; never echo it back in an error.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


CallRecipient = Annotated[str, AfterValidator(check_recipient)]
CallSender = Annotated[str, AfterValidator(check_caller)]
CallerId = Annotated[str, AfterValidator(check_caller_id)]
Url = Annotated[str, AfterValidator(check_url)]
Twiml = Annotated[str, AfterValidator(check_twiml)]
ApplicationSid = Annotated[str, _sid_check("AP", "an application SID")]
CallSid = Annotated[str, _sid_check("CA", "a call SID")]
SendDigits = Annotated[str, AfterValidator(check_send_digits)]
HttpMethod = Annotated[Literal["GET", "POST"], _one_of("GET", "POST")]
Trim = Annotated[Literal["trim-silence", "do-not-trim"], _one_of("trim-silence", "do-not-trim")]
RecordingChannels = Annotated[Literal["mono", "dual"], _one_of("mono", "dual")]
MachineDetection = Annotated[Literal["Enable", "DetectMessageEnd"], _one_of("Enable", "DetectMessageEnd")]
CallEvents = Annotated[tuple[str, ...], _events("initiated", "ringing", "answered", "completed")]
RecordingEvents = Annotated[tuple[str, ...], _events("in-progress", "completed", "absent")]
RingTimeout = Annotated[int, between(1, 600, "seconds")]
TimeLimit = Annotated[int, between(1, 86_400, "seconds")]
MachineDetectionTimeout = Annotated[int, between(3, 59, "seconds")]
SpeechThreshold = Annotated[int, between(1000, 6000, "milliseconds")]
SpeechEndThreshold = Annotated[int, between(500, 5000, "milliseconds")]
SpeechSilenceTimeout = Annotated[int, between(2000, 10_000, "milliseconds")]
Password = Annotated[SecretStr, BeforeValidator(_text_secret)]
