"""Run a book's automations on Temporal, when one machine is not enough (an optional extra: `temporalio`).

    worker    `book.temporal.worker.run_worker`: polls a task queue, runs automations as workflows, each
              procedure call as an activity (`book.temporal.activities`)
    start     `book.temporal.worker.start_automation`: an automation started as a workflow, by id
    engine    `book.temporal.workflow`: the plan the interpreter runs, as deterministic workflow code

The plan is the one the interpreter runs: the workflow runs it with the interpreter itself, whose procedure
calls (`book.interpreter.Caller`) go to activities instead of the procedures. Reads are retried; a call of
a mutating procedure (a send) is never retried blindly: when its worker died, the retry asks the service,
through the procedure's `find_sent`, whether the first attempt got there, and sends only if it did not
(`book.temporal.activities`). `watch for new ...` is a durable timer loop that continues as new to keep its
history short. Importing this package imports no `temporalio`: its modules do, and `require()` says how
to install it when it is missing.
"""

from __future__ import annotations

__all__ = ["DEFAULT_TASK_QUEUE", "require"]

DEFAULT_TASK_QUEUE = "book-automations"
"""The task queue `worker` polls and `run --temporal` starts on, unless told another."""


def require(program: str = "book") -> None:
    """Raise a `BookError` saying how to install the extra when `temporalio` is missing."""
    import importlib.util

    from book.errors import BookError

    if importlib.util.find_spec("temporalio") is None:
        raise BookError(f"running on Temporal needs the optional extra: pip install '{program}[temporal]' "
                        "(the Temporal Python SDK, and the Temporal CLI for a local server)")
