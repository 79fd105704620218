"""The sandbox's SQLite storage: its account and credentials, API keys, and messages.

One connection, guarded by a lock, serves every thread (the server's event loop and a test seeding
rows); file databases use WAL so another process can read while the sandbox writes. Credentials are
created once per database file and survive `reset()`, which only empties the data.

Every resource table has `sid`, `account_sid` and `created_us` columns and an index on
`(account_sid, created_us DESC, sid DESC)`, so `keyset_page` can page any of them newest first.
Resource modules keep their own tables (`register_tables`), describe them with a `Table` (the record
dataclass its rows map to) and use the store's public API: `insert`, `get`, `delete`, `keyset_page`,
and `transaction` or `query` for anything else.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Generic, TypeVar

from sandbox.clock import Clock, to_us
from sandbox.errors import SandboxError
from sandbox.filters import Where
from sandbox.ids import new_secret, new_sid
from sandbox.paging import PageRequest
from sandbox.records import AccountRecord, MessageRecord, seed_message
from sandbox.sqlite import write_transaction

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    sid TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    created_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    to_number TEXT NOT NULL,
    from_number TEXT,
    body TEXT NOT NULL,
    messaging_service_sid TEXT,
    num_media INTEGER NOT NULL,
    num_segments INTEGER NOT NULL,
    direction TEXT NOT NULL,
    initial_status TEXT NOT NULL,
    final_status TEXT,
    price TEXT,
    error_code INTEGER,
    error_message TEXT,
    created_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL,
    sent_us INTEGER,
    delivered_us INTEGER,
    queued_us INTEGER,
    params TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_created ON messages (account_sid, created_us DESC, sid DESC);
CREATE INDEX IF NOT EXISTS messages_by_from ON messages (account_sid, from_number, created_us DESC, sid DESC);
CREATE INDEX IF NOT EXISTS messages_by_to ON messages (account_sid, to_number, created_us DESC, sid DESC);
"""

# Columns added after a table was first released: (table, column, type); a database file made before
# gets them when it is opened.
_ADDED_COLUMNS = (("messages", "queued_us", "INTEGER"),)

# Tables `reset()` empties; credentials (meta, api_keys) stay.
_DATA_TABLES = ("messages",)

# Tables that resource modules (recordings, alerts...) define in their own files: (schema, names).
_REGISTERED_TABLES: list[tuple[str, tuple[str, ...]]] = []


def register_tables(schema: str, tables: Sequence[str]) -> None:
    """Let a resource module keep its own tables: every store creates them and `reset()` empties them.

    Call it when the module is imported (`sandbox` imports every resource module before any
    store opens). `schema` is `CREATE TABLE/INDEX IF NOT EXISTS` statements separated by `;`.
    """
    _REGISTERED_TABLES.append((schema, tuple(tables)))


R = TypeVar("R")

# Record fields whose column has another name.
_COLUMN_OF = {"to": "to_number", "from_": "from_number"}


class Table(Generic[R]):
    """A table whose columns are the fields of the record dataclass `record_type`, in order.

    The fields `to` and `from_` are the columns `to_number` and `from_number`; a field `params` (a
    mapping; it must be the last) is stored as JSON text.
    """

    def __init__(self, name: str, record_type: type[R]) -> None:
        self.name = name
        self.record_type = record_type
        names = [f.name for f in fields(record_type)]  # type: ignore[arg-type]
        self.columns = ", ".join(_COLUMN_OF.get(name, name) for name in names)
        """The column list, for `SELECT {columns}` and `INSERT ... ({columns})`."""
        self.placeholders = ", ".join("?" for _ in names)
        """One `?` a column, for `VALUES ({placeholders})`."""
        self._names = names
        self._params = names[-1] == "params"
        # Rows become records by filling their __dict__ (a list reads a thousand at a time; a frozen dataclass's
        # __init__ sets each field through object.__setattr__); a record type with a __post_init__ or slots
        # is built by its __init__.
        self._fill = not hasattr(record_type, "__post_init__") and hasattr(record_type, "__dict__") and \
            "__slots__" not in vars(record_type)

    def __repr__(self) -> str:
        return f"Table({self.name!r}, {self.record_type.__name__})"

    def row(self, record: R) -> tuple[Any, ...]:
        """The values to store for a record, in column order."""
        values = [getattr(record, name) for name in self._names]
        if self._params:
            values[-1] = json.dumps(dict(values[-1]))
        return tuple(values)

    def record(self, row: Sequence[Any]) -> R:
        """The record a stored row (selected with `columns`) holds."""
        if self._fill:
            record = object.__new__(self.record_type)
            values = dict(zip(self._names, row, strict=True))
            if self._params:
                values["params"] = json.loads(row[-1]) if row[-1] != "{}" else {}
            record.__dict__.update(values)
            return record  # type: ignore[no-any-return]
        if self._params:
            return self.record_type(*row[:-1], params=json.loads(row[-1]))
        return self.record_type(*row)


