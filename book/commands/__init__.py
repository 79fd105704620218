"""The runtime's commands, each registered by `add_*(subparsers, app)` with the standard library only:

    run          run, check, procedures      (`book.commands.run`)
    watch        watch a list of the book's  (`book.commands.watch`)
    connect      connect, connections ...    (`book.commands.connect`, driving `book.wizard`)
    docs         the generated reference     (`book.commands.docs`, driving `book.docs`)
    mcp          the book as agent tools     (`book.commands.mcp`, driving `book.mcp`)
    worker       automations on Temporal     (`book.commands.temporal`, driving `book.temporal`; also `run --temporal`)
    warm         the warm runtime            (`book.commands.warm`, driving `book.warm`)

Each handler imports what it runs when it runs; `book.commands.arguments` holds what they share.
"""

from __future__ import annotations

from book.commands.connect import add_connect_commands
from book.commands.docs import add_docs_commands
from book.commands.mcp import add_mcp_commands
from book.commands.run import add_run_commands
from book.commands.temporal import add_temporal_commands
from book.commands.warm import add_warm_commands
from book.commands.watch import add_watch_commands

RUNTIME_COMMANDS = (add_run_commands, add_watch_commands, add_connect_commands, add_docs_commands, add_mcp_commands,
                    add_temporal_commands, add_warm_commands)
"""In the order `--help` lists them."""

__all__ = ["RUNTIME_COMMANDS", "add_connect_commands", "add_docs_commands", "add_mcp_commands", "add_run_commands",
           "add_temporal_commands", "add_warm_commands", "add_watch_commands"]
