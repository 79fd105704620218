"""What `watch` can follow in the Twilio book: the "Watch ..." triggers of the reference (messages, calls,
recordings, transcriptions, alerts), each with the fact an automation sees an item as, the filters
`twilio-book watch` takes and how their values are checked. Declared on the book's registry, so book/
itself never names a Twilio list.
"""

from __future__ import annotations

from book.watching.watch import Watchable
from concepts.types import check_phone_number
from procedures._book import BOOK


def _call_party(value: str) -> str:
    """A call's party: a phone number, or a client: or sip: address."""
    if value.strip().lower().startswith(("client:", "sip:")):
        return value
    try:
        return check_phone_number(value)
    except ValueError as err:
        raise ValueError(f"{err} (for calls, a client: or sip: address works too)") from None


_NUMBERS = {"from": check_phone_number, "to": check_phone_number}

WATCHABLES: tuple[Watchable, ...] = (
    # Twilio sorts its message list by the date sent, newest first (not sent yet: first).
    Watchable("messages", "read", "SMS messages", "message", order_field="date_sent",
              filters={"from": "sender_number", "to": "recipient_number"}, checks=_NUMBERS),
    Watchable("calls", "read", "phone calls", "call",
              filters={"from": "sender_number", "to": "recipient_number", "status": "status",
                       "parent-call-sid": "parent_call_sid"},
              checks={"from": _call_party, "to": _call_party}),
    Watchable("recordings", "read", "Twilio recordings", "recording",
              filters={"call-sid": "call_sid", "conference-sid": "conference_sid"}),
    Watchable("transcriptions", "read", "Twilio transcriptions", "transcription"),
    Watchable("alerts", "read", "Twilio alerts", "alert", filters={"log-level": "log_level"}),
)

BOOK.registry.watchables.extend(WATCHABLES)
