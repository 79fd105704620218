"""The Media subresource and the Create Message options, through the real twilio SDK."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from sandbox import ManualClock, SandboxServer
from sandbox.media import gif, jpeg, png
from tests.conftest import RECIPIENT, SENDER, START

SERVICE = "MG9752274e9e519418a7406176694466fa"
TEMPLATE = "HXb5b62575e6e4ff6129ad7c8efe1f983e"
URLS = ["https://example.com/map.png", "https://example.com/photo.JPG?v=2", "https://example.com/a.gif",
        "https://example.com/notes.txt", "https://example.com/download"]


def send_media(client: Client, urls: list[str] = URLS) -> str:
    return client.messages.create(to=RECIPIENT, from_=SENDER, body="see", media_url=urls).sid


def file_of(sandbox: SandboxServer, uri: str) -> requests.Response:
    """GET a media resource's URI without `.json`: the file itself."""
    response = requests.get(sandbox.url + uri.removesuffix(".json"), auth=(sandbox.account_sid, sandbox.auth_token), timeout=10)
    response.raise_for_status()
    return response


def test_one_media_resource_per_url_with_the_type_of_its_extension(client: Client, sandbox: SandboxServer) -> None:
    sid = send_media(client)
    media = client.messages(sid).media.list()
    assert [m.content_type for m in media] == ["image/png", "image/jpeg", "image/gif", "text/plain",
                                                "application/octet-stream"]
    assert all(m.parent_sid == sid and m.account_sid == sandbox.account_sid and m.date_created == START for m in media)
    assert len({m.sid for m in media}) == 5 and all(m.sid.startswith("ME") and len(m.sid) == 34 for m in media)
    assert [m.sid for m in client.messages(sid).media.list()] == [m.sid for m in media]  # stable
    fetched = client.messages(sid).media(media[1].sid).fetch()
    assert (fetched.sid, fetched.content_type) == (media[1].sid, "image/jpeg")


def test_the_files_are_real_images_and_text(client: Client, sandbox: SandboxServer) -> None:
    sid = send_media(client)
    media = client.messages(sid).media.list()
    files = [file_of(sandbox, m.uri) for m in media]
    assert [f.headers["Content-Type"].split(";")[0] for f in files] == [m.content_type for m in media]
    png_file, jpeg_file, gif_file, text_file, other = (f.content for f in files)
    assert png_file.startswith(b"\x89PNG\r\n\x1a\n") and png_file[12:16] == b"IHDR"
    assert struct.unpack(">II", png_file[16:24]) == (16, 16)
    assert jpeg_file.startswith(b"\xff\xd8\xff\xe0") and jpeg_file.endswith(b"\xff\xd9")
    assert gif_file.startswith(b"GIF89a") and gif_file.endswith(b";")
    assert text_file.decode().startswith(f"Media {media[3].sid} of message {sid}")
    assert len(other) == 32
    assert file_of(sandbox, media[0].uri).content == png_file  # the same bytes every time


def test_the_png_decodes_to_its_one_colour() -> None:
    data = png(10, 200, 30, size=2)
    chunks, at = {}, 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        assert struct.unpack(">I", data[at + 8 + length : at + 12 + length])[0] == zlib.crc32(kind + body)
        chunks[kind] = body
        at += 12 + length
    assert zlib.decompress(chunks[b"IDAT"]) == (b"\x00" + bytes((10, 200, 30)) * 2) * 2


@pytest.mark.parametrize("grey", [0, 1, 127, 128, 255])
def test_the_jpeg_scan_holds_the_dc_value_and_end_of_block(grey: int) -> None:
    data = jpeg(grey)
    scan = data[data.index(b"\xff\xda") + 10 : -2].replace(b"\xff\x00", b"\xff")
    dc = 8 * (grey - 128)
    size = abs(dc).bit_length()
    bits = "".join(format(byte, "08b") for byte in scan)
    assert bits[0] == "0"  # the DC table's one code
    value = int(bits[1 : 1 + size], 2) if size else 0
    assert (value if not size or bits[1] == "1" else value - (1 << size) + 1) == dc
    assert bits[1 + size] == "0" and set(bits[2 + size :]) <= {"1"}  # end of block, then padding


def test_the_gif_palette_holds_the_colour() -> None:
    assert gif(1, 2, 3)[13:16] == bytes((1, 2, 3))


