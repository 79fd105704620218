"""Watching: every new item handed on exactly once, across restarts, ties, late items and crashes."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta

import pytest

from book.errors import BookError, InputError, RemoteError
from book.watching.cursor import LOOK_BACK, MAX_RECENT, Cursor, CursorFile
from book.watching.watch import Watcher, available, cursor_file, retryable
from procedures import BOOK
from sandbox.call_store import CallStore
from tests.conftest import CALLER, NUMBER, START

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


def test_a_crash_during_a_hand_off_is_reported_not_repeated_and_nothing_is_missed(sandbox, client, home):
    watcher(client, home).poll(Collect())
    new = seed(sandbox, T1, T1, T2)
    crashed = Collect(crash_at=2)
    with pytest.raises(KeyboardInterrupt):
        watcher(client, home).poll(crashed)  # fetched all three; died handing on the second
    assert len(crashed) == 1 and crashed[0] in new[:2]
    after, said = Collect(), []
    restarted = watcher(client, home)
    restarted.poll(after, interrupted=said.append)
    cut_short = ({*new[:2]} - {*crashed}).pop()
    assert said == restarted.interrupted == [cut_short]  # its steps may have run: said, never handed on again
    assert after == [new[2]] and sorted(crashed + said + after) == sorted(new)
    assert watcher(client, home).poll(again := Collect()) == 0 and again == []


def test_a_crash_while_writing_the_cursor_leaves_the_old_cursor_whole(sandbox, client, home, monkeypatch):
    watcher(client, home).poll(Collect())
    first, second = seed(sandbox, T1, T2)
    real_replace = os.replace
    calls = []

    def dies_on_the_third_write(src, dst):  # 1: first in hand, 2: first done, 3: second in hand
        calls.append(dst)
        if len(calls) == 3:
            raise KeyboardInterrupt("the process dies before the rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", dies_on_the_third_write)
    handed = Collect()
    with pytest.raises(KeyboardInterrupt):
        watcher(client, home).poll(handed)
    monkeypatch.setattr(os, "replace", real_replace)
    assert handed == [first]  # the second was never begun: its being in hand never reached the disk
    assert [p.name for p in (home / "triggers").iterdir()] == [calls[0].name]  # no temporary file left
    again, said = Collect(), []
    watcher(client, home).poll(again, interrupted=said.append)
    assert again == [second] and said == []  # the one item not begun, and only it


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
    watch.poll(handed)
    watch.poll(handed)
    assert handed == [mine] and old not in handed and other not in handed


def test_a_first_run_with_since_hands_on_what_is_newer_at_once(sandbox, client, home):
    seed(sandbox, T0 - timedelta(days=1))
    backlog = seed(sandbox, T0, T1, T2)
    first = Collect()
    assert watcher(client, home, since=T0).poll(first) == 3  # not just placing the cursor
    assert first == backlog
    again = Collect()
    assert watcher(client, home, since=T0).poll(again) == 0 and again == []
    assert watcher(client, home).poll(Collect()) == 0  # without since: the same cursor, nothing twice


def test_a_cursor_is_never_reused_for_another_watch(tmp_path):
    path = tmp_path / "messages.json"
    CursorFile(path, {"watch": "messages", "account_sid": "AC1", "filters": {}}).save(Cursor(T0, frozenset({"SM1"})))
    assert CursorFile(path, {"watch": "messages", "account_sid": "AC1", "filters": {}}).load() == Cursor(T0, frozenset({"SM1"}))
    with pytest.raises(BookError, match="belongs to another watch"):
        CursorFile(path, {"watch": "messages", "account_sid": "AC2", "filters": {}}).load()


def test_a_cursor_knows_what_is_new():
    cursor = Cursor(T1, frozenset({"SM1"}))  # just placed (or read from a version 1 file): the window starts here
    assert not cursor.is_new(T1, "SM1") and cursor.is_new(T1, "SM2") and cursor.is_new(T2, "SM1")
    assert not cursor.is_new(T0, "SM9")
    assert cursor.after(T1, "SM2").sids == {"SM1", "SM2"}
    moved = cursor.after(T2, "SM3")
    assert (moved.high_water, moved.sids, dict(moved.recent)) == (T2, {"SM3"}, {"SM1": T1})
    assert not moved.is_new(T1, "SM1") and moved.is_new(T1, "SM4")  # late, within the window
    assert not moved.is_new(T0, "SM0")  # before the cursor was placed
    assert cursor.after(T0, "SM0") == cursor  # before the window: nothing to remember


def test_a_cursor_forgets_what_falls_out_of_the_window_and_stays_small():
    cursor = Cursor(T0 - LOOK_BACK)
    for i in range(MAX_RECENT + 50):  # more SIDs than it keeps, all within the window
        cursor = cursor.after(T0 + timedelta(milliseconds=i), f"SM{i}")
    assert len(cursor.recent) <= MAX_RECENT and cursor.sids == {f"SM{MAX_RECENT + 49}"}
    assert not cursor.is_new(T0, "SM0")  # forgotten, and so no longer new: never handed on twice
    later = cursor.after(T0 + LOOK_BACK + timedelta(minutes=1), "SMlater")
    assert dict(later.recent) == {} and later.look_back_from == T0 + timedelta(minutes=1)


def test_watching_is_generic_over_the_books_read_procedures(sandbox, client, home):
    assert set(available(BOOK.registry)) == {"messages", "calls", "recordings", "transcriptions", "alerts"}
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


# -- late items: Twilio's lists are not a log


def test_an_item_that_turns_up_late_within_the_window_is_handed_on_once(sandbox, client, home):
    watcher(client, home).poll(Collect())
    first = seed(sandbox, T1, T2)
    assert watcher(client, home).poll(Collect()) == 2  # the high water is now T2
    late = seed(sandbox, T1 + timedelta(seconds=1))  # older than the high water, but new to the list
    too_late = seed(sandbox, T2 - LOOK_BACK - timedelta(seconds=1))
    handed = Collect()
    assert watcher(client, home).poll(handed) == 1 and handed == late
    newer = seed(sandbox, T2 + timedelta(seconds=1), T1 + timedelta(seconds=2))
    again = Collect()
    watcher(client, home).poll(again)
    assert again == [newer[1], newer[0]]  # oldest first; nothing handed on before comes again
    assert not set(again) & {*first, *late, *too_late}
    assert watcher(client, home).poll(Collect()) == 0


def test_a_crash_handing_on_a_late_item_repeats_nothing_and_misses_nothing_silently(sandbox, client, home):
    watcher(client, home).poll(Collect())
    seed(sandbox, T2)
    watcher(client, home).poll(Collect())
    late = seed(sandbox, T1, T1 + timedelta(seconds=1), T2 + timedelta(seconds=1))
    crashed = Collect(crash_at=2)
    with pytest.raises(KeyboardInterrupt):
        watcher(client, home).poll(crashed)
    after, said = Collect(), []
    watcher(client, home).poll(after, interrupted=said.append)
    assert crashed == late[:1] and said == late[1:2] and after == late[2:]


class SortedBySent:
    """The book's real read procedure, its items put in Twilio's order for messages: newest sent first."""

    def __init__(self, procedure) -> None:
        self.procedure = procedure

    def __getattr__(self, name):
        return getattr(self.procedure, name)

    def function(self, **kwargs):
        items = list(self.procedure.function(**kwargs))
        return iter(sorted(items, key=lambda m: m.date_sent or m.date_created, reverse=True))


def test_a_list_sorted_by_date_sent_is_read_back_to_the_window(sandbox, client, home):
    watchable, procedure = available(BOOK.registry)["messages"]

    def watch():
        cursor = cursor_file(home, watchable, client.account_sid, {})
        return Watcher(watchable, SortedBySent(procedure), client, cursor)

    watch().poll(Collect())
    seed(sandbox, T1)
    watch().poll(Collect())
    # Created long ago, sent just now: first in Twilio's order, with an old date_created.
    sandbox.store.insert_messages([{"to": CALLER, "from": NUMBER, "body": "scheduled", "status": "sent",
                                    "date_created": T0 - timedelta(hours=1), "date_sent": T2}])
    fresh = seed(sandbox, T1 + timedelta(seconds=1))
    handed = Collect()
    watch().poll(handed)
    assert handed == fresh  # reading did not stop at the old date_created


@dataclass
class Damaged:
    text: str
    why: str


SCOPE = "@scope@"


@pytest.mark.parametrize("damaged", [
    Damaged("[1, 2]", "holds a JSON list"),
    Damaged('"cursor"', "holds a JSON string"),
    Damaged("{not json", "Expecting property name"),
    Damaged('{"version": 1}', "which watch"),
    Damaged('{"version": 1, "scope": @scope@, "high_water": "2022-03-01T15:00:00+00:00", "sids": 5}', "'sids'"),
    Damaged('{"version": 1, "scope": @scope@, "high_water": "2022-03-01T15:00:00+00:00", "sids": [1]}', "'sids'"),
    Damaged('{"version": 1, "scope": @scope@, "high_water": "yesterday", "sids": []}', "'high_water'"),
    Damaged('{"version": 1, "scope": @scope@, "high_water": 1646146800, "sids": []}', "'high_water'"),
    Damaged('{"version": 2, "scope": @scope@, "high_water": "2022-03-01T15:00:00+00:00", "sids": [], '
            '"recent": ["SM1"]}', "'recent'"),
    Damaged('{"version": 2, "scope": @scope@, "high_water": "2022-03-01T15:00:00+00:00", "sids": [], '
            '"recent": {"SM1": "soon"}}', "recent"),
    Damaged('{"version": 9, "scope": @scope@, "high_water": null, "sids": []}', "version 9"),
    Damaged('{"version": 3, "scope": @scope@, "high_water": null, "sids": [], "in_hand": "SM1"}', "'in_hand'"),
    Damaged('{"version": 3, "scope": @scope@, "high_water": null, "sids": [], "in_hand": {"sid": "SM1"}}', "'in_hand'"),
])
def test_a_damaged_cursor_is_reported_with_what_to_do(sandbox, client, home, damaged):
    watch = watcher(client, home)
    watch.cursor.path.parent.mkdir(parents=True)
    watch.cursor.path.write_text(damaged.text.replace(SCOPE, json.dumps(watch.cursor.scope)))
    with pytest.raises(BookError) as caught:
        watch.poll(Collect())
    message = str(caught.value)
    assert "can't be read" in message and damaged.why in message and "delete it to start again from now" in message


def test_a_version_1_cursor_is_read_and_goes_on_where_it_stood(sandbox, client, home):
    before, at = seed(sandbox, T0)[0], seed(sandbox, T1)[0]
    watch = watcher(client, home)
    watch.cursor.path.parent.mkdir(parents=True)
    watch.cursor.path.write_text(json.dumps({"version": 1, "scope": watch.cursor.scope,
                                             "high_water": T1.isoformat(), "sids": [at]}))
    tie, newer = seed(sandbox, T1, T2)
    handed = Collect()
    assert watch.poll(handed) == 2 and handed == [tie, newer] and before not in handed
    saved = json.loads(watch.cursor.path.read_text())
    assert saved["version"] == 3 and saved["in_hand"] is None and saved["high_water"] == T2.isoformat() and set(saved["recent"]) == {at, tie}


def test_only_failures_that_can_pass_are_retried():
    assert retryable(RemoteError("busy", status=503)) and retryable(RemoteError("slow down", status=429))
    assert retryable(RemoteError("could not reach it"))  # the network: no HTTP status
    assert not retryable(RemoteError("Invalid Status", status=400, code=20001))
    assert not retryable(RemoteError("bad credentials", status=401, code=20003))
    assert not retryable(InputError("--from is not a number")) and not retryable(BookError("damaged cursor"))


class Recording:
    """The book's real read procedure, keeping what each call pushed to the API."""

    def __init__(self, procedure) -> None:
        self.procedure = procedure
        self.pushed = []

    def __getattr__(self, name):
        return getattr(self.procedure, name)

    def read(self, client, expression=None, *, pushed=None, **kwargs):
        self.pushed.append(pushed)
        return self.procedure.read(client, expression, pushed=pushed, **kwargs)


