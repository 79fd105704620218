"""What Twilio checks and computes for an SMS: addresses, magic test numbers, segments, price."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from sandbox.api_errors import ApiError, bad_request

MAX_BODY = 1600
SMS_SEGMENT_PRICE = Decimal("-0.00790")
MMS_PRICE = Decimal("-0.02000")
PRICE_UNIT = "USD"

# GSM 03.38: the basic set costs one septet, the extension set two.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = set("^{}\\[~]|€\f")

# SmartEncoded=true replaces look-alike Unicode characters with GSM-7 ones.
_SMART = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-",
        "\u2026": "...", "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ",
        "\u02c6": "^", "\u02dc": "~", "\u2022": "-",
    }
)

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_SHORT_CODE = re.compile(r"^\d{3,8}$")
_ALPHANUMERIC_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_CHANNEL = re.compile(r"^(whatsapp|messenger|rcs|fbm|line|wechat|kakao):\S+$", re.IGNORECASE)

# https://www.twilio.com/docs/iam/test-credentials: magic inputs and the errors they trigger.
_MAGIC_FROM: dict[str, tuple[int, str]] = {
    "+15005550001": (21212, "The 'From' number {number} is not a valid phone number, shortcode, or alphanumeric sender ID."),
    "+15005550007": (21606, "The From phone number {number} is not a valid, SMS-capable inbound phone number or short code for your account."),
    "+15005550008": (21611, "This 'From' number has exceeded the maximum number of queued messages"),
}
_MAGIC_TO: dict[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number {number} is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number: {number}, is not currently reachable using the 'From' phone number: {sender} via SMS."),
    "+15005550003": (21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {number}."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}


def smart_encode(body: str) -> str:
    """What Twilio sends when SmartEncoded is true: curly quotes, dashes, ellipses made GSM-7."""
    return body.translate(_SMART)


def is_gsm7(body: str) -> bool:
    """Whether every character of `body` is in the GSM-7 alphabet (basic or extension)."""
    return all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in body)


def count_segments(body: str) -> int:
    """How many SMS segments `body` takes: GSM-7 160 single / 153 each, else UCS-2 70 / 67."""
    if is_gsm7(body):
        units = sum(2 if ch in _GSM_EXTENSION else 1 for ch in body)
        single, each = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, each = 70, 67
    if units <= single:
        return 1
    return math.ceil(units / each)


def price_for(num_segments: int, num_media: int) -> str:
    """Twilio-style price string for an outbound message, e.g. `-0.00790`."""
    amount = MMS_PRICE if num_media else SMS_SEGMENT_PRICE * num_segments
    return f"{amount.quantize(Decimal('0.00001'))}"


def is_valid_to(value: str) -> bool:
    """A recipient: E.164 number, a short code, or a channel address (`whatsapp:+1...`)."""
    return bool(_E164.match(value) or _SHORT_CODE.match(value) or _CHANNEL.match(value))


def is_valid_from(value: str) -> bool:
    """A sender: E.164 number, short code, alphanumeric sender ID, or a channel address."""
    return bool(
        _E164.match(value) or _SHORT_CODE.match(value) or _ALPHANUMERIC_ID.match(value) or _CHANNEL.match(value)
    )


def check_outbound(
    *, to: str | None, sender: str | None, messaging_service_sid: str | None, body: str | None,
    media_urls: list[str], content_sid: str | None,
) -> str:
    """Raise the `ApiError` Twilio would return for this Create Message request, if any; return `to`."""
    if not to:
        raise bad_request(21604, "A 'To' phone number is required.")
    if not sender and not messaging_service_sid:
        raise bad_request(21603, "A 'From' phone number is required.")
    if not body and not media_urls and not content_sid:
        raise bad_request(21602, "Message body is required.")
    if body is not None and len(body) > MAX_BODY:
        raise bad_request(21617, "The concatenated message body exceeds the 1600 character limit.")
    if sender:
        if sender in _MAGIC_FROM:
            raise _magic(_MAGIC_FROM[sender], sender, sender)
        if not is_valid_from(sender):
            raise bad_request(21212, _MAGIC_FROM["+15005550001"][1].format(number=sender))
    if to in _MAGIC_TO:
        raise _magic(_MAGIC_TO[to], to, sender or "")
    if not is_valid_to(to):
        raise bad_request(21211, _MAGIC_TO["+15005550001"][1].format(number=to))
    if sender and to == sender:
        raise bad_request(21266, "'To' and 'From' number cannot be the same")
    return to


def _magic(entry: tuple[int, str], number: str, sender: str) -> ApiError:
    code, template = entry
    return bad_request(code, template.format(number=number, sender=sender))
