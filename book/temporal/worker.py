"""A worker for a book's automations, and starting one as a workflow: what the `worker` command and
`run --temporal` drive.

    await run_worker(book, session, target="127.0.0.1:7233", task_queue="book")     # until stopped
    handle = await start_automation(client, book, text, filename, task_queue="book")
    value = await result_of(handle, book)                                           # the last line's result

A worker serves one book with one session (its connection, or the book's sandbox): every worker of a task
queue must run the same version of the book and reach the same account.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from book.authoring import Book
from book.errors import BookError
from book.interpreter import Session
from book.runtime import Automation
from book.temporal import DEFAULT_TASK_QUEUE, activities, plans
from book.temporal.codec import error_from
from book.temporal.workflow import DELIVER, STOP, WORKFLOW, AutomationWorkflow

HEARTBEAT = 10.0
"""Seconds: a call whose worker sends no heartbeat for this long is handed to another worker."""
SHUTDOWN = 60.0
"""Seconds a stopping worker gives the calls under way to finish (a send is never cut off mid-request)."""


async def connect(target: str, namespace: str = "default") -> Client:
    """A client of the Temporal server at `target` (HOST:PORT); a `BookError` saying how to start one."""
    try:
        return await Client.connect(target, namespace=namespace)
    except (RPCError, RuntimeError, OSError) as err:
        raise BookError(f"can't reach Temporal at {target} ({err}); start a server (for a local one: "
                        "temporal server start-dev) or give its address with --temporal HOST:PORT") from None


def book_packages(book: Book) -> list[str]:
    """The top-level packages a book's procedures and concepts live in (like `procedures` and
    `concepts`): what a workflow must import from outside Temporal's sandbox, as the runtime itself."""
    modules = [procedure.function.__module__ for procedure in book.registry]
    modules += [concept.__module__ for concept in book.all_concepts().values()]
    return sorted({name.split(".")[0] for name in modules} - {"book", "grammar", "__main__"})


def worker_for(client: Client, book: Book, session: Session, *, task_queue: str = DEFAULT_TASK_QUEUE,
               identity: str | None = None, threads: int = 16) -> Worker:
    """A `Worker` (not started) running `book`'s automations with `session`'s connection."""
    plans.serve(book)
    activities.serve_session(session, threads=threads)
    # The runtime and the book are passed through the sandbox: imported once, outside it; their evaluation of a
    # plan is deterministic (the workflow module itself, book.temporal.workflow, runs inside the sandbox).
    restrictions = SandboxRestrictions.default.with_passthrough_modules(
        "book", "grammar", "lark", "platformdirs", "filelock", *book_packages(book))
    return Worker(client, task_queue=task_queue, workflows=[AutomationWorkflow],
                  activities=[activities.call, activities.poll], identity=identity,
                  workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions),
                  max_concurrent_activities=threads, sticky_queue_schedule_to_start_timeout=_seconds(3),
                  graceful_shutdown_timeout=_seconds(SHUTDOWN))


async def run_worker(book: Book, session: Session, *, target: str, task_queue: str = DEFAULT_TASK_QUEUE,
                     stop: asyncio.Event | None = None, ready: Any = None) -> None:
    """Run a worker until `stop` is set (or the task is cancelled); `ready()` is called once it polls."""
    client = await connect(target)
    async with worker_for(client, book, session, task_queue=task_queue):
        if ready is not None:
            ready()
        await (stop or asyncio.Event()).wait()


def _seconds(value: float) -> Any:
    from datetime import timedelta

    return timedelta(seconds=value)


async def start_automation(
    client: Client, book: Book, text: str, filename: str | None = None, *, task_queue: str = DEFAULT_TASK_QUEUE,
    workflow_id: str | None = None, facts: Mapping[str, Any] | None = None, polls: int | None = None,
    heartbeat: float = HEARTBEAT, polls_per_run: int | None = None,
) -> WorkflowHandle[Any, Any]:
    """Compile the automation here (a `LanguageError` before anything starts), then start it as a workflow.

    `facts` are bound before its first line (their classes type them, as `compile_with_facts`); `polls` ends a
    watch after that many polls (`run --once`: 1); `polls_per_run` is how many polls a watch makes before it
    continues as new (`book.temporal.workflow.POLLS_PER_RUN`).
    """
    types = {name: type(value) for name, value in (facts or {}).items()}
    Automation.compile(text, book.registry, filename, types or None, watches=not types)
    _serving(book)
    spec = {"plan": plans.plan_ref(text, filename, types), "given": plans.codec().encode(dict(facts or {})),
            "heartbeat": heartbeat, "polls": polls, "polls_per_run": polls_per_run}
    workflow_id = workflow_id or f"automation-{uuid.uuid4()}"
    try:
        return await client.start_workflow(WORKFLOW, spec, id=workflow_id, task_queue=task_queue)
    except WorkflowAlreadyStartedError:
        raise BookError(f"the workflow {workflow_id} is running already; give another --workflow-id, or leave it "
                        "out for a new one") from None


async def signal_with_start(
    client: Client, book: Book, text: str, filename: str | None, facts: Mapping[str, Any], *, key: str,
    task_queue: str = DEFAULT_TASK_QUEUE, heartbeat: float = HEARTBEAT,
) -> bool:
    """Run the automation `text` for one event once: the workflow `key` is started with the event's facts in a
    signal, or signalled again if it runs (it takes the first delivery only); False if a run for `key` has
    already ended (a redelivery after the run: nothing to do). The automation is compiled for these facts by
    the caller (`compile_with_facts`) before it is handed any event."""
    _serving(book)
    types = {name: type(value) for name, value in facts.items()}
    spec = {"plan": plans.plan_ref(text, filename, types), "wait": True, "heartbeat": heartbeat}
    try:
        await client.start_workflow(
            WORKFLOW, spec, id=key, task_queue=task_queue, start_signal=DELIVER,
            start_signal_args=[plans.codec().encode(dict(facts))],
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    except WorkflowAlreadyStartedError:
        return False
    return True


def _serving(book: Book) -> None:
    """Serve `book` in this process (a client decodes its concepts) unless it already does."""
    try:
        if plans.served() is book:
            return
    except BookError:
        pass
    plans.serve(book)


async def result_of(handle: WorkflowHandle[Any, Any], book: Book) -> Any:
    """The automation's last line's result; the `BookError` it failed with, as the book says it."""
    _serving(book)
    try:
        out = await handle.result()
    except WorkflowFailureError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.details and isinstance(cause.details[0], dict):
            raise error_from(cause.details[0]) from None
        raise BookError(f"the automation's workflow {handle.id} failed: {cause or err}") from None
    return plans.codec().decode(out["value"])


async def stop_watch(handle: WorkflowHandle[Any, Any]) -> None:
    """Ask a watching automation to stop between two items."""
    await handle.signal(STOP)
