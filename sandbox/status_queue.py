"""Message status callbacks kept in the store, so they outlive the process that sent the message.

A `twilio-book run ... --sandbox` starts its own sandbox, sends a message with a StatusCallback and
exits long before the message is delivered; the listener (`listen --sandbox`) is another process, on
the same database file. So the callbacks to come are not a thread's memory but rows of the store:
the `status_callbacks` table holds, per followed message, the URL, the statuses already posted, the
next status and when it is due (on the store's clock), how many deliveries of it were started, and a
claim. `follow` adds the row when the message is created; `reschedule` re-reads the message when it
changes (canceled).

Every open sandbox (`SandboxServer`: the short one of a `run`, the long one of a `listen --sandbox`
or a `sandbox serve`) runs a `StatusDispatcher` thread that posts what is due:

- It claims due rows in one write transaction (`BEGIN IMMEDIATE`: one writer at a time across every
  process on the file), marking them held (`held_until_us`, real time) by itself, so two dispatchers
  never post the same status. It posts one message's statuses in order, recording each as posted
  (only while it still holds the row) before the next, and releases the row with its next due time,
  or deletes it after the last status.
- A claim is a lease: a dispatcher that dies mid-post leaves a row that another takes over when the
  lease ends, and posts that status again with the same `I-Twilio-Idempotency-Token`, which a
  listener recognizes. `attempts` counts the deliveries of the next status that were started, so one
  that keeps killing its poster is given up after MAX_DELIVERIES.
- It wakes when a message is created or changed in its own process, when a `ManualClock` moves (a
  test's clock), when the next due time comes, and at least every IDLE seconds to see rows other
  processes added.
- Closing, it posts what is already due (within CLOSE_BUDGET seconds) and leaves the rest in the
  store: the next open sandbox posts it, whenever it opens.

A status whose delivery fails (the webhook cannot be reached, after the retries its URL's connection
overrides allow) is given up and logged, as Twilio gives up; the next status is still posted.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.callbacks import Post, deliver, post_form, status_params
from sandbox.clock import US, to_us
from sandbox.errors import SandboxError
from sandbox.records import MessageRecord
from sandbox.store import Store, register_tables

log = logging.getLogger(__name__)

IDLE = 1.0
"""Seconds a dispatcher waits at most before it looks for due rows again (rows other processes added)."""
LEASE_US = 60 * US
"""How long (real time) a claim holds a row: longer than a delivery can take (15 s at most)."""
CLOSE_BUDGET = 2.0
"""Seconds a closing sandbox spends at most posting what is already due."""
MAX_DELIVERIES = 3
"""Deliveries of one status started (and never finished: the poster died) before it is given up."""
BATCH = 32

_SCHEMA = """
CREATE TABLE IF NOT EXISTS status_callbacks (
    message_sid TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    posted TEXT NOT NULL,
    next_status TEXT,
    due_us INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    nonce TEXT NOT NULL,
    held_until_us INTEGER NOT NULL,
    holder TEXT
);
CREATE INDEX IF NOT EXISTS status_callbacks_by_due ON status_callbacks (due_us)
"""
register_tables(_SCHEMA, ("status_callbacks",))


@dataclass(frozen=True)
class Pending:
    """One followed message's row.

    `posted` holds the statuses already posted (or given up), `next_status` and `due_us` (store
    clock) the next change as last computed: a dispatcher computes it again from the message before
    it posts. `held_until_us` (real time) and `holder` are the claim.
    """

    message_sid: str
    url: str
    posted: tuple[str, ...]
    next_status: str | None
    due_us: int
    attempts: int
    nonce: str
    held_until_us: int
    holder: str | None

    def token(self, status: str) -> str:
        """The idempotency token of this message's callback for `status`: the same for every retry."""
        return f"{self.message_sid}-{status}-{self.nonce}"


_COLUMNS = "message_sid, url, posted, next_status, due_us, attempts, nonce, held_until_us, holder"


