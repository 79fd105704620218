"""The compiler's values: literals, facts, possessives, arithmetic, templates, lists, counts, picks and the
session's clock, each made a `book.plan` value expression with its static type (Any when only the run can tell).

A mixin of `book.compiler.Compiler`: it reports problems with `self._problem`, and knows facts from a `Scope`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from book import plan as p
from book.dates import Span
from book.expressions import OperationError, result_type
from book.kinds import is_concept, type_phrase, type_words
from book.naming import did_you_mean, normal, noun_key, singular
from book.values import Invalid, allows_only, coerce, is_secret, shown
from grammar import ast

if TYPE_CHECKING:
    from book.concept import Concept

_PLAIN = (str, int, float, bool, date, datetime)  # types without fields
_DEFINED = itertools.count()  # the order facts are defined in, across scopes
RESULT = "result"  # `the result` is `the above`, unless a fact of that name is defined


@dataclass(frozen=True)
class ListOf:
    """The static type of a list of things (the result of a plural read)."""

    item: Any


@dataclass
class Scope:
    """What the compiler knows at a point: facts and their types, and the type of `the above`."""

    facts: dict[str, Any] = field(default_factory=dict)
    above: Any = None
    has_above: bool = False
    items: frozenset[str] = frozenset()  # the current items of the `process each` blocks around
    conversing: bool = False  # inside a conversation block (`hang up` ends it)
    bound: dict[str, int] = field(default_factory=dict)  # when each fact was defined; one call's names alike

    def define(self, names: Iterable[str], static: Any) -> None:
        """Give `names` (one call's names for its result, or one fact) the type `static`, defined now."""
        now = next(_DEFINED)
        for name in names:
            self.facts[name] = static
            self.bound[name] = now

    def child(self) -> Scope:
        return Scope(dict(self.facts), self.above, self.has_above, self.items, self.conversing, dict(self.bound))


def ending_with(key: str, scope: Scope) -> list[str]:
    """The longer names of facts that end with the words of `key`, singular or plural (`messages`:
    `sms messages`, `inbound sms message`), the latest defined last."""
    wanted = noun_key(key).split()
    found = [k for k in scope.facts if len(k.split()) > len(wanted) and noun_key(k).split()[-len(wanted):] == wanted]
    return sorted(found, key=lambda k: scope.bound.get(k, -1))


def concept_of(t: Any) -> type[Concept] | None:
    return t if is_concept(t) else None


class ValueCompiler:
    """Values, for `book.compiler.Compiler`."""


    def _problem(self, message: str, pos: ast.Pos, hint: str | None = None, *, masked: bool = False) -> None:
        raise NotImplementedError

    def _value(self, value: ast.Value, scope: Scope) -> tuple[p.ValueExpr, Any] | None:
        """A value expression and its static type (Any when only the run can tell); None on a problem."""
        if isinstance(value, ast.Literal):
            return p.Const(value.value), type(value.value)
        if isinstance(value, ast.Above):
            return self._above(value.pos, scope)
        if isinstance(value, ast.FactRef):
            key = value.name.key
            if key not in scope.facts:
                if key in (RESULT, "above") and scope.has_above:
                    return p.AboveRef(), scope.above
                key = self._shortened(value.name, scope)
                if key is None:
                    return None
            return p.Fact(key), scope.facts[key]
        if isinstance(value, ast.Possessive):
            return self._possessive(value, scope)
        if isinstance(value, ast.AboveField):
            above = self._above(value.pos, scope)
            return self._field_of(above, value.field, "the above", scope) if above else None
        if isinstance(value, ast.BinOp):
            return self._binop(value, scope)
        if isinstance(value, ast.Template):
            return self._template(value, scope)
        if isinstance(value, ast.ListValue):
            items = [self._value(item, scope) for item in value.items]
            if any(item is None for item in items):
                return None
            kinds = {t for _, t in items}  # type: ignore[misc]
            return p.ListExpr(tuple(e for e, _ in items)), ListOf(kinds.pop() if len(kinds) == 1 else Any)  # type: ignore[misc]
        if isinstance(value, ast.CountOf):
            of = self._value(value.of, scope)
            if of is None:
                return None
            if of[1] is not Any and not isinstance(of[1], ListOf):
                self._problem(f"there is only one {type_words(of[1])} here, nothing to count", value.pos,
                              "count a list, like: the number of messages")
                return None
            return p.CountOf(of[0]), int
        if isinstance(value, ast.Pick):
            return self._pick(value, scope)
        if isinstance(value, ast.Moment):
            return p.Clock("moment", value.kind), datetime if value.kind == "now" else date
        if isinstance(value, ast.Duration):
            if value.ago:
                return p.Clock("ago", Span(value.count, value.unit)), datetime
            return p.Const(Span(value.count, value.unit)), Span
        assert isinstance(value, ast.Period)
        self._problem(f"'{value.which} {value.unit}' is a span of time, not one moment", value.pos,
                      f"compare with it, like: whose date sent is {value.which} {value.unit}; or use a day, like today")
        return None

    def _above(self, pos: ast.Pos, scope: Scope) -> tuple[p.ValueExpr, Any] | None:
        if not scope.has_above:
            self._problem("'the above' has nothing above it", pos, "use it on a line after one that gives a result")
            return None
        return p.AboveRef(), scope.above

    def _possessive(self, value: ast.Possessive, scope: Scope) -> tuple[p.ValueExpr, Any] | None:
        owner_key = value.owner.key
        if owner_key not in scope.facts:
            if owner_key == RESULT and scope.has_above:
                return self._field_of((p.AboveRef(), scope.above), value.field, "the result", scope)
            owner_key = self._shortened(value.owner, scope)
            if owner_key is None:
                return None
        return self._field_of((p.Fact(owner_key), scope.facts[owner_key]), value.field, f"the {value.owner.text}", scope)

    def _field_of(self, owner: tuple[p.ValueExpr, Any], field_name: ast.Name, said: str,
                  scope: Scope) -> tuple[p.ValueExpr, Any] | None:
        expr, owner_type = owner
        concept = concept_of(owner_type)

        def made(attr: str) -> p.ValueExpr:
            if isinstance(expr, p.Fact):
                return p.FieldOf(expr.name, attr, field_name.text)
            return p.FieldOfValue(expr, attr, field_name.text)

        if concept is None:
            if isinstance(owner_type, ListOf):
                self._problem(f"'{said}' is a list: its items have fields, the list has none", field_name.pos,
                              f"read each one with: process each {singular(said.split()[-1])} in {said} as follows")
                return None
            if allows_only(owner_type, _PLAIN):
                self._problem(f"'{said}' is {type_phrase(owner_type)}, which has no fields", field_name.pos,
                              "a possessive reads a field of a concept, like the note's title")
                return None
            return made(field_name.key), Any
        attr = concept.resolve_field(field_name.text)
        if attr is None:
            fields = list(concept.english_fields())
            self._problem(f"a {concept.concept_name} has no field {field_name.text!r}", field_name.pos,
                          did_you_mean(field_name.key, fields) or "its fields are: " + ", ".join(fields))
            return None
        return made(attr), concept.field_type(attr)

    def _binop(self, value: ast.BinOp, scope: Scope) -> tuple[p.ValueExpr, Any] | None:
        left, right = self._value(value.left, scope), self._value(value.right, scope)
        if left is None or right is None:
            return None
        try:
            static = result_type(value.op, left[1], right[1])
        except OperationError as err:
            self._problem(str(err), value.pos, "+ and - work on numbers and on a date with a span of time (the start "
                          "date + 3 days); + joins text; * and / work on numbers")
            return None
        return p.BinOp(value.op, left[0], right[0]), static

    def _template(self, value: ast.Template, scope: Scope) -> tuple[p.ValueExpr, Any] | None:
        parts = [part if isinstance(part, str) else self._value(part, scope) for part in value.parts]
        if any(part is None for part in parts):
            return None
        return p.Template(tuple(part if isinstance(part, str) else part[0] for part in parts)), str  # type: ignore[index]

    def _pick(self, value: ast.Pick, scope: Scope) -> tuple[p.ValueExpr, Any] | None:
        """`the first message of the above`, `the last 2 messages`; `the first day` is a fact of that name
        when one is defined and no list of days is."""
        if value.of is not None:
            of = self._value(value.of, scope)
        else:
            of = self._list_named(value.noun, scope)
            if of is None:
                whole = f"{value.which} {value.noun.key}"
                if whole in scope.facts:
                    return p.Fact(whole), scope.facts[whole]
                self._unknown_fact(ast.Name(f"{value.which} {value.noun.text}", value.pos), scope)
                return None
        if of is None:
            return None
        expr, static = of
        if static is not Any and not isinstance(static, ListOf):
            self._problem(f"there is only one {type_words(static)} here, not a list to take the {value.which} of",
                          value.pos, f"take the {value.which} of a list, like: the {value.which} message of the messages")
            return None
        item = static.item if isinstance(static, ListOf) else Any
        return p.Pick(value.which, value.count, expr), (item if value.count is None else ListOf(item))

    @staticmethod
    def _list_named(noun: ast.Name, scope: Scope) -> tuple[p.ValueExpr, Any] | None:
        """The list fact a noun names: `messages`, or for `message` the one list of messages."""
        key = noun.key
        if isinstance(scope.facts.get(key), ListOf) or scope.facts.get(key) is Any:
            return p.Fact(key), scope.facts[key]
        found = [k for k, t in scope.facts.items() if isinstance(t, ListOf) and noun_key(k) == noun_key(key)]
        if not found:  # `the first message` of the latest list of `sms messages`
            found = [k for k in ending_with(key, scope) if isinstance(scope.facts[k], ListOf)][-1:]
        return (p.Fact(found[0]), scope.facts[found[0]]) if len(found) == 1 else None

    def _shortened(self, name: ast.Name, scope: Scope) -> str | None:
        """The fact a shorter name means: `the messages` for the `sms messages` a call bound (of the facts whose
        names end with those words, singular or plural, a list for a plural, the latest); else the problem, and None."""
        found = ending_with(name.key, scope)
        last = normal(name.key).split()[-1]
        if singular(last) != last:  # `the messages`: a list
            found = [k for k in found if isinstance(scope.facts[k], ListOf) or scope.facts[k] is Any]
        if found:
            return found[-1]
        self._unknown_fact(name, scope)
        return None

    def _unknown_fact(self, name: ast.Name, scope: Scope) -> None:
        known = sorted(scope.facts)
        hint = did_you_mean(name.key, known)
        if not hint:
            hint = f"define it first, like: the {name.key} is \"...\"" + (
                f" (known facts: {', '.join(known)})" if known else ""
            )
        self._problem(f"'the {name.text}' is not defined before this line", name.pos, hint)

    def _typed(self, value: ast.Value, scope: Scope, annotation: Any, what: str) -> p.ValueExpr | None:
        """A value for a place of type `annotation`: literals are checked now, facts when they run."""
        compiled = self._value(value, scope)
        if compiled is None:
            return None
        expr, _static = compiled
        if isinstance(expr, p.Const):
            try:
                return p.Const(coerce(expr.value, annotation))
            except Invalid as err:
                self._problem(f"{shown(expr.value, annotation)} is not a valid {what}: {err}", value.pos,
                              f"the {what} is {type_phrase(annotation)}" + (" (sensitive)" if is_secret(annotation) else ""),
                              masked=is_secret(annotation))
                return None
        return expr
