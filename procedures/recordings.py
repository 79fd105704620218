"""Recordings and their transcriptions: read (FILTER-CAPABLE, page-capable), download the audio."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from book.errors import InputError
from book.files import DownloadFolder
from book.filters import NO_PUSHDOWN, Pushdown
from concepts import AudioFormat, File, RecordingSid, TwilioRecording, TwilioTranscription
from concepts.recordings import sid_problem
from procedures._book import procedure
from procedures._download import destination, download
from procedures._reading import day_range, fetch_one, page_size, skip
from procedures._twilio import twilio_errors

if TYPE_CHECKING:
    from twilio.rest import Client

# What Twilio's Recordings list can filter on: CallSid, ConferenceSid, DateCreated (=, <=, >= by whole GMT days).
PUSHABLE = {
    "sid": {"eq"},
    "call_sid": {"eq"},
    "conference_sid": {"eq"},
    "date_created": {"eq", "gt", "ge", "lt", "le"},
}
# A recording's transcriptions have their own list; the account's list takes no filter.
TRANSCRIPTION_PUSHABLE = {"sid": {"eq"}, "recording_sid": {"eq"}}


def _number(value: Any, kind: type) -> Any:
    return kind(value) if value not in (None, "") else None


def to_concept(recording: Any) -> TwilioRecording:
    """An SDK `RecordingInstance` as a `twilio recording` (durations and prices made numbers)."""
    return TwilioRecording(
        sid=recording.sid,
        account_sid=recording.account_sid,
        call_sid=recording.call_sid,
        conference_sid=recording.conference_sid,
        duration=_number(recording.duration, int),
        channels=_number(recording.channels, int),
        source=recording.source,
        status=recording.status,
        price=_number(recording.price, float),
        price_unit=recording.price_unit,
        error_code=_number(recording.error_code, int),
        start_time=recording.start_time,
        date_created=recording.date_created,
        date_updated=recording.date_updated,
        media_url=recording.media_url,
        api_version=recording.api_version,
    )


def transcription_concept(transcription: Any) -> TwilioTranscription:
    """An SDK `TranscriptionInstance` (of the account or of a recording) as a `twilio transcription`."""
    return TwilioTranscription(
        sid=transcription.sid,
        account_sid=transcription.account_sid,
        recording_sid=transcription.recording_sid,
        transcription_text=transcription.transcription_text,
        status=transcription.status,
        duration=_number(transcription.duration, int),
        price=_number(transcription.price, float),
        price_unit=transcription.price_unit,
        type=transcription.type,
        date_created=transcription.date_created,
        date_updated=transcription.date_updated,
        api_version=transcription.api_version,
    )


def _checked_sid(value: Any, prefix: str, what: str) -> str:
    problem = sid_problem(str(value), prefix, what)
    if problem:
        raise InputError(f"{problem}; nothing was sent")
    return str(value)


@procedure("to read some (*Twilio* recordings)", pushable=PUSHABLE)
def read_twilio_recordings(
    client: Client,
    pushed: Pushdown = NO_PUSHDOWN,
    offset: int = 0,
    limit: int | None = None,
) -> Iterator[TwilioRecording]:
    """Get recordings of calls and conferences from the Twilio API.

    Filters on the call SID, the conference SID and the date created (by whole GMT days) are sent to
    Twilio; any other field can be filtered too, and is checked as the recordings stream in.
    Recordings are read page by page, newest first, and reading stops as soon as enough have been
    found. A filter on the SID alone fetches that one recording.

    Output Concepts:
        twilio recording: A list of recordings that match the specified filtering criteria

    Example 1:
        Retrieve the recordings of a call

        >>> read some Twilio recordings whose call sid is "CA5ef8732a3c49700934481addd5ce1659"

    Example 2:
        Retrieve the recordings made on a day that lasted at least a minute

        >>> read some Twilio recordings whose date created is 2022-03-01 and whose duration is at least 60

    Example 3:
        Retrieve one recording by its SID

        >>> read a Twilio recording whose sid is "RE557ce644e5ab84fa21cc21112e22c485"
    """
    params: dict[str, Any] = {}
    if (call_sid := pushed.get("call_sid")) is not None:
        params["call_sid"] = _checked_sid(call_sid, "CA", "call")
    if (conference_sid := pushed.get("conference_sid")) is not None:
        params["conference_sid"] = _checked_sid(conference_sid, "CF", "conference")
    on, start, end = day_range(pushed, "date_created")
    for name, day in (("date_created", on), ("date_created_after", start), ("date_created_before", end)):
        if day is not None:
            params[name] = day.isoformat()
    with twilio_errors("read recordings"):
        if (sid := pushed.get("sid")) is not None:
            yield from fetch_one(lambda: client.recordings(sid).fetch(), to_concept)
            return
        size = page_size(pushed, offset, limit, refined=any(c.field == "date_created" for c in pushed.conditions))
        for recording in skip(client.recordings.stream(page_size=size, **params), offset):
            yield to_concept(recording)


@procedure("to read some (*Twilio* transcriptions)", pushable=TRANSCRIPTION_PUSHABLE)
def read_twilio_transcriptions(
    client: Client,
    pushed: Pushdown = NO_PUSHDOWN,
    offset: int = 0,
    limit: int | None = None,
) -> Iterator[TwilioTranscription]:
    """Get transcriptions (the text of recordings) from the Twilio API.

    A filter on the recording SID reads that recording's transcriptions; without one, every
    transcription of the account is read, newest first. Any field can be filtered, and is checked as
    the transcriptions stream in. A filter on the SID alone fetches that one transcription.

    Output Concepts:
        twilio transcription: A list of transcriptions that match the specified filtering criteria

    Example 1:
        Retrieve the transcriptions generated from a recording

        >>> read some Twilio transcriptions whose recording sid is "RE557ce644e5ab84fa21cc21112e22c485"

    Example 2:
        Retrieve the account's completed transcriptions that mention an order

        >>> read some Twilio transcriptions whose status is "completed" and whose transcription text contains "order"
    """
    recording_sid = pushed.get("recording_sid")
    if recording_sid is not None:
        recording_sid = _checked_sid(recording_sid, "RE", "recording")
    with twilio_errors("read transcriptions"):
        if (sid := pushed.get("sid")) is not None:
            yield from fetch_one(lambda: client.transcriptions(sid).fetch(), transcription_concept)
            return
        size = page_size(pushed, offset, limit, refined=False)
        if recording_sid is None:
            stream = client.transcriptions.stream(page_size=size)
        else:
            stream = _missing_is_empty(lambda: client.recordings(recording_sid).transcriptions.stream(page_size=size))
        for transcription in skip(stream, offset):
            yield transcription_concept(transcription)


def _missing_is_empty(stream: Any) -> Iterator[Any]:
    """A subresource list whose parent does not exist (HTTP 404) lists nothing."""
    from twilio.base.exceptions import TwilioException

    try:
        yield from stream()
    except TwilioException as err:  # a failed page: TwilioException("Unable to fetch page", response)
        response = err.args[1] if len(err.args) > 1 else None
        if getattr(err, "status", None) != 404 and getattr(response, "status_code", None) != 404:
            raise


@procedure("to download a *Twilio* recording")
def download_twilio_recording(
    client: Client,
    downloads: DownloadFolder,
    recording_sid: RecordingSid,
    path: str,
    format: AudioFormat | None = None,
    overwrite: bool = False,
) -> File:
    """Download a recording's media file to this computer, as WAV or MP3.

    A WAV file (audio/x-wav) is uncompressed, at 128 kbps; an MP3 file (audio/mpeg) is compressed, at
    32 kbps. Without a format, a path ending in .mp3 gets MP3 and any other path WAV. The file goes
    under the downloads folder (a relative path is taken inside it; one that leads out of it is
    refused), and a path that names a folder gets the file `<recording sid>.<format>` inside it. The
    file is written only once it is complete, and an existing file is replaced only when the
    overwrite is true.

    Input Concepts:
        the recording sid: The SID of the recording to download (RE followed by 32 hexadecimal digits)
        the path: Where to write the file, in the downloads folder: a file name, or a folder to put it in
        the format: "wav" or "mp3"; by default the path's extension decides, and otherwise WAV
        the overwrite: Whether to replace a file that is already at the path (default false)

    Output Concepts:
        file: The downloaded file: its path, its size in bytes and its content type

    Example 1:
        Download a recording as a WAV file

        >>> download a Twilio recording where
        ...   the recording sid is "RE557ce644e5ab84fa21cc21112e22c485"
        ...   the path is "greeting.wav"

    Example 2:
        Download a recording as MP3, replacing an earlier download

        >>> download a Twilio recording where
        ...   the recording sid is "RE557ce644e5ab84fa21cc21112e22c485"
        ...   the format is "mp3"
        ...   the path is "greeting.mp3"
        ...   the overwrite is true
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if format is None:
        format = "mp3" if suffix == "mp3" else "wav"
    elif suffix in ("wav", "mp3") and suffix != format:
        raise InputError(f"the path {path!r} ends in .{suffix} but the format is {format!r}; make them agree; "
                         "nothing was downloaded")
    target = destination(downloads, path, f"{recording_sid}.{format}", overwrite=overwrite)
    uri = f"/2010-04-01/Accounts/{client.account_sid}/Recordings/{recording_sid}.{format}"
    return download(client, uri, target, overwrite=overwrite, what=f"the recording {recording_sid}")
