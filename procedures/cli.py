"""`twilio-book`: the runtime's command line serving the Twilio book, with the book's own commands.

    twilio-book run|check|procedures|watch|connect|connections|docs|mcp ...   the runtime's (`book.cli`)
    twilio-book sandbox serve|reset|receive|call                             the local Twilio sandbox
    twilio-book listen                                                       Twilio's webhooks

Only the standard library (and `book.app`, `book.cli`) is imported to build the parser: `--help` loads no
procedure, no lark, no pydantic and no twilio SDK.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from book.app import App

EXIT_OK, EXIT_LANGUAGE = 0, 2


def add_twilio_commands(subparsers: Any, app: App) -> None:
    """`sandbox serve|reset|receive` and `listen`."""
    from procedures.webhooks.cli import (
        CALL_HELP,
        RECEIVE_HELP,
        add_listen_command,
        add_sandbox_call_arguments,
        add_sandbox_receive_arguments,
    )

    sandbox = subparsers.add_parser("sandbox", help="the local Twilio-compatible sandbox")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION")
    serve = sandbox_sub.add_parser("serve", help="run the sandbox in the foreground and print its URL and credentials")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    serve.set_defaults(func=cmd_sandbox_serve)
    reset = sandbox_sub.add_parser("reset", help="empty the sandbox's data")
    reset.set_defaults(func=cmd_sandbox_reset)
    add_sandbox_receive_arguments(sandbox_sub.add_parser("receive", help=RECEIVE_HELP, description=RECEIVE_HELP))
    add_sandbox_call_arguments(sandbox_sub.add_parser("call", help=CALL_HELP, description=CALL_HELP))
    sandbox.set_defaults(func=lambda a: (sandbox.print_help(), EXIT_LANGUAGE)[1])
    add_listen_command(subparsers, app)


def cmd_sandbox_serve(args: argparse.Namespace) -> int:
    from procedures._sandbox import sandbox_errors
    from sandbox import serve

    with sandbox_errors():
        serve(args.app.home(), host=args.host, port=args.port)
    return EXIT_OK


def cmd_sandbox_reset(args: argparse.Namespace) -> int:
    from procedures._sandbox import open_sandbox

    sandbox = open_sandbox(args.app.home())
    try:
        sandbox.reset()
        print(f"emptied the sandbox at {sandbox.store.path} (its account SID and token are kept)", file=sys.stderr)
    finally:
        sandbox.close()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """The `twilio-book` command."""
    from book.cli import main as run
    from procedures._app import APP

    return run(APP, argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
