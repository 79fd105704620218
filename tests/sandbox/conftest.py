"""Fixtures: a real sandbox on loopback (SQLite file, manual clock, emptied per test) and the real SDK on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from twilio.rest import Client

from book.http import BookHttpClient
from book.sandbox import ManualClock, SandboxServer

START = datetime(2022, 3, 1, 15, 0, 0, tzinfo=timezone.utc)
SENDER = "+15005550006"  # Twilio's magic "passes all validation" From number
RECIPIENT = "+15558675310"


@pytest.fixture(scope="module")
def _shared_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxServer, ManualClock]]:
    """One running sandbox per test module (starting and stopping uvicorn costs ~0.2 s)."""
    clock = ManualClock(START)
    db = tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3"
    with SandboxServer(db_path=db, clock=clock) as server:
        yield server, clock


@pytest.fixture
def clock(_shared_sandbox: tuple[SandboxServer, ManualClock]) -> ManualClock:
    """The sandbox's clock, set to 2022-03-01 15:00:00 GMT at the start of each test."""
    clock = _shared_sandbox[1]
    clock.set(START)
    return clock


@pytest.fixture
def sandbox(_shared_sandbox: tuple[SandboxServer, ManualClock], clock: ManualClock) -> SandboxServer:
    """The module's running sandbox, emptied (credentials kept) for this test."""
    server = _shared_sandbox[0]
    server.reset()
    return server


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh database path, for tests that start their own SandboxServer."""
    return tmp_path / "sandbox.sqlite3"


@pytest.fixture
def http_client(sandbox: SandboxServer) -> BookHttpClient:
    return BookHttpClient(sandbox.url, sleep=lambda seconds: None)


@pytest.fixture
def twilio_client(sandbox: SandboxServer, http_client: BookHttpClient) -> Client:
    return Client(sandbox.account_sid, sandbox.auth_token, http_client=http_client)
