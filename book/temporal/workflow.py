"""An automation as a Temporal workflow: the plan, run by the interpreter, each procedure call an activity.

The workflow runs the interpreter itself (`book.interpreter.Interpreter`) with a `Caller` that replays the
results the workflow already has, in order, and stops at the first call it has none for (`_Pending`); the
workflow runs that call as an activity, records its outcome (a result, or the `BookError` it ended in), and
runs the block again from its start. Evaluating a plan is pure (no clock, no randomness, no I/O: those are
the procedures'), so every run takes the same path, and a worker that picks the workflow up after another
died replays it from its history to the same point. Running a block again costs its pure steps once per
call (a few microseconds each), never a request.

`watch for new ...` is the workflow's own loop: a poll (an activity) gives the new items, the line's block
runs for each, the cursor moves on in the workflow's state after each, and a durable timer waits for the
next poll; every `POLLS_PER_RUN` polls (or when Temporal suggests it) the workflow continues as new with the
cursor, so its history stays short. A `stop` signal ends it between two items with its `WatchReport`.
An automation started for a webhook waits for its facts in a `deliver` signal (signal-with-start: a
redelivery of the same event signals the same workflow, which takes the first delivery only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from book import plan as p
    from book.errors import BookError, DeliveryUnknownError, RemoteError
    from book.expressions import text_of
    from book.interpreter import Env, Interpreter, Session
    from book.temporal import plans
    from book.temporal.codec import error_details, error_from
    from book.watching.watch import Watcher, WatchReport

WORKFLOW = "BookAutomation"
DELIVER, STOP, WATCHING = "deliver", "stop", "watching"
CALL, POLL = "book.call", "book.poll"  # the activities' names (book.temporal.activities)
POLLS_PER_RUN = 200
"""A watch continues as new after this many polls, so its history stays a few thousand events long."""

SENT_KEPT = 100
"""The last sends a watch keeps when it continues as new, for a retried send to tell its own apart."""

READS = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=30), maximum_attempts=8)
"""A read is tried again: an activity fails only with what may pass (the network, 429, 5xx) as retryable."""
SENDS = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3,
                    non_retryable_error_types=["DeliveryUnknownError"])
"""A send is tried again only when its worker died mid-call; that attempt asks before it sends."""
POLLS = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=60), maximum_attempts=0)
"""A watch's poll is tried until it passes (or fails in a way that can't pass)."""


def _session() -> Session:
    """A session for the interpreter inside a workflow: the workflow's clock (`today`, `3 days ago` read the same
    on a replay), and `say` lines to the workflow's log (which a replay does not repeat), not to stdout."""
    return Session(now=workflow.now, say=lambda value: workflow.logger.info("said: %s", text_of(value)))


class _Pending(BaseException):
    """The plan reached a call the workflow has no outcome for yet (a BaseException: no block catches it)."""

    def __init__(self, step: p.CallStep, inputs: dict[str, Any], expression: Any) -> None:
        super().__init__(step.line)
        self.step, self.inputs, self.expression = step, inputs, expression


class _Waiting(BaseException):
    """The plan reached a `wait` the workflow has not slept yet."""

    def __init__(self, step: p.WaitStep) -> None:
        super().__init__(step.line)
        self.step = step


@dataclass
class _Outcome:
    path: tuple[int, ...]
    value: Any = None
    error: dict[str, Any] | None = None


class _Replay:
    """The `Caller` of a block run in the workflow: the outcomes so far, in order, then `_Pending`."""

    def __init__(self, ref: plans.PlanRef, outcomes: list[_Outcome]) -> None:
        self.ref, self.outcomes, self.index = ref, outcomes, 0

    def __call__(self, step: p.CallStep, inputs: dict[str, Any], expression: Any) -> Any:
        if self.index == len(self.outcomes):
            raise _Pending(step, inputs, expression)
        outcome = self.outcomes[self.index]
        self.index += 1
        if outcome.path != plans.path_of(self.ref, step):
            raise RuntimeError(f"the automation took another path on replay (line {step.line}): its evaluation "
                               "must be deterministic")
        if outcome.error is not None:
            raise error_from(outcome.error)
        return outcome.value

    def wait(self, step: p.WaitStep) -> None:
        """A `wait`: a durable timer of the workflow's, slept once (a replay goes past it)."""
        if self.index == len(self.outcomes):
            raise _Waiting(step)
        outcome = self.outcomes[self.index]
        self.index += 1
        if outcome.path != plans.path_of(self.ref, step):
            raise RuntimeError(f"the automation took another path on replay (line {step.line}): its evaluation "
                               "must be deterministic")


