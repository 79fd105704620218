"""Value types with their checks, used by procedure inputs: checked before any request is sent."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_CHANNEL = re.compile(r"^(whatsapp|messenger|rcs):(.+)$", re.I)
MAX_BODY = 1600


def check_phone_number(value: str) -> str:
    """An E.164 number (+18004445555) or a channel address (whatsapp:+18004445555)."""
    value = value.strip()
    channel = _CHANNEL.match(value)
    number = channel.group(2) if channel else value
    if channel and channel.group(1).lower() == "whatsapp" and not _E164.match(number):
        raise ValueError(f"{value!r} is not a WhatsApp address; write it like whatsapp:+18004445555")
    if not channel and not _E164.match(number):
        compact = re.sub(r"[\s().\-]", "", value)
        hint = f"; did you mean {compact!r}?" if _E164.match(compact) else ""
        raise ValueError(
            f"{value!r} is not a phone number in E.164 format: a +, the country code and the number, "
            f"like +18004445555{hint}"
        )
    return value


def check_message_body(value: str) -> str:
    """Not empty, at most 1,600 characters (Twilio's limit)."""
    if not value.strip():
        raise ValueError("the message body is empty; write what the message should say")
    if len(value) > MAX_BODY:
        raise ValueError(f"the message body has {len(value)} characters; Twilio takes at most {MAX_BODY}")
    return value


PhoneNumber = Annotated[str, AfterValidator(check_phone_number)]
MessageBody = Annotated[str, AfterValidator(check_message_body)]
