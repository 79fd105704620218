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


Value = Literal | Above | FactRef | Possessive


# -- filters -------------------------------------------------------------------------------------

OPERATORS = ("eq", "ne", "gt", "lt", "ge", "le", "one_of", "contains", "not_contains", "starts_with", "ends_with")


@dataclass(frozen=True, slots=True)
class Comparison:
    """`whose <field> <op> <value>`; for `one_of` the value is a tuple of values."""

    field: Name
    op: str
    value: Value | tuple[Value, ...]


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


# -- statements ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quantity:
    """How many things a call asks for: `some`, `a`/`an` (one), `all`, `the`, `the first 10`, `10`."""

    kind: str  # "some" | "one" | "every" | "the" | "first" | "count"
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
class Call:
    """`read some SMS messages whose ...`, `send an SMS message where ...`."""

    verb: Name
    quantity: Quantity
    noun: Name
    filter: FilterNode | None
    inputs: tuple[Input, ...]
    pos: Pos


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
    """`get the message's sid`."""

    value: Value
    pos: Pos


@dataclass(frozen=True, slots=True)
class ForEach:
    """`process each message as follows` with an indented body; `the message` is the current item."""

    item: Name
    collection: Value | None
    body: tuple[Statement, ...]
    pos: Pos


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


Statement = Call | Assign | Use | Convert | Get | ForEach | Watch


@dataclass(frozen=True, slots=True)
class Program:
    """A parsed automation: its statements and the text they came from."""

    statements: tuple[Statement, ...]
    source: str