def _pending(row: tuple) -> Pending:
    sid, url, posted, next_status, due, attempts, nonce, held, holder = row
    return Pending(sid, url, tuple(filter(None, posted.split(","))), next_status, due, attempts, nonce, held, holder)


def next_change(record: MessageRecord, posted: tuple[str, ...]) -> tuple[str, int] | None:
    """The message's first status change not posted yet, and when it happens; None when all were."""
    return next(((status, at) for status, at in record.status_changes() if status not in posted), None)


def follow(store: Store, record: MessageRecord) -> bool:
    """Keep this new message's status changes to post to its StatusCallback; False if it has none."""
    url = record.params.get("StatusCallback")
    change = next_change(record, ())
    if not url or change is None:
        return False
    with store.transaction() as db:
        db.execute(f"REPLACE INTO status_callbacks ({_COLUMNS}) VALUES (?, ?, '', ?, ?, 0, ?, 0, NULL)",
                   (record.sid, str(url), change[0], change[1], uuid.uuid4().hex[:12]))
    return True


def reschedule(store: Store, record: MessageRecord) -> None:
    """The message changed (it was canceled): its next status change is read again from it."""
    with store.transaction() as db:
        row = db.execute(f"SELECT {_COLUMNS} FROM status_callbacks WHERE message_sid = ?", (record.sid,)).fetchone()
        if row is None:
            return
        change = next_change(record, _pending(row).posted)
        if change is None:
            db.execute("DELETE FROM status_callbacks WHERE message_sid = ?", (record.sid,))
        else:
            db.execute("UPDATE status_callbacks SET next_status = ?, due_us = ? WHERE message_sid = ?",
                       (change[0], change[1], record.sid))


def pending(store: Store) -> list[Pending]:
    """Every followed message's row, soonest due first."""
    return [_pending(row) for row in store.query(f"SELECT {_COLUMNS} FROM status_callbacks ORDER BY due_us, message_sid")]


def _real_us() -> int:
    return to_us(time.time())


