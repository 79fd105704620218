"""Sending with options, WhatsApp, deleting a message and its media, in English against the sandbox."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from book.errors import CompileError, InputError, NotFoundError, RemoteError
from concepts import File, TwilioMedia, TwilioSmsMessage
from procedures import BOOK
from tests.conftest import requests_sent

SERVICE = "MG9752274e9e519418a7406176694466fa"
TEMPLATE = "HXb5b62575e6e4ff6129ad7c8efe1f983e"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"




def message(*lines: str) -> str:
    """`send a Twilio message where` with the given input lines (sender and recipient unless given)."""
    given = " ".join(lines)
    defaults = [] if "sender number" in given or "messaging service sid" in given else ['the sender number is "+15005550006"']
    if "recipient number" not in given:
        defaults.append('the recipient number is "+18004446666"')
    return "send a Twilio message where\n" + "".join(f"  {line}\n" for line in [*defaults, *lines])


def media_message(urls: str) -> str:
    return message(f'the media urls are "{urls}"')


def stored(sandbox, sid: str) -> dict:
    """The parameters the sandbox received when the message was created."""
    return dict(sandbox.store.get_message(sid).params)


# -- send a Twilio message -----------------------------------------------------------------------


def test_every_option_reaches_twilio(english, sandbox):
    sent = english(message(
        'the message body is "Your table is ready"',
        'the media urls are "https://example.com/map.png, https://example.com/menu.jpg?size=1,2"',
        'the status callback is "https://example.com/message-status"',
        'the application sid is "AP0123456789abcdef0123456789abcdef"',
        "the validity period is 14400",
        "the max price is 0.0075",
        "the provide feedback is yes",
        "the smart encoded is true",
    )).value
    assert isinstance(sent, TwilioSmsMessage)
    assert sent.sid.startswith("MM") and sent.num_media == 2 and sent.status == "queued"
    params = stored(sandbox, sent.sid)
    assert params["MediaUrl"] == ["https://example.com/map.png", "https://example.com/menu.jpg?size=1,2"]
    assert params["StatusCallback"] == "https://example.com/message-status"
    assert params["ApplicationSid"] == "AP0123456789abcdef0123456789abcdef"
    assert (params["ValidityPeriod"], params["MaxPrice"]) == ("14400", "0.0075")
    assert (params["ProvideFeedback"], params["SmartEncoded"]) == ("true", "true")


def test_smart_encoding_replaces_unicode_look_alikes(english):
    sent = english(message('the message body is "It\u2019s \u201cready\u201d \u2014 come in"', "the smart encoded is yes")).value
    assert sent.body == "It's \"ready\" - come in"


def test_a_messaging_service_can_stand_in_for_the_sender(english):
    sent = english(message(f'the messaging service sid is "{SERVICE}"', 'the message body is "Hi"')).value
    assert (sent.sender_number, sent.messaging_service_sid, sent.status) == (None, SERVICE, "accepted")


def test_media_alone_makes_a_message(english):
    sent = english(media_message("https://example.com/a.gif")).value
    assert sent.num_media == 1 and sent.body == ""


@pytest.mark.parametrize("lines,reason", [
    (['the message body is "Hi"', 'the recipient number is "+18004446666"', 'the sender number is "+15005550006"',
      "the validity period is 0"], "between 1 and 14,400"),
    (['the message body is "Hi"', "the validity period is 14401"], "between 1 and 14,400"),
    (['the message body is "Hi"', "the max price is 0.00001"], "4 decimal places"),
    (['the message body is "Hi"', "the max price is -1"], "more than 0"),
    (['the message body is "Hi"', 'the messaging service sid is "MG123"'], "Messaging Service SID"),
    (['the message body is "Hi"', 'the application sid is "PN0123456789abcdef0123456789abcdef"'], "AP followed by 32"),
    (['the message body is "Hi"', 'the status callback is "example.com/status"'], "absolute URL"),
    (['the media urls are "ftp://example.com/a.png"'], "not a media URL"),
    (['the media urls are "photo.png"'], "not a media URL"),
    ([f'the media urls are "{", ".join(f"https://example.com/{n}.png" for n in range(11))}"'], "at most 10"),
    (['the message body is "Hi"', "the send time is 42"], "datetime"),
])
def test_out_of_range_values_fail_when_the_automation_compiles(english, session, lines, reason):
    with pytest.raises(CompileError, match=reason):
        english(message(*lines))
    assert requests_sent(session) == 0


def test_a_bad_value_held_in_a_fact_fails_before_any_request(english, session):
    with pytest.raises(InputError, match="validity period.*nothing was sent"):
        english("the validity period is 20000\n" + message('the message body is "Hi"'))
    with pytest.raises(InputError, match="media urls.*at most 10"):
        english(f'the media urls are "{" ".join(f"https://example.com/{n}.png" for n in range(11))}"\n'
                + message('the message body is "Hi"'))
    assert requests_sent(session) == 0


@pytest.mark.parametrize("lines,reason", [
    (['the recipient number is "+18004446666"', 'the message body is "Hi"'], "needs a sender"),
    ([], "needs something to send"),
])
def test_a_message_needs_a_sender_and_something_to_send(english, session, lines, reason):
    text = "send a Twilio message where\n" + "".join(f"  {line}\n" for line in lines or ['the sender number is "+15005550006"', 'the recipient number is "+18004446666"'])
    with pytest.raises(InputError, match=reason):
        english(text)
    assert requests_sent(session) == 0


def _at(delta: timedelta, offset: str = "Z") -> str:
    when = datetime.now(timezone.utc) + delta
    if offset != "Z":
        sign, hours = (1 if offset[0] == "+" else -1), int(offset[1:3])
        when = when.astimezone(timezone(sign * timedelta(hours=hours)))
        return when.strftime("%Y-%m-%dT%H:%M:%S") + offset
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_message_is_scheduled_with_a_messaging_service(english, sandbox):
    send_time = _at(timedelta(hours=2), "+02:00")
    sent = english(message(f'the messaging service sid is "{SERVICE}"', 'the message body is "Reminder"',
                           f"the send time is {send_time}")).value
    assert sent.status == "scheduled"
    params = stored(sandbox, sent.sid)
    assert params["ScheduleType"] == "fixed"
    expected = datetime.fromisoformat(send_time).astimezone(timezone.utc)
    assert params["SendAt"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")  # sent in UTC


@pytest.mark.parametrize("send_time,service,reason", [
    (timedelta(hours=1), False, "only messages sent with a Messaging Service"),
    (timedelta(minutes=5), True, "5 minutes from now.*15 minutes to 35 days"),
    (timedelta(days=36), True, "36 days from now"),
    (-timedelta(hours=1), True, r"\d+ minutes ago"),
])
def test_scheduling_outside_twilios_window_fails_before_any_request(english, session, send_time, service, reason):
    lines = ['the message body is "Reminder"', f"the send time is {_at(send_time + timedelta(seconds=30))}"]
    if service:
        lines.append(f'the messaging service sid is "{SERVICE}"')
    with pytest.raises(InputError, match=reason):
        english(message(*lines))
    assert requests_sent(session) == 0


def test_a_send_time_needs_a_time_of_day(english, session):
    day = (datetime.now(timezone.utc) + timedelta(days=3)).date().isoformat()
    with pytest.raises(InputError, match=f"{day} is a day; give the time too"):
        english(message(f'the messaging service sid is "{SERVICE}"', 'the message body is "x"', f"the send time is {day}"))
    assert requests_sent(session) == 0


def test_twilio_refusals_come_back_as_the_books_errors(english):
    with pytest.raises(RemoteError) as caught:
        english(message('the recipient number is "+15005550009"', 'the message body is "Hi"'))
    assert caught.value.code == 21614 and caught.value.status == 400


# -- WhatsApp ----------------------------------------------------------------------------------------

WHATSAPP = '''send a WhatsApp message where
  the sender number is "{sender}"
  the recipient number is "{to}"
'''


def test_a_whatsapp_message_with_a_body_and_a_bare_number(english):
    sent = english(WHATSAPP.format(sender="whatsapp:+14155238886", to="+18004446666")
                   + '  the message body is "Your order has shipped"\n').value
    assert (sent.sender_number, sent.recipient_number) == ("whatsapp:+14155238886", "whatsapp:+18004446666")
    assert sent.body == "Your order has shipped"


def test_a_whatsapp_template_with_its_variables(english, sandbox):
    sent = english(WHATSAPP.format(sender="WhatsApp:+14155238886", to="whatsapp:+18004446666")
                   + f'  the content sid is "{TEMPLATE}"\n'
                   + '  the content variables are "{\\"1\\": \\"12/1\\", \\"2\\": 3}"\n').value
    params = stored(sandbox, sent.sid)
    assert params["ContentSid"] == TEMPLATE and params["From"] == "whatsapp:+14155238886"
    assert json.loads(params["ContentVariables"]) == {"1": "12/1", "2": "3"}
    assert "Body" not in params
    assert sent.body == f"Content template {TEMPLATE} with {{{{1}}}}=12/1, {{{{2}}}}=3"


@pytest.mark.parametrize("address,reason", [
    ("messenger:12345", "not a WhatsApp address"),
    ("whatsapp:18004446666", "E.164"),
    ("+1 (800) 444-6666", "did you mean 'whatsapp:\\+18004446666'"),
])
def test_anything_but_a_whatsapp_address_is_refused(english, session, address, reason):
    with pytest.raises(CompileError, match=reason):
        english(WHATSAPP.format(sender="whatsapp:+14155238886", to=address) + '  the message body is "Hi"\n')
    assert requests_sent(session) == 0


@pytest.mark.parametrize("lines,error,reason", [
    ([], InputError, "either the message body or the content sid.*neither"),
    (['the message body is "Hi"', f'the content sid is "{TEMPLATE}"'], InputError, "not both"),
    (['the message body is "Hi"', 'the content variables are "{}"'], InputError, "give its content sid too"),
    ([f'the content sid is "{TEMPLATE}"', 'the content variables are "[1, 2]"'], CompileError, "JSON object"),
    ([f'the content sid is "{TEMPLATE}"', 'the content variables are "{1: 2}"'], CompileError, "not JSON"),
    ([f'the content sid is "{TEMPLATE}"', 'the content variables are "{\\"1\\": \\"\\"}"'], CompileError, "not empty"),
    (['the content sid is "HX123"'], CompileError, "content template SID"),
])
def test_a_whatsapp_message_takes_a_body_or_a_template(english, session, lines, error, reason):
    text = WHATSAPP.format(sender="whatsapp:+14155238886", to="whatsapp:+18004446666")
    with pytest.raises(error, match=reason):
        english(text + "".join(f"  {line}\n" for line in lines))
    assert requests_sent(session) == 0


# -- a message by SID, and deleting it ----------------------------------------------------------------


def test_a_message_is_read_by_sid_then_deleted(english, session):
    sid = english(media_message("https://example.com/a.png")).value.sid
    read = english(f'read an SMS message whose sid is "{sid}"').value
    assert (read.sid, read.num_media) == (sid, 1)
    before = requests_sent(session)
    assert english(f'delete an SMS message where\n  the message sid is "{sid}"\n').value == sid
    assert requests_sent(session) - before == 1
    with pytest.raises(NotFoundError, match="no sms message matches"):
        english(f'read an SMS message whose sid is "{sid}"')
    with pytest.raises(RemoteError, match="Twilio refused to delete the message") as caught:
        english(f'delete an SMS message where\n  the message sid is "{sid}"\n')
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_deleting_needs_a_message_sid(english, session):
    with pytest.raises(CompileError, match="not a message SID"):
        english('delete an SMS message where\n  the message sid is "CA0123456789abcdef0123456789abcdef"\n')
    with pytest.raises(CompileError, match="needs the message sid"):
        english("delete an SMS message")
    assert requests_sent(session) == 0


# -- media ------------------------------------------------------------------------------------------

MEDIA = "read some Twilio media files where\n  the message sid is the twilio message's sid\n"
READ_ONE = MEDIA.replace("some Twilio media files", "a Twilio media file")


def test_the_media_of_a_message(english, session):
    result = english(media_message("https://example.com/map.png, https://example.com/menu.jpg, https://example.com/a.txt")
                     + MEDIA)
    sent, media = result.facts["twilio message"], result.value
    assert [m.content_type for m in media] == ["image/png", "image/jpeg", "text/plain"]
    first = media[0]
    assert isinstance(first, TwilioMedia) and first.sid.startswith("ME") and first.message_sid == sent.sid
    assert first.account_sid == sent.account_sid and first.date_created == sent.date_created
    assert first.uri == f"/2010-04-01/Accounts/{sent.account_sid}/Messages/{sent.sid}/Media/{first.sid}.json"
    assert first.url == "https://api.twilio.com" + first.uri.removesuffix(".json")


def test_media_filters_run_locally_and_a_sid_is_fetched(english, session):
    sent = english(media_message("https://example.com/map.png, https://example.com/menu.jpg")).value
    media = english(MEDIA.replace("where", 'whose content type starts with "image/j" where', 1)
                    .replace("the twilio message's sid", f'"{sent.sid}"')).value
    assert [m.content_type for m in media] == ["image/jpeg"]
    before = requests_sent(session)
    one = english(f'read a Twilio media file whose sid is "{media[0].sid}" where\n  the message sid is "{sent.sid}"\n').value
    assert one.sid == media[0].sid and requests_sent(session) - before == 1
    with pytest.raises(NotFoundError):
        english(f'read a Twilio media file whose sid is "ME{"0" * 32}" where\n  the message sid is "{sent.sid}"\n')


def test_the_media_of_an_unknown_message_is_not_found(english):
    with pytest.raises(RemoteError, match="read the media of the message") as caught:
        english(f'read some Twilio media files where\n  the message sid is "MM{"0" * 32}"\n')
    assert caught.value.status == 404


@pytest.fixture
def downloads(session, tmp_path: Path) -> Path:
    """The session's downloads folder: where every download goes."""
    session.downloads = tmp_path
    return tmp_path


