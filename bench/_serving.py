"""What the HTTP benchmarks share: an ASGI app served by uvicorn in a child process, its CPU time, and wrk.

    with Served("bench.sandbox_bench:sandbox_app", str(db)) as served:   # "module:function", its arguments
        result = wrk(served.url + "/path", seconds=3, headers={"Authorization": "..."})
        result.requests_per_s, result.p99_ms, served.cpu()

Every app runs under uvicorn as the listener runs (h11, TCP_NODELAY, no access log), alone in its process, so
the figures compare the apps and not the processes around them; `Served(..., server="sandbox")` serves it as
the sandbox serves its app (`sandbox.loopback` of that checkout, or uvicorn in a revision that has none). The load generator is wrk (Debian's
`wrk` package: `apt-get install wrk`), on the other core.
"""

from __future__ import annotations

import importlib
import importlib.util
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _serve(root: str, factory: str, args: tuple[Any, ...], conn: Any, server_kind: str = "uvicorn") -> None:
    sys.path.insert(0, root)
    import uvicorn

    module, name = factory.split(":")
    make = getattr(importlib.import_module(module), name)
    sys.path.insert(0, root)  # again: the factory's module may have put this checkout first
    app = make(*args)  # it imports what it serves, from `root`
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    if server_kind == "sandbox" and importlib.util.find_spec("sandbox.loopback") is not None:
        from sandbox.loopback import LoopbackServer

        loopback = LoopbackServer(app, sock, keep_alive=30)
        loopback.start()
        conn.send(sock.getsockname()[1])
        while loopback.running:
            time.sleep(0.5)
        return
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                           timeout_keep_alive=30))

    def report() -> None:
        while not server.started:
            time.sleep(0.01)
        conn.send(sock.getsockname()[1])

    threading.Thread(target=report, daemon=True).start()
    server.run(sockets=[sock])


class Served:
    """An app served in a child process (spawned: nothing of this process leaks in) until the block ends.

    `root` is the checkout its modules are imported from: this one, or another revision's (see `checkout`).
    """

    def __init__(self, factory: str, *args: Any, root: Path = ROOT, server: str = "uvicorn") -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(str(root), factory, args, child, server), daemon=True)
        self.process.start()
        if not parent.poll(60):
            self.process.kill()
            raise SystemExit(f"{factory} did not start")
        self.url = f"http://127.0.0.1:{parent.recv()}"

    def cpu(self) -> float:
        """CPU seconds (user + system, every thread) the child has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join(10)


class checkout:
    """A revision of this repository checked out in a temporary folder (a detached `git worktree`), removed after."""

    def __init__(self, revision: str) -> None:
        self.revision = revision
        self.path = Path(tempfile.mkdtemp(prefix="bench-")) / "tree"

    def __enter__(self) -> Path:
        subprocess.run(["git", "worktree", "add", "--detach", str(self.path), self.revision], cwd=ROOT,
                       check=True, capture_output=True)
        return self.path

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["git", "worktree", "remove", "--force", str(self.path)], cwd=ROOT, capture_output=True)


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(url: str, *, seconds: float = 3, connections: int = 4, headers: dict[str, str] | None = None,
        script: str | None = None) -> WrkResult:
    """Load `url` with wrk (one thread, `connections` kept alive) for `seconds`; its throughput and latency."""
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark needs wrk: apt-get install wrk")
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script or "")
    try:
        out = subprocess.run([*argv, "-s", lua.name, url], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(lua.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return WrkResult(rate, p50, p99, count, errors)
