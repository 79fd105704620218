"""Rows the sandbox stores, and how a message's status moves with time.

A message sent through the API is `queued` when created, `sent` SENT_AFTER later and `delivered`
DELIVERED_AFTER after that. One sent through a Messaging Service without a From is `accepted` first
and `queued` ACCEPTED_FOR later (the service picked a sender); a scheduled one (SendAt) is
`scheduled` until its send time, then `queued`, as at Twilio
(https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks). Nothing
moves it: its status is computed from the clock whenever it is read, so a test that owns the clock
(`ManualClock`) sees exactly the status it expects; `status_changes` lists the same moves for the
status callbacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import US
from sandbox.ids import new_sid
from sandbox.seeding import check_choice, check_keys, check_sid, seed_us
from sandbox.sms import count_segments, price_for

SENT_AFTER_US = int(0.2 * US)
DELIVERED_AFTER_US = int(0.8 * US)
ACCEPTED_FOR_US = int(0.1 * US)
"""How long a message sent through a Messaging Service stays `accepted` before it is `queued`."""

MESSAGE_STATUSES = frozenset(
    {"queued", "sending", "sent", "failed", "delivered", "undelivered", "receiving", "received",
     "accepted", "scheduled", "read", "partially_delivered", "canceled"}
)
MESSAGE_DIRECTIONS = frozenset({"inbound", "outbound-api", "outbound-call", "outbound-reply"})
_PRICED_STATUSES = frozenset({"sent", "delivered", "undelivered", "received", "read", "partially_delivered"})


@dataclass(frozen=True)
class AccountRecord:
    """The sandbox's one account and its credentials."""

    sid: str
    auth_token: str = field(repr=False)
    friendly_name: str
    created_us: int


@dataclass(frozen=True)
class MessageRecord:
    """One stored message. `final_status`, when set, overrides the time-driven lifecycle.

    `queued_us` is when an `accepted` or `scheduled` message becomes `queued` (None for one created
    `queued`); `sent_us` and `delivered_us` when it is sent and delivered.
    """

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    messaging_service_sid: str | None
    num_media: int
    num_segments: int
    direction: str
    initial_status: str
    final_status: str | None
    price: str | None
    error_code: int | None
    error_message: str | None
    created_us: int
    updated_us: int
    sent_us: int | None
    delivered_us: int | None
    queued_us: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def media_urls(self) -> list[str]:
        urls = self.params.get("MediaUrl", [])
        return list(urls) if isinstance(urls, list) else [urls]

    def status_at(self, now_us: int) -> str:
        if self.final_status is not None:
            return self.final_status
        if self.sent_us is None or now_us < self.sent_us:
            if self.queued_us is not None and now_us >= self.queued_us:
                return "queued"
            return self.initial_status
        if self.delivered_us is not None and now_us >= self.delivered_us:
            return "delivered"
        return "sent"

    def status_changes(self) -> list[tuple[str, int]]:
        """The status changes after creation, in order, each with when it happens (or happened).

        Twilio posts a status callback for each of them, and none for the initial status: a message
        created `queued` reports `sent` then `delivered`; a scheduled one `queued`, `sent`,
        `delivered`; a canceled one `canceled`.
        """
        if self.final_status is not None:
            return [] if self.final_status == self.initial_status else [(self.final_status, self.updated_us)]
        moves = (("queued", self.queued_us), ("sent", self.sent_us), ("delivered", self.delivered_us))
        return [(status, at) for status, at in moves if at is not None]

    def changes_after(self, now_us: int) -> int | None:
        """The next moment after `now_us` its status (and with it its dates and price) moves by itself; None: never."""
        if self.final_status is not None:
            return None
        later = [t for t in (self.queued_us, self.sent_us, self.delivered_us) if t is not None and t > now_us]
        return min(later) if later else None

    def date_sent_at(self, now_us: int) -> int | None:
        if self.sent_us is None or (self.final_status is None and now_us < self.sent_us):
            return None
        return self.sent_us

    def date_updated_at(self, now_us: int) -> int:
        if self.final_status is not None:
            return self.updated_us
        updated = self.updated_us  # the latest of the last update and the changes reached by `now_us`
        for reached in (self.queued_us, self.sent_us, self.delivered_us):
            if reached is not None and updated < reached <= now_us:
                updated = reached
        return updated

    def price_at(self, now_us: int) -> str | None:
        if self.price is not None:
            return self.price
        if self.status_at(now_us) in _PRICED_STATUSES:
            return price_for(self.num_segments, self.num_media)
        return None


_SEED_KEYS = frozenset(
    {"sid", "to", "from_", "from", "body", "direction", "status", "date_created", "date_sent", "date_updated",
     "messaging_service_sid", "media_urls", "num_media", "num_segments", "price", "error_code", "error_message"}
)


def seed_message(row: Mapping[str, Any], account_sid: str, now_us: int) -> MessageRecord:
    """Build a record from a seeding dict (see `Store.insert_messages`); raises ValueError on bad keys."""
    check_keys(row, _SEED_KEYS, "message")
    to = row.get("to")
    if not to:
        raise ValueError("a seeded message needs 'to'")
    sender = row.get("from_", row.get("from"))
    body = str(row.get("body") or "")
    direction = row.get("direction") or "outbound-api"
    check_choice("direction", direction, MESSAGE_DIRECTIONS)
    status = row.get("status")
    if status is not None:
        check_choice("status", status, MESSAGE_STATUSES)
    media_urls = list(row.get("media_urls") or [])
    num_media = int(row.get("num_media", len(media_urls)))
    created = seed_us(row.get("date_created")) or now_us
    sent = seed_us(row.get("date_sent"))
    if direction == "inbound" and status is None:
        status = "received"
    delivered = None
    if status is None:  # outbound, left to the lifecycle
        sent = sent or created + SENT_AFTER_US
        delivered = sent + DELIVERED_AFTER_US
    elif sent is None and status in _PRICED_STATUSES:
        sent = created
    sid = check_sid(row.get("sid") or new_sid("MM" if num_media else "SM"), "a message", "SM", "MM")
    return MessageRecord(
        sid=sid,
        account_sid=account_sid,
        to=str(to),
        from_=sender,
        body=body,
        messaging_service_sid=row.get("messaging_service_sid"),
        num_media=num_media,
        num_segments=int(row.get("num_segments") or count_segments(body)),
        direction=direction,
        initial_status="queued",
        final_status=status,
        price=row.get("price"),
        error_code=row.get("error_code"),
        error_message=row.get("error_message"),
        created_us=created,
        updated_us=seed_us(row.get("date_updated")) or max(created, sent or created),
        sent_us=sent,
        delivered_us=delivered,
        params={"MediaUrl": media_urls} if media_urls else {},
    )
