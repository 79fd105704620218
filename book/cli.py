"""The runtime's command line, for any book: run, check and list English automations; watch a list;
connect an account; serve the book over MCP; generate its reference.

    sys.exit(main(APP))          # the book's entry point: `APP` is its `book.app.App`

The book adds its own commands with `App.commands` (a sandbox of its service, a webhook listener).
Imports stay cheap: this module imports only the standard library at load time, and the book is loaded
(`App.load_book`) only by a command that runs, so `--help` loads neither the book, nor lark, nor pydantic,
nor a service's SDK.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from book.arguments import add_connection_arguments, read_source, stopping_gently

if TYPE_CHECKING:
    from book.app import App

EXIT_OK, EXIT_FAILURE, EXIT_LANGUAGE = 0, 1, 2


def cmd_run(args: argparse.Namespace) -> int:
    from book.output import write_json, write_jsonl, write_table
    from book.runtime import Automation
    from book.session import open_session

    app: App = args.app
    text, filename = read_source(args.file)
    book = app.load_book()
    automation = Automation.compile(text, book.registry, filename)  # nothing runs before this passes
    writer = {"table": write_table, "json": write_json, "jsonl": write_jsonl}[args.output]
    with open_session(book, connection=args.connection, sandbox=args.sandbox, notice=app.say) as session:
        if args.once:
            session.watch_polls = 1
        with stopping_gently(session.stop, app.say) if automation.plan.watches else nullcontext():
            # JSON lines stream: each item is written as its page arrives, in constant memory.
            result = automation.run(session, stream=args.output == "jsonl")
            writer(result.value, sys.stdout)
    failed = getattr(result.value, "failed", 0) if automation.plan.watches else 0
    if failed:
        app.say(f"the steps failed for {failed} of the {result.value.handed_on} new items (each is said above); "
                "they are not run again")
        return EXIT_FAILURE
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from book.errors import BookError, LanguageError
    from book.runtime import check

    book = args.app.load_book()
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
            print(f"{args.app.program}: {err}", file=sys.stderr)
        else:
            print(f"{filename}: ok ({len(plan.steps)} statements, calls: "
                  f"{', '.join(p.english for p in plan.procedures) or 'none'})")
    return EXIT_FAILURE if unreadable else EXIT_LANGUAGE if language_errors else EXIT_OK


def cmd_procedures(args: argparse.Namespace) -> int:
    from book.concept import type_words
    from book.docs import pushdown_words

    book = args.app.load_book()
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
        if procedure.pushable:
            print(f"    sent to {book.app.service}: {pushdown_words(procedure)}")
    return EXIT_OK


def build_parser(app: App) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=app.program, description=app.summary or None)
    parser.add_argument("--debug", action="store_true", help="show a traceback for internal errors")
    parser.set_defaults(app=app)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run an English automation", description="Compile an automation, then run it.")
    run.add_argument("file", metavar="FILE|-", help="the automation file, or - for standard input")
    run.add_argument("--output", "-o", choices=("table", "json", "jsonl"), default="table",
                     help="how to print the last line's result (default: table)")
    add_connection_arguments(run, app)
    run.add_argument("--once", action="store_true",
                     help="a 'watch for new ...' line checks once, hands on what is new, and the run goes on "
                     "(for cron); without it a watch runs until Ctrl-C")
    run.set_defaults(func=cmd_run)

    chk = sub.add_parser("check", help="compile automations without running them; report every problem")
    chk.add_argument("files", nargs="+", metavar="FILE", help="automation files (- for standard input)")
    chk.set_defaults(func=cmd_check)

    procs = sub.add_parser("procedures", help="list each procedure's phrase with its inputs and output")
    procs.set_defaults(func=cmd_procedures)

    for extend in (*_runtime_commands(), *app.commands):
        extend(sub, app)
    return parser


def _runtime_commands() -> list[Callable[[Any, App], None]]:
    """Commands that live in their own modules (imported lazily inside their handlers)."""
    from book.docs import add_docs_commands
    from book.mcp import add_mcp_commands
    from book.watch_command import add_watch_commands
    from book.wizard import add_connect_commands

    return [add_connect_commands, add_docs_commands, add_mcp_commands, add_watch_commands]


def main(app: App, argv: Sequence[str] | None = None) -> int:
    """Run the command line of `app`'s book; the exit code: 0 ok, 1 a failure, 2 a mistake in the English."""
    parser = build_parser(app)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_LANGUAGE
    from book.errors import BookError

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
