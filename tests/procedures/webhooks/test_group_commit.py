"""Group commit: deliveries that wait together are recorded in one transaction, and answered once it committed."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import threading
import time

import requests

from concepts.events import InboundCall
from procedures.webhooks.idempotency import Queued, SeenTokens
from procedures.webhooks.listen import Handoff
from sandbox.callbacks import deliver
from tests.conftest import CALLER, NUMBER


class Commits:
    """A store's connection that counts its COMMITs, and fails those numbered in `failing` (1 is the first)
    as a full disk would."""

    def __init__(self, db: sqlite3.Connection, failing: tuple[int, ...] = ()) -> None:
        self.db = db
        self.failing = failing
        self.count = 0

    def execute(self, sql: str, *args):
        if sql == "COMMIT":
            self.count += 1
            if self.count in self.failing:
                raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self.db, name)


class Held:
    """A store's lock, held by the test until the block ends; `committer_waits` is set once the committer waits for it."""

    def __init__(self, seen: SeenTokens) -> None:
        self.lock = seen._lock
        self.committer_waits = threading.Event()
        seen._lock = self

    def __enter__(self) -> Held:
        if threading.current_thread().name == "twilio-book-commits":
            self.committer_waits.set()
        self.lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()

    def acquire(self, blocking: bool = True) -> bool:  # as the listener's event loop tries it (`hand_on_now`)
        return self.lock.acquire(blocking)

    def release(self) -> None:
        self.lock.release()


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    return condition()


def queued(sid: str) -> Queued:
    return Queued(kind="call", event="{}", label=f"call {sid}", automation="/a/calls.auto", owner="someone")


def test_deliveries_waiting_together_are_handed_on_in_order_in_one_commit_each_once(tmp_path):
    seen = SeenTokens(tmp_path / "webhooks.sqlite3")
    seen._db = commits = Commits(seen._db)
    handed_on, outcomes, told = [], {}, threading.Event()

    def hand_on(name, result=None):
        def hand_on_now():
            handed_on.append(name)
            if result is OSError:
                raise OSError("stdout went away")
            return result
        return hand_on_now

    def done(name):
        def record(error, outcome):
            outcomes[name] = error if error is not None else outcome
            if len(outcomes) == 6:
                told.set()
        return record

    with Held(seen) as held:  # the committer takes the first and waits for the store; the others wait together
        seen.hand_on_soon("first", hand_on("first"), done("first"))
        assert held.committer_waits.wait(timeout=5)
        seen.hand_on_soon("a", hand_on("a", queued("CAa")), done("a"))
        seen.hand_on_soon("broken", hand_on("broken", OSError), done("broken"))
        seen.hand_on_soon("a", hand_on("a again"), done("a again"))  # Twilio's retry, close behind
        seen.hand_on_soon(None, hand_on("no token"), done("no token"))
        seen.hand_on_soon("first", hand_on("first again"), done("first again"))
    assert told.wait(timeout=10)
    assert handed_on == ["first", "a", "broken", "no token"]  # in order, each token once
    assert commits.count == 2  # the first alone, then the five that waited together
    (entry,) = seen.entries()
    assert outcomes["first"] == (True, None) and outcomes["a"] == (True, entry.id) and entry.token == "a"
    assert isinstance(outcomes["broken"], OSError)  # only the one that failed is not recorded ...
    assert outcomes["a again"] == outcomes["first again"] == (False, None)
    assert outcomes["no token"] == (True, None)
    assert "broken" not in seen and "a" in seen and "first" in seen  # ... so its retry is handed on
    assert seen.hand_on_once("broken", hand_on("broken, retried")) == (True, None)
    seen.close()


