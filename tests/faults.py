"""A loopback proxy that gets in the way: between the book and the sandbox, it answers at random (a fixed seed)
what a bad day at a service looks like, before or after it forwards the request.

    with FaultProxy(sandbox.url, seed=15, rate=0.3, delay=0.4) as proxy:
        client = BookHttpClient(proxy.url, timeout=0.25)
        ...
        proxy.tally                     # Counter of the faults it made, by name

The faults: 429 with and without Retry-After, 500 and 503, a delay longer than the client's timeout, and a
connection reset, each before the request is forwarded (the sandbox never sees it) or after (the sandbox
did it, the book hears something else). A 429 only ever comes before: a service that did a request does
not say it was refused. The proxy never fails one request (method, path, query and body) more than
`MAX_IN_A_ROW` times in a row, so a client that retries enough gets through; every answer closes its
connection, so the faults alone decide what the client sees. Loopback only, bounded by the test.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.loopback import LoopbackServer, reset

FAULTS = (
    "429 before", "429 Retry-After before", "500 before", "503 before", "delay before", "reset before",
    "500 after", "503 after", "delay after", "reset after",
)
MAX_IN_A_ROW = 3
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


class FaultProxy:
    """Forwards to `target`, failing a `rate` of the requests with one of `FAULTS` (chosen by `seed`)."""

    def __init__(self, target: str, *, seed: int, rate: float, delay: float, faults: tuple[str, ...] = FAULTS) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.random = random.Random(seed)
        self.rate, self.delay, self.faults = rate, delay, faults
        self.tally: Counter[str] = Counter()
        self.requests = 0
        self._in_a_row: Counter[tuple[str, str, bytes]] = Counter()
        self._lock = threading.Lock()
        self._server = LoopbackServer(self.handle, protocol="HTTP/1.1")
        self.url = self._server.url

    def __enter__(self) -> FaultProxy:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    def _choose(self, key: tuple[str, str, bytes]) -> str | None:
        with self._lock:
            self.requests += 1
            fault = self.random.choice(self.faults) if self.random.random() < self.rate else None
            if fault is not None and self._in_a_row[key] >= MAX_IN_A_ROW:
                fault = None
            self._in_a_row[key] = self._in_a_row[key] + 1 if fault else 0
            if fault:
                self.tally[fault] += 1
            return fault

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        fault = self._choose((handler.command, handler.path, body))
        if fault == "reset before":
            return reset(handler)
        if fault in ("429 before", "429 Retry-After before", "500 before", "503 before"):
            status = int(fault[:3])
            headers = [("Retry-After", "1")] if "Retry-After" in fault else []
            return _answer(handler, status, headers, b'{"message": "a fault", "status": %d}' % status)
        if fault == "delay before":
            time.sleep(self.delay)
        status, headers, answer = self._forward(handler, body)
        if fault == "reset after":
            return reset(handler)
        if fault in ("500 after", "503 after"):
            return _answer(handler, int(fault[:3]), [], b'{"message": "a fault"}')
        if fault == "delay after":
            time.sleep(self.delay)
        _answer(handler, status, headers, answer)

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = HTTPConnection(*self.target, timeout=30)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP}
            connection.request(handler.command, handler.path, body=body or None, headers=headers)
            response = connection.getresponse()
            return response.status, [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP], response.read()
        finally:
            connection.close()


def _answer(handler: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    try:
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        if not any(name.lower() == "content-type" for name, _ in headers):
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)
    except OSError:
        pass  # the client timed out and went away
    handler.close_connection = True
