"""The warm runtime's half (`<program> warm serve`): the book loaded once, each command run in a child forked from it.

One process a home, single-threaded (so that forking it is safe), waiting on one selector for:

    the socket          a client: checked (same user, same interpreter and settings, nothing changed on disk),
                        then a child is forked on the client's stdin, stdout and stderr
    a child's pidfd     it ended: its status goes to its client (`{"code": 0}` or `{"signal": 15}`)
    a child's report    the modules it imported that the runtime had not: imported after it, for the next child
    a client's socket   it went away before its child ended: the child is killed, as the client was
    the wakeup socket   SIGTERM (`warm stop`): no new client; the runtime ends once its children have

and, between them, how long it has been idle, and whether its socket is still its own. See `book.warm`.
"""

from __future__ import annotations

import fcntl
import gc
import importlib
import json
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from book import warm

if TYPE_CHECKING:
    from book.app import App

RUNTIME_MODULES = ("book.runtime", "book.session", "book.output", "book.expressions", "book.plan", "book.snapshot")
"""What a `run` and a `check` import of the runtime itself, besides the book."""
_CHECK_EVERY = 2.0


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{os.getpid()}] {message}", file=sys.stderr, flush=True)


@dataclass
class Child:
    """A command being run for a client."""

    pid: int
    pidfd: int
    client: socket.socket
    report: int
    reported: bytearray = field(default_factory=bytearray)


