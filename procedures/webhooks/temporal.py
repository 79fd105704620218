"""`listen --temporal`: each signed webhook that an automation runs on becomes a workflow, started once.

The listener prints the event's JSON line, then starts the automation's workflow with signal-with-start
before it answers Twilio: the workflow's id is the delivery's idempotency token (`I-Twilio-Idempotency-Token`),
or without one the event's kind, SID and a digest of what Twilio posted, so a redelivery signals the same workflow
(which takes the first delivery only) or, once that run has ended, starts nothing. If Temporal can't be
reached the listener answers 500 and Twilio delivers the event again later. The runs happen on the workers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import threading
from collections.abc import Mapping
from typing import Any, TextIO

from book.authoring import Book
from book.output import jsonable
from book.runtime import Automation
from concepts.events import WebhookEvent
from procedures.webhooks.listen import _KIND_OF, facts_for

START_TIMEOUT = 10.0
"""Seconds the listener waits for Temporal to take an event before it answers 500 (Twilio retries it)."""


class TemporalHandoff:
    """Hands each event on as a JSON line, and to Temporal for the automation of its kind (if any)."""

    takes_token = True  # the listener passes the delivery's idempotency token

    def __init__(self, book: Book, automations: Mapping[type[WebhookEvent], Automation], text: str,
                 filename: str | None, *, target: str, task_queue: str, name: str, out: TextIO = sys.stdout,
                 heartbeat: float = 10.0) -> None:
        from book.temporal.worker import connect

        self.book, self.automations, self.text, self.filename = book, dict(automations), text, filename
        self.task_queue, self.out, self.heartbeat = task_queue, out, heartbeat
        self.prefix = f"webhook-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
        self.handed = self.already_ran = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="twilio-book-temporal", daemon=True)
        self._thread.start()
        self.client = self._wait(connect(target))

    def _wait(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=START_TIMEOUT)

    def key(self, event: WebhookEvent, token: str | None) -> str:
        """The workflow id of this event's run: its delivery's token, or what the event is."""
        if token:
            return f"{self.prefix}-{token}"
        posted = json.dumps(event.parameters, sort_keys=True)  # the same for every delivery of the event
        fields = hashlib.sha256(posted.encode()).hexdigest()[:16]
        return f"{self.prefix}-{_KIND_OF[type(event)].name}-{getattr(event, 'sid', '')}-{fields}"

    def __call__(self, endpoint: str, event: WebhookEvent, token: str | None = None) -> None:
        from book.temporal.worker import signal_with_start

        line = {"trigger": endpoint, "type": event.concept_name, "event": jsonable(event)}
        self.out.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.out.flush()
        if type(event) not in self.automations:
            return None
        started = self._wait(signal_with_start(
            self.client, self.book, self.text, self.filename, facts_for(event), key=self.key(event, token),
            task_queue=self.task_queue, heartbeat=self.heartbeat))
        if started:  # a run started, or the running one signalled (it takes the first delivery only)
            self.handed += 1
        else:
            self.already_ran += 1
        return None

    pending = 0
    """Runs waiting here: none (each is Temporal's once it is started)."""

    def close(self, timeout: float | None = None) -> bool:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5 if timeout is None else timeout)
        return True