def test_an_idle_poll_sends_one_request_however_long_the_history_the_filter_refuses(sandbox, client, home):
    from book.filters import Condition, FilterExpression

    old = START - timedelta(days=3)
    sandbox.store.insert_messages(  # more than two full pages, none of which the filter takes
        {"to": NUMBER, "from": CALLER, "body": f"hello {i}", "direction": "inbound", "status": "received",
         "date_created": old + timedelta(seconds=i)} for i in range(2500))
    watchable, procedure = available(BOOK.registry)["messages"]
    cursor = cursor_file(home, watchable, client.account_sid, {"to": NUMBER})
    stop_words = FilterExpression(Condition("body", "contains", "STOP"))
    watch = Watcher(watchable, procedure, client, cursor, filters={"to": NUMBER}, expression=stop_words)
    assert watch.poll(Collect()) == 0  # from now
    for _ in range(2):
        sent = client.http_client.request_count
        assert watch.poll(Collect()) == 0
        assert client.http_client.request_count - sent == 1  # reading stopped at the window, matching or not
    stop = sandbox.store.insert_messages([{"to": NUMBER, "from": CALLER, "body": "STOP", "direction": "inbound",
                                           "status": "received"}])
    handed = Collect()
    assert watch.poll(handed) == 1 and handed == stop


