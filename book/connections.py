"""Connections: how a book reaches its service, where it keeps credentials, and which one a run uses.

A `ConnectionMethod` is data: a title, a description and the `ConnectionField`s a user fills in. A book
declares its methods (`Book(connection_methods=...)`); the wizard (`book.wizard`) and the environment
lookup are driven by that data alone, so a book that declares another method gets it in
`connect` for free.

A `Connection` is one filled-in method. Its sensitive values are `SecretStr`s: no repr, str, JSON dump or
error message ever shows them; and no error or log line shows more than the first 4 characters of any
field's value (`masked`), so a secret pasted into the wrong field is not printed either. `ConnectionStore` keeps connections in `<home>/connections.json`, written
atomically and readable only by its owner (mode 600), or puts the secrets in the system keyring when one
is really available. `resolve_connection` picks the connection a run uses. Whether the credentials work is
the book's to say (`Book(verify_connection=...)`), raising `AuthenticationError` when they are refused.

The names it uses (its environment variables, the keyring's service, the command in its hints) come from
the book's `App`. This module imports neither a service's SDK nor `keyring` at import time, so `--help`
stays fast.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import secrets as _secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, SecretStr

from book.app import App
from book.errors import ConnectionError_

SHOWN = 4
"""The most characters of a connection field's value that an error or a log line shows."""


def masked(value: str) -> str:
    """`'f00d…' (32 characters)`: at most the first `SHOWN` characters of a credential field's value, quoted.

    Every error and log line that names a field's value shows it so: a value pasted into the wrong field
    (the Auth Token in the Account SID's variable) is never printed whole.
    """
    if len(value) <= SHOWN:
        return repr(value)
    return f"{value[:SHOWN]!r}… ({len(value)} characters)".replace("'…", "…'", 1)


def mask_in(text: str, values: Iterable[str]) -> str:
    """`text` with each of `values` (a connection's field values) shown as `masked` shows it."""
    for value in sorted((v for v in values if len(v) > SHOWN), key=len, reverse=True):
        text = text.replace(value, value[:SHOWN] + "…")
    return text


def add_hint(app: App, name: str = "NAME") -> str:
    """How to add a connection, in the book's own command."""
    return f"add one with: {app.program} connect --name {name}"

__all__ = [
    "AuthenticationError",
    "Connection",
    "ConnectionField",
    "ConnectionMethod",
    "ConnectionStore",
    "ConnectionSummary",
    "SecretBackend",
    "api_url_field",
    "check_api_url",
    "check_name",
    "connection_from_env",
    "mask_in",
    "masked",
    "method_for",
    "resolve_connection",
    "system_keyring",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class AuthenticationError(ConnectionError_):
    """The service refused the connection's credentials; `code` is its error code, if it gave one.

    A book's `verify_connection` raises it so that the wizard asks for the credentials again.
    """

    def __init__(self, message: str, *, code: int | None = None) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class ConnectionField:
    """One value a user supplies for a connection method, with an optional shape check."""

    name: str
    label: str
    description: str
    type: Literal["text", "sensitive"]
    env: str
    pattern: str | None = None
    shape_hint: str | None = None
    required: bool = True

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"a connection field's name must be a Python identifier, not {self.name!r}")
        if self.type not in ("text", "sensitive"):
            raise ValueError(f"field {self.name}: type must be 'text' or 'sensitive', not {self.type!r}")
        if self.pattern is not None:
            re.compile(self.pattern)

    @property
    def sensitive(self) -> bool:
        return self.type == "sensitive"

    @property
    def flag(self) -> str:
        """The command-line flag for a text field: `account_sid` -> `--account-sid`."""
        return "--" + self.name.replace("_", "-")

    def check(self, value: str | SecretStr | None) -> str | None:
        """The cleaned value (surrounding blanks removed), or ConnectionError_ naming the label and shape.

        A sensitive value is never repeated in the message.
        """
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        value = (value or "").strip()
        if not value:
            if self.required:
                raise ConnectionError_(f"{self.label} is missing: {self.description}")
            return None
        if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            shown = "the value given" if self.sensitive else masked(value)
            hint = f": {self.shape_hint}" if self.shape_hint else ""
            raise ConnectionError_(f"{self.label} is not valid ({shown}){hint}")
        return value


