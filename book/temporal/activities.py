"""The activities: one procedure call of a plan, and one poll of a watch, run on a worker with its session.

A call runs the interpreter's own `perform` on the worker, so a read streams, filters and stops at its
limit there, and only its result crosses back. An activity heartbeats while it works: a worker that dies
stops heartbeating, and Temporal hands the call to another worker once the heartbeat timeout has passed.

A read is retried (`retryable`: the network, a rate limit, the service's side); a send never blindly. Its
first attempt sends, and any failure of it is final (the HTTP client already resent only what provably
never went out; `DeliveryUnknownError` says what may have). A later attempt exists only because the worker
of an earlier one died or stopped answering mid-call, after or before its request reached the service; so
it asks the service first, with the procedure's `find_sent`, for what a call with these inputs made since
the call was first scheduled (less what earlier identical calls of the same run made): one such result is
the first attempt's, taken as this call's (nothing is sent again); none means the first attempt never got
there, and the call is sent now; more than one can't be told apart, and a procedure with no `find_sent`
can't ask: both end in `DeliveryUnknownError` naming the call, never in a second send. A send that goes on
after it sent (a call that waits for what it started to end) carries on from what it found
(`Procedure.resume`): the retry waits for what the first attempt started. What the look-up
can't tell apart: an identical result another run made in the same seconds (taken for this call's), and an
attempt whose worker froze (not died) past the heartbeat timeout and sends when it wakes.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from book.errors import BookError, DeliveryUnknownError
from book.interpreter import Interpreter, Session
from book.temporal import plans
from book.temporal.codec import error_details
from book.watching.cursor import Cursor
from book.watching.watch import Watcher, retryable

CALL, POLL = "book.call", "book.poll"
CLOCK_SKEW = timedelta(seconds=2)
"""How far the service's clock (often whole seconds) may be behind Temporal's when a send looks back."""
HEARTBEAT_EVERY = 0.5

_worker: dict[str, Any] = {}


def serve_session(session: Session, threads: int = 16) -> None:
    """The session this worker's activities call the book's procedures in (its client is made once, here)."""
    book = plans.served()
    session.client(book.name)
    _worker["session"] = session
    _worker["pool"] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="book-activity")


def _session() -> Session:
    session = _worker.get("session")
    if session is None:
        raise BookError("this worker has no session to call procedures in (book.temporal.activities.serve_session)")
    return session


async def _working(work: Callable[[], Any]) -> Any:
    """Run blocking `work` on the worker's threads, heartbeating until it ends.

    Asked to stop (the worker shuts down, the workflow is cancelled), a call under way still finishes, and its
    outcome is reported: a send cut off mid-request would be neither known as sent nor safe to send again.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    future = loop.run_in_executor(_worker["pool"], lambda: context.run(work))
    while True:
        try:
            done, _ = await asyncio.wait({future}, timeout=HEARTBEAT_EVERY)
        except asyncio.CancelledError:
            return await asyncio.shield(future)
        if done:
            return future.result()
        activity.heartbeat()


def _failure(err: BookError, *, retry: bool) -> ApplicationError:
    return ApplicationError(str(err), error_details(err), type=type(err).__name__, non_retryable=not retry)


@activity.defn(name=CALL)
async def call(request: dict[str, Any]) -> dict[str, Any]:
    """One procedure call: `{"plan", "path", "inputs", "filter", "key", "earlier"}` -> `{"value"}`."""
    return await _working(lambda: _call(request))


def _call(request: dict[str, Any]) -> dict[str, Any]:
    codec = plans.codec()
    step = plans.step_at(request["plan"], request["path"])
    procedure = step.procedure
    inputs = codec.decode(request["inputs"])
    expression = codec.decode_filter(request["filter"])
    interpreter = Interpreter(_session())
    try:
        if procedure.mutating and activity.info().attempt > 1:
            found = _sent_before(step, request, inputs)
            if found is not None:  # a send that goes on after it sent (a call it waits for) carries on from it
                if procedure.resume is not None:
                    client = _session().client(procedure.book) if procedure.takes_client else None
                    found = procedure.resume(client, found, inputs)
                return {"value": codec.encode(found), "adopted": True}
        result = interpreter.perform(step, inputs, expression)
        return {"value": codec.encode(result)}
    except BookError as err:
        raise _failure(err, retry=not procedure.mutating and retryable(err)) from None
    except Exception as err:
        if not procedure.mutating:
            raise  # a read may pass when tried again (up to the workflow's retry policy)
        raise _failure(BookError(f"the send failed with an internal error ({type(err).__name__}: {err}); it may "
                                 "or may not have reached the service, so it is not sent again"), retry=False) from err


def _sent_before(step: Any, request: dict[str, Any], inputs: dict[str, Any]) -> Any:
    """What the first attempt of this send made, if the service holds it; None when it never got there."""
    codec = plans.codec()
    procedure = step.procedure
    info = activity.info()
    what = f"line {step.line} ({step.text.strip()}), call {request['key']}"
    if procedure.find_sent is None:
        raise DeliveryUnknownError(
            f"the worker running {what} stopped while it ran, and the book can't ask whether it got through "
            f"('{procedure.english}' has no way to find what it sent): it is not sent again; check it yourself")
    client = _session().client(procedure.book) if procedure.takes_client else None
    earlier = [codec.decode(value) for value in request.get("earlier", [])]
    found = procedure.find_sent(client, inputs, info.scheduled_time - CLOCK_SKEW, earlier)
    if len(found) > 1:
        raise DeliveryUnknownError(
            f"the worker running {what} stopped while it ran, and {len(found)} items the service holds match it "
            f"({', '.join(str(getattr(f, 'sid', f)) for f in found[:5])}): it is not sent again; check which is "
            "this call's")
    if found:
        activity.logger.info("attempt %s of %s: the first attempt got through (%s); not sent again",
                             info.attempt, what, getattr(found[0], "sid", found[0]))
        return found[0]
    return None


@activity.defn(name=POLL)
async def poll(request: dict[str, Any]) -> dict[str, Any]:
    """One poll of a `watch for new ...` line: `{"plan", "path", "filter", "cursor"}` -> the cursor (placed,
    on the first poll) and the new items, oldest first (at most the line's limit)."""
    return await _working(lambda: _poll(request))


class HeldCursor:
    """A watch's cursor as the workflow holds it (for a `Watcher`, in place of a cursor file)."""

    path = "the workflow's history"

    def __init__(self, cursor: Cursor | None) -> None:
        self.cursor = cursor

    def load(self) -> Cursor | None:
        return self.cursor

    def save(self, cursor: Cursor) -> None:
        self.cursor = cursor


def _poll(request: dict[str, Any]) -> dict[str, Any]:
    codec = plans.codec()
    step = plans.step_at(request["plan"], request["path"])
    expression = codec.decode_filter(request["filter"])
    held = HeldCursor(codec.decode_cursor(request.get("cursor")))
    client = _session().client(step.procedure.book)
    watcher = Watcher(step.watchable, step.procedure, client, held, expression=expression,  # type: ignore[arg-type]
                      limit=step.limit)
    placed = held.cursor is None
    items: list[Any] = []
    try:
        watcher.poll(items.append)
    except BookError as err:
        raise _failure(err, retry=retryable(err)) from None
    start = held.cursor if placed else codec.decode_cursor(request.get("cursor"))
    return {"cursor": codec.encode_cursor(start), "placed": placed, "items": [codec.encode(i) for i in items]}


__all__ = ["CALL", "POLL", "HeldCursor", "call", "poll", "serve_session"]
