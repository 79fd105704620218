"""The `twilio media` concept: a media file (an image, say) of a message, as Twilio's Media resource."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from book.concept import Concept
from concepts.messaging import sid_check

MediaSid = Annotated[str, sid_check("ME", what="a media SID")]


class TwilioMedia(Concept):
    """Media data model.

    A piece of media, such as an image, sent or received with a message. Twilio keeps a copy of each
    media file of a message until the media (or the message) is deleted.
    """

    concept_name = "twilio media"

    sid: str
    """The unique string that identifies this Media resource."""
    content_type: str | None = None
    """The default MIME type of the media, for example image/jpeg, image/png, or image/gif."""
    message_sid: str | None = None
    """The SID of the Message resource that is associated with this Media resource."""
    account_sid: str | None = None
    """The SID of the Account associated with this Media resource."""
    date_created: datetime | None = None
    """The date and time in GMT when this Media resource was created."""
    date_updated: datetime | None = None
    """The date and time in GMT when this Media resource was last updated."""
    uri: str | None = None
    """The URI of this Media resource, relative to https://api.twilio.com."""
    url: str | None = None
    """The absolute URL of the media file itself (the URI without .json), which 'download a Twilio media file' fetches."""
