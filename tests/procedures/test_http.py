"""BookHttpClient against a scripted HTTP server on loopback: retries, never-resend, host pinning, downloads."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from book.errors import ConnectionError_, DeliveryUnknownError, RemoteError
from procedures.http import BACKOFF_CAP, RETRY_AFTER_CAP, BookHttpClient, DownloadResult
from tests.loopback import LoopbackServer, reset

MESSAGES = "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json"


@dataclass(frozen=True)
class Respond:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: str | bytes = '{"ok": true}'


@dataclass(frozen=True)
class Reset:
    """Read the whole request, then drop the connection with a TCP reset and no response."""


@dataclass(frozen=True)
class Hang:
    """Read the whole request, then answer nothing for `seconds`."""

    seconds: float


@dataclass(frozen=True)
class BreakOff:
    """Announce `body` with its full Content-Length, send its first `sent` bytes, then close the connection."""

    body: bytes
    sent: int


Action = Respond | Reset | Hang | BreakOff


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: str


class ScriptedServer:
    """Answers each request with the next scripted action; 200 once the script runs out."""

    def __init__(self, *actions: Action) -> None:
        self.script = list(actions)
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer(self.handle)
        self.url = self._server.url

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        with self._lock:
            self.seen.append(Seen(handler.command, handler.path, dict(handler.headers), body))
            action = self.script.pop(0) if self.script else Respond(200)
        if isinstance(action, Reset):
            return reset(handler)
        if isinstance(action, Hang):
            time.sleep(action.seconds)
            handler.close_connection = True
            return
        if isinstance(action, BreakOff):
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(action.body)))
            handler.end_headers()
            handler.wfile.write(action.body[: action.sent])
            handler.close_connection = True
            return
        payload = action.body if isinstance(action.body, bytes) else action.body.encode()
        handler.send_response(action.status)
        for name, value in action.headers:
            handler.send_header(name, value)
        if not any(name.lower() == "content-type" for name, _ in action.headers):
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def __enter__(self) -> ScriptedServer:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)


class Sleeps(list[float]):
    """A `sleep` that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


TRANSPORT = ["requests"]


