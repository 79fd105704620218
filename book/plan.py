"""A compiled automation: steps with their values resolved to procedures, fields and types.

An automation is parsed and compiled once into a `Plan`; the interpreter runs the plan, as often as
it likes, without looking at the English again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from book.registry import Procedure

# -- values, as the interpreter evaluates them ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Const:
    value: Any


@dataclass(frozen=True, slots=True)
class AboveRef:
    pass


@dataclass(frozen=True, slots=True)
class Fact:
    name: str


@dataclass(frozen=True, slots=True)
class FieldOf:
    owner: str
    field: str  # the attribute name when known at compile time, else the English words
    english: str


@dataclass(frozen=True, slots=True)
class FieldOfValue:
    """A field of a value that is not a named fact: `the above's body`."""

    of: ValueExpr
    field: str
    english: str


@dataclass(frozen=True, slots=True)
class BinOp:
    """`left op right`: + - * / on numbers, dates and spans of time; + on text (see `book.expressions`)."""

    op: str
    left: ValueExpr
    right: ValueExpr


@dataclass(frozen=True, slots=True)
class Template:
    """Quoted text with placeholders: text and values, joined when the line runs."""

    parts: tuple[str | ValueExpr, ...]


@dataclass(frozen=True, slots=True)
class ListExpr:
    items: tuple[ValueExpr, ...]


@dataclass(frozen=True, slots=True)
class CountOf:
    """How many items a list holds (`the number of messages`)."""

    of: ValueExpr


@dataclass(frozen=True, slots=True)
class Pick:
    """The first or last item (`count` None) or items of a list."""

    which: str
    count: int | None
    of: ValueExpr


@dataclass(frozen=True, slots=True)
class Clock:
    """A moment of the session's clock: `now`, `today`, `yesterday`, `tomorrow`; `ago` (a `book.dates.Span`)
    before now; or an edge ("start" / "end") of a period (`last week`)."""

    kind: str  # "moment" | "ago" | "start" | "end"
    what: Any  # the moment's name, the span, or (which, unit) of a period


ValueExpr = Const | AboveRef | Fact | FieldOf | FieldOfValue | BinOp | Template | ListExpr | CountOf | Pick | Clock


# -- filters with value expressions (filled in at run time) ----------------------------------------


@dataclass(frozen=True, slots=True)
class ConditionT:
    field: str
    op: str
    value: ValueExpr | tuple[ValueExpr, ...]
    annotation: Any  # the type values are converted to


@dataclass(frozen=True, slots=True)
class BoolT:
    kind: str  # "all" | "any" | "not"
    items: tuple[FilterT, ...]


FilterT = ConditionT | BoolT


# -- conditions of `if` lines -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckT:
    """`<value> <op> <operand>` (an operand tuple for one_of and between, None for empty)."""

    value: ValueExpr
    op: str
    operand: ValueExpr | tuple[ValueExpr, ...] | None
    annotation: Any  # what the operand is converted to (the value's type when it is known), else Any


@dataclass(frozen=True, slots=True)
class ExistsT:
    value: ValueExpr
    negated: bool


@dataclass(frozen=True, slots=True)
class CondT:
    kind: str  # "all" | "any" | "not"
    items: tuple[ConditionNodeT, ...]


ConditionNodeT = CheckT | ExistsT | CondT


# -- steps ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    line: int
    text: str  # the source line, for messages


@dataclass(frozen=True, slots=True)
class CallStep(Step):
    procedure: Procedure
    inputs: tuple[tuple[str, ValueExpr, Any], ...]  # (parameter, value, annotation)
    filter: FilterT | None
    singular: bool  # a/an: one object or "not found"
    limit: int | None
    binds: tuple[str, ...]  # fact names the result is also known by
    # FILTER-CAPABLE: which top-level `and` conditions of `filter` go to the API (by index), and whether
    # that is all of them (`book.filters.split` of the procedure's `pushable`)
    pushdown: tuple[tuple[int, ...], bool] = ((), True)
    finds: bool = False  # written `find`: nothing found is no failure (nothing, or an empty list)
    last: int | None = None  # `the last 2`: the last so many of what it reads
    body: tuple[AnyStep, ...] = ()  # `... as follows`: the conversation block, run once per turn of the call's

    @property
    def pushed(self) -> tuple[ConditionT, ...]:
        """The conditions this call pushes down to its API."""
        return tuple(conjuncts(self.filter)[i] for i in self.pushdown[0]) if self.filter is not None else ()


def conjuncts(template: FilterT) -> tuple[FilterT, ...]:
    """The top-level `and` conditions of a filter template, in order (as `FilterExpression.conjuncts`)."""
    return template.items if isinstance(template, BoolT) and template.kind == "all" else (template,)


@dataclass(frozen=True, slots=True)
class SetStep(Step):
    """`the start date is ...`, `use the above as the start date`: a fact gets a value."""

    name: str
    value: ValueExpr


@dataclass(frozen=True, slots=True)
class ConvertStep(Step):
    value: ValueExpr
    type_name: str
    annotation: Any


@dataclass(frozen=True, slots=True)
class GetStep(Step):
    value: ValueExpr
    filter: FilterT | None = None  # `get the messages whose ...`: the items of a list that match


@dataclass(frozen=True, slots=True)
class CountStep(Step):
    value: ValueExpr
    filter: FilterT | None = None


@dataclass(frozen=True, slots=True)
class SayStep(Step):
    value: ValueExpr


@dataclass(frozen=True, slots=True)
class StopStep(Step):
    pass


@dataclass(frozen=True, slots=True)
class WaitStep(Step):
    """`wait 5 seconds`: the run goes on `seconds` later (a stop asked meanwhile ends it there)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class ChangeStep(Step):
    """`add 1 to the counter`: the fact becomes `fact op value`."""

    name: str
    op: str
    value: ValueExpr