def test_the_window_start_is_pushed_to_the_api_as_a_lower_bound_on_the_lists_order(sandbox, client, home):
    watchable, procedure = available(BOOK.registry)["messages"]
    recording = Recording(procedure)
    cursor = cursor_file(home, watchable, client.account_sid, {"from": NUMBER})
    watch = Watcher(watchable, recording, client, cursor, filters={"from": NUMBER})
    watch.poll(Collect())
    assert recording.pushed == [None]  # placing the cursor reads the newest items, with no bound
    seed(sandbox, T1)
    assert watch.poll(Collect()) == 1
    floor = watch.cursor.load().look_back_from
    seed(sandbox, T2)
    watch.poll(Collect())
    pushed = recording.pushed[-1]
    assert {(c.field, c.op) for c in pushed.conditions} == {("sender_number", "eq"), ("date_sent", "ge")}
    assert pushed.get("date_sent", "ge") == floor and not pushed.complete  # a hint: the filter runs locally too


def test_a_message_not_sent_yet_is_handed_on_once_it_is_sent_and_only_once(sandbox, clock, client, home):
    seed(sandbox, T0)
    watcher(client, home).poll(Collect())  # the cursor stands at T0: its window's start is pushed
    message = client.messages.create(to=CALLER, from_=NUMBER, body="on its way")
    assert watcher(client, home).poll(Collect()) == 0  # queued: not in the list of what was sent yet
    clock.advance(2)  # sent now
    handed = Collect()
    assert watcher(client, home).poll(handed) == 1 and handed == [message.sid]
    clock.advance(2)  # delivered: its date sent stays, and it is not new again
    assert watcher(client, home).poll(Collect()) == 0
