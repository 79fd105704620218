"""The Media subresource of a Message: list, fetch and delete it, and download the file itself.

Twilio creates one Media resource per `MediaUrl` when it accepts a message, and keeps a copy of the
file. The sandbox works offline, so it cannot fetch those URLs; instead it derives a message's media
from the `MediaUrl` values the message was created with:

- the Media SID is a hash of the message SID and the URL's position, so it is the same on every read;
- the content type comes from the URL's file extension (`.png` is `image/png`; unknown is
  `application/octet-stream`);
- the file is made on request, the same bytes every time: a real PNG, JPEG or GIF image (one colour,
  picked from the SID), a line of text for `text/*`, otherwise a few bytes.

A deleted Media resource is remembered in its message's stored parameters, so it stays deleted; the
media go with their message when it is deleted.

    GET    .../Messages/{MessageSid}/Media.json          list (DateCreated, DateCreated<, DateCreated>; paged)
    GET    .../Messages/{MessageSid}/Media/{Sid}.json    fetch
    DELETE .../Messages/{MessageSid}/Media/{Sid}.json    delete (204)
    GET    .../Messages/{MessageSid}/Media/{Sid}         the file, with its Content-Type
"""

from __future__ import annotations

import hashlib
import mimetypes
import struct
import zlib
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.api_errors import not_found
from sandbox.clock import rfc2822
from sandbox.filters import date_range
from sandbox.paging import PageRequest
from sandbox.records import MessageRecord
from sandbox.resource import ACCOUNT_PREFIX, account_base, list_response, require_account
from sandbox.store import Store

DELETED = "_DeletedMedia"
"""The key, in a message's stored parameters, of the SIDs of its media that were deleted."""

_LIST_FILTERS = ("DateCreated", "DateCreated<", "DateCreated>")
_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif"}


@dataclass(frozen=True)
class MediaRow:
    """One Media resource of a message, as derived from the message's `MediaUrl` values."""

    sid: str
    account_sid: str
    message_sid: str
    source_url: str
    content_type: str
    created_us: int


def media_sid(message_sid: str, position: int) -> str:
    """The SID of the media made from a message's `position`-th MediaUrl: `ME` and 32 hex digits."""
    return "ME" + hashlib.sha256(f"{message_sid}/{position}".encode()).hexdigest()[:32]


def content_type_of(url: str) -> str:
    """The content type Twilio would store for a media URL, judged by its file extension."""
    path = urlsplit(url).path.lower()
    extension = path[path.rfind(".") :] if "." in path.rsplit("/", 1)[-1] else ""
    return _TYPES.get(extension) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def media_of(record: MessageRecord) -> list[MediaRow]:
    """The message's media that have not been deleted, in the order of their URLs."""
    deleted = set(record.params.get(DELETED, ()))
    rows = []
    for position, url in enumerate(record.media_urls):
        sid = media_sid(record.sid, position)
        if url and sid not in deleted:
            rows.append(MediaRow(sid, record.account_sid, record.sid, url, content_type_of(url), record.created_us))
    return rows


def media_json(row: MediaRow) -> dict[str, Any]:
    """A media resource as Twilio's `api.v2010.account.message.media` schema describes it."""
    return {
        "account_sid": row.account_sid,
        "content_type": row.content_type,
        "date_created": rfc2822(row.created_us),
        "date_updated": rfc2822(row.created_us),
        "parent_sid": row.message_sid,
        "sid": row.sid,
        "uri": f"{account_base(row.account_sid)}/Messages/{row.message_sid}/Media/{row.sid}.json",
    }


# -- the files -----------------------------------------------------------------------------------


def media_file(row: MediaRow) -> bytes:
    """The bytes of a media file: a small real image for PNG, JPEG and GIF; text or bytes otherwise."""
    seed = hashlib.sha256(row.sid.encode()).digest()
    if row.content_type == "image/png":
        return png(seed[0], seed[1], seed[2])
    if row.content_type == "image/jpeg":
        return jpeg(seed[0])
    if row.content_type == "image/gif":
        return gif(seed[0], seed[1], seed[2])
    if row.content_type.startswith("text/"):
        return f"Media {row.sid} of message {row.message_sid}, sent from {row.source_url}\n".encode()
    return seed


