"""The `twilio sms message` concept, with the fields, names and types of the book's reference."""

from __future__ import annotations

from datetime import datetime

from book.concept import Concept


class TwilioSmsMessage(Concept):
    """SMS message data model.

    An SMS (Short Message Service) message. Represents a text communication sent over a cellular
    network, typically between mobile phones.
    """

    concept_name = "twilio sms message"

    sid: str | None = None
    """The unique, Twilio-provided string that identifies the Message resource."""
    body: str | None = None
    """The text content of the message"""
    num_segments: str | None = None
    """The number of segments that make up the complete message. SMS message bodies that exceed the character limit are segmented and charged as multiple messages. Note: For messages sent via a Messaging Service, num_segments is initially 0, since a sender hasn't yet been assigned"""
    sender_number: str | None = None
    """The sender's phone number (in E.164 format), alphanumeric sender ID, Wireless SIM, short code, or channel address (e.g., whatsapp:+15554449999). For incoming messages, this is the number or channel address of the sender. For outgoing messages, this value is a Twilio phone number, alphanumeric sender ID, short code, or channel address from which the message is sent"""
    recipient_number: str | None = None
    """The recipient's phone number (in E.164 format) or channel address (e.g. whatsapp:+15552229999)"""
    price: float | None = None
    """The amount billed for the message in the currency specified by price_unit. The price is populated after the message has been sent/received, and may not be immediately available. View the Pricing page for more details."""
    account_sid: str
    """The SID of the Account associated with the Message resource"""
    num_media: int = 0
    """The number of media files associated with the Message resource."""
    status: str | None = None
    """The status of the message, for more information about possible statuses see Message Status"""
    messaging_service_sid: str = ""
    """The SID of the Messaging Service associated with the Message resource. A unique default value is assigned if a Messaging Service is not used."""
    date_sent: datetime | None = None
    """The RFC 2822 timestamp (in GMT) of when the Message was sent. For an outgoing message, this is when Twilio sent the message. For an incoming message, this is when Twilio sent the HTTP request to your incoming message webhook URL."""
    date_created: datetime | None = None
    """The RFC 2822 timestamp (in GMT) of when the Message resource was created"""
    date_updated: datetime | None = None
    """The RFC 2822 timestamp (in GMT) of when the Message resource was last updated"""
    price_unit: str = ""
    """The currency in which price is measured, in ISO 4127 format (e.g. usd, eur, jpy)."""
    error_code: int | None = None
    """The error code returned if the Message status is failed or undelivered. If no error was encountered, the value is null."""
    error_message: str | None = None
    """The description of the error_code if the Message status is failed or undelivered. If no error was encountered, the value is null."""
