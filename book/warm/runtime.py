"""The warm runtime's half (`<program> warm serve`): the book loaded once, each command run in a child forked from it.

One process a home, single-threaded (so that forking it is safe), waiting on one selector for:

    the socket          a client: checked (same user, interpreter, settings and no higher limits, nothing changed
                        on disk), then, once it says go, a child forked on the client's stdin, stdout and stderr;
                        or a question (`{"ask": "status"}`, `{"ask": "stop"}`)
    a child's pidfd     it ended: its status goes to its client (`{"code": 0}` or `{"signal": 15}`)
    a child's report    the modules it imported that the runtime had not: imported after it, for the next child
    a client's socket   it went away before its child ended: the child is killed, as the client was
    the wakeup socket   SIGTERM: no new client; the runtime ends once its children have

and, between them, how long it has been idle, and whether its socket is still its own. A runtime that stops
listening gives up the home's lock at once, so the next command can start its successor while its own children
finish. See `book.warm`.
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
import sysconfig
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from book import warm

if TYPE_CHECKING:
    from book.app import App

RUNTIME_MODULES = ("book.runtime", "book.session", "book.output", "book.expressions", "book.plan", "book.snapshot")
"""What a `run` and a `check` import of the runtime itself, besides the book."""
_CHECK_EVERY = 2.0
_GO_TIMEOUT = 5.0
_RESET = ("SIGHUP", "SIGQUIT", "SIGCHLD", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGUSR1", "SIGUSR2", "SIGALRM",
          "SIGWINCH", "SIGCONT")
"""Signals set back to their default, in the runtime and in a child (a first client's SIGCHLD ignored would reap its
children); SIGPIPE and SIGXFSZ stay ignored, as Python has them."""


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
    """What it loaded (modules, their folders' other files, import folders), each with its modification time and
    size: none may change while it serves."""
    idle: float
    interpreter: dict[str, Any]
    """What a client must share with the runtime (`book.warm._interpreter`)."""
    mark: tuple[int, int] | None
    """Its socket's device and inode, as it bound it: whether the socket at the path is still its own."""
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
        _reset_signals()
        _files_limit_raised()
        home = app.home()
        lock = open(home / warm.LOCK, "a")  # noqa: SIM115 (held while it listens)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            log("another runtime serves this home already")
            lock.close()
            return None
        interpreter = warm._interpreter()  # as the clients have it: before any module it loads changes it
        started = time.process_time()
        learned = _learned(home)
        with _loading():
            for name in (*RUNTIME_MODULES, *preload):
                importlib.import_module(name)
            app.load_book()
            failed = _import_all(learned)
        if not _forkable():
            why = "a module started a thread as it was imported, so this runtime can't fork: not serving"
            log(f"{why}; commands run cold for {warm.RETRY:g} s, then one starts a runtime again")
            (home / warm.FAILED).write_text(why + "\n")
            lock.close()
            return None
        try:
            (home / warm.FAILED).unlink()
        except FileNotFoundError:
            pass
        if "" not in sys.path:  # its modules are found by absolute paths: it keeps no folder of the user's busy
            os.chdir("/")
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
        mark = _socket_mark(home)
        idle = float(os.environ.get(app.env("WARM_IDLE"), warm.IDLE))
        runtime = cls(app, command_line, home, lock, listener, loaded_files(), idle, interpreter, mark)
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
        last = time.monotonic()
        checked = last
        try:
            while not (self.stopping and not self.children):
                timeout = _CHECK_EVERY if self.children or self.stopping else min(_CHECK_EVERY, self.idle)
                for key, _ in self.selector.select(timeout):
                    try:
                        key.data(key)
                    except Exception:  # a bug of mine: said, and the runtime goes on with the others
                        log(f"internal error, serving on:\n{traceback.format_exc()}")
                now = time.monotonic()
                if self.children:
                    last = now
                elif now - last >= self.idle:
                    self._stop(f"idle for {self.idle:g} s")
                if now - checked >= _CHECK_EVERY and not self.stopping:
                    checked = now
                    if _socket_mark(self.home) != self.mark:
                        self._stop("its socket was removed or taken over")
        finally:
            self._close()
        log(f"{self.stopping}; served {self.served} commands")
        return 0

    def _stop(self, why: str) -> None:
        """Listen no more (the socket removed if it is still this runtime's, the lock given up); end once the children
        have."""
        if self.stopping:
            return
        self.stopping = why
        self._forget(self.listener)
        self._unlink()
        self.listener.close()
        self.lock.close()

    def _forget(self, fileobj: Any) -> None:
        """No more wakeups for `fileobj` (if there were any)."""
        try:
            self.selector.unregister(fileobj)
        except (KeyError, ValueError):
            pass

    def _unlink(self) -> None:
        if self.mark is not None and _socket_mark(self.home) == self.mark:
            try:
                (self.home / warm.SOCKET).unlink()
            except OSError:
                pass

    def _close(self) -> None:
        self._stop(self.stopping or "stopped")
        signal.set_wakeup_fd(-1)
        self.selector.close()
        for end in self.wakeup:
            end.close()

    def _woken(self, key: selectors.SelectorKey) -> None:
        try:
            key.fileobj.recv(4096)  # type: ignore[union-attr]
        except OSError:
            pass

    # --- a client ---------------------------------------------------------------------------------------------

    def _accept(self, key: selectors.SelectorKey) -> None:
        try:
            client, _ = self.listener.accept()
        except BlockingIOError:
            return
        except OSError as err:  # out of file descriptors: it would wake for the same client again and again
            self._stop(f"stopped: it could not take a client ({err})")
            return
        fds: list[int] = []
        try:
            client.settimeout(_GO_TIMEOUT)
            _pid, uid, _gid = struct.unpack("3i", client.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                    struct.calcsize("3i")))
            if uid != os.getuid():
                _send(client, {"declined": "another user"})
                client.close()
                return
            request, fds = _receive(client)
            if request.get("ask") in warm.QUESTIONS:
                _close_all(fds)
                self._answer(client, request["ask"])
                return
            why, stopping = self._declined(request)
        except (OSError, ValueError, TypeError, AttributeError, KeyError) as err:
            _close_all(fds)
            client.close()
            log(f"a client's request could not be read: {err}")
            return
        if why:
            _close_all(fds)
            try:
                _send(client, {"declined": why, "stopping": stopping})
            except OSError:
                pass
            client.close()
            log(f"declined a command: {why}")
            if stopping:  # the next command starts a runtime that serves it
                self._stop(f"stopped for a client it could not serve ({why})")
            return
        try:  # the client runs the command itself unless it says go: never both
            _send(client, {"accept": True})
            go = client.recv(3, socket.MSG_WAITALL)
        except OSError:
            go = b""
        if go != b"go\n":
            _not_started(client, fds, "the client did not say go in time")
            return
        self._fork(client, fds, request)

    def _answer(self, client: socket.socket, question: str) -> None:
        status = {"pid": os.getpid(), "served": self.served, "running": len(self.children), "commands": [*self.children],
                  "modules": len(sys.modules), "since": self.since,
                  "cpu": time.process_time() + self.children_cpu}
        if question == "stop":
            self._stop("stopped (warm stop)")
        try:
            pidfd = os.pidfd_open(os.getpid())  # the asker waits on it for this runtime's end
            try:
                socket.send_fds(client, [json.dumps(status).encode() + b"\n"], [pidfd])
            finally:
                os.close(pidfd)
        except OSError:
            pass
        client.close()

    def _declined(self, request: dict[str, Any]) -> tuple[str, bool]:
        """Why this runtime can't run the client's command (or ""), and whether it should make way for one that can
        (another interpreter, import path or settings, or a file it loaded changed, or higher limits or priority than
        it can give: the client's are the newer or the wider)."""
        mine = self.interpreter
        for name, what in (("executable", "interpreter"), ("options", "interpreter's options"),
                           ("path", "import path")):
            if request.get(name) != mine[name]:
                return f"another {what} ({request.get(name)!r})", True
        for name, value in mine["settings"].items():
            if request.get("settings", {}).get(name) != value:
                return f"another {name} in the environment", True
        changed = changed_file(self.files)
        if changed:
            return f"{changed} changed", True
        import resource

        for name, (_soft, hard) in request.get("limits", {}).items():
            mine_hard = resource.getrlimit(getattr(resource, name))[1] if hasattr(resource, name) else hard
            if _above(hard, mine_hard):  # it can't raise its own: one started by this client can have it
                return f"a higher limit than the runtime's ({name})", True
        if request.get("nice", 0) < os.getpriority(os.PRIO_PROCESS, 0):
            return "a higher priority than the runtime's (nice)", True
        return "", False

    def _fork(self, client: socket.socket, fds: list[int], request: dict[str, Any]) -> None:
        """Fork the client's child, and start it once it is tracked and its pid has gone out: before that, anything
        wrong means it never starts, and the client is told so (it runs the command itself). Closes `fds`."""
        opened: list[int] = []
        try:
            report, report_end = os.pipe()
            opened += [report, report_end]
            start, start_end = os.pipe()  # the child waits for a byte on it: until then, it may be told not to run
            opened += [start, start_end]
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())  # none of my handlers in it
            try:
                pid = os.fork()
            except OSError:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
                raise
            if pid == 0:  # the child: never returns
                self._child(fds, request, report_end, start, blocked, client, (report, start_end))
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        except Exception as err:
            _close_all(opened)
            _not_started(client, fds, f"could not fork: {err}")
            return
        _close_all([report_end, start, *fds])
        child = None
        try:
            child = Child(pid, os.pidfd_open(pid), client, report)  # not reaped yet: its pid is this very child's
            self.children[pid] = child
            os.set_blocking(report, False)
            self.selector.register(child.pidfd, selectors.EVENT_READ, lambda _key: self._ended(child))
            self.selector.register(client, selectors.EVENT_READ, lambda _key: self._client_spoke(child))
            self.selector.register(report, selectors.EVENT_READ, lambda _key: self._read_report(child))
        except Exception as err:  # it never starts (its start pipe closed unwritten): reaped here
            os.close(start_end)
            os.waitpid(pid, 0)
            if child is not None:
                self.children.pop(pid, None)
                for fileobj in (child.pidfd, client, report):
                    self._forget(fileobj)
                os.close(child.pidfd)
            os.close(report)
            _not_started(client, [], f"could not track the command: {err}")
            return
        try:
            socket.send_fds(client, [json.dumps({"pid": pid}).encode() + b"\n"], [child.pidfd])
            client.setblocking(False)  # from now on read only when it wakes the loop (it went away)
        except OSError:  # the client went away: its command never starts; its end is reaped as any other's
            os.close(start_end)
            return
        try:
            os.write(start_end, b"s")
            self.served += 1
        except OSError:  # killed already (its client's signal came first): its end is reported as any other's
            pass
        os.close(start_end)

    def _client_spoke(self, child: Child) -> None:
        if child.pid not in self.children:  # ended in the same wakeup
            return
        try:
            data = child.client.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client went away (killed): so does its command
            self._forget(child.client)
            try:
                signal.pidfd_send_signal(child.pidfd, signal.SIGKILL)
            except OSError:
                pass

    def _read_report(self, child: Child) -> None:
        if child.pid not in self.children:  # ended in the same wakeup
            return
        try:
            data = os.read(child.report, 65536)
        except BlockingIOError:
            return
        if data:
            child.reported += data
        else:
            self._forget(child.report)

    def _ended(self, child: Child) -> None:
        if child.pid not in self.children:
            return
        _, status, usage = os.wait4(child.pid, 0)
        self.children_cpu += usage.ru_utime + usage.ru_stime
        code = os.waitstatus_to_exitcode(status)
        for fileobj in (child.pidfd, child.client, child.report):
            self._forget(fileobj)
        os.close(child.pidfd)
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
        with _loading():
            failed = _import_all(names)
        if not _forkable():
            self._stop("a module it learned started a thread as it was imported, so it can't fork any more")
            return
        self.files.update(loaded_files())
        known = dict.fromkeys(_learned(self.home))  # in the order they were first imported
        known.update(dict.fromkeys(name for name in names if name not in failed))
        try:
            (self.home / warm.MODULES).write_text(json.dumps(list(known)))
        except OSError:
            pass
        log(f"learned {len(names) - len(failed)} modules from a command in "
            f"{(time.process_time() - started) * 1000:.0f} ms of CPU")

    # --- the child --------------------------------------------------------------------------------------------

    def _child(self, fds: list[int], request: dict[str, Any], report: int, start: int, blocked: Any,
               client: socket.socket, theirs: tuple[int, ...]) -> None:
        code: Any = 1
        before: set[str] = set()
        interrupted = False
        try:
            warm._IN_CHILD.append(True)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            for name in ("SIGTERM", *_RESET):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
            for name in request.get("ignored", []):  # as the client had them (`nohup`)
                signal.signal(getattr(signal, name), signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            self._close_in_child()
            _close_all(list(theirs))  # the runtime's ends of its pipes
            client.close()  # the client knows the child's end by the runtime's word, not by this socket
            if os.read(start, 1) != b"s":  # the runtime could not hand it over: nothing runs
                os._exit(0)
            os.close(start)
            for target, fd in zip((0, 1, 2), fds, strict=True):
                os.dup2(fd, target)
                os.close(fd)
            _stdio(unbuffered="unbuffered=True" in request["options"])
            try:
                _take_on(request)
            except OSError as err:  # its folder gone since it asked: said on its own stderr
                print(f"{self.app.program}: the warm runtime could not run this command as it was started: {err} "
                      f"({self.app.env('WARM')}=0 runs it without the warm runtime)", file=sys.stderr)
                raise SystemExit(1) from None
            sys.argv = list(request["argv0"]) + list(request["argv"])
            before = set(sys.modules)
            code = self.command_line()
        except SystemExit as done:
            code = done.code
        except KeyboardInterrupt:  # as Python ends on one: its traceback, then killed by SIGINT
            traceback.print_exc()
            interrupted = True
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
            if interrupted:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGINT)
            os._exit(code)

    def _close_in_child(self) -> None:
        """What the runtime holds that a child must not: its socket, its lock, the other clients and children."""
        if self.listener.fileno() >= 0:
            self.listener.close()
        for end in self.wakeup:
            end.close()
        for child in self.children.values():
            for fd in (child.pidfd, child.report):
                os.close(fd)
            child.client.close()
        self.selector.close()
        self.lock.close()


