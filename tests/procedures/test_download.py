"""The download helper of the procedures, through the real SDK client and the book's HTTP client, on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
from twilio.rest import Client

from book.errors import InputError
from procedures._download import download
from procedures.http import BookHttpClient

ACCOUNT = "AC" + "0" * 32
AUDIO = b"RIFF" + bytes(range(256)) * 64


@pytest.fixture
def racing_server(tmp_path: Path) -> Iterator[str]:
    """Serves AUDIO, but first writes `call.wav` itself, as another program could during a download."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            (tmp_path / "call.wav").write_bytes(b"someone else's")
            self.send_response(200)
            self.send_header("Content-Type", "audio/x-wav")
            self.send_header("Content-Length", str(len(AUDIO)))
            self.end_headers()
            self.wfile.write(AUDIO)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_file_that_appears_during_the_download_is_kept_unless_the_overwrite_is_true(
    racing_server: str, tmp_path: Path
) -> None:
    client = Client(ACCOUNT, "token", http_client=BookHttpClient(racing_server))
    uri = f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{'1' * 32}.wav"
    with pytest.raises(InputError, match="appeared while downloading; it was left as it is.*the overwrite is true"):
        download(client, uri, tmp_path / "call.wav", overwrite=False, what="the recording")
    assert (tmp_path / "call.wav").read_bytes() == b"someone else's"
    assert os.listdir(tmp_path) == ["call.wav"]

    file = download(client, uri, tmp_path / "call.wav", overwrite=True, what="the recording")
    assert (file.path, file.size, file.content_type) == (str(tmp_path / "call.wav"), len(AUDIO), "audio/x-wav")
    assert (tmp_path / "call.wav").read_bytes() == AUDIO
    assert client.http_client.request_count == 2
