"""`mcp`: serve the book to agents over the Model Context Protocol.

    PROGRAM mcp                                   stdio: what an agent's client starts as a subprocess
    PROGRAM mcp --http --host H --port P          streamable HTTP at http://H:P/mcp
        --sandbox | --connection NAME             where procedures go (default: as `run`)
        --read-only                               serve only the procedures that change nothing (nor write files)
        --downloads DIR                           the only folder downloads go to (default: the home's)
        --max-items N                             the most items one result holds (default 50)

Only the standard library is imported when the command is registered: the MCP SDK, the book's procedures
and its service's SDK are imported when it runs, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from book.commands.arguments import add_connection_arguments

if TYPE_CHECKING:
    from book.app import App

DEFAULT_MAX_ITEMS = 50
DEFAULT_PORT = 8000


def add_mcp_commands(subparsers: Any, app: App) -> None:
    """Register `mcp` on an argparse subparsers object; its `func(args)` returns an exit code."""
    parser = subparsers.add_parser(
        "mcp",
        help="serve the book to AI agents over the Model Context Protocol (stdio, or HTTP with --http)",
        description="Serve the book over the Model Context Protocol: one tool per procedure, run_automation and "
        "check_automation for English, and the reference pages and concept schemas as resources. Secrets "
        "stay in the server: no tool returns them.",
    )
    add_arguments(parser, app)
    parser.set_defaults(func=cmd_mcp)


def add_arguments(parser: argparse.ArgumentParser, app: App) -> None:
    parser.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    parser.add_argument("--host", help="with --http: the address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help=f"with --http: the port (default {DEFAULT_PORT})")
    add_connection_arguments(parser, app)
    parser.add_argument("--read-only", action="store_true", help="serve only procedures that change nothing, in the account or on this computer (no downloads)")
    parser.add_argument("--max-items", type=_positive, default=DEFAULT_MAX_ITEMS, metavar="N",
                        help=f"the most items one result holds; it says how many more there were (default {DEFAULT_MAX_ITEMS})")


def cmd_mcp(args: argparse.Namespace) -> int:
    from book.errors import BookError
    from book.mcp.calls import ServeOptions
    from book.mcp.server import serve

    if not args.http and (args.host is not None or args.port is not None):
        raise BookError("--host and --port choose where HTTP is served: add --http, or leave them out for stdio")
    http = (args.host or "127.0.0.1", DEFAULT_PORT if args.port is None else args.port) if args.http else None
    options = ServeOptions(read_only=args.read_only, max_items=args.max_items)
    serve(args.app.load_book(), connection=args.connection, sandbox=args.sandbox, options=options, http=http,
          downloads=args.downloads)
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value
