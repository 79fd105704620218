"""Watch a list for new items: poll a read procedure of the registry and hand each new item on once.

A `Watchable` names what can be watched: the read procedure (found in the registry by its verb and
noun, so any book's list can be watched), the fact an automation sees the item as, the concept's date
and SID fields, and the filters a user may give. The procedure must stream newest first, by that date
or by the field the list is sorted by (`order_field`: a list of messages may be sorted by the time
they were sent). The order need not be exact, and an item may turn up in the list late: a poll reads back to a
look-back window before the cursor's high water (`book.watching.cursor.LOOK_BACK`, a few minutes), and
an item in that window that was not handed on yet is new too. A poll reads no further than that window:
its start is pushed to the API as a lower bound on the list's order (where the read procedure declares
the field `pushable`; a list of messages then holds only those sent, so a message is seen once it is
sent), and paging stops at the first item older than it, whether the filter takes that item or not.

Each poll hands the new items on oldest first. The cursor (see `book.watching.cursor`) says which item
is in hand before its hand-off begins, and moves past it once it is done. So across restarts no item is
handed on twice, and none is missed without a word: if the process dies during a hand-off (killed, the
machine off), the next run reports that one item by its SID, for a person to check what its steps did,
and does not hand it on again (they may have sent a reply already). What the window can't cover: an
item that turns up more than the window after its timestamp (a message whose sending waited longer)
is not handed on.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Generator, Mapping
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from book.errors import BookError, RemoteError
from book.filters import AllOf, Condition, FilterExpression, Pushdown
from book.registry import Procedure, Registry
from book.watching.cursor import LOOK_BACK, Cursor, CursorFile, utc
from book.watching.watchable import Watchable, watchable_for

__all__ = ["Watchable", "WatchReport", "Watcher", "automation_cursor_file", "available", "cursor_file", "watchable_for"]

HandOn = Callable[[Any], None]


class _Stopped(Exception):
    """The watch was asked to stop: it ends before its next item."""


class WatchReport(BaseModel):
    """What a `watch for new ...` line did before it stopped: the result of its line."""

    model_config = ConfigDict(defer_build=True)  # built when first made: a `check` needs none

    watched: str
    """What it watched: `new SMS messages`."""
    handed_on: int = 0
    """How many new items it handed on (ran its block for)."""
    failed: int = 0
    """How many of those blocks failed (each was reported; none is run again)."""
    started_from_now: bool = False
    """Whether this run placed the cursor: the first run of a watch starts from now and hands on nothing."""
    cursor: str = ""
    """Where the watch's cursor is kept."""
    interrupted: int = 0
    """How many items an earlier run was cut short handing on (each reported by its SID; none handed on again)."""


def available(registry: Registry) -> dict[str, tuple[Watchable, Procedure]]:
    """The watchables the book declared that this registry can serve, by name (the `watch NAME` command)."""
    found = {}
    for watchable in registry.watchables:
        procedure = watchable.procedure(registry)
        if procedure is not None:
            found[watchable.name] = (watchable, procedure)
    return found


def cursor_file(home: Path, watchable: Watchable, account_sid: str, filters: Mapping[str, Any],
                name: str | None = None) -> CursorFile:
    """The cursor of this watch: `<home>/triggers/<name>.json`, by default named after what it watches."""
    scope = {"watch": watchable.name, "account_sid": account_sid, "filters": {k: str(v) for k, v in filters.items()}}
    if name is None:
        name = f"{watchable.name}-{_digest(scope)}"
    return CursorFile(home / "triggers" / f"{name}.json", scope)


def automation_cursor_file(home: Path, watchable: Watchable, account_sid: str, automation: str) -> CursorFile:
    """The cursor of a `watch for new ...` line: one per automation file, watch line and account.

    `automation` names the line (`/path/reply.auto: watch for new sms messages whose ...`): another
    automation watching the same list keeps its own cursor, and editing the line starts a new one.
    """
    scope = {"watch": watchable.name, "account_sid": account_sid, "automation": automation}
    return CursorFile(home / "triggers" / f"automation-{watchable.name.replace(' ', '-')}-{_digest(scope)}.json", scope)


def _digest(scope: Mapping[str, Any]) -> str:
    """A short name for what a cursor follows: the same scope, the same file."""
    return hashlib.sha256(json.dumps(scope, sort_keys=True).encode()).hexdigest()[:10]


