"""The warm start: `run` and `check` handed to a runtime that has the book loaded already, so they start at once.

A cold `run` spends nine tenths of its CPU importing: the grammar and its tables, pydantic and the concept
models, the book's procedures, the service's SDK, the sandbox; what it does with them is a few milliseconds.
So the first `run` (or `check`) of a home starts, beside itself, a runtime process for that home
(`<program> warm serve`, in a session of its own, its messages in `<home>/warm.log`), which imports all that
once and then waits on a Unix socket, `<home>/warm.sock`. Each later command hands itself over:

    client (the command a user started)           runtime (kept between commands)
    ---------------------------------------       ----------------------------------------------------
    connect; send argv, cwd, environment, and     checks the client runs as the same user, with the same
    its stdin, stdout and stderr themselves  -->  interpreter and settings, and that no module it loaded
                                                  changed on disk; else it declines, and stops
                                             <--  forks a child: on the client's own stdin, stdout and
    forwards Ctrl-C (SIGINT), SIGTERM, SIGHUP                   stderr, in its directory and environment,
    and SIGQUIT to the child                                     the command line runs as if started anew
    exits with the child's code, or its signal  <--  the child's exit status

The child writes to the user's terminal itself (it has its very file descriptors), so output, colours, `| head`
and progress behave as in a cold start. A client that is killed takes its child with it (the runtime kills a
child whose client went away). What a child imported that the runtime had not (the SDK, at a first send) is
imported by the runtime after it (and listed in `<home>/warm.modules` for the runtime's next start), so the
next child finds it loaded. The runtime stops after `<PREFIX>_WARM_IDLE` seconds with nothing to do (600 by
default), when one of its modules changes on disk, when its socket is taken over or removed, or on
`<program> warm stop`.

Nothing is handed over, and the command runs as before, when: `<PREFIX>_WARM=0`; the platform is not Linux
(it needs fork, file descriptors passed over a socket, and `pidfd_open`); the command reads an automation from
a terminal (`run -`: the child is not in the terminal's foreground process group); it is `run --temporal`; or
no runtime answers (the command starts one, and runs cold this time).

This module imports only the standard library, and only `os` and `sys` as it is imported (`--help` pays for
nothing more); the client's half then `socket`, `json` and `signal`: what handing over costs is a Python start
and a round trip.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import socket
    from pathlib import Path

    from book.app import App

COMMANDS = ("run", "check")
"""The commands handed over: those whose start is most of their cost."""
SOCKET, LOG, MODULES, LOCK = "warm.sock", "warm.log", "warm.modules", "warm.lock"
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
"""The signals the client passes on to its child (a terminal's Ctrl-C reaches the client only)."""
SETTINGS = ("LANG", "LC_ALL", "LC_CTYPE", "PYTHONHOME", "PYTHONPATH", "PYTHONUTF8", "PYTHONIOENCODING",
            "PYTHONSAFEPATH", "PYTHONNOUSERSITE", "PYTHONUSERBASE", "PYTHONDONTWRITEBYTECODE", "PYTHONWARNINGS",
            "PYTHONHASHSEED")
"""The environment the interpreter reads as it starts: a runtime serves only clients that have the same."""
IDLE = 600.0
_MAX_REQUEST = 1 << 20
_IN_CHILD: list[bool] = []


# --- the client -------------------------------------------------------------------------------------------------

def enabled(app: App, environ: dict[str, str] | Any = os.environ) -> bool:
    """Whether this platform and `<PREFIX>_WARM` allow a warm start."""
    return sys.platform == "linux" and hasattr(os, "pidfd_open") and environ.get(app.env("WARM"), "1") != "0"


def _handed_over(argv: list[str]) -> bool:
    if not argv or argv[0] not in COMMANDS or "--temporal" in argv:
        return False
    if "-" in argv[1:]:
        try:
            return not os.isatty(0)
        except OSError:
            return False
    return True


def _interpreter() -> dict[str, Any]:
    """What a runtime and its client must share: the user, the interpreter with its options and import path (so the
    same modules are found), and the environment it reads as it starts."""
    return {"uid": os.getuid(), "executable": sys.executable, "path": sys.path,
            "options": [*sys.flags, *sorted(f"{k}={v}" for k, v in sys._xoptions.items())],
            "settings": {name: os.environ.get(name) for name in SETTINGS}}


def hand_off(app: App) -> int | None:
    """In the command line's own process: hand this command to the home's runtime, and return its exit code; or
    None: run it here (and, if no runtime answered, one is started for the next command)."""
    argv = sys.argv[1:]
    if _IN_CHILD or not _handed_over(argv) or not enabled(app):
        return None
    try:
        home = app.home()
    except OSError:
        return None
    import socket

    path = home / SOCKET
    if len(os.fsencode(path)) > 100:  # longer than a socket's address may be
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(os.fspath(path))
    except OSError:
        sock.close()
        start_runtime(home)
        return None
    try:
        return _served(sock, argv, app, home)
    finally:
        sock.close()


def _served(sock: socket.socket, argv: list[str], app: App, home: Path) -> int | None:
    import json
    import socket

    try:
        fds = [fd for fd in (0, 1, 2) if _open(fd)]
        if len(fds) < 3:
            return None
        request = json.dumps({"argv0": sys.argv[:1], "argv": argv, "cwd": os.getcwd(), "env": dict(os.environ),
                              **_interpreter()})
        body = request.encode() + b"\n"
        socket.send_fds(sock, [len(body).to_bytes(4, "big")], fds)
        sock.sendall(body)
        reader = sock.makefile("rb")
        reply = json.loads(reader.readline() or b"{}")
    except (OSError, ValueError):
        return None
    if "pid" not in reply:  # declined (the runtime stops): this one runs here, the next one meets a new runtime
        start_runtime(home)
        return None
    return _wait(reader, reply["pid"], app)


def _open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def _wait(reader: Any, pid: int, app: App) -> int:
    import json
    import signal

    def forward(signum: int, _frame: Any) -> None:
        try:
            os.kill(pid, signum)
        except OSError:
            pass

    for name in FORWARDED:
        signal.signal(getattr(signal, name), forward)
    try:
        line = reader.readline()
    except OSError:
        line = b""
    try:
        status = json.loads(line) if line else {}
    except ValueError:
        status = {}
    if "signal" in status:  # the child was killed by it: so is this process, as a cold start would have been
        signum = status["signal"]
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return 128 + signum
    if "code" not in status:
        _wait_for_exit(pid)
        print(f"{app.program}: the warm runtime stopped during the command, so its outcome is unknown: see what it "
              f"did, then run it again ({app.env('WARM')}=0 runs it without the warm runtime)", file=sys.stderr)
        return 1
    return int(status["code"])


def _wait_for_exit(pid: int) -> None:
    import select

    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)


