"""`twilio-book`: run, check and list English automations; serve the sandbox; connect an account.

Imports stay cheap: this module imports only the standard library at load time, so `--help` never
loads the twilio SDK (nor pydantic); each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Callable

EXIT_OK, EXIT_FAILURE, EXIT_LANGUAGE = 0, 1, 2


def read_source(path: str) -> tuple[str, str]:
    """An automation's text and the name to report it by; `-` is standard input."""
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(), path
    except OSError as err:
        from book.errors import BookError

        raise BookError(f"can't read the automation {path!r}: {err.strerror}; check the path") from None


def _twilio_book():
    from procedures import BOOK

    return BOOK


def cmd_run(args: argparse.Namespace) -> int:
    from book.output import write_json, write_jsonl, write_table
    from book.runtime import Automation
    from book.session import open_session

    text, filename = read_source(args.file)
    book = _twilio_book()
    automation = Automation.compile(text, book.registry, filename)  # nothing runs before this passes
    writer = {"table": write_table, "json": write_json, "jsonl": write_jsonl}[args.output]
    with open_session(book, connection=args.connection, sandbox=args.sandbox, notice=notice) as session:
        if args.once:
            session.watch_polls = 1
        with stopping_gently(session.stop) if automation.plan.watches else nullcontext():
            # JSON lines stream: each item is written as its page arrives, in constant memory.
            result = automation.run(session, stream=args.output == "jsonl")
            writer(result.value, sys.stdout)
    failed = getattr(result.value, "failed", 0) if automation.plan.watches else 0
    if failed:
        notice(f"the steps failed for {failed} of the {result.value.handed_on} new items (each is said above); "
               "they are not run again")
        return EXIT_FAILURE
    return EXIT_OK


@contextmanager
def stopping_gently(stop: Any) -> Iterator[None]:
    """While a watch runs, Ctrl-C (or SIGTERM) sets `stop` (a `threading.Event`): the watch stops after the
    item in hand, so no item's steps are cut in half; a second Ctrl-C stops at once."""
    import signal

    def gently(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        notice("stopping after the item in hand (Ctrl-C again to stop at once)")

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


def cmd_check(args: argparse.Namespace) -> int:
    from book.errors import BookError, LanguageError
    from book.runtime import check

    book = _twilio_book()
    language_errors = unreadable = False
    for path in args.files:
        try:
            text, filename = read_source(path)
            plan = check(text, book.registry, filename)
        except LanguageError as err:
            language_errors = True
            print(err.render(), file=sys.stderr)
            count = len(err.problems)
            print(f"{filename}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        except BookError as err:  # an unreadable file: say so, and check the others
            unreadable = True
            print(f"twilio-book: {err}", file=sys.stderr)
        else:
            print(f"{filename}: ok ({len(plan.steps)} statements, calls: "
                  f"{', '.join(p.english for p in plan.procedures) or 'none'})")
    return EXIT_FAILURE if unreadable else EXIT_LANGUAGE if language_errors else EXIT_OK


def cmd_procedures(args: argparse.Namespace) -> int:
    from concepts.base import type_words

    book = _twilio_book()
    for procedure in book.registry:
        marks = []
        if procedure.filter_capable:
            marks.append("FILTER-CAPABLE")
        if procedure.page_capable:
            marks.append("page-capable")
        print(procedure.phrase + (f"    [{', '.join(marks)}]" if marks else ""))
        print(f"    {procedure.summary}")
        for item in procedure.inputs:
            need = "required" if item.required else f"optional, default {item.default!r}"
            print(f"    input  the {item.name} ({type_words(item.annotation)}, {need}): {item.description}")
        out = procedure.output
        kind = f"list[{type_words(out.type)}]" if out.plural else type_words(out.type)
        print(f"    output {out.name} ({kind}){': ' + out.description if out.description else ''}")
    return EXIT_OK


def cmd_sandbox_serve(args: argparse.Namespace) -> int:
    from book.sandbox import serve

    serve(host=args.host, port=args.port)
    return EXIT_OK


def cmd_sandbox_reset(args: argparse.Namespace) -> int:
    from book.sandbox import open_sandbox

    sandbox = open_sandbox()
    try:
        sandbox.reset()
        print(f"emptied the sandbox at {sandbox.store.path} (its account SID and token are kept)", file=sys.stderr)
    finally:
        sandbox.close()
    return EXIT_OK


def notice(message: str) -> None:
    """A one-line notice on stderr (stdout stays for results)."""
    print(f"twilio-book: {message}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twilio-book",
        description="Use Twilio in plain English. With no connection configured, automations run on a local sandbox.",
    )
    parser.add_argument("--debug", action="store_true", help="show a traceback for internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run an English automation", description="Compile an automation, then run it.")
    run.add_argument("file", metavar="FILE|-", help="the automation file, or - for standard input")
    run.add_argument("--output", "-o", choices=("table", "json", "jsonl"), default="table",
                     help="how to print the last line's result (default: table)")
    run.add_argument("--connection", "-c", metavar="NAME", help="a named connection (see 'twilio-book connections list')")
    run.add_argument("--sandbox", action="store_true", help="use the local sandbox, even if a connection is configured")
    run.add_argument("--once", action="store_true",
                     help="a 'watch for new ...' line checks once, hands on what is new, and the run goes on "
                     "(for cron); without it a watch runs until Ctrl-C")
    run.set_defaults(func=cmd_run)

    chk = sub.add_parser("check", help="compile automations without running them; report every problem")
    chk.add_argument("files", nargs="+", metavar="FILE", help="automation files (- for standard input)")
    chk.set_defaults(func=cmd_check)

    procs = sub.add_parser("procedures", help="list each procedure's phrase with its inputs and output")
    procs.set_defaults(func=cmd_procedures)

    sandbox = sub.add_parser("sandbox", help="the local Twilio-compatible sandbox")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION")
    serve = sandbox_sub.add_parser("serve", help="run the sandbox in the foreground and print its URL and credentials")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    serve.set_defaults(func=cmd_sandbox_serve)
    reset = sandbox_sub.add_parser("reset", help="empty the sandbox's data")
    reset.set_defaults(func=cmd_sandbox_reset)
    from book.triggers.cli import RECEIVE_HELP, add_sandbox_receive_arguments

    add_sandbox_receive_arguments(sandbox_sub.add_parser("receive", help=RECEIVE_HELP, description=RECEIVE_HELP))
    sandbox.set_defaults(func=lambda a: (sandbox.print_help(), EXIT_LANGUAGE)[1])

    for extend in _extensions():
        extend(sub)
    return parser


def _extensions() -> list[Callable[[Any], None]]:
    """Commands that live in their own modules (imported lazily inside their handlers)."""
    from book.docs import add_docs_commands
    from book.mcp import add_mcp_commands
    from book.triggers import add_trigger_commands
    from book.wizard import add_connect_commands

    return [add_connect_commands, add_docs_commands, add_mcp_commands, add_trigger_commands]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_LANGUAGE
    from book.errors import BookError

    try:
        return args.func(args)
    except BookError as err:
        where = getattr(err, "where", None)
        print(f"twilio-book: {where}" if where else "twilio-book: error", file=sys.stderr)
        print(str(err) if getattr(err, "exit_code", 1) == EXIT_LANGUAGE else f"  {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("twilio-book: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): not an error worth a word
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as err:  # a bug in the book, not a user mistake
        if args.debug:
            raise
        print(f"twilio-book: internal error: {type(err).__name__}: {err}\n"
              "  this is a bug in the book; run again with --debug for a traceback and report it", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