class StatusDispatcher:
    """Posts the status callbacks that are due, from a background thread, for as long as it runs.

    `start()` it, `wake()` it when a followed message was created or changed, `close()` it before the
    store: it posts what is already due (within `close_budget` seconds) and leaves the rest.
    `post_due()` posts what is due now, in the caller's thread.
    """

    def __init__(self, store: Store, *, post: Post = post_form, sleep: Callable[[float], None] = time.sleep,
                 idle: float = IDLE, close_budget: float = CLOSE_BUDGET) -> None:
        self.store = store
        self.idle = idle
        self.close_budget = close_budget
        self.holder = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._post = post
        self._sleep = sleep
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unwatch: Callable[[], None] | None = None

    def start(self) -> StatusDispatcher:
        if self._thread is not None:
            return self
        watch = getattr(self.store.clock, "watch", None)
        if callable(watch):
            self._unwatch = watch(self.wake)
        self._thread = threading.Thread(target=self._run, name="twilio-book-status-callbacks", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look for due rows now."""
        self._wake.set()

    def close(self) -> None:
        """Stop, after posting what is already due (within `close_budget` seconds); idempotent."""
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.close_budget + 1.0)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    self.post_due()
                    wait = self._wait()
                except sqlite3.ProgrammingError:
                    raise
                except Exception as err:  # e.g. the file stayed locked too long: try again later
                    log.warning("status callbacks: %s: %s", type(err).__name__, err)
                    wait = self.idle
                self._wake.wait(wait)
            self.post_due(deadline=time.monotonic() + self.close_budget)
        except sqlite3.ProgrammingError as err:  # the store was closed under it: the sandbox is gone
            log.debug("status callbacks stopped: %s", err)

    def _wait(self) -> float:
        """Seconds until the next row is due (by the store's clock), at most `idle`."""
        rows = self.store.query("SELECT MIN(due_us) FROM status_callbacks WHERE held_until_us <= ?", (_real_us(),))
        due = rows[0][0] if rows else None
        if due is None:
            return self.idle
        return min(self.idle, max(0.001, (due - self.store.now_us()) / US))

    # -- posting ------------------------------------------------------------------------------------

    def post_due(self, deadline: float | None = None) -> int:
        """Post every status change due now (until `deadline`, a `time.monotonic()`); how many were posted."""
        count = 0
        while deadline is None or time.monotonic() < deadline:
            claimed = self._claim()
            if not claimed:
                break
            for index, sid in enumerate(claimed):
                if deadline is not None and time.monotonic() >= deadline:
                    self._release(claimed[index:])
                    return count
                try:
                    count += self._post_for(sid, deadline)
                except Exception:
                    self._release([sid])
                    raise
        return count

    def _claim(self) -> list[str]:
        """Hold the rows due now that no one holds: in one write transaction, so no one else gets them."""
        now, real = self.store.now_us(), _real_us()
        with self.store.transaction() as db:
            sids = [row[0] for row in db.execute(
                "SELECT message_sid FROM status_callbacks WHERE due_us <= ? AND held_until_us <= ? "
                "ORDER BY due_us, message_sid LIMIT ?", (now, real, BATCH))]
            db.executemany("UPDATE status_callbacks SET held_until_us = ?, holder = ? WHERE message_sid = ?",
                           [(real + LEASE_US, self.holder, sid) for sid in sids])
        return sids

    def _release(self, sids: list[str]) -> None:
        with self.store.transaction() as db:
            db.executemany("UPDATE status_callbacks SET held_until_us = 0, holder = NULL "
                           "WHERE message_sid = ? AND holder = ?", [(sid, self.holder) for sid in sids])

    def _held(self, sid: str) -> Pending | None:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM status_callbacks WHERE message_sid = ? AND holder = ?",
                                (sid, self.holder))
        return _pending(rows[0]) if rows else None

    def _post_for(self, sid: str, deadline: float | None) -> int:
        """Post a held message's due statuses in order; release its row (next due time) or delete it."""
        count = 0
        while True:
            row = self._held(sid)
            if row is None:  # deleted (the sandbox was reset), or its lease ran out and another took it
                return count
            record = self.store.get_message(sid)
            change = next_change(record, row.posted) if record is not None else None
            if change is None:
                self._update(sid, "DELETE FROM status_callbacks WHERE message_sid = ? AND holder = ?", ())
                return count
            status, at = change
            if at > self.store.now_us():
                self._update(sid, "UPDATE status_callbacks SET next_status = ?, due_us = ?, held_until_us = 0, "
                                  "holder = NULL WHERE message_sid = ? AND holder = ?", (status, at))
                return count
            if row.next_status == status and row.attempts >= MAX_DELIVERIES:
                log.warning("status callback for %s (%s) given up: %d deliveries were started and none finished",
                            sid, status, row.attempts)
            else:
                if deadline is not None and time.monotonic() >= deadline:  # closing: the next sandbox posts it
                    self._release([sid])
                    return count
                self._update(sid, "UPDATE status_callbacks SET attempts = CASE WHEN next_status = ? THEN attempts + 1 "
                                  "ELSE 1 END, next_status = ?, held_until_us = ? WHERE message_sid = ? AND holder = ?",
                             (status, status, _real_us() + LEASE_US))
                budget = None if deadline is None else deadline - time.monotonic()
                assert record is not None
                try:
                    deliver(row.url, status_params(record, status, at), self.store.auth_token,
                            token=row.token(status), post=self._post, sleep=self._sleep, budget=budget)
                except SandboxError as err:
                    if deadline is not None and time.monotonic() >= deadline:  # cut short by closing: left, not lost
                        log.info("status callback for %s (%s) left for the next sandbox: %s", sid, status, err)
                        self._release([sid])
                        return count
                    log.warning("status callback for %s (%s) not delivered: %s", sid, status, err)
                count += 1
            self._update(sid, "UPDATE status_callbacks SET posted = ?, attempts = 0 WHERE message_sid = ? AND holder = ?",
                         (",".join((*row.posted, status)),))

    def _update(self, sid: str, sql: str, args: tuple) -> None:
        with self.store.transaction() as db:
            db.execute(sql, (*args, sid, self.holder))
