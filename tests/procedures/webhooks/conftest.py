"""Fixtures for the webhook tests: listeners checking the sandbox's signatures, and what they handed on."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from concepts.events import WebhookEvent
from procedures.webhooks.listen import ListenerServer, create_listener_app
from procedures.webhooks.signature import SignatureCheck
from procedures.webhooks.twiml import Answers
from sandbox import SandboxServer


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
