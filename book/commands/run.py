"""`run`, `check` and `procedures`: run an English automation, compile without running, list the procedures.

Only the standard library is imported when the commands are registered; each handler imports the runtime
(lark, pydantic, the book) when it runs.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from book.commands.arguments import add_connection_arguments, read_source, stopping_gently
from book.commands.temporal import add_run_temporal_arguments, cmd_run_temporal

if TYPE_CHECKING:
    from book.app import App

EXIT_OK, EXIT_FAILURE, EXIT_LANGUAGE = 0, 1, 2


def add_run_commands(subparsers: Any, app: App) -> None:
    """Register `run`, `check` and `procedures`; each command's `func(args)` returns an exit code."""
    run = subparsers.add_parser("run", help="run an English automation", description="Compile an automation, then run it.")
    run.add_argument("file", metavar="FILE|-", help="the automation file, or - for standard input")
    run.add_argument("--output", "-o", choices=("table", "json", "jsonl"), default="table",
                     help="how to print the last line's result (default: table)")
    add_connection_arguments(run, app)
    run.add_argument("--once", action="store_true",
                     help="a 'watch for new ...' line checks once, hands on what is new, and the run goes on "
                     "(for cron); without it a watch runs until Ctrl-C")
    add_run_temporal_arguments(run)
    run.set_defaults(func=cmd_run)

    chk = subparsers.add_parser("check", help="compile automations without running them; report every problem")
    chk.add_argument("files", nargs="+", metavar="FILE", help="automation files (- for standard input)")
    chk.set_defaults(func=cmd_check)

    procs = subparsers.add_parser("procedures", help="list each procedure's phrase with its inputs and output")
    procs.set_defaults(func=cmd_procedures)


def cmd_run(args: argparse.Namespace) -> int:
    from book.startup import loading

    if args.temporal:
        return cmd_run_temporal(args)
    app: App = args.app
    text, filename = read_source(args.file)
    with loading():  # the runtime, the book and the plan, made without the collector's passes (book.startup)
        from book.expressions import text_of
        from book.output import write_json, write_jsonl, write_table
        from book.plan import IfStep, SayStep
        from book.runtime import Automation
        from book.session import open_session

        book = app.load_book()
        automation = Automation.compile(text, book.registry, filename)  # nothing runs before this passes
    writer = {"table": write_table, "json": write_json, "jsonl": write_jsonl}[args.output]
    said: list[Any] = []
    with open_session(book, connection=args.connection, sandbox=args.sandbox, notice=app.say,
                      downloads=args.downloads) as session:
        if args.once:
            session.watch_polls = 1
        # `say` lines: printed as they come (table), a JSON line each (jsonl), or kept for the one JSON document
        last_said: list[Any] = []
        if args.output == "jsonl":
            session.say = lambda value: (write_jsonl({"said": value}, sys.stdout), sys.stdout.flush())
        elif args.output == "json":
            session.say = said.append
        else:  # printed as the interpreter would, the last one kept: a result that is it was said already
            def print_line(value: Any) -> None:
                last_said[:] = [value]
                print(text_of(value), flush=True)

            session.say = print_line
        with stopping_gently(session.stop, app.say) if automation.plan.watches else nullcontext():
            # JSON lines stream: each item is written as its page arrives, in constant memory.
            result = automation.run(session, stream=args.output == "jsonl")
            # (a `say` on the last line, or in the branch of an `if` there, has printed its result already)
            said_last = bool(last_said) and result.value is last_said[0] and automation.plan.steps and \
                isinstance(automation.plan.steps[-1], SayStep | IfStep)
            if args.output != "table" or not said_last:
                writer({"said": said, "result": result.value} if said else result.value, sys.stdout)
    failed = getattr(result.value, "failed", 0) if automation.plan.watches else 0
    if failed:
        app.say(f"the steps failed for {failed} of the {result.value.handed_on} new items (each is said above); "
                "they are not run again")
        return EXIT_FAILURE
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from book.errors import BookError, LanguageError
    from book.startup import loading

    with loading():  # the runtime and the book's registry, made without the collector's passes (book.startup)
        from book.runtime import check
        from book.snapshot import load_registry

        registry = load_registry(args.app)  # a snapshot of it when one is current: no book imported
    language_errors = unreadable = False
    for path in args.files:
        filename = "<stdin>" if path == "-" else path
        try:
            text, filename = read_source(path)
            plan = check(text, registry, filename)
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