MESSAGES = Table("messages", MessageRecord)


@dataclass(frozen=True)
class MessageFilter:
    """The filters of List Messages. `sent_from_us` is inclusive, `sent_before_us` exclusive."""

    to: str | None = None
    from_: str | None = None
    sent_from_us: int | None = None
    sent_before_us: int | None = None


class Store:
    """SQLite storage for one sandbox account. Thread-safe; use `close()` (or `with`) when done."""

    def __init__(self, path: str | Path = ":memory:", *, clock: Clock = time.time) -> None:
        self.path = str(path)
        self.clock = clock
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            Path(self.path).touch(mode=0o600)  # it will hold the auth token: owner-only
        self._lock = threading.RLock()
        self._writes = 0  # this connection's committed write transactions (PRAGMA data_version counts the others')
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10.0)
        try:
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self.transaction() as db:
                for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                    db.execute(statement)
                for schema, _tables in _REGISTERED_TABLES:
                    for statement in filter(None, (s.strip() for s in schema.split(";"))):
                        db.execute(statement)
                for table, column, kind in _ADDED_COLUMNS:
                    if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                self._account = self._load_or_create_account(db)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise SandboxError(
                f"The sandbox database {self.path} is not usable ({exc}); "
                "move it aside or delete it to start a fresh sandbox (with new credentials)."
            ) from exc

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def now_us(self) -> int:
        """The clock's current time in microseconds."""
        return to_us(self.clock())

    # -- the API of resource modules ---------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the store's lock, in one write transaction (rolled back on an exception)."""
        with self._lock:
            try:
                with write_transaction(self._db, self._lock) as db:
                    yield db
            finally:
                self._writes += 1  # counted committed or not: a version that moves too often only costs a cache miss

    def version(self) -> tuple[int, int]:
        """Changes whenever any data may have changed, written by this store or by another process on the file."""
        with self._lock:
            return self._writes, self._db.execute("PRAGMA data_version").fetchone()[0]

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows one read-only statement returns, run under the store's lock."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def insert(self, table: Table[R], records: Iterable[R], *, replace: bool = False) -> None:
        """Store records in one transaction; with `replace`, overwrite the rows with the same SIDs."""
        verb = "REPLACE" if replace else "INSERT"
        with self.transaction() as db:
            db.executemany(f"{verb} INTO {table.name} ({table.columns}) VALUES ({table.placeholders})",
                           [table.row(record) for record in records])

    def get(self, table: Table[R], sid: str, where: Where | None = None) -> R | None:
        """The account's row with this SID (that also meets `where`, if given), or None."""
        where = where or Where()
        conditions = " AND ".join(["account_sid = ?", "sid = ?", *where.conditions])
        rows = self.query(f"SELECT {table.columns} FROM {table.name} WHERE {conditions}",
                          [self._account.sid, sid, *where.args])
        return table.record(rows[0]) if rows else None

    def delete(self, table: Table[Any], sid: str) -> bool:
        """Delete the account's row with this SID; False if there was none."""
        with self.transaction() as db:
            cursor = db.execute(f"DELETE FROM {table.name} WHERE account_sid = ? AND sid = ?", (self._account.sid, sid))
            return cursor.rowcount > 0

    def count(self, table: Table[Any]) -> int:
        """How many rows the table holds."""
        return int(self.query(f"SELECT COUNT(*) FROM {table.name}")[0][0])

    def keyset_page(self, table: Table[R], where: Where, page: PageRequest) -> tuple[list[R], bool]:
        """The account's records that meet `where`, one page of them newest first by `(created_us, sid)`,
        and whether more follow.

        A page token (`page.cursor`) names the row the page follows or precedes, so paging keeps
        working when rows are deleted between pages; without one, `Page=N` skips `N * PageSize` rows.
        """
        conditions = ["account_sid = ?", *where.conditions]
        args = [self._account.sid, *where.args]
        order, offset = "DESC", page.offset
        if page.cursor is not None:
            conditions.append("(created_us, sid) < (?, ?)" if page.cursor.forward else "(created_us, sid) > (?, ?)")
            args += [page.cursor.created_us, page.cursor.sid]
            order = "DESC" if page.cursor.forward else "ASC"
        sql = (
            f"SELECT {table.columns} FROM {table.name} WHERE {' AND '.join(conditions)} "
            f"ORDER BY created_us {order}, sid {order} LIMIT ? OFFSET ?"
        )
        rows = self.query(sql, [*args, page.page_size + 1, offset])
        has_more = len(rows) > page.page_size
        rows = rows[: page.page_size]
        if order == "ASC":  # a previous page: fetched oldest first, shown newest first
            rows.reverse()
            has_more = True
        return [table.record(row) for row in rows], has_more

    # -- account and credentials -----------------------------------------------------------------

    def _load_or_create_account(self, db: sqlite3.Connection) -> AccountRecord:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if "account_sid" not in meta:
            meta = {
                "schema_version": SCHEMA_VERSION,
                "account_sid": new_sid("AC"),
                "auth_token": new_secret(),
                "friendly_name": "twilio-book sandbox",
                "created_us": str(self.now_us()),
            }
            db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
        return AccountRecord(
            sid=meta["account_sid"],
            auth_token=meta["auth_token"],
            friendly_name=meta["friendly_name"],
            created_us=int(meta["created_us"]),
        )

    @property
    def account(self) -> AccountRecord:
        """The sandbox's account (its SID, auth token, name, creation time)."""
        return self._account

    @property
    def account_sid(self) -> str:
        return self._account.sid

    @property
    def auth_token(self) -> str:
        return self._account.auth_token

    def authenticate(self, username: str, password: str) -> str | None:
        """Who these basic-auth credentials are (the account SID or an API key SID), or None."""
        if hmac.compare_digest(username, self._account.sid):
            return username if hmac.compare_digest(password, self._account.auth_token) else None
        if username.startswith("SK"):
            rows = self.query("SELECT secret FROM api_keys WHERE sid = ?", (username,))
            if rows and hmac.compare_digest(password, rows[0][0]):
                return username
        return None

    def create_api_key(self, friendly_name: str = "") -> tuple[str, str]:
        """A new API key for this account: returns `(key_sid, secret)`, usable as basic-auth credentials."""
        sid, secret = new_sid("SK"), new_secret()
        with self.transaction() as db:
            db.execute(
                "INSERT INTO api_keys (sid, secret, friendly_name, created_us) VALUES (?, ?, ?, ?)",
                (sid, secret, friendly_name, self.now_us()),
            )
        return sid, secret

    def reset(self) -> None:
        """Delete every message (and other data) but keep the account, its token and API keys."""
        with self.transaction() as db:
            for table in _DATA_TABLES:
                db.execute(f"DELETE FROM {table}")
            for _schema, tables in _REGISTERED_TABLES:
                for table in tables:
                    db.execute(f"DELETE FROM {table}")

    # -- messages --------------------------------------------------------------------------------

    def add_message(self, record: MessageRecord) -> MessageRecord:
        """Store a new message record."""
        self.insert(MESSAGES, [record])
        return record

    def insert_messages(self, rows: Iterable[Mapping[str, Any]]) -> list[str]:
        """Bulk-insert messages for tests and benchmarks; returns their SIDs in order.

        Each row is a dict with `to` (required) and any of: `from_` (or `from`), `body`, `direction`
        (default `outbound-api`), `status` (omit to follow the queued -> sent -> delivered lifecycle),
        `date_created`, `date_sent`, `date_updated` (aware datetimes or ISO 8601 strings),
        `messaging_service_sid`, `media_urls`, `num_media`, `num_segments`, `price`, `error_code`,
        `error_message`, `sid`. Raises ValueError for an unknown key or a bad value.
        """
        now = self.now_us()
        records = [seed_message(row, self._account.sid, now) for row in rows]
        self.insert(MESSAGES, records)
        return [record.sid for record in records]

    def get_message(self, sid: str) -> MessageRecord | None:
        """The message with this SID, or None."""
        return self.get(MESSAGES, sid)

    def save_message(self, record: MessageRecord) -> None:
        """Overwrite a stored message with an updated record (same SID)."""
        self.insert(MESSAGES, [record], replace=True)

    def delete_message(self, sid: str) -> bool:
        """Delete a message; False if there was none."""
        return self.delete(MESSAGES, sid)

    def next_sent(self, where: MessageFilter, now_us: int) -> int | None:
        """When the next message `where` takes that follows its lifecycle is sent after `now_us`: then it enters
        the lists filtered by date sent. None: none will."""
        sql = Where()
        sql.equals("to_number", where.to)
        sql.equals("from_number", where.from_)
        sql.add("final_status IS NULL AND sent_us > ?", now_us)
        rows = self.query(f"SELECT MIN(sent_us) FROM {MESSAGES.name} WHERE account_sid = ? AND "
                          + " AND ".join(sql.conditions), [self._account.sid, *sql.args])
        return rows[0][0]

    def list_messages(self, where: MessageFilter, page: PageRequest) -> tuple[list[MessageRecord], bool]:
        """One page of messages, newest first, and whether more follow."""
        sql = Where()
        sql.equals("to_number", where.to)
        sql.equals("from_number", where.from_)
        # Only messages already sent have a date_sent; lifecycle rows become "sent" at sent_us.
        sql.reached_in_range("sent_us", where.sent_from_us, where.sent_before_us, self.now_us())
        return self.keyset_page(MESSAGES, sql, page)
