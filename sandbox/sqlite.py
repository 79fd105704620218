"""SQLite, the way the sandbox's store uses it: one write transaction at a time, never left open."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any


@contextmanager
def write_transaction(db: sqlite3.Connection, lock: AbstractContextManager[Any]) -> Iterator[sqlite3.Connection]:
    """`db` under `lock`, in one write transaction (`BEGIN IMMEDIATE`: no other process writes in between).

    It is committed when the block ends, and rolled back on an exception, including a COMMIT that fails
    ("database is locked"), so the connection is never left inside a transaction.
    """
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
