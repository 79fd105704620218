"""What an agent sees of a book: one tool per procedure, with its name, description and JSON Schemas.

A procedure's tool is named from its English (`send an SMS message` -> `send_an_sms_message`) and
described by its docstring (summary, description, examples). Its inputs are the properties of its input
schema, each with its annotation's pydantic schema; a FILTER-CAPABLE procedure also takes a structured
`filter`, and every procedure that returns a list takes `limit` and `offset`. Its output schema is the
output concept's: a list comes back as a page of `items` saying how many more there are.

Everything here is read from the registry, so a new procedure gets its tool with no other change. Only
pydantic and the book's own modules are imported: the MCP SDK never is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from book.concept import Concept, type_words
from book.docs import pushdown_words
from book.errors import AuthoringError
from book.filters import ORDER_OPERATORS, TEXT_OPERATORS
from book.registry import Procedure, Registry

RUN_AUTOMATION = "run_automation"
CHECK_AUTOMATION = "check_automation"

OPS: dict[str, str] = {
    "eq": "is (equal to)",
    "ne": "is not",
    "gt": "is greater than / after",
    "lt": "is less than / before",
    "ge": "is at least / on or after",
    "le": "is at most / on or before",
    "one_of": "is one of (the value is a list)",
    "contains": "contains the text (any case)",
    "not_contains": "does not contain the text",
    "starts_with": "starts with the text",
    "ends_with": "ends with the text",
}
TEXT_OPS = TEXT_OPERATORS
ORDER_OPS = ORDER_OPERATORS
CONDITION = "FilterCondition"  # where a filter's condition lives in an input schema's `$defs`


@dataclass(frozen=True)
class ToolSpec:
    """One tool as the server lists it; `procedure` is None for the automation tools."""

    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    read_only: bool
    procedure: Procedure | None = None


def tool_name(procedure: Procedure) -> str:
    """`read some SMS messages` -> `read_some_sms_messages`: letters, digits and underscores only."""
    return re.sub(r"[^a-z0-9]+", "_", procedure.english.lower()).strip("_")[:128]


def catalog(registry: Registry, *, read_only: bool = False, max_items: int = 50) -> tuple[ToolSpec, ...]:
    """The automation tools, then one tool per procedure (only those that change nothing, in the service or
    on this computer, if `read_only`)."""
    procedures = [p for p in registry if not (read_only and p.changes_things)]
    specs = [_run_spec(procedures, read_only, max_items), _check_spec()]
    seen = {spec.name: "the book's automation tool" for spec in specs}
    for procedure in procedures:
        name = tool_name(procedure)
        if name in seen:
            raise AuthoringError(
                f"{procedure.location}: {procedure.phrase!r} would be served as the tool {name!r}, which "
                f"{seen[name]} already is; rename one of the phrases"
            )
        seen[name] = f"{procedure.phrase!r} at {procedure.location}"
        specs.append(procedure_spec(procedure, max_items))
    return tuple(specs)


def procedure_spec(procedure: Procedure, max_items: int = 50) -> ToolSpec:
    """The tool of one procedure."""
    return ToolSpec(
        name=tool_name(procedure),
        title=procedure.english[:1].upper() + procedure.english[1:],
        description=tool_description(procedure, max_items),
        input_schema=input_schema(procedure, max_items),
        output_schema=output_schema(procedure),
        read_only=not procedure.changes_things,
        procedure=procedure,
    )


# -- descriptions ------------------------------------------------------------------------------------


def tool_description(procedure: Procedure, max_items: int) -> str:
    parts = [procedure.summary]
    if procedure.description:
        parts.append(procedure.description)
    parts.append(f"In the book's English (for run_automation): {procedure.english}.")
    if procedure.mutating:
        parts.append("This changes things in the connected account: it is not a read.")
    if procedure.writes_files:
        parts.append("This writes a file on the server's computer, only under its downloads folder: a path is "
                     "taken inside that folder, and one that leads out of it ('..', another absolute path, a "
                     "symbolic link) is refused before anything is sent. A read-only server does not offer it.")
    if procedure.output.plural:
        filtered = "; `filter` keeps only the items that match" if procedure.filter_capable else ""
        parts.append(
            f"Returns at most {max_items} items per call (`limit`), and says how many more there are and the "
            f"`offset` to ask for them with{filtered}."
        )
    if procedure.pushable:
        parts.append(f"Conditions the service applies itself (fastest; the rest are checked as the items arrive): "
                     f"{pushdown_words(procedure)}.")
    if procedure.examples:
        lines = ["Examples, in the book's English:"]
        for example in procedure.examples:
            lines.append(f"- {example.title}:" if example.title else "-")
            lines.extend(f"    {line}" for line in example.text.splitlines())
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


# -- input schemas -----------------------------------------------------------------------------------


def type_schema(annotation: Any) -> dict[str, Any]:
    """pydantic's JSON Schema of a type; plain text for a type pydantic cannot describe."""
    try:
        return TypeAdapter(annotation).json_schema()
    except Exception:  # an author's own type: agents send it as text, and coerce() checks it
        return {"type": "string"}


