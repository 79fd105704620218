"""The two SMS procedures of the reference, run in English through the real SDK against the sandbox."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from book.errors import CompileError, InputError, NotFoundError, RemoteError
from concepts import TwilioSmsMessage
from tests.conftest import requests_sent

SEND = '''send an SMS message where
  the sender number is "+15005550006"
  the recipient number is "{to}"
  the message body is "{body}"
'''


def test_send_then_read_back_by_sender_and_recipient(english):
    sid = english(SEND.format(to="+18004446666", body="Hello!")).value
    assert sid.startswith("SM") and len(sid) == 34
    english(SEND.format(to="+18004447777", body="Other"))
    found = english('read some SMS messages whose sender number is "+15005550006" '
                    'and whose recipient number is "+18004446666"').value
    assert [m.sid for m in found] == [sid]
    message = found[0]
    assert isinstance(message, TwilioSmsMessage)
    assert (message.body, message.sender_number, message.recipient_number) == ("Hello!", "+15005550006", "+18004446666")
    assert message.account_sid.startswith("AC") and message.num_segments == "1" and message.num_media == 0
    assert message.date_created is not None and message.date_created.tzinfo is not None


def test_the_answer_and_possessives_flow_into_later_lines(english):
    result = english(SEND.format(to="+18004446666", body="first") + (
        "read an SMS message whose sid is the answer\n"
        "get the sms message's body\n"
    ))
    assert result.value == "first"


def test_process_each_message(english):
    for n in range(3):
        english(SEND.format(to="+18004446666", body=f"note {n}"))
    result = english("read some SMS messages whose recipient number is \"+18004446666\"\n"
                     "process each message as follows\n"
                     "  get the message's body\n")
    assert sorted(result.value) == ["note 0", "note 1", "note 2"]


def test_a_field_twilio_cannot_filter_is_filtered_locally(english):
    english(SEND.format(to="+18004446666", body="Your code is 1234"))
    english(SEND.format(to="+18004446666", body="See you soon"))
    found = english('read some SMS messages whose body contains "code"').value
    assert [m.body for m in found] == ["Your code is 1234"]
    none = english('read some SMS messages whose body starts with "see" and whose num media is at least 1').value
    assert none == []


def test_singular_read_by_sid_fetches_once_or_says_not_found(english, session):
    sid = english(SEND.format(to="+18004446666", body="x")).value
    before = requests_sent(session)
    message = english(f'read an SMS message whose sid is "{sid}"').value
    assert message.sid == sid
    assert requests_sent(session) - before == 1
    with pytest.raises(NotFoundError, match="no sms message matches"):
        english('read an SMS message whose sid is "SM00000000000000000000000000000000"')


@pytest.mark.parametrize("number", ["18004446666", "+1 (800) 444-6666", "call me", "whatsapp:18004446666", "+0123"])
def test_a_number_not_in_e164_is_rejected_before_compiling_to_a_request(english, session, number):
    with pytest.raises(CompileError, match="E.164|WhatsApp") as caught:
        english(SEND.format(to=number, body="Hi"))
    assert caught.value.problems[0].line == 3
    assert requests_sent(session) == 0


def test_a_bad_number_held_in_a_fact_is_rejected_before_any_request(english, session):
    with pytest.raises(InputError, match="nothing was sent"):
        english('the recipient number is "555-1234"\n'
                "send an SMS message where\n"
                '  the sender number is "+15005550006"\n'
                '  the message body is "Hi"\n')
    assert requests_sent(session) == 0


def test_a_channel_address_is_accepted(english):
    sid = english(SEND.format(to="whatsapp:+18004446666", body="Hi on WhatsApp")).value
    assert sid.startswith("SM")


@pytest.mark.parametrize("body,reason", [("   ", "empty"), ("x" * 1601, "1601 characters")])
def test_empty_or_overlong_bodies_are_rejected(english, session, body, reason):
    with pytest.raises(CompileError, match=reason):
        english(SEND.format(to="+18004446666", body=body))
    assert requests_sent(session) == 0


def test_a_body_of_exactly_1600_characters_is_sent(english):
    assert english(SEND.format(to="+18004446666", body="y" * 1600)).value.startswith("SM")


@pytest.mark.parametrize("to,code", [("+15005550001", 21211), ("+15005550002", 21612), ("+15005550009", 21614)])
def test_twilio_errors_come_back_as_the_books_own(english, to, code):
    with pytest.raises(RemoteError) as caught:
        english(SEND.format(to=to, body="Hi"))
    err = caught.value
    assert err.code == code and err.status == 400
    assert err.more_info == f"https://www.twilio.com/docs/errors/{code}"
    assert f"Twilio error {code}" in str(err) and "Traceback" not in str(err)
    assert getattr(err, "where", "").startswith("line 1:")


def test_first_n_reads_one_page_of_n(english, session, sandbox):
    sandbox.store.insert_messages({"to": "+18004446666", "from_": "+15005550006", "body": f"m{i}"} for i in range(300))
    found = english("read the first 20 SMS messages").value
    assert len(found) == 20
    assert requests_sent(session) == 1


def _seed_days(sandbox, times: list[datetime]) -> None:
    sandbox.store.insert_messages(
        {"to": "+18004446666", "from_": "+15005550006", "body": t.isoformat(), "status": "delivered",
         "date_created": t, "date_sent": t, "date_updated": t}
        for t in times
    )


def test_date_sent_filters_are_exact_at_the_second(english, sandbox):
    base = datetime(2022, 3, 1, tzinfo=timezone.utc)
    times = [base + timedelta(hours=h) for h in (1, 14, 15, 16, 23)]
    times += [base + timedelta(days=1, hours=2), base - timedelta(hours=1), base + timedelta(days=4, hours=1)]
    _seed_days(sandbox, times)

    after = english('read some SMS messages whose date sent is after "2022-03-01T15:00:00Z"').value
    assert sorted(m.date_sent for m in after) == sorted(t for t in times if t > base + timedelta(hours=15))

    window = english('the start date is "2022-03-01T15:00:00Z"\n'
                     'the end date is "2022-03-02T12:00:00Z"\n'
                     "read some SMS messages whose date sent is after the start date "
                     "and whose date sent is before the end date\n").value
    assert sorted(m.date_sent for m in window) == [base + timedelta(hours=16), base + timedelta(hours=23),
                                                     base + timedelta(days=1, hours=2)]

    on_day = english("read some SMS messages whose date sent is 2022-03-01").value
    assert len(on_day) == 5

    after_day = english("read some SMS messages whose date sent is after 2022-03-01").value
    assert sorted(m.date_sent for m in after_day) == [base + timedelta(days=1, hours=2), base + timedelta(days=4, hours=1)]
