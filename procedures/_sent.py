"""Finding what an earlier attempt of a send made, when its outcome was lost (`Procedure.find_sent`).

Twilio's Messages and Calls APIs take no idempotency key, so a durable run (`book.temporal`) whose worker died
in the middle of a send asks the account instead: the outbound messages to the same recipient, from the same
sender (or Messaging Service), with the same body and number of media, created since the send was first
scheduled, less the ones earlier identical sends of the same run made; for a call, the outbound calls to the
same recipient from the same caller. A list is read newest first (messages by the date sent, calls by their
start time; not sent or started yet: first) and only back to that time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from procedures._twilio import twilio_errors

MOST_LOOKED_AT = 500
"""A send looks at most this many recent messages to the recipient for one an earlier attempt made."""


def sent_messages(client: Any, *, to: str, sender: str | None, service: str | None, body: str | None,
                  media: int, since: datetime, exclude: Sequence[str]) -> list[Any]:
    """The SDK messages an earlier attempt of this send may have made (see the module's docstring)."""
    floor = since.replace(microsecond=0)
    params: dict[str, Any] = {"to": to}
    if sender is not None:
        params["from_"] = sender
    found = []
    with twilio_errors("look for the message an earlier attempt of this send made"):
        for message in _recent(client.messages.stream(page_size=50, **params), floor, "date_sent"):
            if message.sid in exclude or not (message.direction or "").startswith("outbound"):
                continue
            if service is not None and sender is None and message.messaging_service_sid != service:
                continue
            if body is not None and (message.body or "") != body:
                continue
            if int(message.num_media or 0) != media:
                continue
            found.append(message)
    return found


def sent_calls(client: Any, *, to: str, sender: str, since: datetime, exclude: Sequence[str]) -> list[Any]:
    """The SDK calls an earlier attempt of this call may have placed (see the module's docstring)."""
    floor = since.replace(microsecond=0)
    with twilio_errors("look for the call an earlier attempt of this call placed"):
        return [call for call in _recent(client.calls.stream(to=to, from_=sender, page_size=50), floor, "start_time")
                if call.sid not in exclude and (call.direction or "").startswith("outbound")]


def _recent(items: Iterator[Any], floor: datetime, order: str) -> Iterator[Any]:
    """The items created at or after `floor`, from a list sorted newest first by `order`."""
    for count, item in enumerate(items):
        created, ordered = _utc(item.date_created), _utc(getattr(item, order))
        if count >= MOST_LOOKED_AT or (ordered is not None and ordered < floor and created is not None
                                       and created < floor):
            return  # newest first by `order`: everything after this is older still
        if created is None or created >= floor:
            yield item


def _utc(when: datetime | None) -> datetime | None:
    from book.watching.cursor import utc

    return utc(when) if when is not None else None


def sids(results: Sequence[Any]) -> list[str]:
    """The SIDs of earlier sends' results (a SID, or a message)."""
    return [r if isinstance(r, str) else r.sid for r in results]


def media_count(urls: Any) -> int:
    """How many media a send's `media_urls` (text separated by commas, or a list) names."""
    if not urls:
        return 0
    items = urls.split(",") if isinstance(urls, str) else list(urls)
    return len([u for u in items if str(u).strip()])
