"""The `twilio recording` and `twilio transcription` concepts, and the checked inputs of a download.

Fields, names and descriptions follow Twilio's OpenAPI description of the Recording and
Transcription resources (api.v2010.account.recording, api.v2010.account.transcription).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator

from book.concept import Concept

_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


class TwilioRecording(Concept):
    """Recording data model.

    A recording of a call or a conference: the audio Twilio stored, and how long it is, where it came
    from and what it cost. Its media can be downloaded as WAV or MP3.
    """

    concept_name = "twilio recording"

    sid: str | None = None
    """The unique string that that we created to identify the Recording resource."""
    account_sid: str | None = None
    """The SID of the Account that created the Recording resource."""
    call_sid: str | None = None
    """The SID of the Call the Recording resource is associated with. This will always refer to the parent leg of a two-leg call."""
    conference_sid: str | None = None
    """The Conference SID that identifies the conference associated with the recording, if a conference recording."""
    duration: int | None = None
    """The length of the recording in seconds."""
    channels: int | None = None
    """The number of channels in the recording resource."""
    source: str | None = None
    """How the recording was created. Can be: DialVerb, Conference, OutboundAPI, Trunking, RecordVerb, StartCallRecordingAPI, and StartConferenceRecordingAPI."""
    status: str | None = None
    """The status of the recording. Can be: processing, completed, absent or deleted (in-progress, paused and stopped while it is being made)."""
    price: float | None = None
    """The one-time cost of creating the recording in the price_unit currency."""
    price_unit: str | None = None
    """The currency used in the price property. Example: USD."""
    error_code: int | None = None
    """The error code that describes why the recording is absent. This value is null if the recording status is not absent."""
    start_time: datetime | None = None
    """The start time of the recording in GMT and in RFC 2822 format."""
    date_created: datetime | None = None
    """The date and time in GMT that the resource was created specified in RFC 2822 format."""
    date_updated: datetime | None = None
    """The date and time in GMT that the resource was last updated specified in RFC 2822 format."""
    media_url: str | None = None
    """The URL of the media file associated with this recording resource. When stored externally, this is the full URL location of the media file."""
    api_version: str | None = None
    """The API version used during the recording."""


class TwilioTranscription(Concept):
    """Transcription data model.

    The text Twilio transcribed from a recording. The transcription text itself is the result of
    converting an audio recording to readable text.
    """

    concept_name = "twilio transcription"

    sid: str | None = None
    """The unique string that that we created to identify the Transcription resource."""
    account_sid: str | None = None
    """The SID of the Account that created the Transcription resource."""
    recording_sid: str | None = None
    """The SID of the Recording from which the transcription was created."""
    transcription_text: str | None = None
    """The text content of the transcription."""
    status: str | None = None
    """The status of the transcription. Can be: in-progress, completed, failed."""
    duration: int | None = None
    """The duration of the transcribed audio in seconds."""
    price: float | None = None
    """The charge for the transcript in the currency associated with the account. This value is populated after the transcript is complete so it may not be available immediately."""
    price_unit: str | None = None
    """The currency in which price is measured, in ISO 4127 format (e.g. usd, eur, jpy)."""
    type: str | None = None
    """The transcription type. Can only be: fast."""
    date_created: datetime | None = None
    """The date and time in GMT that the resource was created specified in RFC 2822 format."""
    date_updated: datetime | None = None
    """The date and time in GMT that the resource was last updated specified in RFC 2822 format."""
    api_version: str | None = None
    """The API version used to create the transcription."""


def sid_problem(value: str, prefix: str, what: str) -> str | None:
    """Why `value` is not a SID of `what` (two letters `prefix` and 32 hex digits), or None if it is one."""
    if _SID.match(value) and value.startswith(prefix):
        return None
    return f"{value!r} is not a {what} SID: those are {prefix} followed by 32 hexadecimal digits"


def check_recording_sid(value: str) -> str:
    """A recording SID: RE and 32 hexadecimal digits."""
    value = value.strip()
    problem = sid_problem(value, "RE", "recording")
    if problem:
        raise ValueError(problem)
    return value


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


RecordingSid = Annotated[str, AfterValidator(check_recording_sid)]
AudioFormat = Annotated[Literal["wav", "mp3"], BeforeValidator(_lower)]
