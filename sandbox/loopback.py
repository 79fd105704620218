"""A small HTTP/1.1 server for the sandbox's ASGI app: h11 on an asyncio loop in a background thread.

The sandbox is started inside a `twilio-book run` that has no connection, so what starting it costs is
paid at every such run: uvicorn (with its command line, click, and its logging set-up) costs about 16 ms of
CPU to import and up to 0.1 s to stop (it looks for a request to stop once a tenth of a second). This
serves what the sandbox needs, real HTTP/1.1 over TCP as uvicorn's h11 protocol does: keep-alive
connections (closed after `keep_alive` idle seconds), request bodies of any framing, responses with a
length or chunked, HEAD, and a 500 for an app that fails before it answers. It serves no WebSocket (the
sandbox opens a call's as a client) and no lifespan events.

    server = LoopbackServer(app, sock)       # a bound socket
    server.start()                           # serving in its thread; returns once it accepts
    server.stop()                            # at once: open connections are closed
"""

from __future__ import annotations

import asyncio
import socket
import threading
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_to_bytes

import h11

_READ = 64 * 1024
_WRITE_BUFFER = 4 * 1024 * 1024
_SERVER_HEADER = [(b"server", b"twilio-book-sandbox")]


def _reason(status: int) -> bytes:
    """The reason phrase of a status line, as uvicorn writes it (`401 Unauthorized`)."""
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


class LoopbackServer:
    """Serve the ASGI `app` on the bound socket `sock` from a thread of its own."""

    def __init__(self, app: Any, sock: socket.socket, *, keep_alive: float = 30.0) -> None:
        self.app = app
        self.sock = sock
        self.keep_alive = keep_alive
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> None:
        """Start serving; raises the error that stopped it from starting (or `TimeoutError`)."""
        self._thread = threading.Thread(target=self._run, name="twilio-book-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the server did not start within {timeout:.0f} s")
        if self._failure is not None:
            raise self._failure

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, close every connection (a request in progress is cut short), and wait for the thread."""
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stopped.set)
            except RuntimeError:  # the loop closed meanwhile
                pass
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as err:
            self._failure = err
        finally:
            self._ready.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        self.sock.setblocking(False)
        server = await asyncio.start_server(self._connection, sock=self.sock, backlog=128)
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            server.close()
            for task in list(self._connections):
                task.cancel()
            if self._connections:
                await asyncio.gather(*self._connections, return_exceptions=True)
            await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await _Connection(self, reader, writer).serve()
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()


class _Connection:
    """One client's connection: its requests, one after the other (HTTP/1.1 keep-alive)."""

    def __init__(self, server: LoopbackServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.SERVER)
        writer.transport.set_write_buffer_limits(high=_WRITE_BUFFER)  # a page of 1,000 is written without a wait
        sockname = writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        peername = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        self.local = (str(sockname[0]), int(sockname[1]))
        self.peer = (str(peername[0]), int(peername[1]))

    async def _next_event(self, timeout: float | None = None) -> Any:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            if timeout is None:
                data = await self.reader.read(_READ)
            else:
                try:
                    async with asyncio.timeout(timeout):  # (no task of its own, as wait_for makes)
                        data = await self.reader.read(_READ)
                except TimeoutError:
                    return None  # idle too long between requests
            self.h11.receive_data(data)  # b"" is the end of the stream: h11 says ConnectionClosed (or raises)

    async def _write(self, event: Any) -> None:
        parts = self.h11.send_with_data_passthrough(event)  # a body as it is, not copied into one bytes
        if parts:
            self.writer.writelines(parts)
            await self.writer.drain()

    async def serve(self) -> None:
        while True:
            try:
                event = await self._next_event(self.server.keep_alive)
            except h11.RemoteProtocolError as err:
                await self._refuse(err)
                return
            if event is None or isinstance(event, h11.ConnectionClosed):
                return
            if not isinstance(event, h11.Request):
                return
            if not await self._respond(event):
                return
            if self.h11.our_state is h11.MUST_CLOSE or self.h11.their_state is h11.MUST_CLOSE:
                return
            try:
                self.h11.start_next_cycle()
            except h11.LocalProtocolError:  # the request's body was not read to its end: the connection can't go on
                return

    async def _refuse(self, err: h11.RemoteProtocolError) -> None:
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):  # (IDLE: not even a request line was read)
            return
        body = f"Bad request: {err}".encode()
        try:
            await self._write(h11.Response(status_code=err.error_status_hint, reason=_reason(err.error_status_hint), headers=[
                *_SERVER_HEADER, (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]))
            await self._write(h11.Data(data=body))
            await self._write(h11.EndOfMessage())
        except (h11.LocalProtocolError, ConnectionError):
            pass

    async def _respond(self, request: h11.Request) -> bool:
        """Run the app for `request`; whether the connection can take another."""
        target = request.target
        path, _, query = target.partition(b"?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.http_version.decode(),
            "method": request.method.decode(),
            "scheme": "http",
            "path": unquote_to_bytes(path).decode("utf-8", "replace"),
            "raw_path": path,
            "query_string": query,
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in request.headers],
            "client": self.peer,
            "server": self.local,
        }
        body_done = False
        response_done = asyncio.Event()
        started = finished = False

        async def receive() -> dict[str, Any]:
            nonlocal body_done
            if not body_done:
                event = await self._next_event()
                if isinstance(event, h11.Data):
                    return {"type": "http.request", "body": bytes(event.data), "more_body": True}
                body_done = True
                if isinstance(event, h11.EndOfMessage):
                    return {"type": "http.request", "body": b"", "more_body": False}
                return {"type": "http.disconnect"}
            await response_done.wait()  # nothing more comes (a disconnect is seen when the response is done)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal started, finished
            kind = message["type"]
            if kind == "http.response.start" and not started:
                started = True
                headers = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", ())]
                if not any(k == b"server" for k, _ in headers):
                    headers = [*_SERVER_HEADER, *headers]
                status = int(message["status"])
                await self._write(h11.Response(status_code=status, headers=headers, reason=_reason(status)))
            elif kind == "http.response.body" and started and not finished:
                data = message.get("body", b"")
                if data and request.method != b"HEAD":
                    await self._write(h11.Data(data=data))
                if not message.get("more_body", False):
                    finished = True
                    await self._write(h11.EndOfMessage())
                    response_done.set()
            else:
                raise RuntimeError(f"unexpected ASGI message {kind!r} (started={started}, finished={finished})")

        try:
            await self.server.app(scope, receive, send)
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception:
            if not started:
                body = b"Internal Server Error"
                await self._write(h11.Response(status_code=500, reason=b"Internal Server Error", headers=[
                    *_SERVER_HEADER, (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()), (b"connection", b"close")]))
                await self._write(h11.Data(data=body))
                await self._write(h11.EndOfMessage())
            return False
        finally:
            response_done.set()
        if not finished:
            return False
        while self.h11.their_state is h11.SEND_BODY:  # a body the app did not read: read it, to go on
            event = await self._next_event()
            if isinstance(event, h11.ConnectionClosed):
                return False
        return True
