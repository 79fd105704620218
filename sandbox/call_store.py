"""The sandbox's calls: their table (on the store's own SQLite connection), rows, and how a call moves with time.

A call made through the API is `queued` when created, `ringing` DIAL_AFTER later (its start time),
`in-progress` when answered RING_FOR after that, and `completed` TALK_FOR later (or after its time
limit), with its end time, duration and price. As with messages nothing moves it: the status is
computed from the clock whenever the call is read or filtered, so a test that owns the clock
(`ManualClock`) sees exactly the status it expects. A seeded call with a `status` keeps that status.

    calls = CallStore(sandbox.store)
    calls.insert_calls({"to": "+15558675310", "status": "completed", "start_time": t} for t in times)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.clock import US
from sandbox.filters import Where
from sandbox.ids import new_sid
from sandbox.paging import PageRequest
from sandbox.seeding import check_choice, check_keys, check_sid, seed_us
from sandbox.store import Store, Table, register_tables

DIAL_AFTER_US = 1 * US
RING_FOR_US = 4 * US
TALK_FOR_US = 30 * US
PRICE_PER_MINUTE = Decimal("-0.01300")
PRICE_UNIT = "USD"

CALL_STATUSES = ("queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled")
CALL_DIRECTIONS = frozenset({"inbound", "outbound-api", "outbound-dial", "trunking-terminating", "trunking-originating"})
_DIALED = frozenset({"ringing", "in-progress", "completed", "busy", "no-answer"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    to_number TEXT NOT NULL,
    from_number TEXT NOT NULL,
    parent_call_sid TEXT,
    direction TEXT NOT NULL,
    phone_number_sid TEXT,
    answered_by TEXT,
    forwarded_from TEXT,
    caller_name TEXT,
    group_sid TEXT,
    trunk_sid TEXT,
    final_status TEXT,
    created_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL,
    start_us INTEGER,
    answer_us INTEGER,
    end_us INTEGER,
    price TEXT,
    queue_time_ms INTEGER,
    params TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_by_created ON calls (account_sid, created_us DESC, sid DESC);
CREATE INDEX IF NOT EXISTS calls_by_to ON calls (account_sid, to_number, created_us DESC, sid DESC);
CREATE INDEX IF NOT EXISTS calls_by_from ON calls (account_sid, from_number, created_us DESC, sid DESC);
"""
register_tables(_SCHEMA, ["calls"])

# The status of a row at the instant `?` (given three times), in SQL, as `CallRecord.status_at` computes it.
_STATUS_SQL = (
    "(CASE WHEN final_status IS NOT NULL THEN final_status"
    " WHEN start_us IS NULL OR start_us > ? THEN 'queued'"
    " WHEN answer_us IS NULL OR answer_us > ? THEN 'ringing'"
    " WHEN end_us IS NULL OR end_us > ? THEN 'in-progress'"
    " ELSE 'completed' END)"
)


@dataclass(frozen=True)
class CallRecord:
    """One stored call. `final_status`, when set, overrides the time-driven lifecycle."""

    sid: str
    account_sid: str
    to: str
    from_: str
    parent_call_sid: str | None
    direction: str
    phone_number_sid: str | None
    answered_by: str | None
    forwarded_from: str | None
    caller_name: str | None
    group_sid: str | None
    trunk_sid: str | None
    final_status: str | None
    created_us: int
    updated_us: int
    start_us: int | None
    answer_us: int | None
    end_us: int | None
    price: str | None
    queue_time_ms: int | None
    params: Mapping[str, Any] = field(default_factory=dict)

    def status_at(self, now_us: int) -> str:
        if self.final_status is not None:
            return self.final_status
        if self.start_us is None or now_us < self.start_us:
            return "queued"
        if self.answer_us is None or now_us < self.answer_us:
            return "ringing"
        if self.end_us is None or now_us < self.end_us:
            return "in-progress"
        return "completed"

    def start_at(self, now_us: int) -> int | None:
        if self.start_us is None or (self.final_status is None and now_us < self.start_us):
            return None
        return self.start_us

    def end_at(self, now_us: int) -> int | None:
        if self.end_us is None or (self.final_status is None and now_us < self.end_us):
            return None
        return self.end_us

    def duration_at(self, now_us: int) -> int | None:
        """Whole seconds from start to end, for a completed call; None otherwise."""
        start, end = self.start_at(now_us), self.end_at(now_us)
        if self.status_at(now_us) != "completed" or start is None or end is None:
            return None
        return (end - start) // US

    def price_at(self, now_us: int) -> str | None:
        if self.status_at(now_us) != "completed":
            return None
        if self.price is not None:
            return self.price
        return price_for(self.duration_at(now_us) or 0)

    def answered_by_at(self, now_us: int) -> str | None:
        return self.answered_by if self.status_at(now_us) in ("in-progress", "completed") else None

    def date_updated_at(self, now_us: int) -> int:
        if self.final_status is not None:
            return self.updated_us
        reached = [t for t in (self.start_us, self.answer_us, self.end_us) if t is not None and t <= now_us]
        return max([self.updated_us, *reached])


def price_for(duration_s: int) -> str:
    """Twilio-style price of an outbound call: per started minute, e.g. `-0.02600` for 61 seconds."""
    minutes = max(1, math.ceil(duration_s / 60))
    return f"{(PRICE_PER_MINUTE * minutes).quantize(Decimal('0.00001'))}"


