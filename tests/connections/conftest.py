"""Fixtures for the connection tests: no outside credentials, a private home, a file-only store, the sandbox."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from book.connections import ConnectionStore


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private book home; no test sees the developer's TWILIO_* variables, home folder or keyring."""
    for var in list(os.environ):
        if var.startswith("TWILIO_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("TWILIO_BOOK_KEYRING", "0")
    path = tmp_path / "home"
    monkeypatch.setenv("TWILIO_BOOK_HOME", str(path))
    return path


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
