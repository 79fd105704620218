"""What Twilio posts to a webhook, as typed concepts: status events, inbound messages, inbound calls and
what a caller keyed in or said to a call's `<Gather>`.

Twilio's webhook parameters (`MessageSid`, `From`, `MediaUrl0`...) are mapped to the book's field
names at this boundary, as the SDK's names are for `twilio sms message`; every parameter Twilio sent
stays in `parameters`, so nothing it adds is lost. Values arrive as text: numbers are made numbers,
and an empty value is no value.

    event = InboundSmsMessage.from_webhook({"MessageSid": "SM...", "From": "+1...", "Body": "Hi", ...})
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, ClassVar

from pydantic import Field

from book.concept import Concept

__all__ = [
    "GatheredInput",
    "InboundCall",
    "InboundSmsMessage",
    "InboundWhatsappMessage",
    "MessageStatusEvent",
    "WebhookEvent",
    "call_event_from_webhook",
    "inbound_message_from_webhook",
]


def _now() -> datetime:
    return datetime.now(timezone.utc)


class WebhookEvent(Concept):
    """Something Twilio posted to one of the book's webhooks."""

    concept_name = "twilio webhook event"

    FORM: ClassVar[dict[str, str]] = {}
    """Twilio's parameter name -> the concept's field name."""

    account_sid: str
    """The SID of the Account the event belongs to."""
    parameters: dict[str, str] = Field(default_factory=dict)
    """Every parameter Twilio posted, under Twilio's own names (the first value of a repeated one)."""
    received_at: datetime = Field(default_factory=_now)
    """When the book received the event (UTC)."""

    @classmethod
    def from_webhook(cls, params: Mapping[str, Any]) -> WebhookEvent:
        """The event from a webhook's parameters (a value may be a list of values: the first is used)."""
        flat = {name: _first(value) for name, value in params.items()}
        values: dict[str, Any] = {field: flat[name] for name, field in cls.FORM.items() if flat.get(name) not in (None, "")}
        values.update(cls._extra_fields(flat))
        return cls(parameters=flat, **values)

    @classmethod
    def _extra_fields(cls, params: dict[str, str]) -> dict[str, Any]:
        """Fields that are not a plain renaming of one parameter."""
        return {}