def _take_on(request: dict[str, Any]) -> None:
    """The client's process settings, in the child: its directory, environment, umask, limits and nice value; and
    what the runtime's modules read of the environment once (the temporary folder, the time zone)."""
    import resource

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.umask(request["umask"])
    for name, (soft, hard) in request.get("limits", {}).items():
        if hasattr(resource, name) and tuple(resource.getrlimit(getattr(resource, name))) != (soft, hard):
            try:  # lower, or as high as the runtime's (a higher one was declined)
                resource.setrlimit(getattr(resource, name), (soft, hard))
            except (OSError, ValueError):
                pass
    nice = request.get("nice", 0) - os.getpriority(os.PRIO_PROCESS, 0)
    if nice > 0:
        os.nice(nice)
    if "tempfile" in sys.modules:
        sys.modules["tempfile"].tempdir = None
    time.tzset()


def _above(limit: int, other: int) -> bool:
    """Whether the limit `limit` is higher than `other` (`RLIM_INFINITY`, -1, is the highest)."""
    infinity = -1
    if other == infinity:
        return False
    return limit == infinity or limit > other


def _not_started(client: socket.socket, fds: list[int], why: str) -> None:
    _close_all(fds)
    try:
        _send(client, {"not_started": why})
    except OSError:
        pass
    client.close()
    log(f"a command was not started: {why}")


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _files_limit_raised() -> None:
    """The runtime's own limit of open files as high as it may be (its first client's soft limit may be low): it holds
    three for each command running. Each child takes on its client's limits."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (OSError, ValueError):
            pass


def _reset_signals() -> None:
    """The runtime's signals as a fresh process has them, whatever its first client had (ignored, or blocked)."""
    for name in _RESET:
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _receive(client: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """A client's request: a 4-byte length (its stdin, stdout and stderr passed with it), then that much JSON."""
    head, fds, _flags, _address = socket.recv_fds(client, 4, 3)  # none with a question (`{"ask": "status"}`)
    try:
        while len(head) < 4:
            more = client.recv(4 - len(head))
            if not more:
                raise ValueError("the client went away")
            head += more
        length = int.from_bytes(head, "big")
        if len(fds) not in (0, 3) or length > warm._MAX_REQUEST:
            raise ValueError("not a request of the warm start")
        body = bytearray()
        while len(body) < length:
            more = client.recv(length - len(body))
            if not more:
                raise ValueError("the client went away")
            body += more
        request = json.loads(body)
        if not isinstance(request, dict) or (len(fds) != 3 and request.get("ask") not in warm.QUESTIONS):
            raise ValueError("not a request of the warm start")
    except BaseException:
        _close_all(fds)
        raise
    return request, fds


def _send(client: socket.socket, message: dict[str, Any]) -> None:
    client.sendall(json.dumps(message).encode() + b"\n")


def _socket_mark(home: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(home / warm.SOCKET)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def loaded_files() -> dict[str, tuple[int, int]]:
    """Each loaded module's file, each other file in the folders of the packages outside the standard library and
    site-packages (data read as they were imported: a grammar), and each import path's folder, with its modification
    time and size."""
    installed = {os.path.realpath(sysconfig.get_path(name)) for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    seen: dict[str, tuple[int, int]] = {}
    folders: set[str] = set()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path:
            _mark(path, seen)
            folder = os.path.dirname(os.path.realpath(path))
            in_package = "." in name or hasattr(module, "__path__")  # not a module loaded from a cache's folder
            if in_package and not any(folder == place or folder.startswith(place + os.sep) for place in installed):
                folders.add(folder)
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.is_file() and not entry.name.endswith((".pyc", ".pyo")):
                _mark(entry.path, seen)
    for path in sys.path:
        if path:
            _mark(path, seen)
    return seen


def _mark(path: str, seen: dict[str, tuple[int, int]]) -> None:
    if path in seen:
        return
    try:
        stat = os.stat(path)
    except OSError:
        return
    seen[path] = (stat.st_mtime_ns, stat.st_size)


def changed_file(before: dict[str, tuple[int, int]]) -> str | None:
    """The first file of `before` that changed or went away since, or None."""
    for path, mark in before.items():
        try:
            stat = os.stat(path)
        except OSError:
            return path
        if (stat.st_mtime_ns, stat.st_size) != mark:
            return path
    return None


@contextmanager
def _loading() -> Iterator[None]:
    """Imports made with no collection (what they make lives as long as the runtime), then frozen: never traversed
    again, by the runtime's collections or its children's (`book.startup`)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()
        gc.freeze()


def _forkable() -> bool:
    """Whether the runtime still has only its own thread: a fork copies none of the others, only their locks."""
    return threading.active_count() == 1


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


def _stdio(*, unbuffered: bool) -> None:
    """`sys.stdin`, `sys.stdout` and `sys.stderr` made anew on fds 0, 1 and 2, as the interpreter makes them as it
    starts: newlines as they are; buffered unless `-u` (`PYTHONUNBUFFERED`), stdout by lines on a terminal, stderr
    always, with backslashes for what can't be encoded."""
    import io

    encoding, errors = sys.stdout.encoding, sys.stdout.errors
    buffered = not unbuffered

    def writer(fd: int, errors: str) -> io.TextIOWrapper:
        raw = io.FileIO(fd, "w", closefd=False)
        return io.TextIOWrapper(io.BufferedWriter(raw) if buffered else raw, encoding=encoding,  # type: ignore[arg-type]
                                errors=errors, newline="\n", write_through=not buffered,
                                line_buffering=buffered and (raw.isatty() or fd == 2))

    stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding=encoding, errors=errors,
                             newline="\n")
    sys.stdin = sys.__stdin__ = stdin
    sys.stdout = sys.__stdout__ = writer(1, errors)
    sys.stderr = sys.__stderr__ = writer(2, "backslashreplace")


def _ending(code: Any) -> int:
    """A child's end, as the interpreter ends a program: threading's exit (its hooks, then its threads joined),
    `atexit`'s functions, the output flushed; the exit code as `sys.exit(code)` gives it."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]  (what the interpreter's own end calls)
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
