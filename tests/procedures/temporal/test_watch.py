"""`watch for new ...` on Temporal: a durable timer loop that continues as new and hands each item on once."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any

from tests.conftest import CALLER, NUMBER

REPLY = f'''watch for new SMS messages whose recipient number is "{NUMBER}" every 1 second as follows
  send an SMS message where
    the sender number is the message's recipient number
    the recipient number is the message's sender number
    the message body is "Got it"
'''


def inbound(sandbox: Any, *senders: str) -> list[str]:
    now = datetime.now(timezone.utc)
    return sandbox.store.insert_messages([{"to": NUMBER, "from": sender, "body": "hi", "direction": "inbound",
                                           "status": "received", "date_created": now} for sender in senders])


def replies(client: Any) -> list[str]:
    return sorted(m.to for m in client.messages.list(from_=NUMBER) if m.body == "Got it")


async def until(check: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout:g} s")


def test_a_watch_hands_each_new_message_on_once_across_continue_as_new_and_stops_with_its_report(
        temporal, sandbox, shared_queue, on_temporal, client):
    from book.temporal.worker import result_of, start_automation, stop_watch
    from book.temporal.workflow import WATCHING
    from procedures import BOOK

    task_queue = shared_queue
    inbound(sandbox, "+15550000001")  # there before the watch: it starts from now

    async def body(temporal_client: Any) -> Any:
        handle = await start_automation(temporal_client, BOOK, REPLY, "reply.auto", task_queue=task_queue,
                                        heartbeat=2, polls_per_run=3)

        async def state() -> Any:
            return await handle.query(WATCHING)

        await until(lambda: _at_least(state, "polls", 1), "first poll")
        inbound(sandbox, "+15550000002", "+15550000003", "+15550000004")
        await until(lambda: _replied(client, 3), "3 replies")
        await until(lambda: _at_least(state, "generation", 1), "continue-as-new")
        inbound(sandbox, "+15550000005", "+15550000006")
        await until(lambda: _replied(client, 5), "5 replies")
        polled = (await state())["polls"]
        await until(lambda: _at_least(state, "polls", polled + 2), "two more polls")  # nothing more comes
        await stop_watch(handle)
        return await result_of(handle, BOOK)

    report = on_temporal(body)
    assert replies(client) == [f"+1555000000{n}" for n in range(2, 7)]  # each once; not the one from before
    assert report.handed_on == 5 and report.failed == 0 and report.started_from_now
    assert report.watched == "new SMS messages"
    assert CALLER not in replies(client)


async def _at_least(state: Any, key: str, count: int) -> bool:
    found = await state()
    return found is not None and found[key] >= count


async def _replied(client: Any, count: int) -> bool:
    return len(replies(client)) >= count


def test_a_watch_whose_worker_is_killed_goes_on_on_another_without_repeating_or_missing_a_message(
        temporal, sandbox, workers, task_queue, on_temporal, client):
    import os
    import signal

    from book.temporal.worker import result_of, start_automation, stop_watch
    from book.temporal.workflow import WATCHING
    from procedures import BOOK

    (doomed,) = workers(1)

    async def body(temporal_client: Any) -> Any:
        handle = await start_automation(temporal_client, BOOK, REPLY, "reply.auto", task_queue=task_queue,
                                        heartbeat=2)

        async def state() -> Any:
            return await handle.query(WATCHING)

        await until(lambda: _at_least(state, "polls", 1), "first poll")
        inbound(sandbox, *(f"+155500001{n:02}" for n in range(6)))
        await until(lambda: _replied(client, 2), "2 replies")
        os.kill(doomed.process.pid, signal.SIGKILL)  # in the middle of handing the six on
        workers(1)
        inbound(sandbox, "+15550000199")
        await until(lambda: _replied(client, 7), "7 replies", timeout=45)
        await stop_watch(handle)
        return await result_of(handle, BOOK)

    report = on_temporal(body)
    assert replies(client) == sorted([*(f"+155500001{n:02}" for n in range(6)), "+15550000199"])  # each once
    assert report.handed_on == 7 and report.failed == 0


def test_run_temporal_on_a_watch_stops_it_on_ctrl_c_and_prints_its_report(temporal, sandbox, shared_queue,
                                                                          home, tmp_path, client):
    task_queue = shared_queue
    import json
    import signal

    from tests.procedures.temporal.conftest import sandbox_env
    from tests.processes import Process

    path = tmp_path / "reply.auto"
    path.write_text(REPLY, encoding="utf-8")
    run = Process("run", str(path), "--temporal", temporal.target, "--task-queue", task_queue, "--output", "json",
                  "--workflow-id", f"{task_queue}-watch", home=home, env=sandbox_env(sandbox))
    run.err_until("press Ctrl-C to stop the watch")
    time.sleep(1.5)  # its first poll places the cursor
    inbound(sandbox, "+15550000300")
    deadline = time.monotonic() + 20
    while not replies(client) and time.monotonic() < deadline:
        time.sleep(0.1)
    run.process.send_signal(signal.SIGINT)
    run.err_until("stopping the watch after the item in hand")
    assert run.process.wait(timeout=20) == 0
    report = json.loads("".join(drain(run.out)))
    assert report["handed_on"] == 1 and report["failed"] == 0 and report["watched"] == "new SMS messages"
    assert replies(client) == ["+15550000300"]


def test_run_temporal_refuses_a_workflow_id_that_is_running(temporal, sandbox, task_queue, home, tmp_path,
                                                            on_temporal):
    from tests.processes import book_command

    path = tmp_path / "reply.auto"
    path.write_text(REPLY, encoding="utf-8")
    flags = ("--temporal", temporal.target, "--task-queue", task_queue, "--workflow-id", f"{task_queue}-w")
    first = book_command("run", str(path), *flags, "--detach", home=home)
    assert first.returncode == 0 and first.stdout.strip() == f"{task_queue}-w"
    again = book_command("run", str(path), *flags, home=home)
    assert again.returncode == 1
    assert f"the workflow {task_queue}-w is running already; give another --workflow-id" in again.stderr

    async def end(temporal_client: Any) -> None:
        await temporal_client.get_workflow_handle(f"{task_queue}-w").terminate("the test is over")

    on_temporal(end)


def drain(lines: Any) -> list[str]:
    """What a process wrote to stdout, once it has ended."""
    import queue

    out = []
    while True:
        try:
            out.append(lines.get(timeout=1))
        except queue.Empty:
            return out
