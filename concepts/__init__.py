"""The book's concepts: pydantic models of the things procedures read and return."""

from __future__ import annotations

from concepts.base import Concept, type_words
from concepts.messages import TwilioSmsMessage
from concepts.types import MessageBody, PhoneNumber

__all__ = ["Concept", "MessageBody", "PhoneNumber", "TwilioSmsMessage", "type_words"]
