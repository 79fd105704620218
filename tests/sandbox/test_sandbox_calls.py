"""Calls through the real twilio SDK: create, lifecycle, validation, magic numbers, filters, paging, delete."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from procedures.http import BookHttpClient
from sandbox import ManualClock, SandboxServer, Store
from sandbox.call_store import CALLS, CallStore, price_for
from sandbox.calls import formatted
from tests.conftest import RECIPIENT, SENDER, START

SID = re.compile(r"^CA[0-9a-f]{32}$")
URL = "http://demo.twilio.com/docs/voice.xml"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def calls_of(sandbox: SandboxServer) -> CallStore:
    return CallStore(sandbox.store)


def calls_uri(sandbox: SandboxServer) -> str:
    return f"/2010-04-01/Accounts/{sandbox.account_sid}/Calls.json"


def raw(sandbox: SandboxServer, method: str, uri: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, sandbox.url + uri, auth=(sandbox.account_sid, sandbox.auth_token), timeout=10,
                            **kwargs)


def test_create_returns_a_queued_call_with_twilio_fields(client: Client, sandbox: SandboxServer) -> None:
    call = client.calls.create(to=RECIPIENT, from_=SENDER, url=URL)

    assert SID.match(call.sid)
    assert call.account_sid == sandbox.account_sid
    assert (call.to, call._from, call.to_formatted, call.from_formatted) == \
        (RECIPIENT, SENDER, "(555) 867-5310", "(500) 555-0006")
    assert (call.status, call.direction, call.api_version) == ("queued", "outbound-api", "2010-04-01")
    assert call.date_created == START and call.start_time is None and call.end_time is None
    assert call.duration is None and call.price is None and call.price_unit == "USD"
    assert call.queue_time == "1000" and call.phone_number_sid.startswith("PN")
    assert call.answered_by is None and call.parent_call_sid is None
    assert call.uri == f"/2010-04-01/Accounts/{sandbox.account_sid}/Calls/{call.sid}.json"
    assert call.subresource_uris["recordings"] == call.uri.replace(".json", "/Recordings.json")


def test_status_moves_from_queued_to_ringing_to_in_progress_to_completed(
    client: Client, clock: ManualClock
) -> None:
    sid = client.calls.create(to=RECIPIENT, from_=SENDER, twiml="<Response><Say>Hi</Say></Response>",
                                     machine_detection="Enable").sid
    seen = []
    for step in (0.5, 1.0, 4.0, 30.0):
        clock.advance(step)
        seen.append(client.calls(sid).fetch())
    assert [c.status for c in seen] == ["queued", "ringing", "in-progress", "completed"]
    assert seen[1].start_time == START + timedelta(seconds=1) and seen[1].end_time is None
    assert seen[1].answered_by is None and seen[2].answered_by == "human"
    done = seen[3]
    assert done.end_time == START + timedelta(seconds=35)
    assert (done.duration, done.price) == ("34", "-0.01300")
    assert done.date_updated == done.end_time


def test_the_time_limit_cuts_the_call_short(client: Client, clock: ManualClock) -> None:
    sid = client.calls.create(to=RECIPIENT, from_=SENDER, url=URL, time_limit=3).sid
    clock.advance(60)
    assert client.calls(sid).fetch().duration == "7"  # 4 s ringing, 3 s talking


def test_both_url_and_twiml_are_accepted_as_twilio_does(client: Client) -> None:
    assert client.calls.create(to=RECIPIENT, from_=SENDER, url=URL, twiml="<Response/>").status == "queued"


def test_every_parameter_is_kept_but_the_sip_password(client: Client, sandbox: SandboxServer) -> None:
    call = client.calls.create(
        to="sip:alice@example.com", from_=SENDER, url=URL, sip_auth_username="alice", sip_auth_password="s3cret!",
        status_callback="https://example.com/s", status_callback_event=["initiated", "answered"], record=True,
        recording_status_callback_event=["in-progress", "completed"],
    )
    params = calls_of(sandbox).get_call(call.sid).params
    assert params["SipAuthUsername"] == "alice" and "SipAuthPassword" not in params
    assert params["StatusCallbackEvent"] == ["initiated", "answered"] and params["Record"] == "true"
    assert "s3cret!" not in str(sandbox.store.query("SELECT params FROM calls"))
    assert call.to_formatted == "sip:alice@example.com" and call.phone_number_sid.startswith("PN")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"to": "", "from_": SENDER, "url": URL}, 21201),
        ({"to": RECIPIENT, "from_": "", "url": URL}, 21213),
        ({"to": RECIPIENT, "from_": SENDER}, 21205),
        ({"to": RECIPIENT, "from_": SENDER, "url": "not a url"}, 21205),
        ({"to": RECIPIENT, "from_": SENDER, "application_sid": "AP123"}, 21218),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "method": "PUT"}, 21209),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "send_digits": "1" * 33}, 21206),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "send_digits": "12x"}, 21206),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "timeout": 601}, 21208),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "timeout": 0}, 21208),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "machine_detection": "Maybe"}, 20001),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "machine_detection_speech_threshold": 999}, 20001),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "machine_detection_speech_end_threshold": 5001}, 20001),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "machine_detection_silence_timeout": 1999}, 20001),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "machine_detection_timeout": 60}, 20001),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "trim": "maybe"}, 20001),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "recording_channels": "stereo"}, 20001),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "status_callback_event": ["hungup"]}, 20001),
        ({"to": RECIPIENT, "from_": SENDER, "url": URL, "status_callback": "ftp://x"}, 20001),
        ({"to": RECIPIENT, "from_": SENDER, "twiml": "x" * 4001}, 20001),
        ({"to": "555-1234", "from_": SENDER, "url": URL}, 21211),
        ({"to": RECIPIENT, "from_": "not a number", "url": URL}, 21212),
        ({"to": RECIPIENT, "from_": "client:alice", "url": URL}, 21212),
    ],
)
def test_invalid_requests_are_refused_like_twilio(client: Client, fields: dict[str, Any], code: int) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client.calls.create(**fields)
    assert (caught.value.status, caught.value.code) == (400, code)


@pytest.mark.parametrize(
    ("sender", "to", "code"),
    [("+15005550001", RECIPIENT, 21212), (SENDER, "+15005550001", 21217), (SENDER, "+15005550002", 21214),
     (SENDER, "+15005550003", 21215), (SENDER, "+15005550004", 21216)],
)
def test_magic_test_numbers(client: Client, sandbox: SandboxServer, sender: str, to: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client.calls.create(to=to, from_=sender, url=URL)
    assert caught.value.code == code
    assert sandbox.store.count(CALLS) == 0


def test_clients_and_sip_addresses_can_be_called(client: Client) -> None:
    assert client.calls.create(to="client:alice", from_="client:bob", url=URL).to == "client:alice"
    assert client.calls.create(to="sip:bob@example.com", from_=SENDER, url=URL).status == "queued"


def test_fetch_and_delete(client: Client, sandbox: SandboxServer) -> None:
    sid = client.calls.create(to=RECIPIENT, from_=SENDER, url=URL).sid
    assert client.calls(sid).fetch().sid == sid
    assert client.calls(sid).delete() is True
    for action in (lambda: client.calls(sid).fetch(), lambda: client.calls(sid).delete()):
        with pytest.raises(TwilioRestException) as caught:
            action()
        assert (caught.value.status, caught.value.code) == (404, 20404)
    assert raw(sandbox, "POST", calls_uri(sandbox).replace(".json", f"/{sid}.json")).status_code == 405


# -- listing ------------------------------------------------------------------------------------------


@pytest.fixture
def calls_around_march_1(sandbox: SandboxServer, clock: ManualClock) -> dict[str, str]:
    """Completed calls starting just before, during and after 2022-03-01 GMT, and two that never started."""
    clock.set(utc(2022, 3, 5))
    times = {
        "feb28_late": utc(2022, 2, 28, 23, 59, 59),
        "mar1_start": utc(2022, 3, 1, 0, 0, 0),
        "mar1_noon": utc(2022, 3, 1, 12, 0, 0),
        "mar1_late": utc(2022, 3, 1, 23, 59, 0),  # ends 60 s later, on March 2
        "mar2_start": utc(2022, 3, 2, 0, 0, 0),
    }
    sids = calls_of(sandbox).insert_calls(
        {"to": RECIPIENT, "from_": SENDER, "status": "completed", "start_time": when, "duration": 60}
        for when in times.values()
    )
    calls_of(sandbox).insert_calls([{"to": RECIPIENT, "status": "failed"}, {"to": RECIPIENT, "status": "queued"}])
    return dict(zip(sids, times, strict=False))


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"start_time": "2022-03-01"}, {"mar1_start", "mar1_noon", "mar1_late"}),
        ({"start_time_after": "2022-03-01"}, {"mar1_start", "mar1_noon", "mar1_late", "mar2_start"}),
        ({"start_time_before": "2022-03-01"}, {"feb28_late", "mar1_start", "mar1_noon", "mar1_late"}),
        ({"start_time_after": utc(2022, 3, 1, 12)}, {"mar1_noon", "mar1_late", "mar2_start"}),
        ({"start_time_before": utc(2022, 3, 1, 12)}, {"feb28_late", "mar1_start", "mar1_noon"}),
        ({"end_time": "2022-03-02"}, {"mar1_late", "mar2_start"}),
        ({"end_time_before": "2022-03-01"}, {"feb28_late", "mar1_start", "mar1_noon"}),
        ({"status": "completed", "start_time": "2022-03-01"}, {"mar1_start", "mar1_noon", "mar1_late"}),
        ({"status": "failed"}, {"failed"}),
    ],
)
def test_time_and_status_filters(
    client: Client, calls_around_march_1: dict[str, str], filters: dict[str, Any], expected: set[str]
) -> None:
    names = {sid: name for sid, name in calls_around_march_1.items()}
    found = client.calls.list(**filters)
    assert {names.get(c.sid, c.status) for c in found} == expected


def test_the_status_filter_follows_the_lifecycle(client: Client, clock: ManualClock) -> None:
    sid = client.calls.create(to=RECIPIENT, from_=SENDER, url=URL).sid
    assert [c.sid for c in client.calls.list(status="queued")] == [sid]
    assert client.calls.list(start_time="2022-03-01") == []  # not dialed yet: no start time
    clock.advance(2)
    assert client.calls.list(status="queued") == []
    assert [c.sid for c in client.calls.list(status="ringing", start_time="2022-03-01")] == [sid]
    clock.advance(60)
    assert [c.sid for c in client.calls.list(status="completed", end_time="2022-03-01")] == [sid]


def test_to_from_and_parent_call_filters(client: Client, sandbox: SandboxServer) -> None:
    (parent,) = calls_of(sandbox).insert_calls([{"to": RECIPIENT, "from": SENDER, "status": "completed"}])
    calls_of(sandbox).insert_calls([
        {"to": "client:alice", "from": RECIPIENT, "status": "completed", "parent_call_sid": parent},
        {"to": RECIPIENT, "from": "+15005550010", "status": "busy"},
    ])
    assert len(client.calls.list(to=RECIPIENT)) == 2
    assert len(client.calls.list(from_=SENDER)) == 1
    assert [c.to for c in client.calls.list(parent_call_sid=parent)] == ["client:alice"]


def test_stream_2500_of_5000_with_page_size_1000_takes_3_requests(
    client: Client, sandbox: SandboxServer, http_client: BookHttpClient
) -> None:
    sids = calls_of(sandbox).insert_calls(
        {"to": RECIPIENT, "status": "completed" if i % 2 == 0 else "busy", "start_time": START - timedelta(seconds=i)}
        for i in range(5000)
    )
    http_client.request_count = 0
    found = list(client.calls.stream(status="completed", page_size=1000))
    assert http_client.request_count == 3
    assert [c.sid for c in found] == sids[0::2]  # newest first


def test_envelope_and_the_last_page(sandbox: SandboxServer) -> None:
    sids = calls_of(sandbox).insert_calls(
        {"to": RECIPIENT, "status": "completed", "start_time": START - timedelta(minutes=i)} for i in range(3)
    )
    first = raw(sandbox, "GET", calls_uri(sandbox), params={"PageSize": 2, "Status": "completed"}).json()
    assert [c["sid"] for c in first["calls"]] == sids[:2]
    assert "Status=completed" in first["next_page_uri"] and first["previous_page_uri"] is None
    second = raw(sandbox, "GET", first["next_page_uri"]).json()
    assert [c["sid"] for c in second["calls"]] == sids[2:] and second["next_page_uri"] is None


@pytest.mark.parametrize(
    "params",
    [{"PageSize": "1001"}, {"Status": "done"}, {"ParentCallSid": "CA1"}, {"StartTime>": "yesterday"},
     {"EndTime": "2022-13-01"}],
)
def test_bad_list_parameters_are_400(sandbox: SandboxServer, params: dict[str, str]) -> None:
    response = raw(sandbox, "GET", calls_uri(sandbox), params=params)
    assert response.status_code == 400 and response.json()["code"] == 20001


# -- the store on its own ------------------------------------------------------------------------------


def test_seeding_is_fast_and_reset_empties_calls(sandbox: SandboxServer) -> None:
    began = time.perf_counter()
    sids = calls_of(sandbox).insert_calls({"to": RECIPIENT, "status": "completed"} for _ in range(5000))
    assert time.perf_counter() - began < 2.0
    assert len(set(sids)) == 5000 and sandbox.store.count(CALLS) == 5000
    sandbox.reset()
    assert sandbox.store.count(CALLS) == 0


@pytest.mark.parametrize(
    ("row", "message"),
    [({"to": RECIPIENT, "colour": "red"}, "unknown call fields"), ({"status": "completed"}, "needs 'to'"),
     ({"to": RECIPIENT, "status": "done"}, "status 'done'"), ({"to": RECIPIENT, "sid": "SM" + "0" * 32}, "call SID"),
     ({"to": RECIPIENT, "direction": "sideways"}, "direction")],
)
def test_seeding_refuses_bad_rows(sandbox: SandboxServer, row: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calls_of(sandbox).insert_calls([row])


def test_a_seeded_call_without_status_follows_the_lifecycle() -> None:
    with Store(":memory:", clock=ManualClock(START)) as store:
        (sid,) = CallStore(store).insert_calls([{"to": RECIPIENT, "duration": 90}])
        record = CallStore(store).get_call(sid)
        assert record is not None
        created = record.created_us
        at = [created + s * 1_000_000 for s in (0, 1, 5, 95)]
        assert [record.status_at(t) for t in at] == ["queued", "ringing", "in-progress", "completed"]
        assert record.duration_at(at[-1]) == 94 and record.price_at(at[-1]) == price_for(94) == "-0.02600"


def test_display_formatting() -> None:
    assert [formatted(a) for a in ("+14158675309", "+442071838750", "client:alice")] == \
        ["(415) 867-5309", "+442071838750", "client:alice"]
