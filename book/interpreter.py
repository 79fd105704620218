"""Run a compiled plan: evaluate values, call procedures, filter and limit what they stream.

The interpreter never reads English. For a FILTER-CAPABLE call it hands the procedure the filter
(so it can push what its API supports) and then applies the whole filter itself, item by item, to the
stream the procedure yields, stopping as soon as the limit is met: a procedure that streams pages
fetches no page it does not need.
"""

from __future__ import annotations

import collections
import itertools
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date as date_type
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from book import dates
from book import filters as f
from book import plan as p
from book.concept import type_words
from book.conversation import ConversationReport, Converse
from book.errors import BookError, DeliveryUnknownError, InputError, NotFoundError
from book.expressions import OperationError, combine, compare, text_of
from book.files import DownloadFolder
from book.naming import english, noun_key
from book.pacing import Pacer
from book.side_by_side import Outcome, side_by_side
from book.values import Invalid, coerce, convert, describe, shown
from book.watching.watch import Watcher, WatchReport, automation_cursor_file

ProgressFn = Callable[[str], None]
Caller = Callable[[p.CallStep, dict[str, Any], f.FilterExpression | None], Any]
"""Runs one procedure call of a plan: the step, its inputs (evaluated and checked) and its filter (with the
values filled in); returns the call's result, filtered and limited. The interpreter's own is `perform`; an
execution engine gives another (`book.temporal` runs each call as an activity on a worker)."""


@dataclass
class Session:
    """What a run needs from outside: a client per book (made lazily), where progress and `say` lines go, and
    the clock.

    A `watch for new ...` line polls until `stop` is set (between two items, never in the middle of
    one), or `watch_polls` times when that is given (`run --once`: 1); its cursors live under `home`
    (`open_session` gives the book's home folder). `accounts` names the account each book's client
    reaches (a connection's identity), which scopes a watch's cursor. Procedures that write files write
    them only under `downloads` (by default `<home>/downloads`; see `book.files`).
    """

    clients: dict[str, Callable[[], Any]] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    progress: ProgressFn | None = None
    progress_every: int = 1000
    home: Path | None = None
    watch_polls: int | None = None
    downloads: Path | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    """The clock `now`, `today`, `3 days ago` and `last week` read (GMT); a test gives one that stands still."""
    say: Callable[[Any], None] | None = None
    """Where `say <value>` goes: by default a line on standard output (`run` collects them in its JSON modes; a
    conversation replies with them)."""
    rates: dict[str, float | None] = field(default_factory=dict)
    """Sends a second from one sender, by book (from its connection: `book.pacing`); none given, no pacing."""
    _made: dict[str, Any] = field(default_factory=dict, repr=False)
    _pacers: dict[str, Pacer] = field(default_factory=dict, repr=False)
    _making: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def said(self, value: Any) -> None:
        """Hand a `say` line's value on: to the `say` hook, else as a line on standard output."""
        if self.say is not None:
            self.say(value)
        else:
            print(text_of(value), flush=True)

    def client(self, book: str) -> Any:
        """The book's client, made once (items run side by side share it)."""
        made = self._made.get(book)
        if made is not None:
            return made
        with self._making:
            if book not in self._made:
                factory = self.clients.get(book)
                if factory is None:
                    raise BookError(f"the {book} book has no connection in this session; connect one with its "
                                    "'connect' command, or open the session with book.session.open_session")
                self._made[book] = factory()
        return self._made[book]

    def pace(self, book: str, sender: Any, *halts: threading.Event) -> bool:
        """Wait for the sender's next slot at the book's rate (at once without one); False if the session was
        stopped (or one of `halts` set) meanwhile, and nothing is to be sent."""
        rate = self.rates.get(book)
        if not rate or sender is None:
            return True
        with self._making:
            pacer = self._pacers.get(book)
            if pacer is None or pacer.gap != 1.0 / rate:
                pacer = self._pacers[book] = Pacer(rate)
        return pacer.wait(str(sender), *halts, self.stop)

    def download_folder(self) -> DownloadFolder:
        """Where this session's procedures may write files: `downloads`, else `<home>/downloads`."""
        folder = self.downloads if self.downloads is not None else self.home / "downloads" if self.home else None
        if folder is None:
            raise BookError("this session has no downloads folder to write files in; give Session(downloads=...), "
                            "or open it with book.session.open_session")
        return DownloadFolder(folder)


