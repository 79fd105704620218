"""Value types of sending a message and naming one: each checks its value before any request is sent.

A literal in an automation is checked when the automation compiles; a value held in a fact when its
line runs. Ranges come from reference 004 ("Create a Message") and Twilio's OpenAPI description.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator

from concepts.calls import Url, between

MAX_MEDIA = 10
MAX_VALIDITY_PERIOD = 14_400
MAX_PRICE_PLACES = 4

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_WHATSAPP = re.compile(r"^whatsapp:(.*)$", re.I)
_OTHER_CHANNEL = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.I)
# Several URLs are separated by white space, or by a comma that comes right before the next URL's
# scheme, so a comma inside a URL (`?size=1,2`) stays where it is.
_URL_SEPARATOR = re.compile(r"\s*,\s*(?=[a-z][a-z0-9+.\-]*://)|\s+", re.I)


def sid_check(*prefixes: str, what: str) -> AfterValidator:
    """A check that a text is a Twilio SID with one of `prefixes` (two capitals and 32 hex digits)."""
    pattern = re.compile(rf"^({'|'.join(prefixes)})[0-9a-fA-F]{{32}}$")
    shapes = " or ".join(prefixes)

    def check(value: str) -> str:
        value = value.strip()
        if not pattern.match(value):
            raise ValueError(
                f"{value!r} is not {what}: that is {shapes} and 32 hexadecimal digits, like {prefixes[0]}{'0' * 32}"
            )
        return value

    return AfterValidator(check)


def split_media_urls(value: Any) -> Any:
    """One URL, or several in one text separated by commas or spaces, as a list; a list stays a list."""
    if isinstance(value, str):
        return [url for url in _URL_SEPARATOR.split(value.strip()) if url]
    if isinstance(value, tuple):
        return list(value)
    return value


def check_media_urls(urls: list[str]) -> list[str]:
    """One to ten absolute http or https URLs."""
    if not urls:
        raise ValueError("there is no media URL in it; write one like https://example.com/photo.jpg")
    if len(urls) > MAX_MEDIA:
        raise ValueError(f"it holds {len(urls)} media URLs; Twilio takes at most {MAX_MEDIA} per message")
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{url!r} is not a media URL Twilio can fetch; write an absolute http or https URL like "
                "https://example.com/photo.jpg, and separate several with commas"
            )
    return urls


def check_max_price(value: float) -> float:
    """More than zero US dollars, with at most four decimal places."""
    if not math.isfinite(value) or value <= 0:
        raise ValueError("the max price is in US dollars and must be more than 0, like 0.05")
    if -Decimal(str(value)).as_tuple().exponent > MAX_PRICE_PLACES:  # type: ignore[operator]
        raise ValueError(f"the max price can have at most {MAX_PRICE_PLACES} decimal places, like 0.0075")
    return value


def check_whatsapp_address(value: str) -> str:
    """`whatsapp:` and an E.164 number; a bare E.164 number gets the prefix."""
    value = value.strip()
    match = _WHATSAPP.match(value)
    if match is None and _OTHER_CHANNEL.match(value):
        raise ValueError(f"{value!r} is not a WhatsApp address; write it like whatsapp:+14155238886")
    number = match.group(1).strip() if match else value
    if not _E164.match(number):
        compact = re.sub(r"[\s().\-]", "", number)
        hint = f"; did you mean 'whatsapp:{compact}'?" if _E164.match(compact) else ""
        raise ValueError(
            f"{value!r} is not a WhatsApp address: write whatsapp: and the number in E.164 format (a +, the "
            f"country code and the number), like whatsapp:+14155238886, or the number alone{hint}"
        )
    return f"whatsapp:{number}"


def check_content_variables(value: str) -> str:
    """A JSON object of the template's variables and their values (text or numbers), as compact JSON."""
    example = 'like {"1": "12/1", "2": "3pm"}'
    try:
        variables = json.loads(value)
    except ValueError as err:
        raise ValueError(f"the content variables are not JSON ({err}); write an object {example}") from None
    if not isinstance(variables, dict):
        raise ValueError(f"the content variables must be a JSON object of names and values, {example}")
    for name, item in variables.items():
        if isinstance(item, bool) or not isinstance(item, (str, int, float)) or item == "":
            raise ValueError(
                f"the content variable {name!r} is {json.dumps(item)}; each value must be a text or a number "
                "that is not empty"
            )
    return json.dumps({name: str(item) for name, item in variables.items()}, ensure_ascii=False)


MessageSid = Annotated[str, sid_check("SM", "MM", what="a message SID")]
MessagingServiceSid = Annotated[str, sid_check("MG", what="a Messaging Service SID")]
ContentSid = Annotated[str, sid_check("HX", what="a content template SID")]
MediaUrls = Annotated[list[str], BeforeValidator(split_media_urls), AfterValidator(check_media_urls)]
StatusCallback = Url
ValidityPeriod = Annotated[int, between(1, MAX_VALIDITY_PERIOD, "seconds")]
MaxPrice = Annotated[float, AfterValidator(check_max_price)]
WhatsAppAddress = Annotated[str, AfterValidator(check_whatsapp_address)]
ContentVariables = Annotated[str, AfterValidator(check_content_variables)]