@dataclass
class Runtime:
    app: App
    command_line: Callable[[], int]
    home: Path
    lock: TextIO
    listener: socket.socket
    files: dict[str, tuple[int, int]]
    """Each loaded module's file (and import folder) with its modification time and size: none may change."""
    idle: float
    interpreter: dict[str, Any]
    """What a client must share with the runtime (`book.warm._interpreter`)."""
    children: dict[int, Child] = field(default_factory=dict)
    selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)
    wakeup: tuple[socket.socket, socket.socket] = field(default_factory=socket.socketpair)
    stopping: str = ""
    served: int = 0
    """How many commands it has run."""
    children_cpu: float = 0.0
    """The CPU seconds (user + system) of the commands it has run, each to its end."""
    since: float = field(default_factory=time.time)

    @classmethod
    def open(cls, app: App, command_line: Callable[[], int], preload: tuple[str, ...] = ()) -> Runtime | None:
        """The home's runtime, loaded and listening; None if another serves the home already."""
        home = app.home()
        lock = open(home / warm.LOCK, "a")  # noqa: SIM115 (held for the runtime's life)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            log("another runtime serves this home already")
            lock.close()
            return None
        interpreter = warm._interpreter()  # as the clients have it: before any module it loads changes it
        started = time.process_time()
        learned = _learned(home)
        gc.disable()
        try:
            for name in (*RUNTIME_MODULES, *preload):
                importlib.import_module(name)
            app.load_book()
            failed = _import_all(learned)
        finally:
            gc.enable()
        gc.collect()
        gc.freeze()
        if threading.active_count() > 1:
            log("a module started a thread as it was imported, so this runtime can't fork: not serving")
            return None
        path = home / warm.SOCKET
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        old_mask = os.umask(0o177)  # the socket is the user's alone (mode 0600), in a home of mode 0700
        try:
            listener.bind(os.fspath(path))
        finally:
            os.umask(old_mask)
        listener.listen(64)
        idle = float(os.environ.get(app.env("WARM_IDLE"), warm.IDLE))
        runtime = cls(app, command_line, home, lock, listener, warm.fingerprint(), idle, interpreter)
        log(f"serving {path}: {len(sys.modules)} modules loaded in {(time.process_time() - started) * 1000:.0f} ms "
            f"of CPU{f' ({len(failed)} learned ones failed to import)' if failed else ''}; stops after {idle:g} s idle")
        return runtime

    # --- the loop ---------------------------------------------------------------------------------------------

    def serve(self) -> int:
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, self._accept)
        reader, writer = self.wakeup
        reader.setblocking(False)
        writer.setblocking(False)
        self.selector.register(reader, selectors.EVENT_READ, self._woken)
        signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, lambda *_: self._stop("stopped (SIGTERM)"))
        signal.signal(signal.SIGINT, lambda *_: self._stop("stopped (SIGINT)"))
        mark = self._socket_mark()
        last = time.monotonic()
        checked = last
        try:
            while not (self.stopping and not self.children):
                timeout = _CHECK_EVERY if self.children or self.stopping else min(_CHECK_EVERY, self.idle)
                for key, _ in self.selector.select(timeout):
                    key.data(key)
                now = time.monotonic()
                if self.children:
                    last = now
                elif now - last >= self.idle:
                    self._stop(f"idle for {self.idle:g} s")
                if now - checked >= _CHECK_EVERY:
                    checked = now
                    if self._socket_mark() != mark:
                        self._stop("its socket was removed or taken over", unlink=False)
        finally:
            self._close(unlink=self._socket_mark() == mark)
        log(f"{self.stopping}; served {self.served} commands")
        return 0

    def _stop(self, why: str, *, unlink: bool = True) -> None:
        if self.stopping:
            return
        self.stopping = why
        try:
            self.selector.unregister(self.listener)
        except (KeyError, ValueError):
            pass
        if unlink:
            self._unlink()

    def _socket_mark(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.home / warm.SOCKET)
        except OSError:
            return None
        return stat.st_dev, stat.st_ino

    def _unlink(self) -> None:
        if self._socket_mark() == _mark_of(self.listener):
            try:
                (self.home / warm.SOCKET).unlink()
            except OSError:
                pass

    def _close(self, *, unlink: bool) -> None:
        if unlink:
            self._unlink()
        signal.set_wakeup_fd(-1)
        self.listener.close()
        self.selector.close()
        for end in self.wakeup:
            end.close()
        self.lock.close()

    def _woken(self, key: selectors.SelectorKey) -> None:
        try:
            key.fileobj.recv(4096)  # type: ignore[union-attr]
        except OSError:
            pass

    # --- a client ---------------------------------------------------------------------------------------------

    def _accept(self, key: selectors.SelectorKey) -> None:
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        fds: list[int] = []
        try:
            client.settimeout(5.0)
            _pid, uid, _gid = struct.unpack("3i", client.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                    struct.calcsize("3i")))
            if uid != os.getuid():
                client.close()
                return
            request, fds = _receive(client)
            if request.get("ask") == "status":
                _send(client, self._status())
                client.close()
                return
            why = self._declined(request)
        except (OSError, ValueError) as err:
            for fd in fds:
                os.close(fd)
            client.close()
            log(f"a client's request could not be read: {err}")
            return
        if why:
            for fd in fds:
                os.close(fd)
            _send(client, {"declined": why})
            client.close()
            log(f"declined a command: {why}")
            self._stop(f"stopped for a client it could not serve ({why})")
            return
        self._fork(client, fds, request)

    def _status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "served": self.served, "running": len(self.children),
                "modules": len(sys.modules), "since": self.since,
                "cpu": time.process_time() + self.children_cpu}

    def _declined(self, request: dict[str, Any]) -> str:
        mine = self.interpreter
        for name, what in (("uid", "user"), ("executable", "interpreter"), ("options", "interpreter's options"),
                           ("path", "import path")):
            if request.get(name) != mine[name]:
                return f"another {what} ({request.get(name)!r})"
        for name, value in mine["settings"].items():
            if request.get("settings", {}).get(name) != value:
                return f"another {name} in the environment"
        changed = warm.changed(self.files)
        return f"{changed} changed" if changed else ""

    def _fork(self, client: socket.socket, fds: list[int], request: dict[str, Any]) -> None:
        report, report_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(report)
            self._child(fds, request, report_end, keep=client)
        os.close(report_end)
        for fd in fds:
            os.close(fd)
        self.served += 1
        child = Child(pid, os.pidfd_open(pid), client, report)
        self.children[pid] = child
        client.setblocking(False)
        os.set_blocking(report, False)
        self.selector.register(child.pidfd, selectors.EVENT_READ, lambda _key: self._ended(child))
        self.selector.register(client, selectors.EVENT_READ, lambda _key: self._client_spoke(child))
        self.selector.register(report, selectors.EVENT_READ, lambda _key: self._read_report(child))
        try:
            _send(client, {"pid": pid})
        except OSError:
            self._kill(child)

    def _client_spoke(self, child: Child) -> None:
        try:
            data = child.client.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client went away (killed): so does its command
            self.selector.unregister(child.client)
            self._kill(child)

    def _kill(self, child: Child) -> None:
        try:
            os.kill(child.pid, signal.SIGKILL)
        except OSError:
            pass

    def _read_report(self, child: Child) -> None:
        try:
            data = os.read(child.report, 65536)
        except BlockingIOError:
            return
        if data:
            child.reported += data
        else:
            self.selector.unregister(child.report)

    def _ended(self, child: Child) -> None:
        _, status, usage = os.wait4(child.pid, 0)
        self.children_cpu += usage.ru_utime + usage.ru_stime
        code = os.waitstatus_to_exitcode(status)
        self.selector.unregister(child.pidfd)
        os.close(child.pidfd)
        try:
            self.selector.unregister(child.client)
        except (KeyError, ValueError):
            pass
        try:
            child.client.setblocking(True)
            _send(child.client, {"signal": -code} if code < 0 else {"code": code})
        except OSError:
            pass
        child.client.close()
        try:
            while data := os.read(child.report, 65536):
                child.reported += data
        except BlockingIOError:
            pass
        try:
            self.selector.unregister(child.report)
        except (KeyError, ValueError):
            pass
        os.close(child.report)
        del self.children[child.pid]
        self._learn(child.reported)

    def _learn(self, report: bytes) -> None:
        """Import what a child imported that this runtime had not, so the next child finds it loaded."""
        try:
            names = [name for name in json.loads(report or b"[]") if name not in sys.modules and _learnable(name)]
        except ValueError:
            return
        if not names or self.stopping:
            return
        started = time.process_time()
        gc.disable()
        try:
            failed = _import_all(names)
        finally:
            gc.enable()
        gc.collect()
        gc.freeze()
        if threading.active_count() > 1:
            self._stop("a module it learned started a thread as it was imported, so it can't fork any more")
            return
        self.files.update(warm.fingerprint())
        known = dict.fromkeys(_learned(self.home))  # in the order they were first imported
        known.update(dict.fromkeys(name for name in names if name not in failed))
        try:
            (self.home / warm.MODULES).write_text(json.dumps(list(known)))
        except OSError:
            pass
        log(f"learned {len(names) - len(failed)} modules from a command in "
            f"{(time.process_time() - started) * 1000:.0f} ms of CPU")

    # --- the child --------------------------------------------------------------------------------------------

    def _child(self, fds: list[int], request: dict[str, Any], report: int, *, keep: socket.socket) -> None:
        code: Any = 1
        before: set[str] = set()
        try:
            warm._IN_CHILD.append(True)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            for name in ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGCHLD"):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
            self.listener.close()
            for end in self.wakeup:
                end.close()
            for child in self.children.values():
                for fd in (child.pidfd, child.report):
                    os.close(fd)
                child.client.close()
            self.selector.close()
            self.lock.close()
            keep.close()  # the client knows the child's end by the runtime's word, not by this socket
            for target, fd in zip((0, 1, 2), fds, strict=True):
                os.dup2(fd, target)
                os.close(fd)
            _stdio()
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            sys.argv = list(request["argv0"]) + list(request["argv"])
            before = set(sys.modules)
            code = self.command_line()
        except SystemExit as done:
            code = done.code
        except BaseException:  # as an uncaught exception ends a program: its traceback, exit code 1
            traceback.print_exc()
            code = 1
        finally:
            code = _ending(code)
            try:
                # in the order their imports ended (so a package follows what it imported as it started)
                os.write(report, json.dumps([name for name in sys.modules if name not in before] if before else [])
                         .encode())
            except OSError:
                pass
            os._exit(code)