def test_a_deleted_media_stays_deleted_and_goes_with_its_message(client: Client, sandbox: SandboxServer) -> None:
    sid = send_media(client)
    first, *rest = client.messages(sid).media.list()
    assert client.messages(sid).media(first.sid).delete() is True
    assert [m.sid for m in client.messages(sid).media.list()] == [m.sid for m in rest]
    with pytest.raises(TwilioRestException) as caught:
        client.messages(sid).media(first.sid).fetch()
    assert caught.value.status == 404
    assert client.messages(sid).fetch().num_media == "5"  # what was sent
    client.messages(sid).delete()
    with pytest.raises(TwilioException, match="Unable to fetch page") as failed:  # the SDK's error for a list
        client.messages(sid).media.list()
    assert failed.value.args[1].status_code == 404


def test_the_media_list_pages_and_filters_by_date_created(client: Client, clock: ManualClock) -> None:
    sid = send_media(client)
    media = client.messages(sid).media
    assert len(media.list(page_size=2)) == 5  # three pages, followed by their next_page_uri
    assert len(media.list(date_created=START.date())) == 5
    assert media.list(date_created_after=START + timedelta(seconds=1)) == []
    assert len(media.list(date_created_before=START)) == 5


def test_seeded_messages_have_their_media(client: Client, sandbox: SandboxServer) -> None:
    sid = sandbox.store.insert_messages([{"to": RECIPIENT, "direction": "inbound", "media_urls": ["https://x.example/in.jpg"]}])[0]
    assert [m.content_type for m in client.messages(sid).media.list()] == ["image/jpeg"]


# -- Create Message options ------------------------------------------------------------------------


def create(client: Client, **options: object) -> object:
    return client.messages.create(to=RECIPIENT, **{"from_": SENDER, "body": "hi", **options})


@pytest.mark.parametrize("options,code", [
    ({"media_url": [f"https://example.com/{n}.png" for n in range(11)]}, 20001),
    ({"media_url": ["example.com/a.png"]}, 21620),
    ({"validity_period": 0}, 20001),
    ({"validity_period": 36001}, 20001),
    ({"status_callback": "not a url"}, 20001),
    ({"application_sid": "AP123"}, 20001),
    ({"max_price": "cheap"}, 20001),
    ({"content_sid": "HX123"}, 21655),
    ({"content_variables": '{"1": "x"}'}, 21654),
    ({"content_sid": TEMPLATE, "content_variables": "{1: x}"}, 21656),
    ({"content_sid": TEMPLATE, "content_variables": '{"1": ""}'}, 21656),
    ({"schedule_type": "fixed", "send_at": "2022-03-01T16:00:00Z"}, 35118),
    ({"schedule_type": "fixed", "messaging_service_sid": SERVICE}, 35111),
    ({"schedule_type": "fixed", "messaging_service_sid": SERVICE, "send_at": "2022-03-01T15:04:00Z"}, 35114),
    ({"schedule_type": "fixed", "messaging_service_sid": SERVICE, "send_at": "2022-04-06T15:00:01Z"}, 35114),
    ({"schedule_type": "later", "messaging_service_sid": SERVICE, "send_at": "2022-03-01T16:00:00Z"}, 20001),
])
def test_create_options_are_checked_as_twilio_does(client: Client, options: dict, code: int) -> None:
    with pytest.raises(TwilioRestException) as caught:
        create(client, **options)
    assert (caught.value.status, caught.value.code) == (400, code)


def test_a_scheduled_message_waits_for_its_time(client: Client, clock: ManualClock) -> None:
    message = create(client, messaging_service_sid=SERVICE, schedule_type="fixed", send_at="2022-03-01T16:00:00Z")
    assert message.status == "scheduled"
    clock.advance(3599)
    assert client.messages(message.sid).fetch().status == "scheduled"
    clock.advance(10)
    assert client.messages(message.sid).fetch().status == "delivered"


def test_a_content_template_renders_a_body(client: Client) -> None:
    message = client.messages.create(to=f"whatsapp:{RECIPIENT}", from_=f"whatsapp:{SENDER}",
                                            content_sid=TEMPLATE, content_variables='{"1": "12/1", "2": 3}')
    assert message.body == f"Content template {TEMPLATE} with {{{{1}}}}=12/1, {{{{2}}}}=3"
    plain = client.messages.create(to=f"whatsapp:{RECIPIENT}", from_=f"whatsapp:{SENDER}", content_sid=TEMPLATE)
    assert plain.body == f"Content template {TEMPLATE}"
