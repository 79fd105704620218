"""The typed tree the parser yields: statements, calls, filters and values.

Names are kept as the user wrote them (`text`) and in a normal form (`key`: lower case, single
spaces) that the compiler looks up. Every node knows the line and column it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line and column in the automation's text."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Name:
    """Some words naming a fact, a field, an input or a type: `the start date` -> `start date`."""

    text: str
    pos: Pos

    @property
    def key(self) -> str:
        return " ".join(self.text.lower().split())


# -- values --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    """A value written out: quoted text, a number, an ISO date or datetime, true or false."""

    value: str | int | float | bool | date | datetime
    pos: Pos


@dataclass(frozen=True, slots=True)
class Above:
    """`the above`: the result of the previous line."""

    pos: Pos


@dataclass(frozen=True, slots=True)
class FactRef:
    """`the start date`: a fact defined earlier (or the current item of a `process each`)."""

    name: Name

    @property
    def pos(self) -> Pos:
        return self.name.pos


@dataclass(frozen=True, slots=True)
class Possessive:
    """`the message's body`: a field of a fact."""

    owner: Name
    field: Name

    @property
    def pos(self) -> Pos:
        return self.owner.pos


@dataclass(frozen=True, slots=True)
class AboveField:
    """`the above's body`: a field of the previous line's result."""

    field: Name
    pos: Pos


@dataclass(frozen=True, slots=True)
class BinOp:
    """`the start date + 3 days`, `"Hi " + the name`: `op` is one of + - * /."""

    op: str
    left: Value
    right: Value
    pos: Pos


