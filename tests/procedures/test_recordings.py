"""Recordings and transcriptions in English, through the real SDK against the sandbox."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from book.errors import CompileError, InputError, NotFoundError, RemoteError
from concepts import File, TwilioRecording, TwilioTranscription
from procedures import BOOK
from sandbox import SandboxServer
from sandbox.audio import MAX_SECONDS
from sandbox.recordings import insert_recordings, insert_transcriptions
from tests.conftest import requests_sent
from tests.sandbox.test_sandbox_recordings import assert_playable_mp3, assert_playable_wav

CALL = "CA5ef8732a3c49700934481addd5ce1659"
OTHER_CALL = "CA" + "7" * 32
CONFERENCE = "CF" + "2" * 32
EXAMPLE_RECORDING = "RE557ce644e5ab84fa21cc21112e22c485"  # the SID the docstring examples use
DAY = datetime(2022, 3, 1, tzinfo=timezone.utc)

DOWNLOAD = '''download a Twilio recording where
  the recording sid is "{sid}"
  the path is "{path}"
'''




@pytest.fixture
def in_tmp(tmp_path: Path, session) -> Path:
    """The session's downloads folder: where every download goes."""
    session.downloads = tmp_path
    return tmp_path


def seed(sandbox: SandboxServer, *rows: dict) -> list[str]:
    return insert_recordings(sandbox.store, rows)


# -- reading recordings ----------------------------------------------------------------------------

def test_recordings_of_a_call_are_read_with_the_call_sid_sent_to_twilio(sandbox, english, session):
    mine = seed(sandbox, {"call_sid": CALL, "duration": 42}, {"call_sid": CALL, "duration": 3})
    seed(sandbox, *[{"call_sid": OTHER_CALL}] * 1500)  # more than a page: filtering locally would take 2 requests
    found = english(f'read some Twilio recordings whose call sid is "{CALL}"').value
    assert sorted(r.sid for r in found) == sorted(mine)
    assert requests_sent(session) == 1
    recording = next(r for r in found if r.duration == 42)
    assert isinstance(recording, TwilioRecording)
    assert (recording.call_sid, recording.channels, recording.source) == (CALL, 1, "OutboundAPI")
    assert recording.status == "completed"
    assert recording.price == -0.0025 and recording.price_unit == "USD"
    assert recording.start_time is not None and recording.start_time.tzinfo is not None
    assert recording.media_url.endswith(f"/Recordings/{recording.sid}")


def test_recordings_of_a_conference(sandbox, english):
    (conference,) = seed(sandbox, {"conference_sid": CONFERENCE})
    seed(sandbox, {"call_sid": CALL})
    found = english(f'read some Twilio recordings whose conference sid is "{CONFERENCE}"').value
    assert [(r.sid, r.source, r.call_sid) for r in found] == [(conference, "Conference", None)]


def test_date_created_is_widened_to_days_for_twilio_and_refined_locally(sandbox, english):
    sids = seed(
        sandbox,
        {"date_created": DAY + timedelta(days=2, hours=1)},   # 03-03 01:00
        {"date_created": DAY + timedelta(days=1, hours=15)},  # 03-02 15:00
        {"date_created": DAY + timedelta(hours=9)},           # 03-01 09:00
        {"date_created": DAY - timedelta(hours=1)},           # 02-28 23:00
    )
    assert [r.sid for r in english("read some Twilio recordings whose date created is 2022-03-01").value] == [sids[2]]
    after = english("read some Twilio recordings whose date created is after 2022-03-01").value
    assert [r.sid for r in after] == sids[:2]
    window = english('the start date is "2022-03-01T12:00:00Z"\n'
                     'the end date is "2022-03-03T00:00:00Z"\n'
                     "read some Twilio recordings whose date created is after the start date "
                     "and whose date created is before the end date").value
    assert [r.sid for r in window] == [sids[1]]
    at_most = english("read some Twilio recordings whose date created is at most 2022-03-01").value
    assert [r.sid for r in at_most] == sids[2:]


def test_fields_twilio_cannot_filter_are_filtered_locally(sandbox, english):
    long_one, _, _ = seed(sandbox, {"duration": 75, "channels": 2}, {"duration": 12}, {"duration": 90, "status": "absent"})
    found = english('read some Twilio recordings whose duration is at least 60 and whose status is "completed"').value
    assert [r.sid for r in found] == [long_one]
    assert english('read some Twilio recordings whose source is "RecordVerb"').value == []


