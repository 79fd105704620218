"""Running the sandbox: `SandboxServer` (its app on loopback in a background thread, `sandbox.loopback`) and `serve`."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import TextIO

from sandbox.app import create_app
from sandbox.call_progress import CallProgress
from sandbox.clock import Clock
from sandbox.errors import SandboxError
from sandbox.loopback import LoopbackServer
from sandbox.status_queue import StatusDispatcher
from sandbox.store import Store

DB_FILENAME = "sandbox.sqlite3"
_START_TIMEOUT = 10.0


class SandboxServer:
    """A Twilio-compatible server on `host` (loopback by default) backed by a SQLite file.

    Use it as a context manager, or call `start()` and `stop()`:

        with SandboxServer(db_path=home / "sandbox.sqlite3") as sandbox:
            client = Client(sandbox.account_sid, sandbox.auth_token,
                            http_client=BookHttpClient(sandbox.url))

    `port=0` picks a free port. `db_path=None` keeps the data in memory for this server's life.
    `clock` (POSIX seconds) decides message timestamps and status; tests pass a `ManualClock`.

    From when it is opened until it is closed, started or not, a sandbox posts the message status
    callbacks that are due, its own and those other sandboxes on the same file left
    (`status_callbacks`, a `StatusDispatcher`): `listen --sandbox` posts those of the messages a
    `twilio-book run` sent and exited. Closing, it posts what is due and leaves the rest in the file.
    """

    def __init__(
        self,
        db_path: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock = time.time,
    ) -> None:
        self.host = host
        self.store = Store(db_path if db_path is not None else ":memory:", clock=clock)
        self.status_callbacks = StatusDispatcher(self.store).start()
        self.call_progress = CallProgress(self.store)
        self._requested_port = port
        self._port: int | None = None
        self._server: LoopbackServer | None = None

    # -- the public face -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321`; only while running."""
        if self._port is None:
            raise SandboxError("The sandbox is not running; start it (or use `with SandboxServer(...)`) first.")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def account_sid(self) -> str:
        """The sandbox account's SID (`AC...`), stable for a given database file."""
        return self.store.account_sid

    @property
    def auth_token(self) -> str:
        """The sandbox account's auth token, stable for a given database file."""
        return self.store.auth_token

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.running

    def reset(self) -> None:
        """Delete all messages and other data; keep the credentials."""
        self.store.reset()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "stopped"
        return f"SandboxServer({where}, account_sid={self.account_sid!r}, db={self.store.path!r})"

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        """Bind the port, start serving in a background thread, and wait until it accepts requests."""
        if self.running:
            return self
        try:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Accepted sockets inherit this: without it, a response written in two parts waits for the
            # client's delayed ACK (about 40 ms a request).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((self.host, self._requested_port))
        except OSError as exc:
            raise SandboxError(
                f"The sandbox could not listen on {self.host}:{self._requested_port} ({exc.strerror}); "
                "choose another port, or 0 for any free one."
            ) from exc
        self._port = sock.getsockname()[1]
        app = create_app(self.store)
        app.state.wake_status_callbacks = self.status_callbacks.wake
        app.state.follow_call = self.call_progress.follow
        server = LoopbackServer(app, sock, keep_alive=30)
        try:
            server.start(timeout=_START_TIMEOUT)
        except TimeoutError:
            server.stop()
            self._port = None
            raise SandboxError(f"The sandbox did not start within {_START_TIMEOUT:.0f} s on {self.host}.") from None
        except OSError as exc:
            server.stop()
            where, self._port = f"{self.host}:{self._port}", None
            raise SandboxError(f"The sandbox could not serve on {where} ({exc}).") from exc
        self._server = server
        return self

    def stop(self) -> None:
        """Stop serving (at once) and wait for the thread; the database stays open until `close()`."""
        if self._server is not None:
            self._server.stop(timeout=_START_TIMEOUT)
        self._server = None
        self._port = None

    def close(self) -> None:
        """Stop serving, post the status callbacks already due (briefly), and close the database."""
        self.stop()
        self.status_callbacks.close()
        self.call_progress.close()
        self.store.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def sandbox_db_path(home: Path) -> Path:
    """Where the sandbox keeps its data inside the book's home folder."""
    return home / DB_FILENAME


def open_sandbox(
    home: Path, *, host: str = "127.0.0.1", port: int = 0, clock: Clock = time.time
) -> SandboxServer:
    """A (not yet started) sandbox whose data lives in the folder `home`."""
    return SandboxServer(sandbox_db_path(home), host=host, port=port, clock=clock)


def serve(home: Path, host: str = "127.0.0.1", port: int = 0, *, out: TextIO = sys.stdout) -> None:
    """Run the sandbox in the foreground until interrupted, printing its URL and credentials."""
    with open_sandbox(home, host=host, port=port) as server:
        print(f"Twilio sandbox listening at {server.url}", file=out)
        print(f"  Account SID: {server.account_sid}", file=out)
        print(f"  Auth token:  {server.auth_token}", file=out)
        print(f"  Data:        {server.store.path}", file=out)
        print("Press Ctrl-C to stop.", file=out, flush=True)
        try:
            while server.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("Sandbox stopped.", file=out)
