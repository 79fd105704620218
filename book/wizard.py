"""`connect` and `connections ...`: add, check and manage a book's connections.

Everything here is driven by the book's data: the menu shows each of its `ConnectionMethod`s' title and
description, the questions are its fields' labels and descriptions, the flags are its text fields
(`--account-sid`), and the secrets come from its sensitive fields' environment variables or
`--secret-stdin`. A secret is never taken from the command line, never echoed and never printed.

Interactive (a terminal on stdin): asks, checks each value's shape at once, verifies the credentials with
the book's `verify_connection`, and saves only once they work. Non-interactive (`--secret-stdin`, or stdin
not a terminal): takes text values from flags or environment variables, secrets from environment variables
or stdin, and never asks.

`add_connect_commands(subparsers, app)` registers both commands on the book's CLI. The book is loaded
(`app.load_book`) only when one of them is parsed or run, so registering them loads neither it nor lark
nor a service's SDK.
"""

from __future__ import annotations

import argparse
import getpass as _getpass
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TextIO

from book.app import App
from book.connections import (
    AuthenticationError,
    Connection,
    ConnectionField,
    ConnectionMethod,
    ConnectionStore,
    api_url_field,
    check_api_url,
    check_name,
    method_for,
    resolve_connection,
)
from book.errors import BookError, ConnectionError_

if TYPE_CHECKING:
    from book.authoring import Book

__all__ = ["add_connect_commands", "connect_from", "run_wizard"]

TRIES = 3  # credential attempts before the wizard gives up
_FIELD_TRIES = 10  # shape re-asks for one field before it gives up

Verify = Callable[[Connection], str]


def run_wizard(
    methods: Sequence[ConnectionMethod],
    store: ConnectionStore,
    *,
    name: str | None = None,
    method_key: str | None = None,
    input: Callable[[str], str] = input,
    getpass: Callable[[str], str] = _getpass.getpass,
    out: TextIO | None = None,
    verify: Verify | None,
    api_url: str | None = None,
    given: Mapping[str, str] | None = None,
    make_default: bool = False,
    tries: int = TRIES,
    app: App = App(),
) -> Connection:
    """Ask for a connection, verify it (a book's `verify_connection`), save it; return it.

    `given` holds text values already known (from flags): they are not asked the first time. Each value is
    checked for shape as it is typed; credentials `verify` refuses (AuthenticationError) are asked again, up
    to `tries` times. `verify=None` skips the live check. Raises ConnectionError_ if the user gives up or
    input ends.
    """
    out = out or sys.stderr
    api_url = check_api_url(api_url)
    ask = _Asker(input, getpass, out)
    if name is None:
        name = ask.name(store)
    else:
        check_name(name)
    method = _choose(methods, method_key, ask)
    fixed = dict(given or {})
    previous: dict[str, str] = {}
    for attempt in range(1, tries + 1):
        values: dict[str, str | None] = {}
        for field in method.fields:
            if field.name in fixed and attempt == 1:
                try:
                    values[field.name] = field.check(fixed[field.name])
                    print(f"{field.label}: {values[field.name]} (given on the command line)", file=out)
                    continue
                except ConnectionError_ as e:
                    print(f"  {e}", file=out)
                    del fixed[field.name]
            values[field.name] = ask.field(field, default=previous.get(field.name) or fixed.get(field.name))
        previous = {k: v for k, v in values.items() if v is not None}
        conn = method.connection(name, values, api_url=api_url)
        try:
            return _finish(conn, store, verify=verify, make_default=make_default, out=out, app=app)
        except AuthenticationError as e:
            print(f"{e}: these credentials were not accepted.", file=out)  # the book's words, with its error code
            if attempt < tries:
                print("Enter them again (press Enter to keep a value shown in [brackets]).", file=out)
    raise ConnectionError_(
        f"authentication failed {tries} times; nothing was saved. Copy the credentials from your account's "
        f"console and run: {app.program} connect --name {name}"
    )


def _finish(
    conn: Connection, store: ConnectionStore, *, verify: Verify | None, make_default: bool, out: TextIO, app: App
) -> Connection:
    """Verify (unless `verify` is None), save, and say where, without a secret."""
    friendly = verify(conn) if verify is not None else None
    where = store.save(conn, make_default=make_default)
    saved = (
        f"saved to {store.path}; its secret is in the system keyring"
        if where == "keyring"
        else f"saved to {store.path} (mode 600)"
    )
    if friendly is None:
        print(f"Saved {conn.name} without checking it with {app.service} (--no-verify); {saved}", file=out)
    else:
        print(f"Connected {conn.name} ({friendly}); {saved}", file=out)
    if store.default_name == conn.name:
        print(f"{conn.name} is the default connection.", file=out)
    return conn