@pytest.fixture(autouse=True, params=["requests", "urllib3"])
def transport(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test here runs on both transports (downloads always go through requests)."""
    TRANSPORT[0] = request.param
    yield request.param
    TRANSPORT[0] = "requests"


def client_for(server_url: str, sleeps: Sleeps, **kwargs: Any) -> BookHttpClient:
    kwargs.setdefault("random", lambda: 0.5)
    kwargs.setdefault("transport", TRANSPORT[0])
    client = BookHttpClient(server_url, sleep=sleeps, **kwargs)
    assert client.uses_urllib3(auth=None, allow_redirects=False) == (TRANSPORT[0] == "urllib3")
    return client


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def scripted(request: pytest.FixtureRequest) -> Iterator[ScriptedServer]:
    with ScriptedServer(*getattr(request, "param", ())) as server:
        yield server


# -- reads ---------------------------------------------------------------------------------------


def test_get_429_is_retried_after_retry_after_seconds(sleeps: Sleeps) -> None:
    with ScriptedServer(Respond(429, (("Retry-After", "3"),)), Respond(200)) as server:
        client = client_for(server.url, sleeps)
        response = client.request("GET", MESSAGES)
    assert response.status_code == 200
    assert sleeps == [3.0]
    assert len(server.seen) == client.request_count == 2


def test_retry_after_is_capped(sleeps: Sleeps) -> None:
    with ScriptedServer(Respond(429, (("Retry-After", "3600"),)), Respond(200)) as server:
        client_for(server.url, sleeps).request("GET", MESSAGES)
    assert sleeps == [RETRY_AFTER_CAP]


def test_get_503_is_retried_with_jittered_backoff(sleeps: Sleeps) -> None:
    with ScriptedServer(Respond(503), Respond(503), Respond(200)) as server:
        response = client_for(server.url, sleeps, random=lambda: 0.5).request("GET", MESSAGES)
    assert response.status_code == 200
    assert sleeps == [0.25, 0.5]  # half (the jitter) of 0.5 s, then of 1 s


@pytest.mark.parametrize("status", [500, 502, 504])
def test_get_answered_by_another_5xx_is_retried_and_the_last_answer_is_the_services_error(sleeps: Sleeps, status: int) -> None:
    with ScriptedServer(Respond(status), Respond(200)) as server:
        assert client_for(server.url, sleeps).request("GET", MESSAGES).status_code == 200
    assert len(server.seen) == 2 and sleeps == [0.25]
    with ScriptedServer(*[Respond(status)] * 3) as server:
        assert client_for(server.url, sleeps, max_attempts=3).request("GET", MESSAGES).status_code == status
    assert len(server.seen) == 3


def test_backoff_doubles_up_to_the_cap() -> None:
    client = BookHttpClient("http://127.0.0.1:1", random=lambda: 1.0)
    assert [client.backoff(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert max(client.backoff(n) for n in range(1, 30)) == BACKOFF_CAP


def test_get_gives_up_after_max_attempts_with_a_remote_error(sleeps: Sleeps) -> None:
    body = json.dumps({"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429})
    with ScriptedServer(*[Respond(429, body=body)] * 3) as server:
        client = client_for(server.url, sleeps, max_attempts=3)
        with pytest.raises(RemoteError) as caught:
            client.request("GET", MESSAGES)
    assert (caught.value.status, caught.value.code) == (429, 20429)
    assert "127.0.0.1" in str(caught.value) and "3 attempts" in str(caught.value)
    assert len(server.seen) == client.request_count == 3
    assert len(sleeps) == 2


def test_get_is_retried_after_a_reset_and_a_timeout(sleeps: Sleeps) -> None:
    with ScriptedServer(Reset(), Hang(0.5), Respond(200)) as server:
        client = client_for(server.url, sleeps, timeout=0.2)
        assert client.request("GET", MESSAGES).status_code == 200
    assert len(server.seen) == 3
    assert len(sleeps) == 2


# -- writes --------------------------------------------------------------------------------------


def test_post_429_is_retried(sleeps: Sleeps) -> None:
    with ScriptedServer(Respond(429, (("Retry-After", "1"),)), Respond(201)) as server:
        response = client_for(server.url, sleeps).request("POST", MESSAGES, data={"To": "+15558675310", "Body": "hi"})
    assert response.status_code == 201
    assert [seen.body for seen in server.seen] == ["To=%2B15558675310&Body=hi"] * 2
    assert sleeps == [1.0]


def test_post_503_is_not_retried(sleeps: Sleeps) -> None:
    with ScriptedServer(Respond(503)) as server:
        response = client_for(server.url, sleeps).request("POST", MESSAGES, data={"Body": "hi"})
    assert response.status_code == 503
    assert len(server.seen) == 1
    assert sleeps == []


@pytest.mark.parametrize("failure", [Reset(), Hang(0.6)], ids=["connection reset", "read timeout"])
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_a_write_that_may_have_arrived_is_never_resent(sleeps: Sleeps, failure: Action, method: str) -> None:
    with ScriptedServer(failure) as server:
        client = client_for(server.url, sleeps, timeout=0.2)
        with pytest.raises(DeliveryUnknownError) as caught:
            client.request(method, MESSAGES, data={"Body": "once"})
        assert len(server.seen) == client.request_count == 1
    assert "not resent" in str(caught.value)
    assert sleeps == []


def test_post_to_a_port_nobody_listens_on_is_retried_then_a_remote_error(sleeps: Sleeps) -> None:
    client = client_for(f"http://127.0.0.1:{closed_port()}", sleeps, max_attempts=4, random=lambda: 1.0)
    with pytest.raises(RemoteError) as caught:
        client.request("POST", MESSAGES, data={"Body": "hi"})
    assert type(caught.value) is RemoteError  # not DeliveryUnknownError: it provably never arrived
    assert "after 4 attempts" in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert client.request_count == 4
    assert sleeps == [0.5, 1.0, 2.0]


# -- where requests go ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://monitor.twilio.com/v1/Alerts?PageSize=5&PageToken=PAxyz", "/v1/Alerts?PageSize=5&PageToken=PAxyz"),
        ("https://api.twilio.com:443/2010-04-01/Accounts.json", "/2010-04-01/Accounts.json"),
        ("https://api.us1.twilio.com/2010-04-01/Accounts.json", "/2010-04-01/Accounts.json"),
    ],
)
def test_every_twilio_url_goes_to_base_url(sleeps: Sleeps, url: str, path: str) -> None:
    with ScriptedServer() as server:
        client_for(server.url, sleeps).request("GET", url)
    assert [seen.path for seen in server.seen] == [path]


def test_base_url_may_carry_a_path_prefix(sleeps: Sleeps) -> None:
    with ScriptedServer() as server:
        client_for(server.url + "/proxy/", sleeps).request("GET", MESSAGES + "?PageSize=2")
    assert server.seen[0].path == "/proxy/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json?PageSize=2"


@pytest.mark.parametrize(
    "url",
    ["https://example.com/2010-04-01/Accounts.json", "https://api.twilio.com.evil.example/x", "https://twilio.com@evil.example/x",
     "https://nottwilio.com/x"],
)
def test_a_host_that_is_not_twilio_is_refused_before_sending(sleeps: Sleeps, url: str) -> None:
    with ScriptedServer() as server:
        client = client_for(server.url, sleeps)
        with pytest.raises(RemoteError, match="only to Twilio"):
            client.request("GET", url, auth=("AC1", "token"))
    assert server.seen == [] and client.request_count == 0


def test_without_base_url_plain_http_to_twilio_is_refused() -> None:
    with pytest.raises(RemoteError, match="https"):
        BookHttpClient().request("GET", "http://api.twilio.com/2010-04-01/Accounts.json")


@pytest.mark.parametrize("base_url", ["ftp://127.0.0.1:1", "http://user:pw@127.0.0.1:1", "http://127.0.0.1:1/?x=1", "nonsense"])
def test_an_unusable_base_url_is_a_connection_error(base_url: str) -> None:
    with pytest.raises(ConnectionError_):
        BookHttpClient(base_url)


def test_credentials_reach_the_server_but_never_a_log_or_an_error(sleeps: Sleeps, caplog: pytest.LogCaptureFixture) -> None:
    token = "f00dfeedf00dfeedf00dfeedf00dfeed"
    caplog.set_level(logging.DEBUG)
    with ScriptedServer(*[Respond(503)] * 2) as server, pytest.raises(RemoteError) as caught:
        client_for(server.url, sleeps, max_attempts=2).request("GET", MESSAGES, auth=("AC0", token))
    encoded = base64.b64encode(f"AC0:{token}".encode()).decode()
    assert server.seen[0].headers["Authorization"] == f"Basic {encoded}"
    assert "GET Request" in caplog.text  # the SDK's request log ran
    for secret in (token, encoded):
        assert secret not in caplog.text
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value)


# -- downloads -----------------------------------------------------------------------------------

RECORDING = "RE557ce644e5ab84fa21cc21112e22c485"
RECORDING_URL = MESSAGES.replace("Messages.json", f"Recordings/{RECORDING}.wav")
AUDIO = bytes(range(256)) * 300 + b"\r\n\r\n\x00"  # every byte value, and more than one chunk
WAV = (("Content-Type", "audio/x-wav"),)
TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"


def test_a_download_is_retried_after_a_503_and_the_file_is_complete(sleeps: Sleeps, tmp_path: Path) -> None:
    with ScriptedServer(Respond(503, (("Retry-After", "2"),)), Respond(200, WAV, AUDIO)) as server:
        client = client_for(server.url, sleeps)
        result = client.download(RECORDING_URL, tmp_path / "call.wav", auth=("AC0", TOKEN))
    assert result == DownloadResult(tmp_path / "call.wav", len(AUDIO), "audio/x-wav")
    assert (tmp_path / "call.wav").read_bytes() == AUDIO
    assert os.listdir(tmp_path) == ["call.wav"]  # no temporary file left behind
    assert [seen.path for seen in server.seen] == [RECORDING_URL.removeprefix("https://api.twilio.com")] * 2
    assert server.seen[-1].headers["Authorization"].startswith("Basic ")
    assert sleeps == [2.0]
    assert len(server.seen) == client.request_count == 2


def test_a_download_is_retried_after_a_reset_and_a_timeout(sleeps: Sleeps, tmp_path: Path) -> None:
    with ScriptedServer(Reset(), Hang(0.5), Respond(200, WAV, AUDIO)) as server:
        client = client_for(server.url, sleeps, timeout=0.2)
        client.download(RECORDING_URL, tmp_path / "call.wav", auth=("AC0", TOKEN))
    assert (tmp_path / "call.wav").read_bytes() == AUDIO
    assert len(server.seen) == client.request_count == 3
    assert sleeps == [0.25, 0.5]


@pytest.mark.parametrize("chunk_size", [1, 1000, 1 << 20])
def test_a_binary_body_is_written_byte_for_byte(sleeps: Sleeps, tmp_path: Path, chunk_size: int) -> None:
    with ScriptedServer(Respond(200, (("Content-Type", "application/octet-stream; charset=utf-8"),), AUDIO)) as server:
        client = client_for(server.url, sleeps)
        result = client.download(RECORDING_URL, tmp_path / "x.bin", auth=None, chunk_size=chunk_size)
    assert (tmp_path / "x.bin").read_bytes() == AUDIO
    assert (result.size, result.content_type) == (len(AUDIO), "application/octet-stream")


def test_a_twilio_error_is_a_remote_error_with_its_code_and_no_file(
    sleeps: Sleeps, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = json.dumps({"code": 20404, "message": "The requested resource /Recordings/RE557.wav was not found",
                       "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404})
    with ScriptedServer(Respond(404, body=body)) as server:
        client = client_for(server.url, sleeps)
        with pytest.raises(RemoteError) as caught:
            client.download(RECORDING_URL, tmp_path / "call.wav", auth=("AC0", TOKEN),
                            what=f"the recording {RECORDING}")
    error = caught.value
    assert (error.status, error.code, error.more_info) == (404, 20404, "https://www.twilio.com/docs/errors/20404")
    assert str(error).startswith(f"Twilio refused to download the recording {RECORDING}: The requested resource")
    assert len(server.seen) == client.request_count == 1 and sleeps == []  # a 404 is not retried
    assert os.listdir(tmp_path) == []
    encoded = base64.b64encode(f"AC0:{TOKEN}".encode()).decode()
    for secret in (TOKEN, encoded):
        assert secret not in str(error) and secret not in repr(error) and secret not in caplog.text


def test_an_error_without_a_twilio_body_names_the_file_and_the_status(sleeps: Sleeps, tmp_path: Path) -> None:
    with ScriptedServer(*[Respond(500, (("Content-Type", "text/html"),), "<h1>oops</h1>")] * 2) as server, \
            pytest.raises(RemoteError) as caught:
        client_for(server.url, sleeps, max_attempts=2).download(RECORDING_URL, tmp_path / "call.wav", auth=None)
    assert (caught.value.status, caught.value.code) == (500, None)
    assert str(caught.value) == (f"Twilio refused to download {server.url.removeprefix('http://')}"
                                 f"{RECORDING_URL.removeprefix('https://api.twilio.com')}: HTTP 500")
    assert os.listdir(tmp_path) == []


def test_a_body_that_breaks_off_is_fetched_again_from_the_start(sleeps: Sleeps, tmp_path: Path) -> None:
    with ScriptedServer(BreakOff(AUDIO, 40_000), Respond(200, WAV, AUDIO)) as server:
        client = client_for(server.url, sleeps)
        # small chunks, so the broken attempt writes some of the body before it breaks off
        result = client.download(RECORDING_URL, tmp_path / "call.wav", auth=None, chunk_size=1000)
    assert (tmp_path / "call.wav").read_bytes() == AUDIO and result.size == len(AUDIO)
    assert os.listdir(tmp_path) == ["call.wav"]
    assert len(server.seen) == client.request_count == 2 and sleeps == [0.25]


def test_a_body_that_keeps_breaking_off_leaves_no_partial_file_nor_a_temporary_one(
    sleeps: Sleeps, tmp_path: Path
) -> None:
    (tmp_path / "call.wav").write_bytes(b"earlier")
    with ScriptedServer(*[BreakOff(AUDIO, 40_000)] * 2) as server:
        client = client_for(server.url, sleeps, max_attempts=2)
        with pytest.raises(RemoteError, match="after 2 attempts .the connection was closed before a complete response"):
            client.download(RECORDING_URL, tmp_path / "call.wav", auth=None, overwrite=True)
    assert os.listdir(tmp_path) == ["call.wav"]
    assert (tmp_path / "call.wav").read_bytes() == b"earlier"  # the old file is untouched


def test_an_existing_file_is_refused_before_any_request_unless_overwrite(sleeps: Sleeps, tmp_path: Path) -> None:
    (tmp_path / "call.wav").write_bytes(b"precious")
    with ScriptedServer(Respond(200, WAV, AUDIO)) as server:
        client = client_for(server.url, sleeps)
        with pytest.raises(FileExistsError):
            client.download(RECORDING_URL, tmp_path / "call.wav", auth=None)
        assert server.seen == [] and client.request_count == 0
        assert (tmp_path / "call.wav").read_bytes() == b"precious"
        client.download(RECORDING_URL, tmp_path / "call.wav", auth=None, overwrite=True)
    assert (tmp_path / "call.wav").read_bytes() == AUDIO
    assert os.listdir(tmp_path) == ["call.wav"]


def test_a_download_from_a_host_that_is_not_twilio_is_refused_before_sending(sleeps: Sleeps, tmp_path: Path) -> None:
    with ScriptedServer() as server:
        client = client_for(server.url, sleeps)
        with pytest.raises(RemoteError, match="only to Twilio"):
            client.download("https://example.com/x.wav", tmp_path / "x.wav", auth=("AC0", TOKEN))
    assert server.seen == [] and client.request_count == 0
    assert os.listdir(tmp_path) == []


def test_a_redirect_to_another_host_is_followed_without_credentials(sleeps: Sleeps, tmp_path: Path) -> None:
    with ScriptedServer(Respond(200, WAV, AUDIO)) as storage:
        elsewhere = storage.url.replace("127.0.0.1", "localhost") + "/media/abc"
        with ScriptedServer(Respond(302, (("Location", elsewhere),), "")) as server:
            client = client_for(server.url, sleeps)
            client.download(RECORDING_URL, tmp_path / "call.wav", auth=("AC0", TOKEN))
    assert (tmp_path / "call.wav").read_bytes() == AUDIO
    assert "Authorization" in server.seen[0].headers
    assert [seen.path for seen in storage.seen] == ["/media/abc"]
    assert "Authorization" not in storage.seen[0].headers
    assert client.request_count == 2  # the redirect is a request too


# -- the two transports ---------------------------------------------------------------------------


def test_a_read_whose_body_breaks_off_is_read_again_and_a_write_is_not_resent(sleeps: Sleeps) -> None:
    body = b'{"sid": "SM1", "status": "queued", "padding": "' + b"x" * 4000 + b'"}'
    with ScriptedServer(BreakOff(body, 100), Respond(200, body=body)) as server:
        client = client_for(server.url, sleeps)
        assert client.request("GET", MESSAGES, auth=("AC0", TOKEN)).text == body.decode()
        assert len(server.seen) == client.request_count == 2 and sleeps == [0.25]
    with ScriptedServer(BreakOff(body, 100)) as server:
        client = client_for(server.url, sleeps)
        with pytest.raises(DeliveryUnknownError, match="not resent"):
            client.request("POST", MESSAGES, data={"Body": "once"}, auth=("AC0", TOKEN))
        assert len(server.seen) == client.request_count == 1


def test_auto_sends_by_urllib3_only_in_an_item_run_side_by_side() -> None:
    from book.side_by_side import side_by_side

    client = BookHttpClient("http://127.0.0.1:1")
    seen: list[bool] = []
    side_by_side(4, 2, lambda i: seen.append(client.uses_urllib3(auth=("AC0", "t"), allow_redirects=False)),
                 may_start=lambda: True, finished=lambda outcome: None)
    assert seen == [True] * 4
    assert not client.uses_urllib3(auth=("AC0", "t"), allow_redirects=False)  # not beside others
    assert not BookHttpClient("http://127.0.0.1:1", transport="requests").uses_urllib3(auth=None, allow_redirects=False)
    assert not [t for t in threading.enumerate() if t.name.startswith("book-each")]  # no thread left behind
    with pytest.raises(ValueError, match="transport must be one of"):
        BookHttpClient(transport="aiohttp")


def test_each_thread_sees_its_own_last_response(sleeps: Sleeps) -> None:
    from concurrent.futures import ThreadPoolExecutor

    class Echo(ScriptedServer):
        def handle(self, handler: BaseHTTPRequestHandler) -> None:
            payload = json.dumps({"path": handler.path}).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)

    with Echo() as server:
        client = client_for(server.url, sleeps)

        def one(n: int) -> bool:
            url = f"{MESSAGES}?PageSize={n}"
            client.request("GET", url, auth=("AC0", TOKEN))
            time.sleep(0.01)  # others answer meanwhile
            last = client._test_only_last_response
            return last is not None and json.loads(last.text)["path"].endswith(f"PageSize={n}")

        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(one, range(40)))
    assert client.request_count == 40