@dataclass(frozen=True)
class ConnectionMethod:
    """A way to connect: a key, a title and description, and the fields a user fills in."""

    key: str
    title: str
    description: str
    fields: tuple[ConnectionField, ...]

    def validate(self, values: Mapping[str, str | SecretStr | None]) -> dict[str, str | SecretStr]:
        """Check every field's shape; return the cleaned values with sensitive ones as `SecretStr`.

        Raises ConnectionError_ naming the first bad field, its label and the expected shape.
        """
        known = {f.name for f in self.fields}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConnectionError_(
                f"{self.title} has no field {', '.join(unknown)}; its fields are {', '.join(sorted(known))}"
            )
        cleaned: dict[str, str | SecretStr] = {}
        for f in self.fields:
            value = f.check(values.get(f.name))
            if value is not None:
                cleaned[f.name] = SecretStr(value) if f.sensitive else value
        return cleaned

    def connection(
        self, name: str, values: Mapping[str, str | SecretStr | None], *, api_url: str | None = None
    ) -> Connection:
        """A checked `Connection` named `name` from this method's field values."""
        return Connection(name=name, method=self.key, values=self.validate(values), api_url=check_api_url(api_url))


_API_URL_PATTERN = r"https?://[^\s/?#@]+(/[^\s?#]*)?"
_API_URL_SHAPE = ("an API URL is scheme, host and port, like https://api.example.com or http://127.0.0.1:8080 "
                  "(never with a user name or password in it)")


def api_url_field(app: App) -> ConnectionField:
    """The API URL every connection may set: for compatible providers and testing."""
    default = f" (leave it unset for {app.service_url})" if app.service_url else ""
    return ConnectionField(
        name="api_url",
        label="API URL",
        description=f"The base URL of the {app.service} API, for compatible providers and testing{default}.",
        type="text",
        env=app.env("API_URL"),
        pattern=_API_URL_PATTERN,
        shape_hint=_API_URL_SHAPE,
        required=False,
    )


def check_name(name: str) -> str:
    """`name` if it can name a connection (letters, digits, '.', '_', '-'; up to 64), else ConnectionError_."""
    if not _NAME.fullmatch(name):
        raise ConnectionError_(
            f"{_clip(name)!r} cannot name a connection: use letters, digits, '.', '_' or '-' (up to 64)"
        )
    return name


def check_api_url(value: str | None) -> str | None:
    """The API URL without a trailing slash, or None; ConnectionError_ if it is not an http(s) URL."""
    if value and "@" in value:  # user:password@host: a secret in a plain setting, so it is not repeated
        raise ConnectionError_(
            "API URL must not contain a user name or password (the value is not shown); "
            "credentials belong in the connection's own fields"
        )
    value = (value or "").strip()
    if not value:
        return None
    if re.fullmatch(_API_URL_PATTERN, value) is None:
        raise ConnectionError_(f"API URL is not valid ({_clip(value)!r}): {_API_URL_SHAPE}")
    return value.rstrip("/")


def method_for(key: str, methods: tuple[ConnectionMethod, ...]) -> ConnectionMethod:
    """The method with this key, or ConnectionError_ listing the known keys."""
    for m in methods:
        if m.key == key:
            return m
    raise ConnectionError_(f"unknown connection method {key!r}; use one of: {', '.join(m.key for m in methods)}")


class Connection(BaseModel):
    """A named, filled-in connection method. Sensitive values are `SecretStr` and never shown."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)  # built when first made

    name: str
    method: str
    values: dict[str, str | SecretStr]
    api_url: str | None = None
    rate: float | None = None
    """Sends a second from one sender (`book.pacing`); 0: no pacing; None: the book's default."""

    @property
    def identity(self) -> str:
        """What names the account this connection reaches: its method's first text field (never a secret)."""
        return next((v for v in self.values.values() if isinstance(v, str)), "")

    def value(self, field: str) -> str:
        """The plain text of one field, a secret's included (for the client that sends it, never to show)."""
        value = self.values.get(field)
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, str):
            return value
        raise ConnectionError_(f"connection {self.name!r} has no {field.replace('_', ' ')}")

    def secrets(self) -> list[str]:
        """Every secret in plain text, so a caller can scrub them out of foreign text."""
        return [v.get_secret_value() for v in self.values.values() if isinstance(v, SecretStr) and v.get_secret_value()]

    def masked(self, text: str) -> str:
        """`text` (an error of a foreign library, say) with every secret of this connection replaced by
        `**********` and every other field's value cut to its first characters (`mask_in`)."""
        for secret in self.secrets():
            text = text.replace(secret, "**********")
        return mask_in(text, [v for v in self.values.values() if isinstance(v, str)])

    def __str__(self) -> str:
        """`connection 'work' (auth_token, account AC12…)`: how errors and log lines name it."""
        where = f" at {self.api_url}" if self.api_url else ""
        return f"connection {self.name!r} ({self.method}, account {mask_in(self.identity, [self.identity])}){where}"


