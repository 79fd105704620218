"""The warm start: `run` and `check` handed to a runtime that has the book loaded already, so they start at once.

A cold `run` spends nine tenths of its CPU importing: the grammar and its tables, pydantic and the concept
models, the book's procedures, the service's SDK, the sandbox; what it does with them is a few milliseconds.
So the first `run` (or `check`) of a home starts, beside itself, a runtime process for that home
(`<program> warm serve`, in a session of its own, its messages in `<home>/warm.log`), which imports all that
once and then waits on a Unix socket, `<home>/warm.sock`. Each later command hands itself over:

    client (the command a user started)             runtime (kept between commands)
    -----------------------------------------       -----------------------------------------------------
    connect; send argv, cwd, environment, umask,    checks it runs as the same user, with the same interpreter,
    limits, ignored signals, and its stdin,    -->  options, import path and settings, no higher limit, and
    stdout and stderr themselves                    that nothing it loaded changed on disk; else it declines
                                               <--  {"accept": true}, or {"declined": why}: the client runs cold
    "go" (from here the command is the runtime's:   (a client that does not say go runs it itself: never both)
    it never runs it itself)                   -->  forks a child: on the client's own stdin, stdout and stderr,
                                               <--  in its directory, environment, umask, limits and nice, the
    forwards Ctrl-C (SIGINT), SIGTERM, SIGHUP,      command line runs as if started anew; its pid and pidfd go
    SIGQUIT, SIGWINCH, Ctrl-Z (SIGTSTP: the child   to the client first (or {"not_started": why}: nothing ran,
    stops, then the client) and SIGCONT             the client runs cold)
    exits with the child's code, or its signal <--  the child's exit status

The child writes to the user's terminal itself (it has its very file descriptors), so output, colours, `| head`
and progress behave as in a cold start. A client that is killed takes its child with it (the runtime kills a
child whose client went away). What a child imported that the runtime had not (the SDK, at a first send) is
imported by the runtime after it (and listed in `<home>/warm.modules` for the runtime's next start), so the
next child finds it loaded. The runtime stops after `<PREFIX>_WARM_IDLE` seconds with nothing to do (600 by
default), when a file it loaded changes on disk (a module, a data file beside a package's modules, an import
folder), when its socket is taken over or removed, or on `<program> warm stop`.

Nothing is handed over, and the command runs as before, when: `<PREFIX>_WARM=0`; the platform is not Linux
(it needs fork, file descriptors passed over a socket, and `pidfd_open`); the command reads an automation from
a terminal (`run -`: the child is not in the terminal's foreground process group); it is `run --temporal`; one of
its stdin, stdout and stderr is closed; the runtime is too busy to answer; or no runtime answers (the command
starts one, and runs cold this time; not within 10 minutes of one that could not serve, `<home>/warm.failed`).

What the child does not take on of its client: its control group and namespaces (it runs in the runtime's), and
the name it shows in `ps` (`... warm serve`). A crash of the child (SIGSEGV) ends the client by the same signal,
so a core dump is the client's.

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
SOCKET, LOG, MODULES, LOCK, FAILED = "warm.sock", "warm.log", "warm.modules", "warm.lock", "warm.failed"
RETRY = 600.0
"""After a runtime could not serve (a module it loaded started a thread), how long commands run cold before one
starts another."""
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGWINCH", "SIGTSTP", "SIGCONT")
"""The signals the client passes on to its child (a terminal's Ctrl-C and Ctrl-Z reach the client only)."""
SETTINGS = ("LANG", "LC_ALL", "LC_CTYPE", "PYTHONHOME", "PYTHONPATH", "PYTHONUTF8", "PYTHONIOENCODING",
            "PYTHONSAFEPATH", "PYTHONNOUSERSITE", "PYTHONUSERBASE", "PYTHONDONTWRITEBYTECODE", "PYTHONWARNINGS",
            "PYTHONHASHSEED")
"""The environment the interpreter reads as it starts: a runtime serves only clients that have the same."""
IDLE = 600.0
ACCEPT_TIMEOUT = 10.0
"""How long a client waits for the runtime to take its command before it runs the command itself."""
QUESTIONS = ("status", "stop")
"""What a client may ask the runtime instead of handing it a command (`{"ask": "status"}`)."""
_MAX_REQUEST = 1 << 20
_IN_CHILD: list[bool] = []


# --- the client -------------------------------------------------------------------------------------------------

def enabled(app: App, environ: dict[str, str] | Any = os.environ) -> bool:
    """Whether this platform and `<PREFIX>_WARM` allow a warm start."""
    return sys.platform == "linux" and hasattr(os, "pidfd_open") and environ.get(app.env("WARM"), "1") != "0"


def _pidfds() -> bool:
    """Whether this kernel (and its sandboxing: seccomp) lets a process have a pidfd."""
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


def _handed_over(argv: list[str]) -> bool:
    if not argv or argv[0] not in COMMANDS:
        return False
    if any(arg.startswith("--te") for arg in argv):  # `--temporal`, as it may be written (`--temporal=H:P`, `--temp`)
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
            "options": [*sys.flags, *sorted(f"{k}={v}" for k, v in sys._xoptions.items()), *sys.warnoptions,
                        f"unbuffered={getattr(sys.__stdout__, 'write_through', False)}"],  # -u, PYTHONUNBUFFERED
            "settings": {name: os.environ.get(name) for name in SETTINGS}}


