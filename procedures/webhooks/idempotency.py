"""Deliveries already handed on, by Twilio's `I-Twilio-Idempotency-Token`, and the automation runs they queued.

Twilio sends the same token with every retry of one delivery. The listener records a token only
after the delivery was handed on, so a delivery that failed half-way is handed on when Twilio
retries it, and one that succeeded never again. Tokens are kept for `window` seconds (a day by
default, far longer than Twilio keeps retrying), in SQLite under the book's home folder, so a restart
of the listener forgets nothing.

The automation run a delivery calls for is queued in the same database, in the same transaction as
its token (`add(token, queued)`), before Twilio is answered: once Twilio counts a delivery as
handed on, its run is on disk. The listener writes the deliveries of one turn of its event loop in one
transaction on the loop itself when the store is free at once (`hand_on_now`), else through the store's
committer thread (`hand_on_soon`): those waiting together go in one transaction, and the flusher thread puts
what was committed on disk, one flush for them all, before any is told (group commit); the
worker's claims of runs go through the committer. Each queued run is an entry, in arrival order, owned by the
`Handoff` that queued it (`join()` makes one an owner), and goes

    queued -> started -> (deleted: done, whatever the automation's outcome)
                      -> interrupted (its owner died mid-run: reported once, never run again)
           -> expired (it waited more than `max_age` seconds: reported once, never run)

An owner is alive while it holds its lock file (`<database>.owners/<owner>.lock`, locked for the
owner's life with `book.locks`; the operating system releases it when the process dies), so another
listener on the same home tells at once a listener that is running from one that died. A free lock file
is deleted once its owner's entries are taken over, or once it is older than a minute (a younger one
without entries may be an owner's, starting up). `recover()` takes the
entries of owners that are gone: those never started are adopted by a listener with the same
automation (or left without an owner until one starts), those started are marked interrupted and
returned once, to be reported. An entry is run only while it is fresh: one that waited more than
`max_age` seconds since it arrived (a day by default, the tokens' window: a reply to a month-old SMS
would do more harm than good) is marked expired instead of being started or adopted, and returned
once, to be reported for a person to act on. Interrupted and expired entries are kept `window`
seconds, then deleted (by a sweep at most a minute later, as are expired tokens).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from filelock import FileLock

from book.locks import hold, in_use
from book.sqlite import write_transaction

TOKEN_HEADER = "I-Twilio-Idempotency-Token"
DEFAULT_WINDOW = 24 * 3600.0
STALE_LOCK = 60.0
"""Seconds after which a lock file nobody holds is deleted (before that it may be an owner's, starting up)."""
DEFAULT_MAX_AGE = DEFAULT_WINDOW
"""Seconds a queued run may wait for a listener to start it; an older one is reported, never run."""
SWEEP = 60.0
"""Seconds between two sweeps of the expired tokens and the entries reported long ago."""

QUEUED, STARTED, INTERRUPTED, EXPIRED = "queued", "started", "interrupted", "expired"
_DONE_WITH = (INTERRUPTED, EXPIRED)
"""The states of entries kept only to be reported (once), then deleted after `window` seconds."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS delivered (token TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS queued_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT,
    kind TEXT NOT NULL,
    event TEXT NOT NULL,
    label TEXT NOT NULL,
    automation TEXT NOT NULL,
    owner TEXT,
    state TEXT NOT NULL,
    queued_at REAL NOT NULL,
    changed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS queued_runs_by_owner ON queued_runs (owner, state, id);
"""

_LIVE: set[str] = set()
"""The owners alive in this process (they hold their lock file too, when the store is a file)."""


@dataclass(frozen=True)
class Queued:
    """An automation run to queue with a delivery: the event's kind and data (JSON, to rebuild it), how to
    name it to a person, the automation it is for and the owner that will run it."""

    kind: str
    event: str
    label: str
    automation: str
    owner: str


@dataclass(frozen=True)
class Entry:
    """A queued run as stored: `id` is its place in arrival order; `queued_at` a `time.time()`."""

    id: int
    token: str | None
    kind: str
    event: str
    label: str
    automation: str
    owner: str | None
    state: str
    queued_at: float


@dataclass(frozen=True)
class Recovered:
    """What `recover()` found of owners that are gone."""

    interrupted: list[Entry]
    """Started and never finished: now marked interrupted (each returned once, to be reported)."""
    adopted: int
    """Never started, and now the caller's to run."""
    waiting: list[Entry]
    """Never started, for another automation (or kind): left without an owner until a listener with it starts."""
    expired: list[Entry] = field(default_factory=list)
    """Never started, and waiting for longer than `max_age`: now marked expired, never to run (each returned
    once, to be reported)."""


_COLUMNS = "id, token, kind, event, label, automation, owner, state, queued_at"

Step = Callable[[sqlite3.Connection, float], tuple[Any, bool]]
"""A step of a write transaction, given the connection and the time: its result, and whether it changed the
queue. One that fails with anything but a `sqlite3.Error` must have written nothing."""
Done = Callable[[BaseException | None, Any], None]
"""Told how a step given to the committer ended: (the error, None) or (None, its result)."""


class SeenTokens:
    """The idempotency tokens of deliveries handed on within the last `window` seconds, and the queued runs.

    A queued run is started only within `max_age` seconds of its arrival; after that it expires.
    Without a `path` everything is in memory (and dies with the process). One connection, shared by
    the listener and the worker running the automations (thread-safe); every process on the same
    file sees the same tokens and entries.
    """

    def __init__(self, path: Path | None = None, *, window: float = DEFAULT_WINDOW,
                 max_age: float = DEFAULT_MAX_AGE, clock: Callable[[], float] = time.time) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.touch(mode=0o600)  # created for its owner only: the queued events hold messages and numbers
        self.path = path
        self.window = window
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path) if path is not None else ":memory:", check_same_thread=False,
                                   isolation_level=None, timeout=_BUSY_TIMEOUT_MS / 1000)
        self._wal: Path | None = None
        """The WAL file, when the store is in WAL mode: the committer flushes it itself (see `_Committer`)."""
        if path is not None:
            try:  # readers never hold up a writer's COMMIT, nor wait for it (as the sandbox's store)
                self._db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:  # e.g. another process holds it now: it works in the mode it has
                pass
            if self._db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                self._wal = path.with_name(path.name + "-wal")
            # The committer checkpoints the WAL on a thread of its own (`_Checkpoints`), so no delivery's commit
            # waits for one; SQLite's own, at a commit, is left only as a bound should that not keep up.
            self._db.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_BOUND}")
        self._db.executescript(_SCHEMA)
        self._held: dict[str, FileLock] = {}  # owner -> its lock file's lock, held
        self._swept: float | None = None  # when `_sweep` last ran (by `clock`)
        self._committer = _Committer(self)
        self.changed = threading.Condition()
        """Notified when an entry is added, finished or released (in this process)."""
        self.generation = 0
        """Counts the notifications of `changed`, so a waiter misses none."""

    # -- tokens -------------------------------------------------------------------------------------

    def __contains__(self, token: str) -> bool:
        with self._lock:
            return self._delivered(self._db, token, self._clock())

    def hand_on_once(self, token: str | None, hand_on: Callable[[], Queued | None]) -> tuple[bool, int | None]:
        """Hand a delivery on unless its token was handed on within `window` (by any process on this file):
        the check, `hand_on()` and `add(token, <what it returned>)` are one write transaction, so two
        listeners given one token hand it on once, and one that fails (or dies) half-way records nothing.
        Whether it was handed on now, and the queued entry's id, if any. Without a token it is always handed on.

        `hand_on` runs holding the store (and the file's write lock): it must be quick and must not use the store.
        """
        ((error, outcome),) = self._commit_steps([self._delivery(token, hand_on)])
        if error is not None:
            raise error
        return outcome

    def hand_on_soon(self, token: str | None, hand_on: Callable[[], Queued | None], done: Done) -> None:
        """`hand_on_once` on the store's committer thread, in one transaction with the deliveries waiting with it.

        Deliveries are handed on one at a time, in the order they came; those that come while a
        transaction commits go into the next (group commit: one write to disk for them all). Once the
        delivery's transaction has ended, `done(error, outcome)` is called on the committer thread (it must
        be quick): with `hand_on_once`'s result, or the error its `hand_on` raised (then only it is not
        recorded), or the store's error that kept the whole transaction from committing (none of it is).
        """
        self._committer.submit(self._delivery(token, hand_on), done)

    def hand_on_now(self, deliveries: Sequence[tuple[str | None, Callable[[], Queued | None], Done]]) -> bool:
        """`hand_on_soon` for each of the (token, hand_on, done), in one transaction on the calling thread, if the
        store can be written at once; False if it can't, and then nothing was done (give them to `hand_on_soon`).

        For a caller that must not wait (the listener's event loop): the transaction is written only if no
        other thread of this process is using the store, none of its steps wait for the committer, and no other
        process holds the file's write lock; it is committed without waiting for the disk and handed to the
        committer's flusher, so each `done` is told, as with `hand_on_soon`, on the flusher's thread once the
        transaction is on disk. Only in WAL mode (a file): otherwise always False.
        """
        if self._wal is None or not self._committer.idle_now() or not self._lock.acquire(blocking=False):
            return False
        try:
            steps = [self._delivery(token, hand_on) for token, hand_on, _ in deliveries]
            try:
                outcomes = self._commit_steps(steps, flushed=False, at_once=True)
            except _Busy:
                return False
            except sqlite3.Error as err:  # the transaction failed: nothing of it was recorded
                outcomes = [(err, None)] * len(steps)
                _tell([(step, done) for step, (_, _, done) in zip(steps, deliveries, strict=True)], outcomes)
                return True
        finally:
            self._lock.release()
        self._committer.flush_soon([(step, done) for step, (_, _, done) in zip(steps, deliveries, strict=True)], outcomes)
        return True

    def _delivery(self, token: str | None, hand_on: Callable[[], Queued | None]) -> Step:
        def deliver(db: sqlite3.Connection, now: float) -> tuple[tuple[bool, int | None], bool]:
            if token is not None and self._delivered(db, token, now):
                return (False, None), False
            queued = hand_on()  # if it fails, nothing of this delivery was written: a retry brings it again
            if token is not None:
                db.execute("INSERT OR REPLACE INTO delivered (token, at) VALUES (?, ?)", (token, now))
            entry = self._record(db, token, queued, now)
            return (True, entry), entry is not None

        return deliver

    def _commit_steps(self, steps: Sequence[Step], *, flushed: bool = True,
                      at_once: bool = False) -> list[tuple[Exception | None, Any]]:
        """The steps, in order, in one write transaction; each one's (error, result).

        The transaction is on disk when this returns (SQLite's `synchronous=FULL`), unless `flushed` is
        False: then it is committed (every connection sees it) but its WAL may not be flushed yet, and the
        caller must `flush()` before it tells anyone outside that it happened.

        A step that raises anything but a `sqlite3.Error` has written nothing (see `Step`): only it failed.
        An error of the store (a `sqlite3.Error`, e.g. from the COMMIT) propagates, and then none of them is
        recorded. `changed` is notified once if any step changed the queue.

        With `at_once` the caller holds the store's lock, and the transaction begins only if no other process
        holds the file's write lock: else `_Busy`, with nothing done.
        """
        now = self._clock()
        outcomes: list[tuple[Exception | None, Any]] = []
        changed = False
        with self._transaction(flushed=flushed, at_once=at_once) as db:
            for step in steps:
                try:
                    result, changes = step(db, now)
                except sqlite3.Error:
                    raise
                except Exception as err:
                    outcomes.append((err, None))
                    continue
                outcomes.append((None, result))
                changed = changed or changes
            self._sweep(db, now)
        if changed:
            self._notify()
        return outcomes

    def _commit_soon(self, step: Step) -> Any:
        """The step's result, once it has committed in the committer's next transaction (with what waits there)."""
        answer: Future[Any] = Future()

        def done(error: BaseException | None, result: Any) -> None:
            if error is not None:
                answer.set_exception(error)
            else:
                answer.set_result(result)

        self._committer.submit(step, done)
        return answer.result()

    def add(self, token: str | None, queued: Queued | None = None) -> int | None:
        """Remember that the delivery with this token has been handed on, and queue its run (in one
        transaction); forget expired tokens, and the interrupted and expired entries reported long enough
        ago. The entry's id, if one was queued."""
        if token is None and queued is None:
            return None
        now = self._clock()
        with self._transaction() as db:
            if token is not None:
                db.execute("INSERT OR REPLACE INTO delivered (token, at) VALUES (?, ?)", (token, now))
            entry = self._record(db, token, queued, now)
            self._sweep(db, now)
        if entry is not None:
            self._notify()
        return entry

    def _delivered(self, db: sqlite3.Connection, token: str, now: float) -> bool:
        """Whether the token was handed on within `window` (an older row may wait for the next sweep)."""
        row = db.execute("SELECT at FROM delivered WHERE token = ?", (token,)).fetchone()
        return row is not None and row[0] > now - self.window

    @staticmethod
    def _record(db: sqlite3.Connection, token: str | None, queued: Queued | None, now: float) -> int | None:
        """Queue the run (in the caller's transaction); its entry's id."""
        if queued is None:
            return None
        return db.execute(
            "INSERT INTO queued_runs (token, kind, event, label, automation, owner, state, queued_at, "
            "changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (token, queued.kind, queued.event, queued.label, queued.automation, queued.owner, QUEUED,
             now, now)).lastrowid

    def _sweep(self, db: sqlite3.Connection, now: float) -> None:
        """Forget expired tokens, and the entries reported long enough ago (in the caller's transaction); at
        most once every `SWEEP` seconds (or `window`, if shorter), as each is a scan of its table."""
        if self._swept is not None and self._swept <= now < self._swept + min(SWEEP, self.window):
            return
        db.execute("DELETE FROM delivered WHERE at <= ?", (now - self.window,))
        db.execute("DELETE FROM queued_runs WHERE state IN (?, ?) AND changed_at <= ?",
                   (*_DONE_WITH, now - self.window))
        self._swept = now

    # -- owners -------------------------------------------------------------------------------------

    def join(self) -> str:
        """A new owner of queued runs, alive until `leave` (or until this process ends)."""
        owner = uuid.uuid4().hex
        folder = self._owners_folder()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            for stale in folder.glob("*.lock"):  # left by listeners that died with nothing queued
                self._alive(stale.stem)
            self._held[owner] = _hold(folder / f"{owner}.lock")
        _LIVE.add(owner)
        return owner

    def leave(self, owner: str) -> int:
        """The owner is gone: its runs never started are left for the next listener (how many); one it
        started and did not finish counts as interrupted when another listener looks."""
        with self._transaction() as db:
            left = db.execute("UPDATE queued_runs SET owner = NULL, changed_at = ? WHERE owner = ? AND state = ?",
                              (self._clock(), owner, QUEUED)).rowcount
        _LIVE.discard(owner)
        lock = self._held.pop(owner, None)
        if lock is not None:
            folder = self._owners_folder()
            assert folder is not None
            _unlink(folder / f"{owner}.lock")
            lock.release()
        self._notify()
        return left

    def _owners_folder(self) -> Path | None:
        return None if self.path is None else self.path.with_name(self.path.stem + ".owners")

    def _alive(self, owner: str) -> bool:
        """Whether the owner is alive: in this process, or holding its lock file in another. A lock file nobody
        holds is deleted once it is older than `STALE_LOCK` (a younger one may be an owner's, starting up:
        it holds no entries yet)."""
        if owner in _LIVE or owner in self._held:
            return True
        folder = self._owners_folder()
        if folder is None:
            return False
        path = folder / f"{owner}.lock"
        if in_use(path):
            return True
        try:
            if time.time() - path.stat().st_mtime > STALE_LOCK:
                _unlink(path)
        except FileNotFoundError:
            pass
        return False

    # -- the queue ----------------------------------------------------------------------------------

    def recover(self, owner: str, automation: str, kinds: Iterable[str]) -> Recovered:
        """Take over the entries of owners that are gone (see the module's doc); `owner` adopts those never
        started that are for `automation` and one of `kinds`, and any other owner's left without one. Every
        entry left without an owner that waited more than `max_age` (whatever its automation) expires."""
        kinds = list(kinds)
        with self._lock:
            owners = [row[0] for row in self._db.execute(
                "SELECT DISTINCT owner FROM queued_runs WHERE owner IS NOT NULL AND owner != ? AND state IN (?, ?)",
                (owner, QUEUED, STARTED))]
        gone = [other for other in owners if not self._alive(other)]
        if not gone and not self._ownerless_to_take(automation, kinds, self._clock() - self.max_age):
            return Recovered([], 0, [])
        now = self._clock()
        interrupted: list[Entry] = []
        waiting: list[Entry] = []
        adopted = 0
        with self._transaction() as db:
            for other in gone:
                started = [_entry(row) for row in db.execute(
                    f"SELECT {_COLUMNS} FROM queued_runs WHERE owner = ? AND state = ? ORDER BY id", (other, STARTED))]
                db.execute("UPDATE queued_runs SET state = ?, owner = NULL, changed_at = ? WHERE owner = ? AND state = ?",
                           (INTERRUPTED, now, other, STARTED))
                interrupted += started
                waiting += [_entry(row) for row in db.execute(
                    f"SELECT {_COLUMNS} FROM queued_runs WHERE owner = ? AND state = ? ORDER BY id", (other, QUEUED))]
                db.execute("UPDATE queued_runs SET owner = NULL, changed_at = ? WHERE owner = ? AND state = ?",
                           (now, other, QUEUED))
            oldest = now - self.max_age  # then those too old to run: expired before any is adopted
            expired = [replace(_entry(row), owner=None, state=EXPIRED) for row in db.execute(
                f"SELECT {_COLUMNS} FROM queued_runs WHERE owner IS NULL AND state = ? AND queued_at < ? ORDER BY id",
                (QUEUED, oldest))]
            db.execute("UPDATE queued_runs SET state = ?, changed_at = ? WHERE owner IS NULL AND state = ? "
                       "AND queued_at < ?", (EXPIRED, now, QUEUED, oldest))
            if kinds:
                marks = ", ".join("?" * len(kinds))
                adopted = db.execute(
                    f"UPDATE queued_runs SET owner = ?, changed_at = ? WHERE owner IS NULL AND state = ? "
                    f"AND automation = ? AND kind IN ({marks})", (owner, now, QUEUED, automation, *kinds)).rowcount
        folder = self._owners_folder()
        for other in gone if folder is not None else ():  # it had entries, so it had started: its file can go
            if not in_use(folder / f"{other}.lock"):
                _unlink(folder / f"{other}.lock")
        if expired:
            self._notify()
        mine = {entry.id for entry in self.entries(owner=owner, state=QUEUED)} if adopted else set()
        done = mine | {entry.id for entry in expired}
        return Recovered(interrupted, adopted, [entry for entry in waiting if entry.id not in done], expired)

    def _ownerless_to_take(self, automation: str, kinds: list[str], oldest: float) -> bool:
        """Whether an entry without an owner is for `automation` and one of `kinds`, or arrived before `oldest`."""
        marks = ", ".join("?" * len(kinds))
        mine = f" OR (automation = ? AND kind IN ({marks}))" if kinds else ""
        with self._lock:
            return self._db.execute(
                f"SELECT 1 FROM queued_runs WHERE owner IS NULL AND state = ? AND (queued_at < ?{mine}) LIMIT 1",
                (QUEUED, oldest, *([automation, *kinds] if kinds else []))).fetchone() is not None

    def entries(self, *, owner: str | None = None, state: str | None = None, ownerless: bool = False) -> list[Entry]:
        """The entries (of `owner`, or without one; in `state`), in arrival order."""
        where, args = [], []
        if ownerless:
            where.append("owner IS NULL")
        elif owner is not None:
            where.append("owner = ?")
            args.append(owner)
        if state is not None:
            where.append("state = ?")
            args.append(state)
        sql = f"SELECT {_COLUMNS} FROM queued_runs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        with self._lock:
            return [_entry(row) for row in self._db.execute(sql, args)]

    def claim(self, owner: str, finished: int | None = None) -> Entry | None:
        """The owner's first entry never started, now marked started; None if it has none. `finished`, the id
        of its entry that just ended, is finished (`finish`) in the same transaction.

        An entry that waited more than `max_age` is not started: it is marked expired (and no longer the
        owner's) and returned so, once, to be reported; it must not be run. The transaction is the committer's
        (see `hand_on_soon`): the claim shares its write to disk with the deliveries waiting then."""
        if finished is None:
            with self._lock:  # a read first: a worker with nothing to do takes no write lock
                row = self._db.execute("SELECT 1 FROM queued_runs WHERE owner = ? AND state = ? LIMIT 1",
                                       (owner, QUEUED)).fetchone()
            if row is None:
                return None

        def claim(db: sqlite3.Connection, now: float) -> tuple[Entry | None, bool]:
            if finished is not None:
                db.execute("DELETE FROM queued_runs WHERE id = ? AND owner = ? AND state = ?", (finished, owner, STARTED))
            row = db.execute(f"SELECT {_COLUMNS} FROM queued_runs WHERE owner = ? AND state = ? ORDER BY id LIMIT 1",
                             (owner, QUEUED)).fetchone()
            if row is None:
                return None, finished is not None
            entry = _entry(row)
            if entry.queued_at < now - self.max_age:
                db.execute("UPDATE queued_runs SET state = ?, owner = NULL, changed_at = ? WHERE id = ?",
                           (EXPIRED, now, entry.id))
                return replace(entry, state=EXPIRED, owner=None), True  # one fewer pending, without a finish
            db.execute("UPDATE queued_runs SET state = ?, changed_at = ? WHERE id = ?", (STARTED, now, entry.id))
            return replace(entry, state=STARTED), finished is not None

        return self._commit_soon(claim)

    def finish(self, owner: str, entry: int) -> bool:
        """The owner's started entry is done (whatever the outcome): deleted. False if it was no longer its own
        (another listener took it for interrupted)."""
        with self._lock:
            done = self._db.execute("DELETE FROM queued_runs WHERE id = ? AND owner = ? AND state = ?",
                                    (entry, owner, STARTED)).rowcount
        self._notify()
        return bool(done)

    def pending(self, owner: str) -> int:
        """How many of the owner's entries are queued or running."""
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM queued_runs WHERE owner = ? AND state IN (?, ?)",
                                    (owner, QUEUED, STARTED)).fetchone()[0]

    def wait_for_change(self, since: int, timeout: float | None) -> int:
        """Wait (at most `timeout` s) until `generation` moves past `since`; the generation then."""
        with self.changed:
            self.changed.wait_for(lambda: self.generation != since, timeout)
            return self.generation

    def _notify(self) -> None:
        with self.changed:
            self.generation += 1
            self.changed.notify_all()

    @contextmanager
    def _transaction(self, *, flushed: bool = True, at_once: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction (`BEGIN IMMEDIATE`: no other process writes in between), on disk once it has
        committed; with `flushed=False` (WAL mode only) it is committed without waiting for the disk (SQLite's
        `synchronous=NORMAL`, for it alone): `flush()` puts it there. With `at_once` (WAL mode, unflushed) the
        caller holds `_lock`, and the transaction does not wait for another process's write lock: `_Busy`."""
        if flushed or self._wal is None:
            with write_transaction(self._db, self._lock) as db:
                yield db
            return
        with nullcontext() if at_once else self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                if at_once:
                    self._db.execute("PRAGMA busy_timeout=0")
                    try:
                        self._db.execute("BEGIN IMMEDIATE")
                    except sqlite3.OperationalError as err:  # another process is writing: not now
                        raise _Busy from err
                    finally:
                        self._db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
                    with write_transaction(self._db, nullcontext(), begun=True) as db:
                        yield db
                else:
                    with write_transaction(self._db, nullcontext()) as db:
                        yield db
            finally:
                self._db.execute("PRAGMA synchronous=FULL")

    def flush(self) -> None:
        """Put what has been committed on disk: flush the WAL (all of it, whichever connection or process
        wrote it), as SQLite's `synchronous=FULL` does at each commit. Nothing to do outside WAL mode."""
        if self._wal is None:
            return
        try:
            fd = os.open(self._wal, os.O_RDONLY)
        except FileNotFoundError:  # the last connection to close checkpointed it into the database, and removed it
            fd = os.open(self.path, os.O_RDONLY)  # type: ignore[arg-type]
        try:
            _datasync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        folder = self._owners_folder()
        for owner in list(self._held):
            _LIVE.discard(owner)
            if folder is not None:
                _unlink(folder / f"{owner}.lock")
            self._held.pop(owner).release()
        with self._lock:
            self._db.close()


_BUSY_TIMEOUT_MS = 10_000
"""How long a write waits for another process's write lock (SQLite's busy timeout), but for `hand_on_now`'s."""


class _Busy(Exception):
    """The store could not be written at once (another process holds its write lock): nothing was done."""


class _Committer:
    """The thread that commits the steps given to it (deliveries, claims): whatever waits, in one transaction.

    A transaction is committed without waiting for the disk, and handed to the flusher thread, which flushes
    the WAL and only then tells each step's `done`: the next transaction is written while the last is being
    flushed, and one flush puts on disk all the transactions committed before it started (group commit). So
    no step is told it happened before it is on disk, exactly as with `synchronous=FULL`.

    Each thread starts with the first step and ends once none has come for `idle` seconds (the next one
    starts it again), so a store needs no closing for it.
    """

    def __init__(self, seen: SeenTokens, *, idle: float = 5.0, most: int = 256) -> None:
        self.seen = seen
        self.idle = idle
        self.most = most
        """The most steps in one transaction (what waits beyond them goes into the next)."""
        self._waiting: deque[tuple[Step, Done]] = deque()
        self._in_hand = False
        """Whether the committer has taken steps from `_waiting` and not yet committed them."""
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._unflushed: list[tuple[list[tuple[Step, Done]], list[tuple[BaseException | None, Any]]]] = []
        self._committed = threading.Condition()
        self._flusher: threading.Thread | None = None
        self._checkpoints = _Checkpoints(seen.path) if seen.path is not None else None

    def submit(self, step: Step, done: Done) -> None:
        with self._ready:
            self._waiting.append((step, done))
            if self._thread is None:
                self._thread = threading.Thread(target=self._commit_all, name="twilio-book-commits", daemon=True)
                self._thread.start()
            self._ready.notify()

    def idle_now(self) -> bool:
        """Whether no step waits for the committer, nor is being committed by it (a step written elsewhere now
        would not overtake one given to it before)."""
        with self._ready:
            return not self._waiting and not self._in_hand

    def _commit_all(self) -> None:
        while True:
            with self._ready:
                self._in_hand = False
                if not self._ready.wait_for(lambda: self._waiting, self.idle):
                    self._thread = None
                    return
                batch = [self._waiting.popleft() for _ in range(min(self.most, len(self._waiting)))]
                self._in_hand = True
            try:
                outcomes: list[tuple[BaseException | None, Any]] = list(
                    self.seen._commit_steps([step for step, _ in batch], flushed=False))
            except Exception as err:  # the transaction failed: nothing of it was recorded
                _tell(batch, [(err, None)] * len(batch))
                continue
            self.flush_soon(batch, outcomes)

    def flush_soon(self, batch: list[tuple[Step, Done]], outcomes: list[tuple[BaseException | None, Any]]) -> None:
        """A transaction of `batch` committed (unflushed): the flusher tells each step's `done` once it is on disk."""
        with self._committed:
            self._unflushed.append((batch, outcomes))
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_all, name="twilio-book-flushes", daemon=True)
                self._flusher.start()
            self._committed.notify()
        if self._checkpoints is not None:
            self._checkpoints.committed()

    def _flush_all(self) -> None:
        while True:
            with self._committed:
                if not self._committed.wait_for(lambda: self._unflushed, self.idle):
                    self._flusher = None
                    return
                committed, self._unflushed = self._unflushed, []
            try:
                self.seen.flush()
            except OSError as err:  # committed, but not known to be on disk: told as not recorded (a retry
                # of a delivery finds its token and is answered without handing it on again)
                for batch, _ in committed:
                    _tell(batch, [(err, None)] * len(batch))
                continue
            for batch, outcomes in committed:
                _tell(batch, outcomes)