def input_schema(procedure: Procedure, max_items: int = 50) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    defs: dict[str, Any] = {}
    for item in procedure.inputs:
        schema = type_schema(item.annotation)
        defs.update(schema.pop("$defs", {}))
        schema = {**schema, "title": item.name, "description": item.description}
        if item.required:
            required.append(item.param)
        elif _is_json(item.default):
            schema["default"] = item.default
        properties[item.param] = schema
    extra: dict[str, Any] = {}
    concept = output_concept(procedure)
    if procedure.filter_capable and concept is not None:
        extra["filter"] = filter_schema(concept)
        if procedure.pushable:
            pushed = "; ".join(f"{field} ({', '.join(sorted(ops))})" for field, ops in procedure.pushable.items())
            extra["filter"]["description"] += f" Applied by the service itself, so fastest: {pushed}."
        defs[CONDITION] = condition_schema(concept)
    if procedure.output.plural:
        extra["limit"] = {
            "type": "integer", "minimum": 1, "maximum": max_items, "default": max_items,
            "description": f"How many items to return, at most {max_items}.",
        }
        extra["offset"] = {
            "type": "integer", "minimum": 0, "default": 0,
            "description": "How many matching items to skip: the `next_offset` of the page before.",
        }
    for name, schema in extra.items():
        if name in properties:
            raise AuthoringError(
                f"{procedure.location}: the input {name!r} of {procedure.phrase!r} has the name the book's tools "
                "give their own argument; rename the parameter"
            )
        properties[name] = schema
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    if defs:
        schema["$defs"] = defs
    return schema


def filter_schema(concept: type[Concept]) -> dict[str, Any]:
    """A list of conditions joined by AND; an entry may also be `{"any": [...]}` (OR) or `{"not": ...}`.

    The condition is `{"$ref": "#/$defs/FilterCondition"}`: put `condition_schema(concept)` there.
    """
    condition = {"$ref": f"#/$defs/{CONDITION}"}
    fields = ", ".join(f"{name} ({_field_words(concept, name)})" for name in concept.model_fields)
    return {
        "type": "array",
        "description": (
            f"Keep only the {concept.concept_name}s that match every entry of this list (AND). An entry is a "
            'condition {"field", "op", "value"}; {"any": [conditions]} when at least one must hold (OR); or '
            '{"not": condition}. '
            f"Fields: {fields}. Values are JSON: text in quotes, numbers, true/false, null; dates and "
            "datetimes as ISO 8601 text (a date such as 2022-03-01 stands for the whole day, a datetime "
            "such as 2022-03-01T15:00:00Z for the moment). Text comparisons (contains, starts_with, ...) "
            "ignore case."
        ),
        "items": {
            "anyOf": [
                condition,
                {
                    "type": "object",
                    "properties": {"any": {"type": "array", "items": condition, "minItems": 1}},
                    "required": ["any"],
                    "additionalProperties": False,
                },
                {
                    "type": "object",
                    "properties": {"not": condition},
                    "required": ["not"],
                    "additionalProperties": False,
                },
            ]
        },
    }


def condition_schema(concept: type[Concept]) -> dict[str, Any]:
    """One condition of a filter: a field of the concept, an operator and a value."""
    return {
        "type": "object",
        "properties": {
            "field": {"enum": list(concept.model_fields), "description": "The field of the item to test."},
            "op": {"enum": list(OPS), "description": "; ".join(f"{op}: {words}" for op, words in OPS.items())},
            "value": {"description": "What to compare the field with, of the field's type (a list for one_of)."},
        },
        "required": ["field", "op", "value"],
        "additionalProperties": False,
    }


def _field_words(concept: type[Concept], name: str) -> str:
    words = type_words(concept.field_type(name))
    return words.removeprefix("optional[").removesuffix("]") if words.startswith("optional[") else words


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_json(v) for v in value)
    return isinstance(value, dict) and all(isinstance(k, str) and _is_json(v) for k, v in value.items())


# -- output schemas ----------------------------------------------------------------------------------


def output_concept(procedure: Procedure) -> type[Concept] | None:
    out = procedure.output.type
    return out if isinstance(out, type) and issubclass(out, Concept) else None


def output_schema(procedure: Procedure) -> dict[str, Any]:
    """A concept's own schema; a list as a page of `items`; any other value as `{"result": ...}`."""
    out = procedure.output
    concept = output_concept(procedure)
    if concept is not None:
        defs: dict[str, Any] = {}
        defs[concept.__name__] = _concept_schema(concept, defs)
        item = {"$ref": f"#/$defs/{concept.__name__}"}
    else:
        item = type_schema(out.type)
        defs = item.pop("$defs", {})
    if out.plural:
        schema = page_schema(item, out.description)
    elif concept is not None:
        schema = defs.pop(concept.__name__)
    else:
        schema = {
            "type": "object",
            "properties": {"result": {**item, **({"description": out.description} if out.description else {})}},
            "required": ["result"],
        }
    if defs:
        schema["$defs"] = {**schema.get("$defs", {}), **defs}
    return schema


