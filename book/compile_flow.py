"""The compiler's conditions and the statements of the wave-2 English: `if ... then` / `otherwise`, `say`,
`stop`, `add ... to`, `subtract ... from`, `sort ... by`, `count`, and `get` of a list with `whose` clauses;
and conversations: `answer each ... as follows`, a call's `as follows` block, `hang up`.

A mixin of `book.compiler.Compiler` (which gives `_value`, `_typed`, `_filter`, `_block`, `_call`, `_problem`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from book import plan as p
from book.compile_values import ListOf, Scope, concept_of, ending_with
from book.dates import Span
from book.expressions import OperationError, result_type
from book.filters import ORDER_OPERATORS, TEXT_OPERATORS, VALUELESS_OPERATORS, orderable
from book.kinds import type_phrase, type_words
from book.naming import did_you_mean, normal
from book.values import allows_only
from grammar import ast

MAX_WAIT = timedelta(weeks=1)
"""The longest `wait`: beyond it, a watch or another run is the way (a process or a workflow would idle for it)."""

# A span of time compared: `is last week` is from its start (included) to its end (excluded).
PERIOD_BOUNDS = {
    "eq": (("ge", "start"), ("lt", "end")),
    "gt": (("ge", "end"),),
    "ge": (("ge", "start"),),
    "lt": (("lt", "start"),),
    "le": (("lt", "end"),),
}


def period_bound(period: ast.Period, edge: str) -> p.Clock:
    return p.Clock(edge, (period.which, period.unit))


class FlowCompiler:
    """Conditions and the statements around them, for `book.compiler.Compiler`."""

    # -- conditions
    def _condition(self, node: ast.ConditionNode, scope: Scope) -> p.ConditionNodeT | None:
        if isinstance(node, ast.And | ast.Or):
            items = [self._condition(item, scope) for item in node.items]
            if any(item is None for item in items):
                return None
            return p.CondT("all" if isinstance(node, ast.And) else "any", tuple(items))  # type: ignore[arg-type]
        if isinstance(node, ast.Not):
            inner = self._condition(node.item, scope)
            return p.CondT("not", (inner,)) if inner is not None else None
        compiled = self._value(node.value, scope)
        if compiled is None:
            return None
        expr, static = compiled
        if isinstance(node, ast.Exists):
            return p.ExistsT(expr, node.negated)
        return self._check(node, expr, static, scope)

    def _check(self, node: ast.Test, expr: p.ValueExpr, static: Any, scope: Scope) -> p.ConditionNodeT | None:
        op = node.op
        if op in VALUELESS_OPERATORS:
            return p.CheckT(expr, op, None, Any)
        if isinstance(node.operand, ast.Period):
            if op == "ne":
                inner = self._check(ast.Test(node.value, "eq", node.operand, node.pos), expr, static, scope)
                return p.CondT("not", (inner,)) if inner is not None else None
            if op not in PERIOD_BOUNDS:
                self._problem(f"'{node.operand.which} {node.operand.unit}' is a span of time: compare with is, is "
                              "after, is before, is on or after or is on or before", node.pos)
                return None
            checks = tuple(p.CheckT(expr, bound_op, period_bound(node.operand, edge), Any)
                           for bound_op, edge in PERIOD_BOUNDS[op])
            return checks[0] if len(checks) == 1 else p.CondT("all", checks)
        plain = static if static is not Any and not isinstance(static, ListOf) and concept_of(static) is None else Any
        if op in ORDER_OPERATORS | {"between"} and plain is not Any and not orderable(plain):
            self._problem(f"this is {type_phrase(plain)}, which has no order", node.pos,
                          "compare it with 'is', 'is not', 'contains' or 'starts with'")
            return None
        annotation = str if op in TEXT_OPERATORS and not isinstance(static, ListOf) else plain
        if isinstance(annotation, type) and issubclass(annotation, date):
            annotation = date | datetime  # a day beside a moment compares by the day (`is after 3 days ago`)
        if isinstance(static, ListOf) and op in ("contains", "not_contains"):
            annotation = static.item if allows_only(static.item, (str, int, float)) else Any
        operands = node.operand if isinstance(node.operand, tuple) else (node.operand,)
        values = [self._typed(v, scope, annotation, "value compared") if annotation is not Any
                  else (self._value(v, scope) or (None,))[0] for v in operands]
        if any(v is None for v in values):
            return None
        return p.CheckT(expr, op, tuple(values) if isinstance(node.operand, tuple) else values[0], annotation)

    # -- statements
    def _if(self, stmt: ast.If, scope: Scope) -> p.IfStep | None:
        branches = []
        ok = True
        for condition, body in stmt.branches:
            compiled = self._condition(condition, scope)
            ok = ok and compiled is not None
            branches.append((compiled, tuple(self._block(body, scope.child()))))
        otherwise = tuple(self._block(stmt.otherwise, scope.child()))
        scope.above, scope.has_above = Any, True
        if not ok:
            return None
        return p.IfStep(stmt.pos.line, self._text(stmt.pos), tuple(branches), otherwise)  # type: ignore[arg-type]

    def _say(self, stmt: ast.Say, scope: Scope) -> p.SayStep | None:
        compiled = self._value(stmt.value, scope)
        if compiled is None:
            return None
        scope.above, scope.has_above = compiled[1], True
        return p.SayStep(stmt.pos.line, self._text(stmt.pos), compiled[0])

    def _stop(self, stmt: ast.Stop, scope: Scope) -> p.StopStep:
        return p.StopStep(stmt.pos.line, self._text(stmt.pos))

    def _wait(self, stmt: ast.Wait, scope: Scope) -> p.WaitStep | None:
        span = Span(stmt.count, stmt.unit)
        if stmt.unit in ("month", "year") or span.delta() > MAX_WAIT:
            self._problem(f"a wait of {span} is longer than the longest wait, a week", stmt.pos,
                          "wait a week or less; for later than that, use a watch (watch for new ...) or run the "
                          "automation again then")
            return None
        if stmt.count < 1:
            self._problem("wait at least 1 second", stmt.pos, "like: wait 5 seconds")
            return None
        return p.WaitStep(stmt.pos.line, self._text(stmt.pos), span.delta().total_seconds())

    # -- conversations
    def _conversation(self, body: tuple[ast.Statement, ...], conversing: Any, scope: Scope) -> tuple[p.AnyStep, ...]:
        """A conversation block, compiled with the conversation's and the turn's facts bound."""
        inner = scope.child()
        inner.conversing = True
        bound = {**conversing.facts, **conversing.turn}
        inner.items = inner.items | set(bound)
        inner.facts.update(bound)
        inner.above, inner.has_above = None, False
        return tuple(self._block(body, inner))

    def _call_conversation(self, call: ast.Call, procedure: Any, scope: Scope) -> tuple[p.AnyStep, ...] | None:
        """The steps of a call's `as follows` block (empty without one); None on a problem."""
        if not call.body:
            return ()
        if procedure.converses is None:
            talking = [q.english for q in self.registry if q.converses is not None]
            self._problem(f"'{procedure.english}' has no conversation to run an 'as follows' block in", call.pos,
                          ("a call with a conversation block: " + ", ".join(repr(t) for t in talking)) if talking
                          else "remove 'as follows' and the block under it")
            return None
        return self._conversation(call.body, procedure.converses, scope)

    def _answer(self, stmt: ast.Answer, scope: Scope) -> p.AnswerStep | None:
        """`answer each inbound call as follows`: a trigger's conversations, its block once per turn."""
        kinds = sorted(k.noun for k in self.registry.conversations)
        conversing = self.registry.conversing(stmt.noun.text)
        ok = True
        if not self.allow_watches:
            self._problem("an answer line runs for as long as its trigger runs, so it can't be in an automation run "
                          "for each event", stmt.pos, "give it to the trigger that runs it, in an automation of its own"
                          + (f" ('{conversing.runs_in}')" if conversing else ""))
            ok = False
        elif scope.items or scope.conversing:
            self._problem("an answer line runs for as long as its trigger runs, so it can't be inside another block",
                          stmt.pos, "move 'answer each ...' to a line of its own that is not indented")
            ok = False
        if conversing is None:
            self._problem(f"the book has no conversations of {stmt.noun.text!r} to answer", stmt.noun.pos,
                          did_you_mean(normal(stmt.noun.text), kinds) or
                          ("it answers each: " + ", ".join(kinds) if kinds else "this book holds no conversations"))
            return None
        if not stmt.body:
            turn = next(iter(conversing.turn), "turn")
            self._problem(f"say what to do in each turn of the {conversing.noun}", stmt.pos,
                          f"end the line with 'as follows' and indent the steps for each turn under it, like: "
                          f"say \"Hello\" (the {turn} is bound each turn)")
            return None
        body = self._conversation(stmt.body, conversing, scope)
        scope.above, scope.has_above = Any, True
        if not ok:
            return None
        return p.AnswerStep(stmt.pos.line, self._text(stmt.pos), conversing, body)

    def _hang_up(self, stmt: ast.HangUp, scope: Scope) -> p.HangUpStep | None:
        if not scope.conversing:
            self._problem("'hang up' ends a conversation, and this line is not in one", stmt.pos,
                          "put it in a conversation block ('answer each inbound call as follows', or a call's 'as "
                          "follows' block); to end the run, write 'stop'")
            return None
        return p.HangUpStep(stmt.pos.line, self._text(stmt.pos))

    def _change(self, stmt: ast.Change, scope: Scope) -> p.ChangeStep | None:
        """`add 1 to the counter`, `subtract 3 days from the deadline`: the fact must be there, of a kind the
        amount can be added to."""
        key = stmt.name.key
        compiled = self._value(stmt.value, scope)
        if key not in scope.facts:
            self._unknown_fact(stmt.name, scope)
            return None
        if compiled is None:
            return None
        try:
            static = result_type(stmt.op, scope.facts[key], compiled[1])
        except OperationError as err:
            verb = "add" if stmt.op == "+" else "subtract"
            self._problem(f"I can't {verb} this to the {stmt.name.text}: {err}", stmt.pos,
                          f"the {stmt.name.text} is {type_phrase(scope.facts[key])}; {verb} a number, or a span of "
                          "time to a date (3 days)")
            return None
        if static is not Any:
            scope.define([key], static)
        scope.above, scope.has_above = scope.facts[key], True
        return p.ChangeStep(stmt.pos.line, self._text(stmt.pos), key, stmt.op, compiled[0])

    def _sort(self, stmt: ast.Sort, scope: Scope) -> p.SortStep | None:
        assert isinstance(stmt.value, ast.FactRef)
        name = stmt.value.name
        key = name.key if name.key in scope.facts else self._shortened(name, scope)
        if key is None:
            return None
        static = scope.facts[key]
        concept = concept_of(static.item) if isinstance(static, ListOf) else None
        scope.above, scope.has_above = static, True
        if static is not Any and concept is None:
            what = "a list of " + type_words(static.item) if isinstance(static, ListOf) else type_phrase(static)
            self._problem(f"the {name.text} is {what}, which has no fields to sort by", name.pos,
                          "sort a list that a read gave, like: sort the messages by date sent")
            return None
        if concept is None:
            return p.SortStep(stmt.pos.line, self._text(stmt.pos), key, stmt.key.key.replace(" ", "_"),
                              stmt.descending)
        attr = concept.resolve_field(stmt.key.text)
        if attr is None:
            fields = list(concept.english_fields())
            self._problem(f"a {concept.concept_name} has no field {stmt.key.text!r} to sort by", stmt.key.pos,
                          did_you_mean(stmt.key.key, fields) or "its fields are: " + ", ".join(fields))
            return None
        return p.SortStep(stmt.pos.line, self._text(stmt.pos), key, attr, stmt.descending)

    def _listed(self, stmt: ast.Get | ast.Count, scope: Scope) -> tuple[p.ValueExpr, Any, p.FilterT | None] | list | None:
        """What `get` or `count` works on: a value (with the items of a list that match its `whose` clauses);
        or, when it names no fact but a list the book reads, a call reading it (a list of steps)."""
        reading = self._reading(stmt, scope)
        if reading is not None:
            return reading
        compiled = self._value(stmt.value, scope)
        if compiled is None:
            return None
        expr, static = compiled
        if stmt.preps:
            self._problem(f"'{stmt.preps[0].word}' goes with a call, not with a fact", stmt.preps[0].pos,
                          "filter a list with whose clauses, like: get the messages whose body contains \"STOP\"")
            return None
        filter_t = None
        if stmt.filter is not None:
            item = static.item if isinstance(static, ListOf) else None
            concept = concept_of(item)
            if concept is None:
                self._problem("only a list of things with fields can be filtered with 'whose'", stmt.pos,
                              "use whose after a list that a read gave, like: get the messages whose body contains \"x\"")
                return None
            filter_t = self._filter(stmt.filter, concept, scope)
            if filter_t is None:
                return None
        return expr, static, filter_t

    def _reading(self, stmt: ast.Get | ast.Count, scope: Scope) -> list | None:
        """`get the messages` / `count the messages` with no such fact defined: read them (`get` and `count`
        are `read` here); None when a fact is meant."""
        value = stmt.value
        if isinstance(value, ast.FactRef):
            name, quantity = value.name, ast.Quantity("the")
        elif isinstance(value, ast.Pick) and value.of is None:
            name = value.noun
            quantity = ast.Quantity("one") if value.count is None and value.which == "first" else \
                ast.Quantity(value.which, value.count or 1)
        else:
            return None
        if name.key in scope.facts or ast_names_a_list(name, scope) or (name.key == "result" and scope.has_above):
            return None
        if isinstance(value, ast.Pick) and f"{value.which} {name.key}" in scope.facts:
            return None
        verbs = ("get", "read") if isinstance(stmt, ast.Get) else ("read",)
        verb = next((v for v in verbs if self.registry.lookup(v, name.text)
                     or self._cut_before_preposition(v, name.text, stmt.preps)), None)
        if verb is None:
            return None
        call = ast.Call(ast.Name(verb, stmt.pos), quantity, name, stmt.filter, (), stmt.pos, stmt.preps)
        step = self._call(call, scope)
        if step is None:
            return []
        return [step]

    def _get(self, stmt: ast.Get, scope: Scope) -> p.GetStep | list | None:
        listed = self._listed(stmt, scope)
        if listed is None or isinstance(listed, list):
            return listed
        expr, static, filter_t = listed
        scope.above, scope.has_above = static, True
        return p.GetStep(stmt.pos.line, self._text(stmt.pos), expr, filter_t)

    def _count(self, stmt: ast.Count, scope: Scope) -> p.CountStep | list | None:
        listed = self._listed(stmt, scope)
        if listed is None:
            return None
        if isinstance(listed, list):
            if not listed:
                return []
            scope.above, scope.has_above = int, True
            return [*listed, p.CountStep(stmt.pos.line, self._text(stmt.pos), p.AboveRef())]
        expr, static, filter_t = listed
        if static is not Any and not isinstance(static, ListOf):
            self._problem(f"there is only one {type_words(static)} here, nothing to count", stmt.pos,
                          "count a list, like: count the messages")
            return None
        scope.above, scope.has_above = int, True
        return p.CountStep(stmt.pos.line, self._text(stmt.pos), expr, filter_t)


def ast_names_a_list(name: ast.Name, scope: Scope) -> bool:
    """Whether a noun names a list fact in scope (`message` for `the messages`)."""
    key = normal(name.text)
    return any(isinstance(t, ListOf) and (k == key or k.rstrip("s") == key.rstrip("s")) for k, t in scope.facts.items()) \
        or any(isinstance(scope.facts[k], ListOf) for k in ending_with(key, scope))
