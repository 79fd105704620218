"""Deliveries already handed on, by Twilio's `I-Twilio-Idempotency-Token`, so a retried one is handed on once.

Twilio sends the same token with every retry of one delivery. The listener records a token only
after the delivery was handed on, so a delivery that failed half-way is handed on when Twilio
retries it, and one that succeeded never again. Tokens are kept for `window` seconds (a day by
default, far longer than Twilio keeps retrying), in SQLite under the book's home folder, so a restart
of the listener forgets nothing.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

TOKEN_HEADER = "I-Twilio-Idempotency-Token"
DEFAULT_WINDOW = 24 * 3600.0

_SCHEMA = "CREATE TABLE IF NOT EXISTS delivered (token TEXT PRIMARY KEY, at REAL NOT NULL)"


class SeenTokens:
    """The idempotency tokens of deliveries handed on within the last `window` seconds."""

    def __init__(self, path: Path | None = None, *, window: float = DEFAULT_WINDOW,
                 clock: Callable[[], float] = time.time) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path) if path is not None else ":memory:", check_same_thread=False,
                                   isolation_level=None, timeout=10.0)
        self._db.execute(_SCHEMA)

    def __contains__(self, token: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT at FROM delivered WHERE token = ?", (token,)).fetchone()
        return row is not None and row[0] > self._clock() - self.window

    def add(self, token: str) -> None:
        """Remember that the delivery with this token has been handed on (and forget expired ones)."""
        now = self._clock()
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO delivered (token, at) VALUES (?, ?)", (token, now))
            self._db.execute("DELETE FROM delivered WHERE at <= ?", (now - self.window,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
