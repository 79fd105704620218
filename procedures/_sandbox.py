"""The Twilio book's fallback: its local sandbox, started for a session that has no connection.

The runtime knows no sandbox: the book gives it `start_sandbox` (`Book(sandbox=...)`), and a session
calls it when a procedure first needs a client and no connection is configured. The sandbox package
imports neither `book` nor `procedures`; its errors become the book's here, at the boundary.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from book.connections import Connection
from book.errors import SandboxError

if TYPE_CHECKING:
    from sandbox import SandboxServer


@contextmanager
def sandbox_errors() -> Iterator[None]:
    """The sandbox's own `SandboxError` (it imports nothing of the book) as the book's, for the user."""
    from sandbox.errors import SandboxError as RawSandboxError

    try:
        yield
    except RawSandboxError as err:
        raise SandboxError(str(err)) from None


def open_sandbox(home: Path) -> SandboxServer:
    """The sandbox whose data lives in the book's home folder (not started)."""
    from sandbox import open_sandbox as _open

    with sandbox_errors():
        return _open(home)


def sandbox_connection(server: SandboxServer) -> Connection:
    """The sandbox's own account, as a connection of the Account SID and Auth Token method."""
    return account_connection(server.account_sid, server.auth_token, server.url)


def account_connection(account_sid: str, auth_token: str, url: str | None = None) -> Connection:
    """A connection of the Account SID and Auth Token method, to `url` (a sandbox's) or to Twilio."""
    from pydantic import SecretStr

    return Connection(name="sandbox" if url else "account", method="auth_token", api_url=url,
                      values={"account_sid": account_sid, "auth_token": SecretStr(auth_token)})


@dataclass
class RunningSandbox:
    """A started sandbox, as a session falls back on it (`book.session.LocalService`)."""

    server: SandboxServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def connection(self) -> Connection:
        return sandbox_connection(self.server)

    def close(self) -> None:
        self.server.close()


def start_sandbox(home: Path) -> RunningSandbox:
    """Start the sandbox of `home` on a free loopback port."""
    server = open_sandbox(home)
    with sandbox_errors():
        server.start()
    return RunningSandbox(server)
