"""The sandbox's SQLite storage: its account and credentials, API keys, and messages.

One connection, guarded by a lock, serves every thread (the server's event loop and a test seeding
rows); file databases use WAL so another process can read while the sandbox writes. Credentials are
created once per database file and survive `reset()`, which only empties the data.

Every resource table has `sid`, `account_sid` and `created_us` columns and an index on
`(account_sid, created_us DESC, sid DESC)`, so `_keyset_page` can page any of them newest first.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

from book.errors import SandboxError
from book.sandbox.clock import Clock, to_us
from book.sandbox.ids import new_secret, new_sid
from book.sandbox.paging import PageRequest
from book.sandbox.records import AccountRecord, MessageRecord, seed_message

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
    params TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_created ON messages (account_sid, created_us DESC, sid DESC);
CREATE INDEX IF NOT EXISTS messages_by_from ON messages (account_sid, from_number, created_us DESC, sid DESC);
CREATE INDEX IF NOT EXISTS messages_by_to ON messages (account_sid, to_number, created_us DESC, sid DESC);
"""

# Tables `reset()` empties; credentials (meta, api_keys) stay.
_DATA_TABLES = ("messages",)

# Tables that resource modules (recordings, alerts...) define in their own files: (schema, names).
_REGISTERED_TABLES: list[tuple[str, tuple[str, ...]]] = []


def register_tables(schema: str, tables: Sequence[str]) -> None:
    """Let a resource module keep its own tables: every store creates them and `reset()` empties them.

    Call it when the module is imported (`book.sandbox` imports every resource module before any
    store opens). `schema` is `CREATE TABLE/INDEX IF NOT EXISTS` statements separated by `;`.
    """
    _REGISTERED_TABLES.append((schema, tuple(tables)))


_MESSAGE_COLUMNS = (
    "sid, account_sid, to_number, from_number, body, messaging_service_sid, num_media, num_segments, "
    "direction, initial_status, final_status, price, error_code, error_message, created_us, updated_us, "
    "sent_us, delivered_us, params"
)
_MESSAGE_PLACEHOLDERS = ", ".join("?" for _ in fields(MessageRecord))


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
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10.0)
        try:
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._transaction() as db:
                for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                    db.execute(statement)
                for schema, _tables in _REGISTERED_TABLES:
                    for statement in filter(None, (s.strip() for s in schema.split(";"))):
                        db.execute(statement)
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

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

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
            rows = self._query("SELECT secret FROM api_keys WHERE sid = ?", (username,))
            if rows and hmac.compare_digest(password, rows[0][0]):
                return username
        return None

    def create_api_key(self, friendly_name: str = "") -> tuple[str, str]:
        """A new API key for this account: returns `(key_sid, secret)`, usable as basic-auth credentials."""
        sid, secret = new_sid("SK"), new_secret()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO api_keys (sid, secret, friendly_name, created_us) VALUES (?, ?, ?, ?)",
                (sid, secret, friendly_name, self.now_us()),
            )
        return sid, secret

    def reset(self) -> None:
        """Delete every message (and other data) but keep the account, its token and API keys."""
        with self._transaction() as db:
            for table in _DATA_TABLES:
                db.execute(f"DELETE FROM {table}")
            for _schema, tables in _REGISTERED_TABLES:
                for table in tables:
                    db.execute(f"DELETE FROM {table}")

    # -- messages --------------------------------------------------------------------------------

    def add_message(self, record: MessageRecord) -> MessageRecord:
        """Store a new message record."""
        with self._transaction() as db:
            db.execute(f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES ({_MESSAGE_PLACEHOLDERS})", _to_row(record))
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
        with self._transaction() as db:
            db.executemany(
                f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES ({_MESSAGE_PLACEHOLDERS})",
                [_to_row(record) for record in records],
            )
        return [record.sid for record in records]

    def get_message(self, sid: str) -> MessageRecord | None:
        """The message with this SID, or None."""
        rows = self._query(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE account_sid = ? AND sid = ?", (self._account.sid, sid)
        )
        return _message(rows[0]) if rows else None

    def save_message(self, record: MessageRecord) -> None:
        """Overwrite a stored message with an updated record (same SID)."""
        with self._transaction() as db:
            db.execute(f"REPLACE INTO messages ({_MESSAGE_COLUMNS}) VALUES ({_MESSAGE_PLACEHOLDERS})", _to_row(record))

    def delete_message(self, sid: str) -> bool:
        """Delete a message; False if there was none."""
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM messages WHERE account_sid = ? AND sid = ?", (self._account.sid, sid))
            return cursor.rowcount > 0

    def count_messages(self) -> int:
        """How many messages are stored."""
        return int(self._query("SELECT COUNT(*) FROM messages")[0][0])

    def list_messages(self, where: MessageFilter, page: PageRequest) -> tuple[list[MessageRecord], bool]:
        """One page of messages, newest first, and whether more follow."""
        conditions, args = [], []
        if where.to is not None:
            conditions.append("to_number = ?")
            args.append(where.to)
        if where.from_ is not None:
            conditions.append("from_number = ?")
            args.append(where.from_)
        if where.sent_from_us is not None or where.sent_before_us is not None:
            # Only messages already sent have a date_sent; lifecycle rows become "sent" at sent_us.
            conditions.append("sent_us IS NOT NULL AND (final_status IS NOT NULL OR sent_us <= ?)")
            args.append(self.now_us())
            if where.sent_from_us is not None:
                conditions.append("sent_us >= ?")
                args.append(where.sent_from_us)
            if where.sent_before_us is not None:
                conditions.append("sent_us < ?")
                args.append(where.sent_before_us)
        rows, has_more = self._keyset_page("messages", _MESSAGE_COLUMNS, conditions, args, page)
        return [_message(row) for row in rows], has_more

    def _keyset_page(
        self, table: str, columns: str, conditions: list[str], args: list[Any], page: PageRequest
    ) -> tuple[list[tuple[Any, ...]], bool]:
        """Rows of `table` for one page, newest first by `(created_us, sid)`, plus whether more follow."""
        conditions = ["account_sid = ?", *conditions]
        args = [self._account.sid, *args]
        order, offset = "DESC", page.offset
        if page.cursor is not None:
            conditions.append("(created_us, sid) < (?, ?)" if page.cursor.forward else "(created_us, sid) > (?, ?)")
            args += [page.cursor.created_us, page.cursor.sid]
            order = "DESC" if page.cursor.forward else "ASC"
        sql = (
            f"SELECT {columns} FROM {table} WHERE {' AND '.join(conditions)} "
            f"ORDER BY created_us {order}, sid {order} LIMIT ? OFFSET ?"
        )
        rows = self._query(sql, [*args, page.page_size + 1, offset])
        has_more = len(rows) > page.page_size
        rows = rows[: page.page_size]
        if order == "ASC":  # a previous page: fetched oldest first, shown newest first
            rows.reverse()
            has_more = True
        return rows, has_more


def _to_row(record: MessageRecord) -> tuple[Any, ...]:
    values = list(astuple(record))
    values[-1] = json.dumps(dict(record.params))
    return tuple(values)


def _message(row: tuple[Any, ...]) -> MessageRecord:
    return MessageRecord(*row[:-1], params=json.loads(row[-1]))