def _concept_schema(concept: type[Concept], defs: dict[str, Any]) -> dict[str, Any]:
    """The concept as its results are written (pydantic's serialization schema), its `$defs` hoisted."""
    schema = concept.model_json_schema(mode="serialization")
    defs.update(schema.pop("$defs", {}))
    return schema


PAGE_FIELDS: dict[str, dict[str, Any]] = {
    "returned": {"type": "integer", "description": "How many items this page holds."},
    "offset": {"type": "integer", "description": "How many matching items were skipped before these."},
    "more": {"type": "integer", "description": "How many more matching items there are after these (0: none)."},
    "more_is_lower_bound": {
        "type": "boolean",
        "description": "True when counting stopped at a cap: there are at least `more` more.",
    },
    "next_offset": {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "description": "The `offset` that asks for the next page; null when there is nothing more.",
    },
    "how_to_get_more": {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": "What to do to see the rest; null when there is nothing more.",
    },
}


def page_schema(item: dict[str, Any], description: str = "") -> dict[str, Any]:
    items = {"type": "array", "items": item, **({"description": description} if description else {})}
    return {
        "type": "object",
        "properties": {"items": items, **PAGE_FIELDS},
        "required": ["items", *PAGE_FIELDS],
    }


# -- the automation tools ----------------------------------------------------------------------------

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "line": {"anyOf": [{"type": "integer"}, {"type": "null"}], "description": "1-based"},
        "column": {"anyOf": [{"type": "integer"}, {"type": "null"}], "description": "1-based"},
        "source_line": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "hint": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["message", "line", "column"],
}

_TEXT_INPUT = {
    "type": "object",
    "properties": {
        "text": {
            "type": "string",
            "description": "The automation in the book's English, one statement per line (continuation lines indented).",
        }
    },
    "required": ["text"],
    "additionalProperties": False,
}


def _run_spec(procedures: list[Procedure], read_only: bool, max_items: int) -> ToolSpec:
    known = []
    for procedure in procedures:
        marks = [m for m, on in (("FILTER-CAPABLE", procedure.filter_capable), ("changes things", procedure.mutating),
                                 ("writes files", procedure.writes_files)) if on]
        known.append(f"- {procedure.english}" + (f" [{', '.join(marks)}]" if marks else "") + f": {procedure.summary}")
        if procedure.examples:
            known.extend(f"    {line}" for line in procedure.examples[0].text.splitlines())
    refusal = (
        " This server is read-only: an automation that calls a procedure that changes things is refused "
        "before anything runs." if read_only else ""
    )
    description = (
        "Run an automation written in the book's English and return its last line's result. It is compiled "
        "first: nothing runs unless every line is right, and a mistake comes back with its line and column."
        f"{refusal} A list result holds at most {max_items} items and says how many more there were. A "
        "'watch for new ... as follows' line checks once per call: its block runs for each item that is new "
        "since the last call (the first call starts from now), and the line's result is how many there were.\n\n"
        "The procedures it can call:\n" + ("\n".join(known) if known else "(none)")
    )
    output = {
        "type": "object",
        "properties": {
            "result": {"description": "The last line's result when it is one value (an object for a concept)."},
            "items": {"type": "array", "description": "The last line's result when it is a list."},
            **{k: PAGE_FIELDS[k] for k in ("returned", "more", "how_to_get_more")},
            "calls": {"type": "array", "items": {"type": "string"}, "description": "The procedures it called."},
        },
        "required": ["calls"],
    }
    return ToolSpec(RUN_AUTOMATION, "Run an automation", description, _TEXT_INPUT, output, read_only)


def _check_spec() -> ToolSpec:
    description = (
        "Check an automation written in the book's English without running it: every problem comes back "
        "with its line, column, the source line and a hint. Nothing is read or sent."
    )
    output = {
        "type": "object",
        "properties": {
            "ok": {"type": "boolean"},
            "problems": {"type": "array", "items": PROBLEM_SCHEMA},
            "statements": {"type": "integer", "description": "How many statements it has."},
            "calls": {"type": "array", "items": {"type": "string"}, "description": "The procedures it would call."},
            "changes_things": {"type": "boolean", "description": "Whether it calls a procedure that changes things."},
            "runs_here": {"type": "boolean", "description": "False when this read-only server would refuse to run it."},
        },
        "required": ["ok", "problems"],
    }
    return ToolSpec(CHECK_AUTOMATION, "Check an automation", description, _TEXT_INPUT, output, True)

