"""Open a session for a book: find its connection, or fall back to the local sandbox.

The order is: `--sandbox`; a named connection; the environment (the variables of the book's connection
methods); the default stored connection; else the sandbox, with a one-line notice. The sandbox is started
only when a procedure first needs a client, and stopped when the session ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from book.authoring import Book
from book.interpreter import Session


@dataclass(frozen=True)
class SandboxCredentials:
    """The sandbox's own account, in the shape a client factory takes."""

    account_sid: str
    auth_token: str = field(repr=False)
    api_url: str

    @property
    def username(self) -> str:
        return self.account_sid

    @property
    def password(self) -> str:
        return self.auth_token


@contextmanager
def open_session(
    book: Book,
    *,
    connection: str | None = None,
    sandbox: bool = False,
    notice: Callable[[str], None] | None = None,
    home: Path | None = None,
) -> Iterator[Session]:
    """A `Session` whose client for `book` comes from the resolved connection or the sandbox."""
    from book.connections import resolve_connection

    resolved = None if sandbox else resolve_connection(connection, methods=book.connection_methods)
    servers: list[Any] = []

    def make_client() -> Any:
        if book.client_factory is None:
            raise RuntimeError(f"the {book.name} book declares no client factory")
        if resolved is not None:
            return book.client_factory(resolved)
        from book.sandbox import open_sandbox

        server = open_sandbox(home).start()
        servers.append(server)
        if notice is not None:
            why = "as asked" if sandbox else "no connection is configured"
            notice(f"using the local sandbox at {server.url} ({why}; 'twilio-book connect' adds a real account)")
        return book.client_factory(SandboxCredentials(server.account_sid, server.auth_token, server.url))

    try:
        yield Session(clients={book.name: make_client}, progress=notice, home=home)
    finally:
        for server in servers:
            server.close()
