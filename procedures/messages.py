"""SMS messages: read (FILTER-CAPABLE, page-capable) and send."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from book.filters import NO_PUSHDOWN, Pushdown
from concepts import MessageBody, PhoneNumber, TwilioSmsMessage
from procedures._book import procedure
from procedures._reading import day_range, fetch_one, page_size, skip
from procedures._sent import sent_messages, sids
from procedures._twilio import twilio_errors

if TYPE_CHECKING:
    from twilio.rest import Client

# What Twilio's Messages list can filter on: To, From, and DateSent (=, <=, >= by whole GMT days).
PUSHABLE = {
    "sid": {"eq"},
    "sender_number": {"eq"},
    "recipient_number": {"eq"},
    "date_sent": {"eq", "gt", "ge", "lt", "le"},
}


def to_concept(message: Any) -> TwilioSmsMessage:
    """An SDK `MessageInstance` as a `twilio sms message` (SDK names mapped, strings made numbers)."""
    return TwilioSmsMessage(
        sid=message.sid,
        body=message.body,
        num_segments=message.num_segments,
        sender_number=message.from_,
        recipient_number=message.to,
        price=float(message.price) if message.price not in (None, "") else None,
        account_sid=message.account_sid,
        num_media=int(message.num_media or 0),
        status=message.status,
        messaging_service_sid=message.messaging_service_sid or "",
        date_sent=message.date_sent,
        date_created=message.date_created,
        date_updated=message.date_updated,
        price_unit=message.price_unit or "",
        error_code=message.error_code,
        error_message=message.error_message,
    )


# Other nouns for messages, and what a one-line call's prepositions bind (`send a text to "+1..." saying "Hi"`).
SYNONYMS = ("texts", "text messages", "SMS")
READ_PREPOSITIONS = {
    "to": "recipient_number", "sent to": "recipient_number",
    "from": "sender_number", "sent from": "sender_number",
    "after": "date_sent", "sent after": "date_sent",
    "before": "date_sent", "sent before": "date_sent",
    "on": "date_sent", "sent on": "date_sent",
}
SEND_PREPOSITIONS = {"to": "recipient_number", "from": "sender_number", "saying": "message_body"}


@procedure("to read some (*SMS* messages)", pushable=PUSHABLE, synonyms=SYNONYMS, prepositions=READ_PREPOSITIONS)
def read_sms_messages(
    client: Client,
    pushed: Pushdown = NO_PUSHDOWN,
    offset: int = 0,
    limit: int | None = None,
) -> Iterator[TwilioSmsMessage]:
    """Get SMS messages from the Twilio API.

    Filters on the sender number, the recipient number and the date sent are sent to Twilio; any
    other field can be filtered too, and is checked as the messages stream in. Messages are read page
    by page, newest first, and reading stops as soon as enough have been found.

    Output Concepts:
        twilio sms message: A list of SMS messages that matches the specified filtering criteria

    Example 1:
        Retrieve SMS messages filtered by sender and recipient numbers

        >>> read some SMS messages whose sender number is "+18004445555" and whose recipient number is "+18004446666"

    Example 2:
        Retrieve SMS messages filtered by the date in which they were sent

        >>> read some SMS messages whose date sent is 2022-03-01

    Example 3:
        Retrieve SMS messages that were sent in the specified time period

        >>> the start date is "2022-03-01T15:00:00Z"
        ... the end date is "2022-03-05T00:00:00Z"
        ... read some SMS messages whose date sent is after the start date and whose date sent is before the end date
    """
    sid = pushed.get("sid")
    with twilio_errors("read SMS messages"):
        if sid is not None:
            yield from fetch_one(client.messages(sid).fetch, to_concept)
            return
        params: dict[str, Any] = {}
        if (to := pushed.get("recipient_number")) is not None:
            params["to"] = to
        if (sender := pushed.get("sender_number")) is not None:
            params["from_"] = sender
        # Whole GMT days, as Twilio takes them (as YYYY-MM-DD text: the SDK would send a date as midnight).
        on, start, end = day_range(pushed, "date_sent")
        for param, day in (("date_sent", on), ("date_sent_after", start), ("date_sent_before", end)):
            if day is not None:
                params[param] = day.isoformat()
        refined = any(c.field == "date_sent" for c in pushed.conditions)
        size = page_size(pushed, offset, limit, refined=refined)
        yield from skip((to_concept(m) for m in client.messages.stream(page_size=size, **params)), offset)


def find_sent_sms(client: Client, inputs: dict[str, Any], since: datetime, exclude: list[str]) -> list[str]:
    """The SIDs of the messages an earlier attempt of this `send an SMS message` made (`procedures._sent`)."""
    found = sent_messages(client, to=inputs["recipient_number"], sender=inputs["sender_number"], service=None,
                          body=inputs["message_body"], media=0, since=since, exclude=sids(exclude))
    return [message.sid for message in found]


@procedure("to send an *SMS* message", find_sent=find_sent_sms, synonyms=SYNONYMS,
           prepositions=SEND_PREPOSITIONS,
           paced_by="sender_number")
def send_sms_message(
    client: Client,
    sender_number: PhoneNumber,
    recipient_number: PhoneNumber,
    message_body: MessageBody,
) -> str:
    """Send an SMS message using the Twilio API.

    Input Concepts:
        the sender number: The Twilio phone number to send the message from
        the recipient number: The recipient's phone number
        the message body: The body of the SMS message to send

    Output Concepts:
        answer: The SID of the sent message if successful, otherwise None.

    Example 1:
        Send an SMS message

        >>> send an SMS message where
        ...   the sender number is "+18004445555"
        ...   the recipient number is "+18004446666"
        ...   the message body is "Hello!"
    """
    with twilio_errors("send the SMS message", write=True):
        message = client.messages.create(from_=sender_number, to=recipient_number, body=message_body)
    return message.sid
