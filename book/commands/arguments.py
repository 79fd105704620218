"""What the commands share: reading an automation, the connection flags, flags added on first use, and
stopping a watch gently. The standard library only, so building the command line stays cheap.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from book.app import App

__all__ = ["DeferredParser", "add_connection_arguments", "positive_seconds", "read_source", "stopping_gently"]


def read_source(path: str) -> tuple[str, str]:
    """An automation's text and the name to report it by; `-` is standard input. Bytes that are not UTF-8
    text are an `EnglishSyntaxError` saying where (`book.source.readable`)."""
    from book.source import readable

    if path == "-":
        return readable(sys.stdin.buffer.read(), "<stdin>"), "<stdin>"
    try:
        with open(path, "rb") as handle:
            return readable(handle.read(), path), path
    except OSError as err:
        from book.errors import BookError

        raise BookError(f"can't read the automation {path!r}: {err.strerror}; check the path") from None


def add_connection_arguments(parser: argparse.ArgumentParser, app: App) -> None:
    """`--connection NAME`, `--sandbox` and `--downloads DIR`, as every command that opens a session takes them."""
    parser.add_argument("--connection", "-c", metavar="NAME",
                        help=f"a named connection (see '{app.program} connections list')")
    parser.add_argument("--sandbox", action="store_true", help="use the local sandbox, even if a connection is configured")
    parser.add_argument("--downloads", metavar="DIR",
                        help="the only folder downloads are written to (default: downloads in the book's home "
                        f"folder, {app.env('HOME')}); a path out of it is refused")


def positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds more than 0 (`--every 30`, `--heartbeat 0.5`)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds; write it like 30 or 0.5") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds more than 0, like 30 or 0.5, not {text}")
    return value


class DeferredParser(argparse.ArgumentParser):
    """A subcommand's parser whose arguments are added on first use: when it parses, or formats its help.

    `connect`'s flags come from the book's connection methods. Adding them only once `connect` is parsed keeps
    the book (with lark and a service's SDK) out of building the CLI and out of `--help`, while
    `connect --help` and its errors read exactly as if the flags had been there all along.
    """

    _add_arguments: Callable[[argparse.ArgumentParser], None] | None = None

    @classmethod
    def defer(cls, parser: argparse.ArgumentParser, add_arguments: Callable[[argparse.ArgumentParser], None]) -> None:
        """Make `parser` call `add_arguments(parser)` on first use.

        `add_parser` always makes a parser of the top-level parser's class, so the class is changed here.
        """
        parser.__class__ = cls
        parser._add_arguments = add_arguments  # type: ignore[attr-defined]

    def _complete(self) -> None:
        if self._add_arguments is not None:
            add, self._add_arguments = self._add_arguments, None
            add(self)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:  # type: ignore[override]
        self._complete()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._complete()
        return super().format_usage()

    def format_help(self) -> str:
        self._complete()
        return super().format_help()



@contextmanager
def stopping_gently(stop: Any, say: Callable[[str], None]) -> Iterator[None]:
    """While a watch runs, Ctrl-C (or SIGTERM) sets `stop` (a `threading.Event`): the watch stops after the
    item in hand, so no item's steps are cut in half; a second Ctrl-C stops at once."""
    import signal

    def gently(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        say("stopping after the item in hand (Ctrl-C again to stop at once)")

    try:
        previous = {sig: signal.signal(sig, gently) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: signals stay as they are
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
