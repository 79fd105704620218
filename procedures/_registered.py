"""Importing this module registers every procedure of the Twilio book on `BOOK`."""

from __future__ import annotations

from concepts.conversations import CallerTurn, LiveCall
from concepts.events import GatheredInput, InboundCall, InboundSmsMessage, InboundWhatsappMessage, MessageStatusEvent
from procedures import (
    _watching,  # noqa: F401  (declares what 'watch' can follow)
    alerts,  # noqa: F401  (registers the alert procedures)
    api_call,  # noqa: F401  (registers making an API call)
    calls,  # noqa: F401  (registers the phone call procedures)
    calls_live,  # noqa: F401  (registers placing a call that waits, and talks)
    messages,  # noqa: F401  (registers the SMS procedures)
    messaging,  # noqa: F401  (registers sending with options, WhatsApp, deleting, media)
    recordings,  # noqa: F401  (registers the recording and transcription procedures)
)
from procedures._book import BOOK

# What the webhooks hand on ('twilio-book listen'): part of the book's vocabulary and its reference.
for _event in (MessageStatusEvent, InboundSmsMessage, InboundWhatsappMessage, InboundCall, GatheredInput):
    BOOK.concept(_event)

# `answer each inbound call as follows`: the conversations `listen --run` answers (ConversationRelay).
BOOK.conversation("inbound calls", facts={"call": LiveCall}, turn={"caller": CallerTurn},
                  runs_in="twilio-book listen --run FILE",
                  description="each call to a number the listener answers, turn by turn, while it lasts")

__all__ = ["BOOK"]
