"""Who the runtime runs as: the command's name, the service it reaches, and where it keeps state.

The runtime serves any book; a book's distribution says who it is with one `App`:

    APP = App(program="acme-book", service="Acme", service_url="https://api.acme.example",
              load_book=_load, commands=(add_acme_commands,))

`program` names the command in every hint (`acme-book connect`), the environment variables
(`ACME_BOOK_HOME`, `ACME_BOOK_API_URL`, `ACME_BOOK_KEYRING`) and the data folder; `service` and
`service_url` name what a connection reaches. `load_book` imports the book on first use, so building the
command line (and `--help`) loads neither the book, nor lark, nor a service's SDK. This module imports
only the standard library.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from book.authoring import Book

__all__ = ["App"]


def _no_book() -> Book:
    raise RuntimeError("this App has no book to load")


@dataclass(frozen=True)
class App:
    """A book's identity to the runtime: its command, its service, its state folder, its book."""

    program: str = "book"
    """The command (`acme-book`): in hints, environment variable names and the data folder's name."""
    service: str = "the service"
    """The service a connection reaches, as a user names it (`Acme`)."""
    service_url: str | None = None
    """The service's default API URL, shown where a connection without one reaches it."""
    summary: str = ""
    """One line about the command, for `--help`."""
    load_book: Callable[[], Book] = field(default=_no_book, repr=False, compare=False)
    """Imports and returns the book (on first use: never to build the command line)."""
    commands: tuple[Callable[[Any, App], None], ...] = field(default=(), repr=False, compare=False)
    """`add(subparsers, app)` for each command the book adds to the runtime's (its own, lazily imported)."""
    sources: tuple[str, ...] = ()
    """The packages the book is made of (its procedures and concepts): `check` compiles with a snapshot of the
    registry, named after a digest of their modules (`book.snapshot`), instead of importing them. None given: it
    imports the book."""

    @property
    def env_prefix(self) -> str:
        """`acme-book` -> `ACME_BOOK`."""
        return "".join(c if c.isalnum() else "_" for c in self.program).upper()

    def env(self, name: str) -> str:
        """The name of one of the runtime's environment variables: `env("HOME")` -> `ACME_BOOK_HOME`."""
        return f"{self.env_prefix}_{name}"

    def home(self, environ: Mapping[str, str] = os.environ) -> Path:
        """`<PREFIX>_HOME` if set, else the user's data folder for `program`; created (mode 0700) on first use."""
        explicit = environ.get(self.env("HOME"))
        if explicit:
            path = Path(explicit).expanduser()
        else:
            from platformdirs import user_data_dir

            path = Path(user_data_dir(self.program, appauthor=False))
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def say(self, message: str) -> None:
        """A one-line notice on stderr, in the command's name (stdout stays for results)."""
        import sys

        print(f"{self.program}: {message}", file=sys.stderr, flush=True)

    def where(self, api_url: str | None) -> str:
        """Where a connection with `api_url` goes: that URL, the service's default, or the service's name."""
        return api_url or self.service_url or self.service