@workflow.defn(name=WORKFLOW)
class AutomationWorkflow:
    """`run(spec)`: `{"plan": PlanRef, "given": facts, "wait": bool, "heartbeat": s, "polls": n, "polls_per_run": n,
    "watch": state}`; returns `{"value": the last line's result}` (a watch's: its `WatchReport`)."""

    def __init__(self) -> None:
        self._delivered: Any = None
        self._stopping = False
        self._calls = 0
        self._sent: list[tuple[str, Any]] = []
        self._watch_state: dict[str, Any] | None = None

    @workflow.signal(name=DELIVER)
    def deliver(self, facts: Any) -> None:
        """The facts of the event this run is for; a redelivery of the same event changes nothing."""
        if self._delivered is None:
            self._delivered = facts

    @workflow.signal(name=STOP)
    def stop(self) -> None:
        """End a watch between two items (an automation without one runs to its end)."""
        self._stopping = True

    @workflow.query(name=WATCHING)
    def watching(self) -> dict[str, Any] | None:
        """Where a watch stands: items handed on and failed, polls, runs continued as new (None: not watching)."""
        state = self._watch_state
        return None if state is None else {k: state[k] for k in ("handed_on", "failed", "polls", "generation")}

    @workflow.run
    async def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.spec = spec
        self.ref = spec["plan"]
        self.codec = plans.codec()
        try:
            return await self._run_plan(spec)
        except BookError as err:
            raise ApplicationError(str(err), error_details(err), type=type(err).__name__, non_retryable=True) from None

    async def _run_plan(self, spec: dict[str, Any]) -> dict[str, Any]:
        plan = plans.plan_of(self.ref)
        watch = spec.get("watch")
        if watch is not None:  # continued as new: the watch goes on from its cursor
            self._sent = [tuple(sent) for sent in watch.get("sent", [])]  # type: ignore[misc]
            return await self._watch(plans.step_at(self.ref, watch["path"]), self.codec.decode(watch["facts"]), watch)
        facts = self.codec.decode(spec.get("given")) or {}
        if spec.get("wait"):
            await workflow.wait_condition(lambda: self._delivered is not None)
            facts = self.codec.decode(self._delivered)
        steps = plan.steps
        at = next((i for i, step in enumerate(steps) if isinstance(step, p.WatchStep)), len(steps))
        env = await self._block(steps[:at], facts)
        if at < len(steps):
            return await self._watch(steps[at], env.facts, None)
        return {"value": self.codec.encode(env.above)}

    async def _block(self, steps: tuple[Any, ...], facts: dict[str, Any]) -> Env:
        """Run `steps` with the interpreter, each call an activity; the environment they leave."""
        plan = plans.plan_of(self.ref)
        block = p.Plan(tuple(steps), plan.source, plan.filename)
        outcomes: list[_Outcome] = []
        while True:
            try:
                return Interpreter(_session(), caller=_Replay(self.ref, outcomes)).run(block, facts)
            except _Pending as pending:
                outcomes.append(await self._call(pending))
            except _Waiting as waiting:
                await workflow.sleep(timedelta(seconds=waiting.step.seconds))
                outcomes.append(_Outcome(plans.path_of(self.ref, waiting.step)))

    async def _call(self, pending: _Pending) -> _Outcome:
        step = pending.step
        procedure = step.procedure
        path = plans.path_of(self.ref, step)
        self._calls += 1
        generation = (self.spec.get("watch") or {}).get("generation", 0)
        request: dict[str, Any] = {
            "plan": self.ref, "path": list(path), "inputs": self.codec.encode(pending.inputs),
            "filter": self.codec.encode_filter(pending.expression),
            "key": f"{workflow.info().workflow_id}/{generation}/{self._calls}",
        }
        same = json.dumps([procedure.phrase, request["inputs"]], sort_keys=True)
        if procedure.mutating:  # what identical sends of this run made: a retry must not take one for its own
            request["earlier"] = [value for key, value in self._sent if key == same]
        try:
            result = await workflow.execute_activity(
                CALL, request, heartbeat_timeout=self._heartbeat(),
                # a call that waits for what it started to end (`Procedure.resume`) takes longer
                start_to_close_timeout=timedelta(hours=5) if procedure.resume is not None else timedelta(minutes=10),
                retry_policy=SENDS if procedure.mutating else READS,
                summary=f"line {step.line}: {step.text.strip()}"[:200])
        except ActivityError as err:
            return _Outcome(path, error=self._failure(err, step, request["key"]))
        if procedure.mutating:
            self._sent.append((same, result["value"]))
        return _Outcome(path, value=self.codec.decode(result["value"]))

    def _heartbeat(self) -> timedelta:
        return timedelta(seconds=float(self.spec.get("heartbeat") or 10))

    def _failure(self, err: ActivityError, step: Any, key: str) -> dict[str, Any]:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.details and isinstance(cause.details[0], dict):
            return cause.details[0]
        if step.procedure.mutating:
            why = ("its workers stopped answering on every attempt" if isinstance(cause, ActivityTimeout)
                   else f"it failed ({cause or err})")
            return error_details(DeliveryUnknownError(
                f"the send at line {step.line} (call {key}) may or may not have reached the service: {why}; "
                "it is not sent again: check it yourself"))
        return error_details(RemoteError(f"the read at line {step.line} failed on every attempt: {cause or err}"))

    # -- watch for new ...

    async def _watch(self, step: p.WatchStep, facts: dict[str, Any], state: dict[str, Any] | None) -> dict[str, Any]:
        codec = self.codec
        state = dict(state or {"path": list(plans.path_of(self.ref, step)), "facts": codec.encode(facts),
                               "cursor": None, "handed_on": 0, "failed": 0, "polls": 0, "started": False,
                               "generation": 0})
        expression = (Interpreter(_session()).filter_expression(step.filter, Env(dict(facts)))
                      if step.filter is not None else None)
        watcher = Watcher(step.watchable, step.procedure, None, None, expression=expression,  # type: ignore[arg-type]
                          limit=step.limit)
        self._watch_state = state
        cursor = codec.decode_cursor(state["cursor"])
        polls, this_run, per_run = self.spec.get("polls"), 0, self.spec.get("polls_per_run") or POLLS_PER_RUN
        what = f"new {step.procedure.signature.noun}"
        while not self._stopping:
            polled = await workflow.execute_activity(
                POLL, {"plan": self.ref, "path": state["path"], "filter": codec.encode_filter(expression),
                       "cursor": codec.encode_cursor(cursor)},
                start_to_close_timeout=timedelta(minutes=10), heartbeat_timeout=self._heartbeat(), retry_policy=POLLS,
                summary=f"line {step.line}: {what}")
            if polled["placed"]:
                cursor, state["started"] = codec.decode_cursor(polled["cursor"]), True
                workflow.logger.info("line %s: started watching for %s from now", step.line, what)
            for data in polled["items"]:
                if self._stopping:
                    break
                item = codec.decode(data)
                state["handed_on"] += 1
                try:
                    await self._block(step.body, {**facts, **dict.fromkeys(step.binds, item)})
                except BookError as err:
                    state["failed"] += 1
                    workflow.logger.warning("line %s: the steps for the new %s failed: %s; going on", step.line,
                                            step.watchable.fact, err)
                cursor = watcher.advance(cursor, item)  # type: ignore[arg-type]
            state["polls"] += 1
            this_run += 1
            if polls is not None and state["polls"] >= polls:
                break
            if this_run >= per_run or workflow.info().is_continue_as_new_suggested():
                state["cursor"], state["generation"] = codec.encode_cursor(cursor), state["generation"] + 1
                state["sent"] = [list(sent) for sent in self._sent[-SENT_KEPT:]]
                workflow.continue_as_new({**self.spec, "watch": state})
            try:
                await workflow.wait_condition(lambda: self._stopping, timeout=timedelta(seconds=step.every))
            except TimeoutError:  # the wait is over: poll again
                pass
        report = WatchReport(watched=what, handed_on=state["handed_on"], failed=state["failed"],
                             started_from_now=state["started"], cursor=f"the workflow {workflow.info().workflow_id}")
        return {"value": codec.encode(report)}
