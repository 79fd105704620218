"""The sandbox's own HTTP/1.1 server (`sandbox.loopback`): real HTTP over TCP, keep-alive, any body framing,
HEAD, an app's failure as a 500, a malformed request refused, and a stop that does not wait."""

from __future__ import annotations

import http.client
import socket
import time

import pytest

from sandbox.loopback import LoopbackServer


async def echo(scope, receive, send):
    """Answers what it was sent: method, path, query and body; `/fail` raises, `/stream` answers in parts."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/fail":
        raise RuntimeError("the app failed")
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    answer = f"{scope['method']} {scope['path']} {scope['query_string'].decode()} {body.decode()}".encode()
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(answer)).encode())]})
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture
def served():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = LoopbackServer(echo, sock, keep_alive=0.5)
    server.start()
    yield server, sock.getsockname()[1]
    server.stop()


def test_requests_on_one_kept_alive_connection(served):
    _, port = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    answers = []
    for i in range(3):
        conn.request("POST", f"/2010-04-01/Messages.json?n={i}", body=f"Body=hi%20{i}",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        answers.append((response.status, response.read()))
    first_socket = conn.sock
    conn.request("GET", "/again")
    assert conn.getresponse().read() == b"GET /again  "
    assert conn.sock is first_socket  # the same connection throughout
    assert answers == [(201, f"POST /2010-04-01/Messages.json n={i} Body=hi%20{i}".encode()) for i in range(3)]
    conn.close()


def test_a_chunked_body_a_streamed_answer_and_head(served):
    _, port = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("POST", "/chunks", body=iter([b"a=1", b"&b=2"]), encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked"})
    assert conn.getresponse().read() == b"POST /chunks  a=1&b=2"
    conn.request("GET", "/stream")
    streamed = conn.getresponse()
    assert (streamed.status, streamed.getheader("transfer-encoding"), streamed.read()) == (200, "chunked", b"one two three")
    conn.request("HEAD", "/head")
    head = conn.getresponse()
    assert (head.status, head.getheader("content-length"), head.read()) == (201, str(len(b"HEAD /head  ")), b"")
    conn.close()


def test_an_app_that_fails_is_a_500_and_the_server_goes_on(served):
    _, port = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/fail")
    failed = conn.getresponse()
    assert (failed.status, failed.reason, failed.read()) == (500, "Internal Server Error", b"Internal Server Error")
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/fine")
    assert conn.getresponse().status == 201


def test_a_malformed_request_is_refused_with_400(served):
    _, port = served
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = raw.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_an_idle_connection_is_closed_after_keep_alive_seconds(served):
    _, port = served
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"GET /x HTTP/1.1\r\nHost: here\r\n\r\n")
        answer = b""
        while not answer.endswith(b"GET /x  "):
            answer += raw.recv(4096)
        assert answer.startswith(b"HTTP/1.1 201 ")
        started = time.monotonic()
        assert raw.recv(4096) == b""  # closed by the server
        assert 0.3 < time.monotonic() - started < 3


def test_stop_does_not_wait_for_an_open_connection():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = LoopbackServer(echo, sock, keep_alive=30)
    server.start()
    conn = http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=5)
    conn.request("GET", "/x")
    assert conn.getresponse().read() == b"GET /x  "  # the connection stays open, idle
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 0.5 and not server.running
    with pytest.raises(OSError):
        socket.create_connection(sock.getsockname(), timeout=1).close()