def test_a_batch_whose_commit_fails_answers_none_of_its_deliveries_2xx_and_their_retries_run_once(
        sandbox, tmp_path, start_listener):
    seen = SeenTokens(tmp_path / "webhooks.sqlite3")
    seen._db = commits = Commits(seen._db, failing=(2,))
    ran = []

    class Calls:
        def run(self, session, facts):
            ran.append(facts["event"].sid)

    out = io.StringIO()
    handoff = Handoff(out, automations={InboundCall: Calls()}, seen=seen, name="/a/calls.auto", report=print)
    url = start_listener(handoff, seen=seen).endpoints["voice"]

    def params(sid):
        return [("AccountSid", sandbox.account_sid), ("CallSid", sid), ("From", CALLER), ("To", NUMBER)]

    sids = ["CA" + c * 32 for c in "abcd"]
    answers: dict[str, int] = {}

    def post(sid):
        answers[sid] = deliver(url, params(sid), sandbox.auth_token, token=f"t-{sid}").status

    with Held(seen) as held:  # the first waits alone for the store; the three others come while it waits: one batch
        first = threading.Thread(target=post, args=(sids[0],))
        first.start()
        assert held.committer_waits.wait(timeout=5)
        rest = [threading.Thread(target=post, args=(sid,)) for sid in sids[1:]]
        for thread in rest:
            thread.start()
        assert wait_until(lambda: len(seen._committer._waiting) == 3)
    for thread in [first, *rest]:
        thread.join(timeout=10)
    assert answers[sids[0]] == 200  # its own commit, the first
    assert [answers[sid] for sid in sids[1:]] == [500, 500, 500]  # the second failed: none of them is 2xx ...
    assert all(f"t-{sid}" not in seen for sid in sids[1:]) and len(seen.entries()) <= 1  # ... nor recorded
    retried = [deliver(url, params(sid), sandbox.auth_token, token=f"t-{sid}").status for sid in sids[1:]]
    again = [deliver(url, params(sid), sandbox.auth_token, token=f"t-{sid}").status for sid in sids]
    assert retried == again[1:] == [200, 200, 200] and again[0] == 200
    assert handoff.close(timeout=10)
    assert ran == sids  # each delivery's automation ran once, in the order they were recorded
    assert commits.count > 2


def test_the_wal_is_checkpointed_off_the_commits(tmp_path):
    from procedures.webhooks import idempotency

    path = tmp_path / "webhooks.sqlite3"
    seen = SeenTokens(path)
    told = threading.Semaphore(0)
    count = 2 * idempotency._CHECKPOINT_EVERY
    for n in range(count):  # one at a time: each its own commit
        seen.hand_on_soon(f"t{n}", lambda: None, lambda error, outcome: told.release())
        assert told.acquire(timeout=10)

    def in_the_file() -> int:  # the database file alone, without its WAL: what checkpoints copied there
        try:
            with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as db:
                return db.execute("SELECT COUNT(*) FROM delivered").fetchone()[0]
        except sqlite3.DatabaseError:  # read while a checkpoint writes it (immutable: no locks): look again
            return -1

    assert wait_until(lambda: in_the_file() >= idempotency._CHECKPOINT_EVERY)
    assert all(f"t{n}" in seen for n in range(count))
    seen.close()


def test_a_delivery_is_told_only_once_its_transaction_is_on_disk_and_the_next_commits_meanwhile(tmp_path):
    seen = SeenTokens(tmp_path / "webhooks.sqlite3")
    commits = Commits(seen._db)
    seen._db = commits
    flushing, go_on, flushes, flushed = threading.Event(), threading.Event(), [], []
    flush = seen.flush

    def held_flush() -> None:  # the disk taking its time
        flushes.append(commits.count)  # the COMMITs made before this flush began: it puts them on disk
        flushing.set()
        assert go_on.wait(10)
        flush()
        flushed.append(len(flushes))

    seen.flush = held_flush
    told: dict[str, int] = {}
    seen.hand_on_soon("first", lambda: None, lambda error, outcome: told.setdefault("first", len(flushed)))
    assert flushing.wait(10)
    seen.hand_on_soon("second", lambda: None, lambda error, outcome: told.setdefault("second", len(flushed)))
    assert wait_until(lambda: commits.count == 2)  # committed while the first is being flushed ...
    assert told == {}  # ... and neither told yet: the first is not on disk, the second waits for the next flush
    go_on.set()
    assert wait_until(lambda: len(told) == 2)
    assert flushes == [1, 2] and told == {"first": 1, "second": 2}  # each told after a flush begun after its COMMIT
    assert seen._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again for every other write
    assert "first" in seen and "second" in seen
    seen.close()


# -- on the event loop: a delivery written where it arrives, when the store is free ----------------------


def status_params(sandbox, n: int) -> list[tuple[str, str]]:
    return [("AccountSid", sandbox.account_sid), ("MessageSid", f"SM{n:032d}"), ("MessageStatus", "sent")]


