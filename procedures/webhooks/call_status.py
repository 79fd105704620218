"""Call status callbacks: where a running listener takes them, and where a call that waits finds them.

A listener Twilio can reach (`listen --sandbox`, or `--public-url`) says so in the book's home folder
(`triggers/calls.sqlite3`: its process and the URL Twilio calls). `place a phone call` asks, before it places
the call: with such a listener, the call's status callback is the listener's `/twilio/call-status`, the listener
records each status it receives here, and the wait reads them here (no request to Twilio while it waits;
a look every 15 s all the same, in case a callback is lost); without one, the wait polls the call. A listener
that stopped, or died, is not asked (its process is gone).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from procedures.webhooks.signature import SIGNATURE_HEADER, Params, SignatureCheck

CALL_STATUS_PATH = "/twilio/call-status"
FINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS listeners (id TEXT PRIMARY KEY, pid INTEGER NOT NULL, url TEXT NOT NULL, started REAL NOT NULL);
CREATE TABLE IF NOT EXISTS call_statuses (
    call_sid TEXT NOT NULL, status TEXT NOT NULL, duration INTEGER, received REAL NOT NULL,
    PRIMARY KEY (call_sid, status)
);
"""


def board_path(home: Path) -> Path:
    return home / "triggers" / "calls.sqlite3"


class CallBoard:
    """The listeners that take call status callbacks on this home, and the statuses they took."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- the listener's side
    def advertise(self, url: str) -> str:
        """Say that this process takes call status callbacks at `url` (a base URL Twilio reaches); its id."""
        own = uuid.uuid4().hex
        self._run("INSERT INTO listeners (id, pid, url, started) VALUES (?, ?, ?, ?)", (own, os.getpid(), url, time.time()))
        return own

    def withdraw(self, own: str) -> None:
        self._run("DELETE FROM listeners WHERE id = ?", (own,))

    def record(self, call_sid: str, status: str, duration: int | None) -> None:
        self._run("INSERT OR REPLACE INTO call_statuses (call_sid, status, duration, received) VALUES (?, ?, ?, ?)",
                  (call_sid, status, duration, time.time()))

    # -- the waiting call's side
    def listener_url(self) -> str | None:
        """The base URL of a running listener that takes call status callbacks, or None."""
        for own, pid, url in self._run("SELECT id, pid, url FROM listeners ORDER BY started DESC"):
            if _alive(pid):
                return url
            self.withdraw(own)  # its process is gone
        return None

    def final(self, call_sid: str) -> tuple[str, int | None] | None:
        """The call's final status and duration, once a listener took it."""
        marks = ",".join("?" for _ in FINAL)
        rows = self._run(f"SELECT status, duration FROM call_statuses WHERE call_sid = ? AND status IN ({marks})",
                         (call_sid, *sorted(FINAL)))
        return (rows[0][0], rows[0][1]) if rows else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def call_status_route(check: SignatureCheck, board: CallBoard, forward, *, report) -> Route:
    """`POST /twilio/call-status`: a signed status callback of a call, recorded on the board and forwarded."""

    async def receive(request: Request) -> Response:
        from urllib.parse import parse_qsl

        pairs = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        params = Params.of(pairs)
        if not check.valid(str(request.url), params, request.headers.get(SIGNATURE_HEADER)):
            report(f"refused a request to {CALL_STATUS_PATH}: the {SIGNATURE_HEADER} is missing or wrong (403)")
            return PlainTextResponse(f"Forbidden: the {SIGNATURE_HEADER} is missing or wrong.\n", status_code=403)
        sid, status = params.first("CallSid") or "", params.first("CallStatus") or ""
        if not sid or not status:
            return PlainTextResponse("Bad Request: CallSid and CallStatus are required.\n", status_code=400)
        duration = params.first("CallDuration")
        board.record(sid, status, int(duration) if duration and duration.isdigit() else None)
        forward({"trigger": "call-status", "call_sid": sid, "status": status,
                 "duration": int(duration) if duration and duration.isdigit() else None})
        return Response(status_code=204)

    return Route(CALL_STATUS_PATH, receive, methods=["POST"])
