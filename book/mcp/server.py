"""The book over the Model Context Protocol, with the official SDK's low-level `Server`.

    serve(book, sandbox=True, options=ServeOptions(max_items=50))       # stdio; http=("127.0.0.1", 8000)

    # or, with a session of your own:
    server = build_server(Toolbox(book, session, options), book_resources(book))
    run_stdio(server)                                                   # or run_http(server, host, port)

The tools and resources are fixed when the server is built, from the registry. A tool call runs on a
worker thread (procedures are synchronous: a service's SDK blocks), so the server keeps answering.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from mcp import MCPError, types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from book.mcp.calls import Outcome, ServeOptions, Toolbox
from book.mcp.resources import ResourceDoc, book_resources
from book.mcp.schemas import CHECK_AUTOMATION, ToolSpec
from book.session import open_session


def build_server(toolbox: Toolbox, resources: Mapping[str, ResourceDoc] | None = None) -> Server[Any]:
    """An MCP server whose tools are the toolbox's and whose resources are `resources` (by URI)."""
    tools = [_tool(spec) for spec in toolbox.tools]
    listed = [_resource(doc) for doc in (resources or {}).values()]
    found = dict(resources or {})

    async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        outcome = await anyio.to_thread.run_sync(toolbox.call, params.name, params.arguments or {})
        return _result(outcome)

    async def list_resources(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=listed)

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        doc = found.get(str(params.uri))
        if doc is None:
            raise MCPError(types.INVALID_PARAMS, f"there is no resource {params.uri!r}; list the resources to see what there is")
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=doc.uri, mime_type=doc.mime_type, text=doc.text)]
        )

    schemas = {spec.name: spec.input_schema for spec in toolbox.tools}
    return Server(
        toolbox.book.app.program,
        version=_version(toolbox.book.app.program),
        title=f"The {toolbox.book.name} book",
        instructions=_instructions(toolbox),
        get_tool_input_schema=schemas.get,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )


def run_stdio(server: Server[Any]) -> None:
    """Serve one client over standard input and output until it closes them."""

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)


def run_http(server: Server[Any], host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve streamable HTTP at http://host:port/mcp until interrupted."""
    import uvicorn

    app = server.streamable_http_app(host=host)
    print(f"{server.name}: serving the book over MCP at http://{host}:{port}/mcp", file=sys.stderr, flush=True)
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()


# -- SDK types -------------------------------------------------------------------------------------------


def _tool(spec: ToolSpec) -> types.Tool:
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=spec.input_schema,
        output_schema=spec.output_schema,
        annotations=types.ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=not spec.read_only,
            idempotent_hint=spec.read_only,
            open_world_hint=spec.name != CHECK_AUTOMATION,  # the others reach the connected account
        ),
    )


def _resource(doc: ResourceDoc) -> types.Resource:
    return types.Resource(
        uri=doc.uri,
        name=doc.name,
        title=doc.title,
        description=doc.description,
        mime_type=doc.mime_type,
        size=len(doc.text.encode()),
    )


def _result(outcome: Outcome) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=outcome.text)],
        structured_content=outcome.structured,
        is_error=outcome.is_error,
    )


def _instructions(toolbox: Toolbox) -> str:
    book, options = toolbox.book, toolbox.options
    lines = [
        book.description or f"The {book.name} book.",
        "",
        "Each procedure of the book is a tool of its own; run_automation runs several lines of the book's "
        "English at once (check_automation checks them without running anything). The reference pages and "
        "each concept's JSON Schema are resources.",
        f"A list result holds at most {options.max_items} items and says how many more there are and how to "
        "ask for them.",
    ]
    if options.read_only:
        lines.append("This server is read-only: procedures that change things are not served.")
    return "\n".join(lines)


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "0"


def serve(
    book: Any,
    *,
    connection: str | None = None,
    sandbox: bool = False,
    options: ServeOptions | None = None,
    http: tuple[str, int] | None = None,
    downloads: Path | None = None,
) -> None:
    """Open the book's session (its connection, or the sandbox) and serve it until the client goes away;
    files are downloaded only under `downloads` (by default the book's home's `downloads`)."""
    with open_session(book, connection=connection, sandbox=sandbox, notice=book.app.say, downloads=downloads) as session:
        server = build_server(Toolbox(book, session, options), book_resources(book))
        if http is None:
            run_stdio(server)
        else:
            run_http(server, *http)
