"""Importing this module registers every procedure of the Twilio book on `BOOK`."""

from __future__ import annotations

from concepts.events import GatheredInput, InboundCall, InboundSmsMessage, InboundWhatsappMessage, MessageStatusEvent
from procedures import alerts  # noqa: F401  (registers the alert procedures)
from procedures import api_call  # noqa: F401  (registers making an API call)
from procedures import calls  # noqa: F401  (registers the phone call procedures)
from procedures import messages  # noqa: F401  (registers the SMS procedures)
from procedures import messaging  # noqa: F401  (registers sending with options, WhatsApp, deleting, media)
from procedures import recordings  # noqa: F401  (registers the recording and transcription procedures)
from procedures import _watching  # noqa: F401  (declares what 'watch' can follow)
from procedures._book import BOOK

# What the webhooks hand on ('twilio-book listen'): part of the book's vocabulary and its reference.
for _event in (MessageStatusEvent, InboundSmsMessage, InboundWhatsappMessage, InboundCall, GatheredInput):
    BOOK.concept(_event)

__all__ = ["BOOK"]
