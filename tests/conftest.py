"""Fixtures every test shares: a private home, and the sandbox (one factory, one shared server).

    sandbox      the worker's running sandbox, emptied for this test (credentials kept); real time
    clock        the sandbox's clock, stopped at 2022-03-01 15:00:00 GMT for this test (`advance`, `set`)
    sandboxes    starts sandboxes of the test's own (a fresh file, a second server, a restart), closed after
    twilio       the real SDK on the sandbox: its `client`, a `Session` of the Twilio book, `english(text)`
    temporal     a real Temporal dev server (`temporal server start-dev`), one per test process, stopped by its pid
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from sandbox import ManualClock, SandboxServer

START = datetime(2022, 3, 1, 15, 0, 0, tzinfo=timezone.utc)
SENDER = "+15005550006"  # Twilio's magic "passes all validation" From number; the sandbox's own number
RECIPIENT = "+15558675310"
NUMBER, CALLER = SENDER, RECIPIENT  # the same two, as an inbound message sees them: to our number, from a caller


def pytest_configure(config: pytest.Config) -> None:
    from hypothesis import HealthCheck, settings

    # CI runs fewer examples per property (each still shrinks a failure); `HYPOTHESIS_PROFILE=dev` runs more.
    settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", max_examples=300, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private book home; no test sees the developer's TWILIO_* variables, home folder or keyring, and none starts
    a warm runtime (tests/book/test_warm.py does)."""
    for var in list(os.environ):
        if var.startswith("TWILIO_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("TWILIO_BOOK_KEYRING", "0")
    monkeypatch.setenv("TWILIO_BOOK_WARM", "0")  # no command a test starts leaves a warm runtime (book.warm)
    path = tmp_path / "home"
    monkeypatch.setenv("TWILIO_BOOK_HOME", str(path))
    return path


class TestClock(ManualClock):
    """Real time, until a test stops it (`stop_at`): then it moves only when told to, as a `ManualClock`."""

    __test__ = False

    def __init__(self) -> None:
        super().__init__(START)
        self._stopped = threading.Event()

    def __call__(self) -> float:
        return super().__call__() if self._stopped.is_set() else time.time()

    def stop_at(self, when: datetime) -> TestClock:
        self._stopped.set()
        self.set(when)
        return self

    def run(self) -> None:
        self._stopped.clear()


@pytest.fixture(scope="session")
def _worker_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxServer, TestClock]]:
    """One running sandbox per test process (its store and status dispatcher are made once)."""
    clock = TestClock()
    with SandboxServer(db_path=tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3", clock=clock) as server:
        yield server, clock


@pytest.fixture
def sandbox(_worker_sandbox: tuple[SandboxServer, TestClock]) -> SandboxServer:
    """The running sandbox, emptied for this test (its account SID and token are kept), on real time."""
    server, clock = _worker_sandbox
    clock.run()
    server.reset()
    return server


@pytest.fixture
def clock(sandbox: SandboxServer, _worker_sandbox: tuple[SandboxServer, TestClock]) -> TestClock:
    """The sandbox's clock, stopped at 2022-03-01 15:00:00 GMT for this test."""
    return _worker_sandbox[1].stop_at(START)


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[Callable[..., SandboxServer]]:
    """`sandboxes(db_path=None, clock=time.time, start=True)`: a sandbox of the test's own (its file defaults to
    one under the test's folder), closed when the test ends."""
    made: list[SandboxServer] = []

    def make(db_path: Path | None = None, *, clock: Any = time.time, start: bool = True, **kwargs: Any) -> SandboxServer:
        server = SandboxServer(db_path=db_path or tmp_path / f"sandbox-{len(made)}.sqlite3", clock=clock, **kwargs)
        made.append(server)
        return server.start() if start else server

    yield make
    for server in made:
        server.close()


@dataclass
class Twilio:
    """The Twilio book on a sandbox through the real SDK: a client, a session, and English to run."""

    server: SandboxServer
    home: Path

    @property
    def connection(self) -> Any:
        from procedures._sandbox import sandbox_connection

        return sandbox_connection(self.server)

    def client(self, **http: Any) -> Any:
        """A twilio `Client` on the sandbox through the book's HTTP client (`http`: its options)."""
        from procedures._twilio import client_for
        from procedures.http import BookHttpClient

        return client_for(self.connection, BookHttpClient(self.server.url, **http))

    def session(self, **options: Any) -> Any:
        """A `Session` of the Twilio book whose client reaches the sandbox, with the test's home."""
        from book.interpreter import Session
        from procedures import BOOK

        connection = self.connection
        return Session(clients={BOOK.name: lambda: BOOK.client_factory(connection)},
                       accounts={BOOK.name: connection.identity}, home=self.home, **options)


@pytest.fixture
def twilio(sandbox: SandboxServer, home: Path) -> Twilio:
    return Twilio(sandbox, home)


@pytest.fixture
def session(twilio: Twilio) -> Any:
    """A session of the Twilio book on the sandbox."""
    return twilio.session()


@pytest.fixture
def english(session: Any) -> Callable[[str], Any]:
    """Run English against the sandbox: `english('read some SMS messages')`."""
    from book.runtime import run
    from procedures import BOOK

    return lambda text: run(text, BOOK.registry, session)


def requests_sent(session: Any) -> int:
    """How many HTTP requests the session's Twilio client has sent (0 if it made none)."""
    from procedures import BOOK

    client = session._made.get(BOOK.name)
    return client.http_client.request_count if client is not None else 0


@pytest.fixture
def http_client(sandbox: SandboxServer) -> Any:
    """The book's HTTP client on the sandbox, retrying without waiting."""
    from procedures.http import BookHttpClient

    return BookHttpClient(sandbox.url, sleep=lambda seconds: None)


@pytest.fixture
def client(twilio: Twilio, http_client: Any) -> Any:
    """The real twilio SDK's `Client` on the sandbox, through `http_client`."""
    from procedures._twilio import client_for

    return client_for(twilio.connection, http_client)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh database path, for a test that starts a sandbox of its own."""
    return tmp_path / "sandbox.sqlite3"


@pytest.fixture(scope="session")
def temporal() -> Iterator[Any]:
    """A local Temporal server on free ports (`book.temporal.devserver`), shared by the process's tests; each test
    keeps to a task queue and workflow ids of its own."""
    from book.temporal.devserver import DevServer

    with DevServer() as server:
        yield server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests first: each then runs beside the others instead of at the end, alone."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The figures the reliability tests recorded (`record_property("figures", ...)`), after the summary."""
    reports = [r for kind in ("passed", "failed") for r in terminalreporter.stats.get(kind, [])]
    figures = [value for report in reports for name, value in getattr(report, "user_properties", ()) if name == "figures"]
    if figures:
        terminalreporter.section("reliability figures")
        for line in figures:
            terminalreporter.write_line(line)