@dataclass(frozen=True)
class ConnectionSummary:
    """What `connections list` shows about a saved connection: never a secret."""

    name: str
    method: str
    account: str | None
    """What names the account (the method's first text field)."""
    api_url: str | None
    default: bool
    secrets_in: Literal["file", "keyring"]
    rate: float | None = None


class SecretBackend(Protocol):
    """The part of the `keyring` module's interface the store uses."""

    def get_password(self, service_name: str, username: str) -> str | None: ...

    def set_password(self, service_name: str, username: str, password: str) -> None: ...

    def delete_password(self, service_name: str, username: str) -> None: ...


def system_keyring(app: App, env: Mapping[str, str] = os.environ) -> SecretBackend | None:
    """The `keyring` module if it is installed and a real backend is active, else None.

    `<PREFIX>_KEYRING=0` turns it off. The fail and null backends (no keyring daemon, CI) don't count.
    """
    if env.get(app.env("KEYRING"), "").strip().lower() in ("0", "false", "no", "off"):
        return None
    try:
        import keyring
        from keyring.backends import fail, null

        backend = keyring.get_keyring()
    except Exception:  # not installed, or its configuration is broken: use the file
        return None
    if isinstance(backend, (fail.Keyring, null.Keyring)) or getattr(backend, "priority", 0) <= 0:
        return None
    return keyring


_AUTO: Any = object()


