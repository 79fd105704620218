"""The runtime's command line, for any book: run, check and list English automations; watch a list;
connect an account; serve the book over MCP; generate its reference.

    sys.exit(main(APP))          # the book's entry point: `APP` is its `book.app.App`

The commands live in `book.commands`; the book adds its own with `App.commands` (a sandbox of its service, a
webhook listener). Imports stay cheap: building the parser imports only the standard library, and the book
is loaded (`App.load_book`) only by a command that runs, so `--help` loads neither the book, nor lark, nor
pydantic, nor a service's SDK.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from book import startup, warm
from book.errors import BookError

if TYPE_CHECKING:
    from book.app import App

EXIT_OK, EXIT_FAILURE, EXIT_LANGUAGE = 0, 1, 2


def build_parser(app: App) -> argparse.ArgumentParser:
    from book.commands import RUNTIME_COMMANDS

    parser = argparse.ArgumentParser(prog=app.program, description=app.summary or None)
    parser.add_argument("--debug", action="store_true", help="show a traceback for internal errors")
    parser.set_defaults(app=app, command_line=lambda: _main(app, None))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for extend in (*RUNTIME_COMMANDS, *app.commands):
        extend(sub, app)
    return parser


def main(app: App, argv: Sequence[str] | None = None) -> int:
    """Run the command line of `app`'s book; the exit code: 0 ok, 1 a failure, 2 a mistake in the English.

    A command that reached Temporal (`--temporal`) ends the process here: the Temporal client's native threads
    can abort an interpreter that is shutting down (temporalio/sdk-python#300), so the output is flushed and
    the process exits at once with its code. Called with no `argv` (the program itself), the garbage collector
    spares its start and its shutdown (`book.startup`), and `run` and `check` are handed to the home's warm runtime
    when one serves it (`book.warm`)."""
    if argv is None:
        code = warm.hand_off(app)
        if code is not None:
            return code
    return _main(app, argv)


def _main(app: App, argv: Sequence[str] | None) -> int:
    parser = build_parser(app)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_LANGUAGE
    if argv is None:  # the program itself, not a function called by another: see book.startup
        startup.whole_process()
    code = _run(app, args)
    startup.ending()
    if getattr(args, "temporal", None):
        import os

        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    return code


def _run(app: App, args: argparse.Namespace) -> int:
    try:
        return args.func(args)
    except BookError as err:
        where = getattr(err, "where", None)
        print(f"{app.program}: {where}" if where else f"{app.program}: error", file=sys.stderr)
        print(str(err) if getattr(err, "exit_code", 1) == EXIT_LANGUAGE else f"  {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"{app.program}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): not an error worth a word
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as err:  # a bug in the book, not a user mistake
        if args.debug:
            raise
        print(f"{app.program}: internal error: {type(err).__name__}: {err}\n"
              "  this is a bug in the book; run again with --debug for a traceback and report it", file=sys.stderr)
        return EXIT_FAILURE
