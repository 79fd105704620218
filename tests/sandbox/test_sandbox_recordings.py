"""Recordings, transcriptions and Monitor v1 alerts in the sandbox: seeding, filters, paging, real audio."""

from __future__ import annotations

import io
import wave
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from twilio.rest import Client

from procedures.http import BookHttpClient
from sandbox import ManualClock, SandboxServer, Store
from sandbox.alerts import insert_alerts
from sandbox.audio import MAX_SECONDS, SAMPLE_RATE
from sandbox.recordings import insert_recordings, insert_transcriptions
from tests.conftest import START

CALL = "CA" + "1" * 32
CONFERENCE = "CF" + "2" * 32

# Layer III bitrates (kbps) by bitrate index: MPEG-1, and MPEG-2 / 2.5.
_KBPS = {3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
         2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_KBPS[0] = _KBPS[2]
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mp3_frames(data: bytes) -> list[tuple[int, int, int]]:
    """Walk an MP3 stream frame by frame (MPEG audio Layer III headers); `(sample rate, kbps, channels)` each.

    Fails unless the whole stream, after an optional ID3v2 tag, is a sequence of valid frames.
    """
    position = 0
    if data[:3] == b"ID3":
        position = 10 + sum((byte & 0x7F) << (7 * (3 - i)) for i, byte in enumerate(data[6:10]))
    frames = []
    while position < len(data):
        header = int.from_bytes(data[position : position + 4], "big")
        assert header >> 21 == 0x7FF, f"no frame sync at byte {position}"
        version, layer = (header >> 19) & 3, (header >> 17) & 3
        bitrate_index, rate_index = (header >> 12) & 15, (header >> 10) & 3
        assert version != 1 and layer == 1, "not MPEG audio Layer III"
        assert bitrate_index not in (0, 15) and rate_index != 3, "a reserved bitrate or sample rate"
        rate, kbps = _RATES[version][rate_index], _KBPS[version][bitrate_index]
        channels = 1 if (header >> 6) & 3 == 3 else 2
        frames.append((rate, kbps, channels))
        position += (144 if version == 3 else 72) * kbps * 1000 // rate + ((header >> 9) & 1)
    assert position == len(data), "the last frame is cut short"
    return frames


def assert_playable_mp3(data: bytes, seconds: int) -> None:
    frames = mp3_frames(data)
    assert {frame for frame in frames} == {(SAMPLE_RATE, 32, 1)}
    played = len(frames) * 576 / SAMPLE_RATE  # 576 samples a frame in MPEG-2.5 Layer III
    assert seconds <= played <= seconds + 0.5


def assert_playable_wav(data: bytes, seconds: int) -> None:
    with wave.open(io.BytesIO(data)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, SAMPLE_RATE)
        assert audio.getnframes() == seconds * SAMPLE_RATE
        samples = audio.readframes(audio.getnframes())
    assert max(samples) > 0  # a tone, not silence


def get(sandbox: SandboxServer, path: str, **params: Any) -> requests.Response:
    url = path if path.startswith("http") else sandbox.url + path
    return requests.get(url, params=params, auth=(sandbox.account_sid, sandbox.auth_token), timeout=10)


def base(sandbox: SandboxServer) -> str:
    return f"/2010-04-01/Accounts/{sandbox.account_sid}"


# -- recordings --------------------------------------------------------------------------------------

def test_recordings_list_newest_first_with_call_and_conference_filters(sandbox: SandboxServer) -> None:
    sids = insert_recordings(sandbox.store, [
        {"call_sid": CALL, "date_created": START - timedelta(minutes=1)},
        {"conference_sid": CONFERENCE, "date_created": START - timedelta(minutes=2)},
        {"date_created": START - timedelta(minutes=3)},
    ])
    path = f"{base(sandbox)}/Recordings.json"
    assert [r["sid"] for r in get(sandbox, path).json()["recordings"]] == sids
    assert [r["sid"] for r in get(sandbox, path, CallSid=CALL).json()["recordings"]] == sids[:1]
    by_conference = get(sandbox, path, ConferenceSid=CONFERENCE).json()["recordings"]
    assert [(r["sid"], r["source"], r["call_sid"]) for r in by_conference] == [(sids[1], "Conference", None)]


def test_date_created_filters_take_whole_gmt_days_inclusive(sandbox: SandboxServer) -> None:
    day = START.replace(hour=0)
    sids = insert_recordings(sandbox.store, [
        {"date_created": day + timedelta(days=1)},                 # 03-02 00:00
        {"date_created": day + timedelta(days=1) - timedelta(microseconds=1)},  # 03-01 23:59:59.999999
        {"date_created": day},                                     # 03-01 00:00
        {"date_created": day - timedelta(seconds=1)},              # 02-28 23:59:59
    ])
    path = f"{base(sandbox)}/Recordings.json"

    def listed(**params: str) -> list[str]:
        return [r["sid"] for r in get(sandbox, path, **params).json()["recordings"]]

    assert listed(DateCreated="2022-03-01") == sids[1:3]
    assert listed(**{"DateCreated>": "2022-03-01"}) == sids[:3]
    assert listed(**{"DateCreated<": "2022-03-01"}) == sids[1:]
    assert listed(**{"DateCreated>": "2022-03-01T12:00:00Z", "DateCreated<": "2022-03-02"}) == sids[:2]
    assert get(sandbox, path, DateCreated="soon").json()["code"] == 20001


def test_the_sdk_pages_through_recordings(sandbox: SandboxServer, client: Client,
                                         http_client: BookHttpClient) -> None:
    sids = insert_recordings(sandbox.store, ({"date_created": START - timedelta(seconds=i)} for i in range(7)))
    http_client.request_count = 0
    assert [r.sid for r in client.recordings.stream(page_size=3)] == sids
    assert http_client.request_count == 3


@pytest.mark.parametrize(("suffix", "content_type"), [(".wav", "audio/x-wav"), ("", "audio/x-wav"), (".mp3", "audio/mpeg")])
def test_recording_media_is_real_audio_as_long_as_the_recording(
    sandbox: SandboxServer, suffix: str, content_type: str
) -> None:
    short, long = insert_recordings(sandbox.store, [{"duration": 2}, {"duration": 3600}])
    for sid, seconds in ((short, 2), (long, MAX_SECONDS)):
        response = get(sandbox, f"{base(sandbox)}/Recordings/{sid}{suffix}")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == content_type
        if content_type == "audio/mpeg":
            assert_playable_mp3(response.content, seconds)
        else:
            assert_playable_wav(response.content, seconds)


def test_media_of_a_missing_or_absent_recording_is_404(sandbox: SandboxServer) -> None:
    (absent,) = insert_recordings(sandbox.store, [{"status": "absent", "error_code": 13617}])
    for sid in ("RE" + "0" * 32, absent):
        response = get(sandbox, f"{base(sandbox)}/Recordings/{sid}.mp3")
        assert response.status_code == 404 and response.json()["code"] == 20404


def test_only_the_account_in_the_path_may_list(sandbox: SandboxServer) -> None:
    response = get(sandbox, f"/2010-04-01/Accounts/AC{'0' * 32}/Recordings.json")
    assert response.status_code == 401


# -- transcriptions ----------------------------------------------------------------------------------

def test_transcriptions_of_a_recording_and_of_the_account(sandbox: SandboxServer, client: Client) -> None:
    first, second = insert_recordings(sandbox.store, [{"duration": 90}, {}])
    (of_first,) = insert_transcriptions(sandbox.store, [{"recording_sid": first, "transcription_text": "hello"}])
    (of_second,) = insert_transcriptions(sandbox.store, [{"recording_sid": second, "status": "failed"}])

    listed = client.recordings(first).transcriptions.list()
    assert [(t.sid, t.transcription_text, t.duration, float(t.price)) for t in listed] == [(of_first, "hello", "90", -0.1)]
    assert {t.sid for t in client.transcriptions.list()} == {of_first, of_second}
    assert client.transcriptions(of_second).fetch().price is None
    assert client.recordings(first).transcriptions(of_first).fetch().recording_sid == first
    missing = get(sandbox, f"{base(sandbox)}/Recordings/RE{'0' * 32}/Transcriptions.json")
    assert missing.status_code == 404


# -- alerts ------------------------------------------------------------------------------------------

def test_alerts_page_with_absolute_monitor_urls_the_sdk_follows(
    sandbox: SandboxServer, client: Client, http_client: BookHttpClient
) -> None:
    sids = insert_alerts(sandbox.store, ({"date_created": START - timedelta(minutes=i)} for i in range(5)))
    body = get(sandbox, "/v1/Alerts", PageSize=2, LogLevel="error").json()
    meta = body["meta"]
    assert meta["key"] == "alerts" and meta["page"] == 0 and meta["previous_page_url"] is None
    assert meta["next_page_url"].startswith("https://monitor.twilio.com/v1/Alerts?LogLevel=error&PageSize=2&Page=1")
    assert meta["first_page_url"] == meta["url"] == "https://monitor.twilio.com/v1/Alerts?LogLevel=error&PageSize=2&Page=0"
    second = get(sandbox, http_client.target_url(meta["next_page_url"])).json()
    assert [a["sid"] for a in body["alerts"] + second["alerts"]] == sids[:4]

    http_client.request_count = 0
    assert [a.sid for a in client.monitor.v1.alerts.stream(page_size=2)] == sids
    assert http_client.request_count == 3


def test_alert_filters_and_details(sandbox: SandboxServer, client: Client) -> None:
    error, warning, old_warning = insert_alerts(sandbox.store, [
        {"log_level": "error", "request_variables": "To=%2B15558675310", "date_created": START},
        {"log_level": "warning", "date_created": START - timedelta(days=2)},
        {"log_level": "warning", "date_created": START - timedelta(days=3, hours=1)},
    ])
    alerts = client.monitor.v1.alerts
    assert [a.sid for a in alerts.list(log_level="warning")] == [warning, old_warning]
    assert [a.sid for a in alerts.list(start_date="2022-02-27")] == [error, warning]
    assert [a.sid for a in alerts.list(end_date="2022-02-27")] == [warning, old_warning]  # a date: the whole day
    assert [a.sid for a in alerts.list(start_date="2022-02-26T00:00:00Z", end_date="2022-02-27T14:59:59Z")] == [old_warning]
    listed = get(sandbox, "/v1/Alerts").json()["alerts"][0]
    assert "request_variables" not in listed and listed["date_created"] == "2022-03-01T15:00:00Z"
    fetched = alerts(error).fetch()
    assert (fetched.request_variables, fetched.url) == ("To=%2B15558675310", f"https://monitor.twilio.com/v1/Alerts/{error}")


def test_alerts_are_kept_30_days(sandbox: SandboxServer, clock: ManualClock) -> None:
    kept, gone = insert_alerts(sandbox.store, [
        {"date_created": START - timedelta(days=29)},
        {"date_created": START - timedelta(days=31)},
    ])
    assert [a["sid"] for a in get(sandbox, "/v1/Alerts").json()["alerts"]] == [kept]
    assert get(sandbox, f"/v1/Alerts/{gone}").status_code == 404
    assert get(sandbox, "/v1/Alerts", StartDate="2022-01-30").status_code == 200  # 30 days before 03-01
    refused = get(sandbox, "/v1/Alerts", StartDate="2022-01-29T23:59:59Z")
    assert refused.status_code == 400 and "30 days" in refused.json()["message"]
    clock.advance(timedelta(days=2).total_seconds())
    assert get(sandbox, "/v1/Alerts").json()["alerts"] == []


@pytest.mark.parametrize("params", [{"LogLevel": "fatal"}, {"StartDate": "yesterday"}, {"EndDate": "2022-13-01"}])
def test_bad_alert_parameters_are_400(sandbox: SandboxServer, params: dict[str, str]) -> None:
    response = get(sandbox, "/v1/Alerts", **params)
    assert response.status_code == 400 and response.json()["code"] == 20001


def test_alerts_need_credentials(sandbox: SandboxServer) -> None:
    assert requests.get(sandbox.url + "/v1/Alerts", timeout=10).status_code == 401


# -- seeding and reset -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("insert", "row"),
    [(insert_recordings, {"colour": "red"}), (insert_recordings, {"sid": "XX123"}),
     (insert_recordings, {"status": "lost"}), (insert_recordings, {"call_sid": "CA123"}),
     (insert_recordings, {"channels": 3}), (insert_transcriptions, {"recording_sid": "RE" + "0" * 32}),
     (insert_alerts, {"log_level": "fatal"}), (insert_alerts, {"request_method": "PUT"}),
     (insert_alerts, {"service_sid": "nope"})],
)
def test_bad_seed_rows_are_refused(insert: Any, row: dict[str, Any]) -> None:
    with Store(":memory:") as store, pytest.raises(ValueError):
        insert(store, [row])


def test_reset_empties_recordings_transcriptions_and_alerts_but_keeps_credentials(db_path: Any) -> None:
    with Store(db_path) as store:
        (recording,) = insert_recordings(store, [{}])
        insert_transcriptions(store, [{"recording_sid": recording}])
        insert_alerts(store, [{}])
        account = store.account_sid
        store.reset()
        tables = ("recordings", "transcriptions", "alerts")
        assert [store.query(f"SELECT COUNT(*) FROM {table}")[0][0] for table in tables] == [0, 0, 0]
    with Store(db_path) as reopened:
        assert reopened.account_sid == account


def test_seeded_dates_accept_iso_text() -> None:
    with Store(":memory:") as store:
        (sid,) = insert_recordings(store, [{"date_created": "2022-03-01T15:00:00Z", "start_time": "2022-03-01T14:59:00Z"}])
        row = store.query("SELECT start_us, created_us FROM recordings WHERE sid = ?", (sid,))[0]
    assert row[1] - row[0] == 60_000_000
    assert datetime(2022, 3, 1, 15, tzinfo=timezone.utc).timestamp() * 1_000_000 == row[1]