class ConnectionStore:
    """Saved connections in `<home>/connections.json` (mode 600), secrets there or in the system keyring."""

    def __init__(self, home: Path, *, keyring: SecretBackend | None = _AUTO, app: App = App()) -> None:
        self.app = app
        self.service = app.program  # the keyring's service name for this book's secrets
        self.home = Path(home)
        self.path = self.home / "connections.json"
        self._keyring = keyring

    # -- reading ------------------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": 1, "default": None, "connections": {}}
        except OSError as e:
            raise ConnectionError_(f"cannot read {self.path}: {e.strerror}") from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("connections"), dict):
                raise ValueError("no 'connections' object")
        except ValueError as e:
            raise ConnectionError_(
                f"{self.path} is not a valid connections file ({_clip(str(e), 80)}); "
                f"fix it, or remove it and {add_hint(self.app)}"
            ) from None
        data.setdefault("default", None)
        return data

    def names(self) -> builtins.list[str]:
        return sorted(self._load()["connections"])

    @property
    def default_name(self) -> str | None:
        data = self._load()
        name = data["default"]
        return name if name in data["connections"] else None

    def get(self, name: str) -> Connection:
        """The saved connection `name`, secrets included; ConnectionError_ naming the saved ones if unknown."""
        data = self._load()
        entry = data["connections"].get(name)
        if entry is None:
            raise ConnectionError_(self._unknown(name, sorted(data["connections"])))
        values: dict[str, str | SecretStr] = dict(entry.get("values", {}))
        for field, stored in entry.get("secrets", {}).items():
            values[field] = SecretStr(self._read_secret(name, field, stored))
        return Connection(name=name, method=entry["method"], values=values, api_url=entry.get("api_url"),
                          rate=entry.get("rate"))

    def list(self) -> builtins.list[ConnectionSummary]:
        """Every saved connection, by name, without touching a secret."""
        data = self._load()
        return [
            ConnectionSummary(
                name=name,
                method=entry.get("method", "?"),
                account=next(iter(entry.get("values", {}).values()), None),
                api_url=entry.get("api_url"),
                default=name == data["default"],
                secrets_in="keyring" if any(_is_marker(s) for s in entry.get("secrets", {}).values()) else "file",
                rate=entry.get("rate"),
            )
            for name, entry in sorted(data["connections"].items())
        ]

    # -- writing ------------------------------------------------------------------------------------

    def save(self, conn: Connection, make_default: bool = False) -> Literal["file", "keyring"]:
        """Save (or replace) `conn`; the first connection saved becomes the default.

        Returns where the secrets went: the system keyring, or the mode-600 file.
        """
        check_name(conn.name)
        data = self._load()
        old = data["connections"].get(conn.name, {})
        backend = self._backend()
        values = {k: v for k, v in conn.values.items() if isinstance(v, str)}
        secrets: dict[str, Any] = {}
        where: Literal["file", "keyring"] = "file"
        for field, value in conn.values.items():
            if not isinstance(value, SecretStr):
                continue
            secrets[field] = value.get_secret_value()
            if backend is not None:
                try:
                    backend.set_password(self.service, f"{conn.name}/{field}", value.get_secret_value())
                except Exception:  # a locked or refusing keyring: the secret stays in the mode-600 file
                    continue
                secrets[field] = {"keyring": self.service}
                where = "keyring"
        data["connections"][conn.name] = {
            "method": conn.method,
            "values": values,
            "secrets": secrets,
            "api_url": conn.api_url,
            "rate": conn.rate if conn.rate is not None else old.get("rate"),  # a connection saved again keeps its rate
        }
        if make_default or data["default"] not in data["connections"]:
            data["default"] = conn.name
        self._write(data)
        stale = {f for f, s in old.get("secrets", {}).items() if _is_marker(s) and not _is_marker(secrets.get(f))}
        self._forget_secrets(conn.name, stale)
        return where

    def remove(self, name: str) -> None:
        """Forget `name` (and its keyring secrets). If it was the default and one connection is left, that
        one becomes the default; with several left there is no default until `set_default`."""
        data = self._load()
        entry = data["connections"].pop(name, None)
        if entry is None:
            raise ConnectionError_(self._unknown(name, sorted(data["connections"])))
        if data["default"] == name:
            remaining = sorted(data["connections"])
            data["default"] = remaining[0] if len(remaining) == 1 else None
        self._write(data)
        self._forget_secrets(name, {f for f, s in entry.get("secrets", {}).items() if _is_marker(s)})

    def set_rate(self, name: str, rate: float | None) -> None:
        """Pace sends from each sender of connection `name` at `rate` a second (0: not at all; None: the book's
        default)."""
        data = self._load()
        if name not in data["connections"]:
            raise ConnectionError_(self._unknown(name, sorted(data["connections"])))
        data["connections"][name]["rate"] = rate
        self._write(data)

    def set_default(self, name: str) -> None:
        data = self._load()
        if name not in data["connections"]:
            raise ConnectionError_(self._unknown(name, sorted(data["connections"])))
        data["default"] = name
        self._write(data)

    def _write(self, data: dict[str, Any]) -> None:
        """Replace the file atomically; the new file is mode 600 from the moment it exists."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        fd, tmp = _create_private(self.home, ".connections-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    # -- secrets ------------------------------------------------------------------------------------

    def _backend(self) -> SecretBackend | None:
        if self._keyring is _AUTO:
            self._keyring = system_keyring(self.app)
        return self._keyring

    def _read_secret(self, name: str, field: str, stored: Any) -> str:
        if isinstance(stored, str):
            return stored
        backend = self._backend() if _is_marker(stored) else None
        secret = None
        if backend is not None:
            try:
                secret = backend.get_password(self.service, f"{name}/{field}")
            except Exception:
                secret = None
        if not secret:
            raise ConnectionError_(
                f"the {field.replace('_', ' ')} of connection {name!r} is kept in the system keyring, "
                f"which is not available now; unlock the keyring, or save it again with: "
                f"{self.app.program} connect --name {name}"
            )
        return secret

    def _forget_secrets(self, name: str, fields: set[str]) -> None:
        backend = self._backend() if fields else None
        for field in fields:
            try:
                backend.delete_password(self.service, f"{name}/{field}")  # type: ignore[union-attr]
            except Exception:
                pass  # already gone, or no keyring now: nothing more to forget

    def _unknown(self, name: str, known: builtins.list[str]) -> str:
        saved = f"saved connections: {', '.join(known)}" if known else "no connections are saved"
        return f"no connection named {name!r} ({saved}); {add_hint(self.app, name)}"


def _create_private(folder: Path, prefix: str) -> tuple[int, str]:
    """A new file in `folder` opened for writing, created with mode 600 (never readable by others)."""
    for _ in range(100):
        path = os.path.join(folder, f"{prefix}{_secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        except FileExistsError:
            continue
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # exactly 600, whatever the umask
        return fd, path
    raise ConnectionError_(f"cannot create a temporary file in {folder}")


def _is_marker(stored: Any) -> bool:
    return isinstance(stored, dict) and "keyring" in stored


def _clip(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- which connection a run uses ------------------------------------------------------------------------


def resolve_connection(
    name: str | None = None,
    *,
    app: App = App(),
    env: Mapping[str, str] = os.environ,
    store: ConnectionStore | None = None,
    methods: tuple[ConnectionMethod, ...] = (),
) -> Connection | None:
    """The connection a run uses, or None (the caller then uses the local sandbox).

    In order: the saved connection `name`; the environment (the variables of every required field of one
    of `methods`); the store's default. `<PREFIX>_API_URL` (`app.env("API_URL")`) overrides the API URL of whichever is chosen.
    `methods` are the book's connection methods (`Book.connection_methods`); with none, the environment is
    not read.
    """
    if name is not None:
        conn = _store(store, app).get(name)
    else:
        conn = connection_from_env(env, methods)
        if conn is None:
            st = _store(store, app)
            default = st.default_name
            conn = st.get(default) if default else None
    if conn is None:
        return None
    override_env = app.env("API_URL")
    override = env.get(override_env)
    if override:
        try:
            url = check_api_url(override)
        except ConnectionError_ as e:
            raise ConnectionError_(f"{override_env}: {e}") from None
        conn = conn.model_copy(update={"api_url": url})
    rate = rate_from_env(app, env)
    if rate is not None:
        conn = conn.model_copy(update={"rate": rate})
    return conn


def rate_from_env(app: App, env: Mapping[str, str] = os.environ) -> float | None:
    """`<PREFIX>_RATE` (sends a second from one sender; 0 or none: no pacing), or None when it is not set;
    ConnectionError_ if it can't be read."""
    from book.pacing import parse_rate

    name = app.env("RATE")
    given = env.get(name, "").strip()
    if not given:
        return None
    try:
        return parse_rate(given)
    except ValueError as err:
        raise ConnectionError_(f"{name}: {err}") from None


