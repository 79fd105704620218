"""`connect` and `connections ...`: add, check and manage a book's connections.

Everything here is driven by the book's data: the menu shows each of its `ConnectionMethod`s' title and
description, the questions are its fields' labels and descriptions, the flags are its text fields
(`--account-sid`), and the secrets come from its sensitive fields' environment variables or
`--secret-stdin`. A secret is never taken from the command line, never echoed and never printed.

Interactive (a terminal on stdin): asks, checks each value's shape at once, verifies the credentials with
the book's `verify_connection`, and saves only once they work. Non-interactive (`--secret-stdin`, or stdin
not a terminal): takes text values from flags or environment variables, secrets from environment variables
or stdin, and never asks.

The commands (`book.commands.connect`) drive it from the book's CLI.
"""

from __future__ import annotations

import getpass as _getpass
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from book.app import App
from book.connections import (
    AuthenticationError,
    Connection,
    ConnectionField,
    ConnectionMethod,
    ConnectionStore,
    check_api_url,
    check_name,
    masked,
    method_for,
)
from book.errors import ConnectionError_

if TYPE_CHECKING:
    pass

__all__ = ["Verify", "connect_from", "run_wizard"]

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
                    print(f"{field.label}: {masked(values[field.name] or '')} (given on the command line)", file=out)
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