def phone_number_sid(number: str) -> str | None:
    """The stable `PN...` SID the sandbox gives the caller ID a phone number calls from (None for a client)."""
    if not number.startswith("+"):
        return None
    return "PN" + hashlib.md5(number.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class CallFilter:
    """The filters of List Calls. Each time range is `[from_us, before_us)`: inclusive, then exclusive."""

    to: str | None = None
    from_: str | None = None
    parent_call_sid: str | None = None
    status: str | None = None
    start_from_us: int | None = None
    start_before_us: int | None = None
    end_from_us: int | None = None
    end_before_us: int | None = None


CALLS = Table("calls", CallRecord)


class CallStore:
    """The calls of one sandbox store, kept on its connection, under its lock, in its transactions."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add_call(self, record: CallRecord) -> CallRecord:
        """Store a new call record."""
        self.store.insert(CALLS, [record])
        return record

    def insert_calls(self, rows: Iterable[Mapping[str, Any]]) -> list[str]:
        """Bulk-insert calls for tests and benchmarks; returns their SIDs in order.

        Each row is a dict with `to` (required) and any of: `from_` (or `from`, default +15005550006),
        `status` (omit to follow the queued -> ringing -> in-progress -> completed lifecycle from
        `date_created`), `date_created` (default: the start time, else now), `start_time`, `end_time` (aware datetimes or ISO 8601
        strings), `duration` (seconds; sets the end of a completed call from its start),
        `parent_call_sid`, `direction`, `price`, `answered_by`, `forwarded_from`, `caller_name`,
        `group_sid`, `trunk_sid`, `sid`. Raises ValueError for an unknown key or a bad value.
        """
        now = self.store.now_us()
        account = self.store.account_sid
        records = [seed_call(row, account, now) for row in rows]
        self.store.insert(CALLS, records)
        return [record.sid for record in records]

    def get_call(self, sid: str) -> CallRecord | None:
        """The call with this SID, or None."""
        return self.store.get(CALLS, sid)

    def finish(self, sid: str, status: str, at_us: int) -> None:
        """End a call at `at_us` with a final status (a conversation that ended), whatever its clock said."""
        with self.store.transaction() as db:
            db.execute("UPDATE calls SET final_status = ?, end_us = ?, answer_us = COALESCE(answer_us, ?), "
                       "start_us = COALESCE(start_us, ?), updated_us = ? WHERE sid = ?",
                       (status, at_us, at_us, at_us, at_us, sid))

    def delete_call(self, sid: str) -> bool:
        """Delete a call; False if there was none."""
        return self.store.delete(CALLS, sid)

    def list_calls(self, where: CallFilter, page: PageRequest) -> tuple[list[CallRecord], bool]:
        """One page of calls, newest first, and whether more follow; status and times as of now."""
        now = self.store.now_us()
        sql = Where()
        sql.equals("to_number", where.to)
        sql.equals("from_number", where.from_)
        sql.equals("parent_call_sid", where.parent_call_sid)
        if where.status is not None:
            sql.add(f"{_STATUS_SQL} = ?", now, now, now, where.status)
        # Only a time already reached counts: a lifecycle call has no start time until it is dialed.
        sql.reached_in_range("start_us", where.start_from_us, where.start_before_us, now)
        sql.reached_in_range("end_us", where.end_from_us, where.end_before_us, now)
        return self.store.keyset_page(CALLS, sql, page)


_SEED_KEYS = frozenset(
    {"sid", "to", "from_", "from", "status", "date_created", "start_time", "end_time", "duration", "parent_call_sid",
     "direction", "price", "answered_by", "forwarded_from", "caller_name", "group_sid", "trunk_sid"}
)


def seed_call(row: Mapping[str, Any], account_sid: str, now_us: int) -> CallRecord:
    """Build a record from a seeding dict (see `CallStore.insert_calls`); raises ValueError on bad keys."""
    check_keys(row, _SEED_KEYS, "call")
    to = row.get("to")
    if not to:
        raise ValueError("a seeded call needs 'to'")
    sender = str(row.get("from_", row.get("from")) or "+15005550006")
    direction = row.get("direction") or "outbound-api"
    check_choice("direction", direction, CALL_DIRECTIONS)
    status = row.get("status")
    if status is not None:
        check_choice("status", status, CALL_STATUSES)
    start, end = seed_us(row.get("start_time")), seed_us(row.get("end_time"))
    created = seed_us(row.get("date_created")) or start or now_us
    duration = row.get("duration")
    answer = None
    if status is None:  # left to the lifecycle
        start = start or created + DIAL_AFTER_US
        answer = start + RING_FOR_US
        end = end or answer + (int(duration) * US if duration is not None else TALK_FOR_US)
    else:
        if start is None and status in _DIALED:
            start = created
        if status == "completed":
            end = end or start + int(duration if duration is not None else 60) * US  # type: ignore[operator]
            answer = start
        else:
            end = None
    sid = check_sid(row.get("sid") or new_sid("CA"), "a call", "CA")
    return CallRecord(
        sid=sid,
        account_sid=account_sid,
        to=str(to),
        from_=sender,
        parent_call_sid=row.get("parent_call_sid"),
        direction=direction,
        phone_number_sid=phone_number_sid(sender),
        answered_by=row.get("answered_by"),
        forwarded_from=row.get("forwarded_from"),
        caller_name=row.get("caller_name"),
        group_sid=row.get("group_sid"),
        trunk_sid=row.get("trunk_sid"),
        final_status=status,
        created_us=created,
        updated_us=max(created, end or start or created),
        start_us=start,
        answer_us=answer,
        end_us=end,
        price=row.get("price"),
        queue_time_ms=max(0, (start - created) // 1000) if start is not None else None,
        params={},
    )