def _first(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


class MessageStatusEvent(WebhookEvent):
    """New Message Status Event.

    Twilio posts one to a message's status callback URL each time the message's status changes: to
    queued, sent, delivered, undelivered, failed, read or canceled.
    """

    concept_name = "twilio message status event"

    FORM: ClassVar[dict[str, str]] = {
        "MessageSid": "sid",
        "MessageStatus": "status",
        "AccountSid": "account_sid",
        "From": "sender_number",
        "To": "recipient_number",
        "MessagingServiceSid": "messaging_service_sid",
        "ApiVersion": "api_version",
        "ErrorCode": "error_code",
        "ErrorMessage": "error_message",
    }

    sid: str
    """The SID of the message whose status changed."""
    status: str
    """The message's new status: queued, sent, delivered, undelivered, failed, read or canceled."""
    sender_number: str | None = None
    """The number or channel address the message is sent from."""
    recipient_number: str | None = None
    """The number or channel address the message is sent to."""
    messaging_service_sid: str | None = None
    """The SID of the Messaging Service that sent the message, if one did."""
    api_version: str | None = None
    """The version of Twilio's API that posted the event."""
    error_code: int | None = None
    """The error code when the status is failed or undelivered, otherwise no value."""
    error_message: str | None = None
    """What the error code means, when Twilio says."""


class _InboundMessage(WebhookEvent):
    """What inbound SMS and WhatsApp messages share."""

    FORM: ClassVar[dict[str, str]] = {
        "MessageSid": "sid",
        "AccountSid": "account_sid",
        "MessagingServiceSid": "messaging_service_sid",
        "From": "sender_number",
        "To": "recipient_number",
        "Body": "body",
        "NumMedia": "num_media",
        "NumSegments": "num_segments",
        "ApiVersion": "api_version",
    }

    sid: str
    """The unique SID Twilio gave the message."""
    sender_number: str
    """The number or channel address that sent the message."""
    recipient_number: str
    """The Twilio number or channel address that received the message."""
    body: str = ""
    """The text of the message."""
    num_media: int = 0
    """How many media files came with the message."""
    num_segments: int | None = None
    """How many segments the message arrived in."""
    media_urls: list[str] = Field(default_factory=list)
    """The URL of each media file, in order."""
    media_content_types: list[str] = Field(default_factory=list)
    """The content type of each media file, in order."""
    messaging_service_sid: str | None = None
    """The SID of the Messaging Service the receiving number belongs to, if any."""
    api_version: str | None = None
    """The version of Twilio's API that posted the message."""

    @classmethod
    def _extra_fields(cls, params: dict[str, str]) -> dict[str, Any]:
        count = int(params.get("NumMedia") or 0)
        return {
            "media_urls": [params[f"MediaUrl{i}"] for i in range(count) if params.get(f"MediaUrl{i}")],
            "media_content_types": [params[f"MediaContentType{i}"] for i in range(count)
                                    if params.get(f"MediaContentType{i}")],
        }


class InboundSmsMessage(_InboundMessage):
    """An inbound SMS message.

    Twilio posts one to a phone number's messaging webhook when someone sends the number an SMS or
    MMS message.
    """

    concept_name = "twilio inbound sms message"

    FORM: ClassVar[dict[str, str]] = {
        **_InboundMessage.FORM,
        "FromCity": "sender_city",
        "FromState": "sender_state",
        "FromZip": "sender_zip",
        "FromCountry": "sender_country",
        "ToCity": "recipient_city",
        "ToState": "recipient_state",
        "ToZip": "recipient_zip",
        "ToCountry": "recipient_country",
    }

    sender_city: str | None = None
    """The sender's city, when Twilio knows it."""
    sender_state: str | None = None
    """The sender's state or province, when Twilio knows it."""
    sender_zip: str | None = None
    """The sender's postal code, when Twilio knows it."""
    sender_country: str | None = None
    """The sender's country, when Twilio knows it."""
    recipient_city: str | None = None
    """The receiving number's city."""
    recipient_state: str | None = None
    """The receiving number's state or province."""
    recipient_zip: str | None = None
    """The receiving number's postal code."""
    recipient_country: str | None = None
    """The receiving number's country."""


class InboundWhatsappMessage(_InboundMessage):
    """A new WhatsApp message.

    Twilio posts one to a WhatsApp sender's webhook when someone writes to it; the addresses read
    like whatsapp:+18004445555.
    """

    concept_name = "twilio inbound whatsapp message"

    FORM: ClassVar[dict[str, str]] = {
        **_InboundMessage.FORM,
        "ProfileName": "profile_name",
        "WaId": "whatsapp_id",
        "MessageType": "message_type",
        "ButtonText": "button_text",
        "ButtonPayload": "button_payload",
        "Latitude": "latitude",
        "Longitude": "longitude",
    }

    profile_name: str | None = None
    """The sender's WhatsApp profile name."""
    whatsapp_id: str | None = None
    """The sender's WhatsApp ID (their number without the +)."""
    message_type: str | None = None
    """The kind of message: text, image, location, button, interactive..."""
    button_text: str | None = None
    """The text of the quick-reply button the sender pressed, if any."""
    button_payload: str | None = None
    """The payload of the quick-reply button the sender pressed, if any."""
    latitude: float | None = None
    """The latitude of a shared location."""
    longitude: float | None = None
    """The longitude of a shared location."""


class InboundCall(WebhookEvent):
    """An inbound voice call.

    Twilio posts one to a phone number's voice webhook when the number is called, and answers the
    call with the TwiML the webhook returns.
    """

    concept_name = "twilio inbound call"

    FORM: ClassVar[dict[str, str]] = {
        "CallSid": "sid",
        "AccountSid": "account_sid",
        "From": "sender_number",
        "To": "recipient_number",
        "Direction": "direction",
        "CallStatus": "status",
        "CallerName": "caller_name",
        "ForwardedFrom": "forwarded_from",
        "ApiVersion": "api_version",
    }

    sid: str
    """The unique SID Twilio gave the call."""
    sender_number: str
    """The number, SIP address or client identifier that is calling."""
    recipient_number: str
    """The Twilio number that was called."""
    direction: str = "inbound"
    """The call's direction: inbound for a call to a Twilio number."""
    status: str | None = None
    """The call's status when Twilio posted it: ringing, in-progress..."""
    caller_name: str | None = None
    """The caller's name, when caller-name lookup is on."""
    forwarded_from: str | None = None
    """The number the call was forwarded from, when the carrier says."""
    api_version: str | None = None
    """The version of Twilio's API that posted the call."""


class GatheredInput(WebhookEvent):
    """What a caller keyed in or said.

    Twilio posts it to a `<Gather>`'s action URL during a call, once the caller has pressed the keys
    (or said the words) the `<Gather>` asked for; it belongs to the call Twilio posted before, and
    is not a new call.
    """

    concept_name = "twilio gathered input"

    FORM: ClassVar[dict[str, str]] = {
        "CallSid": "sid",
        "AccountSid": "account_sid",
        "From": "sender_number",
        "To": "recipient_number",
        "Digits": "digits",
        "SpeechResult": "speech_result",
        "Confidence": "confidence",
        "FinishedOnKey": "finished_on_key",
        "CallStatus": "status",
        "Direction": "direction",
        "ApiVersion": "api_version",
    }

    sid: str
    """The SID of the call the input was gathered on."""
    sender_number: str
    """The number, SIP address or client identifier that is calling."""
    recipient_number: str
    """The Twilio number that was called."""
    digits: str | None = None
    """The keys the caller pressed (digits, * and #), without the key that finished the input."""
    speech_result: str | None = None
    """What the caller said, as text, when the call listened for speech."""
    confidence: float | None = None
    """How sure the speech recognition is of the speech result, from 0 to 1."""
    finished_on_key: str | None = None
    """The key that finished the input (# by default), when one did."""
    status: str | None = None
    """The call's status when Twilio posted the input: in-progress..."""
    direction: str = "inbound"
    """The call's direction: inbound for a call to a Twilio number."""
    api_version: str | None = None
    """The version of Twilio's API that posted the input."""


_GATHERED = ("Digits", "SpeechResult")
"""The parameters only a `<Gather>`'s action request carries."""


def call_event_from_webhook(params: Mapping[str, Any]) -> InboundCall | GatheredInput:
    """A call's webhook as the concept it is: gathered input when it carries Digits or SpeechResult.

    A `<Gather>` without an action URL posts to the URL whose TwiML held it: that request is the
    caller's input on a call already known, not a new call.
    """
    kind = GatheredInput if any(name in params for name in _GATHERED) else InboundCall
    return kind.from_webhook(params)  # type: ignore[return-value]


def inbound_message_from_webhook(params: Mapping[str, Any]) -> InboundSmsMessage | InboundWhatsappMessage:
    """An inbound message as the concept its channel calls for: WhatsApp when it came from a whatsapp: address."""
    sender = _first(params.get("From", ""))
    kind = InboundWhatsappMessage if sender.lower().startswith("whatsapp:") else InboundSmsMessage
    return kind.from_webhook(params)  # type: ignore[return-value]
