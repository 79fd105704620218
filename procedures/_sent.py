"""Finding what an earlier attempt of a send made, when its outcome was lost (`Procedure.find_sent`).

Twilio's Messages API takes no idempotency key, so a durable run (`book.temporal`) whose worker died in the
middle of a send asks the account instead: the outbound messages to the same recipient, from the same sender
(or Messaging Service), with the same body and number of media, created since the send was first scheduled,
less the ones earlier identical sends of the same run made. The list is read newest first (by the date sent;
not sent yet: first) and only back to that time.
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
        for message in _recent(client.messages.stream(page_size=50, **params), floor):
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


def _recent(messages: Iterator[Any], floor: datetime) -> Iterator[Any]:
    for count, message in enumerate(messages):
        created, sent = _utc(message.date_created), _utc(message.date_sent)
        if count >= MOST_LOOKED_AT or (sent is not None and sent < floor and created is not None and created < floor):
            return  # newest first by the date sent: everything after this is older still
        if created is None or created >= floor:
            yield message


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
