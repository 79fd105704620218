"""A scripted HTTP server on loopback, for the tests that need a server to misbehave on purpose.

    server = LoopbackServer(handle)      # handle(handler) answers each request (GET, POST, DELETE)
    with server: ... server.url ...
    reset(handler)                        # drop a connection with a TCP reset and no answer
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackServer:
    """A threaded HTTP server on a free loopback port whose every request goes to `handle(handler)`."""

    def __init__(self, handle: Callable[[BaseHTTPRequestHandler], None], *, protocol: str = "HTTP/1.0") -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = protocol

            def do_GET(self) -> None:
                handle(self)

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

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def reset(handler: BaseHTTPRequestHandler) -> None:
    """Drop the connection with a TCP reset and no answer."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True