def test_a_count_asks_twilio_for_that_many_and_pages_follow_next_page_uris(sandbox, english, session):
    sids = seed(sandbox, *({"date_created": DAY - timedelta(seconds=i)} for i in range(1005)))
    assert [r.sid for r in english("read 3 Twilio recordings").value] == sids[:3]
    assert requests_sent(session) == 1
    everything = english("read some Twilio recordings whose duration is 5").value  # a local filter: full pages
    assert [r.sid for r in everything] == sids
    assert requests_sent(session) == 1 + 2


def test_a_recording_by_sid_is_fetched_once_or_not_found(sandbox, english, session):
    (sid,) = seed(sandbox, {})
    assert english(f'read a Twilio recording whose sid is "{sid}"').value.sid == sid
    assert requests_sent(session) == 1
    with pytest.raises(NotFoundError, match="no twilio recording matches"):
        english('read a Twilio recording whose sid is "RE00000000000000000000000000000000"')


@pytest.mark.parametrize(("clause", "problem"), [
    ('whose call sid is "CA123"', "not a call SID"),
    ('whose conference sid is "CA5ef8732a3c49700934481addd5ce1659"', "not a conference SID"),
])
def test_a_malformed_sid_in_a_filter_is_refused_before_any_request(english, session, clause, problem):
    with pytest.raises(InputError, match=problem):
        english(f"read some Twilio recordings {clause}")
    assert requests_sent(session) == 0


# -- downloading -----------------------------------------------------------------------------------

def test_download_as_wav_writes_a_playable_file(sandbox, english, in_tmp):
    (sid,) = seed(sandbox, {"duration": 2})
    file = english(DOWNLOAD.format(sid=sid, path="call.wav")).value
    assert isinstance(file, File)
    assert (file.path, file.content_type) == (str(in_tmp / "call.wav"), "audio/x-wav")
    data = Path(file.path).read_bytes()
    assert file.size == len(data)
    assert_playable_wav(data, 2)
    assert os.listdir(in_tmp) == ["call.wav"]  # no temporary file left behind


def test_download_as_mp3_by_format_or_by_extension(sandbox, english, in_tmp):
    (sid,) = seed(sandbox, {"duration": 600})
    by_format = english(DOWNLOAD.format(sid=sid, path="a.audio") + '  the format is "MP3"\n').value
    by_extension = english(DOWNLOAD.format(sid=sid, path="b.mp3")).value
    for file in (by_format, by_extension):
        assert file.content_type == "audio/mpeg"
        assert_playable_mp3(Path(file.path).read_bytes(), MAX_SECONDS)


def test_a_folder_gets_the_file_named_after_the_recording(sandbox, english, in_tmp):
    (sid,) = seed(sandbox, {})
    (in_tmp / "downloads").mkdir()
    file = english(DOWNLOAD.format(sid=sid, path="downloads") + '  the format is "wav"\n').value
    assert file.path == str(in_tmp / "downloads" / f"{sid}.wav")


def test_an_existing_file_is_kept_unless_the_overwrite_is_true(sandbox, english, session, in_tmp):
    (sid,) = seed(sandbox, {})
    (in_tmp / "call.wav").write_bytes(b"precious")
    with pytest.raises(InputError, match="already exists.*the overwrite is true"):
        english(DOWNLOAD.format(sid=sid, path="call.wav"))
    assert requests_sent(session) == 0 and (in_tmp / "call.wav").read_bytes() == b"precious"
    file = english(DOWNLOAD.format(sid=sid, path="call.wav") + "  the overwrite is true\n").value
    assert file.size > 1000 and (in_tmp / "call.wav").read_bytes()[:4] == b"RIFF"


def test_downloading_a_missing_recording_says_so_and_writes_nothing(sandbox, english, in_tmp):
    with pytest.raises(RemoteError, match="refused to download the recording.*was not found") as caught:
        english(DOWNLOAD.format(sid="RE" + "0" * 32, path="gone.wav"))
    assert caught.value.code == 20404 and caught.value.status == 404
    assert os.listdir(in_tmp) == []