@dataclass(frozen=True, slots=True)
class SortStep(Step):
    name: str
    key: str  # the field's attribute
    descending: bool


@dataclass(frozen=True, slots=True)
class IfStep(Step):
    branches: tuple[tuple[ConditionNodeT, tuple[AnyStep, ...]], ...]
    otherwise: tuple[AnyStep, ...]


@dataclass(frozen=True, slots=True)
class ForEachStep(Step):
    item: str
    collection: ValueExpr
    body: tuple[AnyStep, ...]
    binds: tuple[str, ...]  # fact names the current item is known by (`each messages` -> messages, message)
    at_a_time: int = 1  # items run side by side, at most this many at once (`8 at a time`)


@dataclass(frozen=True, slots=True)
class WatchStep(Step):
    """`watch for new SMS messages whose ... as follows`: poll the read procedure and run the body once
    per new item, oldest first, with the item bound (`the message`); runs until stopped."""

    procedure: Procedure
    watchable: Any  # book.watching.watch.Watchable: the item's date and SID fields
    filter: FilterT | None
    every: float  # seconds between polls
    limit: int | None  # at most this many new items per poll (the oldest; the rest come next poll)
    body: tuple[AnyStep, ...]
    binds: tuple[str, ...]  # fact names the new item is known by (`sms message`, `message`)
    automation: str  # names this watch for its cursor: the automation file and the watch line


@dataclass(frozen=True, slots=True)
class AnswerStep(Step):
    """`answer each inbound call as follows`: the block runs once per turn of each conversation the book's trigger
    provides (`book.conversation`), with the conversation's and the turn's facts bound."""

    conversing: Any  # book.conversation.Conversing
    body: tuple[AnyStep, ...]


@dataclass(frozen=True, slots=True)
class HangUpStep(Step):
    """`hang up`: the conversation ends here."""


AnyStep = (CallStep | SetStep | ConvertStep | GetStep | ForEachStep | WatchStep | CountStep | SayStep | StopStep
           | WaitStep | ChangeStep | SortStep | IfStep | AnswerStep | HangUpStep)


def blocks(step: AnyStep) -> tuple[tuple[AnyStep, ...], ...]:
    """The blocks of steps a step holds: a loop's or watch's body, each branch of an `if`."""
    if isinstance(step, ForEachStep | WatchStep | AnswerStep) or isinstance(step, CallStep) and step.body:
        return (step.body,)
    if isinstance(step, IfStep):
        return (*(body for _, body in step.branches), step.otherwise)
    return ()


@dataclass(frozen=True, slots=True)
class Plan:
    """The steps of an automation, ready to run; `procedures` lists every procedure it calls."""

    steps: tuple[AnyStep, ...]
    source: str
    filename: str | None = None

    @property
    def watches(self) -> bool:
        """Whether the plan has a `watch for new ...` line: it runs until it is stopped."""
        return any(isinstance(step, WatchStep) for step in self.steps)

    @property
    def answers(self) -> AnswerStep | None:
        """The plan's `answer each ... as follows` line, if it has one: the run is a trigger's, turn by turn."""
        return next((step for step in self.steps if isinstance(step, AnswerStep)), None)

    @property
    def procedures(self) -> tuple[Procedure, ...]:
        seen: dict[int, Procedure] = {}

        def walk(steps: tuple[AnyStep, ...]) -> None:
            for step in steps:
                if isinstance(step, CallStep | WatchStep):
                    seen.setdefault(id(step.procedure), step.procedure)
                for block in blocks(step):
                    walk(block)

        walk(self.steps)
        return tuple(seen.values())
