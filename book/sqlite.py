"""SQLite, the way a book's stores (the listener's tokens and queue) use it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any


@contextmanager
def write_transaction(db: sqlite3.Connection, lock: AbstractContextManager[Any], *,
                      begun: bool = False) -> Iterator[sqlite3.Connection]:
    """`db` under `lock`, in one write transaction (`BEGIN IMMEDIATE`: no other process writes in between;
    `begun`: the caller has begun it).

    It is committed when the block ends, and rolled back on an exception, including a COMMIT that fails
    ("database is locked"), so the connection is never left inside a transaction.
    """
    with lock:
        if not begun:
            db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