DOWNLOAD = '''download a Twilio media file where
  the message sid is the twilio message's sid
  the media sid is the twilio media file's sid
  the path is "{path}"
'''


def test_a_media_file_is_downloaded_to_a_path(english, downloads):
    target = downloads / "map.png"
    result = english(media_message("https://example.com/map.png")
                     + READ_ONE + DOWNLOAD.format(path=target))
    downloaded = result.value
    assert isinstance(downloaded, File)
    assert (downloaded.path, downloaded.content_type) == (str(target), "image/png")
    data = target.read_bytes()
    assert data.startswith(PNG_MAGIC) and downloaded.size == len(data)


def test_a_folder_gets_the_file_named_by_its_sid_and_type(english, downloads):
    result = english(media_message("https://example.com/photo.jpeg")
                     + READ_ONE + DOWNLOAD.format(path=downloads))
    media = result.facts["twilio media"]  # "twilio media file" is now the download's file
    assert result.value.path == str(downloads / f"{media.sid}.jpg")
    assert (downloads / f"{media.sid}.jpg").read_bytes().startswith(JPEG_MAGIC)


def test_an_existing_file_is_kept_unless_overwrite_is_true(english, session, downloads):
    target = downloads / "map.png"
    target.write_bytes(b"mine")
    text = (media_message("https://example.com/map.png")
            + READ_ONE + DOWNLOAD.format(path=target))
    with pytest.raises(InputError, match="already exists"):
        english(text)
    assert target.read_bytes() == b"mine"
    english(text + "  the overwrite is true\n")
    assert target.read_bytes().startswith(PNG_MAGIC)


