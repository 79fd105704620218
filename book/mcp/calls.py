"""Calling the book's tools: arguments checked and made into a plan, results bounded for an agent.

    toolbox = Toolbox(book, session, ServeOptions(read_only=True, max_items=50))
    toolbox.tools                                    # the ToolSpecs the server lists
    outcome = toolbox.call("read_some_sms_messages", {"filter": [...], "limit": 5})
    outcome.structured, outcome.text, outcome.is_error

A procedure's tool runs a plan of one `CallStep` whose values are constants, each checked with
`book.values.coerce` against its input's annotation (a filter value against its field's type) before
anything runs; the interpreter then runs it as it runs an automation's line. A list comes back as one
page: at most `limit` items, how many more there are (counted up to a cap past the page), and the
`offset` to ask for them with.

The book's errors come back as error outcomes with the book's own message. Anything else is a bug: it
is logged for the operator, and the agent is told so without its message or traceback.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from book import plan as p
from book.concept import Concept, type_words
from book.errors import BookError, InputError, LanguageError
from book.expressions import text_of
from book.filters import orderable
from book.interpreter import Interpreter, Session
from book.mcp.schemas import (
    CHECK_AUTOMATION,
    OPS,
    ORDER_OPS,
    RUN_AUTOMATION,
    TEXT_OPS,
    ToolSpec,
    catalog,
    output_concept,
)
from book.naming import did_you_mean, english
from book.output import jsonable, write_table
from book.runtime import Automation, check
from book.values import Invalid, coerce, describe

if TYPE_CHECKING:
    from book.authoring import Book
    from book.registry import Procedure

logger = logging.getLogger("book.mcp")


@dataclasses.dataclass(frozen=True)
class ServeOptions:
    """How the book is served: whether procedures that change things are left out, and result bounds."""

    read_only: bool = False
    max_items: int = 50
    count_cap: int = 1000  # how many matching items past a page are counted to say how many more there are


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a tool answers: structured content, a short text rendering, and whether it is an error."""

    structured: dict[str, Any] | None
    text: str
    is_error: bool = False


