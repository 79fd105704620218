"""Workers in their own processes (`twilio-book worker --temporal ...`) on the test's sandbox, and a client.

    shared_queue               a task queue that one worker process of this test process polls (on the shared
                               sandbox), for the tests that do not stop their workers
    workers(2)                 two worker processes polling this test's task queue; stopped after the test
    on_temporal(coroutine_fn)  runs `coroutine_fn(client)` with a client of the dev server
    start_listener             the webhook tests' listener (`tests.procedures.webhooks.conftest`)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import SandboxServer
from tests.procedures.webhooks.conftest import start_listener  # noqa: F401 (the listener tests' fixture, here too)
from tests.processes import Process


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def sandbox_env(sandbox: SandboxServer) -> dict[str, str]:
    """The environment that connects a `twilio-book` process to the test's sandbox as a Twilio account."""
    return {"TWILIO_ACCOUNT_SID": sandbox.account_sid, "TWILIO_AUTH_TOKEN": sandbox.auth_token,
            "TWILIO_BOOK_API_URL": sandbox.url}


@pytest.fixture(scope="session")
def _shared_worker(temporal: Any, _worker_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    queue = f"shared-{uuid.uuid4().hex[:12]}"
    server, _clock = _worker_sandbox
    process = Process("worker", "--temporal", temporal.target, "--task-queue", queue,
                      home=tmp_path_factory.mktemp("worker-home"), env=sandbox_env(server))
    process.err_until("worker polling", timeout=30)
    yield queue
    process.stop()


@pytest.fixture
def shared_queue(_shared_worker: str, sandbox: SandboxServer) -> str:
    """The shared worker's task queue, its sandbox emptied for this test."""
    return _shared_worker


@pytest.fixture
def workers(temporal: Any, sandbox: SandboxServer, task_queue: str, home: Path) -> Iterator[Callable[[int], list[Process]]]:
    started: list[Process] = []

    def start(count: int = 1) -> list[Process]:
        made = [Process("worker", "--temporal", temporal.target, "--task-queue", task_queue, home=home,
                        env=sandbox_env(sandbox)) for _ in range(count)]
        for process in made:
            process.err_until("worker polling", timeout=30)
        started.extend(made)
        return made

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def on_temporal(temporal: Any) -> Callable[[Callable[[Any], Awaitable[Any]]], Any]:
    def run(body: Callable[[Any], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            from book.temporal.worker import connect

            return await body(await connect(temporal.target))

        return asyncio.run(main())

    return run