def png(red: int, green: int, blue: int, size: int = 16) -> bytes:
    """A `size` x `size` PNG of one colour (8-bit RGB)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes((red, green, blue)) * size  # filter type 0, then the pixels
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    image = zlib.compress(row * size)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", image) + chunk(b"IEND", b"")


def jpeg(grey: int) -> bytes:
    """An 8 x 8 baseline JPEG of one shade of grey.

    One block whose only coefficient is DC = 8 * (grey - 128) (quantised by 1); each Huffman table
    holds the one symbol it needs, as the one-bit code `0`.
    """

    def segment(marker: int, data: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data

    dc = 8 * (grey - 128)
    category = abs(dc).bit_length()
    bits = "0"  # the DC table's code for `category`
    if category:
        bits += format(dc if dc > 0 else dc + (1 << category) - 1, f"0{category}b")
    bits += "0"  # the AC table's code for end-of-block
    bits += "1" * (-len(bits) % 8)  # pad with ones to a whole byte
    scan = int(bits, 2).to_bytes(len(bits) // 8, "big").replace(b"\xff", b"\xff\x00")
    one_code = bytes([1] + [0] * 15)
    return b"".join(
        [
            b"\xff\xd8",
            segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            segment(0xDB, b"\x00" + b"\x01" * 64),
            segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00"),
            segment(0xC4, b"\x00" + one_code + bytes([category])),
            segment(0xC4, b"\x10" + one_code + b"\x00"),
            segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
            scan,
            b"\xff\xd9",
        ]
    )


def gif(red: int, green: int, blue: int) -> bytes:
    """A 1 x 1 GIF of one colour."""
    palette = bytes((red, green, blue)) + b"\x00\x00\x00"
    image = b",\x00\x00\x00\x00\x01\x00\x01\x00\x00" + b"\x02\x02\x44\x01\x00"  # LZW: clear, 0, end
    return b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + palette + image + b";"


# -- the routes ----------------------------------------------------------------------------------


def _message(request: Request, store: Store) -> MessageRecord:
    record = store.get_message(request.path_params["MessageSid"])
    if record is None:
        raise not_found(request.url.path)
    return record


def _one(request: Request, store: Store) -> tuple[MessageRecord, MediaRow]:
    record = _message(request, store)
    sid = request.path_params["Sid"]
    row = next((row for row in media_of(record) if row.sid == sid), None)
    if row is None:
        raise not_found(request.url.path)
    return record, row


async def list_media(request: Request) -> Response:
    """GET .../Messages/{MessageSid}/Media.json: DateCreated filters (inclusive, by GMT day or instant)."""
    store = require_account(request)
    query = request.query_params
    page = PageRequest.from_query(query)
    low, high = date_range(query, "DateCreated")
    rows = [row for row in media_of(_message(request, store))
            if (low is None or row.created_us >= low) and (high is None or row.created_us < high)]
    if page.cursor is not None:
        at = next((i for i, row in enumerate(rows) if row.sid == page.cursor.sid), None)
        if at is None:
            rows = []
        else:
            rows = rows[at + 1 :] if page.cursor.forward else rows[max(at - page.page_size, 0) : at]
    else:
        rows = rows[page.offset :]
    shown = rows[: page.page_size]
    return list_response(request, key="media_list", filters=_LIST_FILTERS, page=page, rows=shown,
                         items=[media_json(row) for row in shown], has_more=len(rows) > page.page_size)


async def fetch_media(request: Request) -> Response:
    """GET .../Media/{Sid}.json"""
    store = require_account(request)
    return JSONResponse(media_json(_one(request, store)[1]))


async def delete_media(request: Request) -> Response:
    """DELETE .../Media/{Sid}.json: 204; the media stays deleted."""
    store = require_account(request)
    record, row = _one(request, store)
    deleted = [*record.params.get(DELETED, ()), row.sid]
    store.save_message(replace(record, params={**record.params, DELETED: deleted}))
    return Response(status_code=204)


async def download_media(request: Request) -> Response:
    """GET .../Media/{Sid} (no `.json`): the file itself."""
    store = require_account(request)
    row = _one(request, store)[1]
    return Response(media_file(row), media_type=row.content_type)


async def _instance(request: Request) -> Response:
    return await (delete_media(request) if request.method == "DELETE" else fetch_media(request))


_MEDIA = f"{ACCOUNT_PREFIX}/Messages/{{MessageSid}}/Media"

ROUTES = [
    Route(f"{_MEDIA}.json", list_media, methods=["GET"]),
    Route(f"{_MEDIA}/{{Sid}}.json", _instance, methods=["GET", "DELETE"]),
    Route(f"{_MEDIA}/{{Sid}}", download_media, methods=["GET"]),
]