class Toolbox:
    """The tools of one book on one session; `call` is safe from any thread (calls run one at a time)."""

    def __init__(self, book: Book, session: Session, options: ServeOptions | None = None) -> None:
        self.book = book
        self.session = session
        self.options = options or ServeOptions()
        if self.options.max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.tools = catalog(book.registry, read_only=self.options.read_only, max_items=self.options.max_items)
        self._by_name = {tool.name: tool for tool in self.tools}
        self._lock = threading.Lock()

    def call(self, name: str, arguments: Mapping[str, Any] | None = None) -> Outcome:
        spec = self._by_name.get(name)
        if spec is None:
            return Outcome(None, self._unknown(name), is_error=True)
        try:
            with self._lock:
                if name == RUN_AUTOMATION:
                    return self._run(arguments or {})
                if name == CHECK_AUTOMATION:
                    return self._check(arguments or {})
                return self._call_procedure(spec, arguments or {})
        except LanguageError as err:
            return Outcome({"problems": [_problem(x) for x in err.problems]}, err.render(), is_error=True)
        except BookError as err:
            where = getattr(err, "where", None)
            shown = f"{where}: {err}" if where and name == RUN_AUTOMATION else str(err)
            return Outcome(None, shown, is_error=True)
        except Exception as err:  # a bug in the book: its message might hold what the agent must not see
            logger.exception("the tool %s failed", name)
            return Outcome(
                None,
                f"internal error in the book while running {name} ({type(err).__name__}); this is a bug in the "
                "book, not in the arguments: the server's log has the details",
                is_error=True,
            )

    def _unknown(self, name: str) -> str:
        hidden = [t for t in catalog(self.book.registry, max_items=self.options.max_items) if t.name == name]
        if hidden and self.options.read_only:
            what = "writes files" if hidden[0].procedure is not None and hidden[0].procedure.writes_files else "changes things"
            return f"the tool {name!r} {what}, and this server is read-only (it was started with --read-only)"
        return f"there is no tool {name!r}; " + (did_you_mean(name, list(self._by_name)) or "list the tools to see what there is")

    # -- the automation tools

    def _run(self, arguments: Mapping[str, Any]) -> Outcome:
        automation = Automation.compile(_text(arguments, RUN_AUTOMATION), self.book.registry)
        calls = automation.plan.procedures
        changing = [procedure.english for procedure in calls if procedure.changes_things]
        if self.options.read_only and changing:
            raise BookError(
                f"this server is read-only, and the automation would {' and '.join(map(repr, changing))}, which "
                "changes things; nothing was run. Leave those lines out, or use a server started without --read-only"
            )
        # A 'watch for new ...' line checks once per tool call: a call can't wait until the watch is stopped.
        # `say` lines are part of the answer (standard output is the protocol's, on stdio).
        said: list[Any] = []
        value = automation.run(dataclasses.replace(self.session, watch_polls=1, say=said.append)).value
        structured: dict[str, Any] = {"calls": [procedure.english for procedure in calls]}
        if said:
            structured["said"] = jsonable(said)
        if isinstance(value, (list, tuple)):
            items = list(value)[: self.options.max_items]
            more = len(value) - len(items)
            how = (
                "narrow the automation: a 'whose' clause on its last read, or a count ('read 10 ...'); or call "
                "the procedure's own tool, which pages with offset" if more else None
            )
            structured.update(items=jsonable(items), returned=len(items), more=more, how_to_get_more=how)
            text = _table(items) + (f"{more} more not shown: {how}.\n" if more else "")
        else:
            structured["result"] = jsonable(value)
            text = _table(value)
        if said:
            text = "".join(f"{text_of(line)}\n" for line in said) + text
        return Outcome(structured, text)

    def _check(self, arguments: Mapping[str, Any]) -> Outcome:
        plan = check(_text(arguments, CHECK_AUTOMATION), self.book.registry)
        calls = [procedure.english for procedure in plan.procedures]
        changes = any(procedure.changes_things for procedure in plan.procedures)
        runs_here = not (self.options.read_only and changes)
        text = f"ok: {len(plan.steps)} statements, calls: {', '.join(calls) or 'none'}"
        if not runs_here:
            text += "; this read-only server would refuse to run it, since it changes things"
        structured = {"ok": True, "problems": [], "statements": len(plan.steps), "calls": calls,
                      "changes_things": changes, "runs_here": runs_here}
        return Outcome(structured, text)

    # -- a procedure's tool

    def _call_procedure(self, spec: ToolSpec, arguments: Mapping[str, Any]) -> Outcome:
        procedure = spec.procedure
        assert procedure is not None
        allowed = spec.input_schema["properties"]
        for key in arguments:
            if key not in allowed:
                raise InputError(
                    f"{spec.name} takes no argument {key!r}; "
                    + (did_you_mean(key, list(allowed)) or f"its arguments are: {', '.join(allowed) or 'none'}")
                )
        inputs = tuple(_inputs(procedure, arguments))
        concept = output_concept(procedure)
        raw_filter = arguments.get("filter")
        filter_t = parse_filter(raw_filter, concept) if concept is not None and raw_filter is not None else None
        limit, offset = self._page(arguments) if procedure.output.plural else (0, 0)
        read = offset + limit + self.options.count_cap if procedure.output.plural else None
        step = p.CallStep(line=1, text=procedure.english, procedure=procedure, inputs=inputs, filter=filter_t,
                          singular=False, limit=read, binds=())
        value = Interpreter(self.session).run(p.Plan((step,), procedure.english)).above
        if not procedure.output.plural:
            if concept is not None and isinstance(value, Concept):
                return Outcome(jsonable(value), _table(value))
            return Outcome({"result": jsonable(value)}, _table(value))
        return self._page_outcome(spec, list(value), offset, limit, read)

    def _page(self, arguments: Mapping[str, Any]) -> tuple[int, int]:
        top = self.options.max_items
        limit, offset = arguments.get("limit", top), arguments.get("offset", 0)
        if not _whole(limit) or not 1 <= limit <= top:
            raise InputError(f"the limit {describe(limit)} is not valid: give a whole number from 1 to {top}")
        if not _whole(offset) or offset < 0:
            raise InputError(f"the offset {describe(offset)} is not valid: give a whole number, 0 or more")
        return limit, offset

    def _page_outcome(self, spec: ToolSpec, found: list[Any], offset: int, limit: int, read: int | None) -> Outcome:
        page = found[offset : offset + limit]
        more = max(len(found) - offset - len(page), 0)
        at_least = read is not None and len(found) >= read
        next_offset = offset + len(page) if more else None
        how = None
        if more:
            narrower = ", or narrow the filter" if spec.procedure is not None and spec.procedure.filter_capable else ""
            how = f"call {spec.name} again with offset {next_offset}{narrower}"
        structured = {
            "items": jsonable(page), "returned": len(page), "offset": offset, "more": more,
            "more_is_lower_bound": at_least, "next_offset": next_offset, "how_to_get_more": how,
        }
        text = _table(page)
        if more:
            text += f"{'at least ' if at_least else ''}{more} more after these: {how}.\n"
        return Outcome(structured, text)