@dataclass(frozen=True, slots=True)
class Template:
    """`"Hello {the customer's name}"`: quoted text with placeholders (`{the ...}`; other braces are text)."""

    parts: tuple[str | Value, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class ListValue:
    """`"+15550001", "+15550002" and "+15550003"`: a list written out."""

    items: tuple[Value, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class CountOf:
    """`the number of messages`, `how many messages`: how many items a list holds."""

    of: Value
    pos: Pos


@dataclass(frozen=True, slots=True)
class Pick:
    """`the first message of the above`, `the last 2 messages`, `the first three notes`.

    `noun` names what is picked (and, without `of`, the list it is picked from); `count` None means one item.
    """

    which: str  # "first" | "last"
    count: int | None
    noun: Name
    of: Value | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class Moment:
    """`now`, `today`, `yesterday`, `tomorrow`: read from the session's clock when the line runs."""

    kind: str
    pos: Pos


@dataclass(frozen=True, slots=True)
class Duration:
    """`3 days`, `an hour`; with `ago`, the moment that long before now (`3 days ago`)."""

    count: int | float
    unit: str  # singular: second, minute, hour, day, week, month, year
    ago: bool
    pos: Pos


@dataclass(frozen=True, slots=True)
class Period:
    """`last week`, `this month`, `next year`: a span of time from the session's clock."""

    which: str  # "this" | "last" | "next"
    unit: str
    pos: Pos


Value = (Literal | Above | FactRef | Possessive | AboveField | BinOp | Template | ListValue | CountOf | Pick | Moment
         | Duration | Period)


# -- filters -------------------------------------------------------------------------------------

OPERATORS = ("eq", "ne", "gt", "lt", "ge", "le", "one_of", "contains", "not_contains", "starts_with", "ends_with",
             "between", "empty", "not_empty")


@dataclass(frozen=True, slots=True)
class Comparison:
    """`whose <field> <op> <value>`; for `one_of` and `between` the value is a tuple of values, for `empty`
    and `not_empty` it is None."""

    field: Name
    op: str
    value: Value | tuple[Value, ...] | None


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[FilterNode, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[FilterNode, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: FilterNode


FilterNode = Comparison | And | Or | Not


# -- conditions ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Test:
    """`the message's body contains "STOP"`: a value, a comparison (as in filters) and what it is compared with."""

    value: Value
    op: str
    operand: Value | tuple[Value, ...] | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class Exists:
    """`the customer exists`, `the customer does not exist`."""

    value: Value
    negated: bool
    pos: Pos


ConditionNode = Test | Exists | And | Or | Not


# -- statements ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quantity:
    """How many things a call asks for: `some`, `a`/`an` (one), `all`, `the`, `the first 10`, `the last 2`, `10`."""

    kind: str  # "some" | "one" | "every" | "the" | "first" | "last" | "count"
    count: int | None = None

    @property
    def singular(self) -> bool:
        return self.kind == "one"


@dataclass(frozen=True, slots=True)
class Input:
    """One line of an input block: `the sender number is "+18004445555"`."""

    name: Name
    value: Value


@dataclass(frozen=True, slots=True)
class Prep:
    """`to "+18004446666"`, `saying "Hi"`: a preposition of a one-line call; the procedure says what it binds."""

    word: str
    value: Value
    pos: Pos


@dataclass(frozen=True, slots=True)
class Call:
    """`read some SMS messages whose ...`, `send an SMS message where ...`, `send a note to "ada" saying "Hi"`."""

    verb: Name
    quantity: Quantity
    noun: Name
    filter: FilterNode | None
    inputs: tuple[Input, ...]
    pos: Pos
    preps: tuple[Prep, ...] = ()
    body: tuple[Statement, ...] = ()  # `... as follows`: a conversation block, run once per turn of the call's


@dataclass(frozen=True, slots=True)
class Assign:
    """`the start date is "2022-03-01T15:00:00Z"`."""

    name: Name
    value: Value
    pos: Pos


@dataclass(frozen=True, slots=True)
class Use:
    """`use the above as the start date`."""

    value: Value
    name: Name
    pos: Pos


@dataclass(frozen=True, slots=True)
class Convert:
    """`convert "2022-03-01T15:00:00Z" to a datetime`."""

    value: Value
    type_name: Name
    pos: Pos


@dataclass(frozen=True, slots=True)
class Get:
    """`get the message's sid`; `get the messages whose ...` filters a list (or reads, when no such fact is
    defined: then it is a call of `read`)."""

    value: Value
    pos: Pos
    preps: tuple[Prep, ...] = ()
    filter: FilterNode | None = None


@dataclass(frozen=True, slots=True)
class Count:
    """`count the messages`, `count the messages whose body contains "STOP"`: how many there are."""

    value: Value
    preps: tuple[Prep, ...]
    filter: FilterNode | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class Say:
    """`say "Hello"`: a line of output (the session says where it goes)."""

    value: Value
    pos: Pos


@dataclass(frozen=True, slots=True)
class Stop:
    """`stop`: the run ends here."""

    pos: Pos


@dataclass(frozen=True, slots=True)
class Wait:
    """`wait 5 seconds`: the run goes on after that long."""

    count: int
    unit: str
    pos: Pos


@dataclass(frozen=True, slots=True)
class Change:
    """`add 1 to the counter`, `subtract 2 from the total`: a fact changes by an amount."""

    op: str  # "+" | "-"
    value: Value
    name: Name
    pos: Pos


@dataclass(frozen=True, slots=True)
class Sort:
    """`sort the messages by date sent` (`descending` for the largest or latest first)."""

    value: Value
    key: Name
    descending: bool
    pos: Pos


@dataclass(frozen=True, slots=True)
class If:
    """`if ... then` blocks: each branch's condition and steps, in order (`otherwise if` adds one), and the
    `otherwise` steps (empty when there is none)."""

    branches: tuple[tuple[ConditionNode, tuple[Statement, ...]], ...]
    otherwise: tuple[Statement, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class ForEach:
    """`process each message as follows` with an indented body; `the message` is the current item."""

    item: Name
    collection: Value | None
    body: tuple[Statement, ...]
    pos: Pos
    at_a_time: int | None = None  # `8 at a time`: items run side by side, at most that many at once
    at_a_time_pos: Pos | None = None


@dataclass(frozen=True, slots=True)
class Every:
    """`every 10 seconds`, `every minute`: how often a watch polls; `unit` as written (checked by the compiler)."""

    count: int | float | None
    unit: Name
    pos: Pos


@dataclass(frozen=True, slots=True)
class Limit:
    """`at most 10 at a time`: how many new items a watch hands on per poll (the oldest; the rest come next)."""

    count: int | float
    pos: Pos


@dataclass(frozen=True, slots=True)
class Watch:
    """`watch for new SMS messages whose ... as follows` with an indented body run once per new item.

    `body` is empty when the line has no `as follows` block (the compiler says what is missing).
    """

    noun: Name
    filter: FilterNode | None
    every: Every | None
    limit: Limit | None
    body: tuple[Statement, ...]
    pos: Pos
    preps: tuple[Prep, ...] = ()  # `watch for new texts to "+1..."`: conditions, as the read declares them


@dataclass(frozen=True, slots=True)
class Answer:
    """`answer each inbound call as follows` with an indented block run once per turn of each conversation.

    `body` is empty when the line has no `as follows` block (the compiler says what is missing).
    """

    noun: Name
    body: tuple[Statement, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class HangUp:
    """`hang up`: the conversation ends here."""

    pos: Pos


Statement = (Call | Assign | Use | Convert | Get | ForEach | Watch | Count | Say | Stop | Change | Sort | If | Answer
             | HangUp)


@dataclass(frozen=True, slots=True)
class Program:
    """A parsed automation: its statements and the text they came from."""

    statements: tuple[Statement, ...]
    source: str