class Watcher:
    """Polls one watchable through its procedure and hands each new item on, once, oldest first."""

    def __init__(
        self,
        watchable: Watchable,
        procedure: Procedure,
        client: Any,
        cursor: CursorFile,
        *,
        filters: Mapping[str, Any] | None = None,
        expression: FilterExpression | None = None,
        limit: int | None = None,
        since: datetime | None = None,
        window: timedelta = LOOK_BACK,
    ) -> None:
        unknown = sorted(set(filters or {}) - set(watchable.filters))
        if unknown:
            known = ", ".join(f"--{f}" for f in watchable.filters) or "none"
            raise BookError(f"watching {watchable.name} can't filter by {', '.join(unknown)} (its filters: {known})")
        if limit is not None and limit < 1:
            raise BookError(f"the limit must be at least 1, not {limit}")
        self.watchable = watchable
        self.procedure = procedure
        self.client = client
        self.cursor = cursor
        self.limit = limit
        self.since = utc(since) if since is not None else None
        self.window = window
        conditions = tuple(Condition(watchable.filters[k], "eq", v) for k, v in (filters or {}).items())
        if expression is not None:  # flat, so each `and` condition can still be pushed to the API
            conditions = (*conditions, *expression.conjuncts())
        self.expression = FilterExpression(AllOf(conditions)) if conditions else None
        self.interrupted: list[str] = []
        """The SIDs of items an earlier run was cut short handing on, as this one found them."""

    def follow(self, hand_on: HandOn, *, every: float, stop: threading.Event, polls: int | None = None,
               say: Callable[[str], None], what: str) -> bool:
        """Poll every `every` seconds until `stop` is set (or `polls` times), holding the cursor's lock; whether
        this run placed the cursor (started from now). Polls start `every` seconds apart (the next one at once
        when one took longer), so a new item waits at most `every` plus one poll.

        `stop` is taken between two items, never in the middle of one: an item not begun is handed on by
        the next run. An item an earlier run was cut short handing on is said (with `say`), not handed on
        again. A failed poll is tried again (said with `say`) when it may pass (`retryable`); otherwise, or
        when `polls` is given, it is raised.
        """
        fact = self.watchable.fact

        def interrupted(sid: str) -> None:
            say(f"the new {fact} {sid} was being handed on when this watch last stopped, and its process ended "
                f"before it was done; it is not handed on again, so nothing is done twice: check what its steps "
                "did (a reply sent, say)")

        started, count = False, 0
        with self.cursor.locked():
            starting = self.cursor.load() is None
            while not stop.is_set():
                began = time.monotonic()
                try:
                    self.poll(hand_on, stop=stop, interrupted=interrupted)
                except _Stopped:
                    break
                except BookError as err:
                    if polls is not None or not retryable(err):  # a refused request fails the same way every time
                        raise
                    say(f"checking for {what} failed, trying again in {every:g} s: {err}")
                else:
                    if starting:
                        since = "now" if self.since is None else self.since.isoformat()
                        say(f"started from {since}: {what} from then on are handed on, each once")
                        started, starting = True, False
                count += 1
                if polls is not None and count >= polls:
                    break
                stop.wait(max(0.0, every - (time.monotonic() - began)))  # a poll every `every` s, however long one takes
        return started

    def poll(self, hand_on: HandOn, *, stop: threading.Event | None = None,
             interrupted: Callable[[str], None] | None = None) -> int:
        """Hand on every new item (at most `limit`), oldest first; how many.

        Each item is saved in the cursor as in hand before it is handed on, and the cursor moves past it
        after. An item still in hand when the poll begins was cut short by the end of an earlier process:
        it is given to `interrupted` (and kept in `self.interrupted`), and not handed on again. The first
        poll places the cursor: from now it hands on nothing; from `since` it goes on to hand on what is
        there from that time on. With `stop` set, it ends (`_Stopped`) before the next item.
        """
        cursor = self.cursor.load()
        if cursor is None:
            cursor = self._start()
            self.cursor.save(cursor)
            if self.since is None:
                return 0
        if cursor.in_hand is not None:
            sid, when = cursor.in_hand
            self.interrupted.append(sid)
            if interrupted is not None:
                interrupted(sid)
            cursor = cursor.after(when, sid, self.window)
            self.cursor.save(cursor)
        fresh = self._fresh(cursor)
        if self.limit is not None:
            fresh = fresh[: self.limit]  # the oldest: the rest come next time, so nothing is skipped
        for item in fresh:
            if stop is not None and stop.is_set():
                raise _Stopped
            when, sid = self._when(item), self._sid(item)
            self.cursor.save(cursor.holding(when, sid))  # type: ignore[arg-type]
            hand_on(item)
            cursor = self.advance(cursor, item)
            self.cursor.save(cursor)
        return len(fresh)

    def advance(self, cursor: Cursor, item: Any) -> Cursor:
        """The cursor once `item` (one of a poll's new items) has been handed on."""
        return cursor.after(self._when(item), self._sid(item), self.window)  # type: ignore[arg-type]

    # -- reading

    def _start(self) -> Cursor:
        """The first cursor: from `since`, else from now, i.e. after the newest item there already is."""
        if self.since is not None:
            return Cursor(self.since)
        high_water, sids = None, set()
        # The whole list, not only what the filter takes: "now" is after the newest item there is, so a
        # filter that matches nothing yet does not leave the cursor at the start of the history.
        with closing(self._stream(filtered=False)) as items:
            for item, _ in items:
                when = self._when(item)
                if when is None:
                    continue
                if high_water is not None and self._before(item, when, high_water):
                    break
                if high_water is None or when > high_water:
                    high_water, sids = when, set()
                if when == high_water:
                    sids.add(self._sid(item))
        return Cursor(high_water, frozenset(sids))  # its window starts here: nothing older is new

    def _fresh(self, cursor: Cursor) -> list[Any]:
        """The new items, oldest first: read back to the cursor's look-back window, and no further.

        The window's start is pushed to the API (as a lower bound on the list's order, where the read
        procedure declares it `pushable`), and paging stops at the first item older than it, whether or not
        the filter takes it: an idle poll reads one page, however long the list's history.
        """
        fresh, taken = [], set()
        floor = cursor.look_back_from
        with closing(self._stream(since=floor)) as items:
            for item, matches in items:
                when = self._when(item)
                if when is None:  # not stamped yet: it is picked up once it is
                    continue
                if floor is not None and self._before(item, when, floor):
                    break  # newest first: everything after this is older still
                if not matches:
                    continue
                sid = self._sid(item)
                if sid not in taken and cursor.is_new(when, sid):  # a list that shifts while paged can repeat one
                    fresh.append(item)
                    taken.add(sid)
        fresh.reverse()  # oldest first; a stable sort keeps the list's order among equal timestamps
        fresh.sort(key=lambda item: self._when(item))  # type: ignore[arg-type, return-value]
        return fresh

    def _before(self, item: Any, when: datetime, floor: datetime) -> bool:
        """Whether the list holds nothing at or after `floor` from this item on: it and its place in the
        list's order are older than `floor`. An item not yet placed in that order (a message not sent
        yet) says nothing."""
        if self.watchable.order_field is None:
            return when < floor
        order = self._date(item, self.watchable.order_field)
        return order is not None and order < floor and when < floor

    def _stream(self, *, filtered: bool = True, since: datetime | None = None) -> Generator[tuple[Any, bool]]:
        """The list, newest first, each item with whether the filter takes it (always, unfiltered).

        `since` is pushed to the API as a lower bound on the field the list is sorted by, when the read
        procedure can take it; it only narrows what is sent back (`_fresh` still stops at the window), so
        it is not applied here.
        """
        expression = self.expression if filtered else None
        items = iter(self.procedure.read(self.client, expression, pushed=self._pushed(expression, since)))
        try:
            for item in items:
                yield item, expression is None or expression.matches(item)
        finally:
            getattr(items, "close", lambda: None)()  # stop a paging generator: no page beyond the cursor

    def _pushed(self, expression: FilterExpression | None, since: datetime | None) -> Pushdown | None:
        """What to push to the API: the filter's part it takes, and `since` on the order field if it takes that."""
        if since is None:
            return None  # the procedure splits the expression itself
        conditions = expression.conjuncts() if expression is not None else ()
        bound = Condition(self.watchable.order_field or self.watchable.date_field, "ge", since)
        pushed = FilterExpression(AllOf((*conditions, bound))).pushdown(self.procedure.pushable)
        return Pushdown(pushed.conditions, complete=False)  # the bound is a hint: the filter is applied here

    def _when(self, item: Any) -> datetime | None:
        return self._date(item, self.watchable.date_field)

    @staticmethod
    def _date(item: Any, name: str) -> datetime | None:
        when = getattr(item, name, None)
        return utc(when) if isinstance(when, datetime) else None

    def _sid(self, item: Any) -> str:
        return str(getattr(item, self.watchable.sid_field))


def retryable(err: BookError) -> bool:
    """Whether a failed poll may pass if tried again: the network, a rate limit (429), a timeout (408) or
    the service's side (5xx). Anything else (a 4xx for a filter the service refuses, bad credentials, a damaged
    cursor) fails the same way every time."""
    if not isinstance(err, RemoteError):
        return False
    try:
        status = int(err.status) if err.status is not None else None
    except (TypeError, ValueError):
        return True
    return status is None or status in (408, 429) or status >= 500
