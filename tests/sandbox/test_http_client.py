"""BookHttpClient against a scripted HTTP server on loopback: retries, never-resend, host pinning."""

from __future__ import annotations

import base64
import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from book.errors import ConnectionError_, DeliveryUnknownError, RemoteError
from book.http import BACKOFF_CAP, RETRY_AFTER_CAP, BookHttpClient

MESSAGES = "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json"


@dataclass(frozen=True)
class Respond:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: str = '{"ok": true}'


@dataclass(frozen=True)
class Reset:
    """Read the whole request, then drop the connection with a TCP reset and no response."""


@dataclass(frozen=True)
class Hang:
    """Read the whole request, then answer nothing for `seconds`."""

    seconds: float


Action = Respond | Reset | Hang


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
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.handle(self)

            do_POST = do_DELETE = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # resets and hangs end connections abruptly on purpose

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        with self._lock:
            self.seen.append(Seen(handler.command, handler.path, dict(handler.headers), body))
            action = self.script.pop(0) if self.script else Respond(200)
        if isinstance(action, Reset):
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.connection.close()
            handler.close_connection = True
            return
        if isinstance(action, Hang):
            time.sleep(action.seconds)
            handler.close_connection = True
            return
        payload = action.body.encode()
        handler.send_response(action.status)
        for name, value in action.headers:
            handler.send_header(name, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class Sleeps(list[float]):
    """A `sleep` that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def client_for(server_url: str, sleeps: Sleeps, **kwargs: Any) -> BookHttpClient:
    kwargs.setdefault("random", lambda: 0.5)
    return BookHttpClient(server_url, sleep=sleeps, **kwargs)


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
    with ScriptedServer(*[Respond(503)] * 2) as server:
        with pytest.raises(RemoteError) as caught:
            client_for(server.url, sleeps, max_attempts=2).request("GET", MESSAGES, auth=("AC0", token))
    encoded = base64.b64encode(f"AC0:{token}".encode()).decode()
    assert server.seen[0].headers["Authorization"] == f"Basic {encoded}"
    assert "GET Request" in caplog.text  # the SDK's request log ran
    for secret in (token, encoded):
        assert secret not in caplog.text
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value)
