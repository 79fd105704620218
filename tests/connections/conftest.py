"""Fixtures for the connection tests: no outside credentials, a private home, a file-only store, the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from book.connections import ConnectionStore


@pytest.fixture
def store(home: Path) -> ConnectionStore:
    return ConnectionStore(home, keyring=None)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A live local Twilio-compatible server (skipped until `book.sandbox.SandboxServer` exists)."""
    try:
        from book.sandbox import SandboxServer
        import book.http  # noqa: F401
    except ImportError as e:
        pytest.skip(f"the sandbox or the HTTP client is not available yet: {e}")
    with SandboxServer(db_path=tmp_path_factory.mktemp("sandbox") / "sandbox.db") as sb:
        yield sb
