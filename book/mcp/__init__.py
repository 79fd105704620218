"""The book as tools for AI agents, over the Model Context Protocol (the official `mcp` SDK).

    from book.mcp import ServeOptions, Toolbox, book_resources, build_server, run_stdio
    server = build_server(Toolbox(book, session, ServeOptions(read_only=True)), book_resources(book))
    run_stdio(server)

    catalog(book.registry)        # the tools' names, descriptions and JSON Schemas, without the SDK

Modules: `schemas` (tools from the registry), `calls` (arguments to a plan, bounded results), `resources`
(reference pages, concept schemas), `server` (the SDK); the `mcp` command is `book.commands.mcp`.

Every name is imported when it is first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "Outcome",
    "ResourceDoc",
    "ServeOptions",
    "ToolSpec",
    "Toolbox",
    "book_resources",
    "build_server",
    "catalog",
    "run_http",
    "run_stdio",
    "serve",
]

_LAZY = {
    "Outcome": "book.mcp.calls",
    "ServeOptions": "book.mcp.calls",
    "Toolbox": "book.mcp.calls",
    "ResourceDoc": "book.mcp.resources",
    "book_resources": "book.mcp.resources",
    "ToolSpec": "book.mcp.schemas",
    "catalog": "book.mcp.schemas",
    "build_server": "book.mcp.server",
    "run_http": "book.mcp.server",
    "run_stdio": "book.mcp.server",
    "serve": "book.mcp.server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'book.mcp' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
