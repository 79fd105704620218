"""The phone call procedures, run in English through the real SDK against the sandbox."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from book.errors import CompileError, InputError, NotFoundError, RemoteError
from book.runtime import run
from concepts import TwilioCall
from procedures import BOOK
from sandbox.call_store import CallStore
from tests.conftest import requests_sent

CALL = '''make a phone call where
  the sender number is "+15005550006"
  the recipient number is "{to}"
'''
URL = '  the url is "http://demo.twilio.com/docs/voice.xml"\n'
BASE = datetime(2022, 3, 1, tzinfo=timezone.utc)




def make(to: str = "+18004446666", *lines: str) -> str:
    return CALL.format(to=to) + "".join(f"  {line}\n" for line in lines)


def seed(sandbox, *rows: dict) -> list[str]:
    return CallStore(sandbox.store).insert_calls(rows)


def test_make_a_call_with_a_url(english, session):
    call = english(make("+18004446666", 'the url is "http://demo.twilio.com/docs/voice.xml"')).value
    assert isinstance(call, TwilioCall)
    assert call.sid.startswith("CA") and len(call.sid) == 34
    assert (call.sender_number, call.recipient_number) == ("+15005550006", "+18004446666")
    assert call.formatted_recipient_number == "(800) 444-6666"
    assert (call.status, call.direction, call.price_unit) == ("queued", "outbound-api", "USD")
    assert call.start_time is None and call.duration is None and call.queue_time == 1000
    assert call.date_created is not None and call.date_created.tzinfo is not None
    assert requests_sent(session) == 1


def test_make_a_call_with_twiml_and_every_kind_of_option(english, sandbox):
    call = english(make(
        "+18004446666",
        'the twiml is "<Response><Say>Your order has shipped.</Say></Response>"',
        'the status callback url is "https://example.com/status"',
        'the status callback method is "get"',
        'the status callback events is "initiated, ringing answered"',
        'the send digits is "ww1234#"',
        "the timeout is 600",
        "the time limit is 120",
        'the caller id is "+18004445555"',
        "the record is yes",
        'the trim is "do-not-trim"',
        'the recording channels is "dual"',
        'the recording status callback url is "https://example.com/recording"',
        'the recording status callback events is "in-progress completed"',
    )).value
    params = CallStore(sandbox.store).get_call(call.sid).params
    assert params["Twiml"].startswith("<Response><Say>") and "Url" not in params
    assert params["StatusCallbackEvent"] == ["initiated", "ringing", "answered"]
    assert params["RecordingStatusCallbackEvent"] == ["in-progress", "completed"]
    assert (params["StatusCallbackMethod"], params["SendDigits"], params["Timeout"]) == ("GET", "ww1234#", "600")
    assert (params["Record"], params["Trim"], params["RecordingChannels"]) == ("true", "do-not-trim", "dual")


def test_machine_detection_and_an_application(english, sandbox):
    call = english(make(
        "+18004446666",
        f'the application sid is "AP{"ab" * 16}"',
        'the machine detection is "enable"',
        "the machine detection timeout is 59",
        "the speech threshold is 1000",
        "the speech end threshold is 5000",
        "the speech silence timeout is 2000",
        "the async amd is yes",
        'the async amd callback url is "https://example.com/amd"',
        'the async amd callback method is "GET"',
    )).value
    params = CallStore(sandbox.store).get_call(call.sid).params
    assert (params["MachineDetection"], params["AsyncAmd"], params["AsyncAmdStatusCallbackMethod"]) == \
        ("Enable", "true", "GET")
    assert (params["MachineDetectionSpeechThreshold"], params["MachineDetectionSilenceTimeout"]) == ("1000", "2000")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("the timeout is 601", "between 1 and 600 seconds"),
        ("the timeout is 0", "between 1 and 600 seconds"),
        ("the time limit is 86401", "between 1 and 86,400 seconds"),
        ("the speech threshold is 999", "between 1,000 and 6,000 milliseconds"),
        ("the speech threshold is 6001", "between 1,000 and 6,000 milliseconds"),
        ("the speech end threshold is 499", "between 500 and 5,000"),
        ("the speech silence timeout is 10001", "between 2,000 and 10,000"),
        ("the machine detection timeout is 2", "between 3 and 59 seconds"),
        (f'the send digits is "{"1" * 33}"', "33 keys; Twilio takes at most 32"),
        ('the send digits is "12x-3"', "'-x' can't be dialed"),
        ('the method is "PUT"', "'GET' or 'POST'"),
        ('the machine detection is "maybe"', "'Enable' or 'DetectMessageEnd'"),
        ('the recording channels is "stereo"', "'mono' or 'dual'"),
        ('the status callback events is "initiated hungup"', "hungup is not an event"),
        ('the application sid is "AP123"', "AP followed by 32 hexadecimal digits"),
        ('the fallback url is "ftp://example.com/x"', "not an absolute URL"),
        ("the timeout is 30.5", "valid integer"),
    ],
)
def test_out_of_range_values_are_rejected_when_compiling_before_any_request(english, session, line, reason):
    with pytest.raises(CompileError, match=reason) as caught:
        english(make("+18004446666", 'the url is "http://demo.twilio.com/docs/voice.xml"', line))
    assert caught.value.problems[0].line == 5
    assert requests_sent(session) == 0


@pytest.mark.parametrize("to", ["18004446666", "whatsapp:+18004446666", "sip:nobody", "call me"])
def test_a_recipient_a_call_cannot_reach_is_rejected(english, session, to):
    with pytest.raises(CompileError, match="E.164|can reach"):
        english(make(to, 'the url is "http://demo.twilio.com/docs/voice.xml"'))
    assert requests_sent(session) == 0


def test_sip_addresses_and_client_identifiers_are_reachable(english):
    sip = english(make("sip:alice@example.com", 'the url is "https://example.com/voice.xml"')).value
    client = english(make("client:alice", 'the url is "https://example.com/voice.xml"')).value
    assert (sip.recipient_number, client.recipient_number) == ("sip:alice@example.com", "client:alice")


def test_an_out_of_range_value_held_in_a_fact_is_rejected_at_run_time_with_nothing_sent(english, session):
    with pytest.raises(InputError, match="timeout 601 is not valid.*nothing was sent"):
        english("the timeout is 601\n" + make("+18004446666", 'the url is "http://demo.twilio.com/docs/voice.xml"'))
    assert requests_sent(session) == 0


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ((), "give the url .*, the twiml, or the application sid"),
        (('the url is "https://example.com/a.xml"', 'the twiml is "<Response/>"'),
         "only one of .* not the url and the twiml"),
        (('the twiml is "<Response/>"', f'the application sid is "AP{"0" * 32}"'), "not the twiml and the application sid"),
        (('the url is "https://example.com/a.xml"', "the speech threshold is 2400"), "needs the machine detection"),
        (('the url is "https://example.com/a.xml"', 'the fallback method is "GET"'), "needs the fallback url"),
        (('the twiml is "<Response/>"', 'the method is "GET"'), "the method needs the url"),
        (('the url is "https://example.com/a.xml"', 'the recording channels is "dual"'), "needs 'the record is yes'"),
        (('the url is "https://example.com/a.xml"', "the record is no", 'the trim is "trim-silence"'),
         "needs 'the record is yes'"),
        (('the url is "https://example.com/a.xml"', 'the send digits is "1"', 'the machine detection is "Enable"'),
         "ignores the machine detection"),
        ((f'the application sid is "AP{"0" * 32}"', 'the status callback url is "https://example.com/s"'),
         "application's own status callback"),
    ],
)
def test_combinations_twilio_would_refuse_or_ignore_are_rejected_before_any_request(english, session, lines, reason):
    with pytest.raises(InputError, match=reason):
        english(make("+18004446666", *lines))
    assert requests_sent(session) == 0


def test_the_sip_password_is_sent_but_never_shown_or_kept(english, sandbox, session):
    secret = "correct horse battery staple"
    result = english(make("sip:alice@example.com", 'the url is "https://example.com/voice.xml"',
                          'the sip auth username is "alice"', f'the sip auth password is "{secret}"'))
    params = CallStore(sandbox.store).get_call(result.value.sid).params
    assert params["SipAuthUsername"] == "alice" and "SipAuthPassword" not in params
    assert secret not in repr(result.facts) and secret not in result.value.model_dump_json()

    with pytest.raises(InputError) as caught:  # a password for a phone number is refused without echoing it
        english(make("+18004446666", 'the url is "https://example.com/voice.xml"',
                     'the sip auth username is "alice"', f'the sip auth password is "{secret}"'))
    assert "for calls to a SIP address" in str(caught.value) and secret not in str(caught.value)
    with pytest.raises(CompileError) as missing:
        english(make("sip:alice@example.com", 'the url is "https://example.com/voice.xml"',
                     f'the sip auth password is "{secret}"', "the timeout is 601"))
    assert secret not in str(missing.value)


@pytest.mark.parametrize(
    ("sender", "to", "code"),
    [("+15005550006", "+15005550001", 21217), ("+15005550006", "+15005550002", 21214),
     ("+15005550006", "+15005550003", 21215), ("+15005550006", "+15005550004", 21216),
     ("+15005550001", "+18004446666", 21212)],
)
def test_twilio_errors_come_back_as_remote_errors_with_their_code(english, sender, to, code):
    text = make(to, 'the url is "http://demo.twilio.com/docs/voice.xml"').replace("+15005550006", sender)
    with pytest.raises(RemoteError) as caught:
        english(text)
    err = caught.value
    assert (err.code, err.status) == (code, 400)
    assert err.more_info == f"https://www.twilio.com/docs/errors/{code}"
    assert str(err).startswith("Twilio refused to make the phone call") and "Traceback" not in str(err)
    assert getattr(err, "where", "").startswith("line 1:")


def _seed_day(sandbox) -> list[dict]:
    """Calls on and around 2022-03-01, completed or busy, with different lengths."""
    rows = []
    for hours, status, duration in [(-1, "completed", 10), (1, "completed", 20), (14, "busy", None),
                                    (15, "completed", 45), (16, "completed", 90), (23, "no-answer", None),
                                    (26, "completed", 30), (97, "completed", 5), (98, "busy", None)]:
        row = {"to": "+18004446666", "status": status, "start_time": BASE + timedelta(hours=hours)}
        if duration is not None:
            row["duration"] = duration
        rows.append(row)
    seed(sandbox, *rows)
    return rows


def test_read_calls_filtered_by_status_and_start_time_exactly(english, sandbox):
    rows = _seed_day(sandbox)
    after = BASE + timedelta(hours=15)
    found = english('read some phone calls whose status is "completed" '
                    'and whose start time is after "2022-03-01T15:00:00Z"').value
    expected = sorted(r["start_time"] for r in rows if r["status"] == "completed" and r["start_time"] > after)
    assert sorted(c.start_time for c in found) == expected  # 15:00 itself is not after 15:00
    assert all(isinstance(c, TwilioCall) and c.status == "completed" for c in found)

    window = english('the start date is "2022-03-01T12:00:00Z"\n'
                     'the end date is "2022-03-02T03:00:00Z"\n'
                     "read some phone calls whose start time is after the start date "
                     "and whose start time is before the end date\n").value
    assert sorted(c.start_time for c in window) == [BASE + timedelta(hours=h) for h in (14, 15, 16, 23, 26)]

    on_day = english("read some phone calls whose start time is 2022-03-01").value
    assert len(on_day) == 5
    ended = english("read some phone calls whose end time is after 2022-03-04").value
    assert [c.duration for c in ended] == [5]


def test_status_is_pushed_to_twilio_so_one_page_holds_every_match(english, session, sandbox):
    seed(sandbox, *({"to": "+18004446666", "status": "busy"} for _ in range(1500)))
    seed(sandbox, *({"to": "+18004446666", "status": "completed", "duration": 12} for _ in range(3)))
    found = english('read some phone calls whose status is "completed"').value
    assert len(found) == 3
    assert requests_sent(session) == 1  # 1,503 calls, but only the 3 completed ones come back


def test_a_field_twilio_cannot_filter_is_filtered_locally(english, sandbox):
    rows = _seed_day(sandbox)
    long_calls = english("read some phone calls whose duration is at least 30").value
    assert sorted(c.duration for c in long_calls) == sorted(r["duration"] for r in rows if r.get("duration", 0) >= 30)
    cheap = english('read some phone calls whose status is "completed" and whose price is at least -0.0130').value
    assert {c.duration for c in cheap} == {5, 10, 20, 30, 45}
    either = english('read some phone calls whose status is "busy" or whose duration is at most 5').value
    assert len(either) == 3


def test_filters_on_numbers_and_parent_call(english, sandbox):
    (parent,) = seed(sandbox, {"to": "+18004446666", "from": "+15005550006", "status": "completed"})
    (child,) = seed(sandbox, {"to": "client:alice", "from": "+18004446666", "status": "completed",
                              "parent_call_sid": parent})
    found = english(f'read some phone calls whose parent call sid is "{parent}"').value
    assert [c.sid for c in found] == [child]
    by_numbers = english('read some phone calls whose sender number is "+15005550006" '
                         'and whose recipient number is "+18004446666"').value
    assert [c.sid for c in by_numbers] == [parent]


def test_first_n_reads_one_page_of_n(english, session, sandbox):
    seed(sandbox, *({"to": "+18004446666", "status": "completed"} for _ in range(300)))
    assert len(english("read the first 20 phone calls").value) == 20
    assert requests_sent(session) == 1


def test_singular_read_by_sid_fetches_once_or_says_not_found(english, session):
    made = english(make("+18004446666", 'the url is "http://demo.twilio.com/docs/voice.xml"')).value
    before = requests_sent(session)
    call = english(f'read a phone call whose sid is "{made.sid}"').value
    assert call.sid == made.sid and call.status in ("queued", "ringing")
    assert requests_sent(session) - before == 1
    with pytest.raises(NotFoundError, match="no phone call matches"):
        english(f'read a phone call whose sid is "CA{"0" * 32}"')


def test_delete_then_read_says_not_found(english):
    result = english(make("+18004446666", 'the url is "http://demo.twilio.com/docs/voice.xml"')
                     + "delete a phone call where\n  the call sid is the twilio call's sid\n")
    sid = result.value
    assert sid == result.facts["twilio call"].sid
    with pytest.raises(NotFoundError):
        english(f'read a phone call whose sid is "{sid}"')
    with pytest.raises(NotFoundError, match=f"no phone call {sid} to delete"):
        english(f'delete a phone call where\n  the call sid is "{sid}"\n')


def test_a_malformed_call_sid_is_rejected_before_any_request(english, session):
    with pytest.raises(CompileError, match="CA followed by 32 hexadecimal digits"):
        english('delete a phone call where\n  the call sid is "SM123"\n')
    assert requests_sent(session) == 0


CALL_PROCEDURES = [p for p in BOOK.registry if p.signature.noun == "phone call" or p.signature.noun == "phone calls"]
WAITED = [p for p in CALL_PROCEDURES if p.signature.verb == "place"]  # its examples wait: run on a moving clock
CALL_PROCEDURES = [p for p in CALL_PROCEDURES if p not in WAITED]  # (tests/procedures/test_calls_live.py)


@pytest.mark.parametrize(
    "text",
    [pytest.param(e.text, id=f"{p.signature.verb} #{n}") for p in CALL_PROCEDURES for n, e in enumerate(p.examples, 1)],
)
def test_every_example_runs_against_the_sandbox(session, text):
    run(text, BOOK.registry, session)


def test_the_three_procedures_are_registered():
    assert {p.english for p in CALL_PROCEDURES + WAITED} == {"make a phone call", "read some phone calls",
                                                              "delete a phone call", "place a phone call"}
