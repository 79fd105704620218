"""A call that talks: the call as its conversation sees it, what the caller said in one turn, and how a call that
was waited for ended (reference 003's "Make Outbound Call": its SID, final status, duration and direction).

ConversationRelay (`<Connect><ConversationRelay>`) opens a WebSocket to the book and sends it a `setup` message
for the call, then a `prompt` for each thing the caller says and a `dtmf` for each key they press
(https://www.twilio.com/docs/voice/conversationrelay/websocket-messages); these are their concepts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from book.concept import Concept
from concepts.calls import between

__all__ = ["CallOutcomeStatus", "CallerTurn", "LiveCall", "MaxDuration", "TranscriptLine", "TwilioCallOutcome"]


class LiveCall(Concept):
    """A call in progress, as its conversation sees it.

    What ConversationRelay's `setup` message says of the call when the conversation starts: who called whom,
    and the session's SID.
    """

    concept_name = "twilio live call"

    sid: str
    """The SID of the call (CA followed by 32 hexadecimal digits)."""
    session_sid: str | None = None
    """The SID of the ConversationRelay session (VX...)."""
    account_sid: str | None = None
    """The SID of the Account the call belongs to."""
    sender_number: str | None = None
    """Who is calling (Twilio's `from`): a phone number in E.164, a SIP address or a Client identifier."""
    recipient_number: str | None = None
    """Who is called (Twilio's `to`)."""
    direction: str | None = None
    """The call's direction: inbound, or outbound-api for a call the book placed."""
    caller_name: str | None = None
    """The caller's name, when caller-name lookup is on."""
    forwarded_from: str | None = None
    """The number the call was forwarded from, when the carrier says."""
    parameters: dict[str, str] = Field(default_factory=dict)
    """The custom parameters of the `<ConversationRelay>` (its `<Parameter>` nouns)."""

    @classmethod
    def from_setup(cls, message: dict[str, Any]) -> LiveCall:
        """The call from ConversationRelay's `setup` message (Twilio's names mapped to the book's)."""
        return cls(sid=str(message.get("callSid") or ""), session_sid=message.get("sessionId") or None,
                   account_sid=message.get("accountSid") or None, sender_number=message.get("from") or None,
                   recipient_number=message.get("to") or None, direction=message.get("direction") or None,
                   caller_name=message.get("callerName") or None, forwarded_from=message.get("forwardedFrom") or None,
                   parameters={str(k): str(v) for k, v in (message.get("customParameters") or {}).items()})


class CallerTurn(Concept):
    """What the caller said, or the key they pressed, in one turn of a conversation.

    A turn is one `prompt` (the caller's words, as text) or one `dtmf` (a key) of ConversationRelay.
    """

    concept_name = "twilio caller turn"

    words: str | None = None
    """What the caller said, as text (no value when they pressed a key)."""
    digits: str | None = None
    """The key the caller pressed: a digit, * or # (no value when they spoke)."""
    language: str | None = None
    """The language their words were recognised in (en-US...)."""
    turn: int = 1
    """Which turn of the conversation this is, from 1."""


class TranscriptLine(Concept):
    """One line of a call's conversation: who said it, and what."""

    concept_name = "twilio transcript line"

    speaker: Literal["caller", "book"]
    """Who said it: the caller (the person on the phone), or the book (a `say` line)."""
    text: str
    """What was said (for a key pressed: the key)."""


CallOutcomeStatus = Literal["completed", "failed", "busy", "no-answer", "canceled", "timeout"]
MaxDuration = Annotated[int, between(1, 240, "minutes")]


class TwilioCallOutcome(Concept):
    """How a call the book placed and waited for ended.

    Its SID, its final status (completed, failed, busy, no-answer, canceled; or timeout when it had not ended
    within the max duration), how long it lasted and its direction; and, for a call with a conversation block,
    what was said.
    """

    concept_name = "twilio call outcome"

    sid: str
    """The unique string that Twilio created to identify the call."""
    status: CallOutcomeStatus
    """The call's final status: completed, failed, busy, no-answer or canceled; timeout when it had not ended within
    the max duration (it may still be going on)."""
    duration: int | None = None
    """How long the call lasted, in seconds (from when it was answered; no value if it never was)."""
    direction: str = "outbound-api"
    """The call's direction: outbound-api for a call placed through the API."""
    sender_number: str | None = None
    """The number the call came from."""
    recipient_number: str | None = None
    """The number that was called."""
    transcript: list[TranscriptLine] = Field(default_factory=list)
    """What was said, in order, when the call had a conversation block."""
