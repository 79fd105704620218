"""Recordings and transcriptions: list (filters, paging), fetch, the media as WAV or MP3, seeding.

    GET .../Recordings.json                          CallSid, ConferenceSid, DateCreated(<,>) filters
    GET .../Recordings/{Sid}.json
    GET .../Recordings/{Sid}.wav | .mp3 | (none)     real audio (see `audio`); no extension means WAV
    GET .../Recordings/{RecordingSid}/Transcriptions.json and .../Transcriptions/{Sid}.json
    GET .../Transcriptions.json and .../Transcriptions/{Sid}.json

The sandbox makes no recordings itself: tests and demos seed them with `insert_recordings` and
`insert_transcriptions`. The tables are this module's own (`register_tables`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.api_errors import not_found
from sandbox.audio import CONTENT_TYPES, audio_bytes
from sandbox.clock import rfc2822
from sandbox.filters import Where, date_range
from sandbox.ids import new_sid
from sandbox.paging import PageRequest
from sandbox.resource import ACCOUNT_PREFIX, API_VERSION, account_base, list_response, require_account
from sandbox.seeding import check_choice, check_keys, check_sid, seed_us
from sandbox.store import Store, Table, register_tables

TWILIO_API = "https://api.twilio.com"
RECORDING_STATUSES = frozenset({"in-progress", "paused", "stopped", "processing", "completed", "absent", "deleted"})
RECORDING_SOURCES = frozenset(
    {"DialVerb", "Conference", "OutboundAPI", "Trunking", "RecordVerb", "StartCallRecordingAPI",
     "StartConferenceRecordingAPI"}
)
TRANSCRIPTION_STATUSES = frozenset({"in-progress", "completed", "failed"})
RECORDING_PRICE_PER_MINUTE = "0.0025"
TRANSCRIPTION_PRICE_PER_MINUTE = 0.05
_NO_MEDIA = frozenset({"absent", "deleted"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS recordings (
    sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    call_sid TEXT,
    conference_sid TEXT,
    duration INTEGER NOT NULL,
    channels INTEGER NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    price TEXT,
    error_code INTEGER,
    start_us INTEGER NOT NULL,
    created_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS recordings_by_created ON recordings (account_sid, created_us DESC, sid DESC);
CREATE INDEX IF NOT EXISTS recordings_by_call ON recordings (account_sid, call_sid, created_us DESC, sid DESC);
CREATE TABLE IF NOT EXISTS transcriptions (
    sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    recording_sid TEXT NOT NULL,
    transcription_text TEXT,
    status TEXT NOT NULL,
    duration INTEGER NOT NULL,
    price REAL,
    created_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS transcriptions_by_created ON transcriptions (account_sid, created_us DESC, sid DESC);
CREATE INDEX IF NOT EXISTS transcriptions_by_recording
    ON transcriptions (account_sid, recording_sid, created_us DESC, sid DESC);
"""
register_tables(_SCHEMA, ("recordings", "transcriptions"))


@dataclass(frozen=True)
class RecordingRecord:
    """One stored recording (columns in table order)."""

    sid: str
    account_sid: str
    call_sid: str | None
    conference_sid: str | None
    duration: int
    channels: int
    source: str
    status: str
    price: str | None
    error_code: int | None
    start_us: int
    created_us: int
    updated_us: int


@dataclass(frozen=True)
class TranscriptionRecord:
    """One stored transcription (columns in table order)."""

    sid: str
    account_sid: str
    recording_sid: str
    transcription_text: str | None
    status: str
    duration: int
    price: float | None
    created_us: int
    updated_us: int


RECORDINGS = Table("recordings", RecordingRecord)
TRANSCRIPTIONS = Table("transcriptions", TranscriptionRecord)


# -- seeding ---------------------------------------------------------------------------------------

_RECORDING_KEYS = frozenset(
    {"sid", "call_sid", "conference_sid", "duration", "channels", "source", "status", "price", "error_code",
     "start_time", "date_created", "date_updated"}
)
_TRANSCRIPTION_KEYS = frozenset(
    {"sid", "recording_sid", "transcription_text", "status", "duration", "price", "date_created", "date_updated"}
)


