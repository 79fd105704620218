"""What `watch` can follow in the Twilio book: the "Watch ..." triggers of the reference (messages, calls,
recordings, transcriptions, alerts), each with the fact an automation sees an item as and the filters
`twilio-book watch` takes. Declared on the book's registry, so book/ itself never names a Twilio list.
"""

from __future__ import annotations

from book.triggers.watch import Watchable
from procedures._book import BOOK

WATCHABLES: tuple[Watchable, ...] = (
    # Twilio sorts its message list by the date sent, newest first (not sent yet: first).
    Watchable("messages", "read", "SMS messages", "message", order_field="date_sent",
              filters={"from": "sender_number", "to": "recipient_number"}),
    Watchable("calls", "read", "phone calls", "call",
              filters={"from": "sender_number", "to": "recipient_number", "status": "status",
                       "parent-call-sid": "parent_call_sid"}),
    Watchable("recordings", "read", "Twilio recordings", "recording",
              filters={"call-sid": "call_sid", "conference-sid": "conference_sid"}),
    Watchable("transcriptions", "read", "Twilio transcriptions", "transcription"),
    Watchable("alerts", "read", "Twilio alerts", "alert", filters={"log-level": "log_level"}),
)

BOOK.registry.watchables.extend(WATCHABLES)