class _Asker:
    """The questions, each re-asked until its answer has the right shape."""

    def __init__(self, input: Callable[[str], str], getpass: Callable[[str], str], out: TextIO) -> None:
        self._input, self._getpass, self.out = input, getpass, out

    def line(self, prompt: str, *, hidden: bool = False) -> str:
        try:
            return (self._getpass if hidden else self._input)(prompt).strip()
        except EOFError:
            raise ConnectionError_(
                "cancelled: the input ended before the connection was complete; nothing was saved"
            ) from None

    def name(self, store: ConnectionStore) -> str:
        for _ in range(_FIELD_TRIES):
            name = self.line("Connection name [default]: ") or "default"
            try:
                check_name(name)
            except ConnectionError_ as e:
                print(f"  {e}", file=self.out)
                continue
            if name in store.names():
                print(f"  (this replaces the saved connection {name!r} once the new credentials work)", file=self.out)
            return name
        raise ConnectionError_("no usable connection name was given; nothing was saved")

    def menu(self, methods: Sequence[ConnectionMethod]) -> ConnectionMethod:
        print("How do you want to connect?", file=self.out)
        for i, m in enumerate(methods, 1):
            print(f"  {i}. {m.title}\n     {m.description}", file=self.out)
        for _ in range(_FIELD_TRIES):
            answer = self.line(f"Choose 1-{len(methods)} [1]: ") or "1"
            if answer.isdigit() and 1 <= int(answer) <= len(methods):
                return methods[int(answer) - 1]
            print(f"  choose a number from 1 to {len(methods)}", file=self.out)
        raise ConnectionError_("no connection method was chosen; nothing was saved")

    def field(self, field: ConnectionField, *, default: str | None = None) -> str | None:
        print(field.description, file=self.out)
        if field.sensitive:
            prompt = f"{field.label} (typing is hidden): "
        else:
            prompt = f"{field.label} [{default}]: " if default else f"{field.label}: "
        for _ in range(_FIELD_TRIES):
            answer = self.line(prompt, hidden=field.sensitive) or (None if field.sensitive else default)
            try:
                return field.check(answer)
            except ConnectionError_ as e:
                print(f"  {e}. Try again.", file=self.out)
        raise ConnectionError_(f"no valid {field.label} after {_FIELD_TRIES} tries; nothing was saved")


def _choose(methods: Sequence[ConnectionMethod], key: str | None, ask: _Asker) -> ConnectionMethod:
    if key is not None:
        return method_for(key, tuple(methods))
    if not methods:
        raise ConnectionError_("this book declares no connection method")
    return methods[0] if len(methods) == 1 else ask.menu(methods)


# -- non-interactive ------------------------------------------------------------------------------------


def connect_from(
    methods: Sequence[ConnectionMethod],
    store: ConnectionStore,
    *,
    name: str,
    text: Mapping[str, str],
    env: Mapping[str, str],
    secret_lines: Callable[[], str] | None = None,
    method_key: str | None = None,
    verify: Verify | None,
    api_url: str | None = None,
    make_default: bool = False,
    out: TextIO | None = None,
    app: App = App(),
) -> Connection:
    """Connect without asking: text values from `text` (flags) or `env`; secrets from `secret_lines` (one
    call per sensitive field, e.g. stdin lines) or `env`. A missing value is an error naming how to give it.
    `verify` checks the credentials before they are saved, as in `run_wizard`."""
    out = out or sys.stderr
    check_name(name)

    def value(f: ConnectionField) -> str | None:
        if not f.sensitive:
            return text.get(f.name) or env.get(f.env) or None
        return None if secret_lines is not None else env.get(f.env) or None

    def available(f: ConnectionField) -> bool:
        return (f.sensitive and secret_lines is not None) or value(f) is not None

    if method_key is not None:
        method = method_for(method_key, tuple(methods))
    else:
        fitting = [m for m in methods if set(text) <= {f.name for f in m.fields}]
        if not fitting:
            flags = " and ".join(_flag(n) for n in sorted(text))
            raise ConnectionError_(f"no connection method takes {flags} together")
        complete = [m for m in fitting if all(available(f) for f in m.fields if f.required)]
        method = max(complete, key=lambda m: len(m.fields)) if complete else fitting[0]
    values: dict[str, str | None] = {}
    for f in method.fields:
        if f.sensitive and secret_lines is not None:
            values[f.name] = secret_lines().strip() or None
        else:
            values[f.name] = value(f)
        if values[f.name] is None and f.required:
            how = (
                "give it as a line on standard input (--secret-stdin)"
                if f.sensitive and secret_lines is not None
                else f"set {f.env} or pass --secret-stdin"
                if f.sensitive
                else f"pass {f.flag} or set {f.env}"
            )
            raise ConnectionError_(f"{f.label} is missing for {method.title.lower()}: {how}")
    conn = method.connection(name, values, api_url=api_url)
    return _finish(conn, store, verify=verify, make_default=make_default, out=out, app=app)


def _flag(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


# -- command line ---------------------------------------------------------------------------------------


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
    from book.arguments import DeferredParser

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


def _add_connect_arguments(connect: argparse.ArgumentParser, app: App) -> None:
    """`connect`'s arguments: a flag for each text field of the book's methods (a refusal for each secret), and
    its own."""
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
    return ConnectionStore(app.home(), app=app)


def _verifier(book: Book) -> Verify:
    """The book's `verify_connection`, or ConnectionError_ if it declares none."""
    if book.verify_connection is None:
        raise ConnectionError_(f"the {book.name} book declares no way to check a connection's credentials")
    return book.verify_connection


def _cmd_connect(args: argparse.Namespace) -> int:
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
        connect_from(
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
        return 0
    # Flags narrow the menu (--api-key-sid means the API key method); --method names one outright.
    fitting = [m for m in methods if set(text) <= {f.name for f in m.fields}] if args.method is None else []
    run_wizard(
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
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    rows = _store(args.app).list()
    if not rows:
        print(f"no connections saved; add one with: {args.app.program} connect --name NAME")
        return 0
    table = [("", "NAME", "METHOD", "ACCOUNT", "SECRET IN", "API URL")]
    table += [
        ("*" if r.default else "", r.name, r.method, r.account or "-", r.secrets_in, r.api_url or "")
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print("(* the default connection)")
    return 0


def _cmd_test(args: argparse.Namespace) -> int:
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
