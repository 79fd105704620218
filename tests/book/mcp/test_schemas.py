"""Tools from the registry alone: names, descriptions and JSON Schemas, and a new procedure's new tool."""

from __future__ import annotations

from collections.abc import Iterator

import jsonschema
import pytest

from book.errors import AuthoringError
from book.mcp.schemas import CHECK_AUTOMATION, OPS, RUN_AUTOMATION, catalog, tool_name
from tests.notes import Note, make_book


def tools(book, **options):
    return {spec.name: spec for spec in catalog(book.registry, **options)}


def test_every_procedure_is_a_tool_named_from_its_english():
    book, _ = make_book()
    names = list(tools(book))
    assert names[:2] == [RUN_AUTOMATION, CHECK_AUTOMATION]
    assert sorted(names[2:]) == ["find_a_note", "hold_a_lark_chat", "read_some_notes", "write_a_lark_note"]


def test_a_new_procedure_gets_its_tool_with_no_other_change():
    book, _ = make_book()
    before = tools(book)

    @book.procedure("to archive some (*Dusty* notes)")
    def archive_notes(client, older_than_days: int = 30) -> Iterator[Note]:
        """Archive old notes.

        Input Concepts:
            the older than days: How old a note must be, in days.

        Example 1:
            Archive
            >>> archive some Dusty notes
        """
        return iter(())

    after = tools(book)
    assert set(after) - set(before) == {"archive_some_dusty_notes"}
    spec = after["archive_some_dusty_notes"]
    assert spec.input_schema["properties"]["older_than_days"]["type"] == "integer"
    assert spec.input_schema["properties"]["older_than_days"]["default"] == 30
    assert "filter" not in spec.input_schema["properties"]  # not FILTER-CAPABLE
    assert {"limit", "offset"} <= set(spec.input_schema["properties"])  # it returns a list
    assert "Archive old notes." in spec.description and "archive some Dusty notes" in spec.description
    assert not spec.read_only  # "archive" changes things
    assert "archive some Dusty notes" in after[RUN_AUTOMATION].description


def test_tool_names_keep_to_the_characters_mcp_allows():
    book, _ = make_book()

    @book.procedure("to list some (*E-Mail* drafts)")
    def list_drafts(client) -> list[str]:
        """List drafts."""
        return []

    procedure = next(p for p in book.registry if p.signature.verb == "list")
    assert tool_name(procedure) == "list_some_e_mail_drafts"


def test_inputs_are_properties_with_their_types_required_and_defaults():
    schema = tools(make_book()[0])["write_a_lark_note"].input_schema
    assert schema["required"] == ["title"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["title"] == {"type": "string", "title": "title", "description": "The note's title."}
    assert schema["properties"]["stars"]["type"] == "integer" and schema["properties"]["stars"]["default"] == 0
    jsonschema.validate({"title": "x", "stars": 2}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"stars": 2}, schema)


def test_a_filter_capable_read_takes_a_structured_filter_and_pages():
    schema = tools(make_book()[0], max_items=7)["read_some_notes"].input_schema
    condition = schema["$defs"]["FilterCondition"]
    assert condition["properties"]["field"]["enum"] == ["id", "title", "body", "stars", "written"]
    assert condition["properties"]["op"]["enum"] == list(OPS)
    assert set(OPS) == {"eq", "ne", "gt", "lt", "ge", "le", "one_of", "contains", "not_contains", "starts_with", "ends_with"}
    assert "stars (number)" in schema["properties"]["filter"]["description"]
    assert schema["properties"]["limit"]["maximum"] == 7 and schema["properties"]["limit"]["default"] == 7
    assert schema["required"] == []
    jsonschema.validate({"filter": [{"field": "stars", "op": "ge", "value": 2},
                                    {"any": [{"field": "title", "op": "contains", "value": "a"}]},
                                    {"not": {"field": "id", "op": "eq", "value": "N1"}}],
                         "limit": 3, "offset": 3}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"filter": [{"field": "colour", "op": "eq", "value": "red"}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"limit": 8}, schema)


def test_output_schemas_come_from_the_output_concept():
    specs = tools(make_book()[0])
    page = specs["read_some_notes"].output_schema
    assert page["properties"]["items"]["items"] == {"$ref": "#/$defs/Note"}
    assert page["$defs"]["Note"]["properties"]["stars"]["description"] == "How many stars the note has."
    assert {"items", "returned", "more", "more_is_lower_bound", "next_offset", "how_to_get_more"} <= set(page["required"])
    assert specs["write_a_lark_note"].output_schema["properties"]["result"]["type"] == "string"
    one = specs["find_a_note"].output_schema
    assert one["type"] == "object" and set(one["properties"]) == {"id", "title", "body", "stars", "written"}
    for spec in specs.values():
        jsonschema.Draft202012Validator.check_schema(spec.input_schema)
        jsonschema.Draft202012Validator.check_schema(spec.output_schema)


def test_read_only_leaves_out_what_changes_things():
    book, _ = make_book()
    assert set(tools(book, read_only=True)) == {RUN_AUTOMATION, CHECK_AUTOMATION, "find_a_note", "read_some_notes"}
    assert tools(book, read_only=True)[RUN_AUTOMATION].read_only
    assert not tools(book)[RUN_AUTOMATION].read_only


def test_an_input_named_like_a_tool_argument_is_refused():
    book, _ = make_book()

    @book.procedure("to search some (notes)")
    def search_notes(client, filter_expression=None, filter: str = "") -> Iterator[Note]:
        """Search.

        Input Concepts:
            the filter: Words.
        """
        return iter(())

    with pytest.raises(AuthoringError, match="'filter'"):
        tools(book)
