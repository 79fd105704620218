"""`worker`, and `run --temporal`: automations on Temporal, for work one machine can't hold (`book.temporal`).

    worker --temporal HOST:PORT [--task-queue Q]              run a worker until Ctrl-C (or SIGTERM)
    run FILE --temporal HOST:PORT [--task-queue Q] [--detach]  start the automation as a workflow; print its
                                                               result, or with --detach its workflow id

Temporal is an optional extra (`pip install 'PROGRAM[temporal]'`): only the standard library is imported
here, and `temporalio` only by a handler that runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from book.commands.arguments import add_connection_arguments, positive_seconds, read_source
from book.temporal import DEFAULT_TASK_QUEUE

if TYPE_CHECKING:
    from book.app import App

EXIT_OK, EXIT_FAILURE = 0, 1


def _target(text: str) -> str:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT; give the Temporal server's address, like "
                                         "127.0.0.1:7233")
    return text


def add_temporal_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """`--temporal HOST:PORT` and `--task-queue Q`."""
    parser.add_argument("--temporal", metavar="HOST:PORT", type=_target, required=required,
                        help="the Temporal server's address (for a local one: 'temporal server start-dev' serves "
                        "127.0.0.1:7233)" + ("" if required else "; runs the automation as a workflow on its workers"))
    parser.add_argument("--task-queue", metavar="Q", default=DEFAULT_TASK_QUEUE,
                        help=f"the task queue the workers poll (default {DEFAULT_TASK_QUEUE})")


def add_run_temporal_arguments(run: argparse.ArgumentParser) -> None:
    """`run`'s flags for Temporal."""
    add_temporal_arguments(run, required=False)
    run.add_argument("--detach", action="store_true",
                     help="with --temporal: print the workflow's id and return at once, without waiting for it")
    run.add_argument("--workflow-id", metavar="ID",
                     help="with --temporal: the workflow's id (default: a new one); a running id is refused")
    run.add_argument("--heartbeat", type=positive_seconds, default=10.0, metavar="SECONDS",
                     help="with --temporal: a call whose worker is silent this long goes to another worker (default 10)")


def add_temporal_commands(subparsers: Any, app: App) -> None:
    """Register `worker`."""
    worker = subparsers.add_parser(
        "worker", help="run automations on Temporal: poll a task queue and run what 'run --temporal' starts",
        description="Run a Temporal worker for this book: it runs the automations that 'run --temporal' (and "
        "'listen --temporal') start, each procedure call as an activity, with this machine's connection (or the "
        "local sandbox). Run as many as you like, on as many machines, with the same book and account; one that "
        f"dies leaves its work to the others. Needs the extra: pip install '{app.program}[temporal]'.")
    add_temporal_arguments(worker, required=True)
    add_connection_arguments(worker, app)
    worker.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from book.session import open_session
    from book.temporal import require

    app: App = args.app
    require(app.program)
    from book.temporal.worker import run_worker

    book = app.load_book()
    with open_session(book, connection=args.connection, sandbox=args.sandbox, notice=app.say,
                      downloads=args.downloads) as session:

        async def serve() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await run_worker(book, session, target=args.temporal, task_queue=args.task_queue, stop=stop,
                             ready=lambda: app.say(f"worker polling the task queue {args.task_queue} on "
                                                   f"{args.temporal}; press Ctrl-C to stop"))

        asyncio.run(serve())
    app.say("worker stopped")
    return EXIT_OK


def cmd_run_temporal(args: argparse.Namespace) -> int:
    """`run FILE --temporal ...`."""
    import asyncio

    from book.temporal import require

    app: App = args.app
    require(app.program)
    from book.output import write_json, write_jsonl, write_table
    from book.runtime import Automation
    from book.temporal.worker import connect, result_of, start_automation, stop_watch

    text, filename = read_source(args.file)
    book = app.load_book()
    watches = Automation.compile(text, book.registry, filename).plan.watches  # nothing starts before this passes
    writer = {"table": write_table, "json": write_json, "jsonl": write_jsonl}[args.output]

    async def run() -> Any:
        client = await connect(args.temporal)
        handle = await start_automation(client, book, text, filename, task_queue=args.task_queue,
                                        workflow_id=args.workflow_id, polls=1 if args.once else None,
                                        heartbeat=args.heartbeat)
        if args.detach:
            print(handle.id)
            return None
        app.say(f"started the workflow {handle.id} on the task queue {args.task_queue}; waiting for its result"
                + ("; press Ctrl-C to stop the watch" if watches and not args.once else ""))
        try:
            return await result_of(handle, book)
        except asyncio.CancelledError:  # Ctrl-C
            if not watches:
                raise
            await stop_watch(handle)
            app.say("stopping the watch after the item in hand (Ctrl-C again to stop waiting; it stops all the same)")
            return await result_of(handle, book)

    try:
        value = asyncio.run(run())
    except KeyboardInterrupt:
        app.say(f"stopped waiting; the workflow goes on on its workers ({args.temporal}, task queue {args.task_queue})")
        return 130
    if args.detach:
        return EXIT_OK
    writer(value, sys.stdout)
    failed = getattr(value, "failed", 0)
    if failed:
        app.say(f"the steps failed for {failed} of the {value.handed_on} new items; they are not run again")
        return EXIT_FAILURE
    return EXIT_OK
