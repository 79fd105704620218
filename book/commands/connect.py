"""`connect` and `connections ...`: the command line of the connection wizard (`book.wizard`).

The flags come from the book's connection methods (a `DeferredParser` adds them when `connect` is parsed), so
registering the commands loads neither the book, nor pydantic, nor a service's SDK.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from book.commands.arguments import DeferredParser
from book.errors import BookError, ConnectionError_

if TYPE_CHECKING:
    from book.app import App
    from book.authoring import Book
    from book.connections import ConnectionStore
    from book.wizard import Verify


class _RefuseSecret(argparse.Action):
    """A flag for a sensitive field: refused without repeating its value."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: str | None = None) -> None:
        env = self.metavar or "its environment variable"
        parser.error(
            f"{option} is refused: a secret on the command line shows up in `ps` and in shell history. "
            f"Set {env}, or pass --secret-stdin and type it on standard input"
        )


def add_connect_commands(subparsers: Any, app: App) -> None:
    """Register `connect` and `connections {list,test,remove,default}` on an argparse subparsers object.

    They manage the connections of `app.load_book()`, loaded only once one of them is parsed or run. Each
    command's `func(args)` returns an exit code: 0 ok, 1 a book error (printed, no traceback).
    """
    service = app.service
    connect = subparsers.add_parser(
        "connect",
        help=f"add a connection to {service}: asks, checks it with {service}, saves it",
        description=f"Add a connection to {service}. In a terminal it asks for each value; with --secret-stdin, or "
        "when stdin is not a terminal, it takes text values from flags or environment variables and "
        "secrets from environment variables or standard input. Secrets are never command-line arguments.",
    )
    DeferredParser.defer(connect, lambda parser: _add_connect_arguments(parser, app))
    connect.set_defaults(func=partial(_guarded, _cmd_connect))

    connections = subparsers.add_parser(
        "connections", help="list, test or remove saved connections, or choose the default"
    )
    sub = connections.add_subparsers(dest="connections_command", metavar="COMMAND", required=True)
    sub.add_parser("list", help="the saved connections (never their secrets)").set_defaults(
        func=partial(_guarded, _cmd_list)
    )
    test = sub.add_parser("test", help=f"check a connection's credentials with {service}")
    test.add_argument("name", nargs="?", help="a saved connection (default: the one a run would use)")
    test.set_defaults(func=partial(_guarded, _cmd_test))
    remove = sub.add_parser("remove", help="forget a saved connection")
    remove.add_argument("name")
    remove.set_defaults(func=partial(_guarded, _cmd_remove))
    default = sub.add_parser("default", help="choose the connection runs use by default")
    default.add_argument("name")
    default.set_defaults(func=partial(_guarded, _cmd_default))
    rate = sub.add_parser("rate", help="how many sends a second go out from each sender (pacing)",
                          description="Pace the sends of a connection: at most RATE a second from each sender number "
                          f"(a long code sends 1 a second, toll-free 3, a short code 100); 'none' for no pacing, "
                          f"'default' for the book's. {app.env('RATE')} overrides it for one run.")
    rate.add_argument("name")
    rate.add_argument("rate", help="sends a second from each sender, 'none', or 'default'")
    rate.set_defaults(func=partial(_guarded, _cmd_rate))


def _add_connect_arguments(connect: argparse.ArgumentParser, app: App) -> None:
    """`connect`'s arguments: a flag for each text field of the book's methods (a refusal for each secret), and
    its own."""
    from book.connections import api_url_field

    methods = app.load_book().connection_methods
    connect.add_argument("--name", help="the connection's name (default: ask, or 'default')")
    connect.add_argument(
        "--method",
        choices=[m.key for m in methods],
        help="; ".join(f"{m.key}: {m.title}" for m in methods),
    )
    seen: set[str] = set()
    for f in (f for m in methods for f in m.fields):
        if f.name in seen:
            continue
        seen.add(f.name)
        if f.sensitive:
            connect.add_argument(
                f.flag, dest=f"refused_{f.name}", nargs="?", action=_RefuseSecret, metavar=f.env, help=argparse.SUPPRESS
            )
        else:
            connect.add_argument(f.flag, dest=f"field_{f.name}", metavar=f.env, help=f"{f.description} Or set {f.env}.")
    sensitive = " / ".join(dict.fromkeys(f.label for m in methods for f in m.fields if f.sensitive))
    connect.add_argument(
        "--secret-stdin", action="store_true", help=f"read the secret ({sensitive}) from standard input, one per line"
    )
    api_url = api_url_field(app)
    connect.add_argument("--api-url", help=f"{api_url.description} Or set {api_url.env}.")
    connect.add_argument("--no-verify", action="store_true",
                         help=f"save without checking the credentials with {app.service}")
    connect.add_argument("--default", dest="make_default", action="store_true", help="make it the default connection")
    connect.add_argument("--rate", type=_rate, metavar="RATE",
                         help="sends a second from each sender (a long code sends 1, toll-free 3, a short code 100; "
                         f"'none': no pacing); later: connections rate NAME RATE. Or set {app.env('RATE')}.")


