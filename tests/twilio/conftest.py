"""Fixtures: a sandbox per test, and a session whose Twilio client is the real SDK talking to it over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from book.interpreter import Session
from book.runtime import RunResult, run
from book.sandbox import SandboxServer
from book.session import SandboxCredentials
from procedures import BOOK


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "shared_sandbox: the module's tests share one sandbox, emptied for each test")


@pytest.fixture(scope="module")
def module_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(db_path=tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3") as server:
        yield server


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SandboxServer]:
    """A sandbox of the test's own; in a module marked `shared_sandbox` (`pytestmark`), the module's one sandbox,
    emptied for each test (starting and stopping one costs ~0.2 s)."""
    if request.node.get_closest_marker("shared_sandbox") is not None:
        shared = request.getfixturevalue("module_sandbox")
        shared.reset()
        yield shared
        return
    with SandboxServer(db_path=tmp_path / "sandbox.sqlite3") as server:
        yield server


@pytest.fixture
def session(sandbox: SandboxServer) -> Session:
    credentials = SandboxCredentials(sandbox.account_sid, sandbox.auth_token, sandbox.url)
    return Session(clients={BOOK.name: lambda: BOOK.client_factory(credentials)})


def requests_sent(session: Session) -> int:
    """How many HTTP requests the session's Twilio client has sent (0 if it made none)."""
    client = session._made.get(BOOK.name)
    return client.http_client.request_count if client is not None else 0


@pytest.fixture
def english(session: Session):
    """Run English against the sandbox: `english('read some SMS messages')`."""

    def run_english(text: str) -> RunResult:
        return run(text, BOOK.registry, session)

    return run_english
