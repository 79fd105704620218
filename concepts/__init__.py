"""The book's concepts: pydantic models of the things procedures read and return."""

from __future__ import annotations

from book.concept import Concept, type_words
from concepts.alerts import TwilioAlert
from concepts.api import TwilioApiResponse
from concepts.calls import TwilioCall
from concepts.events import InboundCall, InboundSmsMessage, InboundWhatsappMessage, MessageStatusEvent
from concepts.files import File
from concepts.media import TwilioMedia
from concepts.messages import TwilioSmsMessage
from concepts.recordings import AudioFormat, RecordingSid, TwilioRecording, TwilioTranscription
from concepts.types import MessageBody, PhoneNumber

__all__ = [
    "AudioFormat",
    "Concept",
    "File",
    "InboundCall",
    "InboundSmsMessage",
    "InboundWhatsappMessage",
    "MessageBody",
    "MessageStatusEvent",
    "PhoneNumber",
    "RecordingSid",
    "TwilioAlert",
    "TwilioApiResponse",
    "TwilioCall",
    "TwilioMedia",
    "TwilioRecording",
    "TwilioSmsMessage",
    "TwilioTranscription",
    "type_words",
]
