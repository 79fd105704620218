"""Automations across two worker processes, one killed (SIGKILL) mid-run: no send lost, none sent twice.

The first worker runs alone until a quarter of the sends have reached the sandbox, so sends are in flight on it
when it is killed; the second, started then, takes over every run. The sandbox is asked what it holds;
Temporal's histories say how many send attempts followed the kill, and how many of those found their first
attempt's message instead of sending again.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections import Counter
from typing import Any

from tests.conftest import RECIPIENT, SENDER

RUNS, SENDS = 10, 8


def automation(run: int) -> str:
    return "".join(f'''send an SMS message where
  the sender number is "{SENDER}"
  the recipient number is "{RECIPIENT}"
  the message body is "run {run} send {send}"
''' for send in range(SENDS))


async def attempts(handle: Any) -> tuple[int, int]:
    """(send attempts after a first one, those that took their first attempt's message) in a workflow's history."""
    retried = adopted = 0
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_started_event_attributes"):
            retried += event.activity_task_started_event_attributes.attempt > 1
        if event.HasField("activity_task_completed_event_attributes"):
            payloads = event.activity_task_completed_event_attributes.result.payloads
            adopted += bool(payloads) and json.loads(payloads[0].data).get("adopted", False)
    return retried, adopted


def test_a_worker_killed_mid_run_loses_no_send_and_sends_none_twice(temporal, sandbox, workers, task_queue,
                                                                     on_temporal, client):
    from book.temporal.worker import result_of, start_automation
    from procedures import BOOK

    (doomed,) = workers(1)
    expected = RUNS * SENDS

    async def body(temporal_client: Any) -> tuple[int, list[Any], int, int]:
        handles = [await start_automation(temporal_client, BOOK, automation(run), f"run-{run}.auto",
                                          task_queue=task_queue, workflow_id=f"{task_queue}-{run}", heartbeat=2)
                   for run in range(RUNS)]
        deadline = time.monotonic() + 30
        while len(client.messages.list()) < expected // 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        os.kill(doomed.process.pid, signal.SIGKILL)  # mid-run: sends in flight on it, some answered, some not
        held_at_kill = len(client.messages.list())
        workers(1)  # the survivor
        results = [await result_of(handle, BOOK) for handle in handles]
        counts = [await attempts(handle) for handle in handles]
        return held_at_kill, results, sum(r for r, _ in counts), sum(a for _, a in counts)

    held_at_kill, results, retried, adopted = on_temporal(body)
    bodies = Counter(m.body for m in client.messages.list())
    duplicates = sum(count - 1 for count in bodies.values() if count > 1)
    lost = expected - len(bodies)
    print(f"sends expected {expected}, held by the sandbox {sum(bodies.values())}, duplicates {duplicates}, "
          f"lost {lost}; held when the worker was killed {held_at_kill}; attempts after the kill {retried}, "
          f"of which found their first attempt's message {adopted}")
    assert doomed.process.wait(timeout=5) == -signal.SIGKILL
    assert held_at_kill < expected, "the worker was killed after the runs had ended: nothing was tested"
    assert duplicates == 0 and lost == 0
    assert set(bodies) == {f"run {run} send {send}" for run in range(RUNS) for send in range(SENDS)}
    assert all(isinstance(sid, str) and sid.startswith("SM") for sid in results)  # each run's last send's SID
    assert retried >= 1, "no send was in flight on the killed worker: the kill tested nothing"