def _ignored() -> list[str]:
    """Those of the forwarded signals this process ignores (`nohup`, a script's `cmd &`)."""
    import signal

    return [name for name in FORWARDED if signal.getsignal(getattr(signal, name)) == signal.SIG_IGN]


def _process() -> dict[str, Any]:
    """What the child takes on of the client: its umask, its limits (`ulimit`), its nice value, the signals it
    ignores."""
    import resource

    umask = os.umask(0o022)
    os.umask(umask)
    limits = {name: resource.getrlimit(getattr(resource, name)) for name in dir(resource) if name.startswith("RLIMIT_")}
    return {"umask": umask, "limits": limits, "nice": os.getpriority(os.PRIO_PROCESS, 0), "ignored": _ignored()}


def hand_off(app: App) -> int | None:
    """In the command line's own process: hand this command to the home's runtime, and return its exit code; or
    None: run it here (and, if no runtime answered, one is started for the next command)."""
    argv = sys.argv[1:]
    if _IN_CHILD or not _handed_over(argv) or not enabled(app) or not _pidfds():
        return None
    if not all(_open(fd) for fd in (0, 1, 2)):  # one closed: the socket would take its number
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
    sock.settimeout(ACCEPT_TIMEOUT)
    try:
        sock.connect(os.fspath(path))
    except (TimeoutError, BlockingIOError):  # a runtime too busy to take it (its queue full): this one runs here
        sock.close()
        return None
    except OSError:
        sock.close()
        if not _failed_lately(home):
            start_runtime(home)
        return None
    try:
        return _served(_Lines(sock), argv, app, home)
    finally:
        sock.close()


class _Lines:
    """The runtime's answers, one JSON object a line, with the file descriptors that came with them."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.fds: list[int] = []

    def read(self) -> dict[str, Any]:
        import json
        import socket

        while b"\n" not in self.buffer:
            data, fds, _flags, _address = socket.recv_fds(self.sock, 65536, 1)
            self.fds.extend(fds)
            if not data:
                return {}
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            message = json.loads(line)
        except ValueError:
            return {}
        return message if isinstance(message, dict) else {}


def _served(lines: _Lines, argv: list[str], app: App, home: Path) -> int | None:
    """Ask, then hand over: until the runtime has accepted and been told to go, anything wrong means the command
    runs here (nothing ran there); from then on it is the runtime's, and is never run twice."""
    import json
    import socket

    sock = lines.sock
    fds = [0, 1, 2]
    try:
        cwd = os.getcwd()
    except OSError:  # a folder removed under it: it runs here, as it would have
        return None
    request = json.dumps({"argv0": sys.argv[:1], "argv": argv, "cwd": cwd, "env": dict(os.environ),
                          **_process(), **_interpreter()}).encode()
    if len(request) > _MAX_REQUEST:
        return None
    try:
        socket.send_fds(sock, [len(request).to_bytes(4, "big")], fds)
        sock.sendall(request)
        reply = lines.read()
        if reply.get("accept") is not True:  # declined: this one runs here, and a runtime that stops is replaced
            if reply.get("stopping"):
                start_runtime(home)
            return None
        sock.settimeout(None)
        sock.sendall(b"go\n")
    except (OSError, ValueError):
        return None
    return _wait(lines, app)