def _rate(text: str) -> float:
    from book.pacing import parse_rate

    try:
        return parse_rate(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _guarded(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return command(args)
    except BookError as e:
        print(f"{args.app.program}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("\ncancelled; nothing was saved", file=sys.stderr)
        return 130


def _store(app: App) -> ConnectionStore:
    from book.connections import ConnectionStore

    return ConnectionStore(app.home(), app=app)


def _verifier(book: Book) -> Verify:
    """The book's `verify_connection`, or ConnectionError_ if it declares none."""
    if book.verify_connection is None:
        raise ConnectionError_(f"the {book.name} book declares no way to check a connection's credentials")
    return book.verify_connection


def _cmd_connect(args: argparse.Namespace) -> int:
    from book.wizard import connect_from, run_wizard

    app: App = args.app
    book = app.load_book()
    methods = book.connection_methods
    store = _store(app)
    text = {
        key.removeprefix("field_"): value
        for key, value in vars(args).items()
        if key.startswith("field_") and value is not None
    }
    api_url = args.api_url or os.environ.get(app.env("API_URL")) or None
    verify = None if args.no_verify else _verifier(book)
    if args.secret_stdin or not sys.stdin.isatty():
        conn = connect_from(
            methods,
            store,
            name=args.name or "default",
            text=text,
            env=os.environ,
            secret_lines=sys.stdin.readline if args.secret_stdin else None,
            method_key=args.method,
            verify=verify,
            api_url=api_url,
            make_default=args.make_default,
            app=app,
        )
        _save_rate(store, conn, args.rate)
        return 0
    # Flags narrow the menu (--api-key-sid means the API key method); --method names one outright.
    fitting = [m for m in methods if set(text) <= {f.name for f in m.fields}] if args.method is None else []
    conn = run_wizard(
        fitting or methods,
        store,
        name=args.name,
        method_key=args.method,
        verify=verify,
        api_url=api_url,
        given=text,
        make_default=args.make_default,
        app=app,
    )
    _save_rate(store, conn, args.rate)
    return 0


def _save_rate(store: ConnectionStore, conn: Any, rate: float | None) -> None:
    if rate is not None and conn is not None:
        store.set_rate(conn.name, rate)
        print(f"{conn.name}: " + _rate_words(rate))


def _rate_words(rate: float | None) -> str:
    if rate is None:
        return "sends are paced at the book's default rate"
    if not rate:
        return "sends are not paced"
    return f"at most {rate:g} send{'s' if rate != 1 else ''} a second from each sender"


def _cmd_rate(args: argparse.Namespace) -> int:
    rate = None if args.rate.strip().lower() == "default" else _rate_or_error(args.rate)
    _store(args.app).set_rate(args.name, rate)
    print(f"{args.name}: {_rate_words(rate)}")
    return 0


def _rate_or_error(text: str) -> float:
    from book.pacing import parse_rate

    try:
        return parse_rate(text)
    except ValueError as err:
        raise ConnectionError_(str(err)) from None


def _cmd_list(args: argparse.Namespace) -> int:
    rows = _store(args.app).list()
    if not rows:
        print(f"no connections saved; add one with: {args.app.program} connect --name NAME")
        return 0
    table = [("", "NAME", "METHOD", "ACCOUNT", "SECRET IN", "RATE", "API URL")]
    table += [
        ("*" if r.default else "", r.name, r.method, r.account or "-", r.secrets_in,
         "default" if r.rate is None else "none" if not r.rate else f"{r.rate:g}/s", r.api_url or "")
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print("(* the default connection)")
    return 0


def _cmd_test(args: argparse.Namespace) -> int:
    from book.connections import resolve_connection

    app: App = args.app
    book = app.load_book()
    conn = resolve_connection(args.name, app=app, store=_store(app), methods=book.connection_methods)
    if conn is None:
        variables = ", ".join(dict.fromkeys(f.env for m in book.connection_methods for f in m.fields))
        raise ConnectionError_(f"no connection to test: none is saved and none of {variables} is set; "
                               f"add one with: {app.program} connect --name NAME")
    friendly = _verifier(book)(conn)
    print(f"ok: {conn.name} reaches {app.where(conn.api_url)} as account {friendly!r}")
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    store = _store(args.app)
    store.remove(args.name)
    print(f"removed {args.name}")
    if store.default_name is None and store.names():
        print(f"there is no default connection now; choose one with: {args.app.program} connections default NAME")
    return 0


def _cmd_default(args: argparse.Namespace) -> int:
    _store(args.app).set_default(args.name)
    print(f"{args.name} is the default connection")
    return 0