@pytest.mark.parametrize(("lines", "error", "problem"), [
    ('  the recording sid is "CA5ef8732a3c49700934481addd5ce1659"\n  the path is "x.wav"\n',
     CompileError, "not a recording SID"),
    ('  the recording sid is "RE557ce644e5ab84fa21cc21112e22c485"\n  the path is "x.wav"\n  the format is "ogg"\n',
     CompileError, "'wav' or 'mp3'"),
    ('  the recording sid is "RE557ce644e5ab84fa21cc21112e22c485"\n  the path is "x.wav"\n  the format is "mp3"\n',
     InputError, "ends in .wav but the format is 'mp3'"),
    ('  the recording sid is "RE557ce644e5ab84fa21cc21112e22c485"\n  the path is "no/such/folder/x.wav"\n',
     InputError, "does not exist"),
])
def test_bad_download_inputs_are_refused_before_any_request(english, session, in_tmp, lines, error, problem):
    with pytest.raises(error, match=problem):
        english("download a Twilio recording where\n" + lines)
    assert requests_sent(session) == 0


# -- transcriptions --------------------------------------------------------------------------------

def test_the_transcriptions_of_a_recording_use_its_own_list(sandbox, english):
    first, second = seed(sandbox, {"duration": 61}, {})
    (mine,) = insert_transcriptions(sandbox.store, [{"recording_sid": first, "transcription_text": "Call me back"}])
    insert_transcriptions(sandbox.store, [{"recording_sid": second, "transcription_text": "Wrong number"}])
    found = english(f'read some Twilio transcriptions whose recording sid is "{first}"').value
    assert [t.sid for t in found] == [mine]
    transcription = found[0]
    assert isinstance(transcription, TwilioTranscription)
    assert (transcription.transcription_text, transcription.duration, transcription.price, transcription.type) == (
        "Call me back", 61, -0.1, "fast")
    assert english(f'read some Twilio transcriptions whose recording sid is "RE{"0" * 32}"').value == []


def test_the_account_transcriptions_filtered_locally(sandbox, english):
    recording, = seed(sandbox, {})
    done, _ = insert_transcriptions(sandbox.store, [
        {"recording_sid": recording, "transcription_text": "About my order 1234"},
        {"recording_sid": recording, "status": "failed"},
    ])
    assert len(english("read some Twilio transcriptions").value) == 2
    found = english('read some Twilio transcriptions whose transcription text contains "order"').value
    assert [t.sid for t in found] == [done]
    assert english(f'read a Twilio transcription whose sid is "{done}"').value.status == "completed"
    with pytest.raises(NotFoundError):
        english(f'read a Twilio transcription whose sid is "TR{"0" * 32}"')
    with pytest.raises(InputError, match="not a recording SID"):
        english('read some Twilio transcriptions whose recording sid is "CA5ef8732a3c49700934481addd5ce1659"')


def test_each_transcription_of_each_recording_of_a_call(sandbox, english):
    recordings = seed(sandbox, {"call_sid": CALL}, {"call_sid": CALL})
    insert_transcriptions(sandbox.store, [{"recording_sid": sid, "transcription_text": f"part {n}"}
                                          for n, sid in enumerate(recordings)])
    result = english(f'read some Twilio recordings whose call sid is "{CALL}"\n'
                     "process each recording as follows\n"
                     "  read a Twilio transcription whose recording sid is the recording's sid\n"
                     "  get the twilio transcription's transcription text\n")
    assert sorted(result.value) == ["part 0", "part 1"]


# -- the documented examples -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["read some Twilio recordings", "read some Twilio transcriptions",
                                  "download a Twilio recording"])
def test_every_example_runs(sandbox, english, in_tmp, name):
    procedure = next(p for p in BOOK.registry if p.english == name)
    (recording,) = seed(sandbox, {"sid": EXAMPLE_RECORDING, "call_sid": CALL, "duration": 75,
                                  "date_created": DAY + timedelta(hours=10)})
    insert_transcriptions(sandbox.store, [{"recording_sid": recording, "transcription_text": "my order is late"}])
    assert procedure.examples
    for example in procedure.examples:
        result = english(example.text).value
        assert result, f"{example.title!r} found nothing"
