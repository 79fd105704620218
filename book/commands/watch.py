"""`watch`: poll one of the book's lists and hand each new item on once (`book.watching`).

    watch THING [--FILTER VALUE ...] [--every SECONDS] [--limit N] [--once] [--run FILE] [--since WHEN]

What can be watched, and the filters each takes, are the book's (`Registry.watchables`): the filter flags
are added when `watch` is parsed (a `DeferredParser`), so registering the command loads no book. Only the
standard library is imported at load time.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import TYPE_CHECKING, Any

from book.commands.arguments import (
    DeferredParser,
    add_connection_arguments,
    positive_seconds,
    read_source,
    stopping_gently,
)

if TYPE_CHECKING:
    from book.app import App

EXIT_OK = 0


def add_watch_commands(subparsers: Any, app: App) -> None:
    """Register `watch`; its `func(args)` returns an exit code."""
    watch = subparsers.add_parser(
        "watch",
        help="poll for new items of one of the book's lists and hand each on once",
        description="Poll a list for new items and hand each on exactly once, oldest first: printed as a JSON "
        "line and, with --run, given to an automation as 'the message' (or 'the call', ...) and 'the event'. "
        "The first run starts from now (or --since); a cursor in the book's home folder remembers where each "
        "watch stands, so a restart neither repeats nor misses an item.",
    )
    DeferredParser.defer(watch, lambda parser: _add_watch_arguments(parser, app))
    watch.set_defaults(func=cmd_watch)


def _add_watch_arguments(watch: argparse.ArgumentParser, app: App) -> None:
    from book.watching.watch import available

    things = available(app.load_book().registry)
    watch.add_argument("thing", metavar="THING",
                       help=f"what to watch: {', '.join(things) or 'nothing (the book declares no list to watch)'}")
    helps: dict[str, list[str]] = {}
    for name, (watchable, _procedure) in things.items():
        for option, field in watchable.filters.items():
            helps.setdefault(option, []).append(f"{name}: {field.replace('_', ' ')}")
    for option, where in helps.items():
        watch.add_argument(f"--{option}", dest=_filter_dest(option), metavar="VALUE",
                           help=f"only items whose field is VALUE ({'; '.join(where)})")
    watch.add_argument("--every", type=positive_seconds, default=30.0, metavar="SECONDS",
                       help="seconds between polls (default 30)")
    watch.add_argument("--limit", type=_positive_int, metavar="N",
                       help="hand on at most N items per poll (the oldest; the rest come next poll)")
    watch.add_argument("--once", action="store_true", help="poll once and exit")
    watch.add_argument("--run", metavar="FILE", help="run this automation for each new item")
    watch.add_argument("--since", metavar="DATETIME",
                       help="on the first run, start from this time (ISO 8601) instead of now")
    watch.add_argument("--name", metavar="NAME", help="the cursor's name (default: from what is watched)")
    watch.add_argument("--reset", action="store_true", help="forget the cursor: start again from now (or --since)")
    add_connection_arguments(watch, app)


def _filter_dest(name: str) -> str:
    return "filter_" + name.replace("-", "_")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; write it like 10") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def cmd_watch(args: argparse.Namespace) -> int:
    from book.errors import BookError
    from book.output import jsonable
    from book.runtime import compile_with_facts, run_automation
    from book.session import open_session
    from book.watching.watch import Watcher, available, cursor_file

    app: App = args.app
    book = app.load_book()
    things = available(book.registry)
    if args.thing not in things:
        raise BookError(f"the book can't watch {args.thing!r}; it can watch: {', '.join(things) or 'nothing yet'}")
    watchable, procedure = things[args.thing]
    given = {key.removeprefix("filter_").replace("_", "-"): value for key, value in vars(args).items()
             if key.startswith("filter_") and value is not None}
    given = watchable.checked(given)  # InputError before anything is sent
    automation = None
    if args.run:
        text, filename = read_source(args.run)
        concept = procedure.output.type
        automation = compile_with_facts(text, book.registry, {watchable.fact: concept, "event": concept}, filename)
    since = _datetime(args.since) if args.since else None

    with open_session(book, connection=args.connection, sandbox=args.sandbox, notice=app.say,
                      downloads=args.downloads) as session:
        client = session.client(book.name)
        cursor = cursor_file(session.home, watchable, session.accounts.get(book.name, ""), given, args.name)
        # The watcher checks the filters and the limit: a mistake there must not cost the cursor.
        watcher = Watcher(watchable, procedure, client, cursor, filters=given, limit=args.limit, since=since)
        if args.reset:
            with cursor.locked():  # never under a run of this watch that is going on
                cursor.remove()
        elif since is not None and cursor.load() is not None:
            app.say(f"--since is ignored: this watch already has a cursor ({cursor.path}) and goes on from where "
                    "it stands; add --reset to start it again from --since")

        def hand_on(item: Any) -> None:
            sys.stdout.write(json.dumps(jsonable(item), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            if automation is not None:
                what = f"{watchable.fact} {getattr(item, watchable.sid_field, '')}"
                run_automation(automation, session, {watchable.fact: item, "event": item}, what, app.say)

        app.say(f"watching {args.thing}" + ("" if args.once else f" every {args.every:g} s")
                + f"; the cursor is {cursor.path}")
        stop = threading.Event()
        with stopping_gently(stop, app.say):
            try:
                watcher.follow(hand_on, every=args.every, stop=stop, polls=1 if args.once else None, say=app.say,
                               what=f"new {args.thing}")
            except BookError:
                if not args.once:
                    app.say("stopped watching: this poll failed in a way that trying again can't fix; "
                            "correct what the error below says, then start the watch again")
                raise
        if not args.once:
            app.say("stopped watching")
        return EXIT_OK


def _datetime(text: str) -> Any:
    from datetime import datetime, timezone

    from book.errors import BookError

    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BookError(f"--since {text!r} is not a date and time; write it like 2022-03-01T15:00:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
