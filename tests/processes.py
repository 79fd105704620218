"""`twilio-book` in its own process, as a user runs it: one place that starts it, for every test that does.

    book_command("run", "--output", "json", path, home=home)     # a CompletedProcess
    Process("listen", "--sandbox", home=home)                     # a running one, read line by line
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests import ROOT


def environment(home: Path, **env: str) -> dict[str, str]:
    """This process's environment without any TWILIO_* variable, with a private home, no keyring, and no warm
    runtime (`book.warm`: tests/book/test_warm.py turns it on)."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    out.update({"TWILIO_BOOK_HOME": str(home), "TWILIO_BOOK_KEYRING": "0", "TWILIO_BOOK_WARM": "0",
                "PYTHONUNBUFFERED": "1", **env})
    return out


def book_command(*args: str, home: Path, stdin: str | None = None, env: dict[str, str] | None = None,
                 cwd: Path = ROOT, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `twilio-book ARGS` (as `python -m procedures`) to its end."""
    return subprocess.run([sys.executable, "-m", "procedures", *args], input=stdin, capture_output=True, text=True,
                          env=environment(home, **(env or {})), cwd=cwd, timeout=timeout)


class Process:
    """`twilio-book ARGS` in its own process, its output read line by line without blocking the test."""

    def __init__(self, *args: str, home: Path, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "procedures", *args], cwd=ROOT,
                                        env=environment(home, **(env or {})),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self._readers = [threading.Thread(target=lambda s=stream, q=into: [q.put(line) for line in s], daemon=True)
                         for stream, into in ((self.process.stdout, self.out), (self.process.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    def err_until(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.err.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.stderr.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} on stderr; got:\n{''.join(self.stderr)}")

    def kill(self) -> int:
        """SIGKILL: no handler runs and nothing is cleaned up, as when a machine loses power; waits for the end."""
        self.process.kill()
        return self.process.wait(timeout=10)

    def output(self) -> tuple[list[str], list[str]]:
        """Once it has ended: every line it wrote, (stdout, stderr), those already read by `err_until` included."""
        for reader in self._readers:
            reader.join(timeout=10)
        out = list(self.out.queue)
        self.stderr.extend(self.err.queue)
        return out, self.stderr

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=10)