def _open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def _wait(lines: _Lines, app: App) -> int | None:
    """The handed-over command's end: its exit code, or its signal raised here; the signals that come on the way are
    passed on (those that come before the child's pidfd, once it has come). None if the runtime did not start it
    (nothing ran: it runs here)."""
    import signal

    pidfd: list[int] = []
    pending: list[int] = []

    def send(signum: int) -> None:
        try:
            signal.pidfd_send_signal(pidfd[0], signum)
        except OSError:
            pass

    def forward(signum: int, _frame: Any) -> None:
        if not pidfd:
            pending.append(signum)
        elif signum == signal.SIGTSTP:  # Ctrl-Z: the child stops, then this process, as a job would
            send(signal.SIGSTOP)
            signal.signal(signal.SIGTSTP, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTSTP)  # returns once continued (or at once, if the kernel discards it)
            signal.signal(signal.SIGTSTP, forward)
            send(signal.SIGCONT)
        else:
            send(signum)

    ignored = _ignored()
    previous = {getattr(signal, name): signal.signal(getattr(signal, name), forward) for name in FORWARDED
                if name not in ignored}
    status: dict[str, Any] = {}
    try:
        started = lines.read()
    except OSError:
        started = {}
    if "pid" not in started or not lines.fds:
        # Nothing ran (the runtime starts a child only after its pid has gone out, and could not, or said so): it
        # runs here, with its signals as they were, those that came meanwhile raised again.
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in pending:
            signal.raise_signal(signum)
        return None
    pidfd.append(lines.fds.pop(0))
    for signum in pending:
        forward(signum, None)
    try:
        status = lines.read()
    except OSError:
        pass
    if "signal" in status:  # the child was killed by it: so is this process, as a cold start would have been
        signum = status["signal"]
        try:
            signal.signal(signum, signal.SIG_DFL)
        except (OSError, ValueError):  # SIGKILL and SIGSTOP have no handler to set
            pass
        os.kill(os.getpid(), signum)
        return 128 + signum
    if "code" not in status:
        _wait_for_exit(pidfd[0])
        print(f"{app.program}: the warm runtime stopped during the command, so its outcome is unknown: see what it "
              f"did, then run it again ({app.env('WARM')}=0 runs it without the warm runtime)", file=sys.stderr)
        return 1
    return int(status["code"])


def _wait_for_exit(pidfd: int) -> None:
    import select

    select.select([pidfd], [], [])


def _failed_lately(home: Path) -> bool:
    """Whether a runtime of `home` could not serve in the last `RETRY` seconds (`warm.failed` says why): the command
    does not start another that would fail as well."""
    import time

    try:
        return time.time() - os.stat(home / FAILED).st_mtime < RETRY
    except OSError:
        return False


def start_runtime(home: Path) -> None:
    """Start the runtime of `home` in the background, as a daemon: in a session of its own (forked twice, so no
    process waits for it), with its signals as a new process has them and none of this process's files but its
    log (`warm.log`) as its output."""
    prefix = sys.orig_argv[:len(sys.orig_argv) - len(sys.argv) + 1]  # the interpreter, its options, the program
    if not prefix or not prefix[-1] or prefix[-1] == "-c":
        return
    argv = [sys.executable, *prefix[1:], "warm", "serve"]
    try:
        log = os.open(home / LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        return
    try:
        middle = os.fork()
    except OSError:
        os.close(log)
        return
    if middle:
        os.close(log)
        try:
            os.waitpid(middle, 0)
        except ChildProcessError:  # SIGCHLD ignored: reaped already
            pass
        return
    try:  # the first child: a session of its own, then the runtime's process, which init adopts
        os.setsid()
        if os.fork() == 0:
            import signal

            for signum in signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP}:
                try:
                    signal.signal(signum, signal.SIG_DFL)
                except (OSError, ValueError):
                    pass
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            most = os.sysconf("SC_OPEN_MAX")
            os.closerange(3, most if most > 0 else 65536)
            os.execv(sys.executable, argv)
    finally:
        os._exit(0)


# --- questions to the runtime ---------------------------------------------------------------------------------

def status(home: Path) -> dict[str, Any] | None:
    """What the home's runtime says of itself (`pid`, `served`, `running` with the pids of those `commands`,
    `modules`, `since`, and `cpu`: its CPU seconds with its commands'), or None if none answers."""
    found, pidfd = _ask(home, "status")
    if pidfd is not None:
        os.close(pidfd)
    return found


def _ask(home: Path, question: str) -> tuple[dict[str, Any] | None, int | None]:
    import json
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(ACCEPT_TIMEOUT)
    lines = _Lines(sock)
    try:
        sock.connect(os.fspath(home / SOCKET))
        body = json.dumps({"ask": question}).encode()  # one of QUESTIONS
        sock.sendall(len(body).to_bytes(4, "big") + body)
        reply = lines.read()
    except (OSError, ValueError):
        reply = {}
    finally:
        sock.close()
    pidfd = lines.fds.pop(0) if lines.fds else None
    for fd in lines.fds:
        os.close(fd)
    return (reply if "pid" in reply else None), pidfd


def stop(home: Path, timeout: float = 10.0) -> dict[str, Any] | None:
    """Stop the home's runtime: it takes no new command, and ends once the commands it runs have. Its last status, or
    None if none was running; waits up to `timeout` seconds for it to end (`TimeoutError`)."""
    import select

    found, pidfd = _ask(home, "stop")
    if pidfd is None:
        return found
    try:
        if not select.select([pidfd], [], [], timeout)[0]:
            raise TimeoutError(f"the warm runtime (pid {found['pid'] if found else '?'}) is still running "
                               f"{found['running'] if found else 'its'} commands")
    finally:
        os.close(pidfd)
    return found
