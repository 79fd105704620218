"""Filter expressions with concrete values, as procedures receive them.

The compiler turns `whose ...` clauses into a tree of `Condition`s joined by `AllOf`, `AnyOf` and `Not`.
A FILTER-CAPABLE procedure declares what its remote API can take (`pushable=`: field -> operators); the
compiler splits each call's filter into the conditions pushed down and the rest (`split`), the procedure
receives the pushed ones (`Pushdown`) and sends them, and the runtime then applies the whole expression
locally to the typed concepts, so every field can be filtered whatever the API supports, and a pushed
condition is never trusted blindly.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from book.expressions import compare

__all__ = ["Condition", "AllOf", "AnyOf", "Not", "FilterExpression", "Pushdown", "TEXT_OPERATORS",
           "ORDER_OPERATORS", "VALUELESS_OPERATORS", "NO_PUSHDOWN", "orderable", "split"]

TEXT_OPERATORS = frozenset({"contains", "not_contains", "starts_with", "ends_with"})  # compare as text
VALUELESS_OPERATORS = frozenset({"empty", "not_empty"})  # `is empty`: nothing to compare with
ORDER_OPERATORS = frozenset({"gt", "lt", "ge", "le"})  # need a type with an order


def orderable(annotation: Any) -> bool:
    """Whether values of `annotation` (besides None) have an order: numbers, dates and datetimes."""
    import typing

    args = [a for a in (typing.get_args(annotation) or (annotation,)) if a is not type(None)]
    return bool(args) and all(isinstance(a, type) and issubclass(a, (int, float, date)) for a in args)


@dataclass(frozen=True, slots=True)
class Condition:
    """`<field> <op> <value>`; `value` is already of the field's type (a tuple for `one_of`)."""

    field: str
    op: str
    value: Any

    def test(self, item: Any) -> bool:
        return compare(getattr(item, self.field, None), self.op, self.value)


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Node, ...]

    def test(self, item: Any) -> bool:
        return all(n.test(item) for n in self.items)


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Node, ...]

    def test(self, item: Any) -> bool:
        return any(n.test(item) for n in self.items)


@dataclass(frozen=True, slots=True)
class Not:
    item: Node

    def test(self, item: Any) -> bool:
        return not self.item.test(item)


Node = Condition | AllOf | AnyOf | Not


@dataclass(frozen=True, slots=True)
class Pushdown:
    """The conditions a procedure may send to its API, and whether they are the whole filter."""

    conditions: tuple[Condition, ...]
    complete: bool

    def get(self, field: str, op: str = "eq") -> Any:
        """The value of the pushed condition on `field` with `op`, or None."""
        return next((c.value for c in self.conditions if c.field == field and c.op == op), None)

    def all(self, field: str, op: str) -> list[Any]:
        return [c.value for c in self.conditions if c.field == field and c.op == op]


NO_PUSHDOWN = Pushdown((), True)
"""What a call without a filter pushes: nothing, and that is the whole filter."""


def split(conjuncts: Sequence[Any], capabilities: Mapping[str, Collection[str]]) -> tuple[tuple[int, ...], bool]:
    """Which of a filter's top-level `and` conditions the API can take, by index, and whether they are all.

    A condition (anything with `field` and `op`: a `Condition`, or the compiler's template of one) is pushed
    when `capabilities` lists its operator for its field. Only conjuncts can be pushed: an `or` or a `not`
    is applied locally, as is everything else.
    """
    taken = tuple(i for i, node in enumerate(conjuncts)
                  if getattr(node, "op", None) in capabilities.get(getattr(node, "field", None), ()))
    return taken, len(taken) == len(conjuncts)


@dataclass(frozen=True, slots=True)
class FilterExpression:
    """The filter of one call, ready to push down and to apply locally."""

    root: Node

    def matches(self, item: Any) -> bool:
        return self.root.test(item)

    def conjuncts(self) -> tuple[Node, ...]:
        return self.root.items if isinstance(self.root, AllOf) else (self.root,)

    def pushdown(self, capabilities: Mapping[str, Collection[str]]) -> Pushdown:
        """The top-level `and` conditions whose field and operator the API supports (see `split`)."""
        conjuncts = self.conjuncts()
        taken, complete = split(conjuncts, capabilities)
        return Pushdown(tuple(conjuncts[i] for i in taken), complete)  # type: ignore[misc]

    def fields(self) -> set[str]:
        out: set[str] = set()

        def walk(node: Node) -> None:
            if isinstance(node, Condition):
                out.add(node.field)
            elif isinstance(node, Not):
                walk(node.item)
            else:
                for n in node.items:
                    walk(n)

        walk(self.root)
        return out