def insert_recordings(store: Store, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Store recordings for tests and demos; returns their SIDs in order.

    Each row may have `sid` (RE...), `call_sid` (CA...; made up unless `conference_sid` is given),
    `conference_sid` (CF...), `duration` (seconds, default 5), `channels` (1), `source` (OutboundAPI),
    `status` (completed), `price` (priced per minute when completed), `error_code`, and `start_time`,
    `date_created`, `date_updated` (aware datetimes or ISO 8601; default now). Raises ValueError for
    an unknown key or a bad value.
    """
    now = store.now_us()
    records = [_recording(row, store.account_sid, now) for row in rows]
    store.insert(RECORDINGS, records)
    return [r.sid for r in records]


def insert_transcriptions(store: Store, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Store transcriptions of stored recordings; returns their SIDs in order.

    Each row needs `recording_sid` (a stored recording) and may have `sid` (TR...),
    `transcription_text`, `status` (completed), `duration` (the recording's), `price`, `date_created`,
    `date_updated`. Raises ValueError for an unknown key, a bad value or an unknown recording.
    """
    now = store.now_us()
    records = []
    for row in rows:
        recording = get_recording(store, str(row.get("recording_sid") or ""))
        if recording is None:
            raise ValueError("a seeded transcription needs the 'recording_sid' of a stored recording, "
                             f"not {row.get('recording_sid')!r}")
        records.append(_transcription(row, recording, now))
    store.insert(TRANSCRIPTIONS, records)
    return [r.sid for r in records]


def _recording(row: Mapping[str, Any], account_sid: str, now_us: int) -> RecordingRecord:
    check_keys(row, _RECORDING_KEYS, "recording")
    sid = check_sid(row.get("sid") or new_sid("RE"), "a recording", "RE")
    conference_sid = row.get("conference_sid")
    call_sid = row.get("call_sid") or (None if conference_sid else new_sid("CA"))
    if call_sid is not None:
        check_sid(call_sid, "a call", "CA")
    if conference_sid is not None:
        check_sid(conference_sid, "a conference", "CF")
    status = row.get("status", "completed")
    check_choice("status", status, RECORDING_STATUSES)
    source = row.get("source", "Conference" if conference_sid else "OutboundAPI")
    check_choice("source", source, RECORDING_SOURCES)
    duration = int(row.get("duration", 5))
    channels = int(row.get("channels", 1))
    if duration < 0 or channels not in (1, 2):
        raise ValueError("a recording's duration is 0 seconds or more and its channels 1 or 2")
    created = seed_us(row.get("date_created")) or now_us
    price = row.get("price")
    if price is None and status == "completed":
        price = f"-{float(RECORDING_PRICE_PER_MINUTE) * max(1, math.ceil(duration / 60)):.4f}"
    return RecordingRecord(
        sid=sid, account_sid=account_sid, call_sid=call_sid, conference_sid=conference_sid, duration=duration,
        channels=channels, source=source, status=status, price=price, error_code=row.get("error_code"),
        start_us=seed_us(row.get("start_time")) or created, created_us=created,
        updated_us=seed_us(row.get("date_updated")) or created,
    )


def _transcription(row: Mapping[str, Any], recording: RecordingRecord, now_us: int) -> TranscriptionRecord:
    check_keys(row, _TRANSCRIPTION_KEYS, "transcription")
    status = row.get("status", "completed")
    check_choice("status", status, TRANSCRIPTION_STATUSES)
    duration = int(row.get("duration", recording.duration))
    price = row.get("price")
    if price is None and status == "completed":
        price = -round(TRANSCRIPTION_PRICE_PER_MINUTE * max(1, math.ceil(duration / 60)), 4)
    created = seed_us(row.get("date_created")) or now_us
    return TranscriptionRecord(
        sid=check_sid(row.get("sid") or new_sid("TR"), "a transcription", "TR"), account_sid=recording.account_sid,
        recording_sid=recording.sid, transcription_text=row.get("transcription_text"), status=status,
        duration=duration, price=price, created_us=created, updated_us=seed_us(row.get("date_updated")) or created,
    )


# -- queries ---------------------------------------------------------------------------------------

def get_recording(store: Store, sid: str) -> RecordingRecord | None:
    """The stored recording with this SID, or None."""
    return store.get(RECORDINGS, sid)


def get_transcription(store: Store, sid: str, recording_sid: str | None = None) -> TranscriptionRecord | None:
    """The stored transcription with this SID (of this recording, if given), or None."""
    where = Where()
    where.equals("recording_sid", recording_sid)
    return store.get(TRANSCRIPTIONS, sid, where)


# -- JSON ------------------------------------------------------------------------------------------

def recording_json(record: RecordingRecord) -> dict[str, Any]:
    """A recording as Twilio's `api.v2010.account.recording` schema describes it."""
    base = f"{account_base(record.account_sid)}/Recordings/{record.sid}"
    return {
        "account_sid": record.account_sid,
        "api_version": API_VERSION,
        "call_sid": record.call_sid,
        "conference_sid": record.conference_sid,
        "date_created": rfc2822(record.created_us),
        "date_updated": rfc2822(record.updated_us),
        "start_time": rfc2822(record.start_us),
        "duration": str(record.duration),
        "sid": record.sid,
        "price": record.price,
        "price_unit": "USD",
        "status": record.status,
        "channels": record.channels,
        "source": record.source,
        "error_code": record.error_code,
        "uri": f"{base}.json",
        "encryption_details": None,
        "subresource_uris": {
            "add_on_results": f"{base}/AddOnResults.json",
            "transcriptions": f"{base}/Transcriptions.json",
        },
        "media_url": f"{TWILIO_API}{base}",
    }


def transcription_json(record: TranscriptionRecord) -> dict[str, Any]:
    """A transcription as Twilio's `api.v2010.account.transcription` schema describes it."""
    return {
        "account_sid": record.account_sid,
        "api_version": API_VERSION,
        "date_created": rfc2822(record.created_us),
        "date_updated": rfc2822(record.updated_us),
        "duration": str(record.duration),
        "price": record.price,
        "price_unit": "USD",
        "recording_sid": record.recording_sid,
        "sid": record.sid,
        "status": record.status,
        "transcription_text": record.transcription_text,
        "type": "fast",
        "uri": f"{account_base(record.account_sid)}/Transcriptions/{record.sid}.json",
    }


# -- handlers --------------------------------------------------------------------------------------

_RECORDING_FILTERS = ("CallSid", "ConferenceSid", "DateCreated", "DateCreated<", "DateCreated>")


async def list_recordings(request: Request) -> Response:
    """GET .../Recordings.json: CallSid, ConferenceSid, DateCreated (whole GMT days, inclusive); newest first."""
    store = require_account(request)
    query = request.query_params
    page = PageRequest.from_query(query)
    where = Where()
    where.equals("call_sid", query.get("CallSid") or None)
    where.equals("conference_sid", query.get("ConferenceSid") or None)
    where.in_range("created_us", *date_range(query, "DateCreated"))
    records, has_more = store.keyset_page(RECORDINGS, where, page)
    return list_response(request, key="recordings", filters=_RECORDING_FILTERS, page=page, rows=records,
                         items=[recording_json(r) for r in records], has_more=has_more)


async def fetch_recording(request: Request) -> Response:
    """GET .../Recordings/{Sid}.json"""
    store = require_account(request)
    return JSONResponse(recording_json(_existing_recording(request, store, request.path_params["Sid"])))


async def recording_media(request: Request) -> Response:
    """GET .../Recordings/{Sid}.wav or .mp3 (or no extension: WAV): the recording's audio."""
    store = require_account(request)
    audio_format = "mp3" if request.url.path.endswith(".mp3") else "wav"
    record = _existing_recording(request, store, request.path_params["Sid"])
    if record.status in _NO_MEDIA:
        raise not_found(request.url.path)
    body = audio_bytes(audio_format, record.duration)
    return Response(body, media_type=CONTENT_TYPES[audio_format],
                    headers={"Content-Disposition": f'attachment; filename="{record.sid}.{audio_format}"'})


async def list_recording_transcriptions(request: Request) -> Response:
    """GET .../Recordings/{RecordingSid}/Transcriptions.json: 404 if there is no such recording."""
    store = require_account(request)
    recording = _existing_recording(request, store, request.path_params["RecordingSid"])
    where = Where()
    where.equals("recording_sid", recording.sid)
    return _transcription_page(request, store, where)


async def list_transcriptions(request: Request) -> Response:
    """GET .../Transcriptions.json: every transcription of the account, newest first."""
    store = require_account(request)
    return _transcription_page(request, store, Where())


def _transcription_page(request: Request, store: Store, where: Where) -> Response:
    page = PageRequest.from_query(request.query_params)
    records, has_more = store.keyset_page(TRANSCRIPTIONS, where, page)
    return list_response(request, key="transcriptions", page=page, rows=records,
                         items=[transcription_json(r) for r in records], has_more=has_more)


async def fetch_transcription(request: Request) -> Response:
    """GET .../Transcriptions/{Sid}.json, or .../Recordings/{RecordingSid}/Transcriptions/{Sid}.json"""
    store = require_account(request)
    record = get_transcription(store, request.path_params["Sid"], request.path_params.get("RecordingSid"))
    if record is None:
        raise not_found(request.url.path)
    return JSONResponse(transcription_json(record))


def _existing_recording(request: Request, store: Store, sid: str) -> RecordingRecord:
    record = get_recording(store, sid)
    if record is None:
        raise not_found(request.url.path)
    return record


_RECORDINGS = f"{ACCOUNT_PREFIX}/Recordings"
ROUTES = [
    Route(f"{_RECORDINGS}.json", list_recordings, methods=["GET"]),
    Route(f"{_RECORDINGS}/{{Sid}}.json", fetch_recording, methods=["GET"]),
    Route(f"{_RECORDINGS}/{{Sid}}.wav", recording_media, methods=["GET"]),
    Route(f"{_RECORDINGS}/{{Sid}}.mp3", recording_media, methods=["GET"]),
    Route(f"{_RECORDINGS}/{{RecordingSid}}/Transcriptions.json", list_recording_transcriptions, methods=["GET"]),
    Route(f"{_RECORDINGS}/{{RecordingSid}}/Transcriptions/{{Sid}}.json", fetch_transcription, methods=["GET"]),
    Route(f"{_RECORDINGS}/{{Sid}}", recording_media, methods=["GET"]),  # last: it would match the others too
    Route(f"{ACCOUNT_PREFIX}/Transcriptions.json", list_transcriptions, methods=["GET"]),
    Route(f"{ACCOUNT_PREFIX}/Transcriptions/{{Sid}}.json", fetch_transcription, methods=["GET"]),
]
