"""The SDK's own client against the server in process: tools with annotations, results, resources."""

from __future__ import annotations

import json

import anyio
import pytest
from mcp import Client, MCPError

from book.mcp.calls import ServeOptions, Toolbox
from book.mcp.resources import book_resources
from book.mcp.server import build_server
from tests.notes import make_book, session_for


def serve(read_only: bool = False, max_items: int = 50):
    book, store = make_book()
    store.add("groceries", stars=1)
    store.add("garden", stars=3)
    toolbox = Toolbox(book, session_for(book, store), ServeOptions(read_only=read_only, max_items=max_items))
    return build_server(toolbox, book_resources(book)), store


def talk(server, script):
    async def main():
        async with Client(server) as client:
            return await script(client)

    return anyio.run(main)


def test_tools_are_listed_with_schemas_and_annotations():
    server, _ = serve()

    async def script(client):
        return {tool.name: tool for tool in (await client.list_tools()).tools}

    tools = talk(server, script)
    write, read = tools["write_a_lark_note"], tools["read_some_notes"]
    assert write.annotations.destructive_hint is True and write.annotations.read_only_hint is False
    assert read.annotations.read_only_hint is True and read.annotations.destructive_hint is False
    assert tools["check_automation"].annotations.read_only_hint is True
    assert read.input_schema["properties"]["limit"]["maximum"] == 50
    assert read.output_schema["properties"]["items"]["items"] == {"$ref": "#/$defs/Note"}
    assert write.description.startswith("Write a note.")


def test_results_are_structured_content_that_matches_the_output_schema():
    server, store = serve(max_items=1)

    async def script(client):
        # The client checks structured content against each tool's output schema.
        return (await client.call_tool("write_a_lark_note", {"title": "taxes"}),
                await client.call_tool("read_some_notes", {"filter": [{"field": "stars", "op": "lt", "value": 3}]}),
                await client.call_tool("find_a_note", {"note_id": "N2"}),
                await client.call_tool("run_automation", {"text": "read some notes"}))

    wrote, read, found, ran = talk(server, script)
    assert wrote.structured_content == {"result": "N3"} and wrote.content[0].text.strip() == "N3"
    assert read.structured_content["items"][0]["title"] == "groceries" and read.structured_content["more"] == 1
    assert found.structured_content["title"] == "garden"
    assert ran.structured_content["returned"] == 1 and ran.structured_content["more"] == 2
    assert not any(r.is_error for r in (wrote, read, found, ran))


def test_errors_are_tool_errors_with_the_books_message():
    server, _ = serve()

    async def script(client):
        return (await client.call_tool("find_a_note", {"note_id": "N9"}),
                await client.call_tool("check_automation", {"text": "read some notes whose"}))

    missing, bad = talk(server, script)
    assert missing.is_error and missing.content[0].text == "there is no note 'N9'; read some notes to see their ids"
    assert bad.is_error and bad.content[0].text.startswith("<automation>:1:")


def test_resources_are_the_reference_pages_and_the_concept_schemas():
    server, _ = serve()

    async def script(client):
        listed = (await client.list_resources()).resources
        schema = await client.read_resource("notes://concepts/note.json")
        index = await client.read_resource("notes://reference/README.md")
        return listed, schema, index

    listed, schema, index = talk(server, script)
    uris = {r.uri for r in listed}
    assert {"notes://reference/README.md", "notes://concepts/note.json"} <= uris
    assert any(uri.startswith("notes://reference/procedures/") for uri in uris)
    assert json.loads(schema.contents[0].text)["properties"]["stars"]["description"] == "How many stars the note has."
    assert index.contents[0].mime_type == "text/markdown" and "# Notes" in index.contents[0].text


def test_an_unknown_resource_is_an_error():
    server, _ = serve()

    async def script(client):
        with pytest.raises(MCPError) as raised:
            await client.read_resource("notes://concepts/nothing.json")
        return raised.value

    assert "there is no resource 'notes://concepts/nothing.json'" in talk(server, script).message
