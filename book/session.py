"""Open a session for a book: find its connection, or fall back to the book's local sandbox.

The order is: `sandbox=True`; a named connection; the environment (the variables of the book's connection
methods); the default stored connection; else the book's sandbox (`Book(sandbox=...)`, injected by the book:
the runtime never imports one), with a one-line notice. The sandbox is started only when a procedure first
needs a client, and stopped when the session ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from book.authoring import Book
from book.connections import rate_from_env, resolve_connection
from book.errors import ConnectionError_
from book.interpreter import Session

__all__ = ["LocalService", "open_session"]


class LocalService(Protocol):
    """A running stand-in for the book's service (a local emulator of it), as `Book(sandbox=...)` starts it."""

    @property
    def url(self) -> str: ...

    @property
    def connection(self) -> Any:
        """What the book's `client_factory` takes to reach it (a `book.connections.Connection`)."""

    def close(self) -> None: ...


@contextmanager
def open_session(
    book: Book,
    *,
    connection: str | None = None,
    sandbox: bool = False,
    notice: Callable[[str], None] | None = None,
    home: Path | None = None,
    downloads: Path | None = None,
) -> Iterator[Session]:
    """A `Session` whose client for `book` comes from the resolved connection or the book's sandbox; files
    its procedures write go under `downloads` (by default `<home>/downloads`)."""
    app = book.app
    resolved = None if sandbox else resolve_connection(connection, app=app, methods=book.connection_methods)
    started: list[LocalService] = []
    session = Session(progress=notice, home=home or app.home(), downloads=downloads)

    def make_client() -> Any:
        if book.client_factory is None:
            raise RuntimeError(f"the {book.name} book declares no client factory")
        if resolved is not None:
            session.accounts[book.name] = resolved.identity
            # the book's default rate is the service's own; another API's (`--api-url`: a sandbox, a stand-in)
            # is not paced unless the connection says so
            default = book.default_rate if resolved.api_url is None else None
            session.rates[book.name] = resolved.rate if resolved.rate is not None else default
            return book.client_factory(resolved)
        if book.sandbox is None:
            raise ConnectionError_(f"no connection is configured, and the {book.name} book has no sandbox to "
                                   f"fall back on; add one with: {app.program} connect --name NAME")
        service = book.sandbox(session.home)
        started.append(service)
        if notice is not None:
            why = "as asked" if sandbox else "no connection is configured"
            notice(f"using the local sandbox at {service.url} ({why}; '{app.program} connect' adds a real account)")
        session.accounts[book.name] = service.connection.identity
        session.rates[book.name] = rate_from_env(app)  # the sandbox is paced only when asked
        return book.client_factory(service.connection)

    session.clients[book.name] = make_client
    try:
        yield session
    finally:
        for service in started:
            service.close()