def _tell(batch: list[tuple[Step, Done]], outcomes: list[tuple[BaseException | None, Any]]) -> None:
    for (_, done), (error, result) in zip(batch, outcomes, strict=True):
        try:
            done(error, result)
        except Exception:  # its caller is gone (e.g. its event loop closed): the others are still told
            pass


def _datasync(fd: int) -> None:
    """Flush a file's data to the disk (`fdatasync`, where the system has it)."""
    getattr(os, "fdatasync", os.fsync)(fd)


_CHECKPOINT_EVERY = 100
"""Commits of the committer between two checkpoints of the WAL (each commit writes a few pages)."""
_CHECKPOINT_BOUND = 10_000
"""Pages of WAL at which SQLite checkpoints at a commit itself (only if the checkpoints thread falls behind)."""


class _Checkpoints:
    """Checkpoints the store's WAL every `_CHECKPOINT_EVERY` commits, on a thread and a connection of its own
    (passive: it never waits for a writer, nor holds one up), so that no commit pays for one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._commits = 0
        self._running = threading.Lock()

    def committed(self) -> None:
        self._commits += 1
        if self._commits >= _CHECKPOINT_EVERY and self._running.acquire(blocking=False):
            self._commits = 0
            threading.Thread(target=self._checkpoint, name="twilio-book-checkpoint", daemon=True).start()

    def _checkpoint(self) -> None:
        try:
            with closing(sqlite3.connect(str(self.path), timeout=10.0)) as db:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:  # e.g. the file went away with its listener: SQLite's own checkpoints remain
            pass
        finally:
            self._running.release()


def _entry(row: tuple) -> Entry:
    return Entry(*row)


def _hold(path: Path) -> FileLock:
    """The lock of a new owner's lock file, held (tried again for a moment while another process looks at it)."""
    for _ in range(100):
        lock = hold(path)
        if lock is not None:
            return lock
        time.sleep(0.01)  # another listener is checking whether this owner is alive: it lets go at once
    raise OSError(f"could not hold the lock file {path}")


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:  # gone already, or (Windows) still open elsewhere: the next look deletes it
        pass
