"""Compile a parsed automation into a plan: look calls up, bind inputs by name, check types and fields.

Problems are collected, not raised one by one, so the `check` command reports every mistake at once.
Facts are typed as the compiler goes (`the notes` is a list of notes), so a
possessive like `the message's bdy` or a filter on a field the concept lacks fails here, naming the
fields there are.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from book import plan as p
from book.compile_flow import PERIOD_BOUNDS, FlowCompiler, period_bound
from book.compile_values import ListOf, Scope, ValueCompiler
from book.compile_values import concept_of as _concept
from book.errors import CompileError, Problem
from book.filters import ORDER_OPERATORS, TEXT_OPERATORS, VALUELESS_OPERATORS, orderable, split
from book.kinds import type_phrase, type_words
from book.naming import did_you_mean, english, normal, noun_key, param_name, singular
from book.registry import Procedure, Registry
from book.side_by_side import MAX_AT_A_TIME
from book.values import CONVERSIONS
from book.watching.watchable import watchable_for
from grammar import ast

if TYPE_CHECKING:
    from book.concept import Concept

# `watch for new ... every 10 seconds`: the units of time, in seconds; polls are a second apart at least.
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
DEFAULT_EVERY = 30.0
SENDS_AT_A_TIME = 4
"""Items side by side of a loop whose steps send or change something, when the line says no number."""
MIN_EVERY, MAX_EVERY = 1.0, 7 * 86400.0

_VALUE_END = re.compile(r'"(?:[^"\\\n]|\\.)*"|\u201c[^\u201d\n]*\u201d|\S+')


class Compiler(ValueCompiler, FlowCompiler):
    def __init__(self, registry: Registry, source: str, filename: str | None = None, *, watches: bool = True) -> None:
        self.registry = registry
        self.allow_watches = watches  # False for an automation a trigger runs per item: it must end
        self.lines = [line.removesuffix("\r") for line in source.split("\n")]  # the parser's line numbers
        self.filename = filename
        self.problems: list[Problem] = []

    # -- entry point
    def compile(self, program: ast.Program, facts: Mapping[str, Any] | None = None) -> p.Plan:
        """The plan of `program`; `facts` (name -> type or concept class) are known before its first line."""
        steps = self._block(program.statements, Scope({normal(k): v for k, v in (facts or {}).items()}))
        self._nothing_after_a_watch(program.statements)
        if self.problems:
            raise CompileError(self.problems, self.filename)
        return p.Plan(tuple(steps), program.source, self.filename)

    def _problem(self, message: str, pos: ast.Pos, hint: str | None = None, *, masked: bool = False) -> None:
        source = self.lines[pos.line - 1] if 0 < pos.line <= len(self.lines) else None
        if masked and source is not None:  # a sensitive value is not shown back, even in its own line
            start = pos.column - 1
            end = _VALUE_END.match(source, start)
            source = source[:start] + "*" * 10 + source[end.end() if end else len(source):]
        self.problems.append(Problem(message, pos.line, pos.column, source, hint))

    def _text(self, pos: ast.Pos) -> str:
        return self.lines[pos.line - 1].strip() if 0 < pos.line <= len(self.lines) else ""

    def _block(self, statements: tuple[ast.Statement, ...], scope: Scope) -> list[p.AnyStep]:
        steps = []
        handlers = {
            ast.Call: self._call,
            ast.Assign: self._set,
            ast.Use: self._set,
            ast.Convert: self._convert,
            ast.Get: self._get,
            ast.Count: self._count,
            ast.ForEach: self._foreach,
            ast.Watch: self._watch,
            ast.If: self._if,
            ast.Say: self._say,
            ast.Stop: self._stop,
            ast.Wait: self._wait,
            ast.Change: self._change,
            ast.Sort: self._sort,
            ast.Answer: self._answer,
            ast.HangUp: self._hang_up,
        }
        for statement in statements:
            step = handlers[type(statement)](statement, scope)
            if isinstance(step, list):  # a statement made of several steps (`count the messages`: read, count)
                steps.extend(step)
            elif step is not None:
                steps.append(step)
        return steps

    # -- statements
    def _set(self, stmt: ast.Assign | ast.Use, scope: Scope) -> p.SetStep | None:
        """`the start date is ...` and `use the above as the start date`: a fact gets a value."""
        compiled = self._value(stmt.value, scope)
        if compiled is None:
            return None
        expr, static = compiled
        scope.define([stmt.name.key], static)
        scope.above, scope.has_above = static, True
        return p.SetStep(stmt.pos.line, self._text(stmt.pos), stmt.name.key, expr)

    def _convert(self, stmt: ast.Convert, scope: Scope) -> p.ConvertStep | None:
        target = CONVERSIONS.get(stmt.type_name.key)
        if target is None:
            self._problem(f"I can't convert to {stmt.type_name.text!r}", stmt.type_name.pos,
                          did_you_mean(stmt.type_name.key, list(CONVERSIONS)) or "known types: " + ", ".join(CONVERSIONS))
            return None
        expr = self._typed(stmt.value, scope, target, f"{stmt.type_name.key}")
        if expr is None:
            return None
        scope.above, scope.has_above = target, True
        return p.ConvertStep(stmt.pos.line, self._text(stmt.pos), expr, stmt.type_name.key, target)

    def _foreach(self, stmt: ast.ForEach, scope: Scope) -> p.ForEachStep | None:
        if stmt.collection is None:
            if not scope.has_above:
                self._problem(f"there is nothing above to process each {stmt.item.text} of", stmt.pos,
                              "put this after a line that reads a list, or say: process each message in the sms messages as follows")
                return None
            collection: p.ValueExpr | None = p.AboveRef()
            static = scope.above
        else:
            compiled = self._value(stmt.collection, scope)
            collection, static = compiled if compiled else (None, Any)
        item_type = static.item if isinstance(static, ListOf) else Any
        if static is not Any and not isinstance(static, ListOf) and static is not None:
            self._problem(f"there is only one {type_words(static)} here, not a list to process each of", stmt.pos,
                          "process each ... as follows goes after a line that reads some things")
        binds = tuple(dict.fromkeys((stmt.item.key, singular(stmt.item.key))))
        inner = scope.child()
        inner.items = inner.items | set(binds)
        inner.define(binds, item_type)
        inner.above, inner.has_above = item_type, True  # the body starts with the current item above
        body = self._block(stmt.body, inner)
        scope.above, scope.has_above = Any, True
        at_a_time = self._at_a_time(stmt, body, scope)
        if collection is None or at_a_time is None:
            return None
        return p.ForEachStep(stmt.pos.line, self._text(stmt.pos), stmt.item.key, collection, tuple(body), binds,
                             at_a_time)

    def _at_a_time(self, stmt: ast.ForEach, body: list[p.AnyStep], scope: Scope) -> int | None:
        """How many items of a loop run side by side: as the line says (1 to MAX_AT_A_TIME), else
        SENDS_AT_A_TIME for a loop whose steps send or change something (not inside another loop, whose
        items already run side by side), else one at a time. None when the line asks for what can't be."""
        asked = stmt.at_a_time
        talks = _first(body, lambda s: isinstance(s, (p.AnswerStep, p.HangUpStep)) or
                       isinstance(s, p.CallStep) and bool(s.body))
        if asked is None:
            sends = _first(body, lambda s: isinstance(s, p.CallStep) and s.procedure.mutating)
            return SENDS_AT_A_TIME if sends is not None and talks is None and not scope.items else 1
        where = stmt.at_a_time_pos or stmt.pos
        if not 1 <= asked <= MAX_AT_A_TIME:
            self._problem(f"{asked} at a time is not a number of items that can run side by side", where,
                          f"say how many with a whole number from 1 to {MAX_AT_A_TIME}, like: 8 at a time")
            return None
        if asked > 1 and talks is not None:
            self._problem("a loop with a call that talks runs one item at a time", where,
                          f"remove '{asked} at a time' (line {talks.line} holds a conversation)")
            return None
        return asked

    def _watch(self, stmt: ast.Watch, scope: Scope) -> p.WatchStep | None:
        """`watch for new SMS messages whose ... as follows`: the list's read procedure, how to tell new
        items (`book.watching.watch`), the filter, how often to poll, and the body with the item bound."""
        ok = True
        if not self.allow_watches:
            self._problem("a watch runs until it is stopped, so it can't be in an automation run for each event",
                          stmt.pos, f"run the watch on its own with '{self.registry.program} run FILE'; an automation given "
                          "to 'watch --run' or 'listen --run' handles one item and ends")
            ok = False
        elif scope.items:
            self._problem("a watch runs until it is stopped, so it can't be inside another block", stmt.pos,
                          "move 'watch for new ...' out of the block, to a line of its own that is not indented")
            ok = False
        noun = stmt.noun.text
        readers = self.registry.readers(noun)
        procedure = readers[0] if readers else None
        watchable = watchable_for(procedure, self.registry) if procedure is not None else None
        concept = _concept(procedure.output.type) if procedure is not None else None
        if procedure is None:
            self._problem(f"I don't know how to read {noun!r}, so I can't watch for new ones", stmt.noun.pos,
                          self._watchable_nouns(noun))
            ok = False
        elif watchable is None:
            what = concept.concept_name if concept is not None else type_words(procedure.output.type)
            self._problem(f"new {noun} can't be told from old ones: a {what} has no date created and SID",
                          stmt.noun.pos, self._watchable_nouns(noun))
            ok = False
        filter_t = None
        if stmt.preps and procedure is not None:  # `watch for new texts to "+1..."`: conditions on the read's fields
            as_call = ast.Call(ast.Name(procedure.signature.verb, stmt.pos), ast.Quantity("some"), stmt.noun,
                               stmt.filter, (), stmt.pos, stmt.preps)
            made = self._with_prepositions(as_call, procedure)
            if made.inputs:
                self._problem(f"a watch takes no inputs: '{made.inputs[0].name.text}' is one", made.inputs[0].name.pos,
                              "watch with whose clauses on what is read")
                ok = False
            stmt = dataclasses.replace(stmt, filter=made.filter, preps=())
        if stmt.filter is not None and procedure is not None:
            if not procedure.filter_capable or concept is None:
                self._problem(f"'{procedure.english}' takes no 'whose' filter, so this watch can't either",
                              stmt.pos, "remove the 'whose ...' clauses")
                ok = False
            else:
                filter_t = self._filter(stmt.filter, concept, scope)
                ok = ok and filter_t is not None
        every = self._every(stmt.every)
        ok = ok and every is not None
        limit = stmt.limit.count if stmt.limit is not None else None
        if stmt.limit is not None and (not isinstance(limit, int) or limit < 1):
            self._problem(f"{limit} is not a count of new items", stmt.limit.pos,
                          "say how many at most with a whole number of 1 or more, like: at most 10 at a time")
            ok = False
        fact = watchable.fact if watchable is not None else singular(normal(noun).split()[-1])
        if not stmt.body:
            self._problem(f"say what to do with each new {fact}", stmt.pos,
                          f"end the line with 'as follows' and indent the steps for the {fact} under it, "
                          f"like: get the {fact}'s sid")
            ok = False
        scope.above, scope.has_above = _watch_report(self.registry), True  # what the watch did
        if procedure is None:  # the body's facts are unknown too: saying so line by line would only blame them
            return None
        # the new item is also known by the noun the line used (`watch for new texts`: the text)
        binds = tuple(dict.fromkeys((noun_key(procedure.signature.noun), fact, noun_key(stmt.noun.text))))
        inner = scope.child()
        inner.items = inner.items | set(binds)
        inner.define(binds, procedure.output.type)
        inner.above, inner.has_above = procedure.output.type, True
        body = self._block(stmt.body, inner)
        if not ok or every is None:
            return None
        automation = self._watch_name(procedure, filter_t)
        return p.WatchStep(stmt.pos.line, self._text(stmt.pos), procedure, watchable, filter_t, every, limit,
                           tuple(body), binds, automation)

    def _every(self, every: ast.Every | None) -> float | None:
        if every is None:
            return DEFAULT_EVERY
        count = every.count if every.count is not None else 1
        if count <= 0:
            self._problem(f"every {count} {every.unit.text} is not a time between two checks", every.pos,
                          "give a count of 1 or more, like: every 30 seconds")
            return None
        total = count * _UNITS[singular(every.unit.key)]  # the grammar takes only these units
        if not MIN_EVERY <= total <= MAX_EVERY:
            self._problem(f"every {count:g} {every.unit.text} is too {'often' if total < MIN_EVERY else 'seldom'}",
                          every.pos, "a watch checks at most once a second and at least once a week")
            return None
        return float(total)

    def _nothing_after_a_watch(self, statements: tuple[ast.Statement, ...]) -> None:
        """A watch runs until it is stopped, so it ends its automation: a line after it would never run
        (and a second watch would never start)."""
        for index, statement in enumerate(statements[:-1]):
            if isinstance(statement, ast.Watch | ast.Answer):
                after = statements[index + 1]
                what, each = ("watch", "new item") if isinstance(statement, ast.Watch) else ("answer line", "turn")
                self._problem(f"nothing after the {what} on line {statement.pos.line} would run: it runs until it "
                              "is stopped", after.pos, f"indent this line into the {what}'s block to run it for each "
                              f"{each}; put anything else in an automation of its own")
                return

    def _watch_name(self, procedure: Procedure, filter_t: p.FilterT | None) -> str:
        """What names this watch's cursor: the automation's file (or, without one, its whole text), the list,
        and the filter. The same watch in the same file keeps its cursor across runs and edits to its block."""
        if self.filename and not self.filename.startswith("<"):
            where = os.path.realpath(self.filename)
        else:  # stdin, an agent's tool call, the Python API: two different automations never share a cursor
            text = "\n".join(self.lines).encode()
            where = f"{self.filename or '<automation>'} {hashlib.sha256(text).hexdigest()[:16]}"
        name = f"{where}: {procedure.signature.verb} {noun_key(procedure.signature.noun)}"
        if filter_t is not None:
            name += f" whose {_filter_text(filter_t)}"
        return name

    def _watchable_nouns(self, noun: str) -> str:
        nouns = sorted({normal(r.signature.noun) for r in self.registry
                        if r.lists_on_its_own and watchable_for(r, self.registry) is not None})
        return did_you_mean(normal(noun), nouns) or "the book can watch for new: " + ", ".join(nouns)

    # -- calls
    def _resolve(self, call: ast.Call) -> tuple[Procedure | None, ast.Call]:
        """The procedure a call names, and the call with its prepositions bound to inputs and conditions.

        `read the messages sent to "+1..."` names `read ... messages` with the preposition `sent to`: the noun's
        last words go with the first preposition when the whole noun names no procedure."""
        found = self.registry.lookup(call.verb.text, call.noun.text)
        cut = None if found else self._cut_before_preposition(call.verb.text, call.noun.text, call.preps)
        if cut is not None:
            noun_text, moved, found = cut
            first = dataclasses.replace(call.preps[0], word=moved)
            call = dataclasses.replace(call, noun=ast.Name(noun_text, call.noun.pos), preps=(first, *call.preps[1:]))
        if len(found) != 1:
            said = f"{call.verb.text} {call.noun.text}"
            if found:
                self._problem(f"{said!r} could be any of: " + ", ".join(repr(p.english) for p in found), call.pos,
                              f"say which, like '{found[0].english}'")
            else:
                self._problem(f"I don't know how to {said!r}", call.pos,
                              self.registry.suggest(call.verb.text, call.noun.text)
                              or f"run '{self.registry.program} procedures' to list what the book can do")
            return None, call
        return found[0], self._with_prepositions(call, found[0])

    def _cut_before_preposition(self, verb: str, noun: str, preps: tuple[ast.Prep, ...]
                                ) -> tuple[str, str, list[Procedure]] | None:
        """`messages sent` before `to`: the shorter noun that names one procedure taking the noun's last words
        with the first preposition (`messages`, `sent to`, that procedure), or None."""
        words = noun.split()
        for cut in range(1, len(words) if preps else 0):
            shorter = self.registry.lookup(verb, " ".join(words[:-cut]))
            moved = " ".join(words[-cut:]).lower() + " " + preps[0].word
            if len(shorter) == 1 and moved in shorter[0].prepositions:
                return " ".join(words[:-cut]), moved, shorter
        return None

    def _with_prepositions(self, call: ast.Call, procedure: Procedure) -> ast.Call:
        """The call with each preposition made an input line or a `whose` condition, as the procedure declares."""
        if not call.preps:
            return call
        inputs, conditions = list(call.inputs), []
        for prep in call.preps:
            target = procedure.prepositions.get(prep.word)
            if target is None:
                known = ", ".join(f"'{w}'" for w in procedure.prepositions)
                self._problem(f"'{procedure.english}' takes no '{prep.word}'", prep.pos,
                              f"its prepositions are {known}" if known else
                              f"give its inputs with 'where': {procedure.english} where ...")
                continue
            name = ast.Name(english(target), prep.pos)
            if procedure.input(target) is not None:
                inputs.append(ast.Input(name, prep.value))
            else:
                last = prep.word.split()[-1]
                conditions.append(ast.Comparison(name, {"after": "gt", "before": "lt"}.get(last, "eq"), prep.value))
        filter_ = call.filter
        if conditions:
            items = (*conditions, *([filter_] if filter_ is not None else []))
            filter_ = items[0] if len(items) == 1 else ast.And(tuple(items))
        return dataclasses.replace(call, inputs=tuple(inputs), filter=filter_, preps=())

    def _call(self, call: ast.Call, scope: Scope) -> p.CallStep | list | None:
        if call.verb.key == "count" and not self.registry.lookup("count", call.noun.text):
            # `count the messages (whose ...)`: how many, of a list defined above or read here
            what = ast.FactRef(call.noun) if call.quantity.kind in ("the", "every", "some") else None
            if what is not None and not call.inputs:
                return self._count(ast.Count(what, call.preps, call.filter, call.pos), scope)
        procedure, call = self._resolve(call)
        if procedure is None:
            return None
        ok = True
        output = procedure.output
        singular_call = False
        limit = call.quantity.count
        last = None
        if call.quantity.kind == "last":
            limit, last = None, call.quantity.count
        if output.plural:
            head = call.noun.text.split()[-1]
            one_named = singular(head) == head.lower()  # `the message`, `the first message`: one thing, not a list
            singular_call = call.quantity.singular or one_named and (
                call.quantity.kind == "the" or call.quantity.kind in ("first", "last") and call.quantity.count == 1)
            if (last if last is not None else limit) is not None and (last if last is not None else limit) < 1:
                self._problem("ask for at least one", call.pos, "use a count of 1 or more")
                ok = False
        elif call.quantity.kind not in ("one", "the"):
            self._problem(f"'{procedure.english}' works on one {procedure.signature.noun} at a time", call.pos,
                          f"write '{procedure.english}'; for many, use 'process each ... as follows'")
            ok = False

        filter_t = None
        if call.filter is not None:
            concept = _concept(output.type)
            if not procedure.filter_capable or concept is None:
                self._problem(f"'{procedure.english}' takes no 'whose' filter", call.pos,
                              "remove the 'whose ...' clauses" + (", or give inputs with 'where'" if procedure.inputs else ""))
                ok = False
            else:
                filter_t = self._filter(call.filter, concept, scope)
                ok = ok and filter_t is not None

        inputs = self._inputs(call, procedure, scope)
        ok = ok and inputs is not None
        body = self._call_conversation(call, procedure, scope)
        ok = ok and body is not None

        # Bind the result's names even when this line has problems, so later lines are not blamed for it.
        static: Any = ListOf(output.type) if output.plural and not singular_call else output.type
        # A result never takes the name of the item a `process each` block is working on.
        # (and by the procedure's own noun, when it is called by another: `read the texts` binds `the sms messages`)
        binds = {normal(call.noun.text), output.name, normal(procedure.signature.noun)} - scope.items
        scope.define(binds, static)
        scope.above, scope.has_above = static, True
        if not ok:
            return None
        pushdown = split(p.conjuncts(filter_t), procedure.pushable) if filter_t is not None else ((), True)
        return p.CallStep(call.pos.line, self._text(call.pos), procedure, inputs, filter_t, singular_call, limit,
                          tuple(sorted(binds)), pushdown, last=last,
                          # `find` as read's other verb: nothing found is nothing (a book's own `find` says itself)
                          finds=call.verb.key == "find" and procedure.signature.verb != "find", body=body or ())

    def _inputs(self, call: ast.Call, procedure: Procedure, scope: Scope) -> tuple | None:
        given: dict[str, tuple[p.ValueExpr, Any]] = {}
        written: set[str] = set()  # inputs the block names, even with a bad value: not "missing"
        ok = True
        for item in call.inputs:
            spec = procedure.input(param_name(item.name.text))
            if spec is None:
                names = [i.name for i in procedure.inputs]
                self._problem(f"'{procedure.english}' has no input {item.name.text!r}", item.name.pos,
                              did_you_mean(normal(item.name.text), names) or
                              ("its inputs are: " + ", ".join(names) if names else "it takes no inputs"))
                ok = False
                continue
            if spec.param in written:
                self._problem(f"the {spec.name} is given twice", item.name.pos, "keep one of the two lines")
                ok = False
                continue
            written.add(spec.param)
            expr = self._typed(item.value, scope, spec.annotation, spec.name)
            if expr is None:
                ok = False
                continue
            given[spec.param] = (expr, spec.annotation)
        for spec in procedure.inputs:
            if spec.param in written:
                continue
            key = normal(spec.name)
            if key in scope.facts:  # bound by name from a fact defined earlier
                given[spec.param] = (p.Fact(key), spec.annotation)
            elif spec.required:
                self._problem(
                    f"'{procedure.english}' needs the {spec.name}", call.pos,
                    f"add a line 'the {spec.name} is ...' under '{procedure.english} where'",
                )
                ok = False
        if not ok:
            return None
        return tuple((param, expr, annotation) for param, (expr, annotation) in given.items())

    def _filter(self, node: ast.FilterNode, concept: type[Concept], scope: Scope) -> p.FilterT | None:
        if isinstance(node, ast.Comparison):
            return self._comparison(node, concept, scope)
        if isinstance(node, ast.Not):
            inner = self._filter(node.item, concept, scope)
            return p.BoolT("not", (inner,)) if inner is not None else None
        items = [self._filter(n, concept, scope) for n in node.items]
        if any(i is None for i in items):
            return None
        kind = "all" if isinstance(node, ast.And) else "any"
        flat: list[p.FilterT] = []
        for item in items:  # `is between 1 and 5` and `is last week` are two conditions: one `and` of them all
            flat.extend(item.items if isinstance(item, p.BoolT) and item.kind == kind else (item,))  # type: ignore[union-attr]
        return p.BoolT(kind, tuple(flat))

    def _comparison(self, node: ast.Comparison, concept: type[Concept], scope: Scope) -> p.FilterT | None:
        attr = concept.resolve_field(node.field.text)
        if attr is None:
            fields = list(concept.english_fields())
            known = "its fields: " + ", ".join(fields)
            close = did_you_mean(node.field.key, fields)
            self._problem(f"a {concept.concept_name} has no field {node.field.text!r}", node.field.pos,
                          f"{close} ({known})" if close else known)
            return None
        annotation = str if node.op in TEXT_OPERATORS else concept.field_type(attr)
        what = f"{english(attr)}"
        if node.op in VALUELESS_OPERATORS:
            return p.ConditionT(attr, node.op, None, annotation)
        if node.op == "between":
            low, high = node.value  # type: ignore[misc]
            parts = [self._comparison(ast.Comparison(node.field, op, v), concept, scope) for op, v in (("ge", low), ("le", high))]
            return p.BoolT("all", tuple(parts)) if all(parts) else None  # type: ignore[arg-type]
        if isinstance(node.value, ast.Period):
            if node.op not in PERIOD_BOUNDS and node.op != "ne":
                self._problem(f"'{node.value.which} {node.value.unit}' is a span of time: compare with is, is after, "
                              "is before, is on or after or is on or before", node.field.pos)
                return None
            if not orderable(annotation):
                self._problem(f"the {what} is {type_phrase(annotation)}, which has no order", node.field.pos)
                return None
            bounds = PERIOD_BOUNDS["eq" if node.op == "ne" else node.op]
            conditions = tuple(p.ConditionT(attr, op, period_bound(node.value, edge), annotation) for op, edge in bounds)
            made: p.FilterT = conditions[0] if len(conditions) == 1 else p.BoolT("all", conditions)
            return p.BoolT("not", (made,)) if node.op == "ne" else made
        if node.op == "one_of":
            values = [self._typed(v, scope, annotation, what) for v in node.value]  # type: ignore[union-attr]
            if any(v is None for v in values):
                return None
            return p.ConditionT(attr, "one_of", tuple(values), annotation)
        if node.op in ORDER_OPERATORS and not orderable(annotation):
            self._problem(f"the {what} is {type_phrase(annotation)}, which has no order", node.field.pos,
                          "compare it with 'is', 'is not', 'contains' or 'starts with'")
            return None
        value = self._typed(node.value, scope, annotation, what)  # type: ignore[arg-type]
        if value is None:
            return None
        return p.ConditionT(attr, node.op, value, annotation)