def start_runtime(home: Path) -> None:
    """Start the runtime of `home` in the background (in a session of its own, output to `warm.log`)."""
    prefix = sys.orig_argv[:len(sys.orig_argv) - len(sys.argv) + 1]  # the interpreter, its options, the program
    if not prefix or not prefix[-1] or prefix[-1] == "-c":
        return
    log = os.fspath(home / LOG)
    try:
        os.posix_spawn(sys.executable, [sys.executable, *prefix[1:], "warm", "serve"], dict(os.environ),
                       file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                                     (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
                                     (os.POSIX_SPAWN_DUP2, 1, 2)],
                       setsid=True)
    except OSError:
        pass


# --- the runtime ------------------------------------------------------------------------------------------------

def fingerprint() -> dict[str, tuple[int, int]]:
    """Each loaded module's file, and each import path's folder, with its modification time and size."""
    seen: dict[str, tuple[int, int]] = {}
    paths = [getattr(module, "__file__", None) for module in list(sys.modules.values())]
    for path in [*paths, *sys.path]:
        if path and path not in seen:
            try:
                stat = os.stat(path)
            except OSError:
                continue
            seen[path] = (stat.st_mtime_ns, stat.st_size)
    return seen


def changed(before: dict[str, tuple[int, int]]) -> str | None:
    """The first file of `before` that changed or went away since, or None."""
    for path, mark in before.items():
        try:
            stat = os.stat(path)
        except OSError:
            return path
        if (stat.st_mtime_ns, stat.st_size) != mark:
            return path
    return None


def status(home: Path) -> dict[str, Any] | None:
    """What the home's runtime says of itself (`pid`, `served`, `running`, `modules`, `since`, and `cpu`: its CPU
    seconds with its commands'), or None if none answers."""
    import json
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5.0)
    try:
        sock.connect(os.fspath(home / SOCKET))
        body = json.dumps({"ask": "status"}).encode()
        sock.sendall(len(body).to_bytes(4, "big") + body)
        reply = json.loads(sock.makefile("rb").readline() or b"{}")
    except (OSError, ValueError):
        return None
    finally:
        sock.close()
    return reply if "pid" in reply else None


def stop(home: Path, timeout: float = 10.0) -> dict[str, Any] | None:
    """Stop the home's runtime: it takes no new command, and ends once the commands it runs have (SIGTERM). Its
    last status, or None if none was running; waits up to `timeout` seconds for it to end (`TimeoutError`)."""
    import select
    import signal

    found = status(home)
    if found is None:
        return None
    try:
        pidfd = os.pidfd_open(found["pid"])
    except OSError:
        return found
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGTERM)
        if not select.select([pidfd], [], [], timeout)[0]:
            raise TimeoutError(f"the warm runtime (pid {found['pid']}) is still running {found['running']} commands")
    except ProcessLookupError:
        pass
    finally:
        os.close(pidfd)
    return found
