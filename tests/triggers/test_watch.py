"""Watching: every new item handed on exactly once, across restarts, ties and crashes."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest

from book.errors import BookError
from book.sandbox.call_store import CallStore
from book.triggers.cursor import Cursor, CursorFile
from book.triggers.watch import Watcher, available, cursor_file
from procedures import BOOK
from tests.triggers.conftest import CALLER, NUMBER, START

T0, T1, T2 = START, START + timedelta(seconds=5), START + timedelta(seconds=9)


def seed(sandbox, *dates, to=CALLER, body=None):
    rows = [{"to": to, "from": NUMBER, "body": body or f"at {d:%H:%M:%S}", "status": "delivered", "date_created": d}
            for d in dates]
    return sandbox.store.insert_messages(rows)


def watcher(client, home, thing="messages", **kwargs):
    watchable, procedure = available(BOOK.registry)[thing]
    cursor = cursor_file(home, watchable, client.account_sid, kwargs.get("filters") or {})
    return Watcher(watchable, procedure, client, cursor, **kwargs)


class Collect(list):
    """A hand-on that keeps the SIDs it was given; `crash_at` raises instead of taking that item."""

    def __init__(self, crash_at: int | None = None) -> None:
        super().__init__()
        self.crash_at = crash_at

    def __call__(self, item) -> None:
        if self.crash_at is not None and len(self) + 1 == self.crash_at:
            raise KeyboardInterrupt("the process dies during this hand-off")
        self.append(item.sid)


def test_the_first_run_starts_from_now_and_the_next_hands_on_whats_new(sandbox, client, home):
    seed(sandbox, T0, T0)
    first = Collect()
    assert watcher(client, home).poll(first) == 0 and first == []
    new = seed(sandbox, T1, T1, T2)
    second = Collect()
    assert watcher(client, home).poll(second) == 3
    assert set(second[:2]) == set(new[:2]) and second[2] == new[2]  # oldest first
    again = Collect()
    assert watcher(client, home).poll(again) == 0  # a restart hands on nothing twice


def test_items_sharing_the_high_water_timestamp_are_neither_missed_nor_repeated(sandbox, client, home):
    watcher(client, home).poll(Collect())
    before = seed(sandbox, T1, T1)
    assert watcher(client, home).poll(Collect()) == 2
    late = seed(sandbox, T1)  # arrives later, within the same second as the high water
    handed = Collect()
    watcher(client, home).poll(handed)
    assert handed == late
    saved = json.loads(next((home / "triggers").glob("messages-*.json")).read_text())
    assert saved["high_water"] == T1.isoformat() and set(saved["sids"]) == {*before, *late}


def test_a_crash_during_a_hand_off_repeats_nothing_handed_on_and_misses_nothing(sandbox, client, home):
    watcher(client, home).poll(Collect())
    new = seed(sandbox, T1, T1, T2)
    crashed = Collect(crash_at=2)
    with pytest.raises(KeyboardInterrupt):
        watcher(client, home).poll(crashed)  # fetched all three; died handing on the second
    assert len(crashed) == 1 and crashed[0] in new[:2]
    after = Collect()
    watcher(client, home).poll(after)
    assert sorted(crashed + after) == sorted(new) and after[-1] == new[2]


def test_a_crash_while_writing_the_cursor_leaves_the_old_cursor_whole(sandbox, client, home, monkeypatch):
    watcher(client, home).poll(Collect())
    first, second = seed(sandbox, T1, T2)
    real_replace = os.replace
    calls = []

    def dies_on_the_second_write(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt("the process dies before the rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", dies_on_the_second_write)
    handed = Collect()
    with pytest.raises(KeyboardInterrupt):
        watcher(client, home).poll(handed)
    monkeypatch.setattr(os, "replace", real_replace)
    assert handed == [first, second]
    assert [p.name for p in (home / "triggers").iterdir()] == [calls[0].name]  # no temporary file left
    again = Collect()
    watcher(client, home).poll(again)
    assert again == [second]  # the one item whose cursor never reached the disk, and only it


def test_the_limit_hands_on_the_oldest_and_leaves_the_rest_for_the_next_poll(sandbox, client, home):
    watcher(client, home).poll(Collect())
    new = seed(sandbox, T0 + timedelta(seconds=1), T1, T2)
    first, second = Collect(), Collect()
    watcher(client, home, limit=2).poll(first)
    watcher(client, home, limit=2).poll(second)
    assert first == new[:2] and second == new[2:]


def test_since_starts_the_first_run_at_a_given_time_and_filters_narrow_the_watch(sandbox, client, home):
    old, mine, other = seed(sandbox, T0)[0], seed(sandbox, T1)[0], seed(sandbox, T2, to="+15551110000")[0]
    handed = Collect()
    watch = watcher(client, home, since=T1, filters={"to": CALLER})
    watch.poll(handed)  # the first poll only places the cursor
    watch.poll(handed)
    assert handed == [mine] and old not in handed and other not in handed


def test_a_cursor_is_never_reused_for_another_watch(tmp_path):
    path = tmp_path / "messages.json"
    CursorFile(path, {"watch": "messages", "account_sid": "AC1", "filters": {}}).save(Cursor(T0, frozenset({"SM1"})))
    assert CursorFile(path, {"watch": "messages", "account_sid": "AC1", "filters": {}}).load() == Cursor(T0, frozenset({"SM1"}))
    with pytest.raises(BookError, match="belongs to another watch"):
        CursorFile(path, {"watch": "messages", "account_sid": "AC2", "filters": {}}).load()


def test_a_cursor_knows_what_is_new():
    cursor = Cursor().after(T1, "SM1")
    assert not cursor.is_new(T1, "SM1") and cursor.is_new(T1, "SM2") and cursor.is_new(T2, "SM1")
    assert not cursor.is_new(T0, "SM9")
    assert cursor.after(T1, "SM2").sids == {"SM1", "SM2"}
    assert cursor.after(T2, "SM3") == Cursor(T2, frozenset({"SM3"}))
    assert cursor.after(T0, "SM0") == cursor


def test_watching_is_generic_over_the_books_read_procedures(sandbox, client, home):
    assert set(available(BOOK.registry)) >= {"messages"}
    if "calls" not in available(BOOK.registry):
        pytest.skip("the book has no 'read some phone calls' yet")
    calls = CallStore(sandbox.store)
    calls.insert_calls([{"to": CALLER, "status": "completed", "date_created": T0}])
    watcher(client, home, "calls").poll(Collect())
    new = calls.insert_calls([{"to": CALLER, "status": "completed", "date_created": d} for d in (T1, T1)])
    handed = Collect()
    watcher(client, home, "calls").poll(handed)
    assert sorted(handed) == sorted(new)


def test_a_filter_the_watchable_lacks_is_refused(client, home):
    with pytest.raises(BookError, match="can't filter by log-level"):
        watcher(client, home, filters={"log-level": "error"})
