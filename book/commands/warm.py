"""`warm`: the home's warm runtime, which `run` and `check` hand themselves to so that they start at once (`book.warm`).

    PROGRAM warm status       whether one serves this home, and its pid
    PROGRAM warm stop         stop it (commands it is running go on to their end)
    PROGRAM warm serve        serve in the foreground (what `run` starts in the background; its log on stderr)

`<PREFIX>_WARM=0` turns the warm start off; `<PREFIX>_WARM_IDLE` is how many idle seconds a runtime lasts (600).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from book.app import App

EXIT_OK, EXIT_FAILURE, EXIT_LANGUAGE = 0, 1, 2


def add_warm_commands(subparsers: Any, app: App) -> None:
    """Register `warm status|stop|serve`; each command's `func(args)` returns an exit code."""
    text = (f"the warm runtime that {app.program} run and check hand themselves to, so that they start at once "
            f"(started by the first one; {app.env('WARM')}=0 turns it off)")
    parser = subparsers.add_parser("warm", help="the warm runtime: status, stop", description=text[0].upper() + text[1:])
    actions = parser.add_subparsers(dest="warm_command", metavar="ACTION")
    actions.add_parser("status", help="whether a warm runtime serves this home").set_defaults(func=cmd_status)
    actions.add_parser("stop", help="stop this home's warm runtime").set_defaults(func=cmd_stop)
    actions.add_parser("serve", help="serve in the foreground (as run starts it in the background)").set_defaults(
        func=cmd_serve)
    parser.set_defaults(func=lambda args: (parser.print_help(), EXIT_LANGUAGE)[1])


def cmd_status(args: argparse.Namespace) -> int:
    from book import warm

    app: App = args.app
    found = warm.status(app.home())
    if found is None:
        state = "turned off" if not warm.enabled(app) else "none running"
        print(f"no warm runtime serves {app.home()} ({state})")
        return EXIT_FAILURE
    import time

    print(f"a warm runtime serves {app.home()}: pid {found['pid']}, up {time.time() - found['since']:.0f} s, "
          f"{found['served']} commands run ({found['running']} running now), {found['modules']} modules loaded")
    return EXIT_OK


def cmd_stop(args: argparse.Namespace) -> int:
    from book import warm

    app: App = args.app
    try:
        found = warm.stop(app.home())
    except TimeoutError as err:
        print(f"{app.program}: {err}; it ends when they have (it takes no new one)", file=sys.stderr)
        return EXIT_FAILURE
    if found is None:
        print(f"no warm runtime serves {app.home()}")
    else:
        print(f"stopped the warm runtime of {app.home()} (pid {found['pid']}, {found['served']} commands run)")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from book.warm.runtime import serve

    return serve(args.app, args.command_line)