# -- arguments -------------------------------------------------------------------------------------------


def _text(arguments: Mapping[str, Any], tool: str) -> str:
    extra = [key for key in arguments if key != "text"]
    if extra:
        raise InputError(f"{tool} takes one argument, text; not {extra[0]!r}")
    text = arguments.get("text")
    if not isinstance(text, str):
        raise InputError(f"{tool} needs the automation as text, one statement per line (got {describe(text)})")
    return text


def _inputs(procedure: Procedure, arguments: Mapping[str, Any]):
    """(parameter, constant, annotation) for each input given, each value checked before anything runs."""
    for item in procedure.inputs:
        if item.param not in arguments:
            if item.required:
                raise InputError(f"'{procedure.english}' needs {item.param} (the {item.name}: {item.description}); nothing was run")
            continue
        value = arguments[item.param]
        try:
            checked = coerce(value, item.annotation)
        except Invalid as err:
            raise InputError(f"the {item.name} {describe(value)} is not valid: {err}; nothing was sent") from None
        yield item.param, p.Const(checked), item.annotation


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_filter(value: Any, concept: type[Concept]) -> p.FilterT | None:
    """A structured filter as the plan's filter template; every value checked against its field's type."""
    entries = value if isinstance(value, list) else [value]
    nodes = tuple(_entry(entry, concept, f"filter[{i}]") for i, entry in enumerate(entries))
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else p.BoolT("all", nodes)


def _entry(entry: Any, concept: type[Concept], where: str) -> p.FilterT:
    if isinstance(entry, dict) and set(entry) == {"any"}:
        items = entry["any"]
        if not isinstance(items, list) or not items:
            raise InputError(f"{where}.any is {describe(items)}: give a list of one or more conditions")
        return p.BoolT("any", tuple(_condition(c, concept, f"{where}.any[{i}]") for i, c in enumerate(items)))
    if isinstance(entry, dict) and set(entry) == {"not"}:
        return p.BoolT("not", (_condition(entry["not"], concept, f"{where}.not"),))
    return _condition(entry, concept, where)


def _condition(condition: Any, concept: type[Concept], where: str) -> p.ConditionT:
    if not isinstance(condition, dict) or set(condition) != {"field", "op", "value"}:
        raise InputError(
            f"{where} is {describe(condition)}: a condition is an object with field, op and value, "
            'like {"field": "status", "op": "eq", "value": "delivered"}'
        )
    field, op, value = condition["field"], condition["op"], condition["value"]
    attr = concept.resolve_field(field) if isinstance(field, str) else None
    if attr is None:
        fields = list(concept.model_fields)
        raise InputError(f"{where}: a {concept.concept_name} has no field {describe(field)}; "
                         + (did_you_mean(str(field), fields) or f"its fields are: {', '.join(fields)}"))
    if op not in OPS:
        raise InputError(f"{where}: {describe(op)} is not an operator; " + (did_you_mean(str(op), list(OPS)) or f"use one of {', '.join(OPS)}"))
    annotation = str if op in TEXT_OPS else concept.field_type(attr)
    if op in ORDER_OPS and not orderable(annotation):
        raise InputError(f"{where}: the {english(attr)} is {type_words(annotation)}, which has no order; "
                         "compare it with eq, ne, one_of, contains or starts_with")
    if op == "one_of":
        if not isinstance(value, list) or not value:
            raise InputError(f"{where}: one_of takes a list of one or more values (got {describe(value)})")
        return p.ConditionT(attr, op, tuple(p.Const(_value(v, annotation, attr, where)) for v in value), annotation)
    return p.ConditionT(attr, op, p.Const(_value(value, annotation, attr, where)), annotation)


def _value(value: Any, annotation: Any, attr: str, where: str) -> Any:
    try:  # coerce takes "2022-03-01" beside a datetime as the whole day, as the English does
        return coerce(value, annotation)
    except Invalid as err:
        raise InputError(f"{where}: {describe(value)} can't be compared with the {english(attr)}: {err}; nothing was read") from None


# -- rendering -------------------------------------------------------------------------------------------


def _table(value: Any) -> str:
    if value is None:
        return "(nothing)\n"
    out = io.StringIO()
    write_table(value, out)
    return out.getvalue()


def _problem(problem: Any) -> dict[str, Any]:
    return dataclasses.asdict(problem)
