"""Messages beyond the reference's two SMS procedures: send with every option of "Create a Message",
send on WhatsApp, delete a message, and read and download the media of a message."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from book.errors import InputError
from book.files import DownloadFolder
from book.filters import NO_PUSHDOWN, Pushdown
from concepts import File, MessageBody, PhoneNumber, TwilioSmsMessage
from concepts.calls import ApplicationSid
from concepts.media import MediaSid, TwilioMedia
from concepts.messaging import (
    ContentSid,
    ContentVariables,
    MaxPrice,
    MediaUrls,
    MessageSid,
    MessagingServiceSid,
    StatusCallback,
    ValidityPeriod,
    WhatsAppAddress,
)
from procedures._book import procedure
from procedures._download import destination, download
from procedures._sent import media_count, sent_messages, sids
from procedures._twilio import twilio_errors
from procedures.messages import SEND_PREPOSITIONS, SYNONYMS, to_concept

if TYPE_CHECKING:
    from twilio.rest import Client

API_HOST = "https://api.twilio.com"
SCHEDULE_FROM = timedelta(minutes=15)
SCHEDULE_UNTIL = timedelta(days=35)
NOTHING_SENT = "; nothing was sent"


def find_sent_message(client: Client, inputs: dict[str, Any], since: datetime,
                      exclude: list[TwilioSmsMessage]) -> list[TwilioSmsMessage]:
    """The messages an earlier attempt of this `send a Twilio message` (or WhatsApp message) made."""
    found = sent_messages(client, to=inputs["recipient_number"], sender=inputs.get("sender_number"),
                          service=inputs.get("messaging_service_sid"), body=inputs.get("message_body"),
                          media=media_count(inputs.get("media_urls")), since=since, exclude=sids(exclude))
    return [to_concept(message) for message in found]


@procedure("to send a *Twilio* message", find_sent=find_sent_message, prepositions=SEND_PREPOSITIONS,
           paced_by="sender_number")
def send_twilio_message(
    client: Client,
    recipient_number: PhoneNumber,
    sender_number: PhoneNumber | None = None,
    message_body: MessageBody | None = None,
    media_urls: MediaUrls | None = None,
    messaging_service_sid: MessagingServiceSid | None = None,
    status_callback: StatusCallback | None = None,
    application_sid: ApplicationSid | None = None,
    validity_period: ValidityPeriod | None = None,
    max_price: MaxPrice | None = None,
    provide_feedback: bool | None = None,
    smart_encoded: bool | None = None,
    send_time: datetime | None = None,
) -> TwilioSmsMessage:
    """Send a message (SMS, MMS or a channel message) with any option of Twilio's "Create a Message".

    Give the sender number, or a Messaging Service SID and Twilio picks the sender from the service's
    pool; give a message body, media URLs, or both. Every value is checked before anything is sent: a
    value written in the automation when it compiles, a value from a fact when its line runs.

    To schedule the message, give the send time (a date and time, in GMT unless it says otherwise) and a
    Messaging Service: Twilio sends it at that time, 15 minutes to 35 days from now, and it is
    `scheduled` until then.

    Input Concepts:
        the recipient number: The destination phone number in E.164 format for SMS/MMS, or a channel address (e.g. whatsapp:+15552229999)
        the sender number: A Twilio phone number in E.164 format, or a channel address, enabled for this kind of message. Leave it out to let the Messaging Service pick one
        the message body: The text of the message, at most 1,600 characters. Can be left out when media URLs are given
        the media urls: The URLs of the media to send (gif, png and jpeg are formatted for the device; 5 MB in all). Up to 10, in one text separated by commas, like "https://example.com/a.png, https://example.com/b.jpg"
        the messaging service sid: The SID of the Messaging Service to send with (MG and 32 hex digits); then the sender number may be left out
        the status callback: The URL Twilio POSTs the message's status changes to (queued, failed, sent, delivered, undelivered)
        the application sid: The SID of the TwiML application (AP and 32 hex digits) whose message status callback gets the status
        the validity period: How long, in seconds, the message may wait in Twilio's queue before it fails: 1 to 14,400 (the default). At least 5 is recommended
        the max price: The most, in US dollars with up to 4 decimal places, you will pay for the message; Twilio fails it if it costs more (Twilio has marked this option obsolete)
        the provide feedback: Whether you will confirm the message's delivery with the Message Feedback API (default no)
        the smart encoded: Whether to replace Unicode characters that have a GSM-7 look-alike, so the message takes fewer segments
        the send time: When Twilio should send the message (schedule type "fixed"): 15 minutes to 35 days from now, and only with a Messaging Service

    Output Concepts:
        twilio sms message: The message Twilio accepted: its SID, status (queued, accepted or scheduled), number of media and more

    Example 1:
        Send a picture with a caption

        >>> send a Twilio message where
        ...   the sender number is "+18004445555"
        ...   the recipient number is "+18004446666"
        ...   the message body is "Here is the map"
        ...   the media urls are "https://example.com/map.png"

    Example 2:
        Send through a Messaging Service, with a status callback and a validity period

        >>> send a Twilio message where
        ...   the messaging service sid is "MG9752274e9e519418a7406176694466fa"
        ...   the recipient number is "+18004446666"
        ...   the message body is "Your table is ready"
        ...   the status callback is "https://example.com/message-status"
        ...   the validity period is 600
    """
    if sender_number is None and messaging_service_sid is None:
        raise InputError("a message needs a sender: give the sender number, or the messaging service sid "
                         "to let the service pick one" + NOTHING_SENT)
    if message_body is None and media_urls is None:
        raise InputError("a message needs something to send: give the message body, the media urls, or both"
                         + NOTHING_SENT)
    options: dict[str, Any] = {
        "from_": sender_number,
        "body": message_body,
        "media_url": media_urls,
        "messaging_service_sid": messaging_service_sid,
        "status_callback": status_callback,
        "application_sid": application_sid,
        "validity_period": validity_period,
        "max_price": max_price,
        "provide_feedback": provide_feedback,
        "smart_encoded": smart_encoded,
    }
    if send_time is not None:
        options["send_at"] = _scheduled(send_time, messaging_service_sid, datetime.now(timezone.utc))
        options["schedule_type"] = "fixed"
    return _create(client, recipient_number, options, "send the message")


def _scheduled(send_time: date | datetime, service: str | None, now: datetime) -> datetime:
    """The send time in UTC, after checking Twilio can schedule it; InputError otherwise."""
    if not isinstance(send_time, datetime):
        raise InputError(f"the send time {send_time.isoformat()} is a day; give the time too, like "
                         f"{send_time.isoformat()}T09:00:00Z" + NOTHING_SENT)
    when = (send_time if send_time.tzinfo else send_time.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    if service is None:
        raise InputError("Twilio schedules only messages sent with a Messaging Service: give the messaging service "
                         "sid too" + NOTHING_SENT)
    if not SCHEDULE_FROM <= when - now <= SCHEDULE_UNTIL:
        raise InputError(f"the send time {when:%Y-%m-%dT%H:%M:%SZ} is {_from_now(when - now)}; Twilio schedules a "
                         "message from 15 minutes to 35 days ahead" + NOTHING_SENT)
    return when


def _from_now(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    amount = f"{minutes // 1440} days" if minutes >= 2880 else f"{minutes} minutes"
    return f"{amount} from now" if delta.total_seconds() >= 0 else f"{amount} ago"


def _create(client: Client, to: str, options: dict[str, Any], doing: str) -> TwilioSmsMessage:
    """Create the message with the options that were given (None means not given)."""
    given = {name: value for name, value in options.items() if value is not None}
    with twilio_errors(doing, write=True):
        message = client.messages.create(to=to, **given)
    return to_concept(message)


@procedure("to send a *WhatsApp* message", find_sent=find_sent_message, prepositions=SEND_PREPOSITIONS,
           paced_by="sender_number")
def send_whatsapp_message(
    client: Client,
    sender_number: WhatsAppAddress,
    recipient_number: WhatsAppAddress,
    message_body: MessageBody | None = None,
    content_sid: ContentSid | None = None,
    content_variables: ContentVariables | None = None,
) -> TwilioSmsMessage:
    r"""Send a WhatsApp message: a plain text, or a content template with its variables.

    The sender and the recipient are WhatsApp addresses, `whatsapp:` and a number in E.164 format; a
    number alone is taken as its WhatsApp address. Give either the message body or the content SID of
    a template (outside WhatsApp's 24-hour session window only approved templates are delivered),
    with the values of its variables as a JSON object.

    Input Concepts:
        the sender number: The sender's Twilio WhatsApp address, like whatsapp:+14155238886
        the recipient number: The recipient's WhatsApp address, like whatsapp:+15552229999
        the message body: The text content of the message, at most 1,600 characters (leave it out with a content sid)
        the content sid: The SID of the content template to send (HX and 32 hex digits) instead of a body
        the content variables: The template's variables and their values as a JSON object, like {"1": "12/1", "2": "3pm"}

    Output Concepts:
        twilio sms message: The message Twilio accepted, with its SID and status

    Example 1:
        Send a plain WhatsApp message

        >>> send a WhatsApp message where
        ...   the sender number is "whatsapp:+14155238886"
        ...   the recipient number is "+18004446666"
        ...   the message body is "Your appointment is coming up on July 21 at 3PM"

    Example 2:
        Send an approved template with its variables

        >>> send a WhatsApp message where
        ...   the sender number is "whatsapp:+14155238886"
        ...   the recipient number is "whatsapp:+18004446666"
        ...   the content sid is "HXb5b62575e6e4ff6129ad7c8efe1f983e"
        ...   the content variables are "{\"1\": \"12/1\", \"2\": \"3pm\"}"
    """
    if (message_body is None) == (content_sid is None):
        raise InputError("a WhatsApp message takes either the message body or the content sid of a template, "
                         f"{'not both' if message_body is not None else 'and neither was given'}" + NOTHING_SENT)
    if content_variables is not None and content_sid is None:
        raise InputError("the content variables fill in a template: give its content sid too" + NOTHING_SENT)
    options = {
        "from_": sender_number,
        "body": message_body,
        "content_sid": content_sid,
        "content_variables": content_variables,
    }
    return _create(client, recipient_number, options, "send the WhatsApp message")


@procedure("to delete an *SMS* message", synonyms=SYNONYMS)
def delete_sms_message(client: Client, message_sid: MessageSid) -> str:
    """Delete a message, and its media, from the account.

    Input Concepts:
        the message sid: The SID of the message to delete (SM or MM and 32 hex digits)

    Output Concepts:
        answer: The SID of the deleted message.

    Example 1:
        Send a message, then delete it

        >>> send an SMS message where
        ...   the sender number is "+18004445555"
        ...   the recipient number is "+18004446666"
        ...   the message body is "This one will be deleted"
        ... delete an SMS message where
        ...   the message sid is the answer
    """
    with twilio_errors(f"delete the message {message_sid}", write=True):
        client.messages(message_sid).delete()
    return message_sid


MEDIA_PUSHABLE = {"sid": {"eq"}}
"""What the media list is asked for: a SID is fetched; the rest (a message has at most 10) is filtered here."""


@procedure("to read some (*Twilio* media files)", pushable=MEDIA_PUSHABLE)
def read_media_files(
    client: Client,
    message_sid: MessageSid,
    pushed: Pushdown = NO_PUSHDOWN,
) -> Iterator[TwilioMedia]:
    """Get the media files (images and other media) of a message.

    A message has at most 10 media files, which Twilio lists in one page: a filter on the SID fetches
    that one media file, and any other filter is checked as they stream in.

    Input Concepts:
        the message sid: The SID of the message whose media to read (SM or MM and 32 hex digits)

    Output Concepts:
        twilio media: The media of the message that match the filtering criteria

    Example 1:
        Send a picture and a menu, then read back the picture

        >>> send a Twilio message where
        ...   the sender number is "+18004445555"
        ...   the recipient number is "+18004446666"
        ...   the media urls are "https://example.com/map.png, https://example.com/menu.jpg"
        ... read some Twilio media files whose content type is "image/png" where
        ...   the message sid is the twilio message's sid
    """
    sid = pushed.get("sid")
    with twilio_errors(f"read the media of the message {message_sid}"):
        if sid is not None:
            yield from _fetch_media(client, message_sid, sid)
            return
        for media in client.messages(message_sid).media.stream():
            yield to_media(media)


def _fetch_media(client: Client, message_sid: str, sid: str) -> Iterator[TwilioMedia]:
    from twilio.base.exceptions import TwilioRestException

    try:
        media = client.messages(message_sid).media(sid).fetch()
    except TwilioRestException as err:
        if err.status == 404:
            return
        raise
    yield to_media(media)


def to_media(media: Any) -> TwilioMedia:
    """An SDK `MediaInstance` as a `twilio media` (parent_sid named message_sid; the file's own URL added)."""
    return TwilioMedia(
        sid=media.sid,
        content_type=media.content_type,
        message_sid=media.parent_sid,
        account_sid=media.account_sid,
        date_created=media.date_created,
        date_updated=media.date_updated,
        uri=media.uri,
        url=API_HOST + media.uri.removesuffix(".json") if media.uri else None,
    )


@procedure("to download a *Twilio* media file")
def download_media_file(
    client: Client,
    downloads: DownloadFolder,
    message_sid: MessageSid,
    media_sid: MediaSid,
    path: str,
    overwrite: bool = False,
) -> File:
    """Download a media file of a message (an image, say) to this computer.

    The file goes under the downloads folder (a relative path is taken inside it; one that leads out
    of it is refused), and a path that names a folder gets the file `<media sid>.<extension of its
    type>` inside it (ME....png). The file is written only once it is complete, and an existing file
    is replaced only when the overwrite is true.

    Input Concepts:
        the message sid: The SID of the message the media belongs to (SM or MM and 32 hex digits)
        the media sid: The SID of the media file to download (ME and 32 hex digits)
        the path: Where to write the file, in the downloads folder: a file name, or a folder to put it in
        the overwrite: Whether to replace a file that is already at the path (default false)

    Output Concepts:
        file: The downloaded file: its path, its size in bytes and its content type

    Example 1:
        Send a picture, then download it

        >>> send a Twilio message where
        ...   the sender number is "+18004445555"
        ...   the recipient number is "+18004446666"
        ...   the media urls are "https://example.com/map.png"
        ... read a Twilio media file where
        ...   the message sid is the twilio message's sid
        ... download a Twilio media file where
        ...   the message sid is the twilio message's sid
        ...   the media sid is the twilio media file's sid
        ...   the path is "map.png"
        ...   the overwrite is true
    """
    name = media_sid
    if downloads.path(path).is_dir():  # name the file by its type, which only Twilio knows
        with twilio_errors(f"read the media file {media_sid}"):
            media = client.messages(message_sid).media(media_sid).fetch()
        name += mimetypes.guess_extension(media.content_type or "") or ""
    target = destination(downloads, path, name, overwrite=overwrite)
    uri = f"/2010-04-01/Accounts/{client.account_sid}/Messages/{message_sid}/Media/{media_sid}"
    return download(client, uri, target, overwrite=overwrite, what=f"the media file {media_sid}")