@dataclass
class Env:
    facts: dict[str, Any] = field(default_factory=dict)
    above: Any = None
    log: list[tuple[Any, ...]] | None = None
    """In an item run side by side: each change of a fact, in order (`("set", name, value)`, `("change", name,
    op, operand)`), to replay on the loop's facts in input order when the items are done."""


def _seconds(seconds: float) -> str:
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{unit}" if count == 1 else f"{count} {unit}s"
    return f"{seconds:g} second" + ("" if seconds == 1 else "s")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _sort_key(value: Any) -> Any:
    """Dates with datetimes (a day as its midnight, GMT), naive datetimes as GMT."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date_type):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return value


def _failed(what: str, err: BookError, then: str) -> str:
    """What a block that failed and was gone past says: where it failed, why, and that it goes on."""
    where = getattr(err, "where", None)
    return f"{what} failed" + (f" at {where}" if where else "") + f": {str(err).rstrip('.')}; going on with {then}"


def _bind(env: Env, name: str, value: Any) -> None:
    env.facts[name] = value
    if env.log is not None:
        env.log.append(("set", name, value))


_STOPPED = object()
"""What an item run side by side gives when a `stop` in it ends the run."""
_CUT_SHORT = object()
"""What an item run side by side gives when it was stopped while a send of it waited for its turn."""


def _replay(log: list[tuple[Any, ...]], env: Env, outer: dict[str, Any], binds: tuple[str, ...]) -> None:
    """Apply an item's changes of the loop's facts (not its own: the item, facts it defined) to `outer`."""
    for entry in log:
        name = entry[1]
        if name not in outer or name in binds:
            continue
        if entry[0] == "set":
            outer[name] = entry[2]
        else:
            outer[name] = combine(entry[2], outer[name], entry[3])
        if env.log is not None:  # a loop run side by side inside an item run side by side: that item's too
            env.log.append(entry)


def _items(noun: str, ran: int, of: int) -> str:
    return f"{ran} of the {of} {noun}s" if of != 1 else f"{ran} of 1 {noun}"


def _numbers(indexes: list[int]) -> str:
    """`2, 3 and 5` (1-based)."""
    shown = [str(i + 1) for i in indexes]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _located(err: BookError, step: p.Step) -> BookError:
    if getattr(err, "where", None) is None:
        err.where = f"line {step.line}: {step.text}"  # type: ignore[attr-defined]
    return err


class _EitherStop:
    """The session's stop, or this watch's own (`stop` in its block), as `Watcher.follow` waits on one."""

    def __init__(self, outer: threading.Event) -> None:
        self.outer, self.own = outer, threading.Event()

    def is_set(self) -> bool:
        return self.own.is_set() or self.outer.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return True if self.own.is_set() else self.outer.wait(timeout)


class _Stopped(BaseException):
    """`stop`: the run ends here (a BaseException, so no `except Exception` on the way takes it for a failure)."""


class _CutShort(_Stopped):
    """A stop (Ctrl-C, or a failure beside it in a loop run side by side) came while a send waited for its turn:
    it was not sent, and the run ends."""


class _HungUp(BaseException):
    """`hang up`: the conversation ends here."""


CONVERSATION = "conversation"
"""The input under which a call with a conversation block hands the facts around it to its `Caller` (an engine
that runs the call elsewhere carries them along); `perform` makes them the block's `Converse`."""