def connection_from_env(env: Mapping[str, str], methods: tuple[ConnectionMethod, ...]) -> Connection | None:
    """A connection named "environment" from the methods' environment variables, or None if none are set.

    When several methods are complete the one with the most fields wins (an API key over the Auth Token);
    when variables are set but no method is complete, ConnectionError_ names what is missing.
    """

    def given(f: ConnectionField) -> bool:
        return bool(env.get(f.env, "").strip())

    present = [f.env for m in methods for f in m.fields if given(f)]
    if not present:
        return None
    complete = [m for m in methods if all(given(f) for f in m.fields if f.required)]
    if not complete:
        best = max(methods, key=lambda m: sum(given(f) for f in m.fields))
        missing = [f.env for f in best.fields if f.required and not given(f)]
        setvars = sorted(dict.fromkeys(present))
        raise ConnectionError_(
            f"the environment sets {', '.join(setvars)} but not {' and '.join(missing)} "
            f"({best.title}); set {'them' if len(missing) > 1 else 'it'} too, or unset "
            f"{'them' if len(setvars) > 1 else 'it'} to use a saved connection"
        )
    method = max(complete, key=lambda m: len(m.fields))
    for f in method.fields:
        try:
            f.check(env.get(f.env))
        except ConnectionError_ as e:
            raise ConnectionError_(f"{f.env}: {e}") from None
    return method.connection("environment", {f.name: env.get(f.env) for f in method.fields})


def _store(store: ConnectionStore | None, app: App) -> ConnectionStore:
    return store if store is not None else ConnectionStore(app.home(), app=app)
