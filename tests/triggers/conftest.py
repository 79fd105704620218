"""Fixtures: a private home, a sandbox on loopback with a clock the test owns, listeners, the real SDK."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from twilio.rest import Client

from book.http import BookHttpClient
from book.interpreter import Session
from book.sandbox import ManualClock, SandboxServer
from book.session import SandboxCredentials
from book.triggers.listen import ListenerServer, create_listener_app
from book.triggers.signature import SignatureCheck
from book.triggers.twiml import Answers
from concepts.events import WebhookEvent
from procedures import BOOK

START = datetime(2022, 3, 1, 15, 0, 0, tzinfo=timezone.utc)
NUMBER = "+15005550006"  # the sandbox's number (Twilio's magic "passes all validation" From)
CALLER = "+15558675310"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(tmp_path: Path, clock: ManualClock) -> Iterator[SandboxServer]:
    with SandboxServer(db_path=tmp_path / "sandbox.sqlite3", clock=clock) as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Client:
    return Client(sandbox.account_sid, sandbox.auth_token, http_client=BookHttpClient(sandbox.url))


@pytest.fixture
def session(sandbox: SandboxServer) -> Session:
    credentials = SandboxCredentials(sandbox.account_sid, sandbox.auth_token, sandbox.url)
    return Session(clients={BOOK.name: lambda: BOOK.client_factory(credentials)})


class Received:
    """What a listener handed on, in order: (endpoint name, event)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, WebhookEvent]] = []

    def __call__(self, endpoint: str, event: WebhookEvent) -> None:
        self.events.append((endpoint, event))

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[str, WebhookEvent]]:
        """Wait (bounded) until at least `count` events arrived."""
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.events)


@pytest.fixture
def start_listener(sandbox: SandboxServer) -> Iterator[Callable[..., ListenerServer]]:
    """Start a listener checking the sandbox's signatures: `start_listener(hand_on, public_url=..., answers=...)`."""
    servers: list[ListenerServer] = []

    def start(hand_on: Any, *, public_url: str | None = None, answers: Answers | None = None,
              token: str | None = None, **kwargs: Any) -> ListenerServer:
        check = SignatureCheck(token or sandbox.auth_token, public_url)
        app = create_listener_app(check, hand_on, answers=answers, report=lambda message: None, **kwargs)
        server = ListenerServer(app, public_url=public_url).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