def _receive(client: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """A client's request: a 4-byte length (its stdin, stdout and stderr passed with it), then that much JSON."""
    head, fds, _flags, _address = socket.recv_fds(client, 4, 3)  # none with a question (`{"ask": "status"}`)
    while len(head) < 4:
        more = client.recv(4 - len(head))
        if not more:
            raise ValueError("the client went away")
        head += more
    length = int.from_bytes(head, "big")
    if len(fds) not in (0, 3) or length > warm._MAX_REQUEST:
        for fd in fds:
            os.close(fd)
        raise ValueError("not a request of the warm start")
    body = bytearray()
    while len(body) < length:
        more = client.recv(length - len(body))
        if not more:
            for fd in fds:
                os.close(fd)
            raise ValueError("the client went away")
        body += more
    request = json.loads(body)
    if not isinstance(request, dict) or (len(fds) != 3 and request.get("ask") != "status"):
        for fd in fds:
            os.close(fd)
        raise ValueError("not a request of the warm start")
    return request, fds


def _send(client: socket.socket, message: dict[str, Any]) -> None:
    client.sendall(json.dumps(message).encode() + b"\n")


def _mark_of(sock: socket.socket) -> tuple[int, int] | None:
    try:
        name = sock.getsockname()
        stat = os.stat(name)
    except (OSError, TypeError, ValueError):
        return None
    return stat.st_dev, stat.st_ino


def _learned(home: Path) -> list[str]:
    try:
        names = json.loads((home / warm.MODULES).read_text())
    except (OSError, ValueError):
        return []
    return [name for name in names if isinstance(name, str)]


def _learnable(name: str) -> bool:
    """Not `__main__`, nor a private module of the top level (`_asyncio`, `_ssl`): those are imported by their
    public ones (`asyncio`), and some can't be imported first (`_asyncio` imports `asyncio` as it starts)."""
    return name != "__main__" and not (name.startswith("_") and "." not in name)


def _import_all(names: list[str]) -> list[str]:
    """Import each of `names` (those a command imported); the ones that failed."""
    failed = []
    for name in names:
        if name in sys.modules or not _learnable(name):
            continue
        try:
            importlib.import_module(name)
        except BaseException:  # a module that can't be imported here is imported by the child that needs it
            failed.append(name)
    return failed


def _stdio() -> None:
    """`sys.stdin`, `sys.stdout` and `sys.stderr` made anew on fds 0, 1 and 2, as the interpreter makes them as it
    starts: stdout line-buffered on a terminal, stderr always (with backslashes for what can't be encoded)."""
    import io

    encoding, errors = sys.stdout.encoding, sys.stdout.errors
    stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding=encoding, errors=errors)
    stdout_raw = io.FileIO(1, "w", closefd=False)
    stdout = io.TextIOWrapper(io.BufferedWriter(stdout_raw), encoding=encoding, errors=errors,
                              line_buffering=stdout_raw.isatty())
    stderr = io.TextIOWrapper(io.BufferedWriter(io.FileIO(2, "w", closefd=False)), encoding=encoding,
                              errors="backslashreplace", line_buffering=True)
    sys.stdin = sys.__stdin__ = stdin
    sys.stdout = sys.__stdout__ = stdout
    sys.stderr = sys.__stderr__ = stderr


def _ending(code: Any) -> int:
    """A child's end, as the interpreter ends a program: its threads joined, `atexit`'s functions, the output
    flushed; the exit code as `sys.exit(code)` gives it."""
    try:
        current = threading.current_thread()
        for thread in threading.enumerate():
            if thread is not current and not thread.daemon:
                thread.join()
        import atexit

        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    return 1


def serve(app: App, command_line: Callable[[], int], *, preload: tuple[str, ...] = ()) -> int:
    """Serve `app`'s home as its runtime until idle, stale, replaced or stopped; `command_line()` runs a command
    from `sys.argv` as the program itself. Returns 0, or 1 if another runtime serves the home already."""
    runtime = Runtime.open(app, command_line, preload)
    if runtime is None:
        return 1
    return runtime.serve()
