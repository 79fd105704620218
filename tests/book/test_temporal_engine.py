"""The runtime's Temporal engine for any book (the in-memory notes book here): the interpreter's `Caller` seam,
and a plan run as a workflow on a worker in this process giving what the interpreter gives in-process."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from book.errors import AuthoringError, NotFoundError
from book.interpreter import Interpreter
from book.runtime import Automation
from tests.notes import make_book, session_for

PLAN = '''write a Lark note where
  the title is "groceries"
  the body is "milk"
write a Lark note where
  the title is "chores"
  the stars is 3
read some notes whose title is "groceries" or whose stars is at least 2
'''


def test_a_caller_runs_each_call_with_its_inputs_and_filter_and_its_result_is_bound():
    book, store = make_book()
    automation = Automation.compile(PLAN + "find a note where\n  the note id is the answer\n", book.registry)
    seen: list[tuple[str, dict[str, Any], Any]] = []
    interpreter = Interpreter(session_for(book, store))

    def caller(step: Any, inputs: dict[str, Any], expression: Any) -> Any:
        seen.append((step.procedure.english, inputs, expression))
        return interpreter.perform(step, inputs, expression)

    env = Interpreter(session_for(book, store), caller=caller).run(automation.plan)
    assert [english for english, _, _ in seen] == ["write a Lark note", "write a Lark note", "read some notes",
                                                   "find a note"]
    assert seen[1][1] == {"title": "chores", "stars": 3}
    assert seen[2][2] is not None and [n.title for n in store.notes if seen[2][2].matches(n)] == ["groceries", "chores"]
    assert seen[3][1] == {"note_id": "N2"}  # `the answer`: what the caller returned for the second write
    assert env.above.title == "chores"


def test_a_caller_that_raises_fails_the_line_it_was_called_for():
    book, store = make_book()
    automation = Automation.compile('find a note where\n  the note id is "N9"\n', book.registry)

    def caller(step: Any, inputs: dict[str, Any], expression: Any) -> Any:
        raise NotFoundError("there is no note 'N9'")

    with pytest.raises(NotFoundError) as raised:
        Interpreter(session_for(book, store), caller=caller).run(automation.plan)
    assert raised.value.where.startswith("line 1")  # type: ignore[attr-defined]


def test_find_sent_is_refused_for_a_procedure_that_only_reads():
    book, _ = make_book()
    with pytest.raises(AuthoringError, match="find_sent= is for a procedure that sends or changes something"):
        @book.procedure("to list some (pages)", find_sent=lambda *args: [])
        def list_pages() -> list[str]:
            """List pages.

            Output Concepts:
                pages: The pages.
            """
            return []


def as_a_workflow(temporal: Any, text: str, filename: str) -> tuple[Any, Any, Any]:
    """`text` run as a workflow on a worker in this process (its value, its notes), and in-process (its result)."""
    from book.temporal.worker import connect, result_of, start_automation, worker_for

    book, store = make_book()
    local_book, local_store = make_book()
    local = Automation.compile(text, local_book.registry).run(session_for(local_book, local_store))
    queue = f"notes-{uuid.uuid4().hex[:8]}"

    async def main() -> Any:
        client = await connect(temporal.target)
        async with worker_for(client, book, session_for(book, store), task_queue=queue):
            handle = await start_automation(client, book, text, filename, task_queue=queue)
            return await result_of(handle, book)

    return asyncio.run(main()), store, local


def test_a_plan_run_as_a_workflow_gives_what_the_interpreter_gives(temporal):
    value, store, local = as_a_workflow(temporal, PLAN, "notes.auto")
    assert [n.model_dump() for n in value] == [n.model_dump() for n in local.value]
    assert [n.title for n in store.notes] == ["groceries", "chores"]  # each write ran once, on the worker


BRANCHING = '''the written is 0
the titles are "groceries", "chores" and "ideas"
process each title in the titles
  if the title starts with "g" then
    write a Lark note where
      the title is the title
      the stars is 1
    add 1 to the written
  otherwise if the title is "chores"
    write a note saying "sweep" + "!"
    add 1 to the written
say "wrote {the written} notes"
count the notes whose written is before tomorrow
'''


def test_an_automation_with_branches_in_a_loop_runs_as_a_workflow_as_in_process(temporal):
    """A call inside an `if` block in a loop is found again on the worker (the plan's paths name the branch);
    the workflow's clock and log stand in for the session's."""
    text = BRANCHING.replace('write a note saying "sweep" + "!"', 'write a note saying "sweep" + "!" where\n'
                             '      the title is the title')
    value, store, local = as_a_workflow(temporal, text, "branches.auto")
    assert value == local.value == 2
    assert [(n.title, n.body) for n in store.notes] == [("groceries", None), ("chores", "sweep!")]


WAITING = '''write a Lark note where
  the title is "a"
wait 1 second
the titles are "b" and "c"
for each title
  wait for a second
  write a Lark note where
    the title is the title
read some notes
'''


def test_a_wait_is_a_durable_timer_of_the_workflow_slept_once(temporal):
    """Each `wait` is one timer in the workflow's history (a replay goes past it, never writing twice)."""
    from temporalio.api.enums.v1 import EventType

    from book.temporal.worker import connect, result_of, start_automation, worker_for

    book, store = make_book()
    queue = f"notes-{uuid.uuid4().hex[:8]}"

    async def main() -> Any:
        client = await connect(temporal.target)
        async with worker_for(client, book, session_for(book, store), task_queue=queue):
            handle = await start_automation(client, book, WAITING, "waiting.auto", task_queue=queue)
            value = await result_of(handle, book)
            events = [event async for event in handle.fetch_history_events()]
            return value, events

    value, events = asyncio.run(main())
    assert [n.title for n in value] == [n.title for n in store.notes] == ["a", "b", "c"]  # each written once
    timers = [e for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED]
    assert [t.timer_started_event_attributes.start_to_fire_timeout.seconds for t in timers] == [1, 1, 1]