def test_deliveries_are_written_on_the_event_loop_when_the_store_is_free_and_told_once_on_disk(
        sandbox, tmp_path, start_listener):
    seen = SeenTokens(tmp_path / "webhooks.sqlite3")
    seen._db = commits = Commits(seen._db)
    flushes = []
    flush = seen.flush

    def counted_flush() -> None:
        flushes.append(commits.count)
        flush()

    seen.flush = counted_flush
    out = io.StringIO()
    url = start_listener(Handoff(out, seen=seen), seen=seen).endpoints["message-status"]
    answers = [deliver(url, status_params(sandbox, n), sandbox.auth_token, token=f"t{n}").status for n in range(5)]
    assert answers == [204] * 5 and all(f"t{n}" in seen for n in range(5))
    assert deliver(url, status_params(sandbox, 0), sandbox.auth_token, token="t0").status == 204  # Twilio's retry
    assert len(out.getvalue().splitlines()) == 5  # each handed on once
    assert commits.count >= 5 and len(flushes) >= 5  # each answered only after a flush begun after its COMMIT
    assert seen._committer._thread is None  # none of them went through the committer's thread
    seen.close()


def test_a_delivery_while_another_process_writes_waits_off_the_event_loop_and_is_recorded_once(
        sandbox, tmp_path, start_listener):
    path = tmp_path / "webhooks.sqlite3"
    seen = SeenTokens(path)
    out = io.StringIO()
    listener = start_listener(Handoff(out, seen=seen), seen=seen)
    url = listener.endpoints["message-status"]
    other = subprocess.Popen([sys.executable, "-c", (  # another listener's write, taking its time
        "import sqlite3, sys; db = sqlite3.connect(sys.argv[1], isolation_level=None); db.execute('BEGIN IMMEDIATE'); "
        "print('writing', flush=True); sys.stdin.readline(); db.execute('COMMIT')"), str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "writing"
        answers = []
        delivery = threading.Thread(target=lambda: answers.append(
            deliver(url, status_params(sandbox, 1), sandbox.auth_token, token="waits").status))
        delivery.start()
        assert wait_until(lambda: seen._committer._in_hand)  # it waits on the committer's thread ...
        assert requests.get(listener.url + "/", timeout=2).status_code == 200  # ... and the event loop goes on
        assert answers == [] and out.getvalue() == ""  # not handed on before it can be recorded
        other.stdin.write("\n")
        other.stdin.flush()
        delivery.join(timeout=15)
    finally:
        other.kill()
        other.wait(timeout=10)
    assert answers == [204] and "waits" in seen and len(out.getvalue().splitlines()) == 1
    seen.close()


# -- the worker: answers first ---------------------------------------------------------------------------


def test_the_worker_holds_runs_back_while_deliveries_come_and_never_for_longer_than_most_held(
        sandbox, tmp_path, start_listener):
    seen = SeenTokens(tmp_path / "webhooks.sqlite3")
    started: list[float] = []

    class Calls:
        def run(self, session, facts):
            started.append(time.monotonic())

    handoff = Handoff(io.StringIO(), automations={InboundCall: Calls()}, seen=seen, name="/a/calls.auto",
                      pause=0.3, most_held=0.5)
    url = start_listener(handoff, seen=seen).endpoints["voice"]
    params = [("AccountSid", sandbox.account_sid), ("From", CALLER), ("To", NUMBER)]
    began = time.monotonic()
    sent = 0
    while time.monotonic() - began < 2.0:  # a delivery every 20 ms or so: never a pause of 0.3 s
        assert deliver(url, [*params, ("CallSid", f"CA{sent:032d}")], sandbox.auth_token, token=f"c{sent}").status == 200
        sent += 1
        time.sleep(0.02)
    ended = time.monotonic()
    assert handoff.wait(timeout=30)
    during = [t for t in started if t < ended]
    assert len(started) == sent  # every run ran, once
    assert 1 <= len(during) <= 2.0 / 0.5 + 2 < sent / 2  # held back while they came, and not starved
    gaps = [t - s for s, t in zip([began, *during[:-1]], during, strict=True)]
    assert max(gaps) < 0.5 + 0.5  # none held back much past most_held
    handoff.close(timeout=10)
    seen.close()
