"""Messages through the real twilio SDK: create, fetch, delete, status over time, validation, magic numbers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from sandbox import ManualClock, SandboxServer
from sandbox.store import MESSAGES
from tests.conftest import RECIPIENT, SENDER, START

SID = re.compile(r"^SM[0-9a-f]{32}$")


def test_create_returns_a_queued_message_with_twilio_fields(client: Client, sandbox: SandboxServer) -> None:
    message = client.messages.create(to=RECIPIENT, from_=SENDER, body="Hello from the book")

    assert SID.match(message.sid)
    assert message.account_sid == sandbox.account_sid
    assert (message.to, message.from_, message.body) == (RECIPIENT, SENDER, "Hello from the book")
    assert message.status == "queued"
    assert message.direction == "outbound-api"
    assert message.date_created == START
    assert message.date_sent is None
    assert message.price is None and message.price_unit == "USD"
    assert (message.num_segments, message.num_media) == ("1", "0")
    assert message.api_version == "2010-04-01"
    assert message.messaging_service_sid is None
    assert message.uri == f"/2010-04-01/Accounts/{sandbox.account_sid}/Messages/{message.sid}.json"
    assert message.subresource_uris["media"] == message.uri.replace(".json", "/Media.json")


def test_status_moves_from_queued_to_sent_to_delivered(client: Client, clock: ManualClock) -> None:
    sid = client.messages.create(to=RECIPIENT, from_=SENDER, body="tick").sid

    clock.advance(0.1)
    assert client.messages(sid).fetch().status == "queued"

    clock.advance(0.2)
    sent = client.messages(sid).fetch()
    assert sent.status == "sent"
    assert sent.date_sent == START  # RFC 2822 has whole seconds; it was sent 0.2 s after 15:00:00
    assert sent.price == "-0.00790"

    clock.advance(1.0)
    assert client.messages(sid).fetch().status == "delivered"


def test_segments_and_price_follow_the_encoding(client: Client, clock: ManualClock) -> None:
    gsm = client.messages.create(to=RECIPIENT, from_=SENDER, body="a" * 161)
    ucs2 = client.messages.create(to=RECIPIENT, from_=SENDER, body="é€😀" + "ü" * 67)  # emoji: UCS-2
    single_ucs2 = client.messages.create(to=RECIPIENT, from_=SENDER, body="ß" * 160)  # ß is GSM-7
    clock.advance(5)

    assert (gsm.num_segments, ucs2.num_segments, single_ucs2.num_segments) == ("2", "2", "1")
    assert client.messages(gsm.sid).fetch().price == "-0.01580"


def test_smart_encoding_replaces_look_alike_characters(client: Client) -> None:
    message = client.messages.create(
        to=RECIPIENT, from_=SENDER, body="“Quoted” — and it’s fine…", smart_encoded=True
    )
    assert message.body == "\"Quoted\" - and it's fine..."


def test_media_makes_an_mms(client: Client) -> None:
    message = client.messages.create(
        to=RECIPIENT, from_=SENDER, media_url=["https://example.com/a.png", "https://example.com/b.png"]
    )
    assert message.sid.startswith("MM")
    assert message.num_media == "2"
    assert message.body == ""


def test_messaging_service_without_from_is_accepted(client: Client) -> None:
    service = "MG" + "a" * 32
    message = client.messages.create(to=RECIPIENT, messaging_service_sid=service, body="via service")
    assert message.status == "accepted"
    assert message.messaging_service_sid == service
    assert message.from_ is None


def test_a_message_accepted_by_a_messaging_service_is_queued_then_sent(client: Client, clock: ManualClock) -> None:
    sid = client.messages.create(to=RECIPIENT, messaging_service_sid="MG" + "a" * 32, body="via service").sid
    clock.advance(0.1)
    assert client.messages(sid).fetch().status == "queued"
    clock.advance(0.2)
    assert client.messages(sid).fetch().status == "sent"


def test_fetch_and_delete(client: Client, sandbox: SandboxServer) -> None:
    sid = client.messages.create(to=RECIPIENT, from_=SENDER, body="bye").sid
    assert client.messages(sid).fetch().body == "bye"

    assert client.messages(sid).delete() is True

    with pytest.raises(TwilioRestException) as caught:
        client.messages(sid).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
    assert sandbox.store.count(MESSAGES) == 0


def test_deleting_an_unknown_message_is_a_404(client: Client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client.messages("SM" + "0" * 32).delete()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_redacting_the_body(client: Client) -> None:
    sid = client.messages.create(to=RECIPIENT, from_=SENDER, body="secret code 1234").sid
    assert client.messages(sid).update(body="").body == ""
    assert client.messages(sid).fetch().body == ""


def test_scheduled_message_can_be_canceled(client: Client, clock: ManualClock) -> None:
    message = client.messages.create(
        to=RECIPIENT,
        messaging_service_sid="MG" + "b" * 32,
        body="later",
        schedule_type="fixed",
        send_at=START + timedelta(hours=1),
    )
    assert message.status == "scheduled"

    assert client.messages(message.sid).update(status="canceled").status == "canceled"
    clock.advance(7200)
    assert client.messages(message.sid).fetch().status == "canceled"


def test_a_delivered_message_cannot_be_canceled(client: Client, clock: ManualClock) -> None:
    sid = client.messages.create(to=RECIPIENT, from_=SENDER, body="done").sid
    clock.advance(5)
    with pytest.raises(TwilioRestException) as caught:
        client.messages(sid).update(status="canceled")
    assert caught.value.status == 400
    assert "delivered" in caught.value.msg


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"to": "", "from_": SENDER, "body": "no recipient"}, 21604),
        ({"to": RECIPIENT, "body": "no sender"}, 21603),
        ({"to": RECIPIENT, "from_": SENDER}, 21602),
        ({"to": RECIPIENT, "from_": SENDER, "body": "x" * 1601}, 21617),
        ({"to": "not a number", "from_": SENDER, "body": "hi"}, 21211),
        ({"to": RECIPIENT, "from_": "not/a sender!", "body": "hi"}, 21212),
        ({"to": SENDER, "from_": SENDER, "body": "hi"}, 21266),
    ],
)
def test_invalid_requests_are_refused_like_twilio(client: Client, fields: dict[str, str], code: int) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(**fields)
    assert (caught.value.status, caught.value.code) == (400, code)


@pytest.mark.parametrize(
    ("to", "sender", "code", "wording"),
    [
        (RECIPIENT, "+15005550001", 21212, "is not a valid phone number"),
        (RECIPIENT, "+15005550007", 21606, "not a valid, SMS-capable inbound phone number"),
        (RECIPIENT, "+15005550008", 21611, "exceeded the maximum number of queued messages"),
        ("+15005550001", SENDER, 21211, "is not a valid phone number"),
        ("+15005550002", SENDER, 21612, "is not currently reachable"),
        ("+15005550003", SENDER, 21408, "Permission to send an SMS has not been enabled"),
        ("+15005550004", SENDER, 21610, "unsubscribed recipient"),
        ("+15005550009", SENDER, 21614, "not a valid mobile number"),
    ],
)
def test_magic_test_numbers(
    client: Client, sandbox: SandboxServer, to: str, sender: str, code: int, wording: str
) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=to, from_=sender, body="magic")
    assert (caught.value.status, caught.value.code) == (400, code)
    assert wording in caught.value.msg
    assert sandbox.store.count(MESSAGES) == 0


def test_the_passing_magic_number_sends(client: Client) -> None:
    assert client.messages.create(to=RECIPIENT, from_="+15005550006", body="ok").status == "queued"


def test_create_stores_every_given_parameter(client: Client, sandbox: SandboxServer) -> None:
    message = client.messages.create(
        to=RECIPIENT, from_=SENDER, body="with callback", status_callback="https://example.com/cb", validity_period=60
    )
    stored = sandbox.store.get_message(message.sid)
    assert stored is not None
    assert stored.params["StatusCallback"] == "https://example.com/cb"
    assert stored.params["ValidityPeriod"] == "60"