class Interpreter:
    def __init__(self, session: Session | None = None, *, caller: Caller | None = None) -> None:
        self.session = session or Session()
        self.caller: Caller = caller or self.perform
        self._streamed: p.Step | None = None
        self._reply: Callable[[Any], None] | None = None  # in a conversation: where `say` goes
        self._local = threading.local()  # an item's own, in a loop run side by side (its `say` lines)
        self._run = {
            p.CallStep: self._call,
            p.SetStep: self._set,
            p.ConvertStep: self._convert,
            p.GetStep: self._get,
            p.ForEachStep: self._foreach,
            p.WatchStep: self._watch,
            p.CountStep: self._count,
            p.SayStep: self._say,
            p.StopStep: self._stop,
            p.WaitStep: self._wait,
            p.ChangeStep: self._change,
            p.SortStep: self._sort,
            p.IfStep: self._if,
            p.AnswerStep: self._answer,
            p.HangUpStep: self._hang_up,
        }

    def run(self, plan: p.Plan, facts: dict[str, Any] | None = None, *, stream: bool = False) -> Env:
        """Run the plan. With `stream`, a plural read on the last line is left as an iterator that reads
        page by page as it is consumed (for JSON lines of any size in constant memory)."""
        env = Env(dict(facts or {}))
        last = plan.steps[-1] if plan.steps else None
        # (not `the last 2`: the last are known only once all are read)
        self._streamed = last if stream and isinstance(last, p.CallStep) and last.last is None else None
        try:
            self._block(plan.steps, env, top=True)
        except _Stopped:
            pass
        return env

    def _block(self, steps: tuple[p.AnyStep, ...], env: Env, *, top: bool = False) -> None:
        for step in steps:
            if top and self.session.stop.is_set():  # asked to stop: no further line starts (a block runs whole)
                return
            try:
                env.above = self._run[type(step)](step, env)
            except BookError as err:
                raise _located(err, step) from None

    # -- values
    def _eval(self, expr: p.ValueExpr, env: Env) -> Any:
        if isinstance(expr, p.Const):
            return expr.value
        if isinstance(expr, p.AboveRef):
            return env.above
        if isinstance(expr, p.Fact):
            return env.facts[expr.name]
        if isinstance(expr, p.FieldOf):
            return self._field(env.facts[expr.owner], expr.english, f"the {expr.owner}")
        if isinstance(expr, p.FieldOfValue):
            return self._field(self._eval(expr.of, env), expr.english, "the above")
        if isinstance(expr, p.BinOp):
            left, right = self._eval(expr.left, env), self._eval(expr.right, env)
            try:
                return combine(expr.op, left, right)
            except OperationError as err:
                raise InputError(str(err)) from None
        if isinstance(expr, p.Template):
            return "".join(part if isinstance(part, str) else text_of(self._eval(part, env)) for part in expr.parts)
        if isinstance(expr, p.ListExpr):
            return [self._eval(item, env) for item in expr.items]
        if isinstance(expr, p.CountOf):
            return len(self._listed(self._eval(expr.of, env), "count"))
        if isinstance(expr, p.Pick):
            items = self._listed(self._eval(expr.of, env), f"take the {expr.which} of")
            if expr.count is not None:
                return list(items[: expr.count] if expr.which == "first" else items[-expr.count:] if expr.count else [])
            if not items:
                raise NotFoundError(f"there is no {expr.which} item: the list is empty")
            return items[0] if expr.which == "first" else items[-1]
        return self._clock(expr)

    def _clock(self, expr: p.Clock) -> Any:
        now = self.session.now()
        if expr.kind == "moment":
            return dates.moment(expr.what, now)
        if expr.kind == "ago":
            return combine("-", now, expr.what)
        start, end = dates.period(*expr.what, now)
        return start if expr.kind == "start" else end

    @staticmethod
    def _listed(value: Any, what: str) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            raise InputError(f"there is no list here to {what} (got {describe(value)})")
        return list(value)

    @staticmethod
    def _field(owner: Any, words: str, said: str) -> Any:
        resolve = getattr(owner, "resolve_field", None)  # only a concept has fields to read
        attr = resolve(words) if resolve is not None else None
        if attr is None:
            raise InputError(f"{said} has no {words!r}"
                             + ("" if resolve is not None else f": it is {type_words(type(owner))}, not a concept"))
        return getattr(owner, attr)

    # -- steps
    def _set(self, step: p.SetStep, env: Env) -> Any:
        value = self._eval(step.value, env)
        _bind(env, step.name, value)
        return value

    def _get(self, step: p.GetStep, env: Env) -> Any:
        value = self._eval(step.value, env)
        if step.filter is not None:
            expression = self.filter_expression(step.filter, env)
            return [item for item in self._listed(value, "filter") if expression.matches(item)]
        return value

    def _count(self, step: p.CountStep, env: Env) -> int:
        items = self._listed(self._eval(step.value, env), "count")
        if step.filter is not None:
            expression = self.filter_expression(step.filter, env)
            return sum(1 for item in items if expression.matches(item))
        return len(items)

    def _say(self, step: p.SayStep, env: Env) -> Any:
        value = self._eval(step.value, env)
        if self._reply is not None:
            self._reply(value)
        else:
            self._said(value)
        return value

    def _said(self, value: Any) -> None:
        """A `say` line: to the session, or, in an item run side by side, kept until the items before it are done."""
        kept = getattr(self._local, "said", None)
        if kept is not None:
            kept.append(value)
        else:
            self.session.said(value)

    def _stop(self, step: p.StopStep, env: Env) -> Any:
        raise _Stopped

    def _wait(self, step: p.WaitStep, env: Env) -> Any:
        """Go on `step.seconds` later: the engine's timer where the caller has one (`wait(step)`), else this
        thread's; a stop asked meanwhile (Ctrl-C) ends the run there, as `stop` does."""
        engine = getattr(self.caller, "wait", None)
        if engine is not None:
            engine(step)
        elif self.session.stop.wait(step.seconds):
            raise _Stopped
        return env.above

    # -- conversations
    def _hang_up(self, step: p.HangUpStep, env: Env) -> Any:
        raise _HungUp

    def _answer(self, step: p.AnswerStep, env: Env) -> Any:
        kind = step.conversing
        said = step.text.strip().removesuffix(":").removesuffix(" as follows")
        raise BookError(f"'{said}' answers the conversations its trigger brings, one turn at a time; run this "
                        f"automation with '{kind.runs_in}'")

    def converse(self, body: tuple[p.AnyStep, ...], conversation: Any, facts: dict[str, Any] | None = None
                 ) -> ConversationReport:
        """Run a conversation block over `conversation` (a `book.conversation.Conversation`), once per turn, until
        either side ends it: `say` replies, `hang up` (or `stop`) ends it; a failed turn is reported, and the
        conversation goes on. `facts` are those around the block: one defined there and changed in a turn keeps its
        change for the next turns."""
        around = facts if facts is not None else {}
        outer = {**around, **conversation.facts}
        report = ConversationReport()
        say = self.session.progress or _stderr
        replies, before = [0], self._reply

        def reply(value: Any) -> None:
            replies[0] += 1
            conversation.reply(value)

        self._reply = reply
        try:
            for turn in conversation.turns():
                report.turns += 1
                env = Env({**outer, **turn})
                try:
                    self._block(body, env)
                except (_HungUp, _Stopped):
                    report.hung_up = True
                    conversation.end()
                    break
                except BookError as err:
                    report.failed += 1
                    say(_failed(f"the steps of turn {report.turns}", err, "the next turn"))
                finally:  # a fact defined around the block and changed in a turn keeps its change
                    outer.update((k, v) for k, v in env.facts.items() if k in outer and k not in turn)
        finally:
            self._reply = before
            around.update((k, v) for k, v in outer.items() if k in around)  # the changes, for the caller's facts
        report.replies = replies[0]
        return report

    def conversing(self, step: p.CallStep, facts: dict[str, Any]) -> Converse:
        """The `Converse` a conversing procedure is given for a call's block: it runs the block, in an interpreter of
        its own on this session, over the conversation the procedure holds."""
        return lambda conversation: Interpreter(self.session).converse(step.body, conversation, facts)

    def _change(self, step: p.ChangeStep, env: Env) -> Any:
        operand = self._eval(step.value, env)
        try:
            value = combine(step.op, env.facts[step.name], operand)
        except OperationError as err:
            raise InputError(f"the {step.name} can't change: {err}") from None
        env.facts[step.name] = value
        if env.log is not None:
            env.log.append(("change", step.name, step.op, operand))
        return value

    def _sort(self, step: p.SortStep, env: Env) -> Any:
        items = self._listed(env.facts[step.name], "sort")
        # nothing (None) sorts last, whichever the order
        present = [i for i in items if getattr(i, step.key, None) is not None]
        missing = [i for i in items if getattr(i, step.key, None) is None]
        try:
            present.sort(key=lambda item: _sort_key(getattr(item, step.key)), reverse=step.descending)
        except TypeError:
            raise InputError(f"the {step.name} can't be sorted by their {english(step.key)}: the values differ in kind") from None
        _bind(env, step.name, present + missing)
        return env.facts[step.name]

    def _if(self, step: p.IfStep, env: Env) -> Any:
        for condition, body in step.branches:
            if self._holds(condition, env):
                self._block(body, env)
                return env.above
        self._block(step.otherwise, env)
        return env.above

    def _holds(self, node: p.ConditionNodeT, env: Env) -> bool:
        if isinstance(node, p.CondT):
            if node.kind == "not":
                return not self._holds(node.items[0], env)
            results = (self._holds(item, env) for item in node.items)
            return all(results) if node.kind == "all" else any(results)
        value = self._eval(node.value, env)
        if isinstance(node, p.ExistsT):
            return (value is None) == node.negated
        operand: Any = None
        if isinstance(node.operand, tuple):
            operand = tuple(self._operand(v, node.annotation, env) for v in node.operand)
        elif node.operand is not None:
            operand = self._operand(node.operand, node.annotation, env)
            if isinstance(value, (date_type,)) and isinstance(operand, str):  # "December 3, 2026" beside a date
                operand = self._operand(node.operand, type(value), env)
        return compare(value, node.op, operand)

    def _operand(self, expr: p.ValueExpr, annotation: Any, env: Env) -> Any:
        value = self._eval(expr, env)
        try:
            return coerce(value, annotation)
        except Invalid as err:
            raise InputError(f"{describe(value)} can't be compared: {err}") from None

    def _convert(self, step: p.ConvertStep, env: Env) -> Any:
        value = self._eval(step.value, env)
        try:
            return convert(value, step.annotation)
        except Invalid as err:
            raise InputError(f"{describe(value)} can't be converted to a {step.type_name}: {err}") from None

    def _foreach(self, step: p.ForEachStep, env: Env) -> list[Any]:
        collection = self._eval(step.collection, env)
        if not isinstance(collection, (list, tuple)):
            raise InputError(f"there is no list here to process each {step.item} of (got {describe(collection)})")
        # side by side only where calls run in this process (an engine replays a plan call by call) and
        # not in a conversation (its replies go out in turn)
        if step.at_a_time > 1 and len(collection) > 1 and self.caller == self.perform and self._reply is None:
            return self._side_by_side(step, env, list(collection))
        results = []
        outer_facts = env.facts
        try:
            for item in collection:
                env.facts = {**outer_facts, **dict.fromkeys(step.binds, item)}
                env.above = item
                try:
                    self._block(step.body, env)
                finally:
                    # a fact defined above the loop and changed in it keeps its change (`add 1 to the counter`)
                    outer_facts.update((k, v) for k, v in env.facts.items() if k in outer_facts and k not in step.binds)
                results.append(env.above)
        finally:
            env.facts = outer_facts
        return results

    def _side_by_side(self, step: p.ForEachStep, env: Env, items: list[Any]) -> list[Any]:
        """`process each message, 8 at a time`: each item runs in a thread of its own (`book.side_by_side`), on
        the facts as they stood when the loop began and its own changes. What a person sees is in input
        order: the `say` lines of an item once those before it are out, the changes of the facts the loop
        keeps replayed item after item (so `add 1 to the counter` counts every item), the first failure.
        A failure or a `stop` starts no new item; the ones running finish and are said to have."""
        outer = env.facts
        envs: list[Env | None] = [None] * len(items)
        said: list[list[Any]] = [[] for _ in items]
        halt = threading.Event()
        halts = (halt, *getattr(self._local, "halts", ()))  # a loop side by side in an item of another: its too
        cut: set[int] = set()  # items stopped while a send of theirs waited for its turn: not sent

        def run(i: int) -> Any:
            envs[i] = own = Env({**outer, **dict.fromkeys(step.binds, items[i])}, items[i], log=[])
            self._local.said, self._local.halts = said[i], halts
            try:
                self._block(step.body, own)
            except _CutShort:
                cut.add(i)
                return _CUT_SHORT
            except _Stopped:
                halt.set()
                return _STOPPED
            except BaseException:
                halt.set()
                raise
            finally:
                self._local.said, self._local.halts = None, ()
            return own.above

        def finished(outcome: Outcome) -> None:
            for value in said[outcome.index]:
                self._said(value)

        interrupted = True
        try:
            outcomes = side_by_side(len(items), step.at_a_time, run, finished=finished, interrupted=halt.set,
                                    may_start=lambda: not any(h.is_set() for h in halts) and not self.session.stop.is_set())
            interrupted = False
        finally:
            for own in envs:  # the changes of every item that ran, in input order
                if own is not None and own.log:
                    _replay(own.log, env, outer, step.binds)
            if interrupted:
                started = sum(own is not None for own in envs)
                (self.session.progress or _stderr)(
                    f"line {step.line}: interrupted; {_items(step.item, started - len(cut), len(items))} ran"
                    + (f", {len(cut)} stopped before sending" if cut else "")
                    + f", {len(items) - started} not started")
        failed = [o for o in outcomes if o.error is not None]
        if failed:
            first = failed[0]
            tell = self.session.progress or _stderr
            after = [o.index for o in outcomes if o.started and o.index > first.index and o.error is None
                     and o.value is not _CUT_SHORT]
            cut = [o.index for o in outcomes if o.value is _CUT_SHORT]
            note = f"the {step.item} {first.index + 1} of {len(items)} failed"
            if after:
                note += f"; {_numbers(after)} had started beside it and finished"
            if failed[1:]:
                note += f"; {_numbers([o.index for o in failed[1:]])} failed too"
            if cut:
                note += f"; {_numbers(cut)} had started and stopped before sending"
            not_started = len(items) - sum(o.started for o in outcomes)
            if not_started:
                note += f"; {not_started} not started"
            tell(f"line {step.line}: {note}")
            for other in failed[1:]:  # each named, with where and why (a send whose outcome is unknown: its inputs)
                where = getattr(other.error, "where", None)
                tell(f"  the {step.item} {other.index + 1}: " + (f"{where}: " if where else "") + str(other.error))
            assert first.error is not None
            raise first.error
        if any(o.value is _STOPPED or o.value is _CUT_SHORT for o in outcomes):
            raise _Stopped
        return [o.value for o in outcomes if o.started]

    def _watch(self, step: p.WatchStep, env: Env) -> Any:
        """Poll for new items and run the body once per item, oldest first, until the session stops (or for
        `watch_polls` polls); a `WatchReport`.

        The cursor is saved after each item's body has run (`book.watching.watch`), so a restart goes on
        where this one stopped, and it is locked while the watch runs, so a second run of the same watch
        is refused instead of handing every item on twice. A body that fails is reported and counted, and
        the watch goes on: the item was handed on, and running it again could repeat what its first steps
        did (send a message twice). A stop is taken between two items, never in the middle of one.
        """
        session = self.session
        if session.home is None:
            raise BookError("this session has no home folder to keep the watch's cursor in; open it with "
                            "book.session.open_session, or give Session(home=...)")
        say = session.progress or _stderr
        client = session.client(step.procedure.book)
        expression = self.filter_expression(step.filter, env) if step.filter is not None else None
        watchable = step.watchable
        cursor = automation_cursor_file(session.home, watchable, session.accounts.get(step.procedure.book, ""),
                                        step.automation)
        watcher = Watcher(watchable, step.procedure, client, cursor, expression=expression, limit=step.limit)
        what, every = f"new {step.procedure.signature.noun}", _seconds(step.every)
        report = WatchReport(watched=what, cursor=str(cursor.path))
        outer = env.facts

        def hand_on(item: Any) -> None:
            env.facts = {**outer, **dict.fromkeys(step.binds, item)}
            env.above = item
            report.handed_on += 1
            name = f"{watchable.fact} {getattr(item, watchable.sid_field, '')}".strip()
            try:
                self._block(step.body, env)
            except _Stopped:  # `stop` in the block: this item is done, and the watch stops before the next one
                stopping.own.set()
                say(f"stopped at the new {name}, as its steps say")
                return
            except BookError as err:
                report.failed += 1
                say(_failed(f"the steps for the new {name}", err, "the next one"))
            except Exception as err:  # a bug in a procedure: the item was handed on all the same, so say it, go on
                report.failed += 1
                say(f"the steps for the new {name} failed with an internal error ({type(err).__name__}: {err}); "
                    "this is a bug in the book, not in the automation; going on with the next one")
            else:
                say(f"handed on the new {name}")
            finally:  # a fact defined above the watch and changed in its block keeps its change (a counter)
                outer.update((k, v) for k, v in env.facts.items() if k in outer and k not in step.binds)

        stopping = _EitherStop(session.stop)  # Ctrl-C, or a `stop` in the block (which ends this watch only)
        once = session.watch_polls is not None
        say(f"line {step.line}: watching for {what} " + ("(once)" if session.watch_polls == 1 else f"every {every}")
            + f"; the cursor is {cursor.path}" + ("" if once else "; press Ctrl-C to stop"))
        try:
            report.started_from_now = watcher.follow(hand_on, every=step.every, stop=stopping,  # type: ignore[arg-type]
                                                     polls=session.watch_polls, say=say, what=what)
        finally:
            env.facts = outer
            report.interrupted = len(watcher.interrupted)
        return report

    def _call(self, step: p.CallStep, env: Env) -> Any:
        around = dict(env.facts)  # the facts a conversation block sees; a turn's changes come back in them
        kwargs: dict[str, Any] = {CONVERSATION: around} if step.body else {}
        for param, expr, annotation in step.inputs:
            value = self._eval(expr, env)
            try:
                kwargs[param] = coerce(value, annotation)
            except Invalid as err:
                raise InputError(f"the {english(param)} {shown(value, annotation)} is not valid: {err}; nothing was sent") from None
        expression = self.filter_expression(step.filter, env) if step.filter is not None else None
        try:
            result = self.caller(step, kwargs, expression)
        except NotFoundError:
            if not step.finds:
                raise
            result = None  # `find` finds nothing: that is an answer, not a failure
        if step.body:
            env.facts.update((k, v) for k, v in around.items() if k in env.facts)
        if step.last is not None and isinstance(result, list):
            result = result[-step.last:] if step.last > 0 else []
        for name in step.binds:
            _bind(env, name, result)
        return result

    def perform(self, step: p.CallStep, kwargs: dict[str, Any], expression: f.FilterExpression | None) -> Any:
        """Call the step's procedure with its inputs and filter (the `Caller` of a run in this process): its
        result, a plural one filtered and limited as the step says."""
        procedure = step.procedure
        pushed = None
        if expression is not None and procedure.takes_pushed:  # as the compiler split it
            conditions = expression.conjuncts()
            taken, complete = step.pushdown
            pushed = f.Pushdown(tuple(conditions[i] for i in taken), complete)  # type: ignore[misc]
        client = self.session.client(procedure.book) if procedure.takes_client else None
        downloads = self.session.download_folder() if procedure.writes_files else None
        converse = None
        if CONVERSATION in kwargs:
            kwargs = dict(kwargs)
            converse = self.conversing(step, kwargs.pop(CONVERSATION))
        if procedure.paced_by is not None and not self.session.pace(procedure.book, kwargs.get(procedure.paced_by),
                                                                    *getattr(self._local, "halts", ())):
            raise _CutShort  # stopped while it waited for its turn: not sent
        try:
            one = 1 if step.last is None else None  # `the last message`: all are read, to know which is last
            result = procedure.read(client, expression, pushed=pushed, limit=one if step.singular else step.limit,
                                    inputs=kwargs, downloads=downloads, conversation=converse)
        except DeliveryUnknownError as err:  # name what it was given, so the user can check whether it was done
            given = ", ".join(f"the {english(param)} {shown(kwargs[param], annotation)}"
                              for param, _, annotation in step.inputs if param in kwargs)
            said = step.text.removesuffix(" where").removesuffix(" with")
            err.where = f"line {step.line}: {said}" + (f", with {given}" if given else "")  # type: ignore[attr-defined]
            raise
        if procedure.output.plural:
            result = self._collect(step, result, expression)
        return result

    def _collect(self, step: p.CallStep, stream: Any, expression: f.FilterExpression | None) -> Any:
        items = (x for x in stream if expression.matches(x)) if expression is not None else iter(stream)
        if step.singular:
            if step.last is None:
                first = next(items, None)
            else:  # `the last message`
                kept = collections.deque(items, maxlen=1)
                first = kept[0] if kept else None
            if first is None:
                what = noun_key(step.procedure.signature.noun)
                if expression is None:
                    raise NotFoundError(f"there is no {what} to read")
                raise NotFoundError(f"no {what} matches this line's 'whose' clauses; check the values in them")
            return first
        if step.limit is not None:
            items = itertools.islice(items, min(step.limit, sys.maxsize))  # a count beyond that means all
        counted = self._counted(step, items)
        return counted if step is self._streamed else list(counted)

    def _counted(self, step: p.CallStep, items: Any) -> Any:
        """The items, reporting progress every so many; a failure while streaming names its line."""
        report, every = self.session.progress, self.session.progress_every
        try:
            for index, item in enumerate(items, 1):
                yield item
                if report is not None and index % every == 0:
                    report(f"read {index} {step.procedure.signature.noun} so far...")
        except BookError as err:
            raise _located(err, step) from None

    def filter_expression(self, template: p.FilterT, env: Env) -> f.FilterExpression:
        """A step's filter with its values filled in from `env`."""
        return f.FilterExpression(self._node(template, env))

    def _node(self, node: p.FilterT, env: Env) -> f.Node:
        if isinstance(node, p.BoolT):
            items = tuple(self._node(n, env) for n in node.items)
            return {"all": f.AllOf, "any": f.AnyOf}[node.kind](items) if node.kind != "not" else f.Not(items[0])
        if node.value is None:  # `is empty`
            value: Any = None
        elif isinstance(node.value, tuple):
            value = tuple(self._condition_value(v, node, env) for v in node.value)
        else:
            value = self._condition_value(node.value, node, env)
        return f.Condition(node.field, node.op, value)

    def _condition_value(self, expr: p.ValueExpr, node: p.ConditionT, env: Env) -> Any:
        value = self._eval(expr, env)
        try:
            return coerce(value, node.annotation)
        except Invalid as err:
            raise InputError(f"{describe(value)} can't be compared with the {english(node.field)}: {err}") from None