def test_a_missing_media_file_or_folder_is_reported(english, session, downloads):
    downloads = downloads / "sub"
    downloads.mkdir()
    sid = english(media_message("https://example.com/map.png")).value.sid
    download = ('download a Twilio media file where\n  the message sid is "{sid}"\n'
                '  the media sid is "ME{zeros}"\n  the path is "{path}"\n')
    before = requests_sent(session)
    with pytest.raises(InputError, match="does not exist"):
        english(download.format(sid=sid, zeros="0" * 32, path=downloads / "nowhere" / "x.png"))
    assert requests_sent(session) == before
    with pytest.raises(RemoteError, match="download the media file") as caught:
        english(download.format(sid=sid, zeros="0" * 32, path=downloads / "x.png"))
    assert caught.value.status == 404
    assert list(downloads.iterdir()) == []


# -- the documentation's examples ---------------------------------------------------------------------

MINE = ("send a Twilio message", "send a WhatsApp message", "delete an SMS message", "read some Twilio media files",
        "download a Twilio media file")


@pytest.mark.parametrize("text", [
    pytest.param(example.text, id=f"{procedure.english} #{n}")
    for procedure in BOOK.registry if procedure.english in MINE
    for n, example in enumerate(procedure.examples, 1)
])
def test_every_example_runs_against_the_sandbox(english, text):
    assert english(text).value is not None
