"""Downloads go only under the downloads folder, whoever asks (an automation, an agent over MCP, the CLI), and a
read-only MCP server offers nothing that writes, in the account or on this computer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from book.errors import InputError
from book.mcp.calls import ServeOptions, Toolbox
from book.mcp.server import _tool
from procedures import BOOK
from sandbox.recordings import insert_recordings
from tests.conftest import requests_sent
from tests.processes import book_command

DOWNLOADS = ("download_a_twilio_media_file", "download_a_twilio_recording")


@pytest.fixture
def media(english) -> tuple[str, str]:
    """A sent message with one picture: (its SID, the picture's SID)."""
    result = english('send a Twilio message where\n  the sender number is "+15005550006"\n'
                     '  the recipient number is "+18004446666"\n  the media urls are "https://example.com/map.png"\n'
                     'read a Twilio media file where\n  the message sid is the twilio message\'s sid\n')
    return result.facts["twilio message"].sid, result.value.sid


@pytest.fixture
def precious(tmp_path: Path) -> Path:
    """A file of the user's, outside the downloads folder, that nothing may replace."""
    path = tmp_path / "elsewhere" / "precious.txt"
    path.parent.mkdir()
    path.write_text("mine")
    return path


def test_a_read_only_server_offers_no_download_and_runs_none(session, media, precious) -> None:
    session.downloads = precious.parent.parent / "downloads"
    box = Toolbox(BOOK, session, ServeOptions(read_only=True))
    names = {tool.name for tool in box.tools}
    assert not names & set(DOWNLOADS)
    assert not [t for t in box.tools if t.procedure is not None and t.procedure.changes_things]
    message_sid, media_sid = media
    before = requests_sent(session)
    attack = {"message_sid": message_sid, "media_sid": media_sid, "path": str(precious), "overwrite": True}
    called = box.call("download_a_twilio_media_file", attack)
    assert called.is_error and "writes files, and this server is read-only" in called.text
    ran = box.call("run_automation", {"text": f'download a Twilio media file where\n  the message sid is "{message_sid}"\n'
                                              f'  the media sid is "{media_sid}"\n  the path is "{precious}"\n'
                                              "  the overwrite is true\n"})
    assert ran.is_error and "read-only" in ran.text and "nothing was run" in ran.text
    checked = box.call("check_automation", {"text": 'download a Twilio recording where\n  the recording sid is '
                                                    f'"RE{"1" * 32}"\n  the path is "x.wav"\n'})
    assert checked.structured["changes_things"] is True and checked.structured["runs_here"] is False
    assert precious.read_text() == "mine" and requests_sent(session) == before
    assert not session.download_folder().root.exists()


def test_the_download_tools_are_annotated_as_writing(session) -> None:
    tools = {spec.name: spec for spec in Toolbox(BOOK, session).tools}
    for name in DOWNLOADS:
        annotations = _tool(tools[name]).annotations
        assert (annotations.read_only_hint, annotations.destructive_hint, annotations.idempotent_hint) == (False, True, False)
        assert "only under its downloads folder" in tools[name].description
    assert "[writes files]" in tools["run_automation"].description


@pytest.mark.parametrize("path", ["../precious.txt", "{precious}", "~/precious.txt", "link/precious.txt",
                                  "sub/../../precious.txt"])
def test_a_path_out_of_the_downloads_folder_is_refused_before_any_request(session, media, precious, path) -> None:
    downloads = precious.parent.parent / "downloads"
    downloads.mkdir()
    os.symlink(precious.parent, downloads / "link")
    session.downloads = downloads
    message_sid, media_sid = media
    before = requests_sent(session)
    out = Toolbox(BOOK, session).call("download_a_twilio_media_file", {
        "message_sid": message_sid, "media_sid": media_sid, "path": path.format(precious=precious), "overwrite": True})
    assert out.is_error and "nothing was downloaded" in out.text, out.text
    assert requests_sent(session) == before  # not even the media's type was fetched
    assert precious.read_text() == "mine" and os.listdir(precious.parent) == ["precious.txt"]


def test_an_automation_downloads_into_the_folder_and_not_out_of_it(english, session, media, tmp_path) -> None:
    message_sid, media_sid = media
    session.downloads = tmp_path / "downloads"
    download = ('download a Twilio media file where\n  the message sid is "{m}"\n  the media sid is "{s}"\n'
                '  the path is "{path}"\n')
    file = english(download.format(m=message_sid, s=media_sid, path="map.png")).value
    assert file.path == str(tmp_path / "downloads" / "map.png") and file.size > 0
    folder = english(download.format(m=message_sid, s=media_sid, path=".")).value
    assert folder.path == str(tmp_path / "downloads" / f"{media_sid}.png")
    with pytest.raises(InputError, match="goes up a folder"):
        english(download.format(m=message_sid, s=media_sid, path="../map.png"))
    assert not (tmp_path / "map.png").exists()


def test_the_command_line_downloads_under_its_home_or_under_downloads(sandbox, tmp_path) -> None:
    recording = 'download a Twilio recording where\n  the recording sid is "{sid}"\n  the path is "{path}"\n'
    (sid,) = insert_recordings(sandbox.store, [{"duration": 1}])
    env = {"TWILIO_BOOK_API_URL": sandbox.url, "TWILIO_ACCOUNT_SID": sandbox.account_sid,
           "TWILIO_AUTH_TOKEN": sandbox.auth_token}
    home = tmp_path / "home"
    default = book_command("run", "-", home=home, stdin=recording.format(sid=sid, path="a.wav"), env=env)
    assert default.returncode == 0, default.stderr
    assert (home / "downloads" / "a.wav").read_bytes()[:4] == b"RIFF"
    chosen = book_command("run", "--downloads", str(tmp_path / "mine"), "-", home=home,
                          stdin=recording.format(sid=sid, path=tmp_path / "a.wav"), env=env)
    assert chosen.returncode == 1 and "outside the downloads folder" in chosen.stderr
    assert "Traceback" not in chosen.stderr and not (tmp_path / "a.wav").exists()