def _filter_text(node: p.FilterT) -> str:
    """A filter template as stable text (for naming a watch's cursor): fields, operators and values."""
    if isinstance(node, p.BoolT):
        inner = [_filter_text(item) for item in node.items]
        return f"not ({inner[0]})" if node.kind == "not" else "(" + f" {'and' if node.kind == 'all' else 'or'} ".join(inner) + ")"
    values = node.value if isinstance(node.value, tuple) else (node.value,)
    return f"{node.field} {node.op} " + ", ".join(_value_text(v) for v in values)


def _value_text(expr: p.ValueExpr) -> str:
    if isinstance(expr, p.Const):
        value = expr.value
        if hasattr(value, "get_secret_value"):  # a cursor file is not a place for a secret: its digest only
            return "secret " + hashlib.sha256(value.get_secret_value().encode()).hexdigest()[:16]
        return repr(value.isoformat() if isinstance(value, date | datetime) else value)
    if isinstance(expr, p.Fact):
        return f"the {expr.name}"
    if isinstance(expr, p.FieldOf):
        return f"the {expr.owner}'s {expr.english}"
    return "the above"


def compile_program(
    program: ast.Program, registry: Registry, filename: str | None = None, facts: Mapping[str, Any] | None = None,
    *, watches: bool = True,
) -> p.Plan:
    """Compile a parsed program, with `facts` (name -> type) bound before it; raises `CompileError`
    listing every problem. With `watches=False` a `watch for new ...` line is a problem (an automation
    a trigger runs once per item must end)."""
    return Compiler(registry, program.source, filename, watches=watches).compile(program, facts)


def _watch_report(registry: Registry) -> Any:
    """The type of what a watch line gives: the registry's (a snapshot's stand-in), else the watch's report."""
    if registry.watch_report is not None:
        return registry.watch_report
    from book.watching.watch import WatchReport  # pydantic: only for a live registry

    return WatchReport


def _first(steps: Any, found: Any) -> p.AnyStep | None:
    """The first step, in `steps` or any block in them, for which `found(step)` holds."""
    for step in steps:
        if found(step):
            return step
        for block in p.blocks(step):
            inner = _first(block, found)
            if inner is not None:
                return inner
    return None
