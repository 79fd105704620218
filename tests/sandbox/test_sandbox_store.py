"""The store and the SMS rules on their own: seeding, lifecycle, segments, SIDs."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sandbox import ManualClock, Store
from sandbox.ids import is_sid, new_sid
from sandbox.sms import count_segments, price_for
from sandbox.store import MESSAGES

START = datetime(2022, 3, 1, 15, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(":memory:", clock=ManualClock(START)) as store:
        yield store


def test_insert_messages_is_fast_and_keeps_order(store: Store) -> None:
    began = time.perf_counter()
    sids = store.insert_messages({"to": "+15558675310", "body": f"n{i}", "status": "delivered"} for i in range(5000))
    assert time.perf_counter() - began < 2.0
    assert len(set(sids)) == 5000 and store.count(MESSAGES) == 5000
    assert all(is_sid(sid, "SM") for sid in sids)


def test_seeded_inbound_messages_are_received_and_dated(store: Store) -> None:
    (sid,) = store.insert_messages([{"to": "+15005550006", "from": "+15558675310", "direction": "inbound"}])
    record = store.get_message(sid)
    assert record is not None
    now = store.now_us()
    assert record.status_at(now) == "received"
    assert record.date_sent_at(now) == record.created_us
    assert record.price_at(now) == "-0.00790"


def test_seeded_outbound_without_status_follows_the_lifecycle(store: Store) -> None:
    (sid,) = store.insert_messages([{"to": "+15558675310"}])
    record = store.get_message(sid)
    assert record is not None
    created = record.created_us
    assert [record.status_at(created + us) for us in (0, 200_000, 1_000_000)] == ["queued", "sent", "delivered"]


def test_accepted_and_scheduled_messages_are_queued_before_they_are_sent(store: Store) -> None:
    (sid,) = store.insert_messages([{"to": "+15558675310"}])
    queued = store.get_message(sid)
    assert queued is not None and queued.status_changes() == [("sent", queued.sent_us), ("delivered", queued.delivered_us)]
    t = queued.created_us
    scheduled = replace(queued, initial_status="scheduled", queued_us=t + 3_600_000_000,
                        sent_us=t + 3_600_200_000, delivered_us=t + 3_601_000_000)
    at = [t, t + 3_600_000_000, t + 3_600_200_000, t + 3_601_000_000]
    assert [scheduled.status_at(us) for us in at] == ["scheduled", "queued", "sent", "delivered"]
    assert [status for status, _ in scheduled.status_changes()] == ["queued", "sent", "delivered"]
    assert scheduled.date_updated_at(t + 3_600_100_000) == t + 3_600_000_000
    canceled = replace(scheduled, final_status="canceled", queued_us=None, sent_us=None, delivered_us=None, updated_us=t + 5)
    assert canceled.status_changes() == [("canceled", t + 5)]


def test_a_database_made_before_a_column_was_added_gets_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with Store(path) as store:
        (sid,) = store.insert_messages([{"to": "+15558675310"}])
        account = store.account_sid
    with sqlite3.connect(path) as db:  # as the sandbox left it before messages had `queued_us`
        db.execute("ALTER TABLE messages DROP COLUMN queued_us")
    with Store(path) as reopened:
        assert reopened.account_sid == account and reopened.get_message(sid) is not None
        (other,) = reopened.insert_messages([{"to": "+15558675310"}])
        assert reopened.get_message(other).queued_us is None


@pytest.mark.parametrize(
    "row", [{"body": "no recipient"}, {"to": "+1", "colour": "red"}, {"to": "+1", "status": "lost"},
            {"to": "+1", "sid": "XX123"}, {"to": "+1", "direction": "sideways"}],
)
def test_bad_seed_rows_are_refused(store: Store, row: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        store.insert_messages([row])
    assert store.count(MESSAGES) == 0


@pytest.mark.parametrize(
    ("body", "segments"),
    [("", 1), ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3), ("[" * 80, 1), ("[" * 81, 2),
     ("é" * 160, 1), ("✓" * 70, 1), ("✓" * 71, 2), ("😀" * 35, 1), ("😀" * 36, 2)],
)
def test_segments(body: str, segments: int) -> None:
    assert count_segments(body) == segments


def test_prices() -> None:
    assert (price_for(1, 0), price_for(3, 0), price_for(1, 2)) == ("-0.00790", "-0.02370", "-0.02000")


def test_sids() -> None:
    assert is_sid(new_sid("MG"), "MG")
    assert not is_sid("SM" + "A" * 32)  # Twilio SIDs are lowercase hex
    with pytest.raises(ValueError):
        new_sid("sm")


class FailingCommit:
    """A connection whose next COMMIT fails as when another process holds the database."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.fail = True

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.fail:
            self.fail = False
            raise sqlite3.OperationalError("database is locked")
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.db, name)


def test_a_commit_that_fails_is_rolled_back_and_the_store_goes_on(store: Store) -> None:
    store._db = FailingCommit(store._db)  # type: ignore[assignment]
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        store.insert_messages([{"to": "+15558675310", "body": "lost"}])
    assert store.count(MESSAGES) == 0  # rolled back, not left open on the shared connection ...
    store.insert_messages([{"to": "+15558675310", "body": "kept"}])  # ... so the next transaction starts
    assert store.count(MESSAGES) == 1
